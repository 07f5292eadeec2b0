//! The execution loop: the core's drain contract over reqwest and tokio timers.
//!
//! Each turn locks the driver once: it reports the response headers that arrived since the last
//! turn, feeds the finished attempts and tokens, and polls until `Wait` or `Done`, collecting the
//! `Send`s, `Abort`s and token requests. Then, with the lock released, it starts and drops
//! attempts and waits for the first attempt, token or timer to make progress. A point operation
//! on a warm driver takes two turns (send, then response), so two lock acquisitions.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Instant, SystemTime};

use sextant_core::models::AccountReference;
use sextant_core::{
    AccessToken, Action, AttemptId, CosmosError, CosmosOperation, CosmosResponse, Credential,
    CredentialError, Driver, Execution, Now, OperationOptions, OutgoingRequest, RequestEvent,
    RequestEventKind, Response, SharedDriver, TransportError,
};

use crate::attempt::{Attempt, Progress};
use crate::client::to_reqwest;

type TokenFuture = Pin<Box<dyn Future<Output = Result<AccessToken, CredentialError>> + Send>>;

/// Both clocks, read once per turn.
pub(crate) fn now() -> Now {
    Now::new(Instant::now(), SystemTime::now())
}

/// An outcome to feed to the core on the next turn.
enum Input {
    /// Response headers of an attempt arrived at this time (reported before its outcome).
    Headers(AttemptId, Now),
    Attempt(AttemptId, Result<Response, TransportError>),
    Token(Result<AccessToken, CredentialError>),
}

/// What one turn asked the transport to do.
#[derive(Default)]
struct Outbox {
    // The core hands requests out boxed; keeping the box avoids copying them.
    #[allow(clippy::vec_box)]
    sends: Vec<Box<OutgoingRequest>>,
    aborts: Vec<AttemptId>,
    token_scopes: Vec<Vec<String>>,
    /// Diagnostics to log once the lock is released (threshold crossed, rate limit allows).
    log_line: Option<String>,
}

/// Owns the execution and its token acquisitions. When the loop ends (or the caller drops the
/// future) it cancels an unfinished execution in the core, so leases it holds are released at
/// once instead of by expiry, and hands token acquisitions still running (a background refresh
/// can outlive its operation) to a task that feeds them to the driver.
struct Guard<'a> {
    shared: &'a SharedDriver,
    exec: Execution,
    tokens: Vec<TokenFuture>,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if !self.exec.is_done() {
            self.shared.cancel(&mut self.exec, now());
        }
        if self.tokens.is_empty() {
            return;
        }
        // Outside a runtime the acquisition is dropped; the token lease then expires by time.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let tokens = std::mem::take(&mut self.tokens);
            let shared = self.shared.clone();
            handle.spawn(async move {
                for token in tokens {
                    let result = token.await;
                    // An error here is already recorded in the driver; no execution waits for it.
                    let _ = shared.lock().handle_token(result, now());
                }
            });
        }
    }
}

/// Runs one operation to completion. `send` starts an HTTP exchange (reqwest's
/// `Client::execute`); it is a parameter so the loop can be tested without a network.
pub(crate) async fn run<S, F>(
    shared: &SharedDriver,
    account: &AccountReference,
    send: S,
    op: CosmosOperation,
    opts: OperationOptions,
) -> Result<CosmosResponse, CosmosError>
where
    S: Fn(reqwest::Request) -> F,
    F: Future<Output = Result<reqwest::Response, reqwest::Error>> + Unpin,
{
    let mut attempts: Vec<Attempt<F>> = Vec::new();
    let mut inputs: Vec<Input> = Vec::new();
    let mut out = Outbox::default();
    let mut sleep = pin!(None::<tokio::time::Sleep>);

    // The first turn starts the execution under the same lock.
    let mut t = now();
    let (mut guard, mut until) = {
        let mut d = shared.lock();
        let exec = d.start(op, opts, t);
        let mut guard = Guard {
            shared,
            exec,
            tokens: Vec::new(),
        };
        match turn(
            &mut d,
            &mut guard.exec,
            &mut attempts,
            &mut inputs,
            t,
            &mut out,
        ) {
            Ok(until) => (guard, until),
            Err(done) => {
                drop(d);
                return log_and_return(done, &mut out);
            }
        }
    };
    loop {
        // Perform the actions, outside the lock.
        for req in out.sends.drain(..) {
            let id = req.attempt;
            let max = req.max_response_bytes;
            let timeout = req.timeout_from(t.mono);
            match to_reqwest(*req, timeout) {
                Ok(r) => attempts.push(Attempt::new(id, send(r), max)),
                Err(e) => inputs.push(Input::Attempt(id, Err(e))),
            }
        }
        if !out.aborts.is_empty() {
            attempts.retain(|a| !out.aborts.contains(&a.id));
            out.aborts.clear();
        }
        for scopes in out.token_scopes.drain(..) {
            match account.credential() {
                Credential::TokenCredential(c) => {
                    let c = Arc::clone(c);
                    guard
                        .tokens
                        .push(Box::pin(async move { c.get_token(&scopes).await }));
                }
                _ => inputs.push(Input::Token(Err(CredentialError::new(
                    "the core asked for a token but the account has no token credential",
                )))),
            }
        }

        if !inputs.is_empty() {
            // Something to feed already: no wait.
        } else if attempts.is_empty() && guard.tokens.is_empty() && until.is_none() {
            // The core waits for nothing: end the operation rather than hang (a core bug).
            guard.shared.cancel(&mut guard.exec, now());
        } else {
            // Arm the timer (re-registering it only when the instant changes).
            if let Some(at) = until.map(tokio::time::Instant::from_std) {
                match sleep.as_mut().as_pin_mut() {
                    Some(s) if s.deadline() == at => {}
                    Some(s) => s.reset(at),
                    None => sleep.set(Some(tokio::time::sleep_until(at))),
                }
            }
            // Wait for the first attempt, token or timer to make progress.
            poll_fn(|cx| {
                let mut i = 0;
                while i < attempts.len() {
                    match attempts[i].poll_progress(cx) {
                        Poll::Ready(Progress::Headers) => {
                            attempts[i].unreported_headers = Some(now())
                        }
                        Poll::Ready(Progress::Done(r)) => {
                            let a = attempts.swap_remove(i);
                            if let Some(at) = a.unreported_headers {
                                inputs.push(Input::Headers(a.id, at));
                            }
                            inputs.push(Input::Attempt(a.id, r));
                            return Poll::Ready(());
                        }
                        Poll::Pending => i += 1,
                    }
                }
                let tokens = &mut guard.tokens;
                for i in 0..tokens.len() {
                    if let Poll::Ready(r) = tokens[i].as_mut().poll(cx) {
                        drop(tokens.swap_remove(i));
                        inputs.push(Input::Token(r));
                        return Poll::Ready(());
                    }
                }
                match (until, sleep.as_mut().as_pin_mut()) {
                    (Some(_), Some(s)) => s.poll(cx),
                    _ => Poll::Pending,
                }
            })
            .await;
        }

        t = now();
        until = {
            let mut d = shared.lock();
            match turn(
                &mut d,
                &mut guard.exec,
                &mut attempts,
                &mut inputs,
                t,
                &mut out,
            ) {
                Ok(until) => until,
                Err(done) => {
                    drop(d);
                    return log_and_return(done, &mut out);
                }
            }
        };
    }
}

/// One turn under the driver lock: report, feed, then drain until `Wait` (its `until` is
/// returned) or `Done` (returned as the error side).
fn turn<F>(
    d: &mut Driver,
    exec: &mut Execution,
    attempts: &mut [Attempt<F>],
    inputs: &mut Vec<Input>,
    now: Now,
    out: &mut Outbox,
) -> Result<Option<Instant>, Result<CosmosResponse, CosmosError>> {
    let headers_event = || RequestEvent::new(RequestEventKind::ResponseHeadersReceived);
    for a in attempts.iter_mut() {
        if let Some(at) = a.unreported_headers.take() {
            exec.handle_event(d, a.id, headers_event(), at);
        }
    }
    for input in inputs.drain(..) {
        match input {
            Input::Headers(id, at) => exec.handle_event(d, id, headers_event(), at),
            Input::Attempt(id, Ok(resp)) => exec.handle_response(d, id, resp, now),
            Input::Attempt(id, Err(e)) => exec.handle_transport_error(d, id, e, now),
            Input::Token(r) => exec.handle_token(d, r, now),
        }
    }
    loop {
        match exec.poll(d, now) {
            Action::Send(req) => {
                // Reported right before the request is handed to the client (after this turn).
                exec.handle_event(
                    d,
                    req.attempt,
                    RequestEvent::new(RequestEventKind::TransportStart),
                    now,
                );
                out.sends.push(req);
            }
            Action::Abort(id) => out.aborts.push(id),
            Action::AcquireToken { scopes } => out.token_scopes.push(scopes),
            Action::Wait { until } => return Ok(until),
            Action::Done(result) => {
                out.log_line = exec.diagnostics_log_line(d, now);
                return Err(result);
            }
            // A newer core's action this transport does not know: nothing to perform.
            _ => {}
        }
    }
}

/// Logs the diagnostics the core selected (outside the driver lock) and returns the outcome.
fn log_and_return<T>(done: T, out: &mut Outbox) -> T {
    if let Some(line) = out.log_line.take() {
        tracing::info!(target: "sextant::diagnostics", diagnostics = %line, "operation crossed a diagnostics threshold");
    }
    done
}
