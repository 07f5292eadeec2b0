//! The fan-out: one page of a cross-partition query as an execution of executions (ADR 0005).
//!
//! The parent [`Execution`] owns child executions, one per logical sub-request: the query
//! plan request (which also fetches the container's routing map), then one page request per
//! partition key range the merge wants. Children are ordinary executions (policy table,
//! failover, hedging, session tokens per range, diagnostics), created unrecorded and without
//! metrics of their own. The parent forwards their actions, routes inputs by attempt id, and
//! ends with one `Done` whose body is the page (`{"Documents": [...]}`) and whose diagnostics
//! hold every child's requests.

// `Failure` carries a service answer by value; it is built once per failed page, so boxing it
// would only add an allocation to the error path of every point operation too.
#![allow(clippy::result_large_err)]

mod bulk;
mod change_feed;
mod children;
pub(crate) mod job;
pub(crate) mod merge;
pub(crate) mod order;
pub(crate) mod plan;
mod read_many;
mod state;

use std::time::Instant;

use serde_json::Value;

use super::{Execution, Failure};
use crate::action::Action;
use crate::driver::Driver;
use crate::error::{CosmosError, ErrorKind};
use crate::headers::ResponseHeaders;
use crate::ids::AttemptId;
use crate::now::Now;
use crate::operation::{CosmosOperation, OperationOptions};
use crate::response::CosmosResponse;

pub(crate) use state::FanoutState;

/// `x-ms-cosmos-supported-query-features` of the plan request: exactly what the merge
/// pipeline runs (PROTOCOL.md §7.2; a plan needing anything else is refused by the gateway).
pub const SUPPORTED_QUERY_FEATURES: &str = plan::SUPPORTED_QUERY_FEATURES;

/// Ranges queried at once when the caller sets no `max_concurrency`. Precedent: .NET
/// `QueryRequestOptions.MaxConcurrency` lets the SDK choose (it uses the processor count);
/// Java's default is the number of ranges capped by its thread pool. 16 keeps a page on a
/// large container bounded in sockets and memory while covering typical containers at once.
pub const DEFAULT_MAX_CONCURRENCY: usize = 16;

/// Items per page when the caller sets no `max_item_count` (the service's default, 100).
pub const DEFAULT_PAGE_ITEMS: usize = 100;

/// Bound on range splits followed within one page (a split storm cannot loop forever).
/// Precedent: .NET `PartitionKeyRangeGoneRetryPolicy` follows one split per request; a page
/// touches at most a few ranges' splits.
const MAX_SPLITS_PER_PAGE: u32 = 64;

/// Turns of one poll spent on a due job timer: each starts a child, so more than the
/// concurrency bound allows means the job and its timer disagree (a bug, reported).
const MAX_JOB_TURNS: u32 = 100_000;

#[derive(Debug)]
enum Role {
    /// The plan request (also resolves the routing map).
    Plan,
    /// A page of producer `i`, asked with this server continuation.
    Page {
        producer: usize,
        sent: Option<String>,
    },
    /// A child of a ReadMany or bulk job.
    Job(job::JobRole),
}

#[derive(Debug)]
struct Child {
    id: u32,
    role: Role,
    exec: Execution,
    started: Instant,
    /// The child returned `Wait` and nothing was fed to it since.
    waiting: Option<Option<Instant>>,
}

/// A page of a cross-partition query in progress.
#[derive(Debug)]
pub(crate) struct Fanout {
    /// The caller's operation and options (continuation consumed into `state`).
    pub op: CosmosOperation,
    pub opts: OperationOptions,
    /// The query's state between pages (the pager takes it back after `Done`).
    pub state: Option<Box<FanoutState>>,
    children: Vec<Child>,
    next_child: u32,
    /// Attempt id -> child id, for routing inputs.
    owners: Vec<(AttemptId, u32)>,
    /// The child that asked for a token, if one is outstanding.
    token_child: Option<u32>,
    /// Items of this page, in order.
    page: Vec<Value>,
    page_size: usize,
    max_concurrency: usize,
    splits: u32,
    query_metrics: Option<String>,
    index_metrics: Option<String>,
    /// A ReadMany or bulk job instead of a query page (`state` is then `None`).
    pub(crate) job: Option<Box<job::Job>>,
}

impl Fanout {
    pub fn new(op: CosmosOperation, opts: OperationOptions, state: Box<FanoutState>) -> Fanout {
        let mut f = Fanout::new_empty(op, opts);
        f.state = Some(state);
        f
    }

    fn new_empty(op: CosmosOperation, mut opts: OperationOptions) -> Fanout {
        let page_size = opts
            .max_item_count
            .map_or(DEFAULT_PAGE_ITEMS, |n| n as usize);
        let max_concurrency = opts.max_concurrency.unwrap_or(DEFAULT_MAX_CONCURRENCY);
        opts.continuation = None;
        Fanout {
            op,
            opts,
            state: None,
            children: Vec::new(),
            next_child: 0,
            owners: Vec::new(),
            token_child: None,
            page: Vec::new(),
            page_size: page_size.max(1),
            max_concurrency: max_concurrency.max(1),
            splits: 0,
            query_metrics: None,
            index_metrics: None,
            job: None,
        }
    }

    fn is_job(&self) -> bool {
        self.job.is_some()
    }

    fn owner(&self, attempt: AttemptId) -> Option<usize> {
        let id = self.owners.iter().find(|(a, _)| *a == attempt)?.1;
        self.children.iter().position(|c| c.id == id)
    }
}

impl Execution {
    /// `poll` of a fan-out parent.
    pub(super) fn fanout_poll(&mut self, d: &mut Driver, now: Now) -> Action {
        let now = self.clamp(now);
        let mut job_turns = 0u32;
        loop {
            if let Some(a) = self.queued_or_done(d, now.mono) {
                return a;
            }
            if self.timers.expired(super::Timer::Operation, now.mono) {
                let msg = format!(
                    "end-to-end timeout of {:?} elapsed during a cross-partition query page",
                    self.end_to_end.unwrap_or_default()
                );
                self.fanout_fail(d, Failure::Timeout(msg, None), now);
                continue;
            }
            let job = self.fanout.as_ref().is_some_and(|f| f.is_job());
            let scheduled = if job {
                self.job_schedule(d, now)
            } else {
                self.fanout_schedule(d, now)
            };
            if let Err(f) = scheduled {
                self.fanout_fail(d, f, now);
                continue;
            }
            if job && self.job_complete() {
                self.job_finish(now);
                continue;
            }
            if !job && self.fanout_page_complete() {
                self.fanout_finish(d, now);
                continue;
            }
            // Poll children until one has something to do.
            let mut earliest: Option<Instant> = None;
            let finished = {
                let Some(f) = self.fanout.as_mut() else {
                    return self.internal_action(d, "fan-out state vanished", now);
                };
                let mut finished = None;
                let mut i = 0;
                while i < f.children.len() {
                    if let Some(w) = f.children[i].waiting {
                        // Nothing fed since its last Wait: it still waits, unless its timer is due.
                        if w.is_none_or(|at| at > now.mono) {
                            earliest = min_opt(earliest, w);
                            i += 1;
                            continue;
                        }
                    }
                    let child = &mut f.children[i];
                    match child.exec.poll(d, now) {
                        Action::Send(req) => {
                            f.owners.push((req.attempt, child.id));
                            return Action::Send(req);
                        }
                        Action::Abort(id) => return Action::Abort(id),
                        Action::AcquireToken { scopes } => {
                            f.token_child = Some(child.id);
                            return Action::AcquireToken { scopes };
                        }
                        Action::Wait { until } => {
                            child.waiting = Some(until);
                            earliest = min_opt(earliest, until);
                            i += 1;
                        }
                        Action::Done(outcome) => {
                            let child = f.children.remove(i);
                            f.owners.retain(|(_, c)| *c != child.id);
                            if f.token_child == Some(child.id) {
                                f.token_child = None;
                            }
                            finished = Some((child, outcome));
                            break;
                        }
                    }
                }
                finished
            };
            if let Some((child, outcome)) = finished {
                self.report.bytes_sent = self
                    .report
                    .bytes_sent
                    .saturating_add(child.exec.report.bytes_sent);
                self.report.bytes_received = self
                    .report
                    .bytes_received
                    .saturating_add(child.exec.report.bytes_received);
                let diag = match &outcome {
                    Ok(r) => r.diagnostics().clone(),
                    Err(e) => e.diagnostics().clone(),
                };
                self.diag.absorb(&diag, child.started);
                if let Err(failure) = self.fanout_child_done(d, child.role, outcome, now) {
                    self.fanout_fail(d, failure, now);
                }
                continue;
            }
            let deadline = self.timers.get(super::Timer::Operation);
            // A job's own timer (a throttled bulk operation's retry-after) counts only when a
            // child could start: with every slot busy, a child's end polls again anyway.
            let room = self
                .fanout
                .as_ref()
                .is_some_and(|f| f.children.len() < f.max_concurrency);
            let job_wake = if room { self.job_wake() } else { None };
            if job_wake.is_some_and(|at| at <= now.mono) {
                // Due: `job_schedule` starts it on the next turn (it uses the same test).
                job_turns += 1;
                if job_turns > MAX_JOB_TURNS {
                    return self.internal_action(d, "a due job timer started nothing", now);
                }
                continue;
            }
            return Action::Wait {
                until: min_opt(earliest, min_opt(job_wake, deadline)),
            };
        }
    }

    /// Routes an input of a fan-out parent to the child that owns `attempt`.
    pub(super) fn fanout_child_for(&mut self, attempt: AttemptId) -> Option<&mut Execution> {
        let f = self.fanout.as_mut()?;
        let i = f.owner(attempt)?;
        let child = &mut f.children[i];
        child.waiting = None;
        Some(&mut child.exec)
    }

    /// The child that asked for a token (or none: the driver takes it).
    pub(super) fn fanout_token_child(&mut self) -> Option<&mut Execution> {
        let f = self.fanout.as_mut()?;
        let id = f.token_child.take()?;
        let child = f.children.iter_mut().find(|c| c.id == id)?;
        child.waiting = None;
        Some(&mut child.exec)
    }

    /// Starts the children the page needs: the plan first, then pages of wanted producers.
    fn fanout_schedule(&mut self, d: &mut Driver, now: Now) -> Result<(), Failure> {
        let planless = self.fanout.as_ref().is_some_and(|f| {
            f.children.is_empty() && f.state.as_ref().is_some_and(|s| s.plan.is_none())
        });
        if planless {
            self.fanout_cached_plan(d)?;
        }
        let (need_plan, wanted) = {
            let Some(f) = self.fanout.as_mut() else {
                return Ok(());
            };
            let Some(state) = f.state.as_mut() else {
                return Ok(());
            };
            // Rows buffered by earlier pages (or by read-ahead) go out first.
            if state.plan.is_some() {
                let room = f.page_size.saturating_sub(f.page.len());
                f.page.extend(state.pop(room).map_err(Failure::Metadata)?);
            }
            if state.plan.is_none() {
                (f.children.is_empty(), Vec::new())
            } else if f.page.len() >= f.page_size
                || state.merge_done()
                || !state.next_fits(f.page_size.saturating_sub(f.page.len()), f.page.is_empty())
            {
                // The page is full: let what is in flight finish, start nothing new.
                (false, Vec::new())
            } else {
                let busy: Vec<usize> = f
                    .children
                    .iter()
                    .filter_map(|c| match c.role {
                        Role::Page { producer, .. } => Some(producer),
                        Role::Plan | Role::Job(_) => None,
                    })
                    .collect();
                let room = f.max_concurrency.saturating_sub(busy.len());
                let wanted = state
                    .wanted()
                    .into_iter()
                    .filter(|p| !busy.contains(p))
                    .take(room)
                    .collect();
                (false, wanted)
            }
        };
        if need_plan {
            let exec = self.fanout_plan_child(d, now)?;
            self.fanout_adopt(exec, Role::Plan, now);
        }
        for producer in wanted {
            let (exec, sent) = self.fanout_page_child(d, producer, now)?;
            self.fanout_adopt(exec, Role::Page { producer, sent }, now);
        }
        Ok(())
    }

    fn fanout_adopt(&mut self, exec: Execution, role: Role, now: Now) {
        if let Some(f) = self.fanout.as_mut() {
            let id = f.next_child;
            f.next_child = f.next_child.wrapping_add(1);
            f.children.push(Child {
                id,
                role,
                exec,
                started: now.mono,
                waiting: None,
            });
        }
    }

    /// A child finished: take in its plan or page.
    fn fanout_child_done(
        &mut self,
        d: &mut Driver,
        role: Role,
        outcome: Result<CosmosResponse, CosmosError>,
        now: Now,
    ) -> Result<(), Failure> {
        match role {
            Role::Job(r) => self.job_child_done(d, r, outcome, now),
            Role::Plan => {
                let response = outcome.map_err(child_failure)?;
                self.fanout_take_plan(d, &response)
            }
            Role::Page { producer, sent } => match outcome {
                Ok(response) => self.fanout_take_page(producer, sent, &response),
                Err(e) if gone(&e) => self.fanout_split(d, producer, now),
                Err(e) => Err(child_failure(e)),
            },
        }
    }

    fn fanout_take_page(
        &mut self,
        producer: usize,
        sent: Option<String>,
        response: &CosmosResponse,
    ) -> Result<(), Failure> {
        let headers = response.headers();
        let next = headers
            .continuation()
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let rows = plan::page_rows(response.response_bytes()).map_err(Failure::Metadata)?;
        let Some(f) = self.fanout.as_mut() else {
            return Ok(());
        };
        if f.query_metrics.is_none() {
            f.query_metrics = headers
                .get_str(&crate::headers::names::QUERY_METRICS)
                .map(str::to_owned);
        }
        if f.index_metrics.is_none() {
            f.index_metrics = headers
                .get_str(&crate::headers::names::INDEX_METRICS)
                .map(str::to_owned);
        }
        let Some(state) = f.state.as_mut() else {
            return Ok(());
        };
        state
            .take_page(producer, sent, next, rows)
            .map_err(Failure::Metadata)?;
        let room = f.page_size.saturating_sub(f.page.len());
        f.page.extend(state.pop(room).map_err(Failure::Metadata)?);
        Ok(())
    }

    /// True when the page can be returned: full (or the query is done) and nothing in flight.
    fn fanout_page_complete(&self) -> bool {
        let Some(f) = self.fanout.as_ref() else {
            return false;
        };
        let Some(state) = f.state.as_ref() else {
            return false;
        };
        let room = f.page_size.saturating_sub(f.page.len());
        state.plan.is_some()
            && f.children.is_empty()
            && (f.page.len() >= f.page_size
                || state.merge_done()
                || !state.next_fits(room, f.page.is_empty()))
    }

    fn fanout_finish(&mut self, d: &mut Driver, now: Now) {
        let Some(f) = self.fanout.as_mut() else {
            return;
        };
        let items = std::mem::take(&mut f.page);
        let count = items.len();
        let body = serde_json::json!({ "Documents": items, "_count": count });
        let body = bytes::Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let mut raw = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(&format!("{}", self.diag.total_charge())) {
            raw.insert(crate::headers::names::REQUEST_CHARGE, v);
        }
        raw.insert(
            crate::headers::names::ITEM_COUNT,
            http::HeaderValue::from(count),
        );
        // The page's continuation is Sextant's own token (ADR 0005), so even a page run through
        // `execute_operation` can be resumed. No token: the last page, or a query that cannot
        // resume from one (an unordered DISTINCT, an aggregate mid-way); the pager continues it
        // from its state.
        if let Some(Ok(Some(token))) = f.state.as_ref().map(|s| s.token()) {
            if let Ok(v) = http::HeaderValue::from_str(&token) {
                raw.insert(crate::headers::names::CONTINUATION, v);
            }
        }
        for (name, v) in [
            (crate::headers::names::QUERY_METRICS, f.query_metrics.take()),
            (crate::headers::names::INDEX_METRICS, f.index_metrics.take()),
        ] {
            if let Some(v) = v.and_then(|v| http::HeaderValue::from_str(&v).ok()) {
                raw.insert(name, v);
            }
        }
        let diagnostics = self.diag.finish(now.mono, Some(200), None);
        let _ = d; // the page itself changes no driver state
        self.outcome = Some(Ok(CosmosResponse::new(
            200,
            ResponseHeaders::parse(raw),
            body,
            diagnostics,
        )));
    }

    /// Ends the page with `failure` (its children are aborted by `finish`).
    fn fanout_fail(&mut self, d: &mut Driver, failure: Failure, now: Now) {
        self.finish(d, Err(failure), now.mono);
    }

    /// Aborts every child's attempts (their `Abort`s become the parent's) and keeps what their
    /// diagnostics recorded.
    pub(super) fn fanout_abort_children(&mut self, d: &mut Driver, now: Instant) {
        let Some(f) = self.fanout.as_mut() else {
            return;
        };
        let children = std::mem::take(&mut f.children);
        f.owners.clear();
        f.token_child = None;
        for mut child in children {
            child.exec.abort_all(d, now);
            self.pending.extend(child.exec.pending.drain(..));
            let diag = match child.exec.outcome.as_ref() {
                Some(Ok(r)) => r.diagnostics().clone(),
                Some(Err(e)) => e.diagnostics().clone(),
                None => child.exec.diag.finish(now, None, None),
            };
            self.diag.absorb(&diag, child.started);
        }
    }

    fn internal_action(&mut self, d: &mut Driver, what: &str, now: Now) -> Action {
        let _ = self.internal(d, what.to_string(), now);
        match &self.outcome {
            Some(o) => Action::Done(o.clone()),
            None => Action::Wait { until: None },
        }
    }
}

/// A child failed because its partition key range is gone (split, merge, migration): the
/// parent routes the child's work again ([`crate::policy::table::partition_gone`]).
fn gone(e: &CosmosError) -> bool {
    e.status()
        .is_some_and(|s| crate::policy::table::partition_gone(s, e.sub_status()))
}

/// A child's error as the page's failure: the child already applied every retry rule.
fn child_failure(e: CosmosError) -> Failure {
    match e.kind() {
        ErrorKind::Service => match (e.status(), e.headers()) {
            (Some(status), Some(h)) => Failure::Service {
                status,
                headers: Box::new(h.clone()),
                body: e.body().clone(),
            },
            _ => Failure::Metadata(e.message().to_string()),
        },
        ErrorKind::Transport => match e.transport_error() {
            Some(t) => Failure::Transport(t.clone()),
            None => Failure::Metadata(e.message().to_string()),
        },
        ErrorKind::Timeout => {
            Failure::Timeout(e.message().to_string(), e.transport_error().cloned())
        }
        ErrorKind::Configuration => match e.config_error() {
            Some(c) => Failure::Config(c.clone()),
            None => Failure::Metadata(e.message().to_string()),
        },
        ErrorKind::Credential => {
            Failure::Credential(crate::credential::CredentialError::new(e.message()))
        }
        _ => Failure::Internal(e.message().to_string()),
    }
}

fn min_opt(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
