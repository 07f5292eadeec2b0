//! Bulk import and ReadMany (the operations plan's "batch inserts", "high-volume ingestion"
//! and "batch deletes"; issue 12): load 5,000 orders with a bulk run, watching its progress;
//! read a handful back by (id, partition key) in one ReadMany, a missing one included; then
//! delete them all with a second bulk run.
//!
//! Uses `COSMOS_ENDPOINT` and `COSMOS_KEY` when set, otherwise a local test server (see
//! `sextant_examples`, the set-up you do not copy). Exits non-zero on a failure.
//!
//! ```text
//! cargo run -p sextant-examples --bin bulk_import
//! ```

use std::process::ExitCode;

use serde::{Deserialize, Serialize};
use sextant_blocking::models::{
    AccountReference, ContainerProperties, DatabaseReference, PartitionKeyDefinition,
};
use sextant_blocking::{CosmosDriver, CosmosDriverRuntime, CosmosOperation, TypedBulkOperation};

type BoxError = Box<dyn std::error::Error>;

const ORDERS: usize = 5_000;

/// An order (partitioned by `customer`).
#[derive(Debug, Serialize, Deserialize)]
struct Order {
    id: String,
    customer: String,
    total: usize,
}

fn main() -> ExitCode {
    // Set-up, not for copying: a real account from the environment, or a local server.
    let result = sextant_examples::target().and_then(|t| run(&t.endpoint, &t.key, t.local));
    match result {
        Ok(()) => {
            println!("bulk_import: all steps succeeded");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bulk_import failed: {e}");
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
    let db_name = sextant_examples::unique_name("bulk-db");
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

/// The customer (partition key) of order `n`.
fn customer(n: usize) -> String {
    format!("customer-{}", n % 50)
}

fn demo(driver: &CosmosDriver, db: &DatabaseReference) -> Result<(), BoxError> {
    let props = ContainerProperties::new("orders", PartitionKeyDefinition::hash("/customer"));
    driver.execute_operation(CosmosOperation::create_container(db.clone(), &props), None)?;
    let orders = driver.database(db.name()).container("orders");

    // Import, typed: an iterator of (correlation id, operation), read lazily, 1,000 at a time;
    // each order's partition key is taken from the order itself.
    let docs = (0..ORDERS).map(|n| {
        let order = Order {
            id: format!("order-{n}"),
            customer: customer(n),
            total: n % 97,
        };
        (n, TypedBulkOperation::create(&order))
    });
    let mut run = orders.bulk().max_in_flight(1_000).run(docs);
    let mut failed = Vec::new();
    while let Some(results) = run.next_results() {
        failed.extend(
            results
                .into_iter()
                .filter(|r| r.outcome.is_err())
                .map(|r| r.correlation),
        );
        let p = run.progress();
        println!(
            "imported {} of {ORDERS} ({} throttled, {} batch requests, {:.0} RU)",
            p.operations_done, p.throttled, p.batches, p.request_charge
        );
    }
    if !failed.is_empty() {
        return Err(format!("orders {failed:?} were not imported").into());
    }

    // ReadMany, typed: a few orders by (id, partition key), in this order, one that does not
    // exist (`None`).
    let wanted = [17, 4_242, 999_999, 3];
    let keys = wanted.map(|n| (format!("order-{n}"), customer(n)));
    let found: Vec<Option<Order>> = orders.read_many(keys)?;
    for (n, order) in wanted.iter().zip(&found) {
        match order {
            Some(o) => println!("{} of {}: total {}", o.id, o.customer, o.total),
            None => println!("order-{n}: missing"),
        }
    }
    let missing: Vec<usize> = (0..found.len()).filter(|&i| found[i].is_none()).collect();
    if missing != [2] {
        return Err(format!("expected only order-999999 missing, got {missing:?}").into());
    }

    // Batch delete: another typed bulk run, by (partition key, id).
    let deletes = (0..ORDERS).map(|n| {
        (
            n,
            TypedBulkOperation::<Order>::delete(customer(n), format!("order-{n}")),
        )
    });
    let mut run = orders.bulk().run(deletes);
    let mut deleted = 0;
    while let Some(results) = run.next_results() {
        deleted += results
            .iter()
            .filter(|r| r.outcome.as_ref().is_ok_and(|o| o.status == 204))
            .count();
    }
    println!("deleted {deleted} orders");
    if deleted != ORDERS {
        return Err(format!("deleted {deleted} of {ORDERS} orders").into());
    }
    Ok(())
}
