//! Inputs: responses, transport errors, events, tokens and cancellation.

use super::*;

impl Execution {
    pub(super) fn take_in_flight(
        &mut self,
        d: &mut Driver,
        attempt: AttemptId,
    ) -> Option<InFlight> {
        if self.outcome.is_some() {
            self.diag.ignored_input();
            return None;
        }
        let i = self.in_flight.iter().position(|a| a.id == attempt);
        match i.and_then(|i| self.in_flight.remove(i)) {
            Some(a) => {
                if a.hedge {
                    self.claims.release(&mut d.leases, a.id);
                }
                Some(a)
            }
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
        if let Some(r) = d.recorder.as_mut().filter(|_| self.recorded) {
            r.response(self.activity_id(), attempt, &response, now); // replay recording hook
        }
        if self.fanout.is_some() {
            match self.fanout_child_for(attempt) {
                Some(child) => child.handle_response(d, attempt, response, now),
                None => self.diag.ignored_input(),
            }
            return;
        }
        let now = self.clamp(now);
        let Some(a) = self.take_in_flight(d, attempt) else {
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
            headers.service_activity_id(),
            RequestSent::Sent,
            None,
            now.mono,
        );
        let signal = Signal::Status {
            status,
            sub_status: sub_status.unwrap_or(0),
        };
        self.capture_session(d, a.purpose, &headers);
        let body = response.body;
        self.report.bytes_received = self.report.bytes_received.saturating_add(body.len() as u64);
        match (a.purpose, decide(signal, self.class_for(a.purpose))) {
            (Purpose::AccountRead, Reaction::Success) => {
                self.release_account_lease(d, a.id);
                match AccountProperties::parse(&body) {
                    Ok(p) => {
                        d.set_account_properties(p, now.mono);
                        self.phase = Phase::Ready;
                    }
                    Err(e) => self.finish(d, Err(Failure::Metadata(e.to_string())), now.mono),
                }
            }
            (Purpose::Operation, Reaction::Success) => {
                // Nothing to clear when no partition is tracked (building the key allocates).
                if !d.breaker.is_empty() {
                    if let Some(key) = self.breaker_key(&a.endpoint) {
                        d.breaker.record_success(&key);
                    }
                }
                self.penalize_slow_losers(d, now.mono);
                self.abort_all(d, now.mono);
                let diagnostics = self.diag.finish(now.mono, Some(status), sub_status);
                let resp = CosmosResponse::new(status, headers, body, diagnostics);
                self.outcome = Some(Ok(resp));
            }
            (Purpose::ContainerRead | Purpose::PkRangeRead, Reaction::Success) => {
                self.routing_response(d, &a, status, &headers, &body);
            }
            (Purpose::TrackingCheck, _) => {
                self.finish_tracking_check(d, status, headers, body, now);
            }
            (Purpose::Operation, Reaction::Fail) if self.is_own_earlier_success(status) => {
                // A retry of a write that may already have been applied was answered 409/412:
                // read the item back and compare tracking ids before reporting a failure.
                self.tracked.failure = Some(Box::new(Failure::Service {
                    status,
                    headers: Box::new(headers),
                    body,
                }));
                self.tracked.pending = true;
                self.phase = Phase::Ready;
            }
            (_, _) => {
                let retry_after = headers.retry_after();
                self.after_failure(
                    d,
                    &a,
                    signal,
                    retry_after,
                    Failure::Service {
                        status,
                        headers: Box::new(headers),
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
        if let Some(r) = d.recorder.as_mut().filter(|_| self.recorded) {
            r.transport_error(self.activity_id(), attempt, &error, now); // replay recording hook
        }
        if self.fanout.is_some() {
            match self.fanout_child_for(attempt) {
                Some(child) => child.handle_transport_error(d, attempt, error, now),
                None => self.diag.ignored_input(),
            }
            return;
        }
        let now = self.clamp(now);
        let Some(a) = self.take_in_flight(d, attempt) else {
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
        self.record_ended(&a, sent, &error.message, now.mono);
        let signal = Signal::Transport {
            kind: error.kind,
            sent,
        };
        if a.purpose == Purpose::TrackingCheck {
            // The check itself failed: report the 409/412 it was checking.
            let failure = self
                .tracked
                .failure
                .take()
                .map_or(Failure::Transport(error), |f| *f);
            self.finish(d, Err(failure), now.mono);
            return;
        }
        self.after_failure(d, &a, signal, None, Failure::Transport(error), now);
    }

    /// Feeds a lifecycle event of an attempt (for diagnostics and the request-sent flag).
    pub fn handle_event(
        &mut self,
        d: &mut Driver,
        attempt: AttemptId,
        event: RequestEvent,
        now: Now,
    ) {
        if let Some(r) = d.recorder.as_mut().filter(|_| self.recorded) {
            r.event(self.activity_id(), attempt, &event, now); // replay recording hook
        }
        if self.fanout.is_some() {
            match self.fanout_child_for(attempt) {
                Some(child) => child.handle_event(d, attempt, event, now),
                None => self.diag.ignored_input(),
            }
            return;
        }
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
        if let Some(r) = d.recorder.as_mut().filter(|_| self.recorded) {
            r.token(self.activity_id(), &token, now); // replay recording hook
        }
        if self.fanout.is_some() {
            match self.fanout_token_child() {
                Some(child) => child.handle_token(d, token, now),
                None => {
                    let _ = d.apply_token(token, now);
                }
            }
            return;
        }
        let now = self.clamp(now);
        let stale = matches!(&token, Ok(t) if t.expires_on <= now.wall);
        match d.apply_token(token, now) {
            Ok(()) => self.meta.stale_token_accepted |= stale,
            Err(e) => {
                if self.outcome.is_none() {
                    self.finish(d, Err(Failure::Credential(e)), now.mono);
                }
            }
        }
    }

    /// Cancels the operation: in-flight attempts are aborted and the outcome is `Cancelled`.
    pub fn cancel(&mut self, d: &mut Driver, now: Now) {
        if let Some(r) = d.recorder.as_mut().filter(|_| self.recorded) {
            r.cancel(self.activity_id(), now); // replay recording hook
        }
        let now = self.clamp(now);
        if self.outcome.is_none() {
            self.abort_all(d, now.mono);
            // A cancelled (dropped) operation will never deliver the token it asked for: free
            // the acquisition so the next operation does not wait for the lease to expire.
            self.claims.cancel(&mut d.leases);
            let diagnostics = self.diag.finish(now.mono, None, None);
            let e = CosmosError::new(
                ErrorKind::Cancelled,
                "the operation was cancelled".into(),
                diagnostics,
            );
            self.outcome = Some(Err(e));
        }
    }

    pub(super) fn class_for(&self, purpose: Purpose) -> crate::policy::OpClass {
        match (purpose, &self.op) {
            (Purpose::Operation, Some(p)) => p.class,
            _ => crate::policy::OpClass {
                read_only: true,
                retry_safe: true,
            },
        }
    }

    /// Attempts that lost to a hedge after waiting at least the hedge threshold count as
    /// availability failures of their region for this partition: a region that hangs without
    /// answering never times out while hedges keep winning, and would otherwise be tried first
    /// forever, costing every read the threshold.
    fn penalize_slow_losers(&mut self, d: &mut Driver, now: Instant) {
        let threshold = d.eff.hedging.threshold;
        let slow: Vec<InFlight> = self
            .in_flight
            .iter()
            .filter(|l| {
                l.purpose == Purpose::Operation
                    && now.saturating_duration_since(l.started) >= threshold
            })
            .cloned()
            .collect();
        for loser in &slow {
            self.record_partition_failure(d, loser, now);
        }
    }

    /// Captures `x-ms-session-token` from data-plane answers (never from metadata reads).
    fn capture_session(&mut self, d: &mut Driver, purpose: Purpose, headers: &ResponseHeaders) {
        if !matches!(purpose, Purpose::Operation | Purpose::TrackingCheck) {
            return;
        }
        let scope = self.op.as_ref().and_then(|p| p.session_scope());
        if let (Some(scope), Some(token)) = (scope, headers.session_token()) {
            // A token that cannot be parsed or merged is dropped, not fatal: the write it came
            // with succeeded; the worst case is a later 404/1002 the table already handles.
            let _ = d.sessions.capture(scope, token);
        }
    }

    /// True when `status` on a retried tracked write may be our own earlier success.
    fn is_own_earlier_success(&self, status: u16) -> bool {
        self.retry.maybe_applied
            && self
                .tracked
                .check
                .as_ref()
                .is_some_and(|t| t.ambiguous_status == status)
    }

    /// Completes a tracking check: our document means success, anything else the original error.
    fn finish_tracking_check(
        &mut self,
        d: &mut Driver,
        status: u16,
        headers: ResponseHeaders,
        body: bytes::Bytes,
        now: Now,
    ) {
        let ours = self
            .tracked
            .check
            .as_ref()
            .filter(|t| status == 200 && tracking::is_ours(&body, &t.id));
        match ours {
            Some(t) => {
                let success_status = t.success_status;
                self.abort_all(d, now.mono);
                let diagnostics = self.diag.finish(now.mono, Some(success_status), None);
                self.outcome = Some(Ok(CosmosResponse::new(
                    success_status,
                    headers,
                    body,
                    diagnostics,
                )));
            }
            None => {
                let failure = self.tracked.failure.take().map_or_else(
                    || {
                        Failure::Metadata(
                            "tracking check answered without the original error".into(),
                        )
                    },
                    |f| *f,
                );
                self.finish(d, Err(failure), now.mono);
            }
        }
    }

    pub(super) fn release_account_lease(&mut self, d: &mut Driver, attempt: AttemptId) {
        self.claims.release(&mut d.leases, attempt);
    }
}
