//! `official-query-bench N`: the official Rust SDK (`azure_data_cosmos` 1.1.0-beta.1) runs the
//! same single-partition query as Sextant's `query_instructions` (100 items of about 300 bytes,
//! `SELECT * FROM c WHERE c.pk = @pk` scoped to its partition key) N times against the local
//! test server, for callgrind (`scripts/bench-queries.sh --official`). The data is loaded over
//! raw HTTP first (the server accepts any signature).

use std::time::Duration;

use azure_core::credentials::Secret;
use azure_data_cosmos::feed::FeedScope;
use azure_data_cosmos::options::Region;
use azure_data_cosmos::{
    AccountEndpoint, AccountReference, CosmosClientBuilder, Query, RoutingStrategy,
};
use futures::TryStreamExt;
use sextant_tests::raw_http::exchange;
use sextant_tests::server::{TestServer, EMULATOR_KEY};

const ITEMS: usize = 100;

fn post(endpoint: &str, path: &str, pk: Option<&str>, body: String) {
    let mut headers = vec![("authorization", "any"), ("x-ms-version", "2020-07-15")];
    if let Some(pk) = pk {
        headers.push(("x-ms-documentdb-partitionkey", pk));
    }
    let (status, _, v) = exchange(
        endpoint,
        "POST",
        path,
        &headers,
        Some(&body),
        Duration::from_secs(30),
    );
    assert_eq!(status, 201, "POST {path}: {v}");
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .ok_or("usage: official-query-bench N")?
        .parse()?;
    let server = TestServer::start();
    let ep = server.http_endpoint().to_string();
    post(&ep, "/dbs", None, r#"{"id":"qi"}"#.into());
    post(
        &ep,
        "/dbs/qi/colls",
        None,
        r#"{"id":"items","partitionKey":{"paths":["/pk"],"kind":"Hash","version":2}}"#.into(),
    );
    for i in 0..ITEMS {
        let body = format!(
            r#"{{"id":"d{i}","pk":"p","n":{i},"pad":"{}"}}"#,
            "x".repeat(200)
        );
        post(&ep, "/dbs/qi/colls/items/docs", Some(r#"["p"]"#), body);
    }
    let endpoint: AccountEndpoint = ep.parse()?;
    let account =
        AccountReference::with_authentication_key(endpoint, Secret::from(EMULATOR_KEY.to_string()));
    let client = CosmosClientBuilder::new()
        .build(account, RoutingStrategy::ProximityTo(Region::WEST_US_2))
        .await?;
    let container = client
        .database_client("qi")
        .container_client("items", None)
        .await?;
    let mut total = 0;
    for _ in 0..n {
        let query = Query::from("SELECT * FROM c WHERE c.pk = @pk").with_parameter("@pk", "p")?;
        let mut items = container
            .query_items::<serde_json::Value>(query, FeedScope::partition("p"), None)
            .await?;
        while let Some(item) = items.try_next().await? {
            total += usize::from(std::hint::black_box(item).is_object());
        }
    }
    if total != n * ITEMS {
        return Err(format!("{total} items, expected {}", n * ITEMS).into());
    }
    println!("official-query-bench: {n} queries, {total} items");
    Ok(())
}
