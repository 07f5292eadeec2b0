//! Transactional batch (issue 12) against the multi-partition test gateway, which runs batches
//! with the service's semantics (atomic across its store, 207/424, 100-operation and 2 MB
//! limits; the plain server's batch is not atomic, LOCAL_SERVER.md §1.6), on every transport;
//! and write safety on the simulator (a sent batch is a write: never replayed after an
//! ambiguous failure unless the caller opted in).

mod support;

use serde_json::{json, Value};
use sextant_core::models::{AccountReference, ContainerReference, ItemReference, PartitionKey};
use sextant_core::{
    BatchResponse, CosmosOperation, DriverOptions, OperationOptions, PatchBuilder, RequestSent,
    TransactionalBatch, TransportErrorKind,
};
use sextant_tests::gateway::TestGateway;
use sextant_tests::scenarios::{create_database_and_container, Client};
use sextant_tests::server::EMULATOR_KEY;
use sextant_tests::sim::{Answer, Sim};
use support::query_clients::{QueryClient, ALL};

fn run(client: &QueryClient, c: &ContainerReference, b: &TransactionalBatch) -> BatchResponse {
    let r = client
        .execute(
            CosmosOperation::batch(c.clone(), b),
            OperationOptions::new(),
        )
        .unwrap_or_else(|e| panic!("batch: {e}"));
    BatchResponse::from_response(&r, b.operations().len()).unwrap()
}

fn exists(client: &QueryClient, c: &ContainerReference, id: &str, pk: &str) -> Option<Value> {
    let op = CosmosOperation::read(ItemReference::in_container(c, id))
        .with_partition_key(PartitionKey::from(pk));
    match client.execute(op, OperationOptions::new()) {
        Ok(r) => Some(serde_json::from_slice(r.response_bytes()).unwrap()),
        Err(e) if e.status() == Some(404) => None,
        Err(e) => panic!("read {id}: {e}"),
    }
}

#[test]
fn batches_commit_whole_or_not_at_all_on_every_transport() {
    let g = TestGateway::start(8);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    for transport in ALL {
        let client = QueryClient::new(transport, &account);
        let (_db, c) = create_database_and_container(&client, &account);
        let ctx = format!("{transport:?}");
        let doc = |id: &str, n: i64| json!({"id": id, "pk": "p", "n": n}).to_string();

        // Every operation type in one batch.
        let seed = TransactionalBatch::new("p").create(doc("c", 0));
        assert!(run(&client, &c, &seed).is_success(), "{ctx}");
        let b = TransactionalBatch::new("p")
            .create(doc("a", 1))
            .create(doc("b", 2))
            .upsert(doc("c", 3))
            .read("a")
            .replace("b", doc("b", 20))
            .patch("a", PatchBuilder::new().increment("/n", 10))
            .delete("c");
        let r = run(&client, &c, &b);
        let statuses: Vec<u16> = r.results().iter().map(|x| x.status).collect();
        assert_eq!(statuses, vec![201, 201, 200, 200, 200, 200, 204], "{ctx}");
        assert!(r.is_success() && r.status() == 200, "{ctx}");
        assert_eq!(
            r.results()[3].resource_body.as_ref().unwrap()["n"],
            json!(1),
            "{ctx}: read sees the create before it"
        );
        assert_eq!(
            exists(&client, &c, "a", "p").unwrap()["n"],
            json!(11),
            "{ctx}"
        );
        assert_eq!(
            exists(&client, &c, "b", "p").unwrap()["n"],
            json!(20),
            "{ctx}"
        );
        assert!(exists(&client, &c, "c", "p").is_none(), "{ctx}");
        let etag_a = r.results()[5].etag.clone().unwrap();

        // The second operation fails: 207, its own status promoted, the others 424, nothing kept.
        let b = TransactionalBatch::new("p")
            .create(doc("d", 4))
            .create(doc("a", 5))
            .upsert(doc("e", 6));
        let r = run(&client, &c, &b);
        assert!(!r.is_success(), "{ctx}");
        assert_eq!(r.status(), 409, "{ctx}: the conflict, not 207 or 424");
        assert_eq!(r.first_failure().map(|(i, _)| i), Some(1), "{ctx}");
        let statuses: Vec<u16> = r.results().iter().map(|x| x.status).collect();
        assert_eq!(statuses, vec![424, 409, 424], "{ctx}");
        assert!(
            exists(&client, &c, "d", "p").is_none(),
            "{ctx}: the create before the failure was rolled back"
        );
        assert!(exists(&client, &c, "e", "p").is_none(), "{ctx}");

        // A stale etag or a false patch condition fails the whole batch with 412.
        let b = TransactionalBatch::new("p")
            .patch("a", PatchBuilder::new().increment("/n", 1))
            .if_match(etag_a.clone())
            .create(doc("f", 7));
        let r = run(&client, &c, &b);
        assert!(r.is_success(), "{ctx}: the current etag");
        let b = TransactionalBatch::new("p")
            .create(doc("g", 8))
            .patch("a", PatchBuilder::new().set("/x", 1))
            .if_match(etag_a);
        assert_eq!(run(&client, &c, &b).status(), 412, "{ctx}: stale etag");
        let b = TransactionalBatch::new("p").create(doc("g", 8)).patch(
            "a",
            PatchBuilder::new()
                .set("/x", 1)
                .condition("from c where c.n > 1000"),
        );
        assert_eq!(run(&client, &c, &b).status(), 412, "{ctx}: false condition");
        assert!(exists(&client, &c, "g", "p").is_none(), "{ctx}");
        assert_eq!(
            exists(&client, &c, "a", "p").unwrap()["n"],
            json!(12),
            "{ctx}"
        );

        // An item of another partition key fails the batch (the service answers 400).
        let b = TransactionalBatch::new("p").create(json!({"id": "h", "pk": "q"}).to_string());
        assert_eq!(run(&client, &c, &b).status(), 400, "{ctx}");

        // Limits are refused before sending, by name.
        for (b, what) in [
            (
                (0..101).fold(TransactionalBatch::new("p"), |b, i| b.read(format!("i{i}"))),
                "at most 100",
            ),
            (
                TransactionalBatch::new("p").create(
                    json!({"id": "big", "pk": "p", "pad": "x".repeat(2_100_000)}).to_string(),
                ),
                "at most 2097152",
            ),
        ] {
            let e = client
                .execute(
                    CosmosOperation::batch(c.clone(), &b),
                    OperationOptions::new(),
                )
                .unwrap_err();
            assert!(e.to_string().contains(what), "{ctx}: {e}");
            assert!(e.diagnostics().requests().is_empty(), "{ctx}: nothing sent");
        }
    }
    // Each batch went to the one range that owns "p".
    let counts = g.requests();
    let ranges_with_batches = counts
        .as_object()
        .unwrap()
        .values()
        .filter(|v| v.get("batch").is_some())
        .count();
    assert_eq!(ranges_with_batches, 1, "{counts}");
}

#[test]
fn a_sent_batch_is_not_replayed_after_an_ambiguous_failure() {
    for (opts, attempts, ok) in [
        (OperationOptions::new(), 1, false),
        (
            OperationOptions::new().with_non_idempotent_write_retries(true),
            2,
            true,
        ),
    ] {
        let mut s = Sim::new(1, DriverOptions::default());
        let c = ContainerReference::from_name(s.account.clone(), "db", "c");
        let b = TransactionalBatch::new("p").create(r#"{"id":"a","pk":"p"}"#);
        let mut sent = 0;
        let r = s.run(CosmosOperation::batch(c, &b), opts, |_, req| {
            sent += 1;
            assert_eq!(
                req.headers
                    .get("x-ms-cosmos-is-batch-request")
                    .and_then(|v| v.to_str().ok()),
                Some("True")
            );
            assert_eq!(
                req.headers
                    .get("x-ms-cosmos-batch-atomic")
                    .and_then(|v| v.to_str().ok()),
                Some("True")
            );
            if sent == 1 {
                Answer::fail(TransportErrorKind::Io, RequestSent::Unknown)
            } else {
                Answer::ok_with(r#"[{"statusCode":201,"requestCharge":1.5}]"#)
            }
        });
        assert_eq!((sent, r.is_ok()), (attempts, ok));
    }
}
