//! `query_instructions_blocking N`: the workload of `query_instructions` (N single-partition
//! queries of 100 items each against the local test server, `query_workload.rs`) through
//! sextant-blocking (ureq), for counting the client's instructions per returned item under
//! callgrind (`scripts/bench-queries.sh --callgrind`).

#[path = "../query_workload.rs"]
mod query_workload;

use query_workload::{queries_arg, query, setup, ITEMS};
use sextant_blocking::CosmosDriverRuntime;
use sextant_core::models::AccountReference;
use sextant_tests::server::{TestServer, EMULATOR_KEY};

type BoxError = Box<dyn std::error::Error>;

fn main() -> Result<(), BoxError> {
    let n = queries_arg("query_instructions_blocking")?;
    let server = TestServer::start();
    let account = AccountReference::with_master_key(server.http_endpoint(), EMULATOR_KEY)?;
    let runtime = CosmosDriverRuntime::builder().build()?;
    let driver = runtime.get_or_create_driver(account.clone(), None)?;
    let (ops, container) = setup(&account);
    for op in ops {
        driver.execute_operation(op, None)?;
    }
    let mut total = 0;
    for _ in 0..n {
        let (op, opts) = query(&container);
        let mut pager = driver.query(op, Some(opts))?;
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
