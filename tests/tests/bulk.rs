//! Bulk (issue 12) against the multi-partition test gateway, on every transport: 100,000
//! creates across 8 ranges with 30 % of operations throttled lose and duplicate nothing
//! (counted at the gateway), every result comes back once with its correlation id, a split in
//! the middle of a run is followed, and each operation's failure stays its own. On the
//! simulator: a run is a pure function of its seed.

mod support;

use std::collections::HashSet;

use serde_json::{json, Value};
use sextant_core::models::{AccountReference, ContainerReference, ItemReference, PartitionKey};
use sextant_core::{
    BulkBuilder, BulkOperation, CosmosOperation, DriverOptions, ErrorKind, OperationOptions,
    PatchBuilder, QuerySpec,
};
use sextant_tests::gateway::TestGateway;
use sextant_tests::scenarios::{create_database_and_container, Client};
use sextant_tests::server::EMULATOR_KEY;
use sextant_tests::sim::{Answer, Sim};
use support::query_clients::{QueryClient, ALL};

fn item(n: usize) -> (usize, BulkOperation) {
    let pk = format!("p{}", n % 1_000);
    let doc = json!({"id": format!("i{n}"), "pk": pk, "n": n}).to_string();
    (
        n,
        BulkOperation::create(PartitionKey::from(pk.as_str()), doc),
    )
}

fn configure(g: &TestGateway, config: Value) {
    let (status, body) = g.http("POST", "/_gateway/config", &[], Some(&config.to_string()));
    assert_eq!(status, 200, "gateway config: {body}");
}

fn count_items(client: &QueryClient, c: &ContainerReference) -> u64 {
    let op = CosmosOperation::query(c.clone(), QuerySpec::new("SELECT VALUE COUNT(1) FROM c"));
    let pages = client.all_pages(op, OperationOptions::new()).unwrap();
    pages
        .iter()
        .flat_map(|p| p.items().iter())
        .map(|v| v.as_u64().unwrap())
        .sum()
}

fn gateway_bulk(g: &TestGateway) -> Value {
    g.http("GET", "/_gateway/bulk", &[], None).1
}

#[test]
fn bulk_of_100k_items_under_30_percent_throttling_loses_and_duplicates_nothing() {
    const N: usize = 100_000;
    let g = TestGateway::start(8);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    configure(
        &g,
        json!({"bulkThrottleRate": 0.3, "bulkRetryAfterMs": 1, "bulkSeed": 7}),
    );
    for transport in ALL {
        let ctx = format!("{transport:?}");
        let client = QueryClient::new(transport, &account);
        let (_db, c) = create_database_and_container(&client, &account);
        g.reset_requests();
        // 30 % throttling per attempt: 30 retries leave 0.3^31 (1e-16) per operation.
        let builder = BulkBuilder::new(c.clone()).max_throttle_retries(30);
        let (results, progress) = client.bulk(builder, (0..N).map(item), |_| {});
        assert_eq!(results.len(), N, "{ctx}: one result per operation");
        let ids: HashSet<usize> = results.iter().map(|r| r.correlation).collect();
        assert_eq!(ids.len(), N, "{ctx}: every correlation id once");
        for r in &results {
            let status = r.outcome.as_ref().map(|o| o.status);
            assert_eq!(
                status.ok(),
                Some(201),
                "{ctx}: operation {}: {:?}",
                r.correlation,
                r.outcome
            );
        }
        let report = gateway_bulk(&g);
        assert_eq!(report["applied"], json!(N), "{ctx}: {report}");
        assert_eq!(report["distinctIds"], json!(N), "{ctx}: {report}");
        assert_eq!(report["duplicated"], json!(0), "{ctx}: {report}");
        let throttled = report["throttled"].as_u64().unwrap();
        assert!(
            throttled > 30_000,
            "{ctx}: the gateway throttled {throttled}"
        );
        assert_eq!(
            progress.throttled, throttled,
            "{ctx}: progress counts every 429"
        );
        assert_eq!(progress.operations_done, N as u64, "{ctx}");
        assert_eq!(progress.operations_failed, 0, "{ctx}");
        assert_eq!(
            progress.batches,
            report["requests"].as_u64().unwrap(),
            "{ctx}"
        );
        assert!(progress.request_charge > 0.0, "{ctx}");
        // Each range got batches (grouped by range, not by partition key).
        let counts = g.requests();
        let ranges = counts
            .as_object()
            .unwrap()
            .values()
            .filter(|k| k["bulk"].as_u64().unwrap_or(0) > 0)
            .count();
        assert_eq!(ranges, 8, "{ctx}: {counts}");
        assert_eq!(
            count_items(&client, &c),
            N as u64,
            "{ctx}: the container holds every item"
        );
    }
    configure(&g, json!({"bulkThrottleRate": 0}));
}

#[test]
fn bulk_follows_a_split_in_the_middle_of_a_run() {
    const N: usize = 12_000;
    let g = TestGateway::start(2);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    for transport in ALL {
        let ctx = format!("{transport:?}");
        let client = QueryClient::new(transport, &account);
        let (db, c) = create_database_and_container(&client, &account);
        g.reset_requests();
        let builder = BulkBuilder::new(c.clone()).max_in_flight(2_000);
        let mut split_after = None;
        let (results, _) = client.bulk(builder, (0..N).map(item), |w| {
            if w == 1 {
                // Between windows 2 and 3: the driver's routing map still lists range 0.
                let (status, body) = g.split(db.name(), c.name(), "0");
                assert_eq!(status, 200, "{body}");
                split_after = Some(w);
            }
        });
        assert_eq!(split_after, Some(1), "{ctx}");
        assert_eq!(results.len(), N, "{ctx}");
        for r in &results {
            let status = r.outcome.as_ref().map(|o| o.status);
            assert_eq!(
                status.ok(),
                Some(201),
                "{ctx}: operation {}: {:?}",
                r.correlation,
                r.outcome
            );
        }
        let report = gateway_bulk(&g);
        assert_eq!(report["applied"], json!(N), "{ctx}: {report}");
        assert_eq!(report["duplicated"], json!(0), "{ctx}: {report}");
        let counts = g.requests();
        assert!(
            counts.get("0").and_then(|k| k.get("bulk")).is_some(),
            "{ctx}: range 0 got batches before the split: {counts}"
        );
        let children = counts
            .as_object()
            .unwrap()
            .iter()
            .filter(|(id, k)| id.as_str() != "0" && id.as_str() != "1" && k.get("bulk").is_some())
            .count();
        assert!(
            children >= 1,
            "{ctx}: the split's children got batches: {counts}"
        );
        assert_eq!(count_items(&client, &c), N as u64, "{ctx}");
    }
}

#[test]
fn each_bulk_operation_succeeds_or_fails_alone() {
    let g = TestGateway::start(3);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    for transport in ALL {
        let ctx = format!("{transport:?}");
        let client = QueryClient::new(transport, &account);
        let (_db, c) = create_database_and_container(&client, &account);
        let pk = |s: &str| PartitionKey::from(s);
        let doc = |id: &str, p: &str, n: i64| json!({"id": id, "pk": p, "n": n}).to_string();
        let ops = vec![
            (0, BulkOperation::create(pk("a"), doc("x", "a", 1))),
            (1, BulkOperation::create(pk("b"), doc("y", "b", 2))),
            (2, BulkOperation::create(pk("a"), doc("x", "a", 3))), // conflict
            (3, BulkOperation::create(pk("c"), "not json")),       // refused before sending
            (4, BulkOperation::upsert(pk("c"), doc("z", "c", 4))),
            (
                5,
                BulkOperation::patch(pk("b"), "y", PatchBuilder::new().increment("/n", 10)),
            ),
            (6, BulkOperation::read(pk("a"), "x")),
            (7, BulkOperation::replace(pk("c"), "z", doc("z", "c", 40))),
            (8, BulkOperation::delete(pk("a"), "missing")),
            (9, BulkOperation::create(pk("b"), doc("w", "other", 5))), // body's key differs
            (
                10,
                BulkOperation::delete(pk("b"), "y").with_if_match("\"stale\""),
            ),
            (11, BulkOperation::read(pk("b"), "y").with_if_match("\"e\"")), // cannot carry it
        ];
        let (results, progress) = client.bulk(BulkBuilder::new(c.clone()), ops, |_| {});
        let got: Vec<(usize, Result<u16, ErrorKind>)> = results
            .iter()
            .map(|r| {
                (
                    r.correlation,
                    r.outcome.as_ref().map(|o| o.status).map_err(|e| e.kind()),
                )
            })
            .collect();
        // Operations of one partition key run in the order given; across keys in any order,
        // so this test gives each key's dependent operations in order.
        let want = vec![
            (0, Ok(201)),
            (1, Ok(201)),
            (2, Ok(409)),
            (3, Err(ErrorKind::Configuration)),
            (4, Ok(201)),
            (5, Ok(200)),
            (6, Ok(200)),
            (7, Ok(200)),
            (8, Ok(404)),
            (9, Ok(400)),
            (10, Ok(412)),
            (11, Err(ErrorKind::Configuration)),
        ];
        assert_eq!(got, want, "{ctx}");
        assert_eq!(progress.operations_done, 12, "{ctx}");
        assert_eq!(progress.operations_failed, 6, "{ctx}");
        let read = results[6].outcome.as_ref().unwrap();
        assert_eq!(read.resource_body.as_ref().unwrap()["n"], json!(1), "{ctx}");
        let y = client
            .execute(
                CosmosOperation::read(ItemReference::in_container(&c, "y"))
                    .with_partition_key(pk("b")),
                OperationOptions::new(),
            )
            .unwrap();
        let y: Value = serde_json::from_slice(y.response_bytes()).unwrap();
        assert_eq!(y["n"], json!(12), "{ctx}: the patch applied once");
        // An empty input is an empty run.
        let (none, _) = client.bulk(BulkBuilder::new(c.clone()), Vec::new(), |_| {});
        assert!(none.is_empty(), "{ctx}");
    }
}

/// A simulated bulk run: 2,000 creates over a 4-range container, the server throttling a
/// seeded 40 % of operations. Returns the transcript and each operation's status.
fn simulated_run(seed: u64) -> (Vec<String>, Vec<u16>, u64) {
    let mut sim = Sim::new(seed, DriverOptions::default());
    sim.pk_ranges_script = Some(Box::new(|_, _| Answer::Full {
        status: 200,
        headers: vec![("etag", "\"1\"".to_string())],
        body: r#"{"PartitionKeyRanges":[
            {"id":"0","minInclusive":"","maxExclusive":"3F","parents":[]},
            {"id":"1","minInclusive":"3F","maxExclusive":"7F","parents":[]},
            {"id":"2","minInclusive":"7F","maxExclusive":"BF","parents":[]},
            {"id":"3","minInclusive":"BF","maxExclusive":"FF","parents":[]}]}"#
            .to_string(),
        latency: std::time::Duration::from_millis(2),
    }));
    let c = ContainerReference::from_name(sim.account.clone(), "db", "c");
    let mut exec_core = BulkBuilder::new(c)
        .max_in_flight(500)
        .max_throttle_retries(20)
        .build::<usize>();
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut statuses = Vec::new();
    for w in 0..4 {
        let ops: Vec<_> = (w * 500..(w + 1) * 500).map(item).collect();
        let mut exec = exec_core.start_window(&mut sim.driver, ops, sim.now);
        let mut script = |_: usize, req: &sextant_core::OutgoingRequest| {
            let ops: Vec<Value> = serde_json::from_slice(&req.body).unwrap();
            let results: Vec<Value> = ops
                .iter()
                .map(|_| {
                    if next() % 10 < 4 {
                        json!({"statusCode": 429, "subStatusCode": 3200, "requestCharge": 0, "retryAfterMilliseconds": 7})
                    } else {
                        json!({"statusCode": 201, "requestCharge": 1.0, "eTag": "\"e\""})
                    }
                })
                .collect();
            Answer::Full {
                status: 200,
                headers: vec![("x-ms-request-charge", "1".to_string())],
                body: Value::Array(results).to_string(),
                latency: std::time::Duration::from_millis(5),
            }
        };
        let outcome = sim.drive(&mut exec, &mut script);
        for r in exec_core.finish_window(&mut exec, outcome) {
            statuses.push(r.outcome.map(|o| o.status).unwrap_or(0));
        }
    }
    let throttled = exec_core.progress().throttled;
    (sim.transcript, statuses, throttled)
}

#[test]
fn a_simulated_bulk_run_is_a_pure_function_of_its_seed() {
    let (t1, s1, th1) = simulated_run(11);
    let (t2, s2, th2) = simulated_run(11);
    assert_eq!(s1.len(), 2_000);
    let mut by_status = std::collections::BTreeMap::new();
    for s in &s1 {
        *by_status.entry(*s).or_insert(0) += 1;
    }
    assert!(
        s1.iter().all(|s| *s == 201),
        "every operation lands despite 40 % throttling: {by_status:?}\n{}",
        t1.iter()
            .rev()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(th1 > 500, "the server throttled {th1}");
    assert_eq!((th1, &s1), (th2, &s2));
    assert_eq!(
        t1, t2,
        "the same seed gives the same requests at the same virtual times"
    );
    let (t3, _, _) = simulated_run(12);
    assert_ne!(t1, t3, "another seed throttles other operations");
}

#[test]
fn bulk_from_an_async_stream_on_the_async_transports() {
    use futures_lite::stream;
    let g = TestGateway::start(3);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    let loader = QueryClient::new(ALL[0], &account);
    let (_db, c) = create_database_and_container(&loader, &account);
    let count = |results: &[sextant_core::BulkResult<usize>]| {
        results
            .iter()
            .filter(|r| r.outcome.as_ref().is_ok_and(|o| o.status == 201))
            .count()
    };
    // tokio: 3,000 creates from a stream, windows of 1,000.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (windows, created) = rt.block_on(async {
        let driver = sextant_tokio::CosmosDriverRuntime::builder()
            .environment(Default::default())
            .build()
            .await
            .unwrap()
            .get_or_create_driver(account.clone(), None)
            .await
            .unwrap();
        let ops = stream::iter((0..3_000).map(item));
        let mut run = driver.bulk_stream(BulkBuilder::new(c.clone()).max_in_flight(1_000), ops);
        let (mut windows, mut created) = (0, 0);
        while let Some(results) = run.next_results().await {
            windows += 1;
            created += count(&results);
        }
        (windows, created)
    });
    assert_eq!((windows, created), (3, 3_000), "tokio");
    // async-std: the next 3,000 from a stream.
    let (windows, created) = smol::block_on(async {
        let driver = sextant_async_std::CosmosDriverRuntime::builder()
            .environment(Default::default())
            .build()
            .await
            .unwrap()
            .get_or_create_driver(account.clone(), None)
            .await
            .unwrap();
        let ops = stream::iter((3_000..6_000).map(item));
        let mut run = driver.bulk_stream(BulkBuilder::new(c.clone()).max_in_flight(1_000), ops);
        let (mut windows, mut created) = (0, 0);
        while let Some(results) = run.next_results().await {
            windows += 1;
            created += count(&results);
        }
        assert_eq!(run.progress().operations_done, 3_000);
        (windows, created)
    });
    assert_eq!((windows, created), (3, 3_000), "async-std");
    assert_eq!(count_items(&loader, &c), 6_000);
}

/// The most batches in flight at once in a simulated transcript (SEND #n ... RECV #n).
fn max_in_flight(transcript: &[String]) -> usize {
    let mut open = 0usize;
    let mut most = 0;
    for line in transcript {
        if line.contains(" SEND #") && line.contains("/docs ") {
            open += 1;
            most = most.max(open);
        } else if line.contains(" RECV #") || line.contains(" ERR #") {
            open = open.saturating_sub(1);
        }
    }
    most
}

/// One window of `n` creates on a single-range container; `throttle(k)` says whether the k-th
/// operation answered is throttled. Returns the transcript.
fn simulated_window(n: usize, mut throttle: impl FnMut(usize) -> bool) -> Vec<String> {
    let mut sim = Sim::new(5, DriverOptions::default());
    let c = ContainerReference::from_name(sim.account.clone(), "db", "c");
    let mut core = BulkBuilder::new(c)
        .max_in_flight(n)
        .max_throttle_retries(1_000)
        .build::<usize>();
    let mut exec = core.start_window(&mut sim.driver, (0..n).map(item).collect(), sim.now);
    let mut answered = 0;
    let mut script = |_: usize, req: &sextant_core::OutgoingRequest| {
        let ops: Vec<Value> = serde_json::from_slice(&req.body).unwrap();
        let results: Vec<Value> = ops
            .iter()
            .map(|_| {
                answered += 1;
                if throttle(answered) {
                    json!({"statusCode": 429, "requestCharge": 0, "retryAfterMilliseconds": 5})
                } else {
                    json!({"statusCode": 201, "requestCharge": 1.0})
                }
            })
            .collect();
        Answer::Full {
            status: 200,
            headers: vec![],
            body: Value::Array(results).to_string(),
            latency: std::time::Duration::from_millis(10),
        }
    };
    let outcome = sim.drive(&mut exec, &mut script);
    let results = core.finish_window(&mut exec, outcome);
    assert!(results
        .iter()
        .all(|r| r.outcome.as_ref().is_ok_and(|o| o.status == 201)));
    sim.transcript
}

#[test]
fn congestion_control_adds_concurrency_when_quiet_and_holds_it_down_under_throttling() {
    // 60,000 operations = 600 batches of 100 at 10 ms: several seconds of virtual time.
    let quiet = simulated_window(60_000, |_| false);
    let most = max_in_flight(&quiet);
    assert!(
        most >= 3,
        "one more batch in flight per quiet second: at most {most}"
    );
    // Every answer throttles a tenth of its operations: the range stays at one batch in flight.
    let throttled = simulated_window(20_000, |k| k % 10 == 0);
    assert_eq!(max_in_flight(&throttled), 1);
}
