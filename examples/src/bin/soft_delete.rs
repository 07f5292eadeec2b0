//! Soft delete with patch (the operations plan's "soft delete"; issue 12): mark an item
//! deleted and give it a per-item time to live in one atomic patch, hide marked items from
//! queries, and restore an item by removing both again. Application-level: Cosmos DB has no
//! soft delete of its own; the container's TTL (`defaultTtl = -1`: on, no default) makes the
//! service purge a marked item once its `ttl` runs out.
//!
//! Uses `COSMOS_ENDPOINT` and `COSMOS_KEY` when set, otherwise a local test server (which
//! ignores TTL, LOCAL_SERVER.md §1.4, so nothing expires there; see `sextant_examples`, the
//! set-up you do not copy). Exits non-zero on a failure.
//!
//! ```text
//! cargo run -p sextant-examples --bin soft_delete
//! ```

use std::process::ExitCode;

use serde::{Deserialize, Serialize};
use sextant_blocking::models::{
    AccountReference, ContainerProperties, DefaultTimeToLive, PartitionKeyDefinition,
};
use sextant_blocking::{ContainerClient, CosmosDriverRuntime, CosmosOperation, PatchBuilder};

type BoxError = Box<dyn std::error::Error>;

/// How long a soft-deleted item stays restorable before the service purges it.
const RETENTION_SECONDS: i64 = 7 * 24 * 3600;

/// Ids of the items of one partition that are not soft-deleted (a missing flag counts as live).
/// The key equality is redundant with the partition key scope on Cosmos DB; the local server
/// needs it (LOCAL_SERVER.md §1.2).
const LIVE: &str = "SELECT VALUE c.id FROM c WHERE c.pk = @pk AND (NOT IS_DEFINED(c.deleted) OR c.deleted = false)";

/// An order; `deleted` and `ttl` are only present while it is soft-deleted.
#[derive(Debug, Serialize, Deserialize)]
struct Order {
    id: String,
    pk: String,
    total: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deleted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl: Option<i64>,
}

fn main() -> ExitCode {
    // Set-up, not for copying: a real account from the environment, or a local server.
    let result = sextant_examples::target().and_then(|t| run(&t.endpoint, &t.key, t.local));
    match result {
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

fn run(endpoint: &str, key: &str, local: bool) -> Result<(), BoxError> {
    let runtime = CosmosDriverRuntime::builder()
        .emulator_server_cert_validation_disabled(local)
        .build()?;
    let account = AccountReference::with_master_key(endpoint, key)?;
    let driver = runtime.get_or_create_driver(account.clone(), None)?;
    let db_name = sextant_examples::unique_name("soft-delete-db");
    driver.execute_operation(CosmosOperation::create_database(account, &db_name), None)?;
    let db = driver.database(&db_name);
    // TTL on, no default (`defaultTtl = -1`): only items with a `ttl` expire.
    let props = ContainerProperties::builder("orders", PartitionKeyDefinition::hash("/pk"))
        .default_time_to_live(DefaultTimeToLive::NoDefault)
        .build()?;
    let result = driver
        .execute_operation(
            CosmosOperation::create_container(db.reference().clone(), &props),
            None,
        )
        .map_err(BoxError::from)
        .and_then(|_| demo(&db.container("orders")));
    let deleted = driver.execute_operation(
        CosmosOperation::delete_database(db.reference().clone()),
        None,
    );
    result?;
    deleted?;
    Ok(())
}

fn live_ids(orders: &ContainerClient) -> Result<Vec<String>, BoxError> {
    let mut ids = orders
        .query::<String>(LIVE)
        .param("@pk", "orders")
        .partition_key("orders")
        .items()?
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort();
    Ok(ids)
}

fn demo(orders: &ContainerClient) -> Result<(), BoxError> {
    for id in ["o1", "o2", "o3"] {
        orders.create_item(&Order {
            id: id.into(),
            pk: "orders".into(),
            total: 10,
            deleted: None,
            ttl: None,
        })?;
    }
    println!("live before: {:?}", live_ids(orders)?);

    // Soft delete: the flag and the time to live in one atomic patch.
    let soft_delete = PatchBuilder::new()
        .set("/deleted", true)
        .set("/ttl", RETENTION_SECONDS);
    let r = orders.patch_item::<Order>("orders", "o2", soft_delete)?;
    println!(
        "soft-deleted o2 ({:.2} RU): deleted {:?}, ttl {:?}",
        r.request_charge, r.item.deleted, r.item.ttl
    );
    let live = live_ids(orders)?;
    println!("live after delete: {live:?}");
    if live != ["o1", "o3"] {
        return Err(format!("o2 should be hidden, live items are {live:?}").into());
    }

    // Restore: remove both again (the item no longer expires).
    let restore = PatchBuilder::new().remove("/deleted").remove("/ttl");
    let r = orders.patch_item::<Order>("orders", "o2", restore)?;
    if r.item.deleted.is_some() || r.item.ttl.is_some() {
        return Err(format!("o2 is still marked: {:?}", r.item).into());
    }
    let live = live_ids(orders)?;
    println!("live after restore: {live:?}");
    if live.len() != 3 {
        return Err(format!("o2 should be back, live items are {live:?}").into());
    }
    Ok(())
}
