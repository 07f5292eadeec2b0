//! The execution loop: poll the core, perform its actions, feed the outcomes back.
//!
//! Everything an execution has in flight (attempts, including parallel ones such as hedges, and
//! token acquisitions) is a boxed future in one small list owned by the loop; `Wait` polls the
//! list together with a timer for `until`. Nothing is spawned, so the loop runs on any executor,
//! and dropping the `execute` future drops every attempt with it (a guard cancels the execution
//! in the core so its leases are released at once rather than when they expire).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Instant, SystemTime};

use async_io::Timer;
use futures_lite::future::poll_fn;
use sextant_core::{
    AccessToken, Action, AttemptId, CosmosError, CosmosOperation, CosmosResponse, CredentialError,
    Execution, Now, OperationOptions, RequestEvent, RequestEventKind, Response, SharedDriver,
    TransportError,
};

use crate::client::{AttemptHead, BoxFuture, HttpClient};

fn now() -> Now {
    Now::new(Instant::now(), SystemTime::now())
}

/// One thing in flight.
enum Task {
    /// An attempt waiting for its response head.
    Head(AttemptId, BoxFuture<AttemptHead>),
    /// An attempt reading its body.
    Body(AttemptId, BoxFuture<Result<Response, TransportError>>),
    /// A token acquisition.
    Token(BoxFuture<Result<AccessToken, CredentialError>>),
}

impl Task {
    fn attempt(&self) -> Option<AttemptId> {
        match self {
            Task::Head(id, _) | Task::Body(id, _) => Some(*id),
            Task::Token(_) => None,
        }
    }
}

/// What woke the loop.
enum Wake {
    Head(AttemptId, AttemptHead),
    Body(AttemptId, Result<Response, TransportError>),
    Token(Result<AccessToken, CredentialError>),
    Timer,
}

/// Cancels the execution in the core if the loop is dropped before it finished.
struct Guard<'a> {
    shared: &'a SharedDriver,
    exec: Execution,
    done: bool,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.shared.cancel(&mut self.exec, now());
        }
    }
}

/// Runs one operation to completion.
pub(crate) async fn execute(
    shared: &SharedDriver,
    client: &Arc<HttpClient>,
    op: CosmosOperation,
    opts: OperationOptions,
) -> Result<CosmosResponse, CosmosError> {
    let mut guard = Guard {
        shared,
        exec: shared.start(op, opts, now()),
        done: false,
    };
    let mut tasks: Vec<Task> = Vec::new();
    // Set when the core asked to wait with nothing in flight and no timer: polling once more
    // is harmless, waiting would be forever, so the second time the execution is cancelled.
    let mut idle_wait = false;
    loop {
        let action = shared.poll(&mut guard.exec, now());
        match action {
            Action::Send(req) => {
                let id = req.attempt;
                shared.handle_event(
                    &mut guard.exec,
                    id,
                    RequestEvent::new(RequestEventKind::TransportStart),
                    now(),
                );
                tasks.push(Task::Head(id, client.attempt(*req)));
            }
            Action::Abort(id) => tasks.retain(|t| t.attempt() != Some(id)),
            Action::AcquireToken { scopes } => {
                // Clone the credential out; the driver lock is released at the end of the statement.
                let credential = shared.lock().token_credential();
                tasks.push(Task::Token(Box::pin(async move {
                    match credential {
                        Some(c) => c.get_token(&scopes).await,
                        None => Err(CredentialError::new("the account has no token credential")),
                    }
                })));
            }
            Action::Wait { until } => {
                if tasks.is_empty() && until.is_none() {
                    if idle_wait {
                        shared.cancel(&mut guard.exec, now());
                    }
                    idle_wait = true;
                    continue;
                }
                idle_wait = false;
                match wait(&mut tasks, until).await {
                    Wake::Head(id, AttemptHead::Head { body }) => {
                        let event = RequestEvent::new(RequestEventKind::ResponseHeadersReceived);
                        shared.handle_event(&mut guard.exec, id, event, now());
                        tasks.push(Task::Body(id, body));
                    }
                    Wake::Head(id, AttemptHead::Failed(e)) | Wake::Body(id, Err(e)) => {
                        shared.handle_transport_error(&mut guard.exec, id, e, now());
                    }
                    Wake::Body(id, Ok(resp)) => {
                        shared.handle_response(&mut guard.exec, id, resp, now())
                    }
                    Wake::Token(token) => shared.handle_token(&mut guard.exec, token, now()),
                    Wake::Timer => {}
                }
            }
            Action::Done(result) => {
                guard.done = true;
                if let Some(line) = shared.diagnostics_log_line(&guard.exec, now()) {
                    tracing::info!(target: "sextant::diagnostics", diagnostics = %line, "operation crossed a diagnostics threshold");
                }
                return result;
            }
            // A future action this transport does not know: poll again (the core only adds
            // actions together with the transports that perform them).
            _ => {}
        }
    }
}

/// Waits until a task finishes (it is removed from `tasks` and returned) or `until` passes.
async fn wait(tasks: &mut Vec<Task>, until: Option<Instant>) -> Wake {
    let mut timer = until.map(Timer::at);
    poll_fn(|cx| {
        for i in 0..tasks.len() {
            let ready = match &mut tasks[i] {
                Task::Head(id, f) => poll(f, cx).map(|h| Wake::Head(*id, h)),
                Task::Body(id, f) => poll(f, cx).map(|r| Wake::Body(*id, r)),
                Task::Token(f) => poll(f, cx).map(Wake::Token),
            };
            if let Poll::Ready(wake) = ready {
                tasks.swap_remove(i);
                return Poll::Ready(wake);
            }
        }
        if let Some(t) = timer.as_mut() {
            if Pin::new(t).poll(cx).is_ready() {
                return Poll::Ready(Wake::Timer);
            }
        }
        Poll::Pending
    })
    .await
}

fn poll<T>(f: &mut BoxFuture<T>, cx: &mut std::task::Context<'_>) -> Poll<T> {
    f.as_mut().poll(cx)
}
