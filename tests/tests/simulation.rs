//! Deterministic simulation of the core: scripted answers on a virtual clock.

use std::time::Duration;

use sextant_core::models::{ContainerReference, ItemReference, PartitionKey};
use sextant_core::{
    CosmosOperation, DriverOptions, ErrorKind, ExecutionContext, OperationOptions, Purpose,
    RequestSent, TransportErrorKind,
};
use sextant_tests::sim::{count, Answer, Sim};

fn read_op(sim: &Sim) -> CosmosOperation {
    CosmosOperation::read(ItemReference::from_name(
        sim.account.clone(),
        "db",
        "c",
        "item 1",
    ))
    .with_partition_key(PartitionKey::from("pk"))
}

fn create_op(sim: &Sim) -> CosmosOperation {
    CosmosOperation::create(ContainerReference::from_name(
        sim.account.clone(),
        "db",
        "c",
    ))
    .with_partition_key(PartitionKey::from("pk"))
    .with_body(r#"{"id":"a","pk":"pk"}"#)
}

fn throttled_then_ok(seed: u64) -> (Vec<String>, Duration, sextant_core::CosmosResponse) {
    let mut sim = Sim::new(seed, DriverOptions::default());
    let op = read_op(&sim);
    let r = sim
        .run(op, OperationOptions::new(), |i, _| {
            if i < 3 {
                Answer::throttled(3200, 100)
            } else {
                Answer::ok(200)
            }
        })
        .expect("succeeds after three 429s");
    (sim.transcript.clone(), sim.elapsed(), r)
}

#[test]
fn throttling_is_retried_in_place_after_retry_after() {
    let (transcript, elapsed, r) = throttled_then_ok(7);
    assert_eq!(r.status(), 200);
    let reqs = r.diagnostics().requests();
    let data: Vec<_> = reqs
        .iter()
        .filter(|a| a.purpose == Purpose::Operation)
        .collect();
    assert_eq!(data.len(), 4, "three 429s then the success");
    assert_eq!(data[0].execution_context, ExecutionContext::Initial);
    assert!(data[1..]
        .iter()
        .all(|a| a.execution_context == ExecutionContext::Retry));
    assert_eq!(data[0].status, Some(429));
    assert_eq!(data[0].sub_status, Some(3200));
    assert!(
        data.iter().all(|a| a.region.as_ref() == "West US 2"),
        "429 never changes region"
    );
    // Three waits of 100 ms (+ < 5 ms jitter each), plus the round trips: 4 data (5 ms),
    // the account read (3 ms), the container and pk-range reads (2 ms each).
    let trips = 4 * 5 + 3 + 2 * 2;
    assert!(elapsed >= Duration::from_millis(300 + trips), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(300 + 15 + trips + 1),
        "{elapsed:?}"
    );
    assert_eq!(count(&transcript, "/docs/item%201 "), 4, "{transcript:#?}");
    assert_eq!(
        r.diagnostics().total_request_charge(),
        7.0,
        "every attempt's RU is summed, metadata reads included"
    );
}

#[test]
fn same_seed_gives_the_same_transcript_and_other_seeds_differ() {
    let (a, _, _) = throttled_then_ok(42);
    let (b, _, _) = throttled_then_ok(42);
    assert_eq!(a, b, "same seed, same inputs: identical transcript");
    let (c, _, _) = throttled_then_ok(43);
    assert_ne!(a, c, "the seed drives jitter, so timing differs");
}

#[test]
fn throttling_budget_is_bounded_by_count() {
    let mut sim = Sim::new(1, DriverOptions::default());
    let op = read_op(&sim);
    let e = sim
        .run(op, OperationOptions::new(), |_, _| {
            Answer::throttled(3200, 10)
        })
        .unwrap_err();
    assert!(e.is_throttling());
    assert_eq!(e.sub_status(), Some(3200));
    let data = e
        .diagnostics()
        .requests()
        .iter()
        .filter(|a| a.purpose == Purpose::Operation)
        .count();
    assert_eq!(
        data, 10,
        "initial + 9 retries (Java/.NET MaxRetryAttemptsOnRateLimitedRequests)"
    );
}

#[test]
fn throttling_budget_is_bounded_by_cumulative_wait() {
    let mut sim = Sim::new(1, DriverOptions::default());
    let op = read_op(&sim);
    // 12 s per retry: the second retry would exceed the 30 s cumulative cap.
    let e = sim
        .run(op, OperationOptions::new(), |_, _| {
            Answer::throttled(3200, 12_000)
        })
        .unwrap_err();
    assert!(e.is_throttling());
    let data = e
        .diagnostics()
        .requests()
        .iter()
        .filter(|a| a.purpose == Purpose::Operation)
        .count();
    assert_eq!(
        data, 3,
        "waits of 12 s + 12 s fit in 30 s; a third does not"
    );
    assert!(sim.elapsed() < Duration::from_secs(30));
}

#[test]
fn configured_throttle_budget_is_honoured() {
    let opts = DriverOptions::builder()
        .max_throttle_retries(2)
        .build()
        .unwrap();
    let mut sim = Sim::new(1, opts);
    let op = read_op(&sim);
    let e = sim
        .run(op, OperationOptions::new(), |_, _| {
            Answer::throttled(3200, 10)
        })
        .unwrap_err();
    assert_eq!(
        e.diagnostics()
            .requests()
            .iter()
            .filter(|a| a.purpose == Purpose::Operation)
            .count(),
        3
    );
}

#[test]
fn a_write_that_may_have_been_applied_is_not_retried() {
    let mut sim = Sim::new(1, DriverOptions::default());
    let op = create_op(&sim);
    let e = sim
        .run(op, OperationOptions::new(), |_, _| {
            Answer::fail(TransportErrorKind::Io, RequestSent::Unknown)
        })
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert_eq!(
        e.transport_error().map(|t| t.request_sent),
        Some(RequestSent::Unknown)
    );
    assert_eq!(
        count(&sim.transcript, "POST"),
        1,
        "no second data attempt: {:#?}",
        sim.transcript
    );
}

#[test]
fn a_write_that_was_never_sent_is_retried() {
    let mut sim = Sim::new(1, DriverOptions::default());
    let op = create_op(&sim);
    let r = sim
        .run(op, OperationOptions::new(), |i, _| {
            if i == 0 {
                Answer::fail(TransportErrorKind::Connect, RequestSent::NotSent)
            } else {
                Answer::ok(201)
            }
        })
        .unwrap();
    assert_eq!(r.status(), 201);
    let data: Vec<_> = r
        .diagnostics()
        .requests()
        .iter()
        .filter(|a| a.purpose == Purpose::Operation)
        .cloned()
        .collect();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0].request_sent, RequestSent::NotSent);
}

#[test]
fn opted_in_and_conditional_writes_are_retried_after_a_timeout() {
    for opts in [
        OperationOptions::new().with_non_idempotent_write_retries(true),
        OperationOptions::new().with_if_match("\"etag\""),
    ] {
        let mut sim = Sim::new(1, DriverOptions::default());
        let item = ItemReference::from_name(sim.account.clone(), "db", "c", "a");
        let op = CosmosOperation::replace(item)
            .with_partition_key(PartitionKey::from("pk"))
            .with_body("{}");
        let r = sim
            .run(op, opts, |i, _| {
                if i == 0 {
                    Answer::status(408, 0)
                } else {
                    Answer::ok(200)
                }
            })
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // The same replace without either is not retried.
    let mut sim = Sim::new(1, DriverOptions::default());
    let item = ItemReference::from_name(sim.account.clone(), "db", "c", "a");
    let op = CosmosOperation::replace(item)
        .with_partition_key(PartitionKey::from("pk"))
        .with_body("{}");
    let e = sim
        .run(op, OperationOptions::new(), |_, _| Answer::status(408, 0))
        .unwrap_err();
    assert_eq!(e.status(), Some(408));
}

#[test]
fn reads_fail_over_on_503_within_budget() {
    let mut sim = Sim::new(1, DriverOptions::default());
    let op = read_op(&sim);
    let e = sim
        .run(op, OperationOptions::new(), |_, _| Answer::status(503, 0))
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    let data = e
        .diagnostics()
        .requests()
        .iter()
        .filter(|a| a.purpose == Purpose::Operation)
        .count();
    assert_eq!(
        data, 3,
        "initial + 2 failover retries (Java ClientRetryPolicy)"
    );
}

#[test]
fn retry_with_backs_off_exponentially() {
    let mut sim = Sim::new(9, DriverOptions::default());
    let op = read_op(&sim);
    let r = sim
        .run(op, OperationOptions::new(), |i, _| {
            if i < 4 {
                Answer::status(449, 0)
            } else {
                Answer::ok(200)
            }
        })
        .unwrap();
    let starts: Vec<Duration> = r
        .diagnostics()
        .requests()
        .iter()
        .filter(|a| a.purpose == Purpose::Operation)
        .map(|a| a.started_at)
        .collect();
    let gaps: Vec<u128> = starts
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    // 5 ms round trip + 10·2ⁿ ms + [0, 5) ms.
    for (n, gap) in gaps.iter().enumerate() {
        let base = 5 + 10 * (1u128 << n);
        assert!(
            (base..base + 5).contains(gap),
            "gap {n} = {gap} ms, expected {base}..{}",
            base + 5
        );
    }
}

#[test]
fn end_to_end_deadline_ends_a_stalled_operation_and_aborts_it() {
    let mut sim = Sim::new(1, DriverOptions::default());
    let op = read_op(&sim);
    let opts = OperationOptions::new().with_end_to_end_timeout(Duration::from_millis(750));
    let e = sim.run(op, opts, |_, _| Answer::Stall).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.is_timeout());
    assert_eq!(
        sim.elapsed(),
        Duration::from_millis(750),
        "ends exactly at the deadline"
    );
    assert_eq!(count(&sim.transcript, "ABORT"), 1, "{:#?}", sim.transcript);
}

#[test]
fn attempt_timeout_of_a_read_is_retried() {
    let opts = DriverOptions::builder()
        .request_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let mut sim = Sim::new(1, opts);
    let op = read_op(&sim);
    let r = sim
        .run(op, OperationOptions::new(), |i, _| {
            if i == 0 {
                Answer::Stall
            } else {
                Answer::ok(200)
            }
        })
        .unwrap();
    assert_eq!(r.status(), 200);
    let data: Vec<_> = r
        .diagnostics()
        .requests()
        .iter()
        .filter(|a| a.purpose == Purpose::Operation)
        .cloned()
        .collect();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0].request_sent, RequestSent::Unknown);
    assert_eq!(
        data[1].execution_context,
        ExecutionContext::Retry,
        "one region: a failover retry stays in it"
    );
    assert_eq!(count(&sim.transcript, "ABORT"), 1);
}

#[test]
fn a_retry_that_cannot_finish_before_the_deadline_fails_early_with_the_real_error() {
    let mut sim = Sim::new(1, DriverOptions::default());
    let op = read_op(&sim);
    let opts = OperationOptions::new().with_end_to_end_timeout(Duration::from_secs(1));
    let e = sim
        .run(op, opts, |_, _| Answer::throttled(3200, 5_000))
        .unwrap_err();
    assert!(
        e.is_throttling(),
        "the caller sees the 429, not a bare timeout: {e}"
    );
    assert!(sim.elapsed() < Duration::from_secs(1));
}

#[test]
fn account_is_read_once_and_shared() {
    let mut sim = Sim::new(1, DriverOptions::default());
    for _ in 0..3 {
        let op = read_op(&sim);
        sim.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
            .unwrap();
    }
    assert_eq!(
        count(&sim.transcript, "GET https://sim.documents.azure.com:443/ "),
        1,
        "{:#?}",
        sim.transcript
    );
    // Data requests go to the regional endpoint the account advertised.
    assert_eq!(
        count(
            &sim.transcript,
            "https://sim-westus2.documents.azure.com:443/dbs/db/colls/c/docs/item%201"
        ),
        3
    );
}

#[test]
fn account_read_failure_is_the_operation_error() {
    let mut sim = Sim::new(1, DriverOptions::default());
    sim.account_answer = Some(Answer::status(401, 0));
    let op = read_op(&sim);
    let e = sim
        .run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap_err();
    assert_eq!(
        e.status(),
        Some(401),
        "a rejected key fails the operation: {e}"
    );
    assert_eq!(e.kind(), ErrorKind::Service);
    assert_eq!(
        count(&sim.transcript, "SEND"),
        1,
        "no data request without account metadata"
    );
    // Throttled account reads are retried like any read.
    let mut sim = Sim::new(1, DriverOptions::default());
    sim.account_answer = Some(Answer::throttled(3200, 10));
    let op = read_op(&sim);
    let e = sim
        .run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap_err();
    assert!(e.is_throttling());
    assert_eq!(
        e.diagnostics()
            .requests()
            .iter()
            .filter(|a| a.purpose == Purpose::AccountRead)
            .count(),
        10
    );
}

#[test]
fn configuration_errors_surface_as_done_not_panics() {
    let mut sim = Sim::new(1, DriverOptions::default());
    // Item read without a partition key.
    let op = CosmosOperation::read(ItemReference::from_name(
        sim.account.clone(),
        "db",
        "c",
        "x",
    ));
    let e = sim
        .run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert!(e.to_string().contains("partition key"), "{e}");
    assert_eq!(count(&sim.transcript, "SEND"), 0);
    // Reserved custom header.
    let op = read_op(&sim);
    let e = sim
        .run(
            op,
            OperationOptions::new().with_custom_header("Authorization", "x"),
            |_, _| Answer::ok(200),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert!(e.to_string().contains("Authorization"), "{e}");
}

#[test]
fn late_answers_for_aborted_attempts_are_ignored() {
    let opts = DriverOptions::builder()
        .request_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let mut sim = Sim::new(1, opts);
    let op = read_op(&sim);
    let mut exec = sim.driver.start(op, OperationOptions::new(), sim.now);
    let r = sim
        .drive(&mut exec, &mut |i, _| {
            if i == 0 {
                Answer::Stall
            } else {
                Answer::ok(200)
            }
        })
        .unwrap();
    // Feed a late response for the first (aborted) data attempt: a no-op, recorded.
    let first = r
        .diagnostics()
        .requests()
        .iter()
        .find(|a| a.purpose == Purpose::Operation)
        .unwrap()
        .attempt;
    let late = sextant_core::Response {
        status: 500,
        headers: http::HeaderMap::new(),
        body: bytes::Bytes::new(),
    };
    exec.handle_response(&mut sim.driver, first, late, sim.now);
    match exec.poll(&mut sim.driver, sim.now) {
        sextant_core::Action::Done(Ok(again)) => assert_eq!(again.status(), 200, "Done is sticky"),
        other => panic!("expected sticky Done, got {other:?}"),
    }
}

#[test]
fn cancellation_aborts_in_flight_attempts() {
    let mut sim = Sim::new(1, DriverOptions::default());
    let op = read_op(&sim);
    let mut exec = sim.driver.start(op, OperationOptions::new(), sim.now);
    let mut sent = Vec::new();
    loop {
        match exec.poll(&mut sim.driver, sim.now) {
            sextant_core::Action::Send(req) => sent.push(req.attempt),
            sextant_core::Action::Wait { .. } => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(sent.len(), 1, "the account read is in flight");
    exec.cancel(&mut sim.driver, sim.now);
    match exec.poll(&mut sim.driver, sim.now) {
        sextant_core::Action::Abort(id) => assert_eq!(id, sent[0]),
        other => panic!("expected Abort, got {other:?}"),
    }
    match exec.poll(&mut sim.driver, sim.now) {
        sextant_core::Action::Done(Err(e)) => assert_eq!(e.kind(), ErrorKind::Cancelled),
        other => panic!("expected Done(Cancelled), got {other:?}"),
    }
    // The cancelled holder released the metadata lease: the next operation reads the account at once.
    let op = read_op(&sim);
    sim.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
}

#[test]
fn a_transport_timeout_at_the_deadline_is_reported_as_the_timeout_it_is() {
    let mut sim = Sim::new(1, DriverOptions::default());
    let op = read_op(&sim);
    // The data attempt starts at 7 ms (account 3 ms, container and pk ranges 2 ms each); the
    // transport gives up at the operation's deadline, just before the core's own timer fires.
    let opts = OperationOptions::new().with_end_to_end_timeout(Duration::from_millis(750));
    let e = sim
        .run(op, opts, |_, _| Answer::Fail {
            kind: TransportErrorKind::Timeout,
            sent: RequestSent::Unknown,
            latency: Duration::from_millis(743),
        })
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(
        e.transport_error().map(|t| t.request_sent),
        Some(RequestSent::Unknown),
        "the cut-short attempt is still described"
    );
}

#[test]
fn a_cancelled_operation_releases_the_container_lease_it_held() {
    let mut sim = Sim::new(1, DriverOptions::default());
    // Warm the account, then start a read whose container read never answers.
    let op = read_op(&sim);
    sim.container_script = Some(Box::new(|n| {
        if n == 0 {
            Answer::Stall
        } else {
            Answer::ok(200)
        }
    }));
    let mut exec = sim.driver.start(op, OperationOptions::new(), sim.now);
    let mut container_reads = 0;
    let mut account_reads = 0;
    for _ in 0..20 {
        match exec.poll(&mut sim.driver, sim.now) {
            sextant_core::Action::Send(req) if req.purpose == Purpose::AccountRead => {
                account_reads += 1;
                let body = bytes::Bytes::from_static(sextant_tests::sim::ACCOUNT_BODY.as_bytes());
                let resp = sextant_core::Response {
                    status: 200,
                    headers: http::HeaderMap::new(),
                    body,
                };
                exec.handle_response(&mut sim.driver, req.attempt, resp, sim.now);
            }
            sextant_core::Action::Send(req) => {
                assert_eq!(req.purpose, Purpose::ContainerRead);
                container_reads += 1;
            }
            sextant_core::Action::Wait { .. } => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((account_reads, container_reads), (1, 1));
    exec.cancel(&mut sim.driver, sim.now);
    // The next operation reads the container at once instead of waiting for the lease.
    let op = read_op(&sim);
    sim.container_script = None;
    sim.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    let first = sim
        .transcript
        .iter()
        .position(|l| l.contains("SEND") && l.contains("/colls/c "))
        .unwrap();
    assert!(
        sim.transcript[first].starts_with("      0ms"),
        "{:#?}",
        sim.transcript
    );
}

#[test]
fn broken_container_metadata_is_not_reread_on_every_operation() {
    let mut sim = Sim::new(1, DriverOptions::default());
    sim.container_script = Some(Box::new(|_| Answer::ok(200))); // a body without partitionKey
    for _ in 0..3 {
        let op = read_op(&sim);
        sim.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
            .unwrap();
    }
    assert_eq!(
        count(&sim.transcript, "/colls/c ctx"),
        1,
        "{:#?}",
        sim.transcript
    );
    sim.now = sim.now.advanced(Duration::from_secs(31));
    let op = read_op(&sim);
    sim.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    assert_eq!(
        count(&sim.transcript, "/colls/c ctx"),
        2,
        "retried after 30 s"
    );
}
