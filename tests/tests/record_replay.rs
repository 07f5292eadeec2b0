//! Every transport records real exchanges with the local Cosmos DB test server, and each
//! recording replays on the core alone, with the same actions and the same results
//! (`sextant_tests::recording::record_and_replay`), over HTTP and HTTPS.
//!
//! The ignored `write_fixtures` test regenerates `tests/fixtures/recordings/` (replayed offline
//! by `replay_fixtures.rs`) after a deliberate change of the core's behaviour:
//!
//! ```text
//! cargo test -p sextant-tests --test record_replay -- --ignored write_fixtures
//! ```

// Test code: a failed expectation is a failed test with its message.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use sextant_core::models::AccountReference;
use sextant_core::replay::Recording;
use sextant_core::{CosmosError, CosmosOperation, CosmosResponse, OperationOptions};
use sextant_tests::recording::{record_and_replay, Recorder, SCENARIOS};
use sextant_tests::scenarios::Client;
use sextant_tests::server::{TestServer, EMULATOR_KEY};

/// Longest a test waits on one async call before failing.
const BOUND: Duration = Duration::from_secs(60);

fn account(endpoint: &str) -> AccountReference {
    AccountReference::with_master_key(endpoint, EMULATOR_KEY).expect("account")
}

/// A fresh tokio driver (its own runtime, no environment).
struct Tokio {
    rt: tokio::runtime::Runtime,
    driver: sextant_tokio::CosmosDriver,
}

impl Tokio {
    fn new(account: &AccountReference, https: bool) -> Tokio {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let driver = rt
            .block_on(async {
                sextant_tokio::CosmosDriverRuntime::builder()
                    .environment(BTreeMap::new())
                    .emulator_server_cert_validation_disabled(https)
                    .build()
                    .await?
                    .get_or_create_driver(account.clone(), None)
                    .await
            })
            .expect("tokio driver");
        Tokio { rt, driver }
    }
}

impl Client for Tokio {
    fn execute(
        &self,
        op: CosmosOperation,
        o: OperationOptions,
    ) -> Result<CosmosResponse, CosmosError> {
        let call = self.driver.execute_operation(op, Some(o));
        self.rt
            .block_on(async { tokio::time::timeout(BOUND, call).await })
            .expect("tokio call within its bound")
    }
}

sextant_tests::impl_recorder!(Tokio, self => self.driver);

/// A fresh blocking driver (no environment).
struct Blocking(sextant_blocking::CosmosDriver);

impl Blocking {
    fn new(account: &AccountReference, https: bool) -> Blocking {
        let driver = sextant_blocking::CosmosDriverRuntime::builder()
            .environment(BTreeMap::new())
            .emulator_server_cert_validation_disabled(https)
            .build()
            .expect("blocking runtime")
            .get_or_create_driver(account.clone(), None)
            .expect("blocking driver");
        Blocking(driver)
    }
}

impl Client for Blocking {
    fn execute(
        &self,
        op: CosmosOperation,
        o: OperationOptions,
    ) -> Result<CosmosResponse, CosmosError> {
        // Bounded by the end-to-end timeout every scenario operation carries.
        self.0.execute_operation(op, Some(o))
    }
}

sextant_tests::impl_recorder!(Blocking, self => self.0);

/// A fresh async-std driver, driven by `async_std::task::block_on`.
struct AsyncStd(sextant_async_std::CosmosDriver);

fn block_on<T>(f: impl Future<Output = T>) -> T {
    async_std::task::block_on(async {
        async_std::future::timeout(BOUND, f)
            .await
            .expect("async-std call within its bound")
    })
}

impl AsyncStd {
    fn new(account: &AccountReference, https: bool) -> AsyncStd {
        let driver = block_on(async {
            sextant_async_std::CosmosDriverRuntime::builder()
                .environment(BTreeMap::new())
                .emulator_server_cert_validation_disabled(https)
                .build()
                .await?
                .get_or_create_driver(account.clone(), None)
                .await
        })
        .expect("async-std driver");
        AsyncStd(driver)
    }
}

impl Client for AsyncStd {
    fn execute(
        &self,
        op: CosmosOperation,
        o: OperationOptions,
    ) -> Result<CosmosResponse, CosmosError> {
        block_on(self.0.execute_operation(op, Some(o)))
    }
}

sextant_tests::impl_recorder!(AsyncStd, self => self.0);

/// The three transports, by fixture-name prefix.
const TRANSPORTS: [&str; 3] = ["tokio", "blocking", "async_std"];

/// A fresh driver of `transport` for `account`.
fn fresh(transport: &str, account: &AccountReference, https: bool) -> Box<dyn Recorder> {
    match transport {
        "tokio" => Box::new(Tokio::new(account, https)),
        "blocking" => Box::new(Blocking::new(account, https)),
        "async_std" => Box::new(AsyncStd::new(account, https)),
        other => panic!("unknown transport {other}"),
    }
}

/// Records and replays every scenario through `transport`, each on a fresh driver, over HTTP
/// and HTTPS; returns the HTTP recordings by scenario name.
fn records_and_replays(transport: &str) -> Vec<(&'static str, Recording)> {
    let server = TestServer::start();
    let mut http = Vec::new();
    for (https, endpoint) in [
        (false, server.http_endpoint()),
        (true, server.https_endpoint()),
    ] {
        let account = account(endpoint);
        for (name, scenario) in SCENARIOS {
            let client = fresh(transport, &account, https);
            let recording = record_and_replay(client.as_ref(), &account, EMULATOR_KEY, scenario);
            eprintln!(
                "{transport} {name} over {endpoint}: {} entries replayed",
                recording.entries.len()
            );
            if !https {
                http.push((name, recording));
            }
        }
    }
    http
}

#[test]
fn tokio_records_and_replays() {
    records_and_replays("tokio");
}

#[test]
fn blocking_records_and_replays() {
    records_and_replays("blocking");
}

#[test]
fn async_std_records_and_replays() {
    records_and_replays("async_std");
}

#[test]
#[ignore = "writes tests/fixtures/recordings; run with --ignored to regenerate"]
fn write_fixtures() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/recordings");
    std::fs::create_dir_all(&dir).expect("fixtures dir");
    for transport in TRANSPORTS {
        for (name, recording) in records_and_replays(transport) {
            let path = dir.join(format!("{transport}_{name}.json"));
            let mut json = recording.to_json().expect("recording JSON");
            json.push('\n');
            std::fs::write(&path, json).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        }
    }
}
