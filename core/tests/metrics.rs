//! Metrics and alerts on synthetic timelines: counters, quantiles within the histogram's error
//! bound, key bounds, each alert's raise/clear hysteresis, and determinism.
//!
//! The tests play the transport: they take one real `Instant` as the base of a virtual timeline.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use sextant_core::metrics::{
    AlertKind, AlertOptions, AlertState, LatencyHistogram, Metrics, MetricsOptions,
    OperationSample, StatusClass, MAX_ACTIVE_ALERTS, MAX_KEYS_PER_DIMENSION, OTHER,
};

#[allow(clippy::disallowed_methods)]
fn base() -> Instant {
    Instant::now()
}

fn at(base: Instant, secs: f64) -> Instant {
    base + Duration::from_secs_f64(secs)
}

/// A successful 1 RU point read in "West US", 3 ms, on range "0" of container "c".
fn read() -> OperationSample<'static> {
    OperationSample {
        kind: "read",
        resource: "docs",
        status: Some(200),
        sub_status: None,
        region: "West US",
        container: "dbs/db/colls/c",
        partition_key_range: Some("0"),
        request_charge: 1.0,
        latency: Duration::from_millis(3),
        attempts: 1,
        retries: 0,
        throttles: 0,
        failovers: 0,
        hedges_started: 0,
        hedge_won: false,
        bytes_sent: 0,
        bytes_received: 100,
        point_operation: true,
    }
}

fn only(alerts: AlertOptions) -> Metrics {
    Metrics::new(MetricsOptions {
        alerts,
        ..MetricsOptions::default()
    })
}

// ---------------------------------------------------------------- counters

#[test]
fn counters_by_key_and_totals() {
    let t0 = base();
    let mut m = Metrics::default();
    for _ in 0..3 {
        m.record(&read(), t0);
    }
    m.record(
        &OperationSample {
            status: Some(404),
            sub_status: Some(0),
            ..read()
        },
        t0,
    );
    m.record(
        &OperationSample {
            kind: "create",
            status: Some(201),
            region: "East US",
            request_charge: 5.5,
            attempts: 3,
            retries: 2,
            throttles: 1,
            failovers: 1,
            hedges_started: 1,
            hedge_won: true,
            bytes_sent: 1_000,
            bytes_received: 200,
            partition_key_range: Some("1"),
            ..read()
        },
        t0,
    );
    m.record(
        &OperationSample {
            kind: "read_feed",
            resource: "colls",
            status: None,
            region: "",
            container: "",
            partition_key_range: None,
            request_charge: f64::NAN,
            attempts: 1,
            point_operation: false,
            ..read()
        },
        t0,
    );
    let s = m.snapshot();
    assert_eq!(s.operations, 6);
    assert_eq!(s.status_classes.success, 4);
    assert_eq!(s.status_classes.client_error, 1);
    assert_eq!(s.status_classes.other, 1);
    assert_eq!(
        s.errors, 1,
        "no response after an attempt is an error; 404 is not"
    );
    assert_eq!(s.request_charge, 4.0 + 5.5, "NaN charge counts as 0");
    assert_eq!(s.attempts, 8);
    assert_eq!(s.retries, 2);
    assert_eq!(s.throttles, 1);
    assert_eq!(s.failovers, 1);
    assert_eq!((s.hedges_won, s.hedges_started), (1, 1));
    assert_eq!(s.bytes_sent, 1_000);
    assert_eq!(s.bytes_received, 5 * 100 + 200);
    assert_eq!(s.point_latency.count, 5);
    assert_eq!(s.non_point_latency.count, 1);
    assert_eq!(s.latency.count, 6);

    let rows: Vec<_> = s
        .by_operation
        .iter()
        .map(|r| {
            (
                r.kind.as_str(),
                r.resource.as_str(),
                r.status_class,
                r.region.as_str(),
                r.operations,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("read", "docs", StatusClass::Success, "West US", 3),
            ("read", "docs", StatusClass::ClientError, "West US", 1),
            ("create", "docs", StatusClass::Success, "East US", 1),
            ("read_feed", "colls", StatusClass::Other, "", 1),
        ]
    );
    let parts: Vec<_> = s
        .by_partition
        .iter()
        .map(|p| {
            (
                p.partition_key_range.as_str(),
                p.operations,
                p.request_charge,
                p.throttles,
            )
        })
        .collect();
    assert_eq!(parts, vec![("0", 4, 4.0, 0), ("1", 1, 5.5, 1)]);
    assert_eq!(s.by_partition[0].window_request_charge, 4.0);
    assert_eq!(s.overflowed_keys, 0);
}

#[test]
fn status_classes() {
    for (status, class) in [
        (Some(200), StatusClass::Success),
        (Some(304), StatusClass::Redirection),
        (Some(429), StatusClass::ClientError),
        (Some(503), StatusClass::ServerError),
        (Some(99), StatusClass::Other),
        (None, StatusClass::Other),
    ] {
        assert_eq!(StatusClass::of(status), class, "{status:?}");
    }
    let failed = |status, attempts| {
        OperationSample {
            status,
            attempts,
            ..read()
        }
        .is_error()
    };
    assert!(failed(Some(500), 1));
    assert!(failed(Some(408), 1));
    assert!(failed(None, 1));
    assert!(
        !failed(None, 0),
        "nothing sent (config error, cancelled first)"
    );
    assert!(!failed(Some(429), 10));
    assert!(!failed(Some(404), 1));
}

#[test]
fn display_is_one_line_summary() {
    let t0 = base();
    let mut m = Metrics::default();
    for i in 0..10u64 {
        m.record(
            &OperationSample {
                latency: Duration::from_micros(1_200 + 100 * i),
                request_charge: 2.0,
                bytes_received: 120_000,
                bytes_sent: 30_000,
                ..read()
            },
            at(t0, 0.0),
        );
    }
    m.record(
        &OperationSample {
            status: Some(429),
            throttles: 3,
            retries: 5,
            attempts: 6,
            latency: Duration::from_millis(8),
            ..read()
        },
        at(t0, 0.5),
    );
    let line = m.snapshot().to_string();
    // 21 RU over the 1 s the window has covered (at least one slot).
    assert_eq!(
        line,
        "ops=11 ok=90.9% ru/s=21.0 p50=1.7ms p99=8.0ms throttles=3 retries=5 failovers=0 \
         hedges=0/0 in=1.2MB out=0.3MB"
    );
    assert!(!line.contains('\n'));
}

// ---------------------------------------------------------------- quantiles

/// Nearest-rank quantile of sorted values.
fn exact(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn assert_close(got: Duration, want_us: u64, what: &str) {
    let got = got.as_micros() as f64;
    let want = want_us as f64;
    let bound = (want / 64.0).max(1.0);
    assert!(
        (got - want).abs() <= bound,
        "{what}: got {got}µs want {want}µs ± {bound}"
    );
}

#[test]
fn quantiles_within_error_bound() {
    // A deterministic spread over 1 µs .. 20 s (LCG, log-uniform-ish).
    let mut x: u64 = 12345;
    let mut values = Vec::new();
    let mut h = LatencyHistogram::new();
    for _ in 0..20_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let exp = (x >> 59) as u32 % 25; // 2^0 .. 2^24 µs
        let v = (1u64 << exp) + (x >> 20) % (1u64 << exp);
        values.push(v);
        h.record(Duration::from_micros(v));
    }
    values.sort_unstable();
    for q in [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0] {
        assert_close(h.quantile(q).unwrap(), exact(&values, q), &format!("q={q}"));
    }
    let s = h.summary();
    assert_eq!(s.count, 20_000);
    assert_eq!(s.max, Duration::from_micros(*values.last().unwrap()));
    assert_close(s.p50, exact(&values, 0.5), "p50");
    assert_close(s.p90, exact(&values, 0.9), "p90");
    assert_close(s.p99, exact(&values, 0.99), "p99");
    assert_close(s.p999, exact(&values, 0.999), "p999");
}

#[test]
fn quantiles_on_known_inputs() {
    let t0 = base();
    let mut m = Metrics::default();
    // 1 ms .. 1000 ms, one each.
    for ms in 1..=1000u64 {
        m.record(
            &OperationSample {
                latency: Duration::from_millis(ms),
                ..read()
            },
            t0,
        );
    }
    let p = m.snapshot().point_latency;
    assert_close(p.p50, 500_000, "p50");
    assert_close(p.p90, 900_000, "p90");
    assert_close(p.p99, 990_000, "p99");
    assert_close(p.p999, 999_000, "p999");
    assert_eq!(p.max, Duration::from_secs(1));
    assert_eq!(p.mean, Duration::from_micros(500_500));

    // Small values are exact; empty histograms report nothing.
    let mut h = LatencyHistogram::new();
    assert_eq!(h.quantile(0.5), None);
    for us in [3, 5, 7, 9] {
        h.record(Duration::from_micros(us));
    }
    assert_eq!(h.quantile(0.5), Some(Duration::from_micros(5)));
    assert_eq!(h.quantile(1.0), Some(Duration::from_micros(9)));
    // Beyond the trackable range: counted, maximum exact.
    h.record(Duration::from_secs(3600));
    assert_eq!(h.quantile(1.0), Some(Duration::from_secs(3600)));
    assert_eq!(h.count(), 5);
}

// ---------------------------------------------------------------- bounds

#[test]
fn keys_are_bounded_and_overflow_into_other() {
    let t0 = base();
    let mut m = Metrics::default();
    let names: Vec<String> = (0..300).map(|i| format!("region-{i}")).collect();
    let ranges: Vec<String> = (0..300).map(|i| i.to_string()).collect();
    for (region, range) in names.iter().zip(&ranges) {
        m.record(
            &OperationSample {
                region,
                partition_key_range: Some(range),
                ..read()
            },
            t0,
        );
    }
    let s = m.snapshot();
    assert_eq!(s.operations, 300);
    assert!(s.by_operation.len() <= MAX_KEYS_PER_DIMENSION + 1);
    assert!(s.by_partition.len() <= MAX_KEYS_PER_DIMENSION + 1);
    let other_ops: u64 = s
        .by_operation
        .iter()
        .filter(|r| r.region == OTHER)
        .map(|r| r.operations)
        .sum();
    assert_eq!(other_ops, 300 - MAX_KEYS_PER_DIMENSION as u64);
    let counted: u64 = s.by_operation.iter().map(|r| r.operations).sum();
    assert_eq!(counted, 300, "overflow is folded, never dropped");
    let other_ranges: u64 = s
        .by_partition
        .iter()
        .filter(|r| r.partition_key_range == OTHER)
        .map(|r| r.operations)
        .sum();
    assert_eq!(other_ranges, 300 - MAX_KEYS_PER_DIMENSION as u64);
    assert!(s.overflowed_keys >= 2 * (300 - MAX_KEYS_PER_DIMENSION as u64));
}

#[test]
fn time_never_runs_back_and_idle_gaps_empty_the_window() {
    let t0 = base();
    let mut m = Metrics::default();
    m.record(&read(), at(t0, 10.0));
    // An earlier instant counts as the latest seen.
    m.record(&read(), at(t0, 5.0));
    assert_eq!(m.snapshot().window.operations, 2);
    // A long idle gap clears every slot without walking them one by one.
    assert!(m.poll_alerts(at(t0, 10.0 + 86_400.0)).is_empty());
    let s = m.snapshot();
    assert_eq!(s.window.operations, 0);
    assert_eq!(s.window.request_units_per_second, 0.0);
    assert_eq!(s.operations, 2, "totals are since start");
    m.record(&read(), at(t0, 10.0 + 86_400.5));
    assert_eq!(m.snapshot().window.operations, 1);
}

#[test]
fn ru_per_second_over_the_window() {
    let t0 = base();
    let mut m = Metrics::default();
    // 60 RU every second for 120 s.
    for sec in 0..120 {
        for _ in 0..6 {
            m.record(
                &OperationSample {
                    request_charge: 10.0,
                    ..read()
                },
                at(t0, f64::from(sec) + 0.25),
            );
        }
    }
    m.poll_alerts(at(t0, 120.0));
    let w = m.snapshot().window;
    assert_eq!(w.span, Duration::from_secs(60));
    assert!(w.covered >= Duration::from_secs(59) && w.covered <= Duration::from_secs(60));
    assert!(
        (w.request_units_per_second - 60.0).abs() < 1.5,
        "{}",
        w.request_units_per_second
    );
    // During the first window the rate divides by the time covered, not the full span.
    let mut m = Metrics::default();
    for sec in 0..10 {
        m.record(
            &OperationSample {
                request_charge: 60.0,
                ..read()
            },
            at(t0, f64::from(sec)),
        );
    }
    m.poll_alerts(at(t0, 10.0));
    let ru_s = m.snapshot().window.request_units_per_second;
    assert!((ru_s - 60.0).abs() < 0.01, "{ru_s}");
}

// ---------------------------------------------------------------- alerts

/// 200 operations at `t`, `bad` of them shaped by `f`.
fn burst(m: &mut Metrics, t: Instant, n: u32, bad: u32, f: impl Fn() -> OperationSample<'static>) {
    for i in 0..n {
        if i < bad {
            m.record(&f(), t);
        } else {
            m.record(&read(), t);
        }
    }
}

fn events(alerts: &[sextant_core::metrics::Alert], kind: AlertKind) -> Vec<AlertState> {
    alerts
        .iter()
        .filter(|a| a.kind == kind)
        .map(|a| a.state)
        .collect()
}

#[test]
fn throttle_rate_raises_once_and_clears_after_a_full_window_below() {
    let t0 = base();
    let mut m = only(AlertOptions {
        throttle_rate: Some(0.05),
        ..AlertOptions::disabled()
    });
    let throttled = || OperationSample {
        attempts: 2,
        retries: 1,
        throttles: 1,
        latency: Duration::from_millis(40),
        ..read()
    };
    // 20 of 200 operations saw one 429: 20 / 220 attempts = 9.1 %.
    burst(&mut m, t0, 200, 20, throttled);
    let a = m.poll_alerts(t0);
    assert_eq!(
        events(&a, AlertKind::ThrottleRate),
        vec![AlertState::Raised]
    );
    let raised = &a[0];
    assert!((raised.value - 20.0 / 220.0).abs() < 1e-9);
    assert_eq!(raised.threshold, 0.05);
    assert_eq!(raised.window, Duration::from_secs(60));
    assert_eq!(raised.container, None);
    assert!(raised
        .to_string()
        .starts_with("RAISED throttle_rate 9.09% > 5.00%"));

    // Still above: never raised twice.
    burst(&mut m, at(t0, 30.0), 200, 20, throttled);
    assert!(m.poll_alerts(at(t0, 30.0)).is_empty());
    // The burst at t=30 leaves the window at t=90: below from then on (no traffic).
    for s in [60.0, 89.0] {
        assert!(m.poll_alerts(at(t0, s)).is_empty(), "t={s}");
    }
    assert!(m.poll_alerts(at(t0, 90.0)).is_empty(), "first poll below");
    assert!(m.poll_alerts(at(t0, 149.0)).is_empty(), "59 s below: hold");
    let a = m.poll_alerts(at(t0, 150.0));
    assert_eq!(
        events(&a, AlertKind::ThrottleRate),
        vec![AlertState::Cleared]
    );
    assert_eq!(a[0].at, at(t0, 150.0));
    assert!(m.poll_alerts(at(t0, 300.0)).is_empty(), "cleared once");
    assert_eq!(m.snapshot().active_alerts, 0);
}

#[test]
fn going_above_again_during_the_hold_resets_it_without_a_new_raise() {
    let t0 = base();
    let mut m = only(AlertOptions {
        error_rate: Some(0.01),
        ..AlertOptions::disabled()
    });
    let failed = || OperationSample {
        status: Some(503),
        ..read()
    };
    burst(&mut m, t0, 200, 10, failed);
    assert_eq!(
        events(&m.poll_alerts(t0), AlertKind::ErrorRate),
        vec![AlertState::Raised]
    );
    assert!(m.poll_alerts(at(t0, 60.0)).is_empty(), "below since 60");
    burst(&mut m, at(t0, 90.0), 200, 10, failed);
    assert!(
        m.poll_alerts(at(t0, 90.0)).is_empty(),
        "above again: no new raise"
    );
    assert!(
        m.poll_alerts(at(t0, 120.0)).is_empty(),
        "the hold restarted"
    );
    assert!(m.poll_alerts(at(t0, 150.0)).is_empty(), "below since 150");
    assert!(m.poll_alerts(at(t0, 209.0)).is_empty());
    assert_eq!(
        events(&m.poll_alerts(at(t0, 210.0)), AlertKind::ErrorRate),
        vec![AlertState::Cleared]
    );
}

#[test]
fn error_rate_threshold_is_strict_and_needs_enough_operations() {
    let t0 = base();
    let opts = AlertOptions {
        error_rate: Some(0.01),
        ..AlertOptions::disabled()
    };
    let failed = || OperationSample {
        status: None,
        attempts: 1,
        ..read()
    };
    // Exactly 1 %: not above.
    let mut m = only(opts.clone());
    burst(&mut m, t0, 1000, 10, failed);
    assert!(m.poll_alerts(t0).is_empty());
    // 1.1 %: above.
    let mut m = only(opts.clone());
    burst(&mut m, t0, 1000, 11, failed);
    let a = m.poll_alerts(t0);
    assert_eq!(events(&a, AlertKind::ErrorRate), vec![AlertState::Raised]);
    assert!((a[0].value - 0.011).abs() < 1e-12);
    // 50 % of 50 operations: too few to judge (min_operations = 100).
    let mut m = only(opts.clone());
    burst(&mut m, t0, 50, 25, failed);
    assert!(m.poll_alerts(t0).is_empty());
    // Nothing sent (configuration errors) is not a failure of the service.
    let mut m = only(opts);
    burst(&mut m, t0, 200, 100, || OperationSample {
        status: None,
        attempts: 0,
        ..read()
    });
    assert!(m.poll_alerts(t0).is_empty());
}

#[test]
fn point_latency_p99_uses_exact_counts_and_reports_an_estimate() {
    let t0 = base();
    let opts = AlertOptions {
        point_latency_p99: Some(Duration::from_millis(100)),
        ..AlertOptions::disabled()
    };
    let slow = || OperationSample {
        latency: Duration::from_millis(300),
        ..read()
    };
    // 10 of 1000 over 100 ms: p99 (rank 990) is still 3 ms.
    let mut m = only(opts.clone());
    burst(&mut m, t0, 1000, 10, slow);
    assert!(m.poll_alerts(t0).is_empty());
    let p99 = m.snapshot().window.point_p99;
    assert!(p99 < Duration::from_millis(4), "{p99:?}");
    // 11 of 1000: p99 is 300 ms.
    let mut m = only(opts.clone());
    burst(&mut m, t0, 1000, 11, slow);
    let a = m.poll_alerts(t0);
    assert_eq!(
        events(&a, AlertKind::PointLatencyP99),
        vec![AlertState::Raised]
    );
    assert!((a[0].value - 300.0).abs() <= 300.0 / 16.0, "{}", a[0].value);
    assert_eq!(a[0].threshold, 100.0);
    // Non-point operations do not count toward the point rule.
    let mut m = only(opts);
    burst(&mut m, t0, 1000, 0, read);
    for _ in 0..100 {
        m.record(
            &OperationSample {
                point_operation: false,
                kind: "read_feed",
                ..slow()
            },
            t0,
        );
    }
    assert!(m.poll_alerts(t0).is_empty());
    // Clears a full window after the slow operations leave it.
    let mut m = only(AlertOptions {
        point_latency_p99: Some(Duration::from_millis(100)),
        ..AlertOptions::disabled()
    });
    burst(&mut m, t0, 200, 20, slow);
    assert_eq!(m.poll_alerts(t0).len(), 1);
    for sec in 1..=200u32 {
        burst(&mut m, at(t0, f64::from(sec)), 5, 0, read);
        let a = m.poll_alerts(at(t0, f64::from(sec)));
        if sec < 120 {
            assert!(a.is_empty(), "t={sec}");
        } else if sec == 120 {
            assert_eq!(
                events(&a, AlertKind::PointLatencyP99),
                vec![AlertState::Cleared],
                "below from t=60 (the slow slot left), cleared at t=120"
            );
        } else {
            assert!(a.is_empty(), "t={sec}");
        }
    }
}

#[test]
fn non_point_latency_rule_is_off_by_default() {
    let t0 = base();
    let mut m = Metrics::default();
    for _ in 0..500 {
        m.record(
            &OperationSample {
                point_operation: false,
                kind: "read_feed",
                partition_key_range: None,
                latency: Duration::from_secs(2),
                ..read()
            },
            t0,
        );
    }
    assert!(m.poll_alerts(t0).is_empty());
    let mut m = only(AlertOptions {
        non_point_latency_p99: Some(Duration::from_secs(1)),
        ..AlertOptions::disabled()
    });
    for _ in 0..500 {
        m.record(
            &OperationSample {
                point_operation: false,
                latency: Duration::from_secs(2),
                ..read()
            },
            t0,
        );
    }
    assert_eq!(
        events(&m.poll_alerts(t0), AlertKind::NonPointLatencyP99),
        vec![AlertState::Raised]
    );
}

#[test]
fn ru_per_second_rule_when_configured() {
    let t0 = base();
    // Off by default.
    let mut m = Metrics::default();
    for sec in 0..10 {
        burst(&mut m, at(t0, f64::from(sec)), 10, 10, || OperationSample {
            request_charge: 50.0,
            ..read()
        });
    }
    assert!(m
        .poll_alerts(at(t0, 10.0))
        .iter()
        .all(|a| a.kind != AlertKind::RequestUnitsPerSecond));

    let mut m = only(AlertOptions {
        request_units_per_second: Some(400.0),
        ..AlertOptions::disabled()
    });
    // 500 RU/s for 10 s.
    for sec in 0..10 {
        burst(&mut m, at(t0, f64::from(sec)), 10, 10, || OperationSample {
            request_charge: 50.0,
            ..read()
        });
    }
    let a = m.poll_alerts(at(t0, 10.0));
    assert_eq!(
        events(&a, AlertKind::RequestUnitsPerSecond),
        vec![AlertState::Raised]
    );
    assert!((a[0].value - 500.0).abs() < 1.0, "{}", a[0].value);
    // Traffic stops: by t=40 the 5000 RU average 125 RU/s over the 40 s covered (below), and
    // the alert clears a full window later.
    let a = m.poll_alerts(at(t0, 40.0));
    assert!(a.is_empty());
    assert!((m.snapshot().window.request_units_per_second - 125.0).abs() < 1e-9);
    assert!(m.poll_alerts(at(t0, 99.0)).is_empty());
    assert_eq!(
        events(
            &m.poll_alerts(at(t0, 100.0)),
            AlertKind::RequestUnitsPerSecond
        ),
        vec![AlertState::Cleared]
    );
}

fn on(container: &'static str, range: &'static str, ru: f64) -> OperationSample<'static> {
    OperationSample {
        container,
        partition_key_range: Some(range),
        request_charge: ru,
        ..read()
    }
}

#[test]
fn hot_partition_by_ru_share() {
    let t0 = base();
    let mut m = only(AlertOptions {
        hot_partition_share: Some(0.5),
        ..AlertOptions::disabled()
    });
    // c1: four ranges, range 2 takes 700 of 730 RU (96 %).
    for range in ["0", "1", "3"] {
        m.record(&on("c1", range, 10.0), t0);
    }
    for _ in 0..70 {
        m.record(&on("c1", "2", 10.0), t0);
    }
    // c2: two ranges only, all RU on one: not judged (min 3 ranges).
    m.record(&on("c2", "0", 1.0), t0);
    for _ in 0..200 {
        m.record(&on("c2", "1", 5.0), t0);
    }
    // c3: four ranges but only 40 RU: below the 100 RU floor.
    for range in ["0", "1", "2", "3"] {
        m.record(&on("c3", "0", 5.0), t0);
        m.record(&on("c3", range, 5.0), t0);
    }
    let a = m.poll_alerts(t0);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].kind, AlertKind::HotPartition);
    assert_eq!(a[0].state, AlertState::Raised);
    assert_eq!(a[0].container.as_deref(), Some("c1"));
    assert_eq!(a[0].partition_key_range.as_deref(), Some("2"));
    assert!((a[0].value - 700.0 / 730.0).abs() < 1e-9);
    assert!(a[0].to_string().contains("c1 range 2"));

    // Balanced traffic from t=1 on: the hot second leaves the window at t=60, clear at t=120.
    for sec in 1..=130u32 {
        let t = at(t0, f64::from(sec));
        for range in ["0", "1", "2", "3"] {
            m.record(&on("c1", range, 1.0), t);
        }
        let a = m.poll_alerts(t);
        match sec {
            120 => {
                assert_eq!(a.len(), 1, "{a:?}");
                assert_eq!(a[0].state, AlertState::Cleared);
                assert_eq!(a[0].partition_key_range.as_deref(), Some("2"));
                assert!((a[0].value - 0.25).abs() < 1e-9);
            }
            _ => assert!(a.is_empty(), "t={sec}: {a:?}"),
        }
    }
}

#[test]
fn active_alerts_are_bounded() {
    let t0 = base();
    let mut m = only(AlertOptions {
        hot_partition_share: Some(0.0),
        hot_partition_min_request_charge: 0.0,
        ..AlertOptions::disabled()
    });
    let ranges: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    for r in &ranges {
        m.record(
            &OperationSample {
                partition_key_range: Some(r),
                ..read()
            },
            t0,
        );
    }
    let a = m.poll_alerts(t0);
    assert_eq!(a.len(), MAX_ACTIVE_ALERTS);
    let s = m.snapshot();
    assert_eq!(s.active_alerts, MAX_ACTIVE_ALERTS);
    assert_eq!(s.suppressed_alerts, 40 - MAX_ACTIVE_ALERTS as u64);
    assert!(m.poll_alerts(at(t0, 1.0)).is_empty(), "no raise twice");
}

#[test]
fn invalid_options_are_clamped_or_disabled() {
    let t0 = base();
    let mut m = Metrics::new(MetricsOptions {
        window: Duration::ZERO,
        window_slots: 0,
        alerts: AlertOptions {
            error_rate: Some(f64::NAN),
            throttle_rate: Some(-1.0),
            ..AlertOptions::default()
        },
    });
    assert_eq!(m.window(), Duration::from_secs(1));
    burst(&mut m, t0, 200, 200, || OperationSample {
        status: Some(500),
        throttles: 1,
        ..read()
    });
    assert!(m.poll_alerts(t0).is_empty());
    let m = Metrics::new(MetricsOptions {
        window: Duration::from_secs(86_400),
        window_slots: 1_000_000,
        ..MetricsOptions::default()
    });
    assert_eq!(m.window(), Duration::from_secs(3600));
}

// ---------------------------------------------------------------- determinism

fn scripted(t0: Instant) -> (Metrics, Vec<sextant_core::metrics::Alert>) {
    let mut m = Metrics::default();
    let mut all = Vec::new();
    let mut x: u64 = 7;
    let regions = ["West US", "East US", "North Europe"];
    let ranges = ["0", "1", "2", "3", "4"];
    for step in 0..20_000u32 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = (x >> 33) as usize;
        let t = at(t0, f64::from(step) * 0.01);
        let sample = OperationSample {
            status: Some([200, 200, 200, 201, 404, 429, 503][r % 7]),
            region: regions[r % 3],
            partition_key_range: Some(if r.is_multiple_of(4) {
                "0"
            } else {
                ranges[r % 5]
            }),
            request_charge: (r % 50) as f64 * 0.37,
            latency: Duration::from_micros((r % 200_000) as u64),
            throttles: u32::from(r % 7 == 5),
            attempts: 1 + u32::from(r % 7 == 5),
            point_operation: !r.is_multiple_of(10),
            ..read()
        };
        m.record(&sample, t);
        if step % 100 == 0 {
            all.extend(m.poll_alerts(t));
        }
    }
    (m, all)
}

#[test]
fn same_timeline_same_snapshot_and_alerts() {
    let t0 = base();
    let (a, alerts_a) = scripted(t0);
    let (b, alerts_b) = scripted(t0);
    assert_eq!(a.snapshot(), b.snapshot());
    assert_eq!(alerts_a, alerts_b);
    assert!(!alerts_a.is_empty(), "the script trips some rules");
    // Serializable plain data.
    let json = serde_json::to_string(&a.snapshot()).unwrap();
    assert!(json.contains("\"by_partition\""));
}

// ---------------------------------------------------------------- from diagnostics

/// Runs one point read through a real `Driver`, answering the first `throttled` operation
/// attempts with 429 (metadata reads with 200 `{}`), and returns its diagnostics.
fn driven_read(throttled: usize) -> std::sync::Arc<sextant_core::CosmosDiagnostics> {
    use bytes::Bytes;
    use http::{HeaderMap, HeaderValue};
    use sextant_core::models::{AccountReference, ItemReference, PartitionKey};
    use sextant_core::{
        Action, CosmosOperation, Driver, DriverOptions, Now, OperationOptions, Purpose, Response,
    };
    use std::time::SystemTime;

    let account = AccountReference::with_master_key(
        "https://myaccount.documents.azure.com:443/",
        "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==",
    )
    .unwrap();
    let mut now = Now::new(
        base(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    );
    let mut driver = Driver::new(account.clone(), DriverOptions::default(), 7, now).unwrap();
    let item = ItemReference::from_name(account, "db", "c", "item 1");
    let op = CosmosOperation::read(item).with_partition_key(PartitionKey::from("pk"));
    let mut exec = driver.start(op, OperationOptions::default(), now);
    let mut left = throttled;
    loop {
        match exec.poll(&mut driver, now) {
            Action::Send(req) => {
                now = now.advanced(Duration::from_millis(3));
                let mut headers = HeaderMap::new();
                headers.insert("x-ms-request-charge", HeaderValue::from_static("1.5"));
                let (status, body) = if req.purpose != Purpose::Operation {
                    (200, "{}")
                } else if left > 0 {
                    left -= 1;
                    headers.insert("x-ms-retry-after-ms", HeaderValue::from_static("10"));
                    (429, "{}")
                } else {
                    (200, r#"{"id":"item 1"}"#)
                };
                let resp = Response {
                    status,
                    headers,
                    body: Bytes::from(body),
                };
                exec.handle_response(&mut driver, req.attempt, resp, now);
            }
            Action::Wait { until } => now = Now::new(until.unwrap(), now.wall),
            Action::Done(result) => return result.unwrap().diagnostics().clone(),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn sample_from_diagnostics() {
    let d = driven_read(2);
    let s = OperationSample::from_diagnostics(&d, "read", "docs", "dbs/db/colls/c", None, true);
    assert_eq!(s.status, Some(200));
    // Metadata reads (account, container routing) count as attempts; retries are the
    // operation's own.
    assert_eq!(u64::from(s.attempts), d.request_count());
    assert!(s.attempts >= 4, "metadata + 429 + 429 + 200");
    assert_eq!(s.throttles, 2);
    assert_eq!(s.retries, 2);
    assert_eq!((s.failovers, s.hedges_started, s.hedge_won), (0, 0, false));
    assert_eq!(s.request_charge, 1.5 * d.request_count() as f64);
    assert_eq!(s.latency, d.elapsed());
    assert_eq!(s.region, &*d.requests().last().unwrap().region);
    assert!(s.latency >= Duration::from_millis(12));
    let mut m = Metrics::default();
    m.record(
        &OperationSample {
            bytes_received: 15,
            ..s
        },
        base(),
    );
    let snap = m.snapshot();
    assert_eq!((snap.throttles, snap.retries), (2, 2));
    assert_eq!(snap.attempts, d.request_count());
}
