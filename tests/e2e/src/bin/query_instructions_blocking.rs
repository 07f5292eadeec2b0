//! `query_instructions_blocking N`: the same workload as `query_instructions` (N
//! single-partition queries of 100 items each against the local test server) through
//! sextant-blocking (ureq), for counting the client's instructions per returned item under
//! callgrind (`scripts/bench-queries.sh --callgrind` runs it for two values of N and divides the
//! difference by the items).
//!
//! The query names its partition key in the WHERE clause as well as in the scope, because the
//! local server needs that (LOCAL_SERVER.md §1.2).

use sextant_blocking::CosmosDriverRuntime;
use sextant_core::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, PartitionKey,
    PartitionKeyDefinition,
};
use sextant_core::{CosmosOperation, OperationOptions, QuerySpec};
use sextant_tests::server::{TestServer, EMULATOR_KEY};

const ITEMS: usize = 100;

type BoxError = Box<dyn std::error::Error>;

fn main() -> Result<(), BoxError> {
    let n: usize = std::env::args()
        .nth(1)
        .ok_or("usage: query_instructions_blocking N")?
        .parse()?;
    let server = TestServer::start();
    let account = AccountReference::with_master_key(server.http_endpoint(), EMULATOR_KEY)?;
    let runtime = CosmosDriverRuntime::builder().build()?;
    let driver = runtime.get_or_create_driver(account.clone(), None)?;
    driver.execute_operation(
        CosmosOperation::create_database(account.clone(), "qi"),
        None,
    )?;
    let db = DatabaseReference::from_name(account, "qi");
    let props = ContainerProperties::new("items", PartitionKeyDefinition::hash("/pk"));
    driver.execute_operation(CosmosOperation::create_container(db.clone(), &props), None)?;
    let container = ContainerReference::in_database(&db, "items");
    for i in 0..ITEMS {
        let body = format!(
            r#"{{"id":"d{i}","pk":"p","n":{i},"pad":"{}"}}"#,
            "x".repeat(200)
        );
        driver.execute_operation(
            CosmosOperation::create(container.clone())
                .with_partition_key(PartitionKey::from("p"))
                .with_body(body),
            None,
        )?;
    }
    let mut total = 0;
    for _ in 0..n {
        let op = CosmosOperation::query(
            container.clone(),
            QuerySpec::new("SELECT * FROM c WHERE c.pk = @pk").with_parameter("@pk", "p"),
        )
        .with_partition_key(PartitionKey::from("p"));
        let mut pager = driver.query(
            op,
            Some(OperationOptions::new().with_max_item_count(ITEMS as u32)),
        )?;
        while let Some(page) = pager.next_page() {
            total += std::hint::black_box(page?).items().len();
        }
    }
    if total != n * ITEMS {
        return Err(format!("{total} items, expected {}", n * ITEMS).into());
    }
    println!("query_instructions_blocking: {n} queries, {total} items");
    Ok(())
}
