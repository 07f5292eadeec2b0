//! `Phase::Backoff`: waiting out a retry-after before the next attempt.

use super::*;
use crate::execution::{Phase, Timer};

#[test]
fn a_throttled_attempt_waits_its_retry_after_then_retries_in_place() {
    let now = now0();
    let mut d = warm_driver(now);
    let mut e = d.start(create_op(), OperationOptions::default(), now);
    let first = expect_send(&mut e, &mut d, now);
    e.handle_response(
        &mut d,
        first.attempt,
        status(429, &[("x-ms-retry-after-ms", "100")], "{}"),
        now,
    );
    let until = expect_wait(&mut e, &mut d, now).expect("a backoff timer");
    assert_eq!(e.phase, Phase::Backoff);
    let wait = until - now.mono;
    assert!(
        wait >= Duration::from_millis(100) && wait < Duration::from_millis(105),
        "retry-after plus [0, 5) ms jitter: {wait:?}"
    );
    // Not yet due: still waiting, nothing sent.
    let early = now.advanced(Duration::from_millis(50));
    assert_eq!(expect_wait(&mut e, &mut d, early), Some(until));
    let due = Now::new(until, now.wall);
    let retry = expect_send(&mut e, &mut d, due);
    assert_eq!(retry.region, first.region, "429 retries in the same region");
    assert!(e.timers.get(Timer::Backoff).is_none());
}

#[test]
fn a_backoff_past_the_end_to_end_deadline_fails_now_instead_of_waiting() {
    let now = now0();
    let mut d = warm_driver(now);
    let opts = OperationOptions::default().with_end_to_end_timeout(Duration::from_millis(50));
    let mut e = d.start(create_op(), opts, now);
    let first = expect_send(&mut e, &mut d, now);
    e.handle_response(
        &mut d,
        first.attempt,
        status(429, &[("x-ms-retry-after-ms", "1000")], "{}"),
        now,
    );
    match e.poll(&mut d, now) {
        Action::Done(Err(err)) => assert_eq!(err.status(), Some(429)),
        other => panic!("expected the 429 to be final, got {other:?}"),
    }
}

#[test]
fn a_429_without_retry_after_waits_the_configured_fallback_delay() {
    // The seed's `RetryOptions::initial_delay` is this wait (Sextant's default: 5 s).
    for (options, expected) in [
        (DriverOptions::default(), Duration::from_secs(5)),
        (
            DriverOptions::builder()
                .retry_options(
                    crate::options::RetryOptions::builder()
                        .initial_delay(Duration::from_millis(100))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
            Duration::from_millis(100),
        ),
    ] {
        let now = now0();
        let mut d = warm_driver_with(now, options);
        let mut e = d.start(create_op(), OperationOptions::default(), now);
        let first = expect_send(&mut e, &mut d, now);
        e.handle_response(&mut d, first.attempt, status(429, &[], "{}"), now);
        let until = expect_wait(&mut e, &mut d, now).expect("a backoff timer");
        let wait = until - now.mono;
        assert!(
            wait >= expected && wait < expected + Duration::from_millis(5),
            "fallback {expected:?} plus [0, 5) ms jitter: {wait:?}"
        );
        // A retry-after from the service is honoured whatever the fallback.
        let mut e = d.start(create_op(), OperationOptions::default(), now);
        let first = expect_send(&mut e, &mut d, now);
        e.handle_response(
            &mut d,
            first.attempt,
            status(429, &[("x-ms-retry-after-ms", "20")], "{}"),
            now,
        );
        let until = expect_wait(&mut e, &mut d, now).expect("a backoff timer");
        assert!(until - now.mono < Duration::from_millis(25));
    }
}

#[test]
fn retry_on_throttle_false_makes_the_first_429_final() {
    let now = now0();
    let options = DriverOptions::builder()
        .retry_options(
            crate::options::RetryOptions::builder()
                .max_retries(5)
                .retry_on_throttle(false)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let mut d = warm_driver_with(now, options);
    let mut e = d.start(create_op(), OperationOptions::default(), now);
    let first = expect_send(&mut e, &mut d, now);
    e.handle_response(
        &mut d,
        first.attempt,
        status(429, &[("x-ms-retry-after-ms", "10")], "{}"),
        now,
    );
    match e.poll(&mut d, now) {
        Action::Done(Err(err)) => assert_eq!(err.status(), Some(429)),
        other => panic!("expected the 429 to be final, got {other:?}"),
    }
}

#[test]
fn metrics_disabled_records_nothing() {
    for (enabled, expected) in [(true, 1), (false, 0)] {
        let now = now0();
        let options = DriverOptions::builder()
            .telemetry_options(
                crate::options::TelemetryOptions::builder()
                    .metrics_enabled(enabled)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let mut d = warm_driver_with(now, options);
        let before = d.metrics_snapshot().operations;
        let mut e = d.start(create_op(), OperationOptions::default(), now);
        let first = expect_send(&mut e, &mut d, now);
        e.handle_response(&mut d, first.attempt, status(201, &[], "{}"), now);
        assert!(matches!(e.poll(&mut d, now), Action::Done(Ok(_))));
        assert_eq!(
            d.metrics_snapshot().operations - before,
            expected,
            "metrics_enabled({enabled})"
        );
    }
}
