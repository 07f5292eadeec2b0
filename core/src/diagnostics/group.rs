//! Deduplication groups: the middle requests of a region folded by
//! `(endpoint, status, sub_status, execution_context)` with running statistics.

use super::record::RequestDiagnostics;
use super::stats::DurationStats;
use super::ExecutionContext;

/// Count, RU and durations of the requests folded into a group.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct GroupStats {
    pub request_charge: f64,
    pub durations: DurationStats,
}

impl GroupStats {
    pub fn add(&mut self, r: &RequestDiagnostics) {
        self.request_charge += r.request_charge;
        self.durations.record(r.duration_ms());
    }

    pub fn count(&self) -> u64 {
        self.durations.count()
    }
}

/// One deduplication group.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DedupGroup {
    pub endpoint: String,
    pub status: Option<u16>,
    pub sub_status: Option<u32>,
    pub context: ExecutionContext,
    pub stats: GroupStats,
}

impl DedupGroup {
    pub fn new(r: &RequestDiagnostics) -> Self {
        let mut g = DedupGroup {
            endpoint: r.endpoint.to_string(),
            status: r.status,
            sub_status: r.sub_status,
            context: r.execution_context,
            stats: GroupStats::default(),
        };
        g.stats.add(r);
        g
    }

    /// True when `r` has this group's key.
    pub fn matches(&self, r: &RequestDiagnostics) -> bool {
        self.status == r.status
            && self.sub_status == r.sub_status
            && self.context == r.execution_context
            && r.endpoint == self.endpoint.as_str()
    }
}

/// True for statuses that say the request succeeded (1xx-3xx).
pub(crate) fn is_success(status: Option<u16>) -> bool {
    status.is_some_and(|s| s < 400)
}
