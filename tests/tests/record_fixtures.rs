//! Generates the replay fixtures under `tests/fixtures/recordings/` from the local Cosmos DB
//! test server, through `sextant-tokio` with recording enabled. Ignored by default (it writes
//! into the source tree); regenerate after a deliberate change of the core's behaviour with
//!
//! ```text
//! cargo test -p sextant-tests --test record_fixtures -- --ignored
//! ```
//!
//! Each fixture is one fresh driver (a cold recording) with default `DriverOptions`, which is
//! what `replay_fixtures.rs` replays with.

// Test code: a failed expectation is a failed test with its message.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use sextant_core::replay::Recording;
use sextant_tests::server::{TestServer, EMULATOR_KEY};
use sextant_tokio::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, ItemReference,
    PartitionKey, PartitionKeyDefinition,
};
use sextant_tokio::{
    CosmosDriver, CosmosDriverRuntime, CosmosError, CosmosOperation, CosmosResponse, DriverOptions,
    OperationOptions,
};

/// An id that exercises path encoding and signing.
const AWKWARD_ID: &str = "all of a+b=c%d?e#f é";

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/recordings")
}

/// Writes `recording` as pretty JSON to `fixtures/recordings/<name>.json`.
fn write_recording(name: &str, recording: &Recording) {
    let path = fixtures_dir().join(format!("{name}.json"));
    std::fs::create_dir_all(fixtures_dir()).expect("fixtures dir");
    let mut json = recording.to_json().expect("recording JSON");
    json.push('\n');
    std::fs::write(&path, json).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

struct Recorder {
    rt: tokio::runtime::Runtime,
    driver: CosmosDriver,
}

impl Recorder {
    /// A fresh driver (default options, no environment) recording from its first operation.
    fn new(endpoint: &str) -> (Recorder, AccountReference) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let account = AccountReference::with_master_key(endpoint, EMULATOR_KEY).expect("account");
        let driver = rt
            .block_on(async {
                CosmosDriverRuntime::builder()
                    .environment(BTreeMap::new())
                    .driver_options(DriverOptions::default())
                    .build()
                    .await?
                    .get_or_create_driver(account.clone(), None)
                    .await
            })
            .expect("runtime and driver");
        driver.start_recording();
        (Recorder { rt, driver }, account)
    }

    fn run(&self, op: CosmosOperation) -> Result<CosmosResponse, CosmosError> {
        let opts = OperationOptions::new().with_end_to_end_timeout(Duration::from_secs(30));
        self.rt
            .block_on(self.driver.execute_operation(op, Some(opts)))
    }

    fn status(&self, op: CosmosOperation) -> u16 {
        match self.run(op) {
            Ok(r) => r.status(),
            Err(e) => e.status().unwrap_or_else(|| panic!("no status: {e}")),
        }
    }

    fn finish(self, name: &str) {
        let recording = self.driver.take_recording().expect("recording");
        assert!(recording.cold && !recording.truncated);
        write_recording(name, &recording);
    }
}

fn create_db_and_container(r: &Recorder, account: &AccountReference) -> ContainerReference {
    let db_name = sextant_tests::scenarios::unique("replaydb");
    let status = r.status(CosmosOperation::create_database(account.clone(), &db_name));
    assert_eq!(status, 201, "create database");
    let db = DatabaseReference::from_name(account.clone(), &db_name);
    let props = ContainerProperties::new("c", PartitionKeyDefinition::hash("/pk"));
    let status = r.status(CosmosOperation::create_container(db.clone(), &props));
    assert_eq!(status, 201, "create container");
    ContainerReference::in_database(&db, "c")
}

#[test]
#[ignore = "writes tests/fixtures/recordings; run with --ignored to regenerate"]
fn record_fixtures_from_the_local_server() {
    let server = TestServer::start();

    // 1. Item CRUD with an awkward id, then the database is deleted.
    let (r, account) = Recorder::new(server.http_endpoint());
    let container = create_db_and_container(&r, &account);
    let pk = || PartitionKey::from("pk é");
    let body = serde_json::json!({ "id": AWKWARD_ID, "pk": "pk é", "n": 1 }).to_string();
    let create = CosmosOperation::create(container.clone())
        .with_partition_key(pk())
        .with_body(body);
    assert_eq!(r.status(create), 201, "create item");
    let item = ItemReference::in_container(&container, AWKWARD_ID);
    let read = CosmosOperation::read(item.clone()).with_partition_key(pk());
    assert_eq!(r.status(read), 200, "read item");
    let body = serde_json::json!({ "id": AWKWARD_ID, "pk": "pk é", "n": 2 }).to_string();
    let replace = CosmosOperation::replace(item.clone())
        .with_partition_key(pk())
        .with_body(body);
    assert_eq!(r.status(replace), 200, "replace item");
    let delete = CosmosOperation::delete(item).with_partition_key(pk());
    assert_eq!(r.status(delete), 204, "delete item");
    let db = container.database().clone();
    assert_eq!(r.status(CosmosOperation::delete_database(db)), 204);
    r.finish("tokio_item_crud");

    // 2. A 409 on a duplicate create and a 404 on a missing item.
    let (r, account) = Recorder::new(server.http_endpoint());
    let container = create_db_and_container(&r, &account);
    let body = serde_json::json!({ "id": "dup", "pk": "p" }).to_string();
    let create = || {
        CosmosOperation::create(container.clone())
            .with_partition_key(PartitionKey::from("p"))
            .with_body(body.clone())
    };
    assert_eq!(r.status(create()), 201, "create item");
    assert_eq!(r.status(create()), 409, "duplicate create");
    let missing = ItemReference::in_container(&container, "missing");
    let read = CosmosOperation::read(missing).with_partition_key(PartitionKey::from("p"));
    assert_eq!(r.status(read), 404, "missing item");
    let db = container.database().clone();
    assert_eq!(r.status(CosmosOperation::delete_database(db)), 204);
    r.finish("tokio_conflict_and_not_found");
}
