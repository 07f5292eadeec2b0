//! Export to the `metrics` facade (feature `metrics-facade`): whatever recorder the application
//! installed (Prometheus, StatsD, ...) receives the driver's counters and latency quantiles.

use crate::metrics::MetricsSnapshot;

/// Publishes `snapshot` under `sextant.*` names, labelled with `account`. Counters are reported
/// as absolute totals (the snapshot's counters only grow); quantiles as gauges in seconds.
pub fn export_to_metrics_facade(snapshot: &MetricsSnapshot, account: &str) {
    let labels = [("account", account.to_owned())];
    let counters: [(&'static str, u64); 10] = [
        ("sextant.operations", snapshot.operations),
        ("sextant.errors", snapshot.errors),
        ("sextant.attempts", snapshot.attempts),
        ("sextant.retries", snapshot.retries),
        ("sextant.throttles", snapshot.throttles),
        ("sextant.failovers", snapshot.failovers),
        ("sextant.hedges_started", snapshot.hedges_started),
        ("sextant.hedges_won", snapshot.hedges_won),
        ("sextant.bytes_sent", snapshot.bytes_sent),
        ("sextant.bytes_received", snapshot.bytes_received),
    ];
    for (name, value) in counters {
        metrics::counter!(name, &labels).absolute(value);
    }
    metrics::gauge!("sextant.request_charge", &labels).set(snapshot.request_charge);
    let l = &snapshot.latency;
    for (q, d) in [
        ("p50", l.p50),
        ("p90", l.p90),
        ("p99", l.p99),
        ("p999", l.p999),
    ] {
        let labels = [("account", account.to_owned()), ("quantile", q.to_owned())];
        metrics::gauge!("sextant.latency_seconds", &labels).set(d.as_secs_f64());
    }
}
