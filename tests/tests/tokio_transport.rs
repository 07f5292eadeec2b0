//! The tokio transport (`sextant-tokio`, reqwest + rustls) against the local Cosmos DB test
//! server, over HTTP and HTTPS: the shared CRUD suite, 64 concurrent operations on one driver,
//! certificate validation by default, environment configuration, and an honest `NotSent` on a
//! refused connection.
//!
//! Each test owns a multi-thread tokio runtime (2 workers) and blocks on it from the (non-async)
//! test thread. Every operation is bounded by an end-to-end timeout.

// Test code: a failed expectation is a failed test with its message.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};
use sextant_tests::scenarios::{self, Client};
use sextant_tests::server::{TestServer, EMULATOR_KEY};
use sextant_tokio::core::credential::TokenFuture;
use sextant_tokio::models::{AccountReference, ItemReference, PartitionKey};
use sextant_tokio::{
    AccessToken, CosmosDriver, CosmosDriverRuntime, CosmosError, CosmosOperation, CosmosResponse,
    DriverOptions, ErrorKind, OperationOptions, RequestSent, TokenCredential, TransportErrorKind,
};

const ENV_CERT: &str = "AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED";
/// Upper bound for any one operation (the server answers in milliseconds).
const OP_TIMEOUT: Duration = Duration::from_secs(30);

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn bounded_options() -> DriverOptions {
    DriverOptions::builder()
        .end_to_end_timeout(OP_TIMEOUT)
        .build()
        .expect("driver options")
}

/// The transport seen from a test thread.
struct TokioClient {
    rt: tokio::runtime::Runtime,
    driver: CosmosDriver,
}

impl TokioClient {
    /// A driver for `endpoint` (emulator certificate accepted when `accept_emulator_cert`),
    /// isolated from the process environment.
    fn new(endpoint: &str, accept_emulator_cert: bool) -> (TokioClient, AccountReference) {
        let rt = tokio_runtime();
        let account = AccountReference::with_master_key(endpoint, EMULATOR_KEY).expect("account");
        let driver = rt
            .block_on(async {
                CosmosDriverRuntime::builder()
                    .environment(BTreeMap::new())
                    .emulator_server_cert_validation_disabled(accept_emulator_cert)
                    .driver_options(bounded_options())
                    .build()
                    .await?
                    .get_or_create_driver(account.clone(), None)
                    .await
            })
            .expect("runtime and driver");
        (TokioClient { rt, driver }, account)
    }
}

impl Client for TokioClient {
    fn execute(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<CosmosResponse, CosmosError> {
        self.rt
            .block_on(self.driver.execute_operation(op, Some(opts)))
    }
}

fn crud(https: bool) {
    let server = TestServer::start();
    let endpoint = if https {
        server.https_endpoint()
    } else {
        server.http_endpoint()
    };
    let (client, account) = TokioClient::new(endpoint, https);
    let started = Instant::now();
    scenarios::crud_suite(&client, &account);
    eprintln!("crud suite over {endpoint}: {:?}", started.elapsed());
}

#[test]
fn crud_suite_over_http() {
    crud(false);
}

#[test]
fn crud_suite_over_https_with_emulator_acceptance() {
    crud(true);
}

/// 64 tasks on one driver, each creating then reading back its own item.
fn concurrent(https: bool) {
    const TASKS: usize = 64;
    let server = TestServer::start();
    let endpoint = if https {
        server.https_endpoint()
    } else {
        server.http_endpoint()
    };
    let (client, account) = TokioClient::new(endpoint, https);
    let (db, container) = scenarios::create_database_and_container(&client, &account);

    let started = Instant::now();
    let driver = client.driver.clone();
    let outcomes = client.rt.block_on(async move {
        let mut handles = Vec::with_capacity(TASKS);
        for i in 0..TASKS {
            let driver = driver.clone();
            let container = container.clone();
            handles.push(tokio::spawn(async move {
                let id = format!("item {i}");
                let pk = PartitionKey::from(format!("pk{}", i % 4));
                let doc = json!({"id": id, "pk": format!("pk{}", i % 4), "n": i});
                let create = CosmosOperation::create(container.clone())
                    .with_partition_key(pk.clone())
                    .with_body(doc.to_string());
                let created = driver.execute_operation(create, None).await?;
                let read = CosmosOperation::read(ItemReference::in_container(&container, &id))
                    .with_partition_key(pk);
                let read = driver.execute_operation(read, None).await?;
                Ok::<_, CosmosError>((i, created.status(), read))
            }));
        }
        let mut outcomes = Vec::with_capacity(TASKS);
        for h in handles {
            let joined = tokio::time::timeout(2 * OP_TIMEOUT, h)
                .await
                .expect("task finished in time");
            outcomes.push(joined.expect("task did not panic"));
        }
        outcomes
    });
    assert_eq!(outcomes.len(), TASKS);
    for outcome in outcomes {
        let (i, created, read) =
            outcome.unwrap_or_else(|e| panic!("an operation failed: {e} ({e:?})"));
        assert_eq!(created, 201, "create {i}");
        assert_eq!(read.status(), 200, "read {i}");
        let body: Value = read.json().expect("read body is JSON");
        assert_eq!(
            body["id"],
            json!(format!("item {i}")),
            "read {i} returns what was written"
        );
        assert_eq!(body["n"], json!(i), "read {i} returns what was written");
    }
    eprintln!(
        "{TASKS} concurrent create+read over {endpoint}: {:?}",
        started.elapsed()
    );

    let r = client
        .execute(
            CosmosOperation::delete_database(db),
            OperationOptions::new(),
        )
        .expect("delete database");
    assert_eq!(r.status(), 204);
}

#[test]
fn sixty_four_concurrent_operations_over_http() {
    concurrent(false);
}

#[test]
fn sixty_four_concurrent_operations_over_https() {
    concurrent(true);
}

#[test]
fn https_certificates_are_validated_by_default() {
    let server = TestServer::start();
    let (client, account) = TokioClient::new(server.https_endpoint(), false);
    let e = client
        .execute(
            CosmosOperation::list_databases(account),
            OperationOptions::new(),
        )
        .expect_err("the self-signed certificate must be rejected");
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    let t = e.transport_error().expect("a transport error");
    assert_eq!(t.kind, TransportErrorKind::Tls, "{t:?}");
    assert_eq!(t.request_sent, RequestSent::NotSent, "{t:?}");
    assert!(
        e.diagnostics()
            .requests()
            .iter()
            .all(|r| r.request_sent == RequestSent::NotSent),
        "every attempt failed before sending: {:?}",
        e.diagnostics().requests()
    );
}

#[test]
fn malformed_environment_value_fails_build_naming_the_variable() {
    let rt = tokio_runtime();
    let vars = BTreeMap::from([(ENV_CERT.to_string(), "maybe".to_string())]);
    let e = rt
        .block_on(CosmosDriverRuntime::builder().environment(vars).build())
        .expect_err("`maybe` is not a boolean");
    assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
    assert!(e.to_string().contains(ENV_CERT), "{e}");
    assert!(e.config_error().is_some(), "{e:?}");
}

#[test]
fn environment_enables_emulator_certificate_acceptance() {
    let server = TestServer::start();
    let rt = tokio_runtime();
    let account =
        AccountReference::with_master_key(server.https_endpoint(), EMULATOR_KEY).expect("account");
    let vars = BTreeMap::from([(ENV_CERT.to_string(), "true".to_string())]);
    let response = rt
        .block_on(async {
            let runtime = CosmosDriverRuntime::builder()
                .environment(vars)
                .driver_options(bounded_options())
                .build()
                .await?;
            assert!(
                runtime
                    .runtime_options()
                    .emulator_server_cert_validation_disabled
            );
            let driver = runtime.get_or_create_driver(account.clone(), None).await?;
            driver
                .execute_operation(CosmosOperation::list_databases(account), None)
                .await
        })
        .unwrap_or_else(|e| panic!("HTTPS with acceptance from the environment: {e} ({e:?})"));
    assert_eq!(response.status(), 200);
}

#[test]
fn refused_connection_is_not_sent_and_retried() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("local addr").port()
    };
    let (client, account) = TokioClient::new(&format!("http://127.0.0.1:{port}/"), false);
    let e = client
        .execute(
            CosmosOperation::list_databases(account),
            OperationOptions::new(),
        )
        .expect_err("nothing listens on the port");
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    let t = e.transport_error().expect("a transport error");
    assert_eq!(t.kind, TransportErrorKind::Connect, "{t:?}");
    assert_eq!(t.request_sent, RequestSent::NotSent, "{t:?}");
    let attempts = e.diagnostics().requests();
    assert!(
        attempts.len() > 1,
        "the core retries a request that was not sent: {attempts:?}"
    );
    assert!(
        attempts
            .iter()
            .all(|r| r.request_sent == RequestSent::NotSent),
        "{attempts:?}"
    );
}

#[test]
fn drivers_are_shared_per_account() {
    let server = TestServer::start();
    let rt = tokio_runtime();
    let account =
        AccountReference::with_master_key(server.http_endpoint(), EMULATOR_KEY).expect("account");
    rt.block_on(async {
        let runtime = CosmosDriverRuntime::builder()
            .environment(BTreeMap::new())
            .driver_options(bounded_options())
            .build()
            .await
            .expect("runtime");
        let a = runtime
            .get_or_create_driver(account.clone(), None)
            .await
            .expect("driver");
        let first = a
            .execute_operation(CosmosOperation::list_databases(account.clone()), None)
            .await
            .expect("first operation");
        // The second driver handle is the same driver: the account was read once already.
        let b = runtime
            .get_or_create_driver(account.clone(), None)
            .await
            .expect("driver");
        let second = b
            .execute_operation(CosmosOperation::list_databases(account), None)
            .await
            .expect("second operation");
        assert_eq!(
            first.diagnostics().requests().len(),
            2,
            "account read + operation"
        );
        assert_eq!(
            second.diagnostics().requests().len(),
            1,
            "warm driver: operation only"
        );
        let events: Vec<_> = second.diagnostics().requests()[0]
            .events
            .iter()
            .map(|e| e.kind)
            .collect();
        assert!(
            events.contains(&sextant_tokio::core::RequestEventKind::ResponseHeadersReceived),
            "headers event reported: {events:?}"
        );
    });
}

/// A token credential that counts its calls and answers after yielding to the runtime once.
#[derive(Debug, Default)]
struct CountingCredential {
    calls: AtomicUsize,
}

impl TokenCredential for CountingCredential {
    fn get_token<'a>(&'a self, scopes: &'a [String]) -> TokenFuture<'a> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            assert!(!scopes.is_empty(), "scopes are passed through");
            tokio::task::yield_now().await;
            Ok(AccessToken {
                token: "header.payload.signature".into(),
                expires_on: SystemTime::now() + Duration::from_secs(3600),
            })
        })
    }
}

/// `AcquireToken` is performed by the transport (the server does not check tokens).
#[test]
fn entra_id_tokens_are_acquired_by_the_transport() {
    let server = TestServer::start();
    let rt = tokio_runtime();
    let credential = Arc::new(CountingCredential::default());
    let account =
        AccountReference::with_token_credential(server.http_endpoint(), credential.clone())
            .expect("account");
    rt.block_on(async {
        let runtime = CosmosDriverRuntime::builder()
            .environment(BTreeMap::new())
            .driver_options(bounded_options())
            .build()
            .await
            .expect("runtime");
        let driver = runtime
            .get_or_create_driver(account.clone(), None)
            .await
            .expect("driver");
        for _ in 0..3 {
            let r = driver
                .execute_operation(CosmosOperation::list_databases(account.clone()), None)
                .await
                .unwrap_or_else(|e| panic!("list databases with a token: {e} ({e:?})"));
            assert_eq!(r.status(), 200);
        }
    });
    assert_eq!(
        credential.calls.load(Ordering::SeqCst),
        1,
        "one token serves every operation"
    );
}
