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
