//! The execution loop: poll the core, perform what it asks, feed the outcomes back.
//!
//! A `Send` is not started the moment it is returned: the loop keeps polling (drain contract)
//! and decides when the core has nothing more to say.
//!
//! - **Common case** — exactly one attempt, and the next poll returns `Wait` with a wake-up time
//!   no earlier than the attempt's deadline: the attempt runs **inline** on the caller's thread
//!   with the attempt deadline as its timeout. No thread, no channel.
//! - **More than one attempt in flight** (a second `Send` before `Wait`, e.g. hedging), or a
//!   wake-up due before the attempt's deadline (a hedge may follow): attempts run on pooled
//!   worker threads ([`Background`], [`Workers`]) and the loop multiplexes their results with
//!   the core's timer through one channel.
//! - `Abort` stops waiting for an attempt (a blocking call cannot be interrupted; it ends by its
//!   own deadline and its late result is dropped).
//! - `AcquireToken` runs on a worker like an attempt, so a background refresh never delays the
//!   operation.

use sextant_core::{
    Action, CosmosError, CosmosOperation, CosmosResponse, CredentialError, Execution,
    OperationOptions, OutgoingRequest, RequestEvent, RequestEventKind, SharedDriver,
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
    let mut exec = shared.start(operation, options, now());
    let mut background = Background::default();
    // An attempt the core asked for that is not started yet.
    let mut ready: Option<Box<OutgoingRequest>> = None;
    loop {
        match shared.poll(&mut exec, now()) {
            Action::Send(req) => {
                if let Some(first) = ready.replace(req) {
                    // A second attempt before `Wait`: both run concurrently.
                    start_on_thread(shared, &mut exec, client, workers, &mut background, first);
                }
            }
            Action::Abort(id) => {
                if ready.as_ref().is_some_and(|r| r.attempt == id) {
                    ready = None; // never started
                } else {
                    background.abort(id);
                }
            }
            Action::AcquireToken { scopes } => {
                start_token(shared, &mut exec, workers, &mut background, scopes)
            }
            Action::Wait { until } => {
                let mut fed = false;
                for event in background.ready() {
                    feed(shared, &mut exec, event);
                    fed = true;
                }
                if let Some(req) = ready.take() {
                    let alone = background.attempts_in_flight() == 0;
                    if alone && until.is_none_or(|u| u >= req.deadline) {
                        perform_inline(shared, &mut exec, client, req);
                    } else {
                        start_on_thread(shared, &mut exec, client, workers, &mut background, req);
                    }
                    continue;
                }
                if fed {
                    // What arrived may have finished the operation or moved its timers: poll
                    // again before sleeping on an `until` computed before it.
                    continue;
                }
                match background.next(until) {
                    Next::Event(event) => feed(shared, &mut exec, event),
                    Next::TimedOut => {}
                    // The core waits for nothing that can arrive: end the operation rather than
                    // block forever (a core bug; the outcome says "cancelled").
                    Next::Stuck => shared.cancel(&mut exec, now()),
                }
            }
            Action::Done(result) => {
                let line = shared.diagnostics_log_line(&exec, now());
                background.finish(shared, workers, exec);
                if let Some(line) = line {
                    tracing::info!(target: "sextant::diagnostics", diagnostics = %line, "operation crossed a diagnostics threshold");
                }
                return result;
            }
            // An action newer than this transport: it cannot be performed, so the operation ends.
            _ => shared.cancel(&mut exec, now()),
        }
    }
}

/// The hot path: one attempt, performed on the caller's thread, bounded by its deadline.
fn perform_inline(
    shared: &SharedDriver,
    exec: &mut Execution,
    client: &HttpClient,
    req: Box<OutgoingRequest>,
) {
    let id = req.attempt;
    shared.handle_event(
        exec,
        id,
        RequestEvent::new(RequestEventKind::TransportStart),
        now(),
    );
    let mut on_headers = |at| {
        shared.handle_event(
            exec,
            id,
            RequestEvent::new(RequestEventKind::ResponseHeadersReceived),
            at,
        )
    };
    let result = perform_guarded(client, req, &mut on_headers);
    match result {
        Ok(response) => shared.handle_response(exec, id, response, now()),
        Err(error) => shared.handle_transport_error(exec, id, error, now()),
    }
}

fn start_on_thread(
    shared: &SharedDriver,
    exec: &mut Execution,
    client: &HttpClient,
    workers: &Workers,
    background: &mut Background,
    req: Box<OutgoingRequest>,
) {
    let id = req.attempt;
    shared.handle_event(
        exec,
        id,
        RequestEvent::new(RequestEventKind::TransportStart),
        now(),
    );
    if let Err(error) = background.spawn_attempt(client, workers, req) {
        shared.handle_transport_error(exec, id, error, now());
    }
}

fn start_token(
    shared: &SharedDriver,
    exec: &mut Execution,
    workers: &Workers,
    background: &mut Background,
    scopes: Vec<String>,
) {
    // The guard is a temporary: the lock is released before anything else happens.
    let credential = shared.lock().token_credential();
    let Some(credential) = credential else {
        let error = CredentialError::new(
            "the core asked for a token but the account has no token credential",
        );
        shared.handle_token(exec, Err(error), now());
        return;
    };
    if let Err((credential, scopes)) = background.spawn_token(workers, credential, scopes) {
        // No thread available: acquire inline.
        let result = acquire_token(credential.as_ref(), &scopes);
        shared.handle_token(exec, result, now());
    }
}

fn feed(shared: &SharedDriver, exec: &mut Execution, event: Event) {
    match event {
        Event::Headers(id, at) => shared.handle_event(
            exec,
            id,
            RequestEvent::new(RequestEventKind::ResponseHeadersReceived),
            at,
        ),
        Event::Finished(id, Ok(response), at) => shared.handle_response(exec, id, response, at),
        Event::Finished(id, Err(error), at) => shared.handle_transport_error(exec, id, error, at),
        Event::Token(result, at) => shared.handle_token(exec, result, at),
    }
}
