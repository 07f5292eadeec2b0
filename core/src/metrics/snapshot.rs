//! `MetricsSnapshot`: plain data copied out of `Metrics`, and its one-line summary.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::histogram::LatencySummary;
use super::status::StatusClass;

/// Operation counts per status class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct StatusClassCounts {
    /// 2xx.
    pub success: u64,
    /// 3xx.
    pub redirection: u64,
    /// 4xx.
    pub client_error: u64,
    /// 5xx.
    pub server_error: u64,
    /// No response, or a status outside 200–599.
    pub other: u64,
}

impl StatusClassCounts {
    /// The count of one class.
    pub fn get(&self, class: StatusClass) -> u64 {
        match class {
            StatusClass::Success => self.success,
            StatusClass::Redirection => self.redirection,
            StatusClass::ClientError => self.client_error,
            StatusClass::ServerError => self.server_error,
            StatusClass::Other => self.other,
        }
    }

    pub(crate) fn bump(&mut self, class: StatusClass) {
        let c = match class {
            StatusClass::Success => &mut self.success,
            StatusClass::Redirection => &mut self.redirection,
            StatusClass::ClientError => &mut self.client_error,
            StatusClass::ServerError => &mut self.server_error,
            StatusClass::Other => &mut self.other,
        };
        *c = c.saturating_add(1);
    }
}

/// Counters of one (kind, resource, status class, region) key, since start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationCounters {
    /// Operation kind (`"read"`, `"create"`, ...), or `"other"` for overflow.
    pub kind: String,
    /// Resource (`"docs"`, `"colls"`, ...), or `"other"`.
    pub resource: String,
    /// Status class of the final status.
    pub status_class: StatusClass,
    /// Region of the final attempt (`""` when none), or `"other"`.
    pub region: String,
    /// Operations.
    pub operations: u64,
    /// RU charged across all attempts.
    pub request_charge: f64,
}

/// Counters of one (container, partition key range) key, since start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartitionCounters {
    /// Container the range belongs to, or `"other"` for overflow.
    pub container: String,
    /// Partition key range id, or `"other"`.
    pub partition_key_range: String,
    /// Operations.
    pub operations: u64,
    /// RU charged.
    pub request_charge: f64,
    /// 429 answers.
    pub throttles: u64,
    /// RU in the current sliding window.
    pub window_request_charge: f64,
}

/// Values over the sliding window (as of the latest instant given to `record` or
/// `poll_alerts`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct WindowSummary {
    /// The configured window span.
    pub span: Duration,
    /// The time the values actually cover (shorter during the first window).
    pub covered: Duration,
    /// Operations in the window.
    pub operations: u64,
    /// RU in the window divided by `covered`.
    pub request_units_per_second: f64,
    /// Failed operations / operations (0 when empty).
    pub error_rate: f64,
    /// 429 answers / attempts (0 when empty).
    pub throttle_rate: f64,
    /// p99 of point operations, from the coarse window histogram (≤ 6.25 % error).
    pub point_p99: Duration,
    /// p99 of non-point operations, same precision.
    pub non_point_p99: Duration,
}

/// Everything `Metrics` counts, copied out. Counters are totals since the `Metrics` was created
/// (monotonic, so an exporter can report them as absolute counter values).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsSnapshot {
    /// Operations recorded.
    pub operations: u64,
    /// Operations per status class.
    pub status_classes: StatusClassCounts,
    /// Failed operations (5xx, 408, or no response after at least one attempt).
    pub errors: u64,
    /// RU charged.
    pub request_charge: f64,
    /// HTTP attempts.
    pub attempts: u64,
    /// Retries (attempts beyond the first, same or other region).
    pub retries: u64,
    /// 429 answers.
    pub throttles: u64,
    /// Retries moved to another region.
    pub failovers: u64,
    /// Hedged attempts started.
    pub hedges_started: u64,
    /// Operations won by a hedged attempt.
    pub hedges_won: u64,
    /// Request bytes sent.
    pub bytes_sent: u64,
    /// Response bytes received.
    pub bytes_received: u64,
    /// Latency of all operations.
    pub latency: LatencySummary,
    /// Latency of point operations (single-item reads and writes).
    pub point_latency: LatencySummary,
    /// Latency of other operations (feeds, queries, control plane).
    pub non_point_latency: LatencySummary,
    /// Per (kind, resource, status class, region), in first-seen order.
    pub by_operation: Vec<OperationCounters>,
    /// Per (container, partition key range), in first-seen order.
    pub by_partition: Vec<PartitionCounters>,
    /// The sliding window.
    pub window: WindowSummary,
    /// Samples whose key was folded into an `"other"` bucket because a dimension was full.
    pub overflowed_keys: u64,
    /// Alerts currently active.
    pub active_alerts: usize,
    /// Raises dropped because too many alerts were active.
    pub suppressed_alerts: u64,
}

impl MetricsSnapshot {
    /// Fraction of operations with a 2xx or 3xx final status (1.0 when none).
    pub fn success_rate(&self) -> f64 {
        if self.operations == 0 {
            return 1.0;
        }
        (self.status_classes.success + self.status_classes.redirection) as f64
            / self.operations as f64
    }
}

/// `1.2ms`, `850µs`, `12.3s`.
fn fmt_latency(d: Duration) -> String {
    let us = d.as_micros();
    if us < 1_000 {
        format!("{us}µs")
    } else if us < 10_000_000 {
        format!("{:.1}ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// `0.3MB` (decimal megabytes).
fn fmt_mb(bytes: u64) -> String {
    format!("{:.1}MB", bytes as f64 / 1e6)
}

impl fmt::Display for MetricsSnapshot {
    /// One line: `ops=1234 ok=99.2% ru/s=56.1 p50=1.2ms p99=8.4ms throttles=3 retries=5
    /// failovers=0 hedges=0/0 in=1.2MB out=0.3MB` — `ok` is 2xx+3xx over all operations,
    /// `ru/s` is over the sliding window, `p50`/`p99` are over all operations since start,
    /// `hedges` is won/started, `in` is bytes received and `out` bytes sent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ops={} ok={:.1}% ru/s={:.1} p50={} p99={} throttles={} retries={} failovers={} \
             hedges={}/{} in={} out={}",
            self.operations,
            self.success_rate() * 100.0,
            self.window.request_units_per_second,
            fmt_latency(self.latency.p50),
            fmt_latency(self.latency.p99),
            self.throttles,
            self.retries,
            self.failovers,
            self.hedges_won,
            self.hedges_started,
            fmt_mb(self.bytes_received),
            fmt_mb(self.bytes_sent),
        )
    }
}
