//! No option value and no service header can make the core panic: `Duration::MAX` and huge
//! counts everywhere, on the simulator, through retries, failover, hedging and backoff. A value
//! the core cannot use is a typed error, never a panic.

use std::time::Duration;

use sextant_core::models::{ContainerReference, ItemReference, PartitionKey};
use sextant_core::options::HedgingOptions;
use sextant_core::{CosmosOperation, DriverOptions, OperationOptions};
use sextant_tests::sim::{Answer, Sim};

type Setter =
    fn(sextant_core::options::DriverOptionsBuilder) -> sextant_core::options::DriverOptionsBuilder;

/// Each extreme driver setting alone: it builds, or it is a typed error naming the setting.
#[test]
fn extreme_driver_settings_build_or_are_refused_by_name() {
    let cases: Vec<(&str, Setter)> = vec![
        ("request_timeout", |b| b.request_timeout(Duration::MAX)),
        ("metadata_request_timeout", |b| {
            b.metadata_request_timeout(Duration::MAX)
        }),
        ("end_to_end_timeout", |b| {
            b.end_to_end_timeout(Duration::MAX)
        }),
        ("max_throttle_retries", |b| b.max_throttle_retries(u32::MAX)),
        ("max_throttle_wait", |b| b.max_throttle_wait(Duration::MAX)),
        ("max_retry_with_wait", |b| {
            b.max_retry_with_wait(Duration::MAX)
        }),
        ("max_failover_retries", |b| b.max_failover_retries(u32::MAX)),
        ("unavailable_region_ttl", |b| {
            b.unavailable_region_ttl(Duration::MAX)
        }),
        ("account_refresh_interval", |b| {
            b.account_refresh_interval(Duration::MAX)
        }),
        ("min_forced_refresh_interval", |b| {
            b.min_forced_refresh_interval(Duration::MAX)
        }),
        ("hedging", |b| {
            b.hedging(HedgingOptions {
                threshold: Duration::MAX,
                step: Duration::MAX,
                ..HedgingOptions::default()
            })
        }),
    ];
    for (name, set) in cases {
        match set(DriverOptions::builder()).build() {
            Ok(options) => {
                // Accepted: then an operation under it must run without panicking.
                let mut sim = Sim::new(11, options);
                let item = ItemReference::from_name(sim.account.clone(), "db", "c", "x");
                let op = CosmosOperation::read(item).with_partition_key(PartitionKey::from("p"));
                let r = sim.run(op, OperationOptions::new(), |n, _| match n {
                    0 => Answer::throttled(3200, 1),
                    1 => Answer::status(503, 0),
                    _ => Answer::ok(200),
                });
                assert_eq!(r.map(|r| r.status()).ok(), Some(200), "{name}");
            }
            Err(e) => assert!(
                e.to_string()
                    .contains(name.split('_').next().unwrap_or(name)),
                "{name}: {e}"
            ),
        }
    }
}

#[test]
fn huge_operation_values_and_service_headers_never_panic() {
    let mut sim = Sim::new(11, DriverOptions::default());
    let item = ItemReference::from_name(sim.account.clone(), "db", "c", "x");
    let read = || CosmosOperation::read(item.clone()).with_partition_key(PartitionKey::from("p"));
    let opts = OperationOptions::new().with_end_to_end_timeout(Duration::MAX);
    let r = sim.run(read(), opts.clone(), |n, _| match n {
        0 => Answer::throttled(3200, 1),
        1 => Answer::status(503, 0),
        _ => Answer::ok(200),
    });
    assert_eq!(r.map(|r| r.status()).ok(), Some(200));
    // A retry-after the size of u64::MAX milliseconds: the budget ends it, typed.
    let r = sim.run(read(), OperationOptions::new(), |_, _| {
        Answer::throttled(3200, u64::MAX)
    });
    let e = r.expect_err("a retry-after past every budget fails");
    assert_eq!(e.status(), Some(429));
    // The same through a cross-partition query page.
    let container = ContainerReference::from_name(sim.account.clone(), "db", "c");
    let q = CosmosOperation::query(container, sextant_core::QuerySpec::new("SELECT * FROM c"));
    let r = sim.run(q, opts, |_, _| Answer::throttled(3200, u64::MAX));
    assert!(r.is_err());
}

#[test]
fn operation_deadline_of_duration_max_means_none() {
    let mut sim = Sim::new(12, DriverOptions::default());
    let item = ItemReference::from_name(sim.account.clone(), "db", "c", "x");
    let op = CosmosOperation::read(item).with_partition_key(PartitionKey::from("p"));
    let mut exec = sim.driver.start(
        op,
        OperationOptions::new().with_end_to_end_timeout(Duration::MAX),
        sim.now,
    );
    assert_eq!(
        exec.deadline(),
        None,
        "past the platform's range is no deadline"
    );
    let r = sim.drive(&mut exec, &mut |_, _| Answer::ok(200));
    assert_eq!(r.unwrap().status(), 200);
}
