//! The execution loop: poll the core, perform what it asks, feed the outcomes back.
//!
//! Each turn is the core's drain ([`SharedDriver::turn`]): it feeds what happened and collects
//! what to perform until the core waits; the loop then decides how to perform it.
//!
//! - **Common case** — exactly one attempt, and the turn ends in `Wait` with a wake-up time
//!   no earlier than the attempt's deadline: the attempt runs **inline** on the caller's thread
//!   with the attempt deadline as its timeout. No thread, no channel.
//! - **More than one attempt in flight** (several `Send`s in one turn, e.g. hedging), or a
//!   wake-up due before the attempt's deadline (a hedge may follow): attempts run on pooled
//!   worker threads ([`Background`], [`Workers`]) and the loop multiplexes their results with
//!   the core's timer through one channel.
//! - `Abort` stops waiting for an attempt (a blocking call cannot be interrupted; it ends by its
//!   own deadline and its late result is dropped).
//! - `AcquireToken` runs on a worker like an attempt, so a background refresh never delays the
//!   operation.

use sextant_core::{
    CosmosError, CosmosOperation, CosmosResponse, CredentialError, Drained, Execution, Input,
    Inputs, OperationOptions, OutgoingRequest, SharedDriver, Turn,
};

use crate::background::{acquire_token, perform_guarded, Background, Event, Next};
use crate::client::{now, HttpClient};
use crate::workers::Workers;

/// Runs one operation to completion on the calling thread.
pub(crate) fn execute(
    shared: &SharedDriver,
    client: &HttpClient,
    workers: &Workers,
    operation: CosmosOperation,
    options: OperationOptions,
) -> Result<CosmosResponse, CosmosError> {
    let mut turn = Turn::default();
    // The execution stays in the returned pair: it is large, and moving it out was a copy.
    let mut started = shared.start_turn(operation, options, now(), &mut turn);
    drive(shared, client, workers, &mut started.0, turn, started.1)
}

/// Drives a started execution (its first turn already taken) to its outcome. Every operation,
/// point or paged, goes through here.
pub(crate) fn drive(
    shared: &SharedDriver,
    client: &HttpClient,
    workers: &Workers,
    exec: &mut Execution,
    mut turn: Turn,
    mut drained: Drained,
) -> Result<CosmosResponse, CosmosError> {
    let mut background = Background::default();
    // Held inline: a turn's inputs (headers, then the response) allocate nothing.
    let mut inputs = Inputs::new();
    loop {
        for id in turn.aborts.drain(..) {
            background.abort(id);
        }
        let until = match drained {
            Drained::Done { outcome, log_line } => {
                background.finish(shared, workers);
                if let Some(line) = log_line {
                    tracing::info!(target: "sextant::diagnostics", diagnostics = %line, "operation crossed a diagnostics threshold");
                }
                return outcome;
            }
            Drained::Wait { until } => until,
        };
        for scopes in turn.token_requests.drain(..) {
            start_token(shared, workers, &mut background, scopes, &mut inputs);
        }
        let inline = turn.sends.len() == 1
            && background.attempts_in_flight() == 0
            && turn
                .sends
                .iter()
                .all(|r| until.is_none_or(|u| u >= r.deadline));
        for req in turn.sends.drain() {
            if inline {
                perform_inline(client, req, &mut inputs);
            } else {
                start_on_thread(client, workers, &mut background, req, &mut inputs);
            }
        }
        inputs.extend(background.ready().into_iter().map(Input::from));
        if inputs.is_empty() {
            match background.next(until) {
                Next::Event(event) => inputs.push(event.into()),
                Next::TimedOut => {}
                // The core waits only while an attempt is in flight, so this is a transport bug
                // (an attempt was lost): end the operation rather than block forever.
                Next::Stuck => shared.cancel(exec, now()),
            }
        }
        drained = shared.turn(exec, &mut inputs, now(), &mut turn);
    }
}

impl From<Event> for Input {
    fn from(event: Event) -> Input {
        match event {
            Event::Headers(id, at) => Input::Headers(id, at),
            Event::Finished(id, Ok(response), at) => Input::Response(id, response, at),
            Event::Finished(id, Err(error), at) => Input::Failed(id, error, at),
            Event::Token(result, at) => Input::Token(result, at),
        }
    }
}

/// The hot path: one attempt, performed on the caller's thread, bounded by its deadline.
fn perform_inline(client: &HttpClient, req: Box<OutgoingRequest>, inputs: &mut Inputs) {
    let id = req.attempt;
    let mut on_headers = |at| inputs.push(Input::Headers(id, at));
    let result = perform_guarded(client, req, &mut on_headers);
    inputs.push(match result {
        Ok(response) => Input::Response(id, response, now()),
        Err(error) => Input::Failed(id, error, now()),
    });
}

fn start_on_thread(
    client: &HttpClient,
    workers: &Workers,
    background: &mut Background,
    req: Box<OutgoingRequest>,
    inputs: &mut Inputs,
) {
    let id = req.attempt;
    if let Err(error) = background.spawn_attempt(client, workers, req) {
        inputs.push(Input::Failed(id, error, now()));
    }
}

fn start_token(
    shared: &SharedDriver,
    workers: &Workers,
    background: &mut Background,
    scopes: Vec<String>,
    inputs: &mut Inputs,
) {
    // The guard is a temporary: the lock is released before anything else happens.
    let credential = shared.lock().token_credential();
    let Some(credential) = credential else {
        let error = CredentialError::new(
            "the core asked for a token but the account has no token credential",
        );
        inputs.push(Input::Token(Err(error), now()));
        return;
    };
    if let Err((credential, scopes)) = background.spawn_token(workers, credential, scopes) {
        // No thread available: acquire inline.
        let result = acquire_token(credential.as_ref(), &scopes);
        inputs.push(Input::Token(result, now()));
    }
}
