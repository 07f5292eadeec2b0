//! Cross-partition queries against the multi-partition test gateway, on every transport:
//! a split in the middle of a paged ORDER BY query and of a plain query (nothing lost or
//! repeated, with the pager kept and when resumed from a token on a fresh driver), and request
//! counting at the gateway (no page fetched twice; fan-out only to the ranges a partition key
//! filter, a feed range or a partition key scope overlaps).

mod support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use sextant_core::feed::FeedRange;
use sextant_core::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, PartitionKey,
    PartitionKeyDefinition,
};
use sextant_core::{CosmosOperation, OperationOptions, QuerySpec};
use sextant_tests::gateway::TestGateway;
use sextant_tests::scenarios::{create_items, Client};
use sextant_tests::server::EMULATOR_KEY;
use support::query_clients::{QueryClient, Transport, ALL};

const DOCS: usize = 60;

/// A container in its own database on the gateway, loaded with `DOCS` items
/// `{id: dNN, pk: p(i % 12), n: i}`.
fn loaded(client: &QueryClient, account: &AccountReference, db: &str) -> ContainerReference {
    let r = client
        .execute(
            CosmosOperation::create_database(account.clone(), db),
            OperationOptions::new(),
        )
        .unwrap();
    assert_eq!(r.status(), 201);
    let dbref = DatabaseReference::from_name(account.clone(), db);
    let props = ContainerProperties::new("items", PartitionKeyDefinition::hash("/pk"));
    let r = client
        .execute(
            CosmosOperation::create_container(dbref.clone(), &props),
            OperationOptions::new(),
        )
        .unwrap();
    assert_eq!(r.status(), 201);
    let container = ContainerReference::in_database(&dbref, "items");
    create_items(
        client,
        &container,
        (0..DOCS).map(|i| json!({"id": format!("d{i:02}"), "pk": format!("p{}", i % 12), "n": i})),
    );
    container
}

fn ns(items: &[Value]) -> Vec<i64> {
    items.iter().map(|i| i["n"].as_i64().unwrap()).collect()
}

fn current_ranges(g: &TestGateway, db: &str) -> Vec<String> {
    g.topology()["collections"][format!("{db}/items")]["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// Splits every current range of `db/items` (each split must succeed).
fn split_all(g: &TestGateway, db: &str) {
    for id in current_ranges(g, db) {
        let (status, body) = g.split(db, "items", &id);
        assert_eq!(status, 200, "split {id}: {body}");
    }
}

/// A split after the second page of a paged ORDER BY query and of a plain query: the pager
/// continues on the children, and a fresh driver resumes from the token taken before a second
/// split; either way every item comes exactly once (in order for ORDER BY).
#[test]
fn a_split_mid_query_loses_and_repeats_nothing() {
    let g = TestGateway::start(2);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    // One range per pkranges page: every routing-map read and refresh follows continuations.
    let (status, _) = g.http(
        "POST",
        "/_gateway/config",
        &[],
        Some(r#"{"pkrangesPageSize": 1}"#),
    );
    assert_eq!(status, 200);
    for (ti, transport) in ALL.into_iter().enumerate() {
        for (qi, (sql, ordered)) in [
            ("SELECT * FROM c ORDER BY c.n DESC", true),
            ("SELECT * FROM c", false),
        ]
        .into_iter()
        .enumerate()
        {
            // The old range ids answer 410 with 1002 (range gone), 1007 (a split completing)
            // or 1008 (a migration completing): each says re-route (PROTOCOL.md §4), and each
            // reaches every transport.
            let gone_sub_status = [1002, 1007, 1008][(2 * ti + qi) % 3];
            let config = format!(r#"{{"goneSubStatus": {gone_sub_status}}}"#);
            let (status, _) = g.http("POST", "/_gateway/config", &[], Some(&config));
            assert_eq!(status, 200);
            let db = format!("split{qi}{transport:?}").to_lowercase();
            let client = QueryClient::new(transport, &account);
            let container = loaded(&client, &account, &db);
            let op = CosmosOperation::query(container.clone(), QuerySpec::new(sql));
            let opts = OperationOptions::new().with_max_item_count(5);

            // With the pager kept across the split.
            let mut seen = Vec::new();
            let mut token = None;
            let mut pages = client.pager(op.clone(), opts.clone());
            for page in 0.. {
                let Some(p) = pages.next_page() else { break };
                let p = p
                    .unwrap_or_else(|e| panic!("{transport:?} {sql} (410/{gone_sub_status}): {e}"));
                seen.extend(ns(p.items()));
                if page == 1 {
                    split_all(&g, &db);
                }
                if page == 3 {
                    token = p.continuation().map(str::to_owned);
                }
            }
            check(&seen, ordered, &format!("{transport:?} {sql} (pager)"));
            let ranges = current_ranges(&g, &db).len();
            assert_eq!(
                client.read_feed_ranges(container.clone()).unwrap().len(),
                ranges,
                "{transport:?}: the feed ranges follow the split"
            );

            // From a token on a fresh driver, after another split.
            let token = token.expect("a token after page 4");
            let before: Vec<i64> = seen[..20].to_vec();
            split_all(&g, &db);
            let fresh = QueryClient::new(transport, &account);
            let rest = fresh
                .all_pages(op.clone(), opts.clone().with_continuation(token))
                .unwrap_or_else(|e| panic!("{transport:?} {sql} resumed: {e}"));
            let mut all = before;
            all.extend(rest.iter().flat_map(|p| ns(p.items())));
            check(&all, ordered, &format!("{transport:?} {sql} (token)"));
        }
    }
}

fn check(seen: &[i64], ordered: bool, ctx: &str) {
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(seen.len(), DOCS, "{ctx}: {seen:?}");
    assert_eq!(unique.len(), DOCS, "{ctx}: repeated items in {seen:?}");
    if ordered {
        let mut sorted = seen.to_vec();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(seen, sorted, "{ctx}: ORDER BY order");
    }
}

/// Every per-range request of a paged cross-partition query asks for a page no other request
/// asked for (range, continuation), and fan-out reaches only the ranges a query can touch.
#[test]
fn the_gateway_sees_each_page_once_and_only_overlapping_ranges() {
    let g = TestGateway::start(8);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    for transport in ALL {
        let db = format!("count{transport:?}").to_lowercase();
        let client = QueryClient::new(transport, &account);
        let container = loaded(&client, &account, &db);
        let ranges = current_ranges(&g, &db);
        assert_eq!(ranges.len(), 8);

        for sql in ["SELECT * FROM c ORDER BY c.n", "SELECT c.id FROM c"] {
            g.reset_requests();
            let op = CosmosOperation::query(container.clone(), QuerySpec::new(sql));
            let pages = client
                .all_pages(op, OperationOptions::new().with_max_item_count(4))
                .unwrap();
            let items: usize = pages.iter().map(|p| p.items().len()).sum();
            assert_eq!(items, DOCS, "{transport:?} {sql}");
            let log = g.query_log();
            let mut asked = BTreeSet::new();
            for r in &log {
                let key = (r["range"].to_string(), r["continuation"].to_string());
                assert!(
                    asked.insert(key.clone()),
                    "{transport:?} {sql}: page {key:?} fetched twice"
                );
            }
            // Every range was read to its end: one request more than its continuations.
            let touched: BTreeSet<String> = log
                .iter()
                .map(|r| r["range"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(
                touched.len(),
                8,
                "{transport:?} {sql}: every range holds items"
            );
            assert_eq!(
                g.requests()["all"]["plan"],
                json!(1),
                "{transport:?} {sql}: one plan per query"
            );
        }

        // The plan is cached per query text and parameters: the same query again needs none,
        // other parameters need their own.
        g.reset_requests();
        for (min, plans) in [(0, 1), (0, 1), (5, 2)] {
            let op = CosmosOperation::query(
                container.clone(),
                QuerySpec::new("SELECT c.id FROM c WHERE c.n >= @min").with_parameter("@min", min),
            );
            client.all_pages(op, OperationOptions::new()).unwrap();
            assert_eq!(
                g.requests()["all"]["plan"],
                json!(plans),
                "{transport:?}: plan requests after the query with @min = {min}"
            );
        }

        // A partition key equality: the plan's point range touches exactly one range.
        g.reset_requests();
        let op = CosmosOperation::query(
            container.clone(),
            QuerySpec::new("SELECT * FROM c WHERE c.pk = @pk").with_parameter("@pk", "p5"),
        );
        let pages = client.all_pages(op, OperationOptions::new()).unwrap();
        let items: Vec<Value> = pages.iter().flat_map(|p| p.items().to_vec()).collect();
        assert_eq!(items.len(), DOCS / 12, "{transport:?}");
        assert!(items.iter().all(|i| i["pk"] == "p5"));
        let touched: BTreeSet<String> = g
            .query_log()
            .iter()
            .map(|r| r["range"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            touched.len(),
            1,
            "{transport:?}: a pk filter fans out to one range, got {touched:?}"
        );

        // A feed range of one physical range: only that range, without EPK bounds. The range
        // feed is read in pages of 3 (as the service pages it), every page followed.
        let (status, _) = g.http(
            "POST",
            "/_gateway/config",
            &[],
            Some(r#"{"pkrangesPageSize": 3}"#),
        );
        assert_eq!(status, 200);
        let feed = client.read_feed_ranges(container.clone()).unwrap();
        assert_eq!(feed.len(), 8, "{transport:?}: one feed range per range");
        assert!(feed.windows(2).all(|w| w[0].max() == w[1].min()));
        assert_eq!((feed[0].min(), feed[7].max()), ("", "FF"));
        let mut total = 0;
        for (i, f) in feed.iter().enumerate() {
            g.reset_requests();
            let op =
                CosmosOperation::query(container.clone(), QuerySpec::new("SELECT c.id FROM c"))
                    .with_feed_range(f.clone());
            let pages = client
                .all_pages(op, OperationOptions::new().with_max_item_count(3))
                .unwrap();
            total += pages.iter().map(|p| p.items().len()).sum::<usize>();
            let log = g.query_log();
            assert!(
                log.iter()
                    .all(|r| r["range"] == json!(ranges[i]) && r["bounded"] == json!(false)),
                "{transport:?}: feed range {i} read {log:?}"
            );
        }
        assert_eq!(
            total, DOCS,
            "{transport:?}: the feed ranges cover the container once"
        );

        // The feed range of one partition key: part of one range, read with EPK bounds.
        g.reset_requests();
        let pk = PartitionKey::from("p7");
        let f = FeedRange::for_partition_key(&pk, &PartitionKeyDefinition::hash("/pk")).unwrap();
        let op = CosmosOperation::query(container.clone(), QuerySpec::new("SELECT * FROM c"))
            .with_feed_range(f);
        let pages = client.all_pages(op, OperationOptions::new()).unwrap();
        let items: Vec<Value> = pages.iter().flat_map(|p| p.items().to_vec()).collect();
        assert_eq!(items.len(), DOCS / 12, "{transport:?}");
        assert!(
            items.iter().all(|i| i["pk"] == "p7"),
            "{transport:?}: {items:?}"
        );
        let log = g.query_log();
        assert!(
            !log.is_empty() && log.iter().all(|r| r["bounded"] == json!(true)),
            "{log:?}"
        );

        // A partition key scope: one request to the owning range, none elsewhere.
        g.reset_requests();
        let op = CosmosOperation::query(
            container.clone(),
            QuerySpec::new("SELECT * FROM c ORDER BY c.n DESC"),
        )
        .with_partition_key(PartitionKey::from("p2"));
        let pages = client.all_pages(op, OperationOptions::new()).unwrap();
        let got: Vec<i64> = pages.iter().flat_map(|p| ns(p.items())).collect();
        let want: Vec<i64> = (0..DOCS as i64).rev().filter(|n| n % 12 == 2).collect();
        assert_eq!(
            got, want,
            "{transport:?}: the scope filters to one partition key"
        );
        let log = g.query_log();
        assert!(log.len() == 1 && log[0]["single"] == json!(true), "{log:?}");
        assert_eq!(
            g.requests()["all"]["plan"],
            Value::Null,
            "a scoped query needs no plan"
        );
        let _ = Transport::Tokio;
    }
}

/// A query scoped to a prefix of a hierarchical key returns exactly that prefix's items, over
/// the key range the prefix spans (EPK-bounded requests), whether the driver knew the key
/// definition before the first page or learned it then; its token resumes on a fresh driver.
#[test]
fn a_hierarchical_prefix_scopes_a_query_to_its_key_range() {
    let g = TestGateway::start(8);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    for transport in ALL {
        let db = format!("prefix{transport:?}").to_lowercase();
        let client = QueryClient::new(transport, &account);
        client
            .execute(
                CosmosOperation::create_database(account.clone(), &db),
                OperationOptions::new(),
            )
            .unwrap();
        let dbref = DatabaseReference::from_name(account.clone(), &db);
        let props = ContainerProperties::new(
            "items",
            PartitionKeyDefinition::hierarchical(["/tenant", "/user"]),
        );
        client
            .execute(
                CosmosOperation::create_container(dbref.clone(), &props),
                OperationOptions::new(),
            )
            .unwrap();
        let container = ContainerReference::in_database(&dbref, "items");
        for i in 0..48 {
            let (tenant, user) = (format!("t{}", i % 4), format!("u{}", i % 6));
            let pk =
                PartitionKey::hierarchical([tenant.as_str().into(), user.as_str().into()]).unwrap();
            let op = CosmosOperation::create(container.clone())
                .with_partition_key(pk)
                .with_body(
                    json!({"id": format!("d{i:02}"), "tenant": tenant, "user": user, "n": i})
                        .to_string(),
                );
            assert_eq!(
                client
                    .execute(op, OperationOptions::new())
                    .unwrap()
                    .status(),
                201
            );
        }
        let prefix = PartitionKey::hierarchical(["t1".into()]).unwrap();
        let want: Vec<i64> = (0..48).filter(|i| i % 4 == 1).collect();
        // A fresh driver learns the definition on the first page; the loading driver knows it.
        for fresh in [true, false] {
            let reader = QueryClient::new(transport, &account);
            if !fresh {
                // Teach this driver the definition with a point read first.
                let item = sextant_core::models::ItemReference::in_container(&container, "d01");
                let pk = PartitionKey::hierarchical(["t1".into(), "u1".into()]).unwrap();
                reader
                    .execute(
                        CosmosOperation::read(item).with_partition_key(pk),
                        OperationOptions::new(),
                    )
                    .unwrap();
            }
            g.reset_requests();
            let op = CosmosOperation::query(
                container.clone(),
                QuerySpec::new("SELECT * FROM c ORDER BY c.n"),
            )
            .with_partition_key(prefix.clone());
            let pages = reader
                .all_pages(op.clone(), OperationOptions::new().with_max_item_count(5))
                .unwrap_or_else(|e| panic!("{transport:?} fresh={fresh}: {e}"));
            let got: Vec<i64> = pages.iter().flat_map(|p| ns(p.items())).collect();
            assert_eq!(got, want, "{transport:?} fresh={fresh}");
            let log = g.query_log();
            assert!(
                !log.is_empty() && log.iter().all(|r| r["bounded"] == json!(true)),
                "{transport:?} fresh={fresh}: the prefix is read as an EPK range: {log:?}"
            );
            // Page by page from tokens on yet another driver.
            let other = QueryClient::new(transport, &account);
            let pages = other
                .all_pages_by_token(op, OperationOptions::new().with_max_item_count(5))
                .unwrap_or_else(|e| panic!("{transport:?} by token: {e}"));
            let got: Vec<i64> = pages.iter().flat_map(|p| ns(p.items())).collect();
            assert_eq!(got, want, "{transport:?} fresh={fresh} by token");
        }
    }
}
