//! `Execution`: one logical operation across all of its attempts.
//!
//! Inputs (`handle_*`) return `()`; outcomes come out of [`Execution::poll`]. Unknown or late
//! attempt ids are ignored (and counted in diagnostics). Time never runs backwards: every `now`
//! is clamped to the latest seen.

pub(crate) mod fanout;
mod finish;
mod inputs;
mod prepared;
mod retry;
mod routing;
mod start;
mod timer;
mod token;
mod tracking;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::action::Action;
use crate::credential::{AccessToken, Credential, CredentialError};
use crate::diagnostics::{DiagnosticsBuilder, ExecutionContext};
use crate::driver::{Driver, LEASE_RECHECK_INTERVAL, TOKEN_REFRESH_OFFSET};
use crate::error::{ConfigError, CosmosError, ErrorKind};
use crate::headers::ResponseHeaders;
use crate::ids::{ActivityId, AttemptId};
use crate::leases::Lease;
use crate::models::AccountProperties;
use crate::now::{clamp_wall, instant_after, Now};
use crate::operation::{CosmosOperation, OperationOptions};
use crate::policy::{
    decide, decide_in, Budget, Budgets, DelayRule, Effects, Floor, Reaction, Route, Signal,
    Situation,
};
use crate::regions::circuit_breaker::PartitionRegion;
use crate::regions::{BreakerState, RegionRoute};
use crate::request::{OutgoingRequest, Purpose};
use crate::response::CosmosResponse;
use crate::transport::{RequestEvent, RequestEventKind, RequestSent, Response, TransportError};

use prepared::Prepared;
use timer::{Timer, TimerTable};

/// Delay on 429 when the service sent no (or a zero) `x-ms-retry-after-ms`. Precedent: .NET
/// `ResourceThrottleRetryPolicy.DefaultRetryInSeconds` and Java `DEFAULT_RETRY_IN_SECONDS` = 5 s.
pub const DEFAULT_THROTTLE_DELAY: Duration = Duration::from_secs(5);
/// Endpoint-failover interval after the first failover retry (.NET/Java `RetryIntervalInMS`).
pub const FAILOVER_RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// Jitter added to retry-after waits: [0, 5) ms (PROTOCOL.md §4 "small jitter").
const RETRY_JITTER_MS: u64 = 5;

#[derive(Debug, Clone)]
struct InFlight {
    id: AttemptId,
    started: Instant,
    endpoint: Arc<str>,
    purpose: Purpose,
    deadline: Instant,
    slot: Option<usize>,
    sent: RequestSent,
    hedge: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Decide and emit the next attempt.
    Ready,
    /// Attempts are in flight; wait for answers.
    InFlight,
    /// Waiting for the backoff timer.
    Backoff,
}

/// Why an execution failed, before diagnostics are attached.
enum Failure {
    Service {
        status: u16,
        headers: ResponseHeaders,
        body: Bytes,
    },
    Transport(TransportError),
    Timeout(String, Option<TransportError>),
    Credential(CredentialError),
    Config(ConfigError),
    Metadata(String),
    /// A broken invariant of the core itself (never the caller's or the service's fault).
    Internal(String),
}

/// Where an operation's attempts go across regions (the state `resolve_route` keeps).
#[derive(Debug, Default)]
struct RegionState {
    /// Where the last operation attempt went.
    current: Option<RegionRoute>,
    /// Every endpoint this execution tried (bounded by `MAX_TRIED`).
    tried: Vec<Arc<str>>,
    /// Where the next attempt goes, as the policy table said.
    next: Route,
    /// The operation goes to write regions.
    write_regions: bool,
    /// Regions the caller excluded.
    excluded: Vec<String>,
    /// The current attempt probes a partition whose circuit breaker was open.
    probing: bool,
    /// Send the hub-region-only header (404/1002, second retry).
    hub_only: bool,
}

/// The retry budgets and what the retries may have applied.
#[derive(Debug, Default)]
struct RetryState {
    budgets: Budgets,
    /// An operation attempt that may have been applied was retried.
    maybe_applied: bool,
}

/// Hedging asked for (operation option over driver option), and hedges sent.
#[derive(Debug, Default)]
struct HedgeState {
    enabled: bool,
    sent: u32,
}

/// Shared-metadata work of this execution.
#[derive(Debug, Default)]
struct MetaState {
    /// The prepared `GET /`, built on first use.
    account_read: Option<Prepared>,
    /// Account reads this execution sent (it may retry its own refresh under its lease).
    account_attempts: Vec<AttemptId>,
    /// Which account-read candidate the next read goes to.
    account_read_index: usize,
    /// The token acquisition lease this execution took, if any.
    token_holder: Option<AttemptId>,
}

/// Tracked writes (opt-in): how to recognise our own earlier success.
#[derive(Debug, Default)]
struct TrackingState {
    check: Option<tracking::Tracking>,
    /// The 409/412 being checked against the tracking id.
    failure: Option<Failure>,
    /// The read-back is due.
    pending: bool,
}

/// What the metrics get once the outcome is known.
#[derive(Debug, Default)]
struct ReportState {
    /// Recorded once.
    metrics_recorded: bool,
    bytes_sent: u64,
    bytes_received: u64,
}

/// One operation in progress. Drive it with the drain loop documented at the crate root.
#[derive(Debug)]
pub struct Execution {
    op: Option<Prepared>,
    activity_header: http::HeaderValue,
    last_mono: Instant,
    timers: TimerTable,
    diag: DiagnosticsBuilder,
    in_flight: Vec<InFlight>,
    phase: Phase,
    /// Where the operation's attempts go across regions.
    regions: RegionState,
    /// The retry budgets and what the retries may have applied.
    retry: RetryState,
    /// Hedging asked for, and hedges sent.
    hedge: HedgeState,
    /// Account metadata and token fetches this execution made.
    meta: MetaState,
    /// Partition routing of an item operation.
    routing: routing::RoutingState,
    /// Tracked write (opt-in): how to recognise our own earlier success.
    tracked: TrackingState,
    /// What is reported to metrics once the outcome is known.
    report: ReportState,
    pending: VecDeque<Action>,
    outcome: Option<Result<CosmosResponse, CosmosError>>,
    attempts: u64,
    end_to_end: Option<Duration>,
    /// A multi-request operation (a cross-partition query page): its children (ADR 0005).
    fanout: Option<Box<fanout::Fanout>>,
    /// Inputs and polls go to the replay recorder (false for a fan-out's children, which
    /// replay reproduces from their parent's).
    recorded: bool,
}

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Failure")
    }
}

impl Execution {
    pub(crate) fn new(
        d: &mut Driver,
        op: CosmosOperation,
        opts: OperationOptions,
        activity_id: ActivityId,
        now: Now,
    ) -> Self {
        let end_to_end = opts.end_to_end_timeout.or(d.eff.end_to_end_timeout);
        // A query across partitions is a fan-out of per-range requests (ADR 0005).
        let fanout = if op.kind == crate::operation::OperationKind::Query
            && op.partition_key.is_none()
            && opts.query_role == crate::operation::options::QueryRole::Plain
        {
            Some(fanout::FanoutState::new(&op, &opts).map(|s| (op.clone(), opts.clone(), s)))
        } else {
            None
        };
        let prepared = Prepared::new(d, op, &opts, activity_id.header_value());
        let mut e = Execution {
            op: None,
            activity_header: activity_id.header_value(),
            last_mono: now.mono,
            timers: TimerTable::default(),
            diag: DiagnosticsBuilder::new(activity_id, now.mono),
            in_flight: Vec::new(),
            phase: Phase::Ready,
            regions: RegionState {
                excluded: opts.excluded_regions.clone(),
                ..RegionState::default()
            },
            retry: RetryState::default(),
            hedge: HedgeState {
                enabled: opts.hedging.unwrap_or(d.eff.hedging.enabled),
                sent: 0,
            },
            meta: MetaState::default(),
            routing: routing::RoutingState::default(),
            tracked: TrackingState::default(),
            report: ReportState::default(),
            pending: VecDeque::new(),
            outcome: None,
            attempts: 0,
            end_to_end,
            fanout: None,
            recorded: true,
        };
        match fanout {
            Some(Ok((op, opts, state))) => {
                e.fanout = Some(Box::new(fanout::Fanout::new(op, opts, Box::new(state))));
            }
            Some(Err(c)) => {
                e.finish(d, Err(Failure::Config(c)), now.mono);
                return e;
            }
            None => {}
        }
        e.diag
            .set_max_summary_size(d.eff.diagnostics.max_summary_size_bytes());
        if let Some(t) = end_to_end {
            // `Duration::MAX` (or anything past the platform's range) means no deadline.
            if let Some(at) = now.mono.checked_add(t) {
                e.timers.set(Timer::Operation, at);
            }
        }
        match prepared {
            Ok((p, tracking)) => {
                e.regions.write_regions = p.uses_write_regions();
                e.op = Some(p);
                e.tracked.check = tracking;
            }
            Err(c) => e.finish(d, Err(Failure::Config(c)), now.mono),
        }
        e
    }

    /// The activity id sent with every attempt of this operation.
    pub fn activity_id(&self) -> ActivityId {
        self.diag.activity_id()
    }

    /// True once `poll` returns `Done`.
    pub fn is_done(&self) -> bool {
        self.outcome.is_some()
    }

    /// Attempts currently in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Attempts sent so far (metadata reads included).
    pub fn attempts(&self) -> u64 {
        self.attempts
    }

    /// The operation's end-to-end deadline, if it has one.
    pub fn deadline(&self) -> Option<Instant> {
        self.timers.get(Timer::Operation)
    }

    /// A sub-request of a multi-request operation (ADR 0005): same activity id and deadline as
    /// its `parent`, no recording and no metrics of its own (the parent has both).
    pub(crate) fn child(
        d: &mut Driver,
        op: CosmosOperation,
        opts: OperationOptions,
        parent: &Execution,
        now: Now,
    ) -> Execution {
        let activity = parent.diag.activity_id();
        let mut child = Execution::new(d, op, opts, activity, now);
        child.recorded = false;
        child.report.metrics_recorded = true;
        if let Some(deadline) = parent.timers.get(Timer::Operation) {
            child.timers.set(Timer::Operation, deadline);
            child.end_to_end = parent.end_to_end;
        }
        child
    }

    /// A cross-partition query page continues from `state` (the pager's, ADR 0005). Recorded,
    /// so a replay starts the page from the same state.
    pub(crate) fn attach_fanout_state(
        &mut self,
        d: &mut Driver,
        state: Box<fanout::FanoutState>,
        now: Now,
    ) {
        if let (Some(r), true) = (d.recorder.as_mut(), self.recorded) {
            r.fanout_state(self.activity_id(), state.to_json(), now);
        }
        if let Some(f) = self.fanout.as_mut() {
            f.state = Some(state);
        }
    }

    /// After `Done` of a cross-partition query page: the state for the next page.
    pub(crate) fn take_fanout_state(&mut self) -> Option<Box<fanout::FanoutState>> {
        self.fanout.as_mut()?.state.take()
    }

    fn clamp(&mut self, now: Now) -> Now {
        if now.mono > self.last_mono {
            self.last_mono = now.mono;
        }
        Now::new(self.last_mono, clamp_wall(now.wall))
    }

    /// The next thing to do. Call after `start` and after every `handle_*` until it returns
    /// `Wait` or `Done`; call again when `Wait { until }` passes.
    pub fn poll(&mut self, d: &mut Driver, now: Now) -> Action {
        // Replay recording hook.
        if d.recorder.is_none() || !self.recorded {
            return self.poll_unrecorded(d, now);
        }
        let action = self.poll_unrecorded(d, now);
        crate::replay::record_poll(d, self.activity_id(), &action, now);
        action
    }

    fn poll_unrecorded(&mut self, d: &mut Driver, now: Now) -> Action {
        if self.fanout.is_some() {
            return self.fanout_poll(d, now);
        }
        match self.poll_inner(d, now) {
            // Waiting for nothing that can arrive would hang the transport forever: that is a
            // bug in the core, reported loudly instead of as a hang or a cancel.
            Action::Wait { until: None } if self.in_flight.is_empty() => {
                let clamped = self.clamp(now);
                let what = "waited with no attempt in flight and no timer".to_string();
                let _ = self.internal(d, what, clamped);
                self.poll_inner(d, now)
            }
            action => action,
        }
    }

    fn poll_inner(&mut self, d: &mut Driver, now: Now) -> Action {
        let now = self.clamp(now);
        // Each turn either returns or makes progress (removes an attempt, clears a timer,
        // changes phase), so the loop is bounded.
        loop {
            if let Some(a) = self.pending.pop_front() {
                return a;
            }
            if let Some(out) = &self.outcome {
                let out = out.clone();
                if !self.report.metrics_recorded {
                    self.report.metrics_recorded = true;
                    self.record_metrics(d, &out, now.mono);
                }
                return Action::Done(out);
            }
            if self.timers.expired(Timer::Operation, now.mono) {
                let msg = format!(
                    "end-to-end timeout of {:?} elapsed after {} attempt(s)",
                    self.end_to_end.unwrap_or_default(),
                    self.attempts
                );
                self.finish(d, Err(Failure::Timeout(msg, None)), now.mono);
                continue;
            }
            if let Some(i) = self.in_flight.iter().position(|a| now.mono >= a.deadline) {
                let a = self.in_flight.remove(i);
                if a.hedge {
                    d.leases.release(a.id);
                }
                self.pending.push_back(Action::Abort(a.id));
                // A timed-out attempt may have been sent even if no event said so.
                let sent =
                    self.record_unanswered(&a, RequestSent::Unknown, "attempt timed out", now.mono);
                let err = TransportError::new(
                    crate::transport::TransportErrorKind::Timeout,
                    sent,
                    "attempt deadline passed",
                );
                self.after_failure(
                    d,
                    &a,
                    Signal::AttemptTimeout,
                    None,
                    Failure::Transport(err),
                    now,
                );
                continue;
            }
            match self.phase {
                Phase::InFlight => {
                    if self.in_flight.is_empty() {
                        self.phase = Phase::Ready;
                        continue;
                    }
                    if self.timers.expired(Timer::Hedge, now.mono) {
                        if let Some(a) = self.send_hedge(d, now) {
                            return a;
                        }
                        continue;
                    }
                    return Action::Wait {
                        until: self.wake_time(),
                    };
                }
                Phase::Backoff => {
                    if self.timers.expired(Timer::Backoff, now.mono) {
                        self.phase = Phase::Ready;
                        continue;
                    }
                    return Action::Wait {
                        until: self.wake_time(),
                    };
                }
                Phase::Ready => {
                    self.timers.stop(Timer::Recheck);
                    if let Some(a) = self.step(d, now) {
                        return a;
                    }
                }
            }
        }
    }

    fn wake_time(&self) -> Option<Instant> {
        let attempt = self.in_flight.iter().map(|a| a.deadline).min();
        match (self.timers.next(), attempt) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Emits the next attempt, or arranges to wait. `None` means the state changed: loop again.
    fn step(&mut self, d: &mut Driver, now: Now) -> Option<Action> {
        // 1. Entra ID token: every request, the account read included, needs one.
        if matches!(d.account.credential(), Credential::TokenCredential(_)) {
            if let Some(a) = self.token_step(d, now) {
                return Some(a);
            }
            if !self.pending.is_empty() {
                return None; // a background refresh was queued; emit it first
            }
        }
        // 2. Account metadata: read on first use and after a forced refresh.
        d.check_account_age(now.mono);
        let have_props = d.metadata.props.is_some();
        if !have_props || d.metadata.stale {
            // Free, expired, or ours (our own refresh attempt failed and is being retried).
            let lease_free = d.leases.account_free(now.mono, &self.meta.account_attempts);
            if lease_free {
                return self.send(d, Purpose::AccountRead, now);
            }
            if !have_props {
                return Some(self.wait_recheck(d.leases.account(), now));
            }
            // Stale but usable: another execution is refreshing it (stale-while-revalidate).
        }
        // 3. Partition routing (container properties and pk ranges) for item operations.
        if let Some(a) = self.routing_step(d, now) {
            return Some(a);
        }
        // 4. A tracked write answered 409/412 after a possibly applied attempt: read it back.
        if self.tracked.pending {
            self.tracked.pending = false;
            return self.send(d, Purpose::TrackingCheck, now);
        }
        // 5. The operation itself.
        self.send(d, Purpose::Operation, now)
    }

    fn wait_recheck(&mut self, lease: Option<Lease>, now: Now) -> Action {
        let mut at = instant_after(now.mono, LEASE_RECHECK_INTERVAL);
        if let Some(l) = lease {
            at = at.min(l.until);
        }
        self.timers.set(Timer::Recheck, at);
        Action::Wait {
            until: self.wake_time(),
        }
    }

    /// Routes and emits one attempt for `purpose`. `None`: the state changed instead (the
    /// execution finished or must re-plan); the poll loop goes round again.
    fn send(&mut self, d: &mut Driver, purpose: Purpose, now: Now) -> Option<Action> {
        if purpose == Purpose::Operation && self.op.is_none() {
            let c = ConfigError::InvalidOperation("no operation".into());
            self.finish(d, Err(Failure::Config(c)), now.mono);
            return None;
        }
        // Route and context first: they update this execution's routing state.
        let (route, ctx, timeout) = match purpose {
            Purpose::AccountRead => {
                // The global endpoint first, then the regions (a dead global endpoint must not
                // stop metadata refreshes).
                let candidates = d.locations.account_read_candidates();
                let route = candidates
                    .get(self.meta.account_read_index % candidates.len().max(1))
                    .cloned()
                    .unwrap_or_else(|| d.locations.global().clone());
                let ctx = if self.attempts == 0 {
                    ExecutionContext::Initial
                } else {
                    ExecutionContext::Retry
                };
                let timeout = metadata_timeout(d, self.meta.account_attempts.len());
                (route, ctx, timeout)
            }
            Purpose::Operation => {
                let route = self.resolve_route(d, now.mono);
                let ctx = self.context_for(&route);
                let ctx = if self.regions.probing {
                    ExecutionContext::CircuitBreakerProbe
                } else {
                    ctx
                };
                (route, ctx, d.eff.request_timeout)
            }
            Purpose::TrackingCheck => {
                let route = self
                    .regions
                    .current
                    .clone()
                    .unwrap_or_else(|| d.locations.global().clone());
                (route, ExecutionContext::Retry, d.eff.request_timeout)
            }
            Purpose::ContainerRead | Purpose::PkRangeRead => {
                // Routing reads walk the read regions on failure like operations do, but keep
                // their own state: they do not move the operation.
                let route = self
                    .routing
                    .resolve_route(d, &self.regions.excluded, now.mono);
                let ctx = if self.routing.attempts.is_empty() {
                    ExecutionContext::Initial
                } else {
                    ExecutionContext::Retry
                };
                (route, ctx, metadata_timeout(d, self.routing.failures))
            }
        };
        let action = self.emit(d, purpose, route, ctx, timeout, false, now)?;
        // Each attempt that starts alone (the first, or a retry) may be hedged.
        let alone = self
            .in_flight
            .iter()
            .filter(|a| a.purpose == Purpose::Operation)
            .count()
            == 1;
        if purpose == Purpose::Operation && alone {
            self.arm_hedging(d, now.mono);
        }
        Some(action)
    }

    /// Sends a hedge to the next region this execution has not tried, if the operation is
    /// eligible, under its per-operation limit and the driver's concurrency budget.
    fn send_hedge(&mut self, d: &mut Driver, now: Now) -> Option<Action> {
        if self.hedge.sent >= d.eff.hedging.max_hedges_per_operation {
            return None;
        }
        let candidates =
            d.locations
                .candidates(self.regions.write_regions, &self.regions.excluded, now.mono);
        let busy: Vec<&Arc<str>> = self.in_flight.iter().map(|a| &a.endpoint).collect();
        let route = candidates
            .iter()
            .find(|r| !self.regions.tried.contains(&r.endpoint) && !busy.contains(&&r.endpoint))?
            .clone();
        if !d.hedge_budget_available(now.mono) {
            return None;
        }
        if self.regions.tried.len() < MAX_TRIED {
            self.regions.tried.push(route.endpoint.clone());
        }
        self.hedge.sent += 1;
        self.timers
            .set(Timer::Hedge, instant_after(now.mono, d.eff.hedging.step));
        self.emit(
            d,
            Purpose::Operation,
            route,
            ExecutionContext::Hedging,
            d.eff.request_timeout,
            true,
            now,
        )
    }

    /// Arms the hedge timer after an operation's first attempt when hedging applies.
    fn arm_hedging(&mut self, d: &Driver, now: Instant) {
        let Some(p) = &self.op else { return };
        let eligible = self.hedge.enabled
            && (p.class.read_only
                || (d.eff.hedging.writes_on_multi_write && d.locations.multi_write()))
            && d.locations
                .has_alternatives(self.regions.write_regions, &self.regions.excluded);
        if eligible {
            self.timers
                .set(Timer::Hedge, instant_after(now, d.eff.hedging.threshold));
        }
    }

    /// Builds, records and returns one attempt. `None`: no attempt could be built and the
    /// state changed instead (finished, or routing given up); the poll loop goes round again.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        d: &mut Driver,
        purpose: Purpose,
        route: RegionRoute,
        ctx: ExecutionContext,
        timeout: Duration,
        hedge: bool,
        now: Now,
    ) -> Option<Action> {
        // What to send must exist before any id or lease is handed out.
        let missing = match purpose {
            Purpose::AccountRead => false,
            Purpose::Operation => self.op.is_none(),
            Purpose::TrackingCheck => self.tracked.check.is_none(),
            Purpose::ContainerRead | Purpose::PkRangeRead => self.routing.meta.is_none(),
        };
        if missing {
            let msg = format!(
                "{} attempt planned without a prepared request",
                purpose.as_str()
            );
            return self.internal(d, msg, now);
        }
        let id = d.next_attempt_id();
        if purpose == Purpose::AccountRead {
            d.leases.take_account(Lease {
                holder: id,
                until: instant_after(now.mono, d.eff.metadata_request_timeout),
            });
            self.meta.account_attempts.push(id);
        }
        if matches!(purpose, Purpose::ContainerRead | Purpose::PkRangeRead) {
            if let Some(link) = self
                .routing
                .meta
                .as_ref()
                .and_then(|m| m.container.as_ref())
                .map(|c| c.0.clone())
            {
                let until = instant_after(now.mono, d.eff.metadata_request_timeout);
                d.leases
                    .take_container(&link, Lease { holder: id, until }, now.mono);
            }
            self.routing.attempts.push(id);
        }
        let prepared = match purpose {
            Purpose::AccountRead => {
                let activity = self.activity_header.clone();
                &*self
                    .meta
                    .account_read
                    .get_or_insert_with(|| Prepared::account_read(d, activity))
            }
            // Checked at the top: `None` cannot happen here; were it to, it ends as `Internal`.
            Purpose::Operation => match &self.op {
                Some(p) => p,
                None => return self.internal(d, "operation vanished".into(), now),
            },
            Purpose::TrackingCheck => match &self.tracked.check {
                Some(t) => &t.check,
                None => return self.internal(d, "tracking check vanished".into(), now),
            },
            Purpose::ContainerRead | Purpose::PkRangeRead => match &self.routing.meta {
                Some(m) => m,
                None => return self.internal(d, "routing request vanished".into(), now),
            },
        };
        let url = prepared.url(&route);
        let tentative =
            purpose == Purpose::Operation && !prepared.class.read_only && d.locations.multi_write();
        let hub_only = self.regions.hub_only && purpose == Purpose::Operation;
        let range = if purpose == Purpose::Operation {
            self.routing.range.as_ref()
        } else {
            None
        };
        let headers = prepared.attempt_headers(d, now.wall, hub_only, tentative, range);
        let uri = url.parse::<http::Uri>();
        let (method, body) = (prepared.method.clone(), prepared.body.clone());
        let (headers, uri) = match (headers, uri) {
            (Ok(h), Ok(u)) => (h, u),
            (Err(_), _) if matches!(purpose, Purpose::ContainerRead | Purpose::PkRangeRead) => {
                // The credential cannot sign the container's metadata (a resource token scoped
                // to one item): go ahead unrouted rather than fail an operation that can succeed.
                if let Some(link) = self
                    .routing
                    .meta
                    .as_ref()
                    .and_then(|m| m.container.as_ref())
                {
                    d.containers.mark_unroutable(&link.0, now.mono);
                }
                d.leases.release(id);
                self.routing.done = true;
                self.phase = Phase::Ready;
                return None;
            }
            (Err(c), _) => {
                d.leases.release(id);
                self.finish(d, Err(Failure::Config(c)), now.mono);
                return None;
            }
            (_, Err(e)) => {
                d.leases.release(id);
                let c =
                    ConfigError::InvalidOperation(format!("cannot form a URL from {url:?}: {e}"));
                self.finish(d, Err(Failure::Config(c)), now.mono);
                return None;
            }
        };
        let mut deadline = instant_after(now.mono, timeout);
        if let Some(op_deadline) = self.timers.get(Timer::Operation) {
            deadline = deadline.min(op_deadline);
        }
        let slot = self
            .diag
            .start_attempt(id, purpose, ctx, route.name.clone(), url, now.mono);
        self.in_flight.push(InFlight {
            id,
            started: now.mono,
            endpoint: route.endpoint.clone(),
            purpose,
            deadline,
            slot,
            sent: RequestSent::NotSent,
            hedge,
        });
        if hedge {
            d.leases.take_hedge(Lease {
                holder: id,
                until: deadline,
            });
        }
        self.report.bytes_sent = self.report.bytes_sent.saturating_add(body.len() as u64);
        self.attempts += 1;
        self.phase = Phase::InFlight;
        Some(Action::Send(Box::new(OutgoingRequest {
            attempt: id,
            method,
            uri,
            headers,
            body,
            region: route.name,
            purpose,
            execution_context: ctx,
            deadline,
            max_response_bytes: d.eff.max_response_bytes,
        })))
    }

    /// Ends the execution with [`ErrorKind::Internal`]: an invariant of the core broke. The
    /// message names it; the poll loop goes round again and returns `Done`.
    fn internal(&mut self, d: &mut Driver, what: String, now: Now) -> Option<Action> {
        let msg = format!(
            "internal error: {what} (phase {:?}, {} attempt(s)); please report this with the \
             diagnostics",
            self.phase, self.attempts
        );
        self.finish(d, Err(Failure::Internal(msg)), now.mono);
        None
    }
}

impl Execution {
    /// After `Done`: the diagnostics to log, when the operation crossed a threshold of the
    /// driver's [`crate::diagnostics::DiagnosticsThresholds`] (latency, RU, failure) and the
    /// driver's log rate limiter allows another line. Transports hand the line to `tracing`.
    pub fn diagnostics_log_line(&self, d: &mut Driver, now: Now) -> Option<String> {
        use crate::diagnostics::{LogPermit, OperationSummary};
        let diagnostics = match self.outcome.as_ref()? {
            Ok(r) => r.diagnostics(),
            Err(e) if e.kind() == ErrorKind::Cancelled => return None,
            Err(e) => e.diagnostics(),
        };
        let point = self.op.as_ref().is_some_and(|p| {
            p.resource_type == crate::operation::ResourceType::Item && !p.kind.is_feed()
        });
        let options = &d.eff.diagnostics;
        let mut summary = OperationSummary::from_diagnostics(diagnostics, point);
        // The bodies this execution sent and received (every attempt), for the payload rule.
        summary.request_payload_bytes = self.report.bytes_sent;
        summary.response_payload_bytes = self.report.bytes_received;
        if !options.thresholds().exceeds(&summary) {
            return None;
        }
        match d.log_limiter.try_acquire(now.mono) {
            LogPermit::Suppressed => None,
            LogPermit::Allowed { suppressed } => {
                let json = diagnostics.to_json_string_with(options.default_verbosity(), options);
                Some(if suppressed > 0 {
                    format!("{json} ({suppressed} similar lines suppressed)")
                } else {
                    json
                })
            }
        }
    }

    /// Feeds the finished operation to the driver's metrics (cancellations are not outcomes of
    /// the service and are not recorded).
    fn record_metrics(
        &self,
        d: &mut Driver,
        out: &Result<CosmosResponse, CosmosError>,
        now: Instant,
    ) {
        let diagnostics = match out {
            Ok(r) => r.diagnostics(),
            Err(e) if e.kind() == ErrorKind::Cancelled => return,
            Err(e) => e.diagnostics(),
        };
        let Some(p) = &self.op else { return };
        let container = p.container.as_ref().map(|c| c.0.as_str()).unwrap_or("");
        let range = self.routing.range.as_ref().map(|r| r.0.as_str());
        let point = p.resource_type == crate::operation::ResourceType::Item && !p.kind.is_feed();
        let mut sample = crate::metrics::OperationSample::from_diagnostics(
            diagnostics,
            p.kind.as_str(),
            p.resource_type.token(),
            container,
            range,
            point,
        );
        sample.bytes_sent = self.report.bytes_sent;
        sample.bytes_received = self.report.bytes_received;
        d.metrics.record(&sample, now);
    }
}

/// Per-attempt timeouts of metadata reads (account, container, pk ranges): short first, so a
/// region that hangs costs a cold start half a second, not a minute. Precedent: .NET
/// `HttpTimeoutPolicyControlPlaneRetriableHotPath` (0.5 s, 5 s, 65 s); capped by
/// `metadata_request_timeout`.
const METADATA_TIMEOUTS: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(5),
    Duration::from_secs(65),
];

/// The timeout of a metadata read after `failures` failed ones.
fn metadata_timeout(d: &Driver, failures: usize) -> Duration {
    METADATA_TIMEOUTS[failures.min(METADATA_TIMEOUTS.len() - 1)].min(d.eff.metadata_request_timeout)
}

/// Bound on remembered tried endpoints (an account has at most a few dozen regions).
const MAX_TRIED: usize = 64;

impl Execution {
    /// Picks the endpoint for the next operation attempt, after any account refresh landed:
    /// the same region again, the first candidate this execution has not tried yet (walking
    /// every region before coming back), or the first write region.
    fn resolve_route(&mut self, d: &mut Driver, now: Instant) -> RegionRoute {
        let candidates = self.partition_candidates(d, now);
        let pick = match self.regions.next {
            Route::SameRegion => self
                .regions
                .current
                .clone()
                .filter(|r| candidates.contains(r))
                .or_else(|| candidates.first().cloned()),
            Route::NextRegion => candidates
                .iter()
                .find(|r| !self.regions.tried.contains(&r.endpoint))
                .cloned()
                .or_else(|| {
                    self.regions.tried.clear();
                    candidates.first().cloned()
                }),
            Route::WriteRegion => candidates.first().cloned(),
        }
        .unwrap_or_else(|| d.locations.global().clone());
        if !self.regions.tried.contains(&pick.endpoint) && self.regions.tried.len() < MAX_TRIED {
            self.regions.tried.push(pick.endpoint.clone());
        }
        self.regions.next = Route::SameRegion;
        self.regions.probing = false;
        if let Some(key) = self.breaker_key(&pick.endpoint) {
            if d.breaker.state(&key, now) == BreakerState::ProbeAllowed {
                d.breaker.probe_started(&key);
                self.regions.probing = true;
            }
        }
        pick
    }

    /// The breaker key of this operation's partition in the region at `endpoint`.
    pub(super) fn breaker_key(&self, endpoint: &Arc<str>) -> Option<PartitionRegion> {
        let (container, _) = self.op.as_ref()?.container.as_ref()?;
        let (range, _) = self.routing.range.as_ref()?;
        Some((container.clone(), range.clone(), endpoint.clone()))
    }

    /// Candidate regions for this operation: the location cache's order, with regions whose
    /// circuit breaker is open for this partition moved to the end. With per-partition
    /// automatic failover, a single-write account's writes for a partition whose write region
    /// is open may go to the other regions.
    fn partition_candidates(&self, d: &Driver, now: Instant) -> Vec<RegionRoute> {
        let mut candidates =
            d.locations
                .candidates(self.regions.write_regions, &self.regions.excluded, now);
        if !d.eff.circuit_breaker.enabled || self.routing.range.is_none() || d.breaker.is_empty() {
            return candidates;
        }
        let open = |r: &RegionRoute| {
            self.breaker_key(&r.endpoint)
                .is_some_and(|k| d.breaker.state(&k, now) == BreakerState::Open)
        };
        let ppaf = d
            .account_properties()
            .is_some_and(|p| p.per_partition_failover);
        if self.regions.write_regions
            && !d.locations.multi_write()
            && ppaf
            && candidates.first().is_some_and(open)
        {
            candidates = d.locations.candidates(false, &self.regions.excluded, now);
        }
        let (closed, opened): (Vec<_>, Vec<_>) = candidates.into_iter().partition(|r| !open(r));
        let mut out = closed;
        out.extend(opened);
        out
    }

    /// Initial for the first attempt, region failover when the endpoint changed, else retry.
    fn context_for(&mut self, route: &RegionRoute) -> ExecutionContext {
        let ctx = match &self.regions.current {
            None => ExecutionContext::Initial,
            Some(prev) if prev.endpoint != route.endpoint => ExecutionContext::RegionFailover,
            Some(_) => ExecutionContext::Retry,
        };
        self.regions.current = Some(route.clone());
        ctx
    }
}
