//! The execution loop: the core's drain contract over reqwest and tokio timers.
//!
//! Each turn locks the driver once: it reports the response headers that arrived since the last
//! turn, feeds the finished attempts and tokens, and polls until `Wait` or `Done`, collecting the
//! `Send`s, `Abort`s and token requests. Then, with the lock released, it starts and drops
//! attempts and waits for the first attempt, token or timer to make progress. A point operation
//! on a warm driver takes two turns (send, then response), so two lock acquisitions.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::Poll;

use sextant_core::{
    AccessToken, CosmosError, CosmosOperation, CosmosResponse, CredentialError, Drained, Execution,
    InlineList, Input, Inputs, OperationOptions, SharedDriver, Turn,
};

use crate::attempt::{Attempt, Progress};
use crate::client::{to_reqwest, BaseUrls};

type TokenFuture = Pin<Box<dyn Future<Output = Result<AccessToken, CredentialError>> + Send>>;

/// Both clocks, read once per turn.
pub(crate) use sextant_host::now;

/// Owns the execution and its token acquisitions. When the loop ends (or the caller drops the
/// future) it cancels an unfinished execution in the core, so leases it holds are released at
/// once instead of by expiry, and hands token acquisitions still running (a background refresh
/// can outlive its operation) to a task that feeds them to the driver.
struct Guard<'a, 'e> {
    shared: &'a SharedDriver,
    exec: &'e mut Execution,
    tokens: Vec<TokenFuture>,
}

impl Drop for Guard<'_, '_> {
    fn drop(&mut self) {
        if !self.exec.is_done() {
            self.shared.cancel(self.exec, now());
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
    send: S,
    bases: &BaseUrls,
    op: CosmosOperation,
    opts: OperationOptions,
) -> Result<CosmosResponse, CosmosError>
where
    S: Fn(reqwest::Request) -> F,
    F: Future<Output = Result<reqwest::Response, reqwest::Error>> + Unpin,
{
    let mut turn = Turn::default();
    // The execution stays in the returned pair: it is large, and moving it out was a copy.
    let mut started = shared.start_turn(op, opts, now(), &mut turn);
    drive(shared, send, bases, &mut started.0, turn, started.1).await
}

/// Drives a started execution (its first turn already taken) to its outcome. Every operation,
/// point or paged, goes through here.
///
/// `send` must fail an exchange with a timeout once the request's timeout has passed, the
/// response body included (reqwest's `Client::execute` does: the timeout "is applied from when
/// the request starts connecting until the response body has finished"). The loop sets it to
/// the time left until the attempt's deadline and arms no timer of its own for a wait that ends
/// at an attempt's deadline: the attempt's failure wakes it.
///
/// Each turn locks the driver once ([`SharedDriver::turn`]): it feeds what arrived since the
/// last turn and drains the core. Then, with the lock released, it drops and starts attempts
/// and waits for the first attempt, token or timer to make progress.
pub(crate) async fn drive<S, F>(
    shared: &SharedDriver,
    send: S,
    bases: &BaseUrls,
    exec: &mut Execution,
    mut turn: Turn,
    mut drained: Drained,
) -> Result<CosmosResponse, CosmosError>
where
    S: Fn(reqwest::Request) -> F,
    F: Future<Output = Result<reqwest::Response, reqwest::Error>> + Unpin,
{
    // One attempt is held inline (hedges, the rare second one, go to the heap), and so are the
    // two inputs of a turn (headers, then the response): a point operation allocates no list.
    let mut attempts: InlineList<Attempt<F>, 1> = InlineList::new();
    let mut inputs = Inputs::new();
    let mut sleep = pin!(None::<tokio::time::Sleep>);
    let mut t = now();
    let mut guard = Guard {
        shared,
        exec,
        tokens: Vec::new(),
    };
    loop {
        if !turn.aborts.is_empty() {
            attempts.retain(|a| !turn.aborts.contains(&a.id));
        }
        let until = match drained {
            Drained::Done { outcome, log_line } => {
                if let Some(line) = log_line {
                    tracing::info!(target: "sextant::diagnostics", diagnostics = %line, "operation crossed a diagnostics threshold");
                }
                return outcome;
            }
            Drained::Wait { until } => until,
        };
        // Perform the actions, outside the lock.
        for req in turn.sends.drain() {
            let (id, deadline) = (req.attempt, req.deadline);
            let max = req.max_response_bytes;
            let timeout = req.timeout_from(t.mono);
            match to_reqwest(req, timeout, bases) {
                Ok(r) => attempts.push(Attempt::new(id, send(r), deadline, max)),
                Err(e) => inputs.push(Input::Failed(id, e, now())),
            }
        }
        for scopes in turn.token_requests.drain(..) {
            // The driver's current credential (it may have been rotated since `account`).
            let credential = shared.lock().token_credential();
            match credential {
                Some(c) => {
                    guard
                        .tokens
                        .push(Box::pin(async move { c.get_token(&scopes).await }));
                }
                None => inputs.push(Input::Token(
                    Err(CredentialError::new(
                        "the core asked for a token but the account has no token credential",
                    )),
                    now(),
                )),
            }
        }

        if inputs.is_empty() {
            // A wait that ends at an attempt's deadline needs no timer: the HTTP client fails
            // the attempt then (its request's timeout was set from that deadline, measured from
            // before the request started, so it ends there or a little after). One timer per
            // attempt instead of two: registering and clearing a tokio timer entry is the
            // largest cost this loop adds to a request (docs/PERFORMANCE.md, issue 9).
            let timed = until.filter(|u| !attempts.iter().any(|a| a.deadline == *u));
            // Otherwise arm the timer (re-registering it only when the instant changes).
            if let Some(at) = timed.map(tokio::time::Instant::from_std) {
                match sleep.as_mut().as_pin_mut() {
                    Some(s) if s.deadline() == at => {}
                    Some(s) => s.reset(at),
                    None => sleep.set(Some(tokio::time::sleep_until(at))),
                }
            }
            // Wait for the first attempt, token or timer to make progress. Response headers
            // are queued as an input without waking: they are fed with the next turn.
            poll_fn(|cx| {
                let mut i = 0;
                while let Some(a) = attempts.get_mut(i) {
                    let id = a.id;
                    match a.poll_progress(cx) {
                        Poll::Ready(Progress::Headers) => inputs.push(Input::Headers(id, now())),
                        Poll::Ready(Progress::Done(r)) => {
                            drop(attempts.remove(i));
                            inputs.push(match r {
                                Ok(resp) => Input::Response(id, resp, now()),
                                Err(e) => Input::Failed(id, e, now()),
                            });
                            return Poll::Ready(());
                        }
                        Poll::Pending => i += 1,
                    }
                }
                let tokens = &mut guard.tokens;
                for i in 0..tokens.len() {
                    if let Poll::Ready(r) = tokens[i].as_mut().poll(cx) {
                        drop(tokens.swap_remove(i));
                        inputs.push(Input::Token(r, now()));
                        return Poll::Ready(());
                    }
                }
                match (timed, sleep.as_mut().as_pin_mut()) {
                    (Some(_), Some(s)) => s.poll(cx),
                    _ => Poll::Pending,
                }
            })
            .await;
        }

        t = now();
        drained = shared.turn(guard.exec, &mut inputs, t, &mut turn);
    }
}
