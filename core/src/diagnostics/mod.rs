//! Diagnostics: per-operation and per-attempt records, bounded in size.
//!
//! This is the basic model (attempts with status, sub-status, RU, duration, request-sent and
//! events). The seed's JSON forms and summary compaction build on these records.

mod builder;

pub(crate) use builder::DiagnosticsBuilder;

use std::sync::Arc;
use std::time::Duration;

use crate::ids::{ActivityId, AttemptId};
use crate::request::Purpose;
use crate::transport::{RequestEventKind, RequestSent};

/// At most this many attempts are recorded per operation; later ones are counted in
/// [`CosmosDiagnostics::dropped_requests`]. Budgets keep real executions far below it.
pub const MAX_RECORDED_REQUESTS: usize = 128;
/// At most this many events are recorded per attempt.
pub const MAX_EVENTS_PER_REQUEST: usize = 8;

/// Why an attempt exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExecutionContext {
    /// The first attempt.
    Initial,
    /// A retry in the same region (429, 449, ...).
    Retry,
    /// A speculative parallel attempt in another region.
    Hedging,
    /// A retry moved to another region.
    RegionFailover,
    /// A probe of a partition the circuit breaker had moved away from.
    CircuitBreakerProbe,
}

impl ExecutionContext {
    /// The seed's JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionContext::Initial => "initial",
            ExecutionContext::Retry => "retry",
            ExecutionContext::Hedging => "hedging",
            ExecutionContext::RegionFailover => "region_failover",
            ExecutionContext::CircuitBreakerProbe => "circuit_breaker_probe",
        }
    }
}

/// One recorded lifecycle event of an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// Which event.
    pub kind: RequestEventKind,
    /// When, relative to the operation's start.
    pub at: Duration,
    /// Optional detail.
    pub details: Option<String>,
}

/// Everything recorded about one HTTP attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestDiagnostics {
    /// The attempt id.
    pub attempt: AttemptId,
    /// Why it was sent.
    pub purpose: Purpose,
    /// Initial, retry, failover, ...
    pub execution_context: ExecutionContext,
    /// Target region.
    pub region: Arc<str>,
    /// Full URL.
    pub endpoint: String,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// Sub-status, when sent.
    pub sub_status: Option<u32>,
    /// RU charged.
    pub request_charge: f64,
    /// The service's activity id, when sent.
    pub activity_id: Option<String>,
    /// Start, relative to the operation's start.
    pub started_at: Duration,
    /// How long the attempt took (until its outcome, abort or timeout).
    pub duration: Duration,
    /// Whether it reached the service.
    pub request_sent: RequestSent,
    /// Lifecycle events (at most [`MAX_EVENTS_PER_REQUEST`]).
    pub events: Vec<EventRecord>,
    /// The transport error or outcome note, if any.
    pub error: Option<String>,
}

/// Diagnostics of one operation across all of its attempts. Immutable once the operation ends.
#[derive(Debug, Clone, PartialEq)]
pub struct CosmosDiagnostics {
    pub(crate) activity_id: ActivityId,
    pub(crate) duration: Duration,
    pub(crate) status: Option<u16>,
    pub(crate) sub_status: Option<u32>,
    pub(crate) total_request_charge: f64,
    pub(crate) requests: Arc<Vec<RequestDiagnostics>>,
    pub(crate) dropped_requests: u64,
    pub(crate) ignored_inputs: u64,
}

impl CosmosDiagnostics {
    /// Diagnostics of something that made no attempt (a configuration error before any request).
    pub fn empty() -> Self {
        CosmosDiagnostics {
            activity_id: ActivityId::nil(),
            duration: Duration::ZERO,
            status: None,
            sub_status: None,
            total_request_charge: 0.0,
            requests: Arc::new(Vec::new()),
            dropped_requests: 0,
            ignored_inputs: 0,
        }
    }

    /// The client-generated activity id sent with every attempt.
    pub fn activity_id(&self) -> ActivityId {
        self.activity_id
    }

    /// Total operation time.
    pub fn elapsed(&self) -> Duration {
        self.duration
    }

    /// Final HTTP status (None when no response arrived).
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// Final sub-status.
    pub fn sub_status(&self) -> Option<u32> {
        self.sub_status
    }

    /// Sum of the RU of every attempt.
    pub fn total_request_charge(&self) -> f64 {
        self.total_request_charge
    }

    /// The recorded attempts, in start order.
    pub fn requests(&self) -> &[RequestDiagnostics] {
        &self.requests
    }

    /// Attempts made but not recorded because of [`MAX_RECORDED_REQUESTS`].
    pub fn dropped_requests(&self) -> u64 {
        self.dropped_requests
    }

    /// Inputs for unknown or already-finished attempts that were ignored (late answers).
    pub fn ignored_inputs(&self) -> u64 {
        self.ignored_inputs
    }

    /// Distinct regions contacted, in first-contact order.
    pub fn regions_contacted(&self) -> Vec<Arc<str>> {
        let mut out: Vec<Arc<str>> = Vec::new();
        for r in self.requests.iter() {
            if !out.iter().any(|x| **x == *r.region) {
                out.push(r.region.clone());
            }
        }
        out
    }

    /// Number of attempts made (recorded and dropped).
    pub fn request_count(&self) -> u64 {
        self.requests.len() as u64 + self.dropped_requests
    }
}
