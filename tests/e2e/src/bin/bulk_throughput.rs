//! `bulk_throughput [ITEMS]`: bulk ingestion against individual creates (issue 12's benchmark),
//! on sextant-tokio over the 8-range test gateway.
//!
//! Loads ITEMS items (default 20,000; ~250 bytes each, 200 partition keys) into a fresh
//! container three ways: a bulk run (`CosmosDriver::bulk`, default bounds: up to 50 batch
//! requests in flight), individual creates with 50 in flight (the bulk run's request
//! concurrency), and individual creates with 8 in flight. Prints wall time, items per second,
//! client CPU per item, gateway CPU per item and requests, as a markdown table for
//! `docs/PERFORMANCE.md`. Everything runs on 127.0.0.1.
//!
//! With `--python PYTHON` (an interpreter with `azure-cosmos` installed) a fourth row loads
//! the same items with the Python SDK's transactional batch (`tests/e2e/python/batch_load.py`:
//! batches of 100 creates per partition key, 50 in flight); the Python SDK has no bulk.
//!
//! ```text
//! cargo run --release -p sextant-e2e-bench --bin bulk_throughput -- 20000 [--python PYTHON]
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

#[allow(dead_code)] // the harness's OS calls; this binary uses the CPU times only
#[path = "../sys.rs"]
mod sys;

use sextant_core::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, PartitionKey,
    PartitionKeyDefinition,
};
use sextant_core::{BulkBuilder, BulkOperation, CosmosOperation};
use sextant_tests::gateway::TestGateway;
use sextant_tests::server::EMULATOR_KEY;
use sextant_tokio::{CosmosDriver, CosmosDriverRuntime};

type BoxError = Box<dyn std::error::Error>;

fn doc(i: usize) -> (String, String) {
    let pk = format!("p{}", i % 200);
    let body = format!(
        r#"{{"id":"d{i}","pk":"{pk}","n":{i},"pad":"{}"}}"#,
        "x".repeat(200)
    );
    (pk, body)
}

struct Row {
    how: String,
    wall: Duration,
    client_cpu: Duration,
    gateway_cpu: Duration,
    requests: u64,
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let items: usize = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20_000);
    let python = args
        .iter()
        .position(|a| a == "--python")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let gateway = TestGateway::start(8);
    let account = AccountReference::with_master_key(gateway.endpoint(), EMULATOR_KEY)?;
    let rows = rt.block_on(async {
        let runtime = CosmosDriverRuntime::builder().build().await?;
        let driver = runtime.get_or_create_driver(account.clone(), None).await?;
        let db = DatabaseReference::from_name(account.clone(), "bench");
        driver
            .execute_operation(
                CosmosOperation::create_database(account.clone(), "bench"),
                None,
            )
            .await?;
        let mut rows = Vec::new();
        for (n, how) in ["bulk", "creates, 50 in flight", "creates, 8 in flight"]
            .iter()
            .enumerate()
        {
            let name = format!("items{n}");
            let props = ContainerProperties::new(&name, PartitionKeyDefinition::hash("/pk"));
            driver
                .execute_operation(CosmosOperation::create_container(db.clone(), &props), None)
                .await?;
            let container = ContainerReference::in_database(&db, &name);
            // Warm the routing caches so each way starts from the same state.
            let (pk, body) = doc(items + n);
            driver
                .execute_operation(
                    CosmosOperation::create(container.clone())
                        .with_partition_key(PartitionKey::from(pk.as_str()))
                        .with_body(body),
                    None,
                )
                .await?;
            gateway.reset_requests();
            let gw_before = sys::process_cpu(gateway.pid()).unwrap_or_default();
            let cpu_before = sys::self_cpu();
            let start = Instant::now();
            match n {
                0 => bulk(&driver, &container, items).await?,
                1 => creates(&driver, &container, items, 50).await?,
                _ => creates(&driver, &container, items, 8).await?,
            }
            let wall = start.elapsed();
            let client_cpu = sys::self_cpu().since(&cpu_before).total();
            let gateway_cpu = sys::process_cpu(gateway.pid())
                .unwrap_or_default()
                .since(&gw_before)
                .total();
            let counts = gateway.requests();
            let requests = counts
                .as_object()
                .map(|o| {
                    o.values()
                        .flat_map(|k| k.as_object().into_iter().flat_map(|k| k.values()))
                        .filter_map(|v| v.as_u64())
                        .sum()
                })
                .unwrap_or(0);
            rows.push(Row {
                how: how.to_string(),
                wall,
                client_cpu,
                gateway_cpu,
                requests,
            });
        }
        Ok::<_, BoxError>(rows)
    })?;
    let mut rows = rows;
    if let Some(python) = python {
        rows.push(python_batches(&gateway, &python, items)?);
    }
    println!("bulk_throughput: {items} items of ~250 bytes, 200 partition keys, 8 ranges, sextant-tokio\n");
    println!("| how | wall | items/s | client CPU per item | gateway CPU per item | requests |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        let per = |d: Duration| format!("{:.1} µs", d.as_secs_f64() * 1e6 / items as f64);
        println!(
            "| {} | {:.2} s | {:.0} | {} | {} | {} |",
            r.how,
            r.wall.as_secs_f64(),
            items as f64 / r.wall.as_secs_f64(),
            per(r.client_cpu),
            per(r.gateway_cpu),
            r.requests
        );
    }
    if let [b, c50, ..] = rows.as_slice() {
        println!(
            "\nbulk / creates at 50 in flight: {:.2}x the throughput, {:.2}x the client CPU per item",
            c50.wall.as_secs_f64() / b.wall.as_secs_f64(),
            b.client_cpu.as_secs_f64() / c50.client_cpu.as_secs_f64().max(1e-9)
        );
    }
    Ok(())
}

/// The Python SDK's transactional batches (`tests/e2e/python/batch_load.py`), 50 in flight.
fn python_batches(gateway: &TestGateway, python: &str, items: usize) -> Result<Row, BoxError> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/batch_load.py");
    let version = std::process::Command::new(python)
        .args(["-c", "import azure.cosmos; print(azure.cosmos.__version__)"])
        .output()?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    gateway.reset_requests();
    let gw_before = sys::process_cpu(gateway.pid()).unwrap_or_default();
    let out = std::process::Command::new(python)
        .args([
            script,
            gateway.endpoint(),
            EMULATOR_KEY,
            "bench",
            "items3",
            &items.to_string(),
            "50",
        ])
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "batch_load.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let gateway_cpu = sys::process_cpu(gateway.pid())
        .unwrap_or_default()
        .since(&gw_before)
        .total();
    let line = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(line.lines().last().unwrap_or(""))?;
    let secs = |k: &str| Duration::from_secs_f64(v[k].as_f64().unwrap_or(0.0));
    Ok(Row {
        how: format!("Python SDK {version} execute_item_batch, 50 in flight"),
        wall: secs("wall"),
        client_cpu: secs("cpu"),
        gateway_cpu,
        requests: v["batches"].as_u64().unwrap_or(0),
    })
}

async fn bulk(
    driver: &CosmosDriver,
    container: &ContainerReference,
    items: usize,
) -> Result<(), BoxError> {
    let ops = (0..items).map(|i| {
        let (pk, body) = doc(i);
        (
            i,
            BulkOperation::create(PartitionKey::from(pk.as_str()), body),
        )
    });
    let mut run = driver.bulk(BulkBuilder::new(container.clone()), ops);
    let mut done = 0;
    while let Some(results) = run.next_results().await {
        for r in results {
            match r.outcome {
                Ok(o) if o.status == 201 => done += 1,
                other => return Err(format!("bulk item {}: {other:?}", r.correlation).into()),
            }
        }
    }
    if done != items {
        return Err(format!("bulk created {done} of {items}").into());
    }
    Ok(())
}

async fn creates(
    driver: &CosmosDriver,
    container: &ContainerReference,
    items: usize,
    in_flight: usize,
) -> Result<(), BoxError> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let (driver, container, next) = (driver.clone(), container.clone(), next.clone());
        set.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= items {
                    return Ok::<_, sextant_core::CosmosError>(());
                }
                let (pk, body) = doc(i);
                driver
                    .execute_operation(
                        CosmosOperation::create(container.clone())
                            .with_partition_key(PartitionKey::from(pk.as_str()))
                            .with_body(body),
                        None,
                    )
                    .await?;
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    Ok(())
}
