//! `Phase::InFlight`: attempts out, waiting for answers, deadlines and the hedge timer.

use super::*;
use crate::execution::{Phase, Timer};
use crate::transport::{RequestEvent, RequestEventKind};
use crate::AttemptId;

#[test]
fn waiting_wakes_at_the_earliest_of_the_attempt_deadline_and_the_hedge_timer() {
    let now = now0();
    let mut d = warm_driver(now);
    let mut e = d.start(read_op(), OperationOptions::default(), now);
    let req = expect_send(&mut e, &mut d, now);
    let until = expect_wait(&mut e, &mut d, now).expect("timers are armed");
    let hedge = e
        .timers
        .get(Timer::Hedge)
        .expect("reads are hedged across regions");
    assert_eq!(until, hedge.min(req.deadline));
    assert_eq!(e.phase, Phase::InFlight);
}

#[test]
fn the_hedge_timer_sends_to_the_next_region() {
    let now = now0();
    let mut d = warm_driver(now);
    let mut e = d.start(read_op(), OperationOptions::default(), now);
    let first = expect_send(&mut e, &mut d, now);
    let hedge_at = e.timers.get(Timer::Hedge).unwrap();
    let later = Now::new(hedge_at, now.wall);
    let hedge = expect_send(&mut e, &mut d, later);
    assert_ne!(hedge.region, first.region);
    assert_eq!(e.in_flight(), 2);
    assert_eq!(d.hedges_in_flight(), 1);
    // The hedge answers first: the other attempt is aborted and the hedge slot returned.
    e.handle_response(
        &mut d,
        hedge.attempt,
        status(200, &[], r#"{"id":"item 1"}"#),
        later,
    );
    match e.poll(&mut d, later) {
        Action::Abort(id) => assert_eq!(id, first.attempt),
        other => panic!("expected the loser's abort, got {other:?}"),
    }
    assert!(matches!(e.poll(&mut d, later), Action::Done(Ok(_))));
    assert_eq!(d.hedges_in_flight(), 0);
}

#[test]
fn an_attempt_past_its_deadline_is_aborted_and_the_read_fails_over() {
    let now = now0();
    let mut d = warm_driver(now);
    let opts = OperationOptions::default().with_hedging(false);
    let mut e = d.start(read_op(), opts, now);
    let first = expect_send(&mut e, &mut d, now);
    let at = Now::new(first.deadline, now.wall);
    match e.poll(&mut d, at) {
        Action::Abort(id) => assert_eq!(id, first.attempt),
        other => panic!("expected an abort, got {other:?}"),
    }
    let retry = expect_send(&mut e, &mut d, at);
    assert_ne!(
        retry.region, first.region,
        "a timed-out read goes to the next region"
    );
}

#[test]
fn unknown_and_late_answers_are_ignored() {
    let now = now0();
    let mut d = warm_driver(now);
    let mut e = d.start(read_op(), OperationOptions::default(), now);
    let req = expect_send(&mut e, &mut d, now);
    e.handle_response(&mut d, AttemptId(9_999), status(200, &[], "{}"), now);
    e.handle_event(
        &mut d,
        AttemptId(9_999),
        RequestEvent::new(RequestEventKind::ResponseHeadersReceived),
        now,
    );
    assert_eq!(e.in_flight(), 1, "nothing changed");
    e.handle_response(&mut d, req.attempt, status(200, &[], "{}"), now);
    assert!(matches!(e.poll(&mut d, now), Action::Done(Ok(_))));
    // A second answer for the same attempt, after Done, changes nothing.
    e.handle_response(&mut d, req.attempt, status(500, &[], "{}"), now);
    assert!(matches!(e.poll(&mut d, now), Action::Done(Ok(_))));
}
