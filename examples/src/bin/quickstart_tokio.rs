//! Quickstart for the tokio transport (`sextant-tokio`): database, container and item CRUD.
//!
//! Uses `COSMOS_ENDPOINT` and `COSMOS_KEY` when set, otherwise a local test server over HTTPS
//! (its self-signed certificate is accepted only in that case). Prints the status, request
//! charge, activity id and elapsed time of every step; exits non-zero on the first failure.
//!
//! ```text
//! cargo run -p sextant-examples --bin quickstart_tokio
//! ```

use std::process::ExitCode;

use serde_json::json;
use sextant_examples::{target, unique_name};
use sextant_tokio::models::{
    ContainerProperties, ContainerReference, DatabaseReference, ItemReference, PartitionKey,
    PartitionKeyDefinition,
};
use sextant_tokio::{
    CosmosDriver, CosmosDriverRuntime, CosmosError, CosmosOperation, CosmosResponse,
};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => {
            println!("quickstart_tokio: all steps succeeded");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("quickstart_tokio failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one step and prints what it cost.
async fn step(
    driver: &CosmosDriver,
    name: &str,
    op: CosmosOperation,
) -> Result<CosmosResponse, CosmosError> {
    match driver.execute_operation(op, None).await {
        Ok(r) => {
            println!(
                "{name:<18} status {} | {:>5.2} RU | activity {} | {:?}",
                r.status(),
                r.headers().request_charge(),
                r.diagnostics().activity_id(),
                r.diagnostics().elapsed()
            );
            Ok(r)
        }
        Err(e) => {
            eprintln!(
                "{name:<18} FAILED: {e} | activity {} | {:?}",
                e.diagnostics().activity_id(),
                e.diagnostics().elapsed()
            );
            Err(e)
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // Keeps the local server (if any) alive until the end of `run`.
    let target = target()?;
    let account = target.account.clone();

    let runtime = CosmosDriverRuntime::builder()
        .emulator_server_cert_validation_disabled(target.local)
        .build()
        .await?;
    let driver = runtime.get_or_create_driver(account.clone(), None).await?;

    let db_name = unique_name("quickstart-db");
    let c_name = unique_name("quickstart-items");
    step(
        &driver,
        "create database",
        CosmosOperation::create_database(account.clone(), &db_name),
    )
    .await?;
    let db = DatabaseReference::from_name(account.clone(), &db_name);
    let result = items(&driver, &db, &c_name).await;
    // Clean up even when a step failed.
    let deleted = step(
        &driver,
        "delete database",
        CosmosOperation::delete_database(db),
    )
    .await;
    result?;
    deleted?;
    Ok(())
}

async fn items(
    driver: &CosmosDriver,
    db: &DatabaseReference,
    c_name: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let props = ContainerProperties::new(c_name, PartitionKeyDefinition::hash("/pk"));
    step(
        driver,
        "create container",
        CosmosOperation::create_container(db.clone(), &props),
    )
    .await?;
    let container = ContainerReference::in_database(db, c_name);

    let id = "item with a space";
    let pk = PartitionKey::from("quickstart");
    let item = ItemReference::in_container(&container, id);
    let doc = |n: u32| json!({"id": id, "pk": "quickstart", "n": n}).to_string();

    step(
        driver,
        "create item",
        CosmosOperation::create(container.clone())
            .with_partition_key(pk.clone())
            .with_body(doc(1)),
    )
    .await?;
    let read = step(
        driver,
        "read item",
        CosmosOperation::read(item.clone()).with_partition_key(pk.clone()),
    )
    .await?;
    expect_n(&read, 1)?;
    step(
        driver,
        "replace item",
        CosmosOperation::replace(item.clone())
            .with_partition_key(pk.clone())
            .with_body(doc(2)),
    )
    .await?;
    step(
        driver,
        "upsert item",
        CosmosOperation::upsert(container.clone())
            .with_partition_key(pk.clone())
            .with_body(doc(3)),
    )
    .await?;
    let read = step(
        driver,
        "read it back",
        CosmosOperation::read(item.clone()).with_partition_key(pk.clone()),
    )
    .await?;
    expect_n(&read, 3)?;
    step(
        driver,
        "delete item",
        CosmosOperation::delete(item).with_partition_key(pk),
    )
    .await?;
    Ok(())
}

/// Checks the item read back carries the value written last.
fn expect_n(r: &CosmosResponse, n: u32) -> Result<(), Box<dyn std::error::Error>> {
    let body: serde_json::Value = r.json()?;
    if body["n"] != json!(n) {
        return Err(format!("expected n = {n}, read {body}").into());
    }
    Ok(())
}
