//! The `metrics-facade` feature: a snapshot exported through the `metrics` facade reaches the
//! installed recorder with the driver's numbers. Run with
//! `cargo test -p sextant-core --features metrics-facade --test metrics_facade` (CI does).
#![cfg(feature = "metrics-facade")]
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString,
    Unit,
};
use sextant_core::metrics::{export_to_metrics_facade, MetricsSnapshot};

/// Records the last value of every counter and gauge by `name{labels}`.
#[derive(Default, Clone)]
struct Memory(Arc<Mutex<BTreeMap<String, f64>>>);

struct Cell(String, Memory);

impl CounterFn for Cell {
    fn increment(&self, v: u64) {
        *self.1 .0.lock().unwrap().entry(self.0.clone()).or_default() += v as f64;
    }
    fn absolute(&self, v: u64) {
        self.1 .0.lock().unwrap().insert(self.0.clone(), v as f64);
    }
}

impl GaugeFn for Cell {
    fn increment(&self, v: f64) {
        *self.1 .0.lock().unwrap().entry(self.0.clone()).or_default() += v;
    }
    fn decrement(&self, v: f64) {
        *self.1 .0.lock().unwrap().entry(self.0.clone()).or_default() -= v;
    }
    fn set(&self, v: f64) {
        self.1 .0.lock().unwrap().insert(self.0.clone(), v);
    }
}

fn name(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorder for Memory {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(Cell(name(key), self.clone())))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(Arc::new(Cell(name(key), self.clone())))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[test]
fn a_snapshot_reaches_the_installed_recorder() {
    let memory = Memory::default();
    let snapshot = one_read_snapshot();
    assert_eq!(snapshot.operations, 1);
    metrics::with_local_recorder(&memory, || {
        export_to_metrics_facade(&snapshot, "https://acct.documents.azure.com:443/")
    });
    let seen = memory.0.lock().unwrap().clone();
    let account = "account=https://acct.documents.azure.com:443/";
    assert_eq!(seen[&format!("sextant.operations{{{account}}}")], 1.0);
    assert_eq!(seen[&format!("sextant.throttles{{{account}}}")], 0.0);
    // Every request of the operation counts: the account read, the container read, the item.
    assert_eq!(
        seen[&format!("sextant.request_charge{{{account}}}")],
        snapshot.request_charge
    );
    assert!(snapshot.request_charge >= 2.5);
    assert!(seen.contains_key(&format!(
        "sextant.latency_seconds{{{account},quantile=p99}}"
    )));
}

/// The metrics of one point read (answered 200 with 2.5 RU) on a fresh driver.
#[allow(clippy::disallowed_methods)] // the test plays the transport: it reads the clock once
fn one_read_snapshot() -> MetricsSnapshot {
    use std::time::{Duration, Instant, SystemTime};

    use sextant_core::models::{AccountReference, ItemReference, PartitionKey};
    use sextant_core::{
        CosmosOperation, Drained, Driver, DriverOptions, Input, Inputs, Now, OperationOptions,
        Response, Turn,
    };

    const KEY: &str = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";
    let account =
        AccountReference::with_master_key("https://acct.documents.azure.com:443/", KEY).unwrap();
    let now = Now::new(
        Instant::now(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    );
    let mut driver = Driver::new(account.clone(), DriverOptions::default(), 1, now).unwrap();
    let item = ItemReference::from_name(account, "db", "c", "x");
    let op = CosmosOperation::read(item).with_partition_key(PartitionKey::from("p"));
    let mut exec = driver.start(op, OperationOptions::new(), now);
    let (mut inputs, mut turn) = (Inputs::new(), Turn::default());
    loop {
        let drained = exec.turn(&mut driver, &mut inputs, now, &mut turn);
        for req in turn.sends.drain() {
            let mut headers = http::HeaderMap::new();
            headers.insert("x-ms-request-charge", http::HeaderValue::from_static("2.5"));
            let body = if req.uri.path() == "/" {
                "{}"
            } else {
                r#"{"id":"x"}"#
            };
            let (status, body) =
                if req.uri.path().ends_with("/colls/c") || req.uri.path().ends_with("pkranges") {
                    (404, "{}")
                } else {
                    (200, body)
                };
            inputs.push(Input::Response(
                req.attempt,
                Response {
                    status,
                    headers,
                    body: bytes::Bytes::from(body),
                },
                now,
            ));
        }
        if let Drained::Done { outcome, .. } = drained {
            outcome.unwrap();
            return driver.metrics_snapshot();
        }
    }
}
