//! Quickstart for the tokio transport (`sextant-tokio`): your own serde type in and out.
//!
//! Creates a database and a container, then creates, reads, replaces (only if unchanged since
//! the read), upserts, patches, queries and deletes items through the typed clients
//! (`driver.database(..).container(..)`), printing the status and request charge of every step,
//! and deletes the database again. Exits non-zero on the first failure.
//!
//! Runs against `COSMOS_ENDPOINT` with `COSMOS_KEY` when both are set, otherwise against a local
//! server over HTTPS (see `sextant_examples`, the set-up you do not copy).
//!
//! ```text
//! cargo run -p sextant-examples --bin quickstart_tokio
//! ```

use std::process::ExitCode;

use serde::{Deserialize, Serialize};
use sextant_tokio::models::{AccountReference, ContainerProperties, PartitionKeyDefinition};
use sextant_tokio::{
    ContainerClient, CosmosDriverRuntime, CosmosOperation, ItemResponse, PatchBuilder,
};

type BoxError = Box<dyn std::error::Error>;

/// An item: any serde type with an `id` and the container's partition key (`/customer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    id: String,
    customer: String,
    total: u32,
    status: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    // Set-up, not for copying: a real account from the environment, or a local server.
    let result = match sextant_examples::target() {
        Ok(t) => run(&t.endpoint, &t.key, t.local).await,
        Err(e) => Err(e),
    };
    match result {
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

async fn run(endpoint: &str, key: &str, local: bool) -> Result<(), BoxError> {
    let runtime = CosmosDriverRuntime::builder()
        // Accepts the local server's self-signed certificate; false for a real account.
        .emulator_server_cert_validation_disabled(local)
        .build()
        .await?;
    let account = AccountReference::with_master_key(endpoint, key)?;
    let driver = runtime.get_or_create_driver(account.clone(), None).await?;

    // A database and a container partitioned by /customer (the typed layer starts at items).
    let db_name = sextant_examples::unique_name("quickstart");
    let r = driver
        .execute_operation(CosmosOperation::create_database(account, &db_name), None)
        .await?;
    println!(
        "{:<22} status {} | {:>5.2} RU",
        "create database",
        r.status(),
        r.headers().request_charge()
    );
    let db = driver.database(&db_name);
    let props = ContainerProperties::new("orders", PartitionKeyDefinition::hash("/customer"));
    let created = driver
        .execute_operation(
            CosmosOperation::create_container(db.reference().clone(), &props),
            None,
        )
        .await;
    let result = match created {
        Ok(r) => {
            println!(
                "{:<22} status {} | {:>5.2} RU",
                "create container",
                r.status(),
                r.headers().request_charge()
            );
            items(&db.container("orders")).await
        }
        Err(e) => Err(e.into()),
    };
    // Clean up even when a step failed.
    let deleted = driver
        .execute_operation(
            CosmosOperation::delete_database(db.reference().clone()),
            None,
        )
        .await;
    result?;
    println!("{:<22} status {}", "delete database", deleted?.status());
    Ok(())
}

async fn items(orders: &ContainerClient) -> Result<(), BoxError> {
    let order = |id: &str, total| Order {
        id: id.into(),
        customer: "c1".into(),
        total,
        status: "new".into(),
    };
    // The partition key is taken from the item (`customer`).
    report("create item", &orders.create_item(&order("o1", 42)).await?);
    report("create item", &orders.create_item(&order("o2", 7)).await?);

    let read = orders
        .read_item::<Order>("c1", "o1")
        .await?
        .ok_or("o1 was not found")?;
    report("read item", &read);

    // Replace only if nobody changed it since the read; the same etag again is refused.
    let paid = Order {
        status: "paid".into(),
        ..read.item.clone()
    };
    report(
        "replace item (etag)",
        &orders.replace_item(&paid, read.etag.as_deref()).await?,
    );
    match orders.replace_item(&paid, read.etag.as_deref()).await {
        Err(e) if e.status() == Some(412) => println!("{:<22} status 412", "replace (stale etag)"),
        Err(e) => return Err(e.into()),
        Ok(_) => return Err("a replace with a stale etag succeeded".into()),
    }

    report("upsert item", &orders.upsert_item(&order("o1", 50)).await?);
    let patched = orders
        .patch_item::<Order>(
            "c1",
            "o1",
            PatchBuilder::new()
                .increment("/total", 5)
                .set("/status", "shipped"),
        )
        .await?;
    report("patch item", &patched);
    if (patched.item.total, patched.item.status.as_str()) != (55, "shipped") {
        return Err(format!("unexpected patched item {:?}", patched.item).into());
    }

    let big: Vec<Order> = orders
        .query("SELECT * FROM c WHERE c.customer = @customer AND c.total > @min")
        .param("@customer", "c1")
        .param("@min", 40)
        .partition_key("c1")
        .items()?
        .collect_all()
        .await?;
    println!("{:<22} {} order(s) over 40: {big:?}", "query", big.len());
    if big.len() != 1 || big[0].id != "o1" {
        return Err(format!("expected only o1, the query returned {big:?}").into());
    }

    for id in ["o1", "o2"] {
        let existed = orders.delete_item("c1", id).await?;
        println!("{:<22} {id} existed: {existed}", "delete item");
    }
    if orders.read_item::<Order>("c1", "o1").await?.is_some() {
        return Err("o1 is still there after its delete".into());
    }
    Ok(())
}

/// Prints one step's status, request charge and duration.
fn report<T>(step: &str, r: &ItemResponse<T>) {
    println!(
        "{step:<22} status {} | {:>5.2} RU | {:?}",
        r.status,
        r.request_charge,
        r.diagnostics.elapsed()
    );
}
