//! `sextant monitor`: probes the container at a steady rate and reports the driver's live
//! metrics (window RU/s, p99 latencies, error and throttle rates) and every alert raised or
//! cleared, one line per interval (`--output json`: one JSON document per line).

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sextant_blocking::core::metrics::{Alert, AlertOptions, AlertState, MetricsOptions};
use sextant_blocking::{CosmosOperation, DriverOptions, QuerySpec};

use super::Context;
use crate::args::MonitorArgs;
use crate::failure::{exit_of, CliError, Exit};
use crate::values::partition_key;

/// Slots of the sliding window (its resolution: window / slots).
const WINDOW_SLOTS: usize = 10;

fn alert_json(a: &Alert) -> Value {
    json!({
        "kind": a.kind.as_str(),
        "state": match a.state { AlertState::Raised => "raised", AlertState::Cleared => "cleared" },
        "value": a.value,
        "threshold": a.threshold,
        "container": a.container,
        "partition_key_range": a.partition_key_range,
    })
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs the probes and reports until `--duration` or `--count` (or forever).
pub fn run(cx: &mut Context, a: MonitorArgs) -> Result<Exit, CliError> {
    if a.interval.is_zero() || a.window.is_zero() {
        return Err(CliError::invalid(
            "--interval and --window must be above zero",
        ));
    }
    let alerts = AlertOptions {
        request_units_per_second: a.alert_ru_per_second,
        point_latency_p99: Some(Duration::from_secs_f64(a.alert_p99_ms.max(0.0) / 1000.0)),
        non_point_latency_p99: a
            .alert_query_p99_ms
            .map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1000.0)),
        error_rate: Some(a.alert_error_rate),
        throttle_rate: Some(a.alert_throttle_rate),
        min_operations: a.min_operations,
        ..AlertOptions::default()
    };
    let options = DriverOptions::builder()
        .metrics(MetricsOptions {
            window: a.window,
            window_slots: WINDOW_SLOTS,
            alerts,
        })
        .build()?;
    let driver = cx.driver_with(Some(options))?;
    let container = cx.container(&driver)?;
    let client = cx.container_client(&driver)?;
    let probe_key = match (&a.probe_id, &a.probe_pk) {
        (Some(id), Some(pk)) => Some((id.clone(), partition_key(pk)?)),
        _ => None,
    };
    let probe = || -> Result<(), sextant_blocking::CosmosError> {
        match &probe_key {
            Some((id, pk)) => client.read_item::<Value>(pk.clone(), id).map(|_| ()),
            None => {
                let op = CosmosOperation::query(
                    container.clone(),
                    QuerySpec::new("SELECT TOP 1 c.id FROM c"),
                );
                let mut pager = driver.query(op, None)?;
                while let Some(page) = pager.next_page() {
                    page?;
                }
                Ok(())
            }
        }
    };
    // The first probe must work: a wrong container or key is an error, not a metric.
    probe().map_err(CliError::from)?;

    let start = Instant::now();
    let gap = a.interval / a.probes.max(1);
    let mut raised_any = false;
    let mut tick = 0u64;
    let mut probe_errors = 0u64;
    loop {
        let tick_end = start + a.interval * (tick as u32 + 1);
        for _ in 0..a.probes {
            if let Err(e) = probe() {
                probe_errors += 1;
                // Probes go on through outages (that is what the error rate is for), but a
                // refused credential will not heal by itself.
                if exit_of(&e) == Exit::Auth {
                    return Err(e.into());
                }
            }
            let next = Instant::now() + gap;
            std::thread::sleep(next.min(tick_end).saturating_duration_since(Instant::now()));
        }
        std::thread::sleep(tick_end.saturating_duration_since(Instant::now()));
        tick += 1;
        let m = driver.metrics();
        let events = driver.poll_alerts();
        raised_any |= events.iter().any(|e| e.state == AlertState::Raised);
        let w = &m.window;
        if cx.output.json() {
            cx.output.print_json(&json!({
                "tick": tick,
                "elapsed_ms": start.elapsed().as_millis() as u64,
                "operations": m.operations,
                "probe_errors": probe_errors,
                "window": {
                    "operations": w.operations,
                    "ru_per_second": w.request_units_per_second,
                    "point_p99_ms": millis(w.point_p99),
                    "query_p99_ms": millis(w.non_point_p99),
                    "error_rate": w.error_rate,
                    "throttle_rate": w.throttle_rate,
                },
                "active_alerts": m.active_alerts,
                "alerts": events.iter().map(alert_json).collect::<Vec<_>>(),
            }))?;
        } else {
            cx.output.line(&format!(
                "{:>6.1}s  ops {:>5} | {:>7.2} RU/s | p99 point {:>6.1} ms | p99 query {:>6.1} ms | errors {:>5.1}% | throttled {:>5.1}%",
                start.elapsed().as_secs_f64(),
                w.operations,
                w.request_units_per_second,
                millis(w.point_p99),
                millis(w.non_point_p99),
                w.error_rate * 100.0,
                w.throttle_rate * 100.0
            ))?;
            for e in &events {
                cx.output.line(&format!("        ALERT {e}"))?;
            }
        }
        let out_of_time = a.duration.is_some_and(|d| start.elapsed() >= d);
        if out_of_time || a.count.is_some_and(|c| tick >= c) {
            break;
        }
    }
    Ok(if a.fail_on_alert && raised_any {
        Exit::Alert
    } else {
        Exit::Success
    })
}
