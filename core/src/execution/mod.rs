//! `Execution`: one logical operation across all of its attempts.
//!
//! Inputs (`handle_*`) return `()`; outcomes come out of [`Execution::poll`]. Unknown or late
//! attempt ids are ignored (and counted in diagnostics). Time never runs backwards: every `now`
//! is clamped to the latest seen.

mod prepared;
mod timer;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::action::Action;
use crate::credential::{AccessToken, Credential, CredentialError};
use crate::diagnostics::{DiagnosticsBuilder, ExecutionContext};
use crate::driver::{Driver, Lease, LEASE_RECHECK_INTERVAL, TOKEN_REFRESH_OFFSET};
use crate::error::{ConfigError, CosmosError, ErrorKind};
use crate::headers::ResponseHeaders;
use crate::ids::{ActivityId, AttemptId};
use crate::models::AccountProperties;
use crate::now::Now;
use crate::operation::{CosmosOperation, OperationOptions};
use crate::policy::{decide, Budget, Budgets, DelayRule, Effects, Reaction, Route, Signal};
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

#[derive(Debug)]
struct InFlight {
    id: AttemptId,
    purpose: Purpose,
    deadline: Instant,
    slot: Option<usize>,
    sent: RequestSent,
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
    Timeout(String),
    Credential(CredentialError),
    Config(ConfigError),
    Metadata(String),
}

/// One operation in progress. Drive it with the drain loop documented at the crate root.
#[derive(Debug)]
pub struct Execution {
    op: Option<Prepared>,
    account_read: Option<Prepared>,
    activity_header: http::HeaderValue,
    last_mono: Instant,
    timers: TimerTable,
    diag: DiagnosticsBuilder,
    budgets: Budgets,
    in_flight: Vec<InFlight>,
    phase: Phase,
    region_index: usize,
    use_write_regions: bool,
    next_context: ExecutionContext,
    hub_only: bool,
    pending: VecDeque<Action>,
    outcome: Option<Result<CosmosResponse, CosmosError>>,
    attempts: u64,
    end_to_end: Option<Duration>,
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
        let prepared = Prepared::new(d, op, &opts, activity_id.header_value());
        let mut e = Execution {
            op: None,
            account_read: None,
            activity_header: activity_id.header_value(),
            last_mono: now.mono,
            timers: TimerTable::default(),
            diag: DiagnosticsBuilder::new(activity_id, now.mono),
            budgets: Budgets::default(),
            in_flight: Vec::new(),
            phase: Phase::Ready,
            region_index: 0,
            use_write_regions: false,
            next_context: ExecutionContext::Initial,
            hub_only: false,
            pending: VecDeque::new(),
            outcome: None,
            attempts: 0,
            end_to_end,
        };
        if let Some(t) = end_to_end {
            e.timers.set(Timer::Operation, now.mono + t);
        }
        match prepared {
            Ok(p) => {
                e.use_write_regions = p.uses_write_regions();
                e.op = Some(p);
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

    fn clamp(&mut self, now: Now) -> Now {
        if now.mono > self.last_mono {
            self.last_mono = now.mono;
        }
        Now::new(self.last_mono, now.wall)
    }

    /// The next thing to do. Call after `start` and after every `handle_*` until it returns
    /// `Wait` or `Done`; call again when `Wait { until }` passes.
    pub fn poll(&mut self, d: &mut Driver, now: Now) -> Action {
        let now = self.clamp(now);
        // Each turn either returns or makes progress (removes an attempt, clears a timer,
        // changes phase), so the loop is bounded.
        loop {
            if let Some(a) = self.pending.pop_front() {
                return a;
            }
            if let Some(out) = &self.outcome {
                return Action::Done(out.clone());
            }
            if self.timers.expired(Timer::Operation, now.mono) {
                let msg = format!(
                    "end-to-end timeout of {:?} elapsed after {} attempt(s)",
                    self.end_to_end.unwrap_or_default(),
                    self.attempts
                );
                self.finish(d, Err(Failure::Timeout(msg)), now.mono);
                continue;
            }
            if let Some(i) = self.in_flight.iter().position(|a| now.mono >= a.deadline) {
                let a = self.in_flight.remove(i);
                self.pending.push_back(Action::Abort(a.id));
                let sent = if a.sent == RequestSent::Sent {
                    RequestSent::Sent
                } else {
                    RequestSent::Unknown
                };
                self.diag.finish_attempt(
                    a.slot,
                    None,
                    None,
                    0.0,
                    None,
                    sent,
                    Some("attempt timed out".into()),
                    now.mono,
                );
                let err = TransportError::new(
                    crate::transport::TransportErrorKind::Timeout,
                    sent,
                    "attempt deadline passed",
                );
                self.after_failure(
                    d,
                    a.purpose,
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
        let have_props = d.metadata.props.is_some();
        if !have_props || d.metadata.stale {
            let lease_free = d.metadata.lease.is_none_or(|l| !l.active(now.mono));
            if lease_free {
                return Some(self.send(d, Purpose::AccountRead, now));
            }
            if !have_props {
                return Some(self.wait_recheck(d.metadata.lease, now));
            }
            // Stale but usable: another execution is refreshing it (stale-while-revalidate).
        }
        // 3. The operation itself.
        Some(self.send(d, Purpose::Operation, now))
    }

    fn wait_recheck(&mut self, lease: Option<Lease>, now: Now) -> Action {
        let mut at = now.mono + LEASE_RECHECK_INTERVAL;
        if let Some(l) = lease {
            at = at.min(l.until);
        }
        self.timers.set(Timer::Recheck, at);
        Action::Wait {
            until: self.wake_time(),
        }
    }

    fn token_step(&mut self, d: &mut Driver, now: Now) -> Option<Action> {
        let valid = d.token.current.as_ref().filter(|t| t.expires_on > now.wall);
        let refresh_due = valid.is_none_or(|t| {
            t.expires_on
                .duration_since(now.wall)
                .map(|left| left <= TOKEN_REFRESH_OFFSET)
                .unwrap_or(true)
        });
        let have_valid = valid.is_some();
        let lease_free = d.token.lease.is_none_or(|l| !l.active(now.mono));
        if refresh_due && lease_free {
            let holder = d.next_attempt_id();
            let until = now.mono + d.eff.metadata_request_timeout;
            d.token.lease = Some(Lease { holder, until });
            let scopes = d.token_scopes();
            if have_valid {
                // Refresh in the background of this operation; the valid token is used meanwhile.
                self.pending.push_back(Action::AcquireToken { scopes });
                return None;
            }
            return Some(Action::AcquireToken { scopes });
        }
        if !have_valid {
            return Some(self.wait_recheck(d.token.lease, now));
        }
        None
    }

    fn send(&mut self, d: &mut Driver, purpose: Purpose, now: Now) -> Action {
        let id = d.next_attempt_id();
        let (prepared, route, timeout) = match purpose {
            Purpose::AccountRead => {
                d.metadata.lease = Some(Lease {
                    holder: id,
                    until: now.mono + d.eff.metadata_request_timeout,
                });
                let activity = self.activity_header.clone();
                let p = self
                    .account_read
                    .get_or_insert_with(|| Prepared::account_read(d, activity));
                (
                    &*p,
                    d.route(false, usize::MAX),
                    d.eff.metadata_request_timeout,
                )
            }
            Purpose::Operation => match &self.op {
                Some(p) => (
                    p,
                    d.route(self.use_write_regions, self.region_index),
                    d.eff.request_timeout,
                ),
                None => {
                    self.finish(
                        d,
                        Err(Failure::Config(ConfigError::InvalidOperation(
                            "no operation".into(),
                        ))),
                        now.mono,
                    );
                    return Action::Wait { until: None };
                }
            },
        };
        // Account reads go to the account (global) endpoint.
        let route = if purpose == Purpose::AccountRead {
            crate::driver::RegionRoute {
                name: Arc::from(""),
                endpoint: Arc::from(d.account.endpoint()),
            }
        } else {
            route
        };
        let url = prepared.url(&route);
        let headers = match prepared.attempt_headers(
            d,
            now.wall,
            self.hub_only && purpose == Purpose::Operation,
            now.mono,
        ) {
            Ok(h) => h,
            Err(c) => {
                self.finish(d, Err(Failure::Config(c)), now.mono);
                return self.poll(d, now);
            }
        };
        let uri = match url.parse::<http::Uri>() {
            Ok(u) => u,
            Err(e) => {
                let c =
                    ConfigError::InvalidOperation(format!("cannot form a URL from {url:?}: {e}"));
                self.finish(d, Err(Failure::Config(c)), now.mono);
                return self.poll(d, now);
            }
        };
        let ctx = if purpose == Purpose::Operation {
            std::mem::replace(&mut self.next_context, ExecutionContext::Retry)
        } else if self.attempts == 0 {
            ExecutionContext::Initial
        } else {
            ExecutionContext::Retry
        };
        let mut deadline = now.mono + timeout;
        if let Some(op_deadline) = self.timers.get(Timer::Operation) {
            deadline = deadline.min(op_deadline);
        }
        let slot = self
            .diag
            .start_attempt(id, purpose, ctx, route.name.clone(), url, now.mono);
        self.in_flight.push(InFlight {
            id,
            purpose,
            deadline,
            slot,
            sent: RequestSent::NotSent,
        });
        self.attempts += 1;
        self.phase = Phase::InFlight;
        Action::Send(Box::new(OutgoingRequest {
            attempt: id,
            method: prepared.method.clone(),
            uri,
            headers,
            body: prepared.body.clone(),
            region: route.name,
            purpose,
            execution_context: ctx,
            deadline,
            max_response_bytes: d.eff.max_response_bytes,
        }))
    }

    fn take_in_flight(&mut self, attempt: AttemptId) -> Option<InFlight> {
        if self.outcome.is_some() {
            self.diag.ignored_input();
            return None;
        }
        match self.in_flight.iter().position(|a| a.id == attempt) {
            Some(i) => Some(self.in_flight.remove(i)),
            None => {
                self.diag.ignored_input();
                None
            }
        }
    }

    /// Feeds the response of an attempt.
    pub fn handle_response(
        &mut self,
        d: &mut Driver,
        attempt: AttemptId,
        response: Response,
        now: Now,
    ) {
        let now = self.clamp(now);
        let Some(a) = self.take_in_flight(attempt) else {
            return;
        };
        let headers = ResponseHeaders::parse(response.headers);
        let status = response.status;
        let sub_status = headers.sub_status();
        self.diag
            .event(a.slot, RequestEventKind::TransportComplete, None, now.mono);
        self.diag.finish_attempt(
            a.slot,
            Some(status),
            sub_status,
            headers.request_charge(),
            headers.activity_id(),
            RequestSent::Sent,
            None,
            now.mono,
        );
        let signal = Signal::Status {
            status,
            sub_status: sub_status.unwrap_or(0),
        };
        let body = response.body;
        match (a.purpose, decide(signal, self.class_for(a.purpose))) {
            (Purpose::AccountRead, Reaction::Success) => {
                self.release_account_lease(d, a.id);
                match AccountProperties::parse(&body) {
                    Ok(p) => {
                        d.set_account_properties(p);
                        self.phase = Phase::Ready;
                    }
                    Err(e) => self.finish(d, Err(Failure::Metadata(e.to_string())), now.mono),
                }
            }
            (Purpose::Operation, Reaction::Success) => {
                let diagnostics = self.diag.finish(now.mono, Some(status), sub_status);
                let resp = CosmosResponse {
                    status,
                    headers: Arc::new(headers),
                    body,
                    diagnostics,
                };
                self.finish_ok(d, resp);
            }
            (purpose, _) => {
                let retry_after = headers.retry_after();
                self.after_failure(
                    d,
                    purpose,
                    signal,
                    retry_after,
                    Failure::Service {
                        status,
                        headers,
                        body,
                    },
                    now,
                );
            }
        }
    }

    /// Feeds a transport failure of an attempt.
    pub fn handle_transport_error(
        &mut self,
        d: &mut Driver,
        attempt: AttemptId,
        error: TransportError,
        now: Now,
    ) {
        let now = self.clamp(now);
        let Some(a) = self.take_in_flight(attempt) else {
            return;
        };
        // A response-headers event proves the request was sent, whatever the transport says.
        let sent = if a.sent == RequestSent::Sent {
            RequestSent::Sent
        } else {
            error.request_sent
        };
        let error = TransportError {
            request_sent: sent,
            ..error
        };
        self.diag.event(
            a.slot,
            RequestEventKind::TransportFailed,
            Some(error.message.clone()),
            now.mono,
        );
        self.diag.finish_attempt(
            a.slot,
            None,
            None,
            0.0,
            None,
            sent,
            Some(error.message.clone()),
            now.mono,
        );
        let signal = Signal::Transport {
            kind: error.kind,
            sent,
        };
        self.after_failure(d, a.purpose, signal, None, Failure::Transport(error), now);
    }

    /// Feeds a lifecycle event of an attempt (for diagnostics and the request-sent flag).
    pub fn handle_event(
        &mut self,
        _d: &mut Driver,
        attempt: AttemptId,
        event: RequestEvent,
        now: Now,
    ) {
        let now = self.clamp(now);
        let Some(a) = self.in_flight.iter_mut().find(|a| a.id == attempt) else {
            self.diag.ignored_input();
            return;
        };
        match event.kind {
            RequestEventKind::ResponseHeadersReceived => a.sent = RequestSent::Sent,
            RequestEventKind::TransportStart if a.sent == RequestSent::NotSent => {
                a.sent = RequestSent::Unknown
            }
            _ => {}
        }
        let slot = a.slot;
        self.diag.event(slot, event.kind, event.details, now.mono);
    }

    /// Feeds the result of an [`Action::AcquireToken`].
    pub fn handle_token(
        &mut self,
        d: &mut Driver,
        token: Result<AccessToken, CredentialError>,
        now: Now,
    ) {
        let now = self.clamp(now);
        d.token.lease = None;
        match token {
            Ok(t) => d.token.current = Some(t),
            Err(e) => {
                let usable = d
                    .token
                    .current
                    .as_ref()
                    .is_some_and(|t| t.expires_on > now.wall);
                if usable || self.outcome.is_some() {
                    return; // a background refresh failed; the current token still works
                }
                if !d.token.use_fallback_scope {
                    d.token.use_fallback_scope = true; // retry once with the cosmos.azure.com scope
                    return;
                }
                self.finish(d, Err(Failure::Credential(e)), now.mono);
            }
        }
    }

    /// Cancels the operation: in-flight attempts are aborted and the outcome is `Cancelled`.
    pub fn cancel(&mut self, d: &mut Driver, now: Now) {
        let now = self.clamp(now);
        if self.outcome.is_none() {
            let diagnostics = self.diag.finish(now.mono, None, None);
            let e = CosmosError::new(
                ErrorKind::Cancelled,
                "the operation was cancelled".into(),
                diagnostics,
            );
            self.abort_all(d);
            self.outcome = Some(Err(e));
        }
    }

    fn class_for(&self, purpose: Purpose) -> crate::policy::OpClass {
        match (purpose, &self.op) {
            (Purpose::Operation, Some(p)) => p.class,
            _ => crate::policy::OpClass {
                read_only: true,
                retry_safe: true,
            },
        }
    }

    fn release_account_lease(&mut self, d: &mut Driver, attempt: AttemptId) {
        if d.metadata.lease.is_some_and(|l| l.holder == attempt) {
            d.metadata.lease = None;
        }
    }

    /// Applies the table's answer to a failed attempt: schedule a retry or finish.
    fn after_failure(
        &mut self,
        d: &mut Driver,
        purpose: Purpose,
        signal: Signal,
        retry_after: Option<Duration>,
        failure: Failure,
        now: Now,
    ) {
        if self.outcome.is_some() {
            return;
        }
        let reaction = decide(signal, self.class_for(purpose));
        let Reaction::Retry {
            budget,
            delay,
            route,
            effects,
        } = reaction
        else {
            self.finish(d, Err(failure), now.mono);
            return;
        };
        let wait = self.delay(d, budget, delay, retry_after);
        let past_deadline = self
            .timers
            .get(Timer::Operation)
            .is_some_and(|dl| now.mono + wait >= dl);
        if past_deadline || !self.budgets.try_take(budget, wait, &d.limits) {
            self.finish(d, Err(failure), now.mono);
            return;
        }
        self.apply_effects(d, effects);
        if purpose == Purpose::Operation {
            let before = d.route(self.use_write_regions, self.region_index);
            match route {
                Route::SameRegion => {}
                Route::NextRegion => self.region_index = self.region_index.wrapping_add(1),
                Route::WriteRegion => {
                    self.use_write_regions = true;
                    self.region_index = 0;
                }
            }
            if budget == Budget::SessionNotAvailable && self.budgets.used(budget) >= 2 {
                self.hub_only = true;
            }
            let after = d.route(self.use_write_regions, self.region_index);
            self.next_context = if after.endpoint != before.endpoint {
                ExecutionContext::RegionFailover
            } else {
                ExecutionContext::Retry
            };
        }
        if wait.is_zero() {
            self.phase = if self.in_flight.is_empty() {
                Phase::Ready
            } else {
                Phase::InFlight
            };
        } else {
            self.timers.set(Timer::Backoff, now.mono + wait);
            self.phase = Phase::Backoff;
        }
    }

    fn delay(
        &mut self,
        d: &mut Driver,
        budget: Budget,
        rule: DelayRule,
        retry_after: Option<Duration>,
    ) -> Duration {
        let n = self.budgets.used(budget);
        match rule {
            DelayRule::None => Duration::ZERO,
            DelayRule::RetryAfter => {
                let base = retry_after
                    .filter(|d| !d.is_zero())
                    .unwrap_or(DEFAULT_THROTTLE_DELAY);
                base + Duration::from_millis(d.rng.below(RETRY_JITTER_MS))
            }
            DelayRule::FailoverInterval if n == 0 => Duration::ZERO,
            DelayRule::FailoverInterval => FAILOVER_RETRY_INTERVAL,
            DelayRule::RetryWithBackoff => {
                // .NET GatewayRetryWithRetryPolicy: 10 ms × 2ⁿ + [0, 5) ms, capped at 1 s.
                let step = Duration::from_millis(10)
                    .saturating_mul(1u32 << n.min(16))
                    .min(Duration::from_secs(1));
                step + Duration::from_millis(d.rng.below(RETRY_JITTER_MS))
            }
        }
    }

    fn apply_effects(&mut self, d: &mut Driver, effects: Effects) {
        if effects.refresh_account {
            d.metadata.stale = true;
        }
        // Region health (mark unavailable), pk-range and container caches arrive with the
        // multi-region work; the table already names the effects so nothing else re-decides.
    }

    fn abort_all(&mut self, d: &mut Driver) {
        for a in self.in_flight.drain(..) {
            if d.metadata.lease.is_some_and(|l| l.holder == a.id) {
                d.metadata.lease = None;
            }
            self.pending.push_back(Action::Abort(a.id));
        }
    }

    fn finish_ok(&mut self, d: &mut Driver, resp: CosmosResponse) {
        self.abort_all(d);
        self.outcome = Some(Ok(resp));
    }

    fn finish(&mut self, d: &mut Driver, result: Result<(), Failure>, now: Instant) {
        if self.outcome.is_some() {
            return;
        }
        self.abort_all(d);
        let Err(failure) = result else { return };
        let err = match failure {
            Failure::Service {
                status,
                headers,
                body,
            } => {
                let diagnostics = self.diag.finish(now, Some(status), headers.sub_status());
                CosmosError::service(status, headers, body, diagnostics)
            }
            Failure::Transport(t) => CosmosError::transport(t, self.diag.finish(now, None, None)),
            Failure::Timeout(msg) => {
                CosmosError::new(ErrorKind::Timeout, msg, self.diag.finish(now, None, None))
            }
            Failure::Credential(c) => CosmosError::new(
                ErrorKind::Credential,
                c.to_string(),
                self.diag.finish(now, None, None),
            ),
            Failure::Config(c) => CosmosError::config(c, self.diag.finish(now, None, None)),
            Failure::Metadata(m) => {
                CosmosError::new(ErrorKind::Service, m, self.diag.finish(now, None, None))
            }
        };
        self.outcome = Some(Err(err));
    }
}
