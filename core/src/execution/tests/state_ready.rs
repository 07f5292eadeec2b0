//! `Phase::Ready`: deciding what to send next.

use super::*;
use crate::execution::Phase;

#[test]
fn a_cold_execution_reads_the_account_first_under_a_lease() {
    let now = now0();
    let mut d = Driver::new(account(), DriverOptions::default(), 7, now).unwrap();
    let mut e = d.start(read_op(), OperationOptions::default(), now);
    assert_eq!(e.phase, Phase::Ready);
    let req = expect_send(&mut e, &mut d, now);
    assert_eq!(req.purpose, Purpose::AccountRead);
    assert_eq!(e.phase, Phase::InFlight);
    assert_eq!(d.leases.account().map(|l| l.holder), Some(req.attempt));

    // A second execution sees the lease and waits for a re-check instead of reading again.
    let mut other = d.start(read_op(), OperationOptions::default(), now);
    let until = expect_wait(&mut other, &mut d, now).expect("a re-check timer");
    assert!(until <= now.mono + crate::driver::LEASE_RECHECK_INTERVAL);
    assert_eq!(other.attempts(), 0);
}

#[test]
fn a_warm_execution_sends_the_operation_at_once() {
    let now = now0();
    let mut d = warm_driver(now);
    let mut e = d.start(read_op(), OperationOptions::default(), now);
    let req = expect_send(&mut e, &mut d, now);
    assert_eq!(req.purpose, Purpose::Operation);
    assert_eq!(&*req.region, "East");
    assert!(req.headers.contains_key("authorization"));
    assert!(req.headers.contains_key("x-ms-date"));
    assert_eq!(e.in_flight(), 1);
}

#[test]
fn bad_options_end_the_execution_before_anything_is_sent() {
    let now = now0();
    let mut d = warm_driver(now);
    let other =
        AccountReference::with_master_key("https://other.documents.azure.com:443/", KEY).unwrap();
    let item = ItemReference::from_name(other, "db", "c", "x");
    let op = CosmosOperation::read(item).with_partition_key(PartitionKey::from("pk"));
    let mut e = d.start(op, OperationOptions::default(), now);
    match e.poll(&mut d, now) {
        Action::Done(Err(err)) => assert_eq!(err.kind(), crate::ErrorKind::Configuration),
        other => panic!("expected a configuration error, got {other:?}"),
    }
    assert_eq!(e.attempts(), 0);
}

/// Runs a read on `d` to its end, answering its one request with `session_token`; returns the
/// `x-ms-session-token` that request carried.
fn read_sending(d: &mut Driver, now: Now, session_token: &'static str) -> Option<String> {
    let mut e = d.start(read_op(), OperationOptions::default(), now);
    let req = expect_send(&mut e, d, now);
    assert_eq!(req.purpose, Purpose::Operation);
    let sent = req
        .headers
        .get("x-ms-session-token")
        .map(|v| v.to_str().unwrap().to_owned());
    let resp = status(200, &[("x-ms-session-token", session_token)], "{}");
    e.handle_response(d, req.attempt, resp, now);
    match e.poll(d, now) {
        Action::Done(Ok(r)) => assert_eq!(r.status(), 200),
        other => panic!("expected Done, got {other:?}"),
    }
    sent
}

#[test]
fn an_unrouted_read_sends_every_ranges_token_as_it_is_now() {
    // `warm_driver` leaves the container unroutable, so reads go out without a range and
    // carry the container's whole session token, which the driver keeps rendered between
    // changes: each read must see the tokens as the previous responses left them.
    let now = now0();
    let mut d = warm_driver(now);
    // Nothing captured yet (the warm-up's response had no token).
    assert_eq!(read_sending(&mut d, now, "0:1#5#1=3,1:1#7#1=4"), None);
    assert_eq!(
        read_sending(&mut d, now, "1:1#9#1=4").as_deref(),
        Some("0:1#5#1=3,1:1#7#1=4")
    );
    // A range's newer token replaces its part.
    assert_eq!(
        read_sending(&mut d, now, "1:1#9#1=4").as_deref(),
        Some("0:1#5#1=3,1:1#9#1=4")
    );
    // The same response again changes nothing: the kept value is sent as it was.
    assert_eq!(
        read_sending(&mut d, now, "2:1#1#1=1").as_deref(),
        Some("0:1#5#1=3,1:1#9#1=4")
    );
    // A new range joins.
    assert_eq!(
        read_sending(&mut d, now, "2:1#1#1=1").as_deref(),
        Some("0:1#5#1=3,1:1#9#1=4,2:1#1#1=1")
    );
}
