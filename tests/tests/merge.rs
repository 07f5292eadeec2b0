//! Partition merges (the service merges adjacent ranges; both old range ids answer 410/1002),
//! against the test gateway's merge, on every transport: point operations, cross-partition
//! queries (fresh, and resumed from a token taken before the merge), the change feed resumed
//! across the merge, bulk and ReadMany all see every item exactly once.

mod support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use sextant_core::models::{AccountReference, ItemReference, PartitionKey};
use sextant_core::{
    BulkBuilder, BulkOperation, ChangeFeedMode, ChangeFeedStart, CosmosOperation, OperationOptions,
    QuerySpec, ReadManyResponse,
};
use sextant_tests::gateway::TestGateway;
use sextant_tests::scenarios::{create_database_and_container, create_items, Client};
use sextant_tests::server::EMULATOR_KEY;
use support::query_clients::{QueryClient, ALL};

const ITEMS: usize = 400;

fn doc(n: usize) -> Value {
    json!({"id": format!("i{n}"), "pk": format!("p{}", n % 53), "n": n})
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

fn once(ctx: &str, ids: &[String], expected: usize) {
    let set: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(set.len(), ids.len(), "{ctx}: an item came twice");
    assert_eq!(ids.len(), expected, "{ctx}: items lost");
}

#[test]
fn every_operation_follows_a_merge_on_every_transport() {
    let g = TestGateway::start(4);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    for transport in ALL {
        let ctx = format!("{transport:?}");
        let client = QueryClient::new(transport, &account);
        let (db, c) = create_database_and_container(&client, &account);
        create_items(&client, &c, (0..ITEMS).map(doc));

        // Before the merge: the driver caches the four-range map, a query takes a token after
        // its first page, and the change feed is read to the end.
        let all = || CosmosOperation::query(c.clone(), QuerySpec::new("SELECT * FROM c"));
        let page_opts = |token: Option<String>| {
            let o = OperationOptions::new().with_max_item_count(50);
            match token {
                Some(t) => o.with_continuation(t),
                None => o,
            }
        };
        let first = client
            .page_from_token(all(), page_opts(None))
            .expect("a page")
            .unwrap_or_else(|e| panic!("{ctx}: first page: {e}"));
        let query_token = first
            .continuation()
            .map(str::to_string)
            .expect("more pages");
        let mut seen = ids(first.items());
        let feed = CosmosOperation::change_feed(
            c.clone(),
            ChangeFeedMode::LatestVersion,
            ChangeFeedStart::Beginning,
        );
        let mut feed_token = None;
        let mut fed = Vec::new();
        loop {
            let p = client
                .change_feed_page(feed.clone(), feed_token.clone(), Some(100))
                .unwrap();
            feed_token = Some(p.continuation().to_string());
            if p.is_caught_up() {
                break;
            }
            fed.extend(ids(p.items()));
        }
        once(&format!("{ctx}: feed before"), &fed, ITEMS);

        // Ranges 0 and 1 merge, then 2 and 3: every range id the driver knows is gone.
        for (l, r) in [("0", "1"), ("2", "3")] {
            let (status, body) = g.merge(db.name(), c.name(), l, r);
            assert_eq!(status, 200, "{ctx}: merge {l}+{r}: {body}");
        }

        // The query resumes from its pre-merge token (EPK ranges of gone ids) and finishes.
        let mut token = Some(query_token);
        while let Some(t) = token {
            let p = client
                .page_from_token(all(), page_opts(Some(t)))
                .expect("a page")
                .unwrap_or_else(|e| panic!("{ctx}: resumed page: {e}"));
            seen.extend(ids(p.items()));
            token = p.continuation().map(str::to_string);
        }
        once(&format!("{ctx}: query across the merge"), &seen, ITEMS);

        // A fresh query, point reads and writes.
        let fresh: Vec<String> = client
            .all_pages(all(), OperationOptions::new())
            .unwrap()
            .iter()
            .flat_map(|p| ids(p.items()))
            .collect();
        once(&format!("{ctx}: fresh query"), &fresh, ITEMS);
        for n in (0..ITEMS).step_by(37) {
            let d = doc(n);
            let r = client
                .execute(
                    CosmosOperation::read(ItemReference::in_container(
                        &c,
                        d["id"].as_str().unwrap(),
                    ))
                    .with_partition_key(d["pk"].as_str().unwrap()),
                    OperationOptions::new(),
                )
                .unwrap_or_else(|e| panic!("{ctx}: read i{n}: {e}"));
            assert_eq!(r.json::<Value>().unwrap()["n"], n);
        }
        create_items(&client, &c, (ITEMS..ITEMS + 100).map(doc));

        // Bulk and ReadMany route by the merged map.
        let ops = (ITEMS + 100..ITEMS + 200).map(|n| {
            let d = doc(n);
            let pk = PartitionKey::from(d["pk"].as_str().unwrap());
            (n, BulkOperation::create(pk, d.to_string()))
        });
        let (results, progress) = client.bulk(BulkBuilder::new(c.clone()), ops, |_| {});
        assert_eq!(results.len(), 100, "{ctx}");
        assert_eq!(progress.operations_failed, 0, "{ctx}: {progress:?}");
        let keys: Vec<(String, PartitionKey)> = (0..ITEMS + 200)
            .step_by(7)
            .map(|n| {
                let d = doc(n);
                (
                    d["id"].as_str().unwrap().to_string(),
                    PartitionKey::from(d["pk"].as_str().unwrap()),
                )
            })
            .collect();
        let r = client
            .execute(
                CosmosOperation::read_many(c.clone(), keys.clone()),
                OperationOptions::new(),
            )
            .unwrap_or_else(|e| panic!("{ctx}: read many: {e}"));
        let many = ReadManyResponse::from_response(&r, keys.len()).unwrap();
        assert!(
            many.items().iter().all(Option::is_some),
            "{ctx}: read many lost items"
        );

        // The change feed resumes from its pre-merge token: the 200 new items, once each.
        let mut after = Vec::new();
        loop {
            let p = client
                .change_feed_page(feed.clone(), feed_token.clone(), Some(100))
                .unwrap_or_else(|e| panic!("{ctx}: feed after the merge: {e}"));
            feed_token = Some(p.continuation().to_string());
            if p.is_caught_up() {
                break;
            }
            after.extend(ids(p.items()));
        }
        once(&format!("{ctx}: feed across the merge"), &after, 200);
    }
}
