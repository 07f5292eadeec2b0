//! `query_instructions N`: runs N single-partition queries of 100 items each through
//! sextant-tokio against the local test server, for counting the client's instructions per
//! returned item under callgrind (`scripts/bench-queries.sh --callgrind` runs it for two values
//! of N and divides the difference by the items). The workload is `query_workload.rs`.

#[path = "../query_workload.rs"]
mod query_workload;

use query_workload::{queries_arg, query, setup, ITEMS};
use sextant_core::models::AccountReference;
use sextant_tests::server::{TestServer, EMULATOR_KEY};
use sextant_tokio::CosmosDriverRuntime;

type BoxError = Box<dyn std::error::Error>;

fn main() -> Result<(), BoxError> {
    let n = queries_arg("query_instructions")?;
    let server = TestServer::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let account = AccountReference::with_master_key(server.http_endpoint(), EMULATOR_KEY)?;
        let runtime = CosmosDriverRuntime::builder().build().await?;
        let driver = runtime.get_or_create_driver(account.clone(), None).await?;
        let (ops, container) = setup(&account);
        for op in ops {
            driver.execute_operation(op, None).await?;
        }
        let mut total = 0;
        for _ in 0..n {
            let (op, opts) = query(&container);
            let mut pager = driver.query(op, Some(opts))?;
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
