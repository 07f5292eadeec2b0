//! Partial updates (issue 12, patch): every operation against the local server on every
//! transport (it runs patch for real: LOCAL_SERVER.md §1.5), conditions and if-match, limits
//! refused before sending, and write safety on the simulator (a patch that is not idempotent is
//! never replayed after an ambiguous failure; a repeatable or conditional one is).

mod support;

use serde_json::{json, Value};
use sextant_core::models::{AccountReference, ContainerReference, ItemReference, PartitionKey};
use sextant_core::{
    CosmosOperation, DriverOptions, OperationOptions, PatchBuilder, RequestSent, TransportErrorKind,
};
use sextant_tests::scenarios::{create_database_and_container, create_items, Client};
use sextant_tests::server::{TestServer, EMULATOR_KEY};
use sextant_tests::sim::{Answer, Sim};
use support::query_clients::{QueryClient, ALL};

fn body(r: &sextant_core::CosmosResponse) -> Value {
    serde_json::from_slice(r.response_bytes()).unwrap()
}

#[test]
fn patch_operations_conditions_and_limits_on_every_transport() {
    let server = TestServer::start();
    let account = AccountReference::with_master_key(server.http_endpoint(), EMULATOR_KEY).unwrap();
    for transport in ALL {
        let client = QueryClient::new(transport, &account);
        let (_db, container) = create_database_and_container(&client, &account);
        create_items(
            &client,
            &container,
            [json!({"id": "a", "pk": "p", "n": 5, "tags": [1, 2], "old": "x", "gone": true})],
        );
        let item = ItemReference::in_container(&container, "a");
        let patch = |p: PatchBuilder| {
            CosmosOperation::patch(item.clone(), p).with_partition_key(PartitionKey::from("p"))
        };
        let ctx = format!("{transport:?}");

        // Every operation in one atomic request.
        let all = PatchBuilder::new()
            .add("/tags/-", 3)
            .set("/new", "v")
            .replace("/old", "y")
            .remove("/gone")
            .increment("/n", 2)
            .move_value("/new", "/moved");
        let r = client.execute(patch(all), OperationOptions::new()).unwrap();
        assert_eq!(r.status(), 200, "{ctx}");
        let doc = body(&r);
        assert_eq!(doc["tags"], json!([1, 2, 3]), "{ctx}");
        assert_eq!(
            (&doc["old"], &doc["n"], &doc["moved"]),
            (&json!("y"), &json!(7), &json!("v")),
            "{ctx}"
        );
        assert!(
            doc.get("gone").is_none() && doc.get("new").is_none(),
            "{ctx}: {doc}"
        );
        let etag = r.headers().etag().unwrap().to_string();

        // A false condition and a stale if-match are 412; nothing changes.
        let e = client
            .execute(
                patch(
                    PatchBuilder::new()
                        .set("/n", 0)
                        .condition("from c where c.n > 100"),
                ),
                OperationOptions::new(),
            )
            .unwrap_err();
        assert_eq!(e.status(), Some(412), "{ctx}: {e}");
        let r = client
            .execute(
                patch(PatchBuilder::new().increment("/n", 1)),
                OperationOptions::new().with_if_match(&etag),
            )
            .unwrap();
        assert_eq!(body(&r)["n"], json!(8), "{ctx}: current etag");
        let e = client
            .execute(
                patch(PatchBuilder::new().increment("/n", 1)),
                OperationOptions::new().with_if_match(&etag),
            )
            .unwrap_err();
        assert_eq!(e.status(), Some(412), "{ctx}: stale etag");

        // Atomic: the second operation fails, the first is not applied.
        let e = client
            .execute(
                patch(PatchBuilder::new().set("/n", 0).replace("/missing", 1)),
                OperationOptions::new(),
            )
            .unwrap_err();
        assert_eq!(e.status(), Some(400), "{ctx}: {e}");
        let r = client
            .execute(
                CosmosOperation::read(item.clone()).with_partition_key(PartitionKey::from("p")),
                OperationOptions::new(),
            )
            .unwrap();
        assert_eq!(
            body(&r)["n"],
            json!(8),
            "{ctx}: nothing of the failed patch applied"
        );

        // Refused before sending, by name: 11 operations, a bad path.
        let eleven = (0..11).fold(PatchBuilder::new(), |p, i| p.set(format!("/k{i}"), i));
        let e = client
            .execute(patch(eleven), OperationOptions::new())
            .unwrap_err();
        assert!(e.to_string().contains("at most 10"), "{ctx}: {e}");
        assert!(e.diagnostics().requests().is_empty(), "{ctx}: nothing sent");
        let e = client
            .execute(
                patch(PatchBuilder::new().set("n", 1)),
                OperationOptions::new(),
            )
            .unwrap_err();
        assert!(e.to_string().contains("JSON Pointer"), "{ctx}: {e}");
    }
}

fn sim_patch(s: &Sim, p: PatchBuilder) -> CosmosOperation {
    let c = ContainerReference::from_name(s.account.clone(), "db", "c");
    CosmosOperation::patch(ItemReference::in_container(&c, "a"), p)
        .with_partition_key(PartitionKey::from("p"))
}

fn ok_doc() -> Answer {
    Answer::ok_with(r#"{"id":"a","pk":"p","n":1}"#)
}

/// The first attempt is sent and its answer lost; returns how many patch attempts were sent.
fn lost_first_answer(p: PatchBuilder, opts: OperationOptions) -> (usize, bool) {
    let mut s = Sim::new(1, DriverOptions::default());
    let op = sim_patch(&s, p);
    let mut patches = 0;
    let r = s.run(op, opts, |_, req| {
        if req.method != http::Method::PATCH {
            return Answer::status(404, 0);
        }
        patches += 1;
        assert_eq!(
            req.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json-patch+json")
        );
        if patches == 1 {
            Answer::fail(TransportErrorKind::Io, RequestSent::Unknown)
        } else {
            ok_doc()
        }
    });
    (patches, r.is_ok())
}

#[test]
fn only_repeatable_or_conditional_patches_are_replayed_after_an_ambiguous_failure() {
    // Increments, array appends, moves and removals may have been applied: never replayed.
    for p in [
        PatchBuilder::new().increment("/n", 1),
        PatchBuilder::new().add("/tags/-", 1),
        PatchBuilder::new().move_value("/a", "/b"),
        PatchBuilder::new().set("/a", 1).remove("/b"),
    ] {
        let what = format!("{:?}", p.operations());
        assert_eq!(
            lost_first_answer(p, OperationOptions::new()),
            (1, false),
            "{what}"
        );
    }
    // Set, replace and add to a key give the same document twice: replayed.
    let repeatable = PatchBuilder::new()
        .set("/a", 1)
        .replace("/b", 2)
        .add("/c", 3);
    assert_eq!(
        lost_first_answer(repeatable, OperationOptions::new()),
        (2, true)
    );
    // If-match makes any patch conditional; the caller may also opt in.
    let conditional = OperationOptions::new().with_if_match("\"e1\"");
    assert_eq!(
        lost_first_answer(PatchBuilder::new().increment("/n", 1), conditional),
        (2, true)
    );
    let opted = OperationOptions::new().with_non_idempotent_write_retries(true);
    assert_eq!(
        lost_first_answer(PatchBuilder::new().increment("/n", 1), opted),
        (2, true)
    );
}
