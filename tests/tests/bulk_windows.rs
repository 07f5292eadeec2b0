//! Edge cases of one bulk window, on the simulator (found by a review of issue 12's code):
//! a range that splits while its queue still holds most of the window, one operation whose
//! partition key does not fit the container, and more operations than a window takes. In each,
//! every operation gets exactly one result of its own, and only the operation at fault fails.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use serde_json::{json, Value};
use sextant_core::models::{ContainerReference, PartitionKey, PartitionKeyValue};
use sextant_core::{
    BulkBuilder, BulkExecutor, BulkOperation, BulkResult, DriverOptions, Execution, OutgoingRequest,
};
use sextant_tests::sim::{Answer, Sim};

fn create(n: usize) -> (usize, BulkOperation) {
    let pk = format!("p{}", n % 1_000);
    let doc = json!({"id": format!("i{n}"), "pk": pk}).to_string();
    (
        n,
        BulkOperation::create(PartitionKey::from(pk.as_str()), doc),
    )
}

fn answer(status: u16, headers: Vec<(&'static str, String)>, body: String) -> Answer {
    Answer::Full {
        status,
        headers,
        body,
        latency: Duration::from_millis(3),
    }
}

/// A batch answered per operation by `status_of(position in the batch)`.
fn batch_answer(req: &OutgoingRequest, status_of: impl Fn(usize) -> u16) -> Answer {
    let ops: Vec<Value> = serde_json::from_slice(&req.body).expect("a batch body is a JSON array");
    let results: Vec<Value> = (0..ops.len())
        .map(|k| match status_of(k) {
            429 => json!({"statusCode": 429, "subStatusCode": 3200, "retryAfterMilliseconds": 20}),
            s => json!({"statusCode": s, "requestCharge": 1.0}),
        })
        .collect();
    answer(200, vec![], Value::Array(results).to_string())
}

/// The correlation ids of the results that are not `status`.
fn not_status(results: &[BulkResult<usize>], status: u16) -> Vec<usize> {
    results
        .iter()
        .filter(|r| !r.outcome.as_ref().is_ok_and(|o| o.status == status))
        .map(|r| r.correlation)
        .collect()
}

/// Drives a window whose every operation the server creates (201); returns its results and
/// how many operations were sent.
fn run_all_created(
    sim: &mut Sim,
    core: &mut BulkExecutor<usize>,
    mut exec: Execution,
) -> (Vec<BulkResult<usize>>, usize) {
    let mut sent = 0usize;
    let mut script = |_: usize, req: &OutgoingRequest| {
        let ops: Vec<Value> = serde_json::from_slice(&req.body).expect("JSON array");
        sent += ops.len();
        batch_answer(req, |_| 201)
    };
    let outcome = sim.drive(&mut exec, &mut script);
    (core.finish_window(&mut exec, outcome), sent)
}

#[test]
fn a_range_that_splits_mid_window_takes_its_queue_with_it() {
    const N: usize = 10_000; // the default window: most of it is still queued at the split
    let split = Rc::new(Cell::new(false));
    let mut sim = Sim::new(3, DriverOptions::default());
    let s = split.clone();
    sim.pk_ranges_script = Some(Box::new(move |_, req| {
        let (etag, body) = if s.get() {
            (
                "\"2\"",
                r#"{"PartitionKeyRanges":[
                  {"id":"1","minInclusive":"","maxExclusive":"7F","parents":["0"]},
                  {"id":"2","minInclusive":"7F","maxExclusive":"FF","parents":["0"]}]}"#,
            )
        } else {
            (
                "\"1\"",
                r#"{"PartitionKeyRanges":[{"id":"0","minInclusive":"","maxExclusive":"FF","parents":[]}]}"#,
            )
        };
        let inm = req
            .headers
            .get("if-none-match")
            .and_then(|v| v.to_str().ok());
        if inm == Some(etag) {
            return answer(304, vec![("etag", etag.to_string())], String::new());
        }
        answer(200, vec![("etag", etag.to_string())], body.to_string())
    }));
    let c = ContainerReference::from_name(sim.account.clone(), "db", "c");
    let mut core = BulkBuilder::new(c).build::<usize>();
    let mut exec = core.start_window(&mut sim.driver, (0..N).map(create).collect(), sim.now);
    let (mut to_parent, mut gone_answers) = (0usize, 0usize);
    let mut applied = vec![0u32; N];
    let s = split.clone();
    let mut script = |_: usize, req: &OutgoingRequest| {
        let range = req
            .headers
            .get("x-ms-documentdb-partitionkeyrangeid")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if range == "0" {
            to_parent += 1;
            // The parent answers three batches (the second throttles a quarter of its
            // operations, so the queue holds retries too), then splits.
            if to_parent > 3 {
                s.set(true);
            }
            if s.get() {
                gone_answers += 1;
                return Answer::status(410, 1002);
            }
        }
        let ops: Vec<Value> = serde_json::from_slice(&req.body).expect("JSON array");
        let throttle = range == "0" && to_parent == 2;
        for (k, op) in ops.iter().enumerate() {
            if throttle && k % 4 == 0 {
                continue;
            }
            let id = op["resourceBody"]["id"].as_str().unwrap_or("");
            if let Some(n) = id.strip_prefix('i').and_then(|n| n.parse::<usize>().ok()) {
                applied[n] += 1;
            }
        }
        batch_answer(req, |k| if throttle && k % 4 == 0 { 429 } else { 201 })
    };
    let outcome = sim.drive(&mut exec, &mut script);
    let results = core.finish_window(&mut exec, outcome);
    assert_eq!(results.len(), N);
    let failed = not_status(&results, 201);
    assert!(
        failed.is_empty(),
        "{} of {N} operations failed after one split (first: {:?})",
        failed.len(),
        failed.first()
    );
    // Each create was applied exactly once, and the gone range was asked again only by the
    // batches already in flight to it when it split, not by its whole queue.
    assert!(applied.iter().all(|&a| a == 1), "each create applied once");
    assert!(
        gone_answers <= 8,
        "{gone_answers} batches went to the gone range (its queue should have moved)"
    );
}

#[test]
fn one_key_that_does_not_fit_the_container_fails_only_its_operation() {
    let mut sim = Sim::new(1, DriverOptions::default()); // the container is keyed on /pk
    let c = ContainerReference::from_name(sim.account.clone(), "db", "c");
    let mut core = BulkBuilder::new(c).build::<usize>();
    let mut ops: Vec<(usize, BulkOperation)> = (0..99)
        .map(|n| {
            let doc = json!({"id": format!("i{n}"), "pk": "a"}).to_string();
            (n, BulkOperation::create(PartitionKey::from("a"), doc))
        })
        .collect();
    // A two-component key on a one-path container, in the middle of the window.
    let two = PartitionKey::hierarchical([
        PartitionKeyValue::String("a".into()),
        PartitionKeyValue::String("b".into()),
    ])
    .expect("a two-component key");
    ops.insert(
        50,
        (
            1_000,
            BulkOperation::create(two, r#"{"id":"bad","pk":"a"}"#),
        ),
    );
    let exec = core.start_window(&mut sim.driver, ops, sim.now);
    let (results, sent) = run_all_created(&mut sim, &mut core, exec);
    assert_eq!(results.len(), 100);
    assert_eq!(
        sent, 99,
        "every valid operation is sent, the bad one is not"
    );
    assert_eq!(not_status(&results, 201), vec![1_000]);
    let bad = results
        .iter()
        .find(|r| r.correlation == 1_000)
        .expect("its result");
    let e = bad.outcome.as_ref().expect_err("the bad key's own error");
    assert!(
        e.to_string().contains("does not fit the container"),
        "the error names the problem: {e}"
    );
}

#[test]
fn operations_past_the_window_size_get_an_error_not_silence() {
    let mut sim = Sim::new(2, DriverOptions::default());
    let c = ContainerReference::from_name(sim.account.clone(), "db", "c");
    let mut core = BulkBuilder::new(c).max_in_flight(10).build::<usize>();
    assert_eq!(core.window_size(), 10);
    let exec = core.start_window(&mut sim.driver, (0..15).map(create).collect(), sim.now);
    let (results, sent) = run_all_created(&mut sim, &mut core, exec);
    assert_eq!(sent, 10);
    assert_eq!(results.len(), 15, "every operation given has a result");
    assert_eq!(not_status(&results, 201), (10..15).collect::<Vec<_>>());
    for r in &results[10..] {
        let e = r.outcome.as_ref().expect_err("not sent");
        assert!(e.to_string().contains("at most 10"), "names the limit: {e}");
    }
}

/// A restore upserts a backup's lines, and an item that changed while the export ran appears
/// twice (PROTOCOL.md §9: the latest-version feed returns it again). The first batch is
/// throttled, the later version would go out before the older one's retry: the older one
/// would win. Operations on one item are applied in the order given.
#[test]
fn operations_on_one_item_are_applied_in_the_order_given() {
    use sextant_core::backup::restore_operation;
    use sextant_core::models::PartitionKeyDefinition;
    let mut lines = vec![r#"{"id":"x","pk":"p","v":1}"#.to_string()];
    for k in 0..100 {
        lines.push(format!(r#"{{"id":"f{k}","pk":"p","v":0}}"#));
    }
    lines.push(r#"{"id":"x","pk":"p","v":2}"#.to_string());
    lines.push(r#"{"id":"x","pk":"p","v":3}"#.to_string());
    let def = PartitionKeyDefinition::hash("/pk");
    let ops: Vec<(usize, BulkOperation)> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let op = restore_operation(l, i as u64 + 1, &def).expect("a backup line");
            (i, op)
        })
        .collect();
    let mut sim = Sim::new(5, DriverOptions::default());
    let c = ContainerReference::from_name(sim.account.clone(), "db", "c");
    let mut core = BulkBuilder::new(c).max_in_flight(2_000).build::<usize>();
    let mut exec = core.start_window(&mut sim.driver, ops, sim.now);
    let mut batch = 0;
    // The versions of x the server applied, in order.
    let mut applied_x = Vec::new();
    let mut script = |_: usize, req: &OutgoingRequest| {
        batch += 1;
        let ops: Vec<Value> = serde_json::from_slice(&req.body).expect("JSON array");
        let throttled = batch == 1; // the range ran out of RUs for the first batch
        for op in &ops {
            let body = &op["resourceBody"];
            if !throttled && body["id"] == "x" {
                applied_x.push(body["v"].as_i64().unwrap_or(-1));
            }
        }
        batch_answer(req, |_| if throttled { 429 } else { 200 })
    };
    let outcome = sim.drive(&mut exec, &mut script);
    let results = core.finish_window(&mut exec, outcome);
    assert!(
        not_status(&results, 200).is_empty(),
        "every upsert succeeds"
    );
    assert_eq!(
        applied_x,
        [1, 2, 3],
        "x's versions applied in the backup's order"
    );
}
