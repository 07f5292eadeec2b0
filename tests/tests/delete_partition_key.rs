//! Deleting every item of one partition key (issue 12) through the multi-partition test
//! gateway (the plain server has no route for it), on every transport; and its retry rule on the
//! simulator (deleting twice leaves the same state, so an ambiguous failure is retried).

mod support;

use serde_json::json;
use sextant_core::models::{AccountReference, ContainerReference, PartitionKey};
use sextant_core::{
    CosmosOperation, DriverOptions, OperationOptions, QuerySpec, RequestSent, TransportErrorKind,
};
use sextant_tests::gateway::TestGateway;
use sextant_tests::scenarios::{create_database_and_container, create_items, Client};
use sextant_tests::server::EMULATOR_KEY;
use sextant_tests::sim::{Answer, Sim};
use support::query_clients::{QueryClient, ALL};

fn count(client: &QueryClient, c: &ContainerReference, pk: Option<&str>) -> usize {
    let mut op = CosmosOperation::query(c.clone(), QuerySpec::new("SELECT VALUE c.id FROM c"));
    if let Some(pk) = pk {
        op = op.with_partition_key(PartitionKey::from(pk));
    }
    client
        .all_pages(op, OperationOptions::new())
        .unwrap()
        .iter()
        .map(|p| p.items().len())
        .sum()
}

#[test]
fn every_item_of_one_partition_key_goes_and_no_other() {
    let g = TestGateway::start(3);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    for transport in ALL {
        let client = QueryClient::new(transport, &account);
        let (_db, c) = create_database_and_container(&client, &account);
        create_items(
            &client,
            &c,
            (0..30).map(|i| json!({"id": format!("d{i}"), "pk": format!("p{}", i % 6)})),
        );
        assert_eq!(count(&client, &c, Some("p2")), 5, "{transport:?}");
        let r = client
            .execute(
                CosmosOperation::delete_all_items_by_partition_key(c.clone(), "p2"),
                OperationOptions::new(),
            )
            .unwrap_or_else(|e| panic!("{transport:?}: {e}"));
        assert_eq!(r.status(), 200, "{transport:?}");
        assert_eq!(count(&client, &c, Some("p2")), 0, "{transport:?}");
        assert_eq!(
            count(&client, &c, None),
            25,
            "{transport:?}: the other keys are untouched"
        );
    }
}

#[test]
fn deleting_a_partition_key_is_retried_after_an_ambiguous_failure() {
    let mut s = Sim::new(1, DriverOptions::default());
    let c = ContainerReference::from_name(s.account.clone(), "db", "c");
    let mut sent = Vec::new();
    let r = s.run(
        CosmosOperation::delete_all_items_by_partition_key(c, "p"),
        OperationOptions::new(),
        |i, req| {
            sent.push((req.method.clone(), req.uri.path().to_string()));
            if i == 0 {
                Answer::fail(TransportErrorKind::Io, RequestSent::Unknown)
            } else {
                Answer::ok_with("{}")
            }
        },
    );
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].0, http::Method::POST);
    assert!(
        sent[0]
            .1
            .ends_with("/dbs/db/colls/c/operations/partitionkeydelete"),
        "{}",
        sent[0].1
    );
}
