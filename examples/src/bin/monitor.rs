//! Monitoring: runs a mixed workload against the local server (or `COSMOS_ENDPOINT` with
//! `COSMOS_KEY`; see `sextant_examples`, the set-up you do not copy) and prints a live metrics
//! line every second plus any alert raised or cleared.
//!
//! The alert thresholds are deliberately tight (point-read p99 above 2 ms) so that the local
//! server triggers one; production defaults are in `sextant_core::metrics::AlertOptions`.
//!
//! ```text
//! cargo run -p sextant-examples --bin monitor
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sextant_core::metrics::{AlertOptions, MetricsOptions};
use sextant_tokio::models::{AccountReference, ContainerProperties, PartitionKeyDefinition};
use sextant_tokio::{CosmosDriverRuntime, CosmosOperation, DriverOptions};

/// How long the workload runs (bounded: the example stops by itself).
const RUN_FOR: Duration = Duration::from_secs(5);
/// Concurrent workers.
const WORKERS: usize = 8;

/// The workload's item.
#[derive(Serialize, Deserialize)]
struct Item {
    id: String,
    pk: String,
    n: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    // Set-up, not for copying: a real account from the environment, or a local server.
    let result = match sextant_examples::target() {
        Ok(t) => run(&t.endpoint, &t.key, t.local).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("monitor failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(endpoint: &str, key: &str, local: bool) -> Result<(), Box<dyn std::error::Error>> {
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
        .emulator_server_cert_validation_disabled(local)
        .driver_options(options)
        .build()
        .await?;
    let account = AccountReference::with_master_key(endpoint, key)?;
    let driver = runtime.get_or_create_driver(account.clone(), None).await?;

    let db_name = sextant_examples::unique_name("monitor");
    driver
        .execute_operation(CosmosOperation::create_database(account, &db_name), None)
        .await?;
    let db = driver.database(&db_name);
    let props = ContainerProperties::new("items", PartitionKeyDefinition::hash("/pk"));
    driver
        .execute_operation(
            CosmosOperation::create_container(db.reference().clone(), &props),
            None,
        )
        .await?;
    let items = db.container("items");

    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let items = items.clone();
        workers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while started.elapsed() < RUN_FOR {
                let item = Item {
                    id: format!("w{w}-{n}"),
                    pk: format!("p{}", n % 4),
                    n,
                };
                if items.create_item(&item).await.is_ok() {
                    for _ in 0..3 {
                        let _ = items.read_item::<Item>(item.pk.as_str(), &item.id).await;
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
        .execute_operation(
            CosmosOperation::delete_database(db.reference().clone()),
            None,
        )
        .await?;
    println!("final  {}", driver.metrics());
    Ok(())
}
