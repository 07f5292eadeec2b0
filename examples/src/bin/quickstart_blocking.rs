//! Quickstart for the blocking transport (`sextant-blocking`): database, container and item CRUD
//! on plain threads, no async runtime.
//!
//! Uses `COSMOS_ENDPOINT` and `COSMOS_KEY` when set, otherwise a local test server over HTTPS
//! (its self-signed certificate is accepted only in that case). Prints the status, request
//! charge, activity id and elapsed time of every step; exits non-zero on the first failure.
//!
//! ```text
//! cargo run -p sextant-examples --bin quickstart_blocking
//! ```

use std::process::ExitCode;

use serde_json::{json, Value};
use sextant_blocking::models::{
    ContainerProperties, ContainerReference, DatabaseReference, ItemReference, PartitionKey,
    PartitionKeyDefinition,
};
use sextant_blocking::{
    CosmosDriver, CosmosDriverRuntime, CosmosError, CosmosOperation, CosmosResponse,
};
use sextant_examples::{target, unique_name};

type BoxError = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => {
            println!("quickstart_blocking: all steps succeeded");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("quickstart_blocking failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one step and prints what it cost.
fn step(
    driver: &CosmosDriver,
    name: &str,
    op: CosmosOperation,
) -> Result<CosmosResponse, CosmosError> {
    match driver.execute_operation(op, None) {
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

fn run() -> Result<(), BoxError> {
    // Keeps the local server (if any) alive until the end of `run`.
    let target = target()?;
    let account = target.account.clone();

    let runtime = CosmosDriverRuntime::builder()
        .emulator_server_cert_validation_disabled(target.local)
        .build()?;
    let driver = runtime.get_or_create_driver(account.clone(), None)?;

    let db_name = unique_name("quickstart-db");
    step(
        &driver,
        "create database",
        CosmosOperation::create_database(account.clone(), &db_name),
    )?;
    let db = DatabaseReference::from_name(account, &db_name);
    let result = items(&driver, &db, &unique_name("quickstart-items"));
    // Clean up even when a step failed.
    let deleted = step(
        &driver,
        "delete database",
        CosmosOperation::delete_database(db),
    );
    result?;
    deleted?;
    Ok(())
}

fn items(driver: &CosmosDriver, db: &DatabaseReference, c_name: &str) -> Result<(), BoxError> {
    let props = ContainerProperties::new(c_name, PartitionKeyDefinition::hash("/pk"));
    step(
        driver,
        "create container",
        CosmosOperation::create_container(db.clone(), &props),
    )?;
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
    )?;
    let read = step(
        driver,
        "read item",
        CosmosOperation::read(item.clone()).with_partition_key(pk.clone()),
    )?;
    expect_n(&read, 1)?;
    step(
        driver,
        "replace item",
        CosmosOperation::replace(item.clone())
            .with_partition_key(pk.clone())
            .with_body(doc(2)),
    )?;
    step(
        driver,
        "upsert item",
        CosmosOperation::upsert(container.clone())
            .with_partition_key(pk.clone())
            .with_body(doc(3)),
    )?;
    let read = step(
        driver,
        "read it back",
        CosmosOperation::read(item.clone()).with_partition_key(pk.clone()),
    )?;
    expect_n(&read, 3)?;
    step(
        driver,
        "delete item",
        CosmosOperation::delete(item).with_partition_key(pk),
    )?;
    Ok(())
}

/// Checks the item read back is the one written last.
fn expect_n(response: &CosmosResponse, n: u32) -> Result<(), BoxError> {
    let body: Value = response.json()?;
    if body["n"] == json!(n) && body["id"] == json!("item with a space") {
        Ok(())
    } else {
        Err(format!("expected n = {n}, read {body}").into())
    }
}
