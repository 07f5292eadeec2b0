//! Threshold alerts over the sliding window: rules, defaults, and the raise/clear hysteresis.
//!
//! A rule is *above* when its windowed value exceeds its threshold. An alert is raised the first
//! time its rule is above and stays active (never raised twice) until the rule has been below
//! for a full window span, measured from the first `poll_alerts` that saw it below; then one
//! `Cleared` event is emitted. A rule with too little data (see
//! [`AlertOptions::min_operations`]) counts as below. At most [`MAX_ACTIVE_ALERTS`] alerts are
//! active; further raises are dropped and counted in `MetricsSnapshot::suppressed_alerts`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

/// At most this many alerts are active at once (5 global rules plus hot partitions).
pub const MAX_ACTIVE_ALERTS: usize = 32;

/// Thresholds of the alert rules. `None` disables a rule; a NaN or negative threshold disables it
/// too.
///
/// | rule | default | why |
/// |---|---|---|
/// | [`request_units_per_second`](Self::request_units_per_second) | off | depends on the provisioned throughput, which the driver does not know |
/// | [`point_latency_p99`](Self::point_latency_p99) | 100 ms | the monitoring plan's "Query response < 100ms" success criterion, applied to point operations (single-digit ms at p99 in-region is the service's own target, so 100 ms means something is wrong) |
/// | [`non_point_latency_p99`](Self::non_point_latency_p99) | off | feeds and queries scale with page size and fan-out; no threshold fits every workload |
/// | [`error_rate`](Self::error_rate) | 1 % | operations failing *after* the driver's retries; 1 % is 100× the plan's 99.99 % availability goal yet above isolated transient failures |
/// | [`throttle_rate`](Self::throttle_rate) | 5 % | Microsoft's 429 guidance: 1–5 % of requests throttled with acceptable latency means the RU/s are fully used and no action is needed; sustained > 5 % means under-provisioning or a hot partition |
/// | [`hot_partition_share`](Self::hot_partition_share) | 50 % | one range taking over half of a container's RU while the service splits throughput evenly across physical partitions (the portal's "Normalized RU Consumption by PartitionKeyRangeID" view) |
/// | [`hot_partition_min_request_charge`](Self::hot_partition_min_request_charge) | 100 RU per window | below that a skew costs nothing worth an alert (≈ 100 point reads) |
/// | [`hot_partition_min_ranges`](Self::hot_partition_min_ranges) | 3 | with two ranges the fair share is already 50 %, so ordinary noise would fire |
/// | [`min_operations`](Self::min_operations) | 100 per window | below 100 operations one slow or failed operation is already more than 1 %, and a p99 is just the maximum |
#[derive(Debug, Clone, PartialEq)]
pub struct AlertOptions {
    /// Raise when the window's RU per second exceeds this. Default: off.
    pub request_units_per_second: Option<f64>,
    /// Raise when the window's p99 latency of point operations exceeds this. Default: 100 ms.
    pub point_latency_p99: Option<Duration>,
    /// Raise when the window's p99 latency of non-point operations exceeds this. Default: off.
    pub non_point_latency_p99: Option<Duration>,
    /// Raise when the fraction (0.0–1.0) of operations that failed (5xx, 408, or no response
    /// after at least one attempt) exceeds this. Default: 0.01.
    pub error_rate: Option<f64>,
    /// Raise when the fraction (0.0–1.0) of attempts answered 429 exceeds this. Default: 0.05.
    pub throttle_rate: Option<f64>,
    /// Raise when one partition key range's share (0.0–1.0) of its container's attributed RU
    /// exceeds this. Default: 0.5.
    pub hot_partition_share: Option<f64>,
    /// The hot-partition rule needs at least this many RU in the container in the window.
    /// Default: 100.
    pub hot_partition_min_request_charge: f64,
    /// The hot-partition rule needs at least this many ranges of the container seen since start.
    /// Default: 3.
    pub hot_partition_min_ranges: usize,
    /// The latency, error-rate and throttle-rate rules need at least this many operations (of
    /// the rule's class) in the window. Default: 100.
    pub min_operations: u64,
}

impl Default for AlertOptions {
    fn default() -> Self {
        AlertOptions {
            request_units_per_second: None,
            point_latency_p99: Some(Duration::from_millis(100)),
            non_point_latency_p99: None,
            error_rate: Some(0.01),
            throttle_rate: Some(0.05),
            hot_partition_share: Some(0.5),
            hot_partition_min_request_charge: 100.0,
            hot_partition_min_ranges: 3,
            min_operations: 100,
        }
    }
}

impl AlertOptions {
    /// Every rule off.
    pub fn disabled() -> Self {
        AlertOptions {
            request_units_per_second: None,
            point_latency_p99: None,
            non_point_latency_p99: None,
            error_rate: None,
            throttle_rate: None,
            hot_partition_share: None,
            ..AlertOptions::default()
        }
    }

    /// The options with invalid thresholds (NaN, negative) turned off.
    pub(crate) fn sanitized(mut self) -> Self {
        let valid = |v: Option<f64>| v.filter(|x| x.is_finite() && *x >= 0.0);
        self.request_units_per_second = valid(self.request_units_per_second);
        self.error_rate = valid(self.error_rate);
        self.throttle_rate = valid(self.throttle_rate);
        self.hot_partition_share = valid(self.hot_partition_share);
        if !(self.hot_partition_min_request_charge.is_finite()
            && self.hot_partition_min_request_charge >= 0.0)
        {
            self.hot_partition_min_request_charge = 0.0;
        }
        self
    }
}

/// Which rule an alert comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum AlertKind {
    /// RU per second over the window (value and threshold in RU/s).
    RequestUnitsPerSecond,
    /// p99 latency of point operations (value and threshold in milliseconds).
    PointLatencyP99,
    /// p99 latency of non-point operations (value and threshold in milliseconds).
    NonPointLatencyP99,
    /// Failed operations / operations (fraction).
    ErrorRate,
    /// 429 answers / attempts (fraction).
    ThrottleRate,
    /// One range's share of its container's RU (fraction); keyed by container and range.
    HotPartition,
}

impl AlertKind {
    /// A stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::RequestUnitsPerSecond => "ru_per_second",
            AlertKind::PointLatencyP99 => "point_latency_p99",
            AlertKind::NonPointLatencyP99 => "non_point_latency_p99",
            AlertKind::ErrorRate => "error_rate",
            AlertKind::ThrottleRate => "throttle_rate",
            AlertKind::HotPartition => "hot_partition",
        }
    }

    fn format_value(self, v: f64) -> String {
        match self {
            AlertKind::RequestUnitsPerSecond => format!("{v:.1}RU/s"),
            AlertKind::PointLatencyP99 | AlertKind::NonPointLatencyP99 => format!("{v:.1}ms"),
            _ => format!("{:.2}%", v * 100.0),
        }
    }
}

/// Whether an alert started or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AlertState {
    /// The rule went above its threshold.
    Raised,
    /// The rule stayed below its threshold for a full window.
    Cleared,
}

/// An alert event returned by `Metrics::poll_alerts`.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The rule.
    pub kind: AlertKind,
    /// Raised or cleared.
    pub state: AlertState,
    /// The windowed value when the event fired, in the unit of [`AlertKind`].
    pub value: f64,
    /// The threshold, in the same unit.
    pub threshold: f64,
    /// The window span the value was computed over.
    pub window: Duration,
    /// The container of a hot-partition alert.
    pub container: Option<String>,
    /// The partition key range id of a hot-partition alert.
    pub partition_key_range: Option<String>,
    /// The instant passed to the `poll_alerts` that produced the event.
    pub at: Instant,
}

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            AlertState::Raised => "RAISED",
            AlertState::Cleared => "cleared",
        };
        write!(f, "{state} {}", self.kind.as_str())?;
        if let (Some(c), Some(r)) = (&self.container, &self.partition_key_range) {
            write!(f, " {c} range {r}")?;
        }
        let cmp = match self.state {
            AlertState::Raised => ">",
            AlertState::Cleared => "<=",
        };
        write!(
            f,
            " {} {cmp} {} over {}s",
            self.kind.format_value(self.value),
            self.kind.format_value(self.threshold),
            self.window.as_secs_f64()
        )
    }
}

/// One rule instance evaluated at a poll.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Observation {
    pub kind: AlertKind,
    pub partition: Option<u16>,
    pub value: f64,
    pub threshold: f64,
    pub above: bool,
}

#[derive(Debug, Clone, Copy)]
struct Active {
    threshold: f64,
    below_since: Option<Instant>,
}

/// Active alerts and their hysteresis.
#[derive(Debug, Clone, Default)]
pub(crate) struct AlertEngine {
    active: BTreeMap<(AlertKind, Option<u16>), Active>,
    /// Raises dropped because [`MAX_ACTIVE_ALERTS`] were active.
    pub suppressed: u64,
}

impl AlertEngine {
    pub fn active_count(&self) -> usize {
        self.active.len()
    }

    /// Whether an alert of `kind` for `partition` is active.
    pub fn is_active(&self, kind: AlertKind, partition: Option<u16>) -> bool {
        self.active.contains_key(&(kind, partition))
    }

    /// Applies one poll's observations; returns the events (raises and clears), observations
    /// first in their order, then clears of active alerts nobody observed, in key order.
    pub fn evaluate(
        &mut self,
        observations: &[Observation],
        now: Instant,
        hold: Duration,
    ) -> Vec<Observation> {
        let mut events = Vec::new();
        let mut seen: Vec<(AlertKind, Option<u16>)> = Vec::with_capacity(observations.len());
        for o in observations {
            let key = (o.kind, o.partition);
            seen.push(key);
            if self.step(key, o.above, o.threshold, now, hold) {
                events.push(*o);
            }
        }
        let unobserved: Vec<_> = self
            .active
            .iter()
            .filter(|(k, _)| !seen.contains(k))
            .map(|(k, a)| (*k, a.threshold))
            .collect();
        for (key, threshold) in unobserved {
            if self.step(key, false, threshold, now, hold) {
                events.push(Observation {
                    kind: key.0,
                    partition: key.1,
                    value: 0.0,
                    threshold,
                    above: false,
                });
            }
        }
        events
    }

    /// One rule instance: returns true when it raised or cleared.
    fn step(
        &mut self,
        key: (AlertKind, Option<u16>),
        above: bool,
        threshold: f64,
        now: Instant,
        hold: Duration,
    ) -> bool {
        let room = self.active.len() < MAX_ACTIVE_ALERTS;
        match (self.active.get_mut(&key), above) {
            (Some(a), true) => {
                a.below_since = None;
                false
            }
            (Some(a), false) => {
                let since = *a.below_since.get_or_insert(now);
                if now.saturating_duration_since(since) >= hold {
                    self.active.remove(&key);
                    true
                } else {
                    false
                }
            }
            (None, true) if room => {
                self.active.insert(
                    key,
                    Active {
                        threshold,
                        below_since: None,
                    },
                );
                true
            }
            (None, true) => {
                self.suppressed = self.suppressed.saturating_add(1);
                false
            }
            (None, false) => false,
        }
    }
}
