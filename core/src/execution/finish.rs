//! Ending an execution: aborting what is in flight and building the outcome.

use super::*;

impl Execution {
    /// Records an attempt that ends without an answer. What the transport's events proved
    /// (`Sent` after response headers, `Unknown` after transport start) is kept; otherwise
    /// `floor` says what may be assumed. Returns the recorded flag.
    pub(super) fn record_unanswered(
        &mut self,
        a: &InFlight,
        floor: RequestSent,
        note: &str,
        now: Instant,
    ) -> RequestSent {
        let sent = match a.sent {
            RequestSent::NotSent => floor,
            proven => proven,
        };
        self.record_ended(a, sent, note, now);
        sent
    }

    /// Records an attempt that ended without an answer, with exactly this request-sent flag.
    pub(super) fn record_ended(
        &mut self,
        a: &InFlight,
        sent: RequestSent,
        note: &str,
        now: Instant,
    ) {
        self.diag
            .finish_attempt(a.slot, None, None, 0.0, None, sent, Some(note.into()), now);
    }

    /// Aborts every in-flight attempt (recorded as aborted) and frees every claim the execution
    /// holds but a token request (`Claims::release_all`): every ending goes through here.
    pub(super) fn abort_all(&mut self, d: &mut Driver, now: Instant) {
        self.fanout_abort_children(d, now);
        self.claims.release_all(&mut d.leases);
        if self.in_flight.is_empty() {
            return;
        }
        let mut in_flight = std::mem::take(&mut self.in_flight);
        for a in in_flight.drain() {
            self.record_unanswered(&a, RequestSent::NotSent, "aborted", now);
            self.pending.push_back(Action::Abort(a.id));
        }
    }

    pub(super) fn finish(&mut self, d: &mut Driver, result: Result<(), Failure>, now: Instant) {
        if self.outcome.is_some() {
            return;
        }
        self.abort_all(d, now);
        let Err(failure) = result else { return };
        let err = match failure {
            Failure::Service {
                status,
                headers,
                body,
            } => {
                let diagnostics = self.diag.finish(now, Some(status), headers.sub_status());
                CosmosError::service(status, *headers, body, diagnostics)
            }
            Failure::Transport(t) => CosmosError::transport(t, self.diag.finish(now, None, None)),
            Failure::Timeout(msg, last) => {
                CosmosError::timeout(msg, last, self.diag.finish(now, None, None))
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
            Failure::Internal(m) => {
                CosmosError::new(ErrorKind::Internal, m, self.diag.finish(now, None, None))
            }
        };
        self.outcome = Some(Err(err));
    }
}
