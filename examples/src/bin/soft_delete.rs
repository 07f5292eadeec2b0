//! Soft delete with patch (the operations plan's "soft delete"; issue 12): mark an item
//! deleted and give it a per-item time to live in one atomic patch, hide marked items from
//! queries, and restore an item by removing both again. Application-level: Cosmos DB has no
//! soft delete of its own; the container's TTL (`defaultTtl = -1`: on, no default) makes the
//! service purge a marked item once its `ttl` runs out.
//!
//! Uses `COSMOS_ENDPOINT` and `COSMOS_KEY` when set, otherwise a local test server (which
//! ignores TTL, LOCAL_SERVER.md §1.4, so nothing expires there). Exits non-zero on a failure.
//!
//! ```text
//! cargo run -p sextant-examples --bin soft_delete
//! ```

use std::process::ExitCode;

use serde_json::{json, Value};
use sextant_blocking::models::{
    ContainerProperties, ContainerReference, DatabaseReference, DefaultTimeToLive, ItemReference,
    PartitionKey, PartitionKeyDefinition,
};
use sextant_blocking::{
    CosmosDriver, CosmosDriverRuntime, CosmosOperation, OperationOptions, PatchBuilder, QuerySpec,
};
use sextant_examples::{target, unique_name};

type BoxError = Box<dyn std::error::Error>;

/// How long a soft-deleted item stays restorable before the service purges it.
const RETENTION_SECONDS: i64 = 7 * 24 * 3600;

/// Items of one partition that are not soft-deleted (a missing flag counts as live). The key
/// equality is redundant with the partition key scope on Cosmos DB; the local server needs it
/// (LOCAL_SERVER.md §1.2).
const LIVE: &str = "SELECT VALUE c.id FROM c WHERE c.pk = @pk AND (NOT IS_DEFINED(c.deleted) OR c.deleted = false)";

fn main() -> ExitCode {
    match run() {
        Ok(()) => {
            println!("soft_delete: all steps succeeded");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("soft_delete failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), BoxError> {
    let target = target()?;
    let account = target.account.clone();
    let runtime = CosmosDriverRuntime::builder()
        .emulator_server_cert_validation_disabled(target.local)
        .build()?;
    let driver = runtime.get_or_create_driver(account.clone(), None)?;
    let db_name = unique_name("soft-delete-db");
    driver.execute_operation(
        CosmosOperation::create_database(account.clone(), &db_name),
        None,
    )?;
    let db = DatabaseReference::from_name(account, &db_name);
    let result = demo(&driver, &db);
    let deleted = driver.execute_operation(CosmosOperation::delete_database(db), None);
    result?;
    deleted?;
    Ok(())
}

fn live_ids(driver: &CosmosDriver, c: &ContainerReference) -> Result<Vec<Value>, BoxError> {
    let op = CosmosOperation::query(
        c.clone(),
        QuerySpec::new(LIVE).with_parameter("@pk", "orders"),
    )
    .with_partition_key(PartitionKey::from("orders"));
    let mut ids = Vec::new();
    for page in driver.query(op, Some(OperationOptions::new()))? {
        ids.extend(page?.into_items());
    }
    ids.sort_by_key(|v| v.to_string());
    Ok(ids)
}

fn demo(driver: &CosmosDriver, db: &DatabaseReference) -> Result<(), BoxError> {
    // TTL on, no default (`defaultTtl = -1`): only items with a `ttl` expire.
    let props = ContainerProperties::builder("orders", PartitionKeyDefinition::hash("/pk"))
        .default_time_to_live(DefaultTimeToLive::NoDefault)
        .build()?;
    driver.execute_operation(CosmosOperation::create_container(db.clone(), &props), None)?;
    let c = ContainerReference::in_database(db, "orders");
    let pk = PartitionKey::from("orders");
    for id in ["o1", "o2", "o3"] {
        let doc = json!({"id": id, "pk": "orders", "total": 10});
        driver.execute_operation(
            CosmosOperation::create(c.clone())
                .with_partition_key(pk.clone())
                .with_body(doc.to_string()),
            None,
        )?;
    }
    println!("live before: {:?}", live_ids(driver, &c)?);

    // Soft delete: the flag and the time to live in one atomic patch.
    let item = ItemReference::in_container(&c, "o2");
    let soft_delete = PatchBuilder::new()
        .set("/deleted", true)
        .set("/ttl", RETENTION_SECONDS);
    let r = driver.execute_operation(
        CosmosOperation::patch(item.clone(), soft_delete).with_partition_key(pk.clone()),
        None,
    )?;
    println!("soft-deleted o2 ({:.2} RU)", r.headers().request_charge());
    let live = live_ids(driver, &c)?;
    println!("live after delete: {live:?}");
    if live != vec![json!("o1"), json!("o3")] {
        return Err(format!("o2 should be hidden, live items are {live:?}").into());
    }

    // Restore: remove both again (the item no longer expires).
    let restore = PatchBuilder::new().remove("/deleted").remove("/ttl");
    driver.execute_operation(
        CosmosOperation::patch(item, restore).with_partition_key(pk),
        None,
    )?;
    let live = live_ids(driver, &c)?;
    println!("live after restore: {live:?}");
    if live.len() != 3 {
        return Err(format!("o2 should be back, live items are {live:?}").into());
    }
    Ok(())
}
