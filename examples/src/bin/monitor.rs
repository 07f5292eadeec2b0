//! Monitoring: runs a mixed workload against the local server (or `COSMOS_ENDPOINT`) and prints
//! a live metrics line every second plus any alert raised or cleared.
//!
//! The alert thresholds are deliberately tight (point-read p99 above 2 ms) so that the local
//! server triggers one; production defaults are in `sextant_core::metrics::AlertOptions`.
//!
//! ```text
//! cargo run -p sextant-examples --bin monitor
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::json;
use sextant_core::metrics::{AlertOptions, MetricsOptions};
use sextant_examples::{target, unique_name};
use sextant_tokio::models::{
    ContainerProperties, ContainerReference, DatabaseReference, ItemReference, PartitionKey,
    PartitionKeyDefinition,
};
use sextant_tokio::{CosmosDriverRuntime, CosmosOperation, DriverOptions};

/// How long the workload runs (bounded: the example stops by itself).
const RUN_FOR: Duration = Duration::from_secs(5);
/// Concurrent workers.
const WORKERS: usize = 8;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("monitor failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let target = target()?;
    let alerts = AlertOptions {
        point_latency_p99: Some(Duration::from_millis(2)),
        min_operations: 50,
        ..AlertOptions::default()
    };
    let metrics = MetricsOptions {
        window: Duration::from_secs(5),
        window_slots: 5,
        alerts,
    };
    let options = DriverOptions::builder().metrics(metrics).build()?;
    let runtime = CosmosDriverRuntime::builder()
        .emulator_server_cert_validation_disabled(target.local)
        .driver_options(options)
        .build()
        .await?;
    let account = target.account.clone();
    let driver = runtime.get_or_create_driver(account.clone(), None).await?;

    let db_name = unique_name("monitor");
    driver
        .execute_operation(
            CosmosOperation::create_database(account.clone(), &db_name),
            None,
        )
        .await?;
    let db = DatabaseReference::from_name(account.clone(), &db_name);
    let props = ContainerProperties::new("items", PartitionKeyDefinition::hash("/pk"));
    driver
        .execute_operation(CosmosOperation::create_container(db.clone(), &props), None)
        .await?;
    let container = ContainerReference::in_database(&db, "items");

    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let (driver, container) = (driver.clone(), container.clone());
        workers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while started.elapsed() < RUN_FOR {
                let id = format!("w{w}-{n}");
                let pk = PartitionKey::from(format!("p{}", n % 4));
                let doc = json!({"id": id, "pk": format!("p{}", n % 4), "n": n}).to_string();
                let create = CosmosOperation::create(container.clone())
                    .with_partition_key(pk.clone())
                    .with_body(doc);
                if driver.execute_operation(create, None).await.is_ok() {
                    for _ in 0..3 {
                        let read =
                            CosmosOperation::read(ItemReference::in_container(&container, &id))
                                .with_partition_key(pk.clone());
                        let _ = driver.execute_operation(read, None).await;
                    }
                }
                n += 1;
            }
        }));
    }
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    while started.elapsed() < RUN_FOR {
        ticker.tick().await;
        for alert in driver.poll_alerts() {
            println!("ALERT {alert}");
        }
        println!(
            "{:>4.1}s {}",
            started.elapsed().as_secs_f64(),
            driver.metrics()
        );
    }
    for w in workers {
        w.await?;
    }
    driver
        .execute_operation(CosmosOperation::delete_database(db), None)
        .await?;
    println!("final  {}", driver.metrics());
    Ok(())
}
