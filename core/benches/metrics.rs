//! Criterion benchmarks of `Metrics`: the cost `record` adds to a finished point read, and the
//! cost of `snapshot` and `poll_alerts`.
//!
//! Run: `cargo bench -p sextant-core --bench metrics`. Target: `record` well under 200 ns.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use sextant_core::metrics::{Metrics, MetricsOptions, OperationSample};

const RANGES: [&str; 16] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
];

fn point_read(range: &str) -> OperationSample<'_> {
    OperationSample {
        kind: "read",
        resource: "docs",
        status: Some(200),
        sub_status: Some(0),
        region: "West US 2",
        container: "dbs/db/colls/c",
        partition_key_range: Some(range),
        request_charge: 1.0,
        latency: Duration::from_micros(2_750),
        attempts: 1,
        retries: 0,
        throttles: 0,
        failovers: 0,
        hedges_started: 0,
        hedge_won: false,
        bytes_sent: 0,
        bytes_received: 412,
        point_operation: true,
    }
}

/// Metrics with every key of the benchmark known and every window slot's partition list grown.
fn warm(start: Instant) -> (Metrics, Instant) {
    let mut m = Metrics::new(MetricsOptions::default());
    let mut t = start;
    for _ in 0..130 {
        for r in RANGES {
            m.record(&point_read(r), t);
        }
        t += Duration::from_secs(1);
    }
    (m, t)
}

fn benches(c: &mut Criterion) {
    // The bench plays the transport: reading the clock here is its job, not the core's.
    #[allow(clippy::disallowed_methods)]
    let start = Instant::now();

    let (mut m, t) = warm(start);
    let sample = point_read("3");
    c.bench_function("Metrics::record point read (same keys, same slot)", |b| {
        b.iter(|| m.record(black_box(&sample), black_box(t)))
    });

    // Time moves 10 µs per operation (100k ops/s): a slot rotation every 100k records.
    let (mut m, mut t) = warm(start);
    let step = Duration::from_micros(10);
    c.bench_function("Metrics::record point read (advancing time)", |b| {
        b.iter(|| {
            t += step;
            m.record(black_box(&sample), t)
        })
    });

    // Each record hits another partition key range (worst case for the last-key caches).
    let (mut m, mut t) = warm(start);
    let samples: Vec<_> = RANGES.iter().map(|r| point_read(r)).collect();
    let mut i = 0usize;
    c.bench_function("Metrics::record point read (16 ranges round-robin)", |b| {
        b.iter(|| {
            i = (i + 1) % samples.len();
            t += step;
            m.record(black_box(&samples[i]), t)
        })
    });

    let (mut m, t) = warm(start);
    c.bench_function("Metrics::snapshot (16 ranges, warm window)", |b| {
        b.iter(|| black_box(m.snapshot()))
    });
    c.bench_function("Metrics::poll_alerts (16 ranges, warm window)", |b| {
        b.iter(|| black_box(m.poll_alerts(black_box(t))))
    });
}

criterion_group!(metrics_benches, benches);
criterion_main!(metrics_benches);
