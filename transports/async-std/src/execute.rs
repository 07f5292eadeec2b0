//! The execution loop: poll the core, perform its actions, feed the outcomes back.
//!
//! Everything an execution has in flight (attempts, including parallel ones such as hedges, and
//! token acquisitions) is a future owned by the loop: the head phase of one attempt is held
//! pinned in place (no box: the usual case is one attempt at a time), everything else is a task
//! in one small list (a boxed future, or an attempt's body reader); `Wait` polls them together
//! with a timer for `until`. Nothing is spawned, so the loop runs on any executor,
//! and dropping the `execute` future drops every attempt with it (a guard cancels the execution
//! in the core so its leases are released at once rather than when they expire).
//!
//! A token acquisition can outlive its operation: a background refresh starts while the old
//! token is still valid, and the operation finishes with the old token. Dropping it would leave
//! the refresh undone until the token lease expires, and the token would then run out and make
//! a request wait. So an unfinished acquisition is handed to [`Orphans`], and every later
//! operation (of any driver of the runtime) adopts and polls the orphans with its own tasks,
//! feeding each result to the driver it belongs to.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use futures_lite::future::poll_fn;
use sextant_core::{
    AccessToken, AttemptId, CosmosError, CosmosOperation, CosmosResponse, CredentialError, Drained,
    Execution, InlineList, Input, Inputs, OperationOptions, Response, SharedDriver, TransportError,
    Turn,
};

use crate::client::{AttemptHead, BodyRead, BoxFuture, HttpClient};
use crate::deadline::LoopTimer;

pub(crate) use sextant_host::now;

/// One thing in flight.
// The body reader is held inline on purpose (boxing it was one allocation per attempt); the
// list holds a handful of tasks.
#[allow(clippy::large_enum_variant)]
enum Task {
    /// An attempt waiting for its response head.
    Head(AttemptId, BoxFuture<AttemptHead>),
    /// An attempt reading its body (held inline: one allocation fewer per attempt).
    Body(AttemptId, BodyRead),
    /// A token acquisition.
    Token(BoxFuture<Result<AccessToken, CredentialError>>),
    /// A token acquisition adopted from an operation that has finished, for `SharedDriver`.
    Orphan(
        SharedDriver,
        BoxFuture<Result<AccessToken, CredentialError>>,
    ),
}

/// Token acquisitions whose operation finished first, waiting for the next operation to poll
/// them (at most one per driver at a time: the core's token lease allows one acquisition).
#[derive(Default)]
pub(crate) struct Orphans(std::sync::Mutex<Vec<Orphan>>);

/// A token acquisition and the driver it belongs to.
type Orphan = (
    SharedDriver,
    BoxFuture<Result<AccessToken, CredentialError>>,
);

impl std::fmt::Debug for Orphans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Orphans")
    }
}

impl Orphans {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Orphan>> {
        // A panic while holding this lock cannot leave the list inconsistent (push/take only).
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves every orphan into `tasks`.
    fn adopt(&self, tasks: &mut Tasks) {
        tasks.extend(self.lock().drain(..).map(|(s, f)| Task::Orphan(s, f)));
    }

    /// Keeps the unfinished acquisitions of `tasks` (its own and adopted ones) for later.
    fn keep(&self, shared: &SharedDriver, tasks: &mut Tasks) {
        let mut left = Vec::new();
        for t in tasks.drain() {
            match t {
                Task::Token(f) => left.push((shared.clone(), f)),
                Task::Orphan(s, f) => left.push((s, f)),
                Task::Head(..) | Task::Body(..) => {}
            }
        }
        if !left.is_empty() {
            self.lock().extend(left);
        }
    }
}

impl Task {
    fn attempt(&self) -> Option<AttemptId> {
        match self {
            Task::Head(id, _) | Task::Body(id, _) => Some(*id),
            Task::Token(_) | Task::Orphan(..) => None,
        }
    }
}

/// What an execution has in flight. One task is held inline: a point operation has one at a
/// time (its attempt's head, then its body), so the list allocates nothing.
type Tasks = InlineList<Task, 1>;

/// What woke the loop (small: an attempt's body reader goes to the task list, not through here).
enum Wake {
    /// An attempt's response head arrived; its body reader is already a task.
    Headers(AttemptId),
    /// An attempt failed before its response head.
    HeadFailed(AttemptId, TransportError),
    Body(AttemptId, Result<Response, TransportError>),
    Token(Result<AccessToken, CredentialError>),
    Orphan(SharedDriver, Result<AccessToken, CredentialError>),
    Timer,
}

/// Cancels the execution in the core if the loop is dropped before it finished, and keeps the
/// token acquisitions still running for later operations.
struct Guard<'a, 'e> {
    shared: &'a SharedDriver,
    client: &'a HttpClient,
    exec: &'e mut Execution,
    done: bool,
    tasks: Tasks,
    /// The loop's timer, handed back to the client for the next operation.
    timer: LoopTimer,
}

impl Drop for Guard<'_, '_> {
    fn drop(&mut self) {
        if !self.done {
            self.shared.cancel(self.exec, now());
        }
        self.client.orphans.keep(self.shared, &mut self.tasks);
        let timer = std::mem::replace(&mut self.timer, LoopTimer::new());
        self.client.keep_loop_timer(timer);
    }
}

/// Runs one operation to completion: the core's drain turn, then perform and wait.
pub(crate) async fn execute(
    shared: &SharedDriver,
    client: &Arc<HttpClient>,
    op: CosmosOperation,
    opts: OperationOptions,
) -> Result<CosmosResponse, CosmosError> {
    let mut turn = Turn::default();
    // The execution stays in the returned pair: it is large, and moving it out was a copy.
    let mut started = shared.start_turn(op, opts, now(), &mut turn);
    drive(shared, client, &mut started.0, turn, started.1).await
}

/// Drives a started execution (its first turn already taken) to its outcome. Every operation,
/// point or paged, goes through here.
pub(crate) async fn drive(
    shared: &SharedDriver,
    client: &Arc<HttpClient>,
    exec: &mut Execution,
    mut turn: Turn,
    mut drained: Drained,
) -> Result<CosmosResponse, CosmosError> {
    let mut guard = Guard {
        shared,
        client,
        exec,
        done: false,
        tasks: Tasks::new(),
        timer: client.take_loop_timer(),
    };
    client.orphans.adopt(&mut guard.tasks);
    // Held inline, like `tasks`: a turn's inputs allocate nothing.
    let mut inputs = Inputs::new();
    // The head phase of one attempt (`head_id`), pinned here instead of boxed as a task; a
    // second attempt in flight (a hedge) is a boxed task.
    let mut head = pin!(None);
    let mut head_id: Option<AttemptId> = None;
    loop {
        let tasks = &mut guard.tasks;
        tasks.retain(|t| t.attempt().is_none_or(|id| !turn.aborts.contains(&id)));
        if head_id.is_some_and(|id| turn.aborts.contains(&id)) {
            head.set(None);
            head_id = None;
        }
        let until = match drained {
            Drained::Done { outcome, log_line } => {
                guard.done = true;
                if let Some(line) = log_line {
                    tracing::info!(target: "sextant::diagnostics", diagnostics = %line, "operation crossed a diagnostics threshold");
                }
                return outcome;
            }
            Drained::Wait { until } => until,
        };
        for req in turn.sends.drain() {
            let id = req.attempt;
            if head_id.is_none() {
                head.set(Some(client.attempt_unboxed(req)));
                head_id = Some(id);
            } else {
                tasks.push(Task::Head(id, client.attempt(req)));
            }
        }
        for scopes in turn.token_requests.drain(..) {
            // Clone the credential out; the driver lock is released at the end of the statement.
            let credential = shared.lock().token_credential();
            tasks.push(Task::Token(Box::pin(async move {
                match credential {
                    Some(c) => c.get_token(&scopes).await,
                    None => Err(CredentialError::new("the account has no token credential")),
                }
            })));
        }
        let waited = wait(tasks, head.as_mut(), &mut head_id, until, &mut guard.timer);
        match waited.await {
            Wake::Headers(id) => inputs.push(Input::Headers(id, now())),
            Wake::HeadFailed(id, e) | Wake::Body(id, Err(e)) => {
                inputs.push(Input::Failed(id, e, now()))
            }
            Wake::Body(id, Ok(resp)) => inputs.push(Input::Response(id, resp, now())),
            Wake::Token(token) => inputs.push(Input::Token(token, now())),
            Wake::Orphan(owner, token) => {
                // Fed to its own driver; no execution waits for it (an error is recorded there).
                let _ = owner.lock().handle_token(token, now());
            }
            Wake::Timer => {}
        }
        drained = shared.turn(guard.exec, &mut inputs, now(), &mut turn);
    }
}

/// Waits until the head phase in `head` (of attempt `head_id`) or a task finishes (it is
/// removed and returned) or `until` passes. `timer` is the loop's timer, kept set across waits
/// (see `deadline`).
async fn wait<H: Future<Output = AttemptHead>>(
    tasks: &mut Tasks,
    mut head: Pin<&mut Option<H>>,
    head_id: &mut Option<AttemptId>,
    until: Option<Instant>,
    timer: &mut LoopTimer,
) -> Wake {
    poll_fn(|cx| {
        if let (Some(f), Some(id)) = (head.as_mut().as_pin_mut(), *head_id) {
            if let Poll::Ready(h) = f.poll(cx) {
                head.set(None);
                *head_id = None;
                return Poll::Ready(head_arrived(tasks, id, h));
            }
        }
        let mut i = 0;
        while let Some(task) = tasks.get_mut(i) {
            let ready = match task {
                Task::Head(id, f) => match poll(f, cx) {
                    Poll::Ready(h) => {
                        let id = *id;
                        drop(tasks.remove(i));
                        return Poll::Ready(head_arrived(tasks, id, h));
                    }
                    Poll::Pending => Poll::Pending,
                },
                Task::Body(id, f) => Pin::new(f).poll(cx).map(|r| Wake::Body(*id, r)),
                Task::Token(f) => poll(f, cx).map(Wake::Token),
                Task::Orphan(s, f) => poll(f, cx).map(|r| Wake::Orphan(s.clone(), r)),
            };
            if let Poll::Ready(wake) = ready {
                drop(tasks.remove(i));
                return Poll::Ready(wake);
            }
            i += 1;
        }
        if let Some(until) = until {
            if timer.poll_until(until, cx).is_ready() {
                return Poll::Ready(Wake::Timer);
            }
        }
        Poll::Pending
    })
    .await
}

/// What the loop learns when attempt `id`'s head phase ends: its body reader becomes a task
/// here, so the reader (large) moves once, into the list, instead of through the wake.
fn head_arrived(tasks: &mut Tasks, id: AttemptId, head: AttemptHead) -> Wake {
    match head {
        AttemptHead::Head { body } => {
            tasks.push(Task::Body(id, body));
            Wake::Headers(id)
        }
        AttemptHead::Failed(e) => Wake::HeadFailed(id, e),
    }
}

fn poll<T>(f: &mut BoxFuture<T>, cx: &mut std::task::Context<'_>) -> Poll<T> {
    f.as_mut().poll(cx)
}
