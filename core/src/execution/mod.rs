//! `Execution`: one logical operation across all of its attempts.
//!
//! Inputs (`handle_*`) return `()`; outcomes come out of [`Execution::poll`]. Unknown or late
//! attempt ids are ignored (and counted in diagnostics). Time never runs backwards: every `now`
//! is clamped to the latest seen.

mod claims;
pub(crate) mod fanout;
mod finish;
mod inputs;
mod point_headers;
mod prepared;
mod retry;
mod route;
mod routing;
mod send;
mod start;
mod state;
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
use route::{metadata_timeout, MAX_TRIED};
use state::{HedgeState, MetaState, RegionState, ReportState, RetryState, TrackingState};
use timer::{Timer, TimerTable};

/// Delay on 429 when the service sent no (or a zero) `x-ms-retry-after-ms`, unless
/// `DriverOptionsBuilder::throttle_fallback_delay` (the seed's `RetryOptions::initial_delay`)
/// sets another. Precedent: .NET `ResourceThrottleRetryPolicy.DefaultRetryInSeconds` and Java
/// `DEFAULT_RETRY_IN_SECONDS` = 5 s. The value is the options' default
/// ([`crate::options::driver_options::DEFAULT_THROTTLE_FALLBACK_DELAY`]).
pub const DEFAULT_THROTTLE_DELAY: Duration =
    crate::options::driver_options::DEFAULT_THROTTLE_FALLBACK_DELAY;
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
        /// Boxed: the headers are most of the variant's size, and failures are the rare path.
        headers: Box<ResponseHeaders>,
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

/// One operation in progress. Drive it with the drain loop documented at the crate root.
#[derive(Debug)]
pub struct Execution {
    op: Option<Prepared>,
    last_mono: Instant,
    timers: TimerTable,
    diag: DiagnosticsBuilder,
    /// Attempts in flight: one, or two with a hedge, nearly always (kept inline).
    in_flight: crate::drain::InlineList<InFlight, 2>,
    phase: Phase,
    /// Where the operation's attempts go across regions.
    regions: RegionState,
    /// The retry budgets and what the retries may have applied.
    retry: RetryState,
    /// Hedging asked for, and hedges sent.
    hedge: HedgeState,
    /// Account metadata and token fetches this execution made.
    meta: MetaState,
    /// The leases this execution holds on the driver's shared state.
    claims: claims::Claims,
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
    /// A partition-key-scoped query's first page (operation, options, token fingerprint): once
    /// routing knows the key definition, a prefix of a hierarchical key becomes a fan-out.
    prefix_check: Option<Box<(CosmosOperation, OperationOptions, String)>>,
    /// A ReadMany or bulk window: after routing it becomes a fan-out parent (`job_step`).
    job_op: Option<Box<(CosmosOperation, OperationOptions)>>,
    /// Inputs and polls go to the replay recorder (false for a fan-out's children, which
    /// replay reproduces from their parent's).
    recorded: bool,
}

/// What [`Execution::new`] computes before assembling the execution.
struct Parts {
    op: Option<Prepared>,
    check: Option<Box<tracking::Tracking>>,
    diag: DiagnosticsBuilder,
    timers: TimerTable,
    excluded: Vec<String>,
    hedging: Option<bool>,
    end_to_end: Option<Duration>,
    fanout: Option<Box<fanout::Fanout>>,
    prefix_check: Option<Box<(CosmosOperation, OperationOptions, String)>>,
    job_op: Option<Box<(CosmosOperation, OperationOptions)>>,
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
        mut opts: OperationOptions,
        activity_id: ActivityId,
        now: Now,
    ) -> Self {
        let end_to_end = opts.end_to_end_timeout.or(d.eff.end_to_end_timeout);
        // A query across partitions is a fan-out of per-range requests (ADR 0005).
        let fanout = if op.kind == crate::operation::OperationKind::Query
            && op.resource_type == crate::operation::ResourceType::Item
            && !op.raw
            && op.partition_key.is_none()
            && opts.query_role == crate::operation::options::QueryRole::Plain
        {
            Some(fanout::FanoutState::new(&op, &opts).map(|s| (op.clone(), opts.clone(), s)))
        } else {
            None
        };
        // The first page of a pk-scoped query may turn out to be a hierarchical-key prefix.
        let prefix_check = opts
            .prefix_check
            .clone()
            .map(|fp| Box::new((op.clone(), opts.clone(), fp)));
        // A change-feed page is a job; its per-range requests (with change-feed headers) are not.
        let job_op = (fanout::job::is_job(op.kind) && opts.change_feed.is_none())
            .then(|| Box::new((op.clone(), opts.clone())));
        let activity_header = d.header_values.activity_id(&activity_id);
        // Not a header input: moved out rather than cloned, the rest goes to `Prepared`.
        let excluded = std::mem::take(&mut opts.excluded_regions);
        let hedging = opts.hedging;
        // The operation's attempts send this value; metadata reads (rare: cold caches) cut
        // their own from the id (`metadata_activity_header`), so the execution keeps no copy.
        let prepared = Prepared::new(d, op, opts, activity_id, activity_header);
        let fanout = match fanout {
            Some(Ok((op, opts, state))) => {
                Some(Box::new(fanout::Fanout::new(op, opts, Box::new(state))))
            }
            Some(Err(c)) => {
                let mut e = Execution::assemble(
                    d,
                    Parts {
                        op: None,
                        check: None,
                        diag: DiagnosticsBuilder::new(activity_id, now.mono),
                        timers: TimerTable::default(),
                        excluded,
                        hedging,
                        end_to_end,
                        fanout: None,
                        prefix_check,
                        job_op,
                    },
                    now,
                );
                e.finish(d, Err(Failure::Config(c)), now.mono);
                return e;
            }
            None => None,
        };
        let mut diag = DiagnosticsBuilder::new(activity_id, now.mono);
        diag.set_max_summary_size(d.eff.diagnostics.max_summary_size_bytes());
        let mut timers = TimerTable::default();
        if let Some(t) = end_to_end {
            // `Duration::MAX` (or anything past the platform's range) means no deadline.
            if let Some(at) = now.mono.checked_add(t) {
                timers.set(Timer::Operation, at);
            }
        }
        let mut parts = Parts {
            op: None,
            check: None,
            diag,
            timers,
            excluded,
            hedging,
            end_to_end,
            fanout,
            prefix_check,
            job_op,
        };
        match prepared {
            // The usual case: the execution is built in the place it is returned to.
            Ok((p, tracking)) => {
                parts.op = Some(p);
                parts.check = tracking;
                Execution::assemble(d, parts, now)
            }
            Err(c) => {
                let mut e = Execution::assemble(d, parts, now);
                e.finish(d, Err(Failure::Config(c)), now.mono);
                e
            }
        }
    }

    /// The execution made of `parts`, in its initial state.
    #[inline(always)]
    fn assemble(d: &Driver, parts: Parts, now: Now) -> Execution {
        let write_regions = parts.op.as_ref().is_some_and(Prepared::uses_write_regions);
        Execution {
            op: parts.op,
            last_mono: now.mono,
            timers: parts.timers,
            diag: parts.diag,
            in_flight: crate::drain::InlineList::new(),
            phase: Phase::Ready,
            regions: RegionState::new(parts.excluded, write_regions),
            retry: RetryState::default(),
            hedge: HedgeState {
                enabled: parts.hedging.unwrap_or(d.eff.hedging.enabled),
                sent: 0,
            },
            meta: MetaState::default(),
            claims: claims::Claims::default(),
            routing: routing::RoutingState {
                // A job groups its items by range: it needs the routing map.
                want_map: parts.job_op.is_some(),
                ..routing::RoutingState::default()
            },
            tracked: TrackingState {
                check: parts.check,
                ..TrackingState::default()
            },
            report: ReportState::default(),
            pending: VecDeque::new(),
            outcome: None,
            attempts: 0,
            end_to_end: parts.end_to_end,
            fanout: parts.fanout,
            prefix_check: parts.prefix_check,
            job_op: parts.job_op,
            recorded: true,
        }
    }

    /// The activity id sent with every attempt of this operation.
    pub fn activity_id(&self) -> ActivityId {
        self.diag.activity_id()
    }

    /// The `x-ms-activity-id` value of a metadata read this execution makes (the operation's
    /// id, as every attempt of the operation sends).
    pub(crate) fn metadata_activity_header(&self, d: &mut Driver) -> http::HeaderValue {
        d.header_values.activity_id(&self.diag.activity_id())
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
    /// The operation of a fan-out that started as a partition-key-scoped query (a
    /// hierarchical-key prefix found by routing), scoped to the prefix's feed range.
    pub(crate) fn fanout_operation(&self) -> Option<CosmosOperation> {
        let f = self.fanout.as_ref()?;
        f.op.feed_range.as_ref()?;
        Some(f.op.clone())
    }

    /// After routing read the key definition: a prefix key turns this execution into the
    /// fan-out over the prefix's range (nothing was sent for the query itself yet).
    fn prefix_step(&mut self, d: &mut Driver, now: Now) -> Option<Action> {
        let (op, opts, fp) = *self.prefix_check.take()?;
        let link = op.container().map(|c| c.link_arc().clone())?;
        let def = d.containers.get(&link)?.partition_key.clone();
        let scoped = crate::feed::prefix_scoped(&op, &def)?;
        let mut opts = opts;
        opts.prefix_check = None;
        opts.continuation = None;
        match fanout::FanoutState::with_fingerprint(&scoped, &opts, fp) {
            Ok(state) => {
                self.fanout = Some(Box::new(fanout::Fanout::new(scoped, opts, Box::new(state))));
                Some(self.fanout_poll(d, now))
            }
            Err(c) => {
                self.finish(d, Err(Failure::Config(c)), now.mono);
                None
            }
        }
    }

    /// After `Done` of a bulk window: its per-operation results and congestion state.
    pub(crate) fn take_bulk(&mut self) -> Option<crate::bulk::executor::WindowOutcome> {
        match self.fanout.as_mut()?.job.as_deref_mut()? {
            fanout::job::Job::Bulk(j) => Some(j.take_outcome()),
            fanout::job::Job::ReadMany(_) | fanout::job::Job::ChangeFeed(_) => None,
        }
    }

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

    /// What every poll returns first: a queued action (an abort, a background token request),
    /// else the sticky outcome (recording metrics the first time).
    fn queued_or_done(&mut self, d: &mut Driver, now: Instant) -> Option<Action> {
        if let Some(a) = self.pending.pop_front() {
            return Some(a);
        }
        let out = self.outcome.clone()?;
        if !self.report.metrics_recorded {
            self.report.metrics_recorded = true;
            self.record_metrics(d, &out, now);
        }
        Some(Action::Done(out))
    }

    fn poll_inner(&mut self, d: &mut Driver, now: Now) -> Action {
        let now = self.clamp(now);
        // Each turn either returns or makes progress (removes an attempt, clears a timer,
        // changes phase), so the loop is bounded.
        loop {
            if let Some(a) = self.queued_or_done(d, now.mono) {
                return a;
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
            let expired = self.in_flight.iter().position(|a| now.mono >= a.deadline);
            if let Some(a) = expired.and_then(|i| self.in_flight.remove(i)) {
                if a.hedge {
                    self.claims.release(&mut d.leases, a.id);
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
        let have_props = d.metadata.known();
        if d.metadata.wanted() {
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
        // 3b. A query scoped to a hierarchical-key prefix spans a key range: fan out over it.
        if let Some(a) = self.prefix_step(d, now) {
            return Some(a);
        }
        // 3c. A ReadMany or bulk window: its children are per-range requests.
        if let Some(a) = self.job_step(d, now) {
            return Some(a);
        }
        if self.outcome.is_some() {
            return None; // the prefix or job could not start: the outcome is the error
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
        if !d.eff.metrics_enabled {
            return;
        }
        let diagnostics = match out {
            Ok(r) => r.diagnostics(),
            Err(e) if e.kind() == ErrorKind::Cancelled => return,
            Err(e) => e.diagnostics(),
        };
        let Some(p) = &self.op else { return };
        let container = p.container.as_ref().map(|c| c.link()).unwrap_or("");
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
