//! State-level tests of the drain turn: what one turn collects, feeds and ends with.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::HeaderMap;

use super::{Drained, Input, Inputs, Turn};
use crate::credential::{AccessToken, CredentialError, TokenCredential, TokenFuture};
use crate::models::{AccountReference, ItemReference, PartitionKey};
use crate::transport::{RequestSent, TransportError, TransportErrorKind};
use crate::{
    CosmosOperation, Driver, DriverOptions, ErrorKind, Now, OperationOptions, Purpose, Response,
};

const KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";
const ENDPOINT: &str = "https://acct.documents.azure.com:443/";

#[allow(clippy::disallowed_methods)] // tests play the transport: they read the clock once
fn now0() -> Now {
    Now::new(
        Instant::now(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    )
}

fn read_op(account: &AccountReference) -> CosmosOperation {
    let item = ItemReference::from_name(account.clone(), "db", "c", "item 1");
    CosmosOperation::read(item).with_partition_key(PartitionKey::from("pk"))
}

fn ok(body: &'static str) -> Response {
    Response {
        status: 200,
        headers: HeaderMap::new(),
        body: Bytes::from_static(body.as_bytes()),
    }
}

/// Answers every send of a turn with `answer(purpose)` at `now` and returns how many turns the
/// operation took to finish.
fn run_to_done(
    driver: &mut Driver,
    exec: &mut crate::Execution,
    mut now: Now,
) -> (Result<crate::CosmosResponse, crate::CosmosError>, usize) {
    let (mut inputs, mut turn) = (Inputs::new(), Turn::default());
    for turns in 1..100 {
        let drained = exec.turn(driver, &mut inputs, now, &mut turn);
        for req in turn.sends.drain() {
            now = now.advanced(Duration::from_millis(1));
            let body = if req.purpose == Purpose::AccountRead {
                "{}"
            } else {
                r#"{"id":"item 1"}"#
            };
            inputs.push(Input::Headers(req.attempt, now));
            inputs.push(Input::Response(req.attempt, ok(body), now));
        }
        if let Drained::Done { outcome, .. } = drained {
            return (outcome, turns);
        }
    }
    panic!("no outcome within 100 turns");
}

#[test]
fn a_warm_point_read_takes_two_turns_and_reports_transport_start() {
    let account = AccountReference::with_master_key(ENDPOINT, KEY).unwrap();
    let now = now0();
    let mut driver = Driver::new(account.clone(), DriverOptions::default(), 7, now).unwrap();
    let mut cold = driver.start(read_op(&account), OperationOptions::default(), now);
    let (outcome, _) = run_to_done(&mut driver, &mut cold, now);
    assert_eq!(outcome.unwrap().status(), 200);

    let mut warm = driver.start(read_op(&account), OperationOptions::default(), now);
    let (outcome, turns) = run_to_done(&mut driver, &mut warm, now);
    let response = outcome.unwrap();
    // Turn 1 emits the read, turn 2 feeds its answer and finishes.
    assert_eq!(turns, 2);
    let request = &response.diagnostics().requests()[0];
    assert_eq!(request.purpose, Purpose::Operation);
    assert!(
        request
            .events
            .iter()
            .any(|e| e.kind == crate::RequestEventKind::TransportStart),
        "the turn reported TransportStart for the send"
    );
}

#[test]
fn a_simulator_turn_reports_no_transport_events() {
    let account = AccountReference::with_master_key(ENDPOINT, KEY).unwrap();
    let now = now0();
    let mut driver = Driver::new(account.clone(), DriverOptions::default(), 7, now).unwrap();
    let mut exec = driver.start(read_op(&account), OperationOptions::default(), now);
    let mut turn = Turn::without_transport_events();
    let _ = exec.turn(&mut driver, &mut Inputs::new(), now, &mut turn);
    assert_eq!(turn.sends.len(), 1);
    let id = turn.sends.first().unwrap().attempt;
    let resp = ok("{}");
    let mut inputs: Inputs = [Input::Response(id, resp, now)].into_iter().collect();
    let _ = exec.turn(&mut driver, &mut inputs, now, &mut turn);
    assert!(inputs.is_empty(), "the turn drains its inputs");
}

#[test]
fn the_end_to_end_deadline_aborts_what_is_in_flight_and_ends_the_turn() {
    let account = AccountReference::with_master_key(ENDPOINT, KEY).unwrap();
    let now = now0();
    let mut driver = Driver::new(account.clone(), DriverOptions::default(), 7, now).unwrap();
    let opts = OperationOptions::default().with_end_to_end_timeout(Duration::from_millis(50));
    let mut exec = driver.start(read_op(&account), opts, now);
    let mut turn = Turn::default();
    let drained = exec.turn(&mut driver, &mut Inputs::new(), now, &mut turn);
    let sent = turn.sends.first().unwrap().attempt;
    let Drained::Wait { until: Some(until) } = drained else {
        panic!("expected a timed wait, got {drained:?}");
    };
    assert!(until <= now.mono + Duration::from_millis(50));
    let later = now.advanced(Duration::from_millis(50));
    let drained = exec.turn(&mut driver, &mut Inputs::new(), later, &mut turn);
    assert_eq!(turn.aborts, vec![sent], "the in-flight attempt is dropped");
    assert!(
        turn.sends.is_empty(),
        "the previous turn's sends were cleared"
    );
    match drained {
        Drained::Done {
            outcome: Err(e), ..
        } => assert_eq!(e.kind(), ErrorKind::Timeout),
        other => panic!("expected a timeout, got {other:?}"),
    }
    // Done is sticky: another turn returns the same outcome and asks for nothing.
    let drained = exec.turn(&mut driver, &mut Inputs::new(), later, &mut turn);
    assert!(turn.is_empty());
    assert!(matches!(
        drained,
        Drained::Done {
            outcome: Err(_),
            ..
        }
    ));
}

#[test]
fn a_transport_failure_before_sending_is_retried_in_a_later_turn() {
    let account = AccountReference::with_master_key(ENDPOINT, KEY).unwrap();
    let now = now0();
    let mut driver = Driver::new(account.clone(), DriverOptions::default(), 7, now).unwrap();
    let mut exec = driver.start(read_op(&account), OperationOptions::default(), now);
    let mut turn = Turn::default();
    let _ = exec.turn(&mut driver, &mut Inputs::new(), now, &mut turn);
    let first = turn.sends.first().unwrap().attempt;
    let refused = TransportError::new(TransportErrorKind::Connect, RequestSent::NotSent, "refused");
    let mut inputs: Inputs = [Input::Failed(first, refused, now)].into_iter().collect();
    let mut now = now;
    // The retry may wait a backoff; turn until it is sent.
    for _ in 0..10 {
        let drained = exec.turn(&mut driver, &mut inputs, now, &mut turn);
        if !turn.sends.is_empty() {
            assert_ne!(
                turn.sends.first().unwrap().attempt,
                first,
                "attempt ids are never reused"
            );
            return;
        }
        match drained {
            Drained::Wait { until: Some(u) } => now = Now::new(u, now.wall),
            other => panic!("expected a retry, got {other:?}"),
        }
    }
    panic!("no retry was sent");
}

#[derive(Debug)]
struct Unused;

impl TokenCredential for Unused {
    fn get_token<'a>(&'a self, _scopes: &'a [String]) -> TokenFuture<'a> {
        Box::pin(std::future::ready(Err(CredentialError::new("not called"))))
    }
}

#[test]
fn token_acquisition_is_asked_for_in_the_turn_and_fed_as_an_input() {
    let account = AccountReference::with_token_credential(ENDPOINT, Arc::new(Unused)).unwrap();
    let now = now0();
    let mut driver = Driver::new(account.clone(), DriverOptions::default(), 7, now).unwrap();
    let mut exec = driver.start(read_op(&account), OperationOptions::default(), now);
    let mut turn = Turn::default();
    let drained = exec.turn(&mut driver, &mut Inputs::new(), now, &mut turn);
    assert_eq!(turn.token_requests.len(), 1);
    assert!(
        turn.sends.is_empty(),
        "nothing is signed before the token arrives"
    );
    assert!(matches!(drained, Drained::Wait { until: Some(_) }));
    let token = AccessToken {
        token: "t".into(),
        expires_on: now.wall + Duration::from_secs(3600),
    };
    let mut inputs: Inputs = [Input::Token(Ok(token), now)].into_iter().collect();
    let _ = exec.turn(&mut driver, &mut inputs, now, &mut turn);
    assert_eq!(
        turn.sends.len(),
        1,
        "the account read goes out once the token is in"
    );
    assert_eq!(turn.sends.first().unwrap().purpose, Purpose::AccountRead);
}

/// A token that had expired when it arrived (a credential's clock or cache off by more than
/// the token's life) is used as it is: asking again would most likely bring the same one back,
/// and the operation asked without end (the execution fuzzer found it with a wall clock before
/// 1970, which the core clamps to the epoch). The next operation acquires afresh, once.
#[test]
fn a_token_expired_on_arrival_is_used_and_not_asked_for_again() {
    let account = AccountReference::with_token_credential(ENDPOINT, Arc::new(Unused)).unwrap();
    let now = now0();
    let stale = || AccessToken {
        token: "t".into(),
        expires_on: now.wall - Duration::from_secs(60),
    };
    let mut driver = Driver::new(account.clone(), DriverOptions::default(), 7, now).unwrap();
    for op in 0..2 {
        let mut exec = driver.start(read_op(&account), OperationOptions::default(), now);
        let mut turn = Turn::default();
        let _ = exec.turn(&mut driver, &mut Inputs::new(), now, &mut turn);
        assert_eq!(turn.token_requests.len(), 1, "operation {op} asks once");
        let mut inputs: Inputs = [Input::Token(Ok(stale()), now)].into_iter().collect();
        let _ = exec.turn(&mut driver, &mut inputs, now, &mut turn);
        assert!(
            turn.token_requests.is_empty(),
            "operation {op} asked again for a token it just got"
        );
        assert_eq!(
            turn.sends.len(),
            1,
            "operation {op} sends with the token it got"
        );
        exec.cancel(&mut driver, now);
    }
}
