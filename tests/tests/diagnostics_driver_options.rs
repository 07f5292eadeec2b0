//! Diagnostics follow the driver's options: the payload-size threshold fires on a large item
//! (sizes are the bodies really sent and received), and `to_json_string` applies the driver's
//! Summary size cap rather than the default.

use std::time::Duration;

use sextant_core::diagnostics::{DiagnosticsOptions, DiagnosticsThresholds, DiagnosticsVerbosity};
use sextant_core::models::{ContainerReference, ItemReference, PartitionKey};
use sextant_core::{CosmosOperation, DriverOptions, OperationOptions};
use sextant_tests::sim::{Answer, Sim};

fn options(thresholds: DiagnosticsThresholds, cap: usize) -> DriverOptions {
    DriverOptions::builder()
        .max_throttle_retries(200)
        .max_throttle_wait(Duration::from_secs(3600))
        .diagnostics(
            DiagnosticsOptions::builder()
                .thresholds(thresholds)
                .max_summary_size_bytes(cap)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn quiet() -> DiagnosticsThresholds {
    // Only the payload rule can fire: latency and RU thresholds out of reach, failures off.
    DiagnosticsThresholds::default()
        .with_point_operation_latency(Duration::from_secs(3600))
        .with_non_point_operation_latency(Duration::from_secs(3600))
        .with_request_charge(1e9)
        .with_failures(false)
}

#[test]
fn the_payload_threshold_fires_on_a_large_body_only() {
    let mut sim = Sim::new(
        21,
        options(quiet().with_payload_size_bytes(Some(10_000)), 8192),
    );
    let container = ContainerReference::from_name(sim.account.clone(), "db", "c");
    let create = |n: usize| {
        let body = format!(r#"{{"id":"x{n}","pk":"p","blob":"{}"}}"#, "a".repeat(n));
        CosmosOperation::create(container.clone())
            .with_partition_key(PartitionKey::from("p"))
            .with_body(body)
    };
    for (size, fires) in [(100, false), (20_000, true)] {
        let mut exec = sim
            .driver
            .start(create(size), OperationOptions::new(), sim.now);
        let r = sim.drive(&mut exec, &mut |_, _| Answer::ok(201));
        assert!(r.is_ok());
        let line = exec.diagnostics_log_line(&mut sim.driver, sim.now);
        assert_eq!(line.is_some(), fires, "body of {size} bytes");
    }
    // A large *response* counts too.
    let item = ItemReference::in_container(&container, "big");
    let read = CosmosOperation::read(item).with_partition_key(PartitionKey::from("p"));
    let mut exec = sim.driver.start(read, OperationOptions::new(), sim.now);
    let big = format!(r#"{{"id":"big","blob":"{}"}}"#, "b".repeat(20_000));
    let r = sim.drive(&mut exec, &mut |_, _| Answer::Full {
        status: 200,
        headers: vec![],
        body: big.clone(),
        latency: Duration::from_millis(2),
    });
    assert!(r.is_ok());
    assert!(exec
        .diagnostics_log_line(&mut sim.driver, sim.now)
        .is_some());
}

#[test]
fn to_json_string_applies_the_drivers_summary_cap() {
    let cap = 4096;
    let mut sim = Sim::new(22, options(quiet(), cap));
    let item = ItemReference::from_name(sim.account.clone(), "db", "c", "x");
    let read = CosmosOperation::read(item).with_partition_key(PartitionKey::from("p"));
    // Many throttles with distinct sub-statuses make a Summary larger than 4 KiB unpruned.
    let r = sim.run(read, OperationOptions::new(), |n, _| {
        if n < 150 {
            Answer::throttled(3200 + n as u32, 1)
        } else {
            Answer::ok(200)
        }
    });
    let diagnostics = r.unwrap().diagnostics().clone();
    let detailed = diagnostics.to_json_string(DiagnosticsVerbosity::Detailed);
    let summary = diagnostics.to_json_string(DiagnosticsVerbosity::Summary);
    assert!(
        summary.len() <= cap,
        "Summary {} > cap {cap}",
        summary.len()
    );
    // The same diagnostics under the default cap would be allowed to be larger.
    let default = diagnostics.to_json_string_with(
        DiagnosticsVerbosity::Summary,
        &DiagnosticsOptions::default(),
    );
    assert!(
        default.len() > cap && default.len() <= 8192,
        "under the default 8 KiB cap the same Summary is {} bytes, so the driver's cap did the pruning",
        default.len()
    );
    assert!(detailed.len() >= summary.len());
}
