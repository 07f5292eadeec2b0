//! Three change-feed processor hosts (issue 13), one on each transport, sharing the leases of
//! a 4-range container on the multi-partition test gateway: every change is handled, the
//! leases end up spread 1-2 per host, a range split splits its lease, a merge keeps both leases
//! (each reading its part of the merged range), the estimator reads
//! nothing pending at the end, and stopping releases every lease.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sextant_core::changefeed::processor::{Lease, ProcessorOptions};
use sextant_core::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, PartitionKey,
    PartitionKeyDefinition,
};
use sextant_core::{CosmosOperation, OperationOptions, QuerySpec};
use sextant_tests::gateway::TestGateway;
use sextant_tests::server::EMULATOR_KEY;

const ITEMS: usize = 300;

fn options(host: &str) -> ProcessorOptions {
    let mut o = ProcessorOptions::new(host, "proc");
    o.renew_interval = Duration::from_millis(1_000);
    o.acquire_interval = Duration::from_millis(700);
    o.expiration = Duration::from_secs(4);
    o.poll_delay = Duration::from_millis(200);
    o.max_items = Some(25);
    o
}

fn leases_now(d: &sextant_blocking::CosmosDriver, leases: &ContainerReference) -> Vec<Lease> {
    let op = CosmosOperation::query(leases.clone(), QuerySpec::new("SELECT * FROM c"));
    let mut out = Vec::new();
    for page in d.query(op, None).unwrap() {
        out.extend(page.unwrap().items().iter().filter_map(Lease::from_json));
    }
    out
}

/// Waits (at most 60 s) until `total` distinct items were handled and five leases are all
/// owned; `stage` names the wait in the failure.
fn wait_for_all_handled(
    blocking: &sextant_blocking::CosmosDriver,
    leases: &ContainerReference,
    seen: &std::sync::Mutex<Vec<(String, String)>>,
    total: usize,
    stage: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let handled: BTreeSet<String> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, id)| id.clone())
            .collect();
        let now_leases = leases_now(blocking, leases);
        let owned = now_leases.iter().filter(|l| l.owner.is_some()).count();
        if handled.len() == total && now_leases.len() == 5 && owned == 5 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{stage}: handled {} of {total}, leases {:?}",
            handled.len(),
            now_leases
                .iter()
                .map(|l| (&l.min, &l.max, &l.owner))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn three_hosts_one_per_transport_share_the_leases_and_handle_every_change() {
    let g = TestGateway::start(4);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    let env = std::collections::BTreeMap::new();
    let blocking = sextant_blocking::CosmosDriverRuntime::builder()
        .environment(env.clone())
        .build()
        .unwrap()
        .get_or_create_driver(account.clone(), None)
        .unwrap();
    blocking
        .execute_operation(
            CosmosOperation::create_database(account.clone(), "cfp"),
            None,
        )
        .unwrap();
    let db = DatabaseReference::from_name(account.clone(), "cfp");
    for (name, path) in [("items", "/pk"), ("leases", "/id")] {
        let props = ContainerProperties::new(name, PartitionKeyDefinition::hash(path));
        blocking
            .execute_operation(CosmosOperation::create_container(db.clone(), &props), None)
            .unwrap();
    }
    let items = ContainerReference::in_database(&db, "items");
    let leases = ContainerReference::in_database(&db, "leases");

    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let record = |seen: &Arc<Mutex<Vec<(String, String)>>>, host: &str, changes: &[Value]| {
        let mut s = seen.lock().unwrap();
        for c in changes {
            s.push((host.to_string(), c["id"].as_str().unwrap_or("").to_string()));
        }
    };

    let mut threads = Vec::new();
    {
        // Host 1: blocking (a closure handler).
        let (d, items, leases, seen, stop) = (
            blocking.clone(),
            items.clone(),
            leases.clone(),
            seen.clone(),
            stop.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let mut p = d.change_feed_processor(items, leases, options("blocking"));
            p.run(
                |_lease: String, changes: Vec<Value>| {
                    record(&seen, "blocking", &changes);
                    Ok::<(), String>(())
                },
                || stop.load(Ordering::Relaxed),
            );
        }));
    }
    {
        // Host 2: tokio (an async handler).
        let (account, items, leases, seen, stop, env) = (
            account.clone(),
            items.clone(),
            leases.clone(),
            seen.clone(),
            stop.clone(),
            env.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let d = sextant_tokio::CosmosDriverRuntime::builder()
                    .environment(env)
                    .build()
                    .await
                    .unwrap()
                    .get_or_create_driver(account, None)
                    .await
                    .unwrap();
                let mut p = d.change_feed_processor(items, leases, options("tokio"));
                p.run(
                    |_lease: String, changes: Vec<Value>| {
                        let seen = seen.clone();
                        async move {
                            record(&seen, "tokio", &changes);
                            Ok::<(), String>(())
                        }
                    },
                    || stop.load(Ordering::Relaxed),
                )
                .await;
            });
        }));
    }
    {
        // Host 3: async-std (smol).
        let (account, items, leases, seen, stop, env) = (
            account.clone(),
            items.clone(),
            leases.clone(),
            seen.clone(),
            stop.clone(),
            env.clone(),
        );
        threads.push(std::thread::spawn(move || {
            smol::block_on(async move {
                let d = sextant_async_std::CosmosDriverRuntime::builder()
                    .environment(env)
                    .build()
                    .await
                    .unwrap()
                    .get_or_create_driver(account, None)
                    .await
                    .unwrap();
                let mut p = d.change_feed_processor(items, leases, options("async-std"));
                p.run(
                    |_lease: String, changes: Vec<Value>| {
                        let seen = seen.clone();
                        async move {
                            record(&seen, "async-std", &changes);
                            Ok::<(), String>(())
                        }
                    },
                    || stop.load(Ordering::Relaxed),
                )
                .await;
            });
        }));
    }

    // Writes while the hosts start and balance.
    for i in 0..ITEMS {
        let doc = json!({"id": format!("i{i}"), "pk": format!("p{}", i % 37)}).to_string();
        blocking
            .execute_operation(
                CosmosOperation::create(items.clone())
                    .with_partition_key(PartitionKey::from(format!("p{}", i % 37)))
                    .with_body(doc),
                Some(OperationOptions::new()),
            )
            .unwrap();
        if i % 50 == 0 {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // Every change handled, and the leases spread over the three hosts.
    let deadline = Instant::now() + Duration::from_secs(60);
    let spread = loop {
        let handled: BTreeSet<String> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, id)| id.clone())
            .collect();
        let owners: Vec<Option<String>> = leases_now(&blocking, &leases)
            .into_iter()
            .map(|l| l.owner)
            .collect();
        let per_host: Vec<usize> = ["blocking", "tokio", "async-std"]
            .iter()
            .map(|h| owners.iter().filter(|o| o.as_deref() == Some(*h)).count())
            .collect();
        if handled.len() == ITEMS
            && owners.len() == 4
            && per_host.iter().all(|n| (1..=2).contains(n))
        {
            break per_host;
        }
        assert!(
            Instant::now() < deadline,
            "handled {} of {ITEMS}, leases per host {per_host:?}",
            handled.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(spread.iter().sum::<usize>(), 4);

    // A range splits: the lease reading it splits into two child leases, which the hosts
    // share out, and the changes written after it are handled too.
    let (status, body) = g.split("cfp", "items", "0");
    assert_eq!(status, 200, "{body}");
    for i in ITEMS..ITEMS + 100 {
        let doc = json!({"id": format!("i{i}"), "pk": format!("p{}", i % 37)}).to_string();
        blocking
            .execute_operation(
                CosmosOperation::create(items.clone())
                    .with_partition_key(PartitionKey::from(format!("p{}", i % 37)))
                    .with_body(doc),
                None,
            )
            .unwrap();
    }
    wait_for_all_handled(&blocking, &leases, &seen, ITEMS + 100, "after the split");
    // Two ranges merge: their leases stay (each reads its part of the merged range with EPK
    // bounds, as Java's processor does), and the changes written after it are handled too.
    let (status, body) = g.merge("cfp", "items", "1", "2");
    assert_eq!(status, 200, "{body}");
    for i in ITEMS + 100..ITEMS + 200 {
        let doc = json!({"id": format!("i{i}"), "pk": format!("p{}", i % 37)}).to_string();
        blocking
            .execute_operation(
                CosmosOperation::create(items.clone())
                    .with_partition_key(PartitionKey::from(format!("p{}", i % 37)))
                    .with_body(doc),
                None,
            )
            .unwrap();
    }
    wait_for_all_handled(&blocking, &leases, &seen, ITEMS + 200, "after the merge");
    let hosts: BTreeSet<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(h, _)| h.clone())
        .collect();
    assert_eq!(hosts.len(), 3, "every host handled changes: {hosts:?}");

    // Nothing is pending once every change was handled and checkpointed.
    let estimator =
        blocking.change_feed_processor(items.clone(), leases.clone(), options("estimator"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lags = estimator.estimate().unwrap();
        assert_eq!(lags.len(), 5);
        if lags.iter().all(|l| l.pending == 0) {
            break;
        }
        assert!(Instant::now() < deadline, "still pending: {lags:?}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Stopping releases every lease.
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let owners: Vec<Option<String>> = leases_now(&blocking, &leases)
        .into_iter()
        .map(|l| l.owner)
        .collect();
    assert!(owners.iter().all(Option::is_none), "released: {owners:?}");
}

#[test]
fn the_estimator_counts_what_is_not_checkpointed_and_a_failing_handler_checkpoints_nothing() {
    let g = TestGateway::start(3);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    let d = sextant_blocking::CosmosDriverRuntime::builder()
        .environment(Default::default())
        .build()
        .unwrap()
        .get_or_create_driver(account.clone(), None)
        .unwrap();
    d.execute_operation(
        CosmosOperation::create_database(account.clone(), "est"),
        None,
    )
    .unwrap();
    let db = DatabaseReference::from_name(account, "est");
    for (name, path) in [("items", "/pk"), ("leases", "/id")] {
        let props = ContainerProperties::new(name, PartitionKeyDefinition::hash(path));
        d.execute_operation(CosmosOperation::create_container(db.clone(), &props), None)
            .unwrap();
    }
    let items = ContainerReference::in_database(&db, "items");
    let leases = ContainerReference::in_database(&db, "leases");
    for i in 0..120 {
        let doc = json!({"id": format!("i{i}"), "pk": format!("p{}", i % 11)}).to_string();
        d.execute_operation(
            CosmosOperation::create(items.clone())
                .with_partition_key(PartitionKey::from(format!("p{}", i % 11)))
                .with_body(doc),
            None,
        )
        .unwrap();
    }
    // A host whose handler always fails: it creates and holds the leases, checkpoints nothing.
    let mut host = d.change_feed_processor(items.clone(), leases.clone(), options("failing"));
    let calls = std::cell::Cell::new(0);
    let started = Instant::now();
    host.run(
        |_lease: String, _changes: Vec<Value>| {
            calls.set(calls.get() + 1);
            Err::<(), _>("the handler failed")
        },
        || started.elapsed() > Duration::from_secs(2),
    );
    assert!(calls.get() >= 3, "the handler was called on each lease");
    let lags = host.estimate().unwrap();
    assert_eq!(lags.len(), 3);
    assert_eq!(lags.iter().map(|l| l.pending).sum::<u64>(), 120, "{lags:?}");
    assert!(
        lags.iter().all(|l| l.owner.is_none() && !l.capped),
        "released: {lags:?}"
    );
}
