//! Accumulates attempt records while an execution runs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{
    CosmosDiagnostics, EventRecord, ExecutionContext, RequestDiagnostics, MAX_EVENTS_PER_REQUEST,
    MAX_RECORDED_REQUESTS,
};
use crate::ids::{ActivityId, AttemptId};
use crate::request::Purpose;
use crate::transport::{RequestEventKind, RequestSent};

/// Mutable diagnostics of a running execution.
#[derive(Debug)]
pub(crate) struct DiagnosticsBuilder {
    activity_id: ActivityId,
    started: Instant,
    requests: Vec<RequestDiagnostics>,
    dropped: u64,
    dropped_charge: f64,
    ignored_inputs: u64,
}

impl DiagnosticsBuilder {
    pub fn new(activity_id: ActivityId, started: Instant) -> Self {
        DiagnosticsBuilder {
            activity_id,
            started,
            requests: Vec::new(),
            dropped: 0,
            dropped_charge: 0.0,
            ignored_inputs: 0,
        }
    }

    pub fn activity_id(&self) -> ActivityId {
        self.activity_id
    }

    pub fn since_start(&self, t: Instant) -> Duration {
        t.saturating_duration_since(self.started)
    }

    /// Records a new attempt; returns its slot (None when over the cap).
    #[allow(clippy::too_many_arguments)]
    pub fn start_attempt(
        &mut self,
        attempt: AttemptId,
        purpose: Purpose,
        ctx: ExecutionContext,
        region: Arc<str>,
        endpoint: String,
        now: Instant,
    ) -> Option<usize> {
        if self.requests.len() >= MAX_RECORDED_REQUESTS {
            self.dropped += 1;
            return None;
        }
        self.requests.push(RequestDiagnostics {
            attempt,
            purpose,
            execution_context: ctx,
            region,
            endpoint,
            status: None,
            sub_status: None,
            request_charge: 0.0,
            activity_id: None,
            started_at: self.since_start(now),
            duration: Duration::ZERO,
            request_sent: RequestSent::Unknown,
            events: Vec::new(),
            error: None,
        });
        Some(self.requests.len() - 1)
    }

    pub fn event(
        &mut self,
        slot: Option<usize>,
        kind: RequestEventKind,
        details: Option<String>,
        now: Instant,
    ) {
        let at = self.since_start(now);
        if let Some(r) = slot.and_then(|i| self.requests.get_mut(i)) {
            if r.events.len() < MAX_EVENTS_PER_REQUEST {
                r.events.push(EventRecord { kind, at, details });
            }
        }
    }

    /// Completes an attempt's record.
    #[allow(clippy::too_many_arguments)]
    pub fn finish_attempt(
        &mut self,
        slot: Option<usize>,
        status: Option<u16>,
        sub_status: Option<u32>,
        charge: f64,
        activity_id: Option<&str>,
        sent: RequestSent,
        error: Option<String>,
        now: Instant,
    ) {
        let now_rel = self.since_start(now);
        match slot.and_then(|i| self.requests.get_mut(i)) {
            Some(r) => {
                r.status = status;
                r.sub_status = sub_status;
                r.request_charge = charge;
                r.activity_id = activity_id.map(str::to_owned);
                r.request_sent = sent;
                r.duration = now_rel.saturating_sub(r.started_at);
                r.error = error;
            }
            None => self.dropped_charge += charge,
        }
    }

    pub fn ignored_input(&mut self) {
        self.ignored_inputs += 1;
    }

    /// The finished diagnostics. Called once, when the execution ends: the records move out.
    pub fn finish(
        &mut self,
        now: Instant,
        status: Option<u16>,
        sub_status: Option<u32>,
    ) -> Arc<CosmosDiagnostics> {
        let total =
            self.requests.iter().map(|r| r.request_charge).sum::<f64>() + self.dropped_charge;
        Arc::new(CosmosDiagnostics {
            activity_id: self.activity_id,
            duration: self.since_start(now),
            status,
            sub_status,
            total_request_charge: total,
            requests: Arc::new(std::mem::take(&mut self.requests)),
            dropped_requests: self.dropped,
            ignored_inputs: self.ignored_inputs,
        })
    }
}
