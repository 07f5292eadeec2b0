//! `query_latency [QUERIES]`: cross-partition query latency over the multi-partition test
//! gateway with 1 and with 8 ranges (issue 11's benchmark), on sextant-tokio.
//!
//! Loads the same 2,000 items (distinct partition keys) into a gateway of 1 range and one of 8,
//! then runs each query QUERIES times (after 3 warm-up runs) with pages of 100 items, and prints
//! per-page and per-query latency (p50, p99, max) and the 8-range / 1-range ratio, as a markdown
//! table for `docs/PERFORMANCE.md`. Everything runs on 127.0.0.1; the gateway is one Node
//! process per range count.
//!
//! ```text
//! cargo run --release -p sextant-e2e-bench --bin query_latency -- 30
//! ```

use std::time::{Duration, Instant};

#[allow(dead_code)] // the harness's OS calls; this binary uses the CPU time only
#[path = "../sys.rs"]
mod sys;

use sextant_core::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, PartitionKey,
    PartitionKeyDefinition,
};
use sextant_core::{CosmosOperation, OperationOptions, QuerySpec};
use sextant_tests::gateway::TestGateway;
use sextant_tests::server::EMULATOR_KEY;
use sextant_tokio::{CosmosDriver, CosmosDriverRuntime};

const ITEMS: usize = 2000;
const PAGE: u32 = 100;
const WARM_UP: usize = 3;
const QUERIES: [(&str, &str); 2] = [
    ("parallel", "SELECT * FROM c WHERE c.n >= 0"),
    ("ORDER BY", "SELECT * FROM c ORDER BY c.n"),
];

type BoxError = Box<dyn std::error::Error>;

fn main() -> Result<(), BoxError> {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(30);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    for ranges in [1usize, 8] {
        let gateway = TestGateway::start(ranges);
        let stats = rt.block_on(measure(&gateway, runs))?;
        for (name, pages, queries, cpu) in stats {
            rows.push((ranges, name, pages, queries, cpu));
        }
    }
    println!("query_latency: {ITEMS} items, pages of {PAGE}, {runs} runs per query after {WARM_UP} warm-up runs\n");
    println!(
        "| query | ranges | page p50 | page p99 | page max | whole query p50 | whole query p99 | client CPU per query |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (ranges, name, pages, queries, cpu) in &rows {
        println!(
            "| {name} | {ranges} | {} | {} | {} | {} | {} | {} |",
            ms(pct(pages, 50.0)),
            ms(pct(pages, 99.0)),
            ms(pct(pages, 100.0)),
            ms(pct(queries, 50.0)),
            ms(pct(queries, 99.0)),
            ms(*cpu),
        );
    }
    for (name, _) in QUERIES {
        let of = |n: usize| rows.iter().find(|r| r.0 == n && r.1 == name);
        if let (Some(one), Some(eight)) = (of(1), of(8)) {
            println!(
                "\n{name}: 8 ranges / 1 range, page p50 {:.2}x, page p99 {:.2}x, whole query p50 {:.2}x",
                ratio(pct(&eight.2, 50.0), pct(&one.2, 50.0)),
                ratio(pct(&eight.2, 99.0), pct(&one.2, 99.0)),
                ratio(pct(&eight.3, 50.0), pct(&one.3, 50.0)),
            );
        }
    }
    Ok(())
}

/// Per query: its name, page latencies, whole-query latencies, client CPU per whole query.
type Stats = Vec<(&'static str, Vec<Duration>, Vec<Duration>, Duration)>;

async fn measure(gateway: &TestGateway, runs: usize) -> Result<Stats, BoxError> {
    let account = AccountReference::with_master_key(gateway.endpoint(), EMULATOR_KEY)?;
    let runtime = CosmosDriverRuntime::builder().build().await?;
    let driver = runtime.get_or_create_driver(account.clone(), None).await?;
    let container = load(&driver, &account).await?;
    let mut out = Vec::new();
    for (name, sql) in QUERIES {
        let mut pages = Vec::new();
        let mut queries = Vec::new();
        let mut cpu = Duration::ZERO;
        for run in 0..WARM_UP + runs {
            let cpu_before = sys::self_cpu();
            let op = CosmosOperation::query(container.clone(), QuerySpec::new(sql));
            let mut pager =
                driver.query(op, Some(OperationOptions::new().with_max_item_count(PAGE)))?;
            let start = Instant::now();
            let mut items = 0;
            let mut page_times = Vec::new();
            loop {
                let t = Instant::now();
                let Some(page) = pager.next_page().await else {
                    break;
                };
                items += page?.items().len();
                page_times.push(t.elapsed());
            }
            let total = start.elapsed();
            if items != ITEMS {
                return Err(format!("{name}: {items} items, expected {ITEMS}").into());
            }
            if run >= WARM_UP {
                pages.extend(page_times);
                queries.push(total);
                cpu += sys::self_cpu().since(&cpu_before).total();
            }
        }
        out.push((name, pages, queries, cpu / runs.max(1) as u32));
    }
    Ok(out)
}

async fn load(
    driver: &CosmosDriver,
    account: &AccountReference,
) -> Result<ContainerReference, BoxError> {
    driver
        .execute_operation(
            CosmosOperation::create_database(account.clone(), "bench"),
            None,
        )
        .await?;
    let db = DatabaseReference::from_name(account.clone(), "bench");
    let props = ContainerProperties::new("items", PartitionKeyDefinition::hash("/pk"));
    driver
        .execute_operation(CosmosOperation::create_container(db.clone(), &props), None)
        .await?;
    let container = ContainerReference::in_database(&db, "items");
    // 32 creates at a time.
    for chunk in (0..ITEMS).collect::<Vec<_>>().chunks(32) {
        let mut set = tokio::task::JoinSet::new();
        for &i in chunk {
            let (driver, container) = (driver.clone(), container.clone());
            set.spawn(async move {
                let pk = format!("p{i}");
                let body = format!(
                    r#"{{"id":"d{i}","pk":"{pk}","n":{i},"pad":"{}"}}"#,
                    "x".repeat(200)
                );
                driver
                    .execute_operation(
                        CosmosOperation::create(container)
                            .with_partition_key(PartitionKey::from(pk.as_str()))
                            .with_body(body),
                        None,
                    )
                    .await
            });
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
    }
    Ok(container)
}

fn pct(samples: &[Duration], p: f64) -> Duration {
    let mut s = samples.to_vec();
    s.sort();
    if s.is_empty() {
        return Duration::ZERO;
    }
    let i = ((p / 100.0) * (s.len() - 1) as f64).round() as usize;
    s[i.min(s.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}
