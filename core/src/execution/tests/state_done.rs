//! `Done`: terminal and sticky; the internal-error guard.

use super::*;
use crate::execution::Phase;
use crate::ErrorKind;
use std::time::Duration;

#[test]
fn done_is_sticky_and_records_metrics_once() {
    let now = now0();
    let mut d = warm_driver(now);
    let before = d.metrics_snapshot().operations;
    let mut e = d.start(read_op(), OperationOptions::default(), now);
    let req = expect_send(&mut e, &mut d, now);
    e.handle_response(&mut d, req.attempt, status(404, &[], "{}"), now);
    for _ in 0..3 {
        match e.poll(&mut d, now) {
            Action::Done(Err(err)) => assert_eq!(err.status(), Some(404)),
            other => panic!("expected the sticky 404, got {other:?}"),
        }
    }
    assert!(e.is_done());
    assert_eq!(
        d.metrics_snapshot().operations,
        before + 1,
        "three polls of Done record one operation"
    );
}

#[test]
fn cancelling_releases_what_the_execution_holds() {
    let now = now0();
    let mut d = Driver::new(account(), DriverOptions::default(), 7, now).unwrap();
    let mut e = d.start(read_op(), OperationOptions::default(), now);
    let req = expect_send(&mut e, &mut d, now);
    assert_eq!(d.leases.account().map(|l| l.holder), Some(req.attempt));
    e.cancel(&mut d, now);
    assert!(
        d.leases.account_free(now.mono, &[]),
        "the account lease is free at once"
    );
    match e.poll(&mut d, now) {
        Action::Abort(id) => assert_eq!(id, req.attempt),
        other => panic!("expected the abort, got {other:?}"),
    }
    match e.poll(&mut d, now) {
        Action::Done(Err(err)) => assert_eq!(err.kind(), ErrorKind::Cancelled),
        other => panic!("expected Cancelled, got {other:?}"),
    }
}

#[test]
fn waiting_for_nothing_is_an_internal_error_not_a_hang() {
    let now = now0();
    let mut d = warm_driver(now);
    let mut e = d.start(read_op(), OperationOptions::default(), now);
    // Force a broken state: backing off with no backoff timer and nothing in flight.
    e.timers = Default::default();
    e.phase = Phase::Backoff;
    match e.poll(&mut d, now) {
        Action::Done(Err(err)) => {
            assert_eq!(err.kind(), ErrorKind::Internal);
            assert!(
                err.to_string().contains("waited with no attempt in flight"),
                "{err}"
            );
        }
        other => panic!("expected an internal error, got {other:?}"),
    }
}

#[test]
fn an_execution_dropped_between_routing_pages_frees_the_container_lease() {
    let now = now0();
    let mut d = Driver::new(account(), DriverOptions::default(), 7, now).unwrap();
    let mut e = d.start(read_op(), OperationOptions::default(), now);
    // The account, the container, then a first page of ranges that says there is more.
    let mut page = 0;
    loop {
        let req = expect_send(&mut e, &mut d, now);
        let resp = match req.purpose {
            Purpose::AccountRead => status(200, &[], TWO_REGIONS),
            Purpose::ContainerRead => status(
                200,
                &[],
                r#"{"partitionKey":{"paths":["/pk"],"kind":"Hash"}}"#,
            ),
            Purpose::PkRangeRead if page == 0 => {
                page += 1;
                status(
                    200,
                    &[("x-ms-continuation", "page-2")],
                    r#"{"PartitionKeyRanges":[{"id":"0","minInclusive":"","maxExclusive":"FF"}]}"#,
                )
            }
            // The second page is throttled: the execution backs off holding the lease, with
            // nothing in flight.
            Purpose::PkRangeRead => {
                let r = status(429, &[("x-ms-retry-after-ms", "1000")], "{}");
                e.handle_response(&mut d, req.attempt, r, now);
                break;
            }
            other => panic!("unexpected {other:?}"),
        };
        e.handle_response(&mut d, req.attempt, resp, now);
    }
    assert!(expect_wait(&mut e, &mut d, now).is_some());
    // A second operation must wait for the routing fetch the first one holds.
    let mut other = d.start(read_op(), OperationOptions::default(), now);
    assert!(expect_wait(&mut other, &mut d, now).is_some());
    // The first one is dropped during its backoff (nothing of it is in flight).
    let later = Now::new(now.mono + Duration::from_millis(10), now.wall);
    e.cancel(&mut d, later);
    match e.poll(&mut d, later) {
        Action::Done(Err(err)) => assert_eq!(err.kind(), ErrorKind::Cancelled),
        other => panic!("expected Cancelled, got {other:?}"),
    }
    // Its claim ended with it: the other operation reads the routing metadata at once instead
    // of waiting the lease out.
    let req = expect_send(&mut other, &mut d, later);
    assert_eq!(req.purpose, Purpose::PkRangeRead);
}
