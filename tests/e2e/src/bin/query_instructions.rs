//! `query_instructions N`: runs N single-partition queries of 100 items each through
//! sextant-tokio against the local test server, for counting the client's instructions per
//! returned item under callgrind (`scripts/bench-queries.sh --callgrind` runs it for two values
//! of N and divides the difference by the items).
//!
//! The query names its partition key in the WHERE clause as well as in the scope, because the
//! local server needs that (LOCAL_SERVER.md §1.2).

use sextant_core::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, PartitionKey,
    PartitionKeyDefinition,
};
use sextant_core::{CosmosOperation, OperationOptions, QuerySpec};
use sextant_tests::server::{TestServer, EMULATOR_KEY};
use sextant_tokio::CosmosDriverRuntime;

const ITEMS: usize = 100;

type BoxError = Box<dyn std::error::Error>;

fn main() -> Result<(), BoxError> {
    let n: usize = std::env::args()
        .nth(1)
        .ok_or("usage: query_instructions N")?
        .parse()?;
    let server = TestServer::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let account = AccountReference::with_master_key(server.http_endpoint(), EMULATOR_KEY)?;
        let runtime = CosmosDriverRuntime::builder().build().await?;
        let driver = runtime.get_or_create_driver(account.clone(), None).await?;
        driver
            .execute_operation(
                CosmosOperation::create_database(account.clone(), "qi"),
                None,
            )
            .await?;
        let db = DatabaseReference::from_name(account, "qi");
        let props = ContainerProperties::new("items", PartitionKeyDefinition::hash("/pk"));
        driver
            .execute_operation(CosmosOperation::create_container(db.clone(), &props), None)
            .await?;
        let container = ContainerReference::in_database(&db, "items");
        for i in 0..ITEMS {
            let body = format!(
                r#"{{"id":"d{i}","pk":"p","n":{i},"pad":"{}"}}"#,
                "x".repeat(200)
            );
            driver
                .execute_operation(
                    CosmosOperation::create(container.clone())
                        .with_partition_key(PartitionKey::from("p"))
                        .with_body(body),
                    None,
                )
                .await?;
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
            while let Some(page) = pager.next_page().await {
                total += std::hint::black_box(page?).items().len();
            }
        }
        if total != n * ITEMS {
            return Err(format!("{total} items, expected {}", n * ITEMS).into());
        }
        println!("query_instructions: {n} queries, {total} items");
        Ok::<(), BoxError>(())
    })
}
