//! Per-driver metrics and threshold alerts: a pure, deterministic, bounded recorder.
//!
//! The execution reports one [`OperationSample`] when an operation ends; [`Metrics::record`]
//! folds it into counters keyed by (kind, resource, status class, region) and by (container,
//! partition key range), two latency histograms (point and non-point operations), and a sliding
//! window that the alert rules read. [`Metrics::snapshot`] copies everything out as plain data;
//! [`Metrics::poll_alerts`] evaluates the rules and returns the alerts newly raised or cleared.
//!
//! Like the rest of the core it reads no clock: time is the `Instant` passed to `record` and
//! `poll_alerts` (the operation's end and the caller's "now"); it never runs back (an earlier
//! instant counts as the latest seen). Iteration is over `Vec`s and `BTreeMap`s only, so the same
//! samples at the same instants give the same snapshot and the same alerts.
//!
//! ## Bounds
//! * Keys: at most [`MAX_KEYS_PER_DIMENSION`] (256) distinct names per dimension (kind, resource,
//!   region, container, range) and 256 rows per composite table; later keys are folded into an
//!   [`OTHER`] (`"other"`) bucket and counted in [`MetricsSnapshot::overflowed_keys`].
//! * Memory is fixed once keys exist: two 832-bucket histograms (≈ 13 KiB) and, per window slot,
//!   two 224-bucket `u32` histograms plus a few counters (≈ 110 KiB at the default 60 slots).
//! * Alerts: at most [`MAX_ACTIVE_ALERTS`] active.
//!
//! ## Cost
//! `record` is a handful of comparisons against the last key seen per dimension, two bucket
//! increments and a few additions (≈ 50–110 ns in `benches/metrics.rs`); it allocates only when
//! a key is first seen (and while a window slot's partition list first grows). `snapshot` sums
//! the window's slot counters (the window histogram is kept summed), makes three passes over
//! 832 buckets and copies the key rows out (≈ 7 µs). `poll_alerts` sums the window and makes one
//! pass over the partition rows (≈ 2 µs).
//!
//! ## Wiring
//! Record exactly once per operation, when its outcome is first set (success or error), with
//! `now` the instant the outcome was decided. [`OperationSample::from_diagnostics`] fills
//! everything the finished `CosmosDiagnostics` knows; the execution adds the container, the
//! partition key range of the final attempt, whether it is a point operation, and the bytes.
//! Operations the caller cancelled say nothing about the service: do not record them (they
//! would count as failures without a response).

#[cfg(feature = "metrics-facade")]
mod export;
#[cfg(feature = "metrics-facade")]
pub use export::export_to_metrics_facade;
mod alerts;
mod histogram;
mod keys;
mod sample;
mod snapshot;
mod status;
mod window;

use std::time::{Duration, Instant};

pub use alerts::{Alert, AlertKind, AlertOptions, AlertState, MAX_ACTIVE_ALERTS};
pub use histogram::{LatencyHistogram, LatencySummary, MAX_TRACKABLE_MICROS};
pub use keys::{MAX_KEYS_PER_DIMENSION, OTHER};
pub use sample::OperationSample;
pub use snapshot::{
    MetricsSnapshot, OperationCounters, PartitionCounters, StatusClassCounts, WindowSummary,
};
pub use status::StatusClass;

use alerts::{AlertEngine, Observation};
use keys::{
    operation_key, operation_row, partition_key, partition_row, Interner, OperationRow,
    PartitionRow, Table, OTHER_ID,
};
use window::{Window, WindowSample, WindowTotals};

/// Shortest sliding window accepted (shorter ones are raised to it).
pub const MIN_WINDOW: Duration = Duration::from_secs(1);
/// Longest sliding window accepted (longer ones are lowered to it).
pub const MAX_WINDOW: Duration = Duration::from_secs(3600);
/// Most slots a window may have (more are lowered to it): bounds memory at ≈ 220 KiB.
pub const MAX_WINDOW_SLOTS: usize = 120;

/// Configuration of a [`Metrics`].
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsOptions {
    /// Span of the sliding window the alert rules read. Default: 60 s, the evaluation window
    /// Microsoft's 429 guidance reasons in (Azure Monitor's 1-minute metric granularity).
    /// Clamped to [`MIN_WINDOW`] ..= [`MAX_WINDOW`].
    pub window: Duration,
    /// Number of slots the window is split into; the window slides one slot at a time. Default:
    /// 60 (1 s slots). Clamped to 1 ..= [`MAX_WINDOW_SLOTS`].
    pub window_slots: usize,
    /// The alert rules.
    pub alerts: AlertOptions,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        MetricsOptions {
            window: Duration::from_secs(60),
            window_slots: 60,
            alerts: AlertOptions::default(),
        }
    }
}

/// Totals since start.
#[derive(Debug, Clone, Default)]
struct Totals {
    operations: u64,
    classes: StatusClassCounts,
    errors: u64,
    request_charge: f64,
    attempts: u64,
    retries: u64,
    throttles: u64,
    failovers: u64,
    hedges_started: u64,
    hedges_won: u64,
    bytes_sent: u64,
    bytes_received: u64,
}

/// Per-driver metrics and alerts. Not thread-safe by itself; it lives next to the `Driver`.
#[derive(Debug, Clone)]
pub struct Metrics {
    alert_options: AlertOptions,
    totals: Totals,
    kinds: Interner,
    resources: Interner,
    regions: Interner,
    containers: Interner,
    ranges: Interner,
    operations: Table<OperationRow>,
    partitions: Table<PartitionRow>,
    point: LatencyHistogram,
    non_point: LatencyHistogram,
    window: Window,
    alerts: AlertEngine,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(MetricsOptions::default())
    }
}

/// RU as recorded: NaN, infinite and negative charges count as 0.
fn sanitize_charge(ru: f64) -> f64 {
    if ru.is_finite() && ru > 0.0 {
        ru
    } else {
        0.0
    }
}

impl Metrics {
    /// Empty metrics. Allocates the histograms and the window once.
    pub fn new(options: MetricsOptions) -> Metrics {
        let alert_options = options.alerts.sanitized();
        let span = options.window.clamp(MIN_WINDOW, MAX_WINDOW);
        let slots = options.window_slots.clamp(1, MAX_WINDOW_SLOTS);
        let window = Window::new(
            span,
            slots,
            alert_options.point_latency_p99,
            alert_options.non_point_latency_p99,
        );
        Metrics {
            alert_options,
            totals: Totals::default(),
            kinds: Interner::new(),
            resources: Interner::new(),
            regions: Interner::new(),
            containers: Interner::new(),
            ranges: Interner::new(),
            operations: Table::new(),
            partitions: Table::new(),
            point: LatencyHistogram::new(),
            non_point: LatencyHistogram::new(),
            window,
            alerts: AlertEngine::default(),
        }
    }

    /// The window span after clamping (what alerts report as their window).
    pub fn window(&self) -> Duration {
        self.window.span()
    }

    /// Folds one finished operation in. `now` is when it ended.
    pub fn record(&mut self, sample: &OperationSample<'_>, now: Instant) {
        self.window.advance(now);
        let class = StatusClass::of(sample.status);
        let ru = sanitize_charge(sample.request_charge);
        let error = sample.is_error();

        let kind = self.kinds.intern(sample.kind);
        let resource = self.resources.intern(sample.resource);
        let region = self.regions.intern(sample.region);
        let key = operation_key(kind, resource, class, region);
        let overflow = operation_key(OTHER_ID, OTHER_ID, class, OTHER_ID);
        if let Some((_, row)) = self.operations.row(key, overflow, operation_row) {
            row.operations = row.operations.saturating_add(1);
            row.request_charge += ru;
        }

        let partition = match sample.partition_key_range {
            Some(range) => {
                let container = self.containers.intern(sample.container);
                let range = self.ranges.intern(range);
                let key = partition_key(container, range);
                let overflow = partition_key(OTHER_ID, OTHER_ID);
                self.partitions
                    .row(key, overflow, partition_row)
                    .map(|(i, row)| {
                        row.operations = row.operations.saturating_add(1);
                        row.request_charge += ru;
                        row.throttles = row.throttles.saturating_add(u64::from(sample.throttles));
                        i
                    })
            }
            None => None,
        };

        let t = &mut self.totals;
        t.operations = t.operations.saturating_add(1);
        t.classes.bump(class);
        t.errors = t.errors.saturating_add(u64::from(error));
        t.request_charge += ru;
        t.attempts = t.attempts.saturating_add(u64::from(sample.attempts));
        t.retries = t.retries.saturating_add(u64::from(sample.retries));
        t.throttles = t.throttles.saturating_add(u64::from(sample.throttles));
        t.failovers = t.failovers.saturating_add(u64::from(sample.failovers));
        t.hedges_started = t
            .hedges_started
            .saturating_add(u64::from(sample.hedges_started));
        t.hedges_won = t.hedges_won.saturating_add(u64::from(sample.hedge_won));
        t.bytes_sent = t.bytes_sent.saturating_add(sample.bytes_sent);
        t.bytes_received = t.bytes_received.saturating_add(sample.bytes_received);

        let micros = histogram::micros(sample.latency);
        if sample.point_operation {
            self.point.record_micros(micros);
        } else {
            self.non_point.record_micros(micros);
        }

        self.window.add(&WindowSample {
            point: sample.point_operation,
            micros,
            attempts: sample.attempts,
            throttles: sample.throttles,
            error,
            request_charge: ru,
            partition,
        });
    }

    /// Everything counted so far, as plain data. The window values are as of the latest instant
    /// passed to `record` or `poll_alerts` (call `poll_alerts` first for an up-to-date window).
    pub fn snapshot(&self) -> MetricsSnapshot {
        let w = self.window.totals(self.partitions.rows.len());
        let t = &self.totals;
        MetricsSnapshot {
            operations: t.operations,
            status_classes: t.classes,
            errors: t.errors,
            request_charge: t.request_charge,
            attempts: t.attempts,
            retries: t.retries,
            throttles: t.throttles,
            failovers: t.failovers,
            hedges_started: t.hedges_started,
            hedges_won: t.hedges_won,
            bytes_sent: t.bytes_sent,
            bytes_received: t.bytes_received,
            latency: LatencySummary::of(&[&self.point, &self.non_point]),
            point_latency: self.point.summary(),
            non_point_latency: self.non_point.summary(),
            by_operation: self
                .operations
                .rows
                .iter()
                .map(|r| OperationCounters {
                    kind: self.kinds.name(r.kind).to_owned(),
                    resource: self.resources.name(r.resource).to_owned(),
                    status_class: r.class,
                    region: self.regions.name(r.region).to_owned(),
                    operations: r.operations,
                    request_charge: r.request_charge,
                })
                .collect(),
            by_partition: self
                .partitions
                .rows
                .iter()
                .enumerate()
                .map(|(i, r)| PartitionCounters {
                    container: self.containers.name(r.container).to_owned(),
                    partition_key_range: self.ranges.name(r.range).to_owned(),
                    operations: r.operations,
                    request_charge: r.request_charge,
                    throttles: r.throttles,
                    window_request_charge: w.partitions.get(i).copied().unwrap_or(0.0),
                })
                .collect(),
            window: self.window_summary(&w),
            overflowed_keys: self.overflowed_keys(),
            active_alerts: self.alerts.active_count(),
            suppressed_alerts: self.alerts.suppressed,
        }
    }

    fn overflowed_keys(&self) -> u64 {
        [
            self.kinds.overflowed,
            self.resources.overflowed,
            self.regions.overflowed,
            self.containers.overflowed,
            self.ranges.overflowed,
            self.operations.overflowed,
            self.partitions.overflowed,
        ]
        .iter()
        .fold(0u64, |a, b| a.saturating_add(*b))
    }

    fn window_summary(&self, w: &WindowTotals) -> WindowSummary {
        WindowSummary {
            span: self.window.span(),
            covered: w.covered,
            operations: w.operations,
            request_units_per_second: ru_per_second(w),
            error_rate: ratio(w.errors, w.operations),
            throttle_rate: ratio(w.throttles, w.attempts),
            point_p99: Duration::from_micros(w.point_p99_micros),
            non_point_p99: Duration::from_micros(w.non_point_p99_micros),
        }
    }

    /// Evaluates the alert rules over the window ending at `now` and returns the alerts raised
    /// or cleared since the last call, in rule order (RU/s, point p99, non-point p99, error
    /// rate, throttle rate, hot partitions by first-seen range), then clears of alerts whose
    /// rule produced no value. Call it periodically (e.g. every window slot); an alert clears
    /// only at a poll at least one window span after the first poll that saw it below.
    pub fn poll_alerts(&mut self, now: Instant) -> Vec<Alert> {
        let now = self.window.advance(now);
        let w = self.window.totals(self.partitions.rows.len());
        let observations = self.observe(&w);
        let span = self.window.span();
        self.alerts
            .evaluate(&observations, now, span)
            .into_iter()
            .map(|o| {
                let row = o
                    .partition
                    .and_then(|p| self.partitions.rows.get(usize::from(p)));
                Alert {
                    kind: o.kind,
                    state: if o.above {
                        AlertState::Raised
                    } else {
                        AlertState::Cleared
                    },
                    value: o.value,
                    threshold: o.threshold,
                    window: span,
                    container: row.map(|r| self.containers.name(r.container).to_owned()),
                    partition_key_range: row.map(|r| self.ranges.name(r.range).to_owned()),
                    at: now,
                }
            })
            .collect()
    }

    /// The value of every enabled rule over the window.
    fn observe(&self, w: &WindowTotals) -> Vec<Observation> {
        let o = &self.alert_options;
        let mut out = Vec::new();
        let global = |kind, value: f64, threshold: f64, above: bool| Observation {
            kind,
            partition: None,
            value,
            threshold,
            above,
        };
        if let Some(th) = o.request_units_per_second {
            let v = ru_per_second(w);
            out.push(global(AlertKind::RequestUnitsPerSecond, v, th, v > th));
        }
        let latency_rules = [
            (
                AlertKind::PointLatencyP99,
                o.point_latency_p99,
                w.point_operations,
                w.point_over,
                w.point_p99_micros,
            ),
            (
                AlertKind::NonPointLatencyP99,
                o.non_point_latency_p99,
                w.non_point_operations,
                w.non_point_over,
                w.non_point_p99_micros,
            ),
        ];
        for (kind, threshold, n, over, p99) in latency_rules {
            let Some(threshold) = threshold else { continue };
            let th_ms = threshold.as_secs_f64() * 1e3;
            let estimate = p99 as f64 / 1e3;
            let enough = n >= o.min_operations.max(1);
            // Nearest-rank p99 > T exactly when more than 1 % of the samples exceed T; the
            // counts are exact, the coarse estimate is only moved to the side they decided.
            let above = enough && over.saturating_mul(100) > n;
            let value = match (enough, above) {
                (true, true) => estimate.max(th_ms),
                (true, false) => estimate.min(th_ms),
                (false, _) => estimate,
            };
            out.push(global(kind, value, th_ms, above));
        }
        let enough = w.operations >= o.min_operations.max(1);
        if let Some(th) = o.error_rate {
            let v = ratio(w.errors, w.operations);
            out.push(global(AlertKind::ErrorRate, v, th, enough && v > th));
        }
        if let Some(th) = o.throttle_rate {
            let v = ratio(w.throttles, w.attempts);
            out.push(global(AlertKind::ThrottleRate, v, th, enough && v > th));
        }
        if let Some(th) = o.hot_partition_share {
            self.observe_partitions(w, th, &mut out);
        }
        out
    }

    /// Hot-partition observations: one per range with RU in the window or an active alert.
    fn observe_partitions(&self, w: &WindowTotals, threshold: f64, out: &mut Vec<Observation>) {
        let o = &self.alert_options;
        let rows = &self.partitions.rows;
        let attributable = |r: &PartitionRow| r.container != OTHER_ID && r.range != OTHER_ID;
        let containers = rows.iter().map(|r| usize::from(r.container)).max();
        let Some(containers) = containers.map(|c| c + 1) else {
            return;
        };
        let mut ranges_seen = vec![0usize; containers];
        let mut container_ru = vec![0.0f64; containers];
        for (i, r) in rows.iter().enumerate() {
            if !attributable(r) {
                continue;
            }
            let c = usize::from(r.container);
            if let Some(n) = ranges_seen.get_mut(c) {
                *n += 1;
            }
            if let Some(ru) = container_ru.get_mut(c) {
                *ru += w.partitions.get(i).copied().unwrap_or(0.0);
            }
        }
        for (i, r) in rows.iter().enumerate() {
            let Ok(index) = u16::try_from(i) else { break };
            let ru = w.partitions.get(i).copied().unwrap_or(0.0);
            let active = self.alerts.is_active(AlertKind::HotPartition, Some(index));
            if !attributable(r) || (ru <= 0.0 && !active) {
                continue;
            }
            let c = usize::from(r.container);
            let total = container_ru.get(c).copied().unwrap_or(0.0);
            let seen = ranges_seen.get(c).copied().unwrap_or(0);
            let share = if total > 0.0 { ru / total } else { 0.0 };
            let qualifies = seen >= o.hot_partition_min_ranges
                && total >= o.hot_partition_min_request_charge
                && total > 0.0;
            out.push(Observation {
                kind: AlertKind::HotPartition,
                partition: Some(index),
                value: share,
                threshold,
                above: qualifies && share > threshold,
            });
        }
    }
}

/// `num / den`, 0 when `den` is 0.
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Window RU divided by the time the window covers.
fn ru_per_second(w: &WindowTotals) -> f64 {
    let secs = w.covered.as_secs_f64();
    if secs > 0.0 {
        w.request_charge / secs
    } else {
        0.0
    }
}
