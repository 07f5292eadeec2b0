//! The change feed, pull model (issue 13), against the multi-partition test gateway's real
//! per-range change feed, on every transport: every write appears exactly once, in
//! latest-version order per partition key; deletes appear in all-versions-and-deletes mode;
//! every page resumes from the previous page's token alone on another transport; a split while
//! reading loses and repeats nothing; point-in-time, partition-key and feed-range scopes.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use sextant_core::models::{AccountReference, ContainerReference, ItemReference, PartitionKey};
use sextant_core::{ChangeFeedMode, ChangeFeedStart, CosmosOperation, ErrorKind, OperationOptions};
use sextant_tests::gateway::TestGateway;
use sextant_tests::scenarios::{create_database_and_container, Client};
use sextant_tests::server::EMULATOR_KEY;
use support::query_clients::{QueryClient, ALL};

fn write(client: &QueryClient, c: &ContainerReference, kind: &str, id: &str, pk: &str, n: i64) {
    let key = PartitionKey::from(pk);
    let doc = json!({"id": id, "pk": pk, "n": n}).to_string();
    let op = match kind {
        "create" => CosmosOperation::create(c.clone()).with_body(doc),
        "replace" => CosmosOperation::replace(ItemReference::in_container(c, id)).with_body(doc),
        _ => CosmosOperation::delete(ItemReference::in_container(c, id)),
    };
    client
        .execute(op.with_partition_key(key), OperationOptions::new())
        .unwrap_or_else(|e| panic!("{kind} {id}: {e}"));
}

/// Reads pages until one is caught up, each page on the next transport from the previous
/// page's token. Returns the items and the last token.
fn drain(
    clients: &[QueryClient],
    op: &CosmosOperation,
    mut token: Option<String>,
    max_items: Option<u32>,
) -> (Vec<Value>, Option<String>) {
    let mut items = Vec::new();
    for page in 0..10_000 {
        let client = &clients[page % clients.len()];
        let p = client
            .change_feed_page(op.clone(), token.clone(), max_items)
            .unwrap_or_else(|e| panic!("page {page} on {:?}: {e}", client.transport));
        token = Some(p.continuation().to_string());
        if p.is_caught_up() {
            return (items, token);
        }
        items.extend(p.into_items());
    }
    panic!("the feed never caught up");
}

/// Checks that `items` hold each id once and, per partition key, in increasing `_lsn` order.
fn once_in_order(items: &[Value]) -> HashMap<String, Value> {
    let mut by_id = HashMap::new();
    let mut last_lsn: BTreeMap<String, u64> = BTreeMap::new();
    for it in items {
        let id = it["id"].as_str().unwrap().to_string();
        let pk = it["pk"].as_str().unwrap().to_string();
        let lsn = it["_lsn"].as_u64().unwrap();
        let prev = last_lsn.insert(pk.clone(), lsn).unwrap_or(0);
        assert!(lsn > prev, "partition {pk}: lsn {lsn} after {prev}");
        assert!(by_id.insert(id.clone(), it.clone()).is_none(), "{id} twice");
    }
    by_id
}

#[test]
fn latest_version_feed_sees_every_write_once_and_resumes_on_any_transport() {
    let g = TestGateway::start(8);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    let clients: Vec<QueryClient> = ALL.iter().map(|t| QueryClient::new(*t, &account)).collect();
    let writer = &clients[0];
    let (_db, c) = create_database_and_container(writer, &account);
    let op = CosmosOperation::change_feed(
        c.clone(),
        ChangeFeedMode::LatestVersion,
        ChangeFeedStart::Beginning,
    );
    let (items, token) = drain(&clients, &op, None, Some(7));
    assert!(items.is_empty(), "a new container has no changes");

    for i in 0..300 {
        write(
            writer,
            &c,
            "create",
            &format!("i{i}"),
            &format!("p{}", i % 30),
            i,
        );
    }
    let (items, token) = drain(&clients, &op, token, Some(7));
    assert_eq!(items.len(), 300);
    let seen = once_in_order(&items);
    assert!((0..300).all(|i| seen.contains_key(&format!("i{i}"))));

    // Replaces of 100 items (twice each: only the latest version shows) and deletes of 50
    // others (invisible in latest-version mode).
    for i in 0..100 {
        write(
            writer,
            &c,
            "replace",
            &format!("i{i}"),
            &format!("p{}", i % 30),
            1_000 + i,
        );
        write(
            writer,
            &c,
            "replace",
            &format!("i{i}"),
            &format!("p{}", i % 30),
            2_000 + i,
        );
    }
    for i in 100..150 {
        write(
            writer,
            &c,
            "delete",
            &format!("i{i}"),
            &format!("p{}", i % 30),
            0,
        );
    }
    let (items, token) = drain(&clients, &op, token, Some(7));
    assert_eq!(
        items.len(),
        100,
        "each replaced item once, deletes invisible"
    );
    let seen = once_in_order(&items);
    for i in 0..100 {
        assert_eq!(
            seen[&format!("i{i}")]["n"],
            json!(2_000 + i),
            "the latest version"
        );
    }
    let (items, _) = drain(&clients, &op, token, None);
    assert!(items.is_empty(), "caught up");
}

#[test]
fn all_versions_and_deletes_feed_shows_every_write_and_the_deletes() {
    let g = TestGateway::start(3);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    for transport in ALL {
        let ctx = format!("{transport:?}");
        let client = QueryClient::new(transport, &account);
        let (_db, c) = create_database_and_container(&client, &account);
        write(&client, &c, "create", "before", "p", 0);
        let op = CosmosOperation::change_feed(
            c.clone(),
            ChangeFeedMode::AllVersionsAndDeletes,
            ChangeFeedStart::Now,
        );
        let clients = [client];
        let (items, token) = drain(&clients, &op, None, None);
        assert!(
            items.is_empty(),
            "{ctx}: from now, the earlier write is not shown"
        );
        let client = &clients[0];
        write(client, &c, "create", "a", "p", 1);
        write(client, &c, "replace", "a", "p", 2);
        write(client, &c, "delete", "a", "p", 0);
        let (items, _) = drain(&clients, &op, token, None);
        let kinds: Vec<&str> = items
            .iter()
            .map(|i| i["metadata"]["operationType"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            vec!["create", "replace", "delete"],
            "{ctx}: {items:?}"
        );
        assert_eq!(items[1]["current"]["n"], json!(2), "{ctx}");
        let create_lsn = items[0]["metadata"]["lsn"].as_u64().unwrap();
        assert_eq!(
            items[1]["metadata"]["previousImageLSN"],
            json!(create_lsn),
            "{ctx}"
        );
        assert_eq!(items[2]["metadata"]["id"], json!("a"), "{ctx}");
        assert!(items[2].get("current").is_none(), "{ctx}");

        // This mode cannot start from the beginning (the service keeps no such history).
        let from_start = CosmosOperation::change_feed(
            c.clone(),
            ChangeFeedMode::AllVersionsAndDeletes,
            ChangeFeedStart::Beginning,
        );
        let e = client.change_feed_page(from_start, None, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Configuration, "{ctx}: {e}");
    }
}

#[test]
fn a_split_while_reading_the_feed_loses_and_repeats_nothing() {
    let g = TestGateway::start(2);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    for transport in ALL {
        let ctx = format!("{transport:?}");
        let client = QueryClient::new(transport, &account);
        let (db, c) = create_database_and_container(&client, &account);
        for i in 0..200 {
            write(
                &client,
                &c,
                "create",
                &format!("i{i}"),
                &format!("p{}", i % 40),
                i,
            );
        }
        let op = CosmosOperation::change_feed(
            c.clone(),
            ChangeFeedMode::LatestVersion,
            ChangeFeedStart::Beginning,
        );
        let clients = [client];
        // Two pages of at most 10 changes per range, then the split, then the rest.
        let mut items = Vec::new();
        let mut token = None;
        for _ in 0..2 {
            let p = clients[0]
                .change_feed_page(op.clone(), token.clone(), Some(10))
                .unwrap();
            token = Some(p.continuation().to_string());
            items.extend(p.into_items());
        }
        let (status, body) = g.split(db.name(), c.name(), "0");
        assert_eq!(status, 200, "{ctx}: {body}");
        let (rest, token) = drain(&clients, &op, token, Some(10));
        items.extend(rest);
        assert_eq!(items.len(), 200, "{ctx}");
        once_in_order(&items);
        // Writes after the split reach the children's feeds.
        for i in 200..260 {
            write(
                &clients[0],
                &c,
                "create",
                &format!("i{i}"),
                &format!("p{}", i % 40),
                i,
            );
        }
        let (after, _) = drain(&clients, &op, token, Some(10));
        assert_eq!(after.len(), 60, "{ctx}");
        once_in_order(&after);
    }
}

#[test]
fn point_in_time_partition_key_and_feed_range_scopes() {
    let g = TestGateway::start(4);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    let client = QueryClient::new(ALL[1], &account);
    let (_db, c) = create_database_and_container(&client, &account);
    for i in 0..40 {
        write(
            &client,
            &c,
            "create",
            &format!("old{i}"),
            &format!("p{}", i % 8),
            i,
        );
    }
    // The service compares whole seconds: start strictly after the first writes' second.
    std::thread::sleep(Duration::from_millis(1_100));
    let start = SystemTime::now();
    std::thread::sleep(Duration::from_millis(1_100));
    for i in 0..40 {
        write(
            &client,
            &c,
            "create",
            &format!("new{i}"),
            &format!("p{}", i % 8),
            i,
        );
    }
    let clients = [client];
    let op = CosmosOperation::change_feed(
        c.clone(),
        ChangeFeedMode::LatestVersion,
        ChangeFeedStart::PointInTime(start),
    );
    let (items, _) = drain(&clients, &op, None, None);
    assert_eq!(items.len(), 40);
    assert!(items
        .iter()
        .all(|i| i["id"].as_str().unwrap().starts_with("new")));

    // One partition key.
    let op = CosmosOperation::change_feed(
        c.clone(),
        ChangeFeedMode::LatestVersion,
        ChangeFeedStart::Beginning,
    )
    .with_partition_key(PartitionKey::from("p3"));
    let (items, token) = drain(&clients, &op, None, None);
    assert_eq!(items.len(), 10);
    assert!(items.iter().all(|i| i["pk"] == json!("p3")));
    write(&clients[0], &c, "create", "late", "p3", 0);
    write(&clients[0], &c, "create", "other", "p4", 0);
    let (items, _) = drain(&clients, &op, token.clone(), None);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], json!("late"));

    // Feed ranges: each range's feed, together, is the whole feed, each change once.
    let ranges = clients[0].read_feed_ranges(c.clone()).unwrap();
    assert_eq!(ranges.len(), 4);
    let mut all = Vec::new();
    for r in ranges {
        let op = CosmosOperation::change_feed(
            c.clone(),
            ChangeFeedMode::LatestVersion,
            ChangeFeedStart::Beginning,
        )
        .with_feed_range(r);
        all.extend(drain(&clients, &op, None, Some(5)).0);
    }
    assert_eq!(all.len(), 82);
    once_in_order(&all);

    // Half of one range (what a lease keeps reading after its range merged into a bigger
    // one): EPK-bounded requests, only the changes of that half.
    let first = clients[0].read_feed_ranges(c.clone()).unwrap()[0].clone();
    let (lo, hi) = (first.min().to_string(), first.max().to_string());
    let mid = format!("{:X}", u128::from_str_radix(&hi, 16).unwrap() / 2);
    let mid = format!("{mid:0>32}");
    let mut halves = Vec::new();
    for (a, b) in [(lo.as_str(), mid.as_str()), (mid.as_str(), hi.as_str())] {
        let op = CosmosOperation::change_feed(
            c.clone(),
            ChangeFeedMode::LatestVersion,
            ChangeFeedStart::Beginning,
        )
        .with_feed_range(sextant_core::feed::FeedRange::new(a, b).unwrap());
        halves.push(drain(&clients, &op, None, Some(5)).0);
    }
    let whole_op = CosmosOperation::change_feed(
        c.clone(),
        ChangeFeedMode::LatestVersion,
        ChangeFeedStart::Beginning,
    )
    .with_feed_range(first);
    let whole = drain(&clients, &whole_op, None, None).0;
    assert!(
        !halves[0].is_empty() && !halves[1].is_empty(),
        "both halves hold changes"
    );
    assert_eq!(halves[0].len() + halves[1].len(), whole.len());
    let ids = |v: &[Value]| {
        let mut ids: Vec<String> = v
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let mut joined = halves.concat();
    joined.sort_by_key(|i| i["id"].as_str().unwrap().to_string());
    assert_eq!(ids(&joined), ids(&whole));

    // A token of another scope is refused by name.
    let whole = CosmosOperation::change_feed(
        c.clone(),
        ChangeFeedMode::LatestVersion,
        ChangeFeedStart::Beginning,
    );
    let e = clients[0].change_feed_page(whole, token, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
    assert!(e.message().contains("continuation"), "{e}");
}
