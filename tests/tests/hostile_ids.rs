//! Ids and names that Cosmos DB forbids or that a URL layer would reinterpret (`.`, `..`,
//! empty, `/ \ ? #`, a trailing space, too long) are refused before anything is sent, with a
//! typed error naming the id, on every transport, against the local server, and nothing else
//! in the account is touched.

mod support;

use serde_json::{json, Value};
use sextant_core::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, ItemReference,
    PartitionKey, PartitionKeyDefinition,
};
use sextant_core::{ConfigError, CosmosError, CosmosOperation, ErrorKind, OperationOptions};
use sextant_tests::scenarios::{create_database_and_container, Client, AWKWARD_IDS};
use sextant_tests::server::{TestServer, EMULATOR_KEY};
use support::query_clients::{QueryClient, ALL};

fn forbidden() -> Vec<String> {
    vec![
        String::new(),
        ".".into(),
        "..".into(),
        "a/b".into(),
        "../x".into(),
        "a\\b".into(),
        "a?b".into(),
        "a#b".into(),
        "trailing ".into(),
        "i".repeat(1_024),
    ]
}

/// Everything the account holds: databases, their containers, every container's items.
fn snapshot(client: &dyn Client, account: &AccountReference) -> Value {
    let list = |op: CosmosOperation, key: &str| -> Vec<Value> {
        let r = client.execute(op, OperationOptions::new()).expect("list");
        let v: Value = serde_json::from_slice(r.response_bytes()).unwrap();
        v[key].as_array().cloned().unwrap_or_default()
    };
    let mut out = serde_json::Map::new();
    for db in list(
        CosmosOperation::list_databases(account.clone()),
        "Databases",
    ) {
        let db_id = db["id"].as_str().unwrap().to_string();
        let dbr = DatabaseReference::from_name(account.clone(), &db_id);
        let mut colls = serde_json::Map::new();
        for c in list(
            CosmosOperation::list_containers(dbr.clone()),
            "DocumentCollections",
        ) {
            let c_id = c["id"].as_str().unwrap().to_string();
            let cr = ContainerReference::in_database(&dbr, &c_id);
            let mut ids: Vec<String> = list(CosmosOperation::read_all_items(cr), "Documents")
                .iter()
                .map(|d| d["id"].as_str().unwrap_or_default().to_string())
                .collect();
            ids.sort();
            colls.insert(c_id, json!(ids));
        }
        out.insert(db_id, Value::Object(colls));
    }
    Value::Object(out)
}

fn refused(outcome: Result<sextant_core::CosmosResponse, CosmosError>, id: &str, what: &str) {
    let e = match outcome {
        Ok(r) => panic!("{what} {id:?}: expected a refusal, got {}", r.status()),
        Err(e) => e,
    };
    assert_eq!(e.kind(), ErrorKind::Configuration, "{what} {id:?}: {e}");
    assert!(
        matches!(
            e.config_error(),
            Some(ConfigError::InvalidResourceId { .. })
        ),
        "{what} {id:?}: {e}"
    );
    assert!(
        e.diagnostics().requests().is_empty(),
        "{what} {id:?}: nothing may be sent, yet {} request(s) were",
        e.diagnostics().requests().len()
    );
}

#[test]
fn hostile_ids_are_refused_before_sending_on_every_transport() {
    let server = TestServer::start();
    let account = AccountReference::with_master_key(server.http_endpoint(), EMULATOR_KEY).unwrap();
    for transport in ALL {
        let client = QueryClient::new(transport, &account);
        let (db, container) = create_database_and_container(&client, &account);
        let pk = PartitionKey::from("p");
        let keep = json!({"id": "keep", "pk": "p"});
        client
            .execute(
                CosmosOperation::create(container.clone())
                    .with_partition_key(pk.clone())
                    .with_body(keep.to_string()),
                OperationOptions::new(),
            )
            .unwrap();
        let before = snapshot(&client, &account);
        assert_eq!(
            before[db.name()][container.name()],
            json!(["keep"]),
            "the snapshot sees the account's items"
        );
        for id in forbidden() {
            let item = ItemReference::in_container(&container, &id);
            let body = json!({"id": id, "pk": "p"}).to_string();
            let ops = [
                (
                    "read",
                    CosmosOperation::read(item.clone()).with_partition_key(pk.clone()),
                ),
                (
                    "delete",
                    CosmosOperation::delete(item.clone()).with_partition_key(pk.clone()),
                ),
                (
                    "replace",
                    CosmosOperation::replace(item.clone())
                        .with_partition_key(pk.clone())
                        .with_body(body.clone()),
                ),
                (
                    "create",
                    CosmosOperation::create(container.clone())
                        .with_partition_key(pk.clone())
                        .with_body(body.clone()),
                ),
                (
                    "upsert",
                    CosmosOperation::upsert(container.clone())
                        .with_partition_key(pk.clone())
                        .with_body(body.clone()),
                ),
                (
                    "delete container",
                    CosmosOperation::delete_container(ContainerReference::in_database(&db, &id)),
                ),
                (
                    "read database",
                    CosmosOperation::read_database(DatabaseReference::from_name(
                        account.clone(),
                        &id,
                    )),
                ),
                (
                    "delete database",
                    CosmosOperation::delete_database(DatabaseReference::from_name(
                        account.clone(),
                        &id,
                    )),
                ),
                (
                    "create container",
                    CosmosOperation::create_container(
                        db.clone(),
                        &ContainerProperties::new(&id, PartitionKeyDefinition::hash("/pk")),
                    ),
                ),
                (
                    "create database",
                    CosmosOperation::create_database(account.clone(), &id),
                ),
            ];
            for (what, op) in ops {
                // Container and database names have a 255-character limit, items 1,023 bytes:
                // the long id is a valid item id for nothing here but it is too long for both.
                refused(client.execute(op, OperationOptions::new()), &id, what);
            }
        }
        assert_eq!(
            snapshot(&client, &account),
            before,
            "{transport:?}: a refused operation touched the account"
        );
    }
}

#[test]
fn awkward_but_valid_ids_still_round_trip() {
    let server = TestServer::start();
    let account = AccountReference::with_master_key(server.http_endpoint(), EMULATOR_KEY).unwrap();
    for transport in ALL {
        let client = QueryClient::new(transport, &account);
        let (_db, container) = create_database_and_container(&client, &account);
        for id in AWKWARD_IDS
            .iter()
            .chain(&[" leading space", "...", ".hidden"])
        {
            let pk = PartitionKey::from("p");
            client
                .execute(
                    CosmosOperation::create(container.clone())
                        .with_partition_key(pk.clone())
                        .with_body(json!({"id": id, "pk": "p"}).to_string()),
                    OperationOptions::new(),
                )
                .unwrap_or_else(|e| panic!("{transport:?} create {id:?}: {e}"));
            let item = ItemReference::in_container(&container, id);
            let r = client
                .execute(
                    CosmosOperation::read(item.clone()).with_partition_key(pk.clone()),
                    OperationOptions::new(),
                )
                .unwrap_or_else(|e| panic!("{transport:?} read {id:?}: {e}"));
            let v: Value = serde_json::from_slice(r.response_bytes()).unwrap();
            assert_eq!(v["id"], json!(id));
            client
                .execute(
                    CosmosOperation::delete(item).with_partition_key(pk),
                    OperationOptions::new(),
                )
                .unwrap_or_else(|e| panic!("{transport:?} delete {id:?}: {e}"));
        }
    }
}
