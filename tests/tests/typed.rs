//! The typed layer (issue 15, first part) against the test gateway, on every transport (the
//! blocking clients, and the async clients written once in `sextant_host::typed` run on tokio and
//! on smol): serde types in and out, the partition key taken from the item by the container's key path,
//! `None` for a missing item, conditional replace, patch, parameterised queries, and errors
//! that name the field; typed bulk (per-correlation results, per-item serialization and key
//! errors, a 409, over several windows, from an iterator and a stream), query pages with their
//! tokens, and the typed all-versions-and-deletes feed.

use serde::{Deserialize, Serialize};
use sextant_core::models::{
    AccountReference, ContainerProperties, DatabaseReference, PartitionKeyDefinition,
};
use sextant_core::operation::PatchBuilder;
use sextant_core::{CosmosOperation, ErrorKind};
use sextant_tests::gateway::TestGateway;
use sextant_tests::scenarios::unique;
use sextant_tests::server::EMULATOR_KEY;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    id: String,
    customer: Customer,
    total: i64,
    lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Customer {
    tenant: String,
}

/// The same documents read as a type whose `total` is a string.
#[derive(Debug, Deserialize)]
#[allow(dead_code)] // only the decoding error is looked at
struct WrongOrder {
    id: String,
    total: String,
}

fn order(id: &str, tenant: &str, total: i64) -> Order {
    Order {
        id: id.into(),
        customer: Customer {
            tenant: tenant.into(),
        },
        total,
        lines: vec!["a".into(), "b".into()],
    }
}

/// A database with an `orders` container partitioned by `/customer/tenant`; its name.
fn setup(driver: &sextant_blocking::CosmosDriver, account: &AccountReference) -> String {
    let db = unique("db");
    driver
        .execute_operation(CosmosOperation::create_database(account.clone(), &db), None)
        .unwrap();
    let props =
        ContainerProperties::new("orders", PartitionKeyDefinition::hash("/customer/tenant"));
    driver
        .execute_operation(
            CosmosOperation::create_container(
                DatabaseReference::from_name(account.clone(), &db),
                &props,
            ),
            None,
        )
        .unwrap();
    db
}

/// A blocking driver for `account`, isolated from the process environment.
fn blocking_driver(account: &AccountReference) -> sextant_blocking::CosmosDriver {
    sextant_blocking::CosmosDriverRuntime::builder()
        .environment(Default::default())
        .build()
        .unwrap()
        .get_or_create_driver(account.clone(), None)
        .unwrap()
}

#[test]
fn typed_items_round_trip_on_the_blocking_transport() {
    let g = TestGateway::start(4);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    let driver = blocking_driver(&account);
    let db = setup(&driver, &account);
    let orders = driver.database(&db).container("orders");

    // Create: the partition key comes from customer.tenant.
    for i in 0..20 {
        let r = orders
            .create_item(&order(&format!("o{i}"), &format!("t{}", i % 4), i))
            .unwrap();
        assert_eq!(r.status, 201);
        assert_eq!(r.item.total, i);
        assert!(r.etag.is_some() && r.request_charge > 0.0);
    }
    let e = orders.create_item(&order("o0", "t0", 0)).unwrap_err();
    assert_eq!(e.status(), Some(409));

    // Read: Some, and None for a missing item or a wrong partition.
    let got = orders.read_item::<Order>("t1", "o1").unwrap().unwrap();
    assert_eq!(got.item, order("o1", "t1", 1));
    assert!(orders.read_item::<Order>("t2", "o1").unwrap().is_none());
    assert!(orders.read_item::<Order>("t1", "nope").unwrap().is_none());

    // Replace with the etag read; a stale etag is refused.
    let mut changed = got.item.clone();
    changed.total = 100;
    let r = orders.replace_item(&changed, got.etag.as_deref()).unwrap();
    assert_eq!(r.item.total, 100);
    let e = orders
        .replace_item(&changed, got.etag.as_deref())
        .unwrap_err();
    assert_eq!(e.status(), Some(412));

    // Upsert and patch.
    let r = orders.upsert_item(&order("o1", "t1", 7)).unwrap();
    assert_eq!(r.item.total, 7);
    let r = orders
        .patch_item::<Order>("t1", "o1", PatchBuilder::new().increment("/total", 5))
        .unwrap();
    assert_eq!(r.item.total, 12);

    // Queries: parameterised, in one partition and across all of them.
    let rows: Vec<Order> = orders
        .query("SELECT * FROM c WHERE c.total >= @min")
        .param("@min", 10)
        .partition_key("t3")
        .items()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut ids: Vec<&str> = rows.iter().map(|o| o.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["o11", "o15", "o19"]);
    let all: Vec<Order> = orders
        .query("SELECT * FROM c")
        .items()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all.len(), 20);
    let totals: Vec<i64> = orders
        .query("SELECT VALUE c.total FROM c WHERE c.id = @id")
        .param("@id", "o1")
        .partition_key("t1")
        .items()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(totals, [12]);

    // A type that does not fit names the field.
    let e = orders.read_item::<WrongOrder>("t1", "o1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Serialization);
    assert!(e.message().contains("`total`"), "{e}");
    let e = orders
        .query("SELECT * FROM c")
        .items()
        .unwrap()
        .map(|r: Result<WrongOrder, _>| r)
        .find_map(Result::err)
        .unwrap();
    assert!(e.message().contains("`total`"), "{e}");

    // ReadMany, a batch, throughput.
    let many: Vec<Option<Order>> = orders
        .read_many([("o2", "t2"), ("nope", "t2"), ("o1", "t1")])
        .unwrap();
    assert_eq!(
        many.iter().map(Option::is_some).collect::<Vec<_>>(),
        [true, false, true]
    );
    assert_eq!(many[2].as_ref().map(|o| o.total), Some(12));
    let r = orders
        .batch("t5")
        .create(&order("b1", "t5", 1))
        .create(&order("b2", "t5", 2))
        .read("b1")
        .execute()
        .unwrap();
    assert!(r.is_success(), "{:?}", r.first_failure());
    let e = orders
        .batch("t5")
        .create(&order("b3", "t6", 3))
        .execute()
        .unwrap_err();
    assert!(e.message().contains("not the item's"), "{e}");
    let t = orders.read_throughput().unwrap().unwrap();
    assert_eq!(
        t.throughput,
        Some(sextant_core::models::ThroughputProperties::Manual(400))
    );
    let t = orders
        .replace_throughput(sextant_core::models::ThroughputProperties::Manual(500))
        .unwrap()
        .unwrap();
    assert_eq!(
        t.throughput,
        Some(sextant_core::models::ThroughputProperties::Manual(500))
    );

    // The change feed as `Order`s: everything once, then only what is new.
    let mut feed = orders
        .change_feed::<Order>(sextant_core::ChangeFeedStart::Beginning, None)
        .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let token = loop {
        let page = feed.next_page().unwrap();
        seen.extend(page.items.iter().map(|o| o.id.clone()));
        if page.caught_up {
            break page.continuation;
        }
    };
    let stored: Vec<String> = orders
        .query("SELECT VALUE c.id FROM c")
        .items()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(seen.len(), stored.len());
    orders.create_item(&order("late", "t0", 1)).unwrap();
    let mut resumed = orders
        .change_feed::<Order>(sextant_core::ChangeFeedStart::Beginning, Some(&token))
        .unwrap();
    let page = resumed.next_page().unwrap();
    assert_eq!(
        page.items.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        ["late"]
    );

    // Delete: true, then false.
    assert!(orders.delete_item("t1", "o1").unwrap());
    assert!(!orders.delete_item("t1", "o1").unwrap());
}

/// The same checks through the async clients (one generic implementation for both async
/// transports).
async fn exercise<D: sextant_host::typed::TypedDriver>(
    orders: sextant_host::typed::ContainerClient<D>,
) {
    for i in 0..20 {
        let r = orders
            .create_item(&order(&format!("o{i}"), &format!("t{}", i % 4), i))
            .await
            .unwrap();
        assert_eq!((r.status, r.item.total), (201, i));
        assert!(r.etag.is_some());
    }
    assert_eq!(
        orders
            .create_item(&order("o0", "t0", 0))
            .await
            .unwrap_err()
            .status(),
        Some(409)
    );
    let got = orders
        .read_item::<Order>("t1", "o1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.item, order("o1", "t1", 1));
    assert!(orders
        .read_item::<Order>("t2", "o1")
        .await
        .unwrap()
        .is_none());
    let mut changed = got.item.clone();
    changed.total = 100;
    orders
        .replace_item(&changed, got.etag.as_deref())
        .await
        .unwrap();
    assert_eq!(
        orders
            .replace_item(&changed, got.etag.as_deref())
            .await
            .unwrap_err()
            .status(),
        Some(412)
    );
    orders.upsert_item(&order("o1", "t1", 7)).await.unwrap();
    let r = orders
        .patch_item::<Order>("t1", "o1", PatchBuilder::new().increment("/total", 5))
        .await
        .unwrap();
    assert_eq!(r.item.total, 12);
    let mut ids: Vec<String> = orders
        .query::<Order>("SELECT * FROM c WHERE c.total >= @min")
        .param("@min", 10)
        .partition_key("t3")
        .items()
        .unwrap()
        .collect_all()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    ids.sort();
    assert_eq!(ids, ["o11", "o15", "o19"]);
    use futures_lite::StreamExt;
    let all: Vec<Result<Order, _>> = orders
        .query::<Order>("SELECT * FROM c")
        .items()
        .unwrap()
        .into_stream()
        .collect()
        .await;
    assert_eq!(all.len(), 20);
    assert!(all.iter().all(Result::is_ok));
    let e = orders
        .read_item::<WrongOrder>("t1", "o1")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Serialization);
    assert!(e.message().contains("`total`"), "{e}");
    let many: Vec<Option<Order>> = orders
        .read_many([("o2", "t2"), ("nope", "t2"), ("o1", "t1")])
        .await
        .unwrap();
    assert_eq!(
        many.iter().map(Option::is_some).collect::<Vec<_>>(),
        [true, false, true]
    );
    let r = orders
        .batch("t5")
        .create(&order("b1", "t5", 1))
        .upsert(&order("b2", "t5", 2))
        .execute()
        .await
        .unwrap();
    assert!(r.is_success());
    let t = orders.read_throughput().await.unwrap().unwrap();
    assert_eq!(
        t.throughput,
        Some(sextant_core::models::ThroughputProperties::Manual(400))
    );
    let mut feed = orders
        .change_feed::<Order>(sextant_core::ChangeFeedStart::Beginning, None)
        .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let page = feed.next_page().await.unwrap();
        seen.extend(page.items.iter().map(|o| o.id.clone()));
        if page.caught_up {
            break;
        }
    }
    assert_eq!(seen.len(), 22, "20 orders and two batch items");
    assert!(orders.delete_item("t1", "o1").await.unwrap());
    assert!(!orders.delete_item("t1", "o1").await.unwrap());
}

#[test]
fn typed_items_round_trip_on_the_async_transports() {
    let g = TestGateway::start(4);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    let admin = blocking_driver(&account);

    let db = setup(&admin, &account);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let driver = sextant_tokio::CosmosDriverRuntime::builder()
            .environment(Default::default())
            .build()
            .await
            .unwrap()
            .get_or_create_driver(account.clone(), None)
            .await
            .unwrap();
        let run = exercise(driver.database(&db).container("orders"));
        tokio::time::timeout(std::time::Duration::from_secs(120), run)
            .await
            .expect("bounded");
    });

    let db = setup(&admin, &account);
    smol::block_on(async {
        let driver = sextant_async_std::CosmosDriverRuntime::builder()
            .environment(Default::default())
            .build()
            .await
            .unwrap()
            .get_or_create_driver(account.clone(), None)
            .await
            .unwrap();
        let run = exercise(driver.database(&db).container("orders"));
        futures_lite::future::or(run, async {
            smol::Timer::after(std::time::Duration::from_secs(120)).await;
            panic!("not finished within 120 s")
        })
        .await;
    });
}

// ---- Typed bulk, page-level queries and the all-versions-and-deletes feed (issue 15, rest).

/// A bulk item: an empty `id` is left out (an item without one), and `scores`, when set, cannot
/// be serialized (JSON map keys must be strings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    id: String,
    customer: Customer,
    n: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scores: Option<std::collections::BTreeMap<(u8, u8), u8>>,
}

fn entry(id: &str, tenant: &str, n: i64) -> Entry {
    Entry {
        id: id.into(),
        customer: Customer {
            tenant: tenant.into(),
        },
        n,
        scores: None,
    }
}

/// Items the bulk run reads, deletes, patches, replaces and fails to create again.
const BULK_EXISTING: [&str; 4] = ["exists", "gone", "patched", "replaced"];

/// How many bulk creates of new items.
const BULK_CREATES: i64 = 300;

/// The bulk run's operations, lazily: 300 creates, one item that cannot be serialized, one
/// without an id, a create that conflicts (409), and a read, delete, patch, replace and upsert.
fn bulk_ops() -> impl Iterator<Item = (String, sextant_core::typed::TypedBulkOperation<Entry>)> {
    use sextant_core::typed::TypedBulkOperation as Op;
    let creates = (0..BULK_CREATES).map(|i| {
        let e = entry(&format!("e{i}"), &format!("t{}", i % 4), i);
        (format!("create-{i}"), Op::create(&e))
    });
    let mut unserializable = entry("bad", "t0", 0);
    unserializable.scores = Some([((1, 2), 3)].into_iter().collect());
    let specials = vec![
        ("unserializable".to_string(), Op::create(&unserializable)),
        ("no-id".to_string(), Op::create(&entry("", "t0", 0))),
        (
            "conflict".to_string(),
            Op::create(&entry("exists", "tx", 0)),
        ),
        ("read".to_string(), Op::read("tx", "exists")),
        ("delete".to_string(), Op::delete("tx", "gone")),
        (
            "patch".to_string(),
            Op::patch("tx", "patched", PatchBuilder::new().increment("/n", 5)),
        ),
        (
            "replace".to_string(),
            Op::replace(&entry("replaced", "tx", 42)),
        ),
        (
            "upsert".to_string(),
            Op::upsert(&entry("upserted", "ty", 7)),
        ),
    ];
    // The odd ones in the middle of the creates, so they share windows with good operations.
    let (head, tail): (Vec<_>, Vec<_>) = creates.partition(|(c, _)| {
        c.trim_start_matches("create-")
            .parse::<i64>()
            .is_ok_and(|i| i < 150)
    });
    head.into_iter().chain(specials).chain(tail)
}

/// Checks every operation's typed result, by correlation, and the run's progress.
fn check_bulk(
    results: Vec<sextant_core::typed::TypedBulkResult<String, Entry>>,
    progress: sextant_core::BulkProgress,
    windows: usize,
) {
    use std::collections::HashMap;
    let total = BULK_CREATES as usize + 8;
    assert_eq!(results.len(), total);
    assert!(windows >= 3, "{windows} windows of at most 128 operations");
    let mut by: HashMap<String, Result<_, sextant_core::CosmosError>> = HashMap::new();
    for r in results {
        assert!(
            by.insert(r.correlation.clone(), r.outcome).is_none(),
            "{} twice",
            r.correlation
        );
    }
    for i in 0..BULK_CREATES {
        let r = by[&format!("create-{i}")].as_ref().unwrap();
        assert_eq!(r.status, 201);
        assert!(r.request_charge > 0.0 && r.etag.is_some());
        assert_eq!(
            r.item.as_ref().map(|e| (e.id.as_str(), e.n)),
            Some((format!("e{i}").as_str(), i))
        );
    }
    let e = by["unserializable"].as_ref().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Serialization, "{e}");
    assert!(e.message().contains("`scores`"), "{e}");
    let e = by["no-id"].as_ref().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Serialization, "{e}");
    assert!(e.message().contains("`id`"), "{e}");
    let e = by["conflict"].as_ref().unwrap_err();
    assert_eq!(
        (e.kind(), e.status()),
        (ErrorKind::Service, Some(409)),
        "{e}"
    );
    assert!(e.is_conflict());
    let r = by["read"].as_ref().unwrap();
    assert_eq!((r.status, r.item.as_ref().map(|e| e.n)), (200, Some(1)));
    let r = by["delete"].as_ref().unwrap();
    assert_eq!((r.status, r.item.is_none()), (204, true));
    let r = by["patch"].as_ref().unwrap();
    assert_eq!((r.status, r.item.as_ref().map(|e| e.n)), (200, Some(6)));
    let r = by["replace"].as_ref().unwrap();
    assert_eq!((r.status, r.item.as_ref().map(|e| e.n)), (200, Some(42)));
    let r = by["upsert"].as_ref().unwrap();
    assert_eq!((r.status, r.item.as_ref().map(|e| e.n)), (201, Some(7)));
    assert_eq!(progress.operations_done, total as u64);
    assert_eq!(progress.operations_failed, 3);
    assert!(
        progress.request_charge > 0.0 && progress.batches >= 4,
        "{progress:?}"
    );
}

/// The ids of the entries container after the bulk run: the existing ones but `gone`, the
/// creates and the upsert.
fn bulk_expected_ids() -> std::collections::BTreeSet<String> {
    (0..BULK_CREATES)
        .map(|i| format!("e{i}"))
        .chain(["exists", "patched", "replaced", "upserted"].map(String::from))
        .collect()
}

/// A database with an `entries` container partitioned by `/customer/tenant`; its name.
fn setup_entries(driver: &sextant_blocking::CosmosDriver, account: &AccountReference) -> String {
    let db = setup(driver, account);
    let props =
        ContainerProperties::new("entries", PartitionKeyDefinition::hash("/customer/tenant"));
    driver
        .execute_operation(
            CosmosOperation::create_container(
                DatabaseReference::from_name(account.clone(), &db),
                &props,
            ),
            None,
        )
        .unwrap();
    db
}

#[test]
fn typed_bulk_pages_and_all_versions_on_the_blocking_transport() {
    use sextant_core::{ChangeFeedStart, OperationOptions};
    let g = TestGateway::start(4);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    let driver = blocking_driver(&account);
    let db = setup_entries(&driver, &account);
    let entries = driver.database(&db).container("entries");

    // Bulk: per-item typed results by correlation, per-item errors that do not stop the run.
    for id in BULK_EXISTING {
        entries.create_item(&entry(id, "tx", 1)).unwrap();
    }
    let mut run = entries.bulk().max_in_flight(128).run(bulk_ops());
    let (mut results, mut windows) = (Vec::new(), 0);
    while let Some(window) = run.next_results() {
        assert!(window.len() <= 128);
        windows += 1;
        results.extend(window);
    }
    check_bulk(results, run.progress(), windows);
    let ids: std::collections::BTreeSet<String> = entries
        .query("SELECT VALUE c.id FROM c")
        .items()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ids, bulk_expected_ids());

    // Pages: at most 3 items each, totals matching the items, and a token that resumes.
    let pages: Vec<sextant_core::typed::TypedPage<Entry>> = entries
        .query("SELECT * FROM c")
        .options(OperationOptions::new().with_max_item_count(3))
        .pages()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(pages.len() >= ids.len() / 3, "{} pages", pages.len());
    let shape: Vec<(usize, f64)> = pages
        .iter()
        .map(|p| (p.items.len(), p.request_charge))
        .collect();
    assert!(shape.iter().all(|&(n, _)| n <= 3), "{shape:?}");
    assert!(
        pages.iter().map(|p| p.request_charge).sum::<f64>() > 0.0,
        "{shape:?}"
    );
    let (last, rest) = pages.split_last().unwrap();
    assert!(rest
        .iter()
        .all(|p| p.has_more_results && p.continuation.is_some()));
    assert!(!last.has_more_results && last.continuation.is_none());
    let paged: std::collections::BTreeSet<String> = pages
        .iter()
        .flat_map(|p| p.items.iter().map(|e| e.id.clone()))
        .collect();
    assert_eq!(
        (
            paged.len(),
            pages.iter().map(|p| p.items.len()).sum::<usize>()
        ),
        (ids.len(), ids.len())
    );
    let mut first = entries
        .query::<Entry>("SELECT * FROM c")
        .options(OperationOptions::new().with_max_item_count(3))
        .pages()
        .unwrap();
    let page1 = first.next().unwrap().unwrap();
    let token = page1.continuation.clone().unwrap();
    let resumed: Vec<Entry> = entries
        .query("SELECT * FROM c")
        .options(
            OperationOptions::new()
                .with_max_item_count(3)
                .with_continuation(token),
        )
        .items()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut all: Vec<String> = page1
        .items
        .iter()
        .chain(&resumed)
        .map(|e| e.id.clone())
        .collect();
    all.sort();
    assert_eq!(all, ids.iter().cloned().collect::<Vec<_>>());
    let e = entries
        .query::<WrongOrder>("SELECT * FROM c")
        .pages()
        .unwrap()
        .find_map(Result::err)
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::Serialization);

    // The all-versions-and-deletes feed, typed: create, replace and delete of one item.
    let mut feed = entries
        .change_feed_all_versions::<Entry>(ChangeFeedStart::Now, None)
        .unwrap();
    let first = feed.next_page().unwrap();
    assert!(first.caught_up && first.items.is_empty());
    entries.create_item(&entry("v", "tv", 1)).unwrap();
    entries.replace_item(&entry("v", "tv", 2), None).unwrap();
    assert!(entries.delete_item("tv", "v").unwrap());
    let mut resumed = entries
        .change_feed_all_versions::<Entry>(ChangeFeedStart::Now, Some(&first.continuation))
        .unwrap();
    let mut changes = Vec::new();
    loop {
        let page = resumed.next_page().unwrap();
        if page.caught_up {
            break;
        }
        changes.extend(page.items);
    }
    assert_create_replace_delete(&changes);
    let e = entries
        .change_feed_all_versions::<Entry>(ChangeFeedStart::Beginning, None)
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
}

/// The same checks through the async clients: bulk from an iterator or from a `Stream`.
async fn exercise_ext<D: sextant_host::typed::TypedStreamDriver>(
    entries: sextant_host::typed::ContainerClient<D>,
    from_stream: bool,
) {
    use futures_lite::StreamExt;
    use sextant_core::{ChangeFeedStart, OperationOptions};
    for id in BULK_EXISTING {
        entries.create_item(&entry(id, "tx", 1)).await.unwrap();
    }
    let (mut results, mut windows) = (Vec::new(), 0);
    let progress = if from_stream {
        let ops = futures_lite::stream::iter(bulk_ops());
        let mut run = entries.bulk().max_in_flight(128).run_stream(ops);
        while let Some(window) = run.next_results().await {
            windows += 1;
            results.extend(window);
        }
        run.progress()
    } else {
        let mut run = entries.bulk().max_in_flight(128).run(bulk_ops());
        while let Some(window) = run.next_results().await {
            windows += 1;
            results.extend(window);
        }
        run.progress()
    };
    check_bulk(results, progress, windows);
    let ids: std::collections::BTreeSet<String> = entries
        .query("SELECT VALUE c.id FROM c")
        .items()
        .unwrap()
        .collect_all()
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(ids, bulk_expected_ids());

    let opts = || OperationOptions::new().with_max_item_count(3);
    let pages: Vec<sextant_core::typed::TypedPage<Entry>> = entries
        .query("SELECT * FROM c")
        .options(opts())
        .pages()
        .unwrap()
        .into_stream()
        .map(Result::unwrap)
        .collect()
        .await;
    assert!(pages.len() >= ids.len() / 3, "{} pages", pages.len());
    assert!(pages.iter().all(|p| p.items.len() <= 3));
    let (last, rest) = pages.split_last().unwrap();
    assert!(rest
        .iter()
        .all(|p| p.has_more_results && p.continuation.is_some()));
    assert!(!last.has_more_results);
    let paged: std::collections::BTreeSet<String> = pages
        .iter()
        .flat_map(|p| p.items.iter().map(|e| e.id.clone()))
        .collect();
    assert_eq!(paged, ids);
    assert_eq!(
        pages.iter().map(|p| p.items.len()).sum::<usize>(),
        ids.len()
    );
    let mut first = entries
        .query::<Entry>("SELECT * FROM c")
        .options(opts())
        .pages()
        .unwrap();
    let page1 = first.next_page().await.unwrap().unwrap();
    let token = page1.continuation.clone().unwrap();
    let resumed: Vec<Entry> = entries
        .query("SELECT * FROM c")
        .options(opts().with_continuation(token))
        .items()
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    let mut all: Vec<String> = page1
        .items
        .iter()
        .chain(&resumed)
        .map(|e| e.id.clone())
        .collect();
    all.sort();
    assert_eq!(all, ids.iter().cloned().collect::<Vec<_>>());

    let mut feed = entries
        .change_feed_all_versions::<Entry>(ChangeFeedStart::Now, None)
        .unwrap();
    let first = feed.next_page().await.unwrap();
    assert!(first.caught_up);
    entries.create_item(&entry("v", "tv", 1)).await.unwrap();
    entries
        .replace_item(&entry("v", "tv", 2), None)
        .await
        .unwrap();
    assert!(entries.delete_item("tv", "v").await.unwrap());
    let mut changes = Vec::new();
    loop {
        let page = feed.next_page().await.unwrap();
        if page.caught_up {
            break;
        }
        changes.extend(page.items);
    }
    assert_create_replace_delete(&changes);
}

#[test]
fn typed_bulk_pages_and_all_versions_on_the_async_transports() {
    let g = TestGateway::start(4);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    let admin = blocking_driver(&account);

    let db = setup_entries(&admin, &account);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let driver = sextant_tokio::CosmosDriverRuntime::builder()
            .environment(Default::default())
            .build()
            .await
            .unwrap()
            .get_or_create_driver(account.clone(), None)
            .await
            .unwrap();
        let run = exercise_ext(driver.database(&db).container("entries"), false);
        tokio::time::timeout(std::time::Duration::from_secs(120), run)
            .await
            .expect("bounded");
    });

    let db = setup_entries(&admin, &account);
    smol::block_on(async {
        let driver = sextant_async_std::CosmosDriverRuntime::builder()
            .environment(Default::default())
            .build()
            .await
            .unwrap()
            .get_or_create_driver(account.clone(), None)
            .await
            .unwrap();
        let run = exercise_ext(driver.database(&db).container("entries"), true);
        futures_lite::future::or(run, async {
            smol::Timer::after(std::time::Duration::from_secs(120)).await;
            panic!("not finished within 120 s")
        })
        .await;
    });
}

/// The all-versions feed of item `v` created with n = 1, replaced with n = 2, then deleted:
/// typed entries in order, the replace chained to the create, the delete's id and key.
fn assert_create_replace_delete(changes: &[sextant_core::typed::ChangeFeedItem<Entry>]) {
    use sextant_core::typed::ChangeFeedOperationType as Kind;
    let kinds: Vec<Kind> = changes.iter().map(|c| c.metadata.operation_type).collect();
    assert_eq!(kinds, [Kind::Create, Kind::Replace, Kind::Delete]);
    assert_eq!(changes[0].current.as_ref().map(|e| e.n), Some(1));
    assert_eq!(changes[1].current.as_ref().map(|e| e.n), Some(2));
    assert_eq!(
        changes[1].metadata.previous_lsn,
        Some(changes[0].metadata.lsn)
    );
    assert!(changes[2].current.is_none());
    assert_eq!(changes[2].metadata.id.as_deref(), Some("v"));
    assert_eq!(
        changes[2]
            .metadata
            .partition_key
            .as_ref()
            .map(|k| k.to_header_value()),
        Some(r#"["tv"]"#.to_string())
    );
    assert!(changes[0].metadata.lsn < changes[1].metadata.lsn);
}
