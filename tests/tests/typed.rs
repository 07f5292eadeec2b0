//! The typed layer (issue 15, first part) against the test gateway, on every transport (the
//! blocking clients, and the async clients written once in `sextant_host::typed` run on tokio and
//! on smol): serde types in and out, the partition key taken from the item by the container's key path,
//! `None` for a missing item, conditional replace, patch, parameterised queries, and errors
//! that name the field.

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
