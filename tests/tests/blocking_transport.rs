//! `sextant-blocking` against the local Cosmos DB test server (HTTP and HTTPS) and against
//! loopback sockets that misbehave on purpose. Every wait is bounded by a deadline or timeout.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use sextant_blocking::core::credential::TokenFuture;
use sextant_blocking::core::options::HedgingOptions;
use sextant_blocking::core::{Driver, ExecutionContext};
use sextant_blocking::models::{AccountReference, ContainerReference, ItemReference, PartitionKey};
use sextant_blocking::{
    AccessToken, ConfigError, CosmosDriver, CosmosDriverRuntime, CosmosError, CosmosOperation,
    CosmosResponse, DriverOptions, ErrorKind, OperationOptions, RequestSent, TokenCredential,
    TransportErrorKind,
};
use sextant_tests::scenarios::{self, Client};
use sextant_tests::server::{TestServer, EMULATOR_KEY};

const ENV_CERT: &str = "AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED";
/// Threads sharing one driver in the concurrency test, and items each of them writes.
const THREADS: usize = 8;
const ITEMS_PER_THREAD: usize = 8;

/// The transport as the shared scenarios see it.
struct Blocking(CosmosDriver);

impl Client for Blocking {
    fn execute(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<CosmosResponse, CosmosError> {
        self.0.execute_operation(op, Some(opts))
    }
}

/// A runtime isolated from the process environment.
fn runtime(accept_emulator_cert: bool) -> CosmosDriverRuntime {
    CosmosDriverRuntime::builder()
        .environment(BTreeMap::new())
        .emulator_server_cert_validation_disabled(accept_emulator_cert)
        .build()
        .expect("runtime builds")
}

fn driver(endpoint: &str, accept_emulator_cert: bool) -> (CosmosDriver, AccountReference) {
    let account = AccountReference::with_master_key(endpoint, EMULATOR_KEY).expect("account");
    let driver = runtime(accept_emulator_cert)
        .get_or_create_driver(account.clone(), None)
        .expect("driver");
    (driver, account)
}

#[test]
fn driver_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<CosmosDriver>();
    check::<CosmosDriverRuntime>();
}

#[test]
fn crud_suite_http() {
    let server = TestServer::start();
    let (driver, account) = driver(server.http_endpoint(), false);
    let started = Instant::now();
    scenarios::crud_suite(&Blocking(driver), &account);
    eprintln!("crud suite over HTTP: {:?}", started.elapsed());
}

#[test]
fn crud_suite_https() {
    let server = TestServer::start();
    let (driver, account) = driver(server.https_endpoint(), true);
    let started = Instant::now();
    scenarios::crud_suite(&Blocking(driver), &account);
    eprintln!("crud suite over HTTPS: {:?}", started.elapsed());
}

/// Eight threads share one driver; each writes its own items and reads every one back.
fn concurrency(endpoint: &str, accept_emulator_cert: bool) {
    let (driver, account) = driver(endpoint, accept_emulator_cert);
    let client = Blocking(driver.clone());
    let (db, container) = scenarios::create_database_and_container(&client, &account);
    let started = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let driver = driver.clone();
                let container = container.clone();
                s.spawn(move || write_and_read_back(&driver, &container, t))
            })
            .collect();
        for h in handles {
            h.join().expect("worker thread panicked");
        }
    });
    eprintln!(
        "{} creates + {} reads on {THREADS} threads ({endpoint}): {:?}",
        THREADS * ITEMS_PER_THREAD,
        THREADS * ITEMS_PER_THREAD,
        started.elapsed()
    );
    let deleted = driver
        .execute_operation(CosmosOperation::delete_database(db), None)
        .expect("delete database");
    assert_eq!(deleted.status(), 204);
}

fn write_and_read_back(driver: &CosmosDriver, container: &ContainerReference, thread: usize) {
    for i in 0..ITEMS_PER_THREAD {
        let id = format!("t{thread} item {i}");
        let pk = format!("pk-{thread}");
        let doc = json!({"id": id, "pk": pk, "thread": thread, "i": i});
        let created = driver
            .execute_operation(
                CosmosOperation::create(container.clone())
                    .with_partition_key(PartitionKey::from(pk.as_str()))
                    .with_body(doc.to_string()),
                None,
            )
            .unwrap_or_else(|e| panic!("create {id}: {e}"));
        assert_eq!(created.status(), 201, "create {id}");
        let item = ItemReference::in_container(container, &id);
        let read = driver
            .execute_operation(
                CosmosOperation::read(item).with_partition_key(PartitionKey::from(pk.as_str())),
                None,
            )
            .unwrap_or_else(|e| panic!("read {id}: {e}"));
        assert_eq!(read.status(), 200, "read {id}");
        let body: serde_json::Value = read.json().expect("item JSON");
        for key in ["id", "pk", "thread", "i"] {
            assert_eq!(body[key], doc[key], "{key} of {id} reads back as written");
        }
    }
}

#[test]
fn concurrent_threads_share_one_driver_http() {
    let server = TestServer::start();
    concurrency(server.http_endpoint(), false);
}

#[test]
fn concurrent_threads_share_one_driver_https() {
    let server = TestServer::start();
    concurrency(server.https_endpoint(), true);
}

#[test]
fn https_validates_certificates_by_default() {
    let server = TestServer::start();
    let (driver, account) = driver(server.https_endpoint(), false);
    let e = driver
        .execute_operation(CosmosOperation::read_account(account), None)
        .expect_err("the self-signed certificate must be rejected");
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    let t = e.transport_error().expect("transport detail");
    assert_eq!(t.kind, TransportErrorKind::Tls, "{e}");
    assert_eq!(t.request_sent, RequestSent::NotSent, "{e}");
}

#[test]
fn malformed_environment_value_is_a_configuration_error() {
    let env = BTreeMap::from([(ENV_CERT.to_string(), "maybe".to_string())]);
    let e = CosmosDriverRuntime::builder()
        .environment(env)
        .build()
        .expect_err("`maybe` is not a boolean");
    assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
    assert!(
        e.to_string().contains(ENV_CERT),
        "the error names the variable: {e}"
    );
    assert!(
        matches!(e.config_error(), Some(ConfigError::InvalidSetting { name, .. }) if name == ENV_CERT),
        "{e:?}"
    );
}

#[test]
fn environment_enables_emulator_certificate_acceptance() {
    let server = TestServer::start();
    let env = BTreeMap::from([(ENV_CERT.to_string(), "true".to_string())]);
    let runtime = CosmosDriverRuntime::builder()
        .environment(env)
        .build()
        .expect("runtime builds");
    assert!(
        runtime
            .runtime_options()
            .emulator_server_cert_validation_disabled
    );
    let account =
        AccountReference::with_master_key(server.https_endpoint(), EMULATOR_KEY).expect("account");
    let driver = runtime
        .get_or_create_driver(account.clone(), None)
        .expect("driver");
    let r = driver
        .execute_operation(CosmosOperation::read_account(account), None)
        .expect("the emulator certificate is accepted");
    assert_eq!(r.status(), 200);
}

#[test]
fn get_or_create_driver_returns_the_same_driver_per_account() {
    let runtime = runtime(false);
    let account =
        AccountReference::with_master_key("http://127.0.0.1:1/", EMULATOR_KEY).expect("account");
    let a = runtime
        .get_or_create_driver(account.clone(), None)
        .expect("driver");
    let b = runtime.get_or_create_driver(account, None).expect("driver");
    // The same `SharedDriver`: the same core driver behind the same mutex. (Each guard is
    // dropped before the next lock.)
    let address = |d: &CosmosDriver| {
        let guard = d.core().lock();
        &*guard as *const Driver
    };
    assert_eq!(address(&a), address(&b));
    let other =
        AccountReference::with_master_key("http://127.0.0.1:2/", EMULATOR_KEY).expect("account");
    let c = runtime.get_or_create_driver(other, None).expect("driver");
    assert_ne!(address(&a), address(&c));
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

#[test]
fn refused_connection_is_not_sent_and_retried() {
    let endpoint = format!("http://127.0.0.1:{}/", closed_port());
    let (driver, account) = driver(&endpoint, false);
    let started = Instant::now();
    let e = driver
        .execute_operation(CosmosOperation::read_account(account), None)
        .expect_err("nothing listens there");
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    let t = e.transport_error().expect("transport detail");
    assert_eq!(t.kind, TransportErrorKind::Connect, "{e}");
    assert_eq!(t.request_sent, RequestSent::NotSent, "{e}");
    let attempts = e.diagnostics().requests().len();
    assert!(
        attempts > 1,
        "a not-sent failure is retried; attempts: {attempts}"
    );
    eprintln!("{attempts} refused attempts in {:?}", started.elapsed());
}

#[test]
fn silent_server_times_out_per_attempt_as_unknown() {
    // Accepts connections (the kernel completes the handshake) but never answers.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().expect("addr").port()
    );
    let account = AccountReference::with_master_key(&endpoint, EMULATOR_KEY).expect("account");
    let attempt_timeout = Duration::from_millis(300);
    let options = DriverOptions::builder()
        .metadata_request_timeout(attempt_timeout)
        .request_timeout(attempt_timeout)
        .build()
        .expect("options");
    let driver = runtime(false)
        .get_or_create_driver(account.clone(), Some(options))
        .expect("driver");
    let started = Instant::now();
    let e = driver
        .execute_operation(CosmosOperation::read_account(account), None)
        .expect_err("the server never answers");
    let elapsed = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    let t = e.transport_error().expect("transport detail");
    assert_eq!(t.kind, TransportErrorKind::Timeout, "{e}");
    assert_eq!(t.request_sent, RequestSent::Unknown, "{e}");
    let attempts = e.diagnostics().requests().len() as u32;
    assert!(attempts >= 1);
    // Each attempt lasted at least its deadline (a timeout cannot fire early); how much longer
    // depends on the machine's load and is a benchmark's business, not this test's.
    assert!(
        elapsed >= attempt_timeout * attempts,
        "each of {attempts} attempts lasted its deadline: {elapsed:?}"
    );
    drop(listener);
}

#[test]
fn end_to_end_timeout_bounds_the_call() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().expect("addr").port()
    );
    let (driver, account) = driver(&endpoint, false);
    let budget = Duration::from_millis(400);
    let started = Instant::now();
    let e = driver
        .execute_operation(
            CosmosOperation::read_account(account),
            Some(OperationOptions::new().with_end_to_end_timeout(budget)),
        )
        .expect_err("the server never answers");
    let elapsed = started.elapsed();
    // Which error wins is decided by the core: the attempt's deadline is the operation's, and
    // the transport's timeout for it arrives at the same instant as the core's own timer.
    match e.kind() {
        ErrorKind::Timeout => {}
        ErrorKind::Transport => assert_eq!(
            e.transport_error().map(|t| t.kind),
            Some(TransportErrorKind::Timeout),
            "{e}"
        ),
        other => panic!("expected a timeout, got {other:?}: {e}"),
    }
    // The call lasted its budget (a timeout cannot fire early) and returned with a timeout:
    // the bound is proven by the error, not by a wall-clock upper limit.
    assert!(elapsed >= budget, "{elapsed:?}");
    drop(listener);
}

/// Hands out tokens that are already inside the core's refresh window (5 min before expiry), so
/// every operation after the first triggers a background refresh. Counts its calls; every
/// refresh (call 2 on) is held until the test opens `gate` once for it, so a refresh provably
/// outlasts the operation that started it.
#[derive(Debug)]
struct ShortLivedTokens {
    calls: std::sync::atomic::AtomicU32,
    gate: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
    issued: std::sync::Mutex<std::sync::mpsc::Sender<u32>>,
}

impl TokenCredential for ShortLivedTokens {
    fn get_token<'a>(&'a self, _scopes: &'a [String]) -> TokenFuture<'a> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            if n > 1 {
                // A slow identity endpoint (the blocking transport polls this on its own
                // thread). Bounded, so a broken test cannot hang the suite.
                let gate = self.gate.lock().expect("lock");
                let _ = gate.recv_timeout(Duration::from_secs(30));
            }
            let _ = self.issued.lock().expect("lock").send(n);
            Ok(AccessToken {
                token: format!("token-{n}"),
                expires_on: SystemTime::now() + Duration::from_secs(240),
            })
        })
    }
}

#[test]
fn entra_id_tokens_are_acquired_and_refreshed_in_the_background() {
    let server = TestServer::start();
    let (issued_tx, issued) = std::sync::mpsc::channel();
    let (open_gate, gate) = std::sync::mpsc::channel();
    let credential = Arc::new(ShortLivedTokens {
        calls: Default::default(),
        gate: std::sync::Mutex::new(gate),
        issued: std::sync::Mutex::new(issued_tx),
    });
    let account =
        AccountReference::with_token_credential(server.http_endpoint(), credential.clone())
            .expect("account");
    let driver = runtime(false)
        .get_or_create_driver(account.clone(), None)
        .expect("driver");
    let read = || {
        driver
            .execute_operation(CosmosOperation::read_account(account.clone()), None)
            .expect("read account")
    };
    let calls = || credential.calls.load(std::sync::atomic::Ordering::SeqCst);

    // First operation: no token yet, so it waits for one.
    read();
    assert_eq!(issued.recv_timeout(Duration::from_secs(5)), Ok(1));

    // Second: the token is valid but due for refresh; the refresh runs in the background and
    // the operation does not wait for it: it returns while the refresh is still held at the
    // gate (had it waited, it could only have returned after the gate's 30 s bound).
    read();
    assert_eq!(calls(), 2);
    assert_eq!(
        issued.try_recv(),
        Err(std::sync::mpsc::TryRecvError::Empty),
        "the operation waited for the background refresh"
    );

    // The refreshed token outlives the operation that asked for it: it is handed to the driver
    // when it arrives, which releases the refresh lease; the next operation starts a new refresh.
    open_gate.send(()).expect("gate");
    assert_eq!(issued.recv_timeout(Duration::from_secs(5)), Ok(2));
    // Later refreshes pass the gate at once.
    for _ in 0..8 {
        let _ = open_gate.send(());
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while calls() < 3 && Instant::now() < deadline {
        read();
    }
    assert_eq!(
        calls(),
        3,
        "a refresh finishing after its operation must reach the driver"
    );
}

/// A loopback stand-in for one region of an account, answering by request path: the account
/// (`/`), the container `db/c` (partition key `/pk`, one range) and the item `x`. With `item`
/// `None` it accepts the item read and never answers. Stops (and releases held reads) on drop.
struct FakeRegion {
    endpoint: String,
    addr: std::net::SocketAddr,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

/// How long a held connection waits for its client to give up; bounds every peer thread.
const HOLD: Duration = Duration::from_secs(10);

impl FakeRegion {
    fn start(account: Option<String>, item: Option<&'static str>) -> FakeRegion {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { return };
                let account = account.clone();
                std::thread::spawn(move || serve(stream, account.as_deref(), item));
            }
        });
        FakeRegion {
            endpoint: format!("http://{addr}/"),
            addr,
            stop,
        }
    }
}

impl Drop for FakeRegion {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = std::net::TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// Serves requests on one keep-alive connection until the client closes it.
fn serve(mut stream: std::net::TcpStream, account: Option<&str>, item: Option<&str>) {
    use std::io::{Read, Write};
    let _ = stream.set_read_timeout(Some(HOLD));
    loop {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        let head = String::from_utf8_lossy(&head);
        let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
        let body = match path.as_str() {
            "/" => account.map(str::to_owned),
            "/dbs/db/colls/c" => {
                Some(r#"{"id":"c","partitionKey":{"paths":["/pk"],"kind":"Hash"}}"#.to_owned())
            }
            p if p.ends_with("/pkranges") => Some(
                r#"{"PartitionKeyRanges":[{"id":"0","minInclusive":"","maxExclusive":"FF"}]}"#
                    .to_owned(),
            ),
            "/dbs/db/colls/c/docs/x" => match item {
                Some(item) => Some(item.to_owned()),
                // Hold: wait (bounded) for the client to hang up.
                None => {
                    let _ = stream.read(&mut byte);
                    return;
                }
            },
            _ => None,
        };
        let (status, body) = match body {
            Some(b) => ("200 OK", b),
            None => ("404 Not Found", r#"{"code":"NotFound"}"#.to_owned()),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nx-ms-request-charge: 1\r\n\
             etag: \"1\"\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn a_slow_region_is_hedged_to_the_next_one() {
    // Region A answers metadata but never the item read; region B answers it.
    let region_a = FakeRegion::start(None, None);
    let region_b = FakeRegion::start(None, Some(r#"{"id":"x","pk":"p","from":"b"}"#));
    let account_json = json!({
        "writableLocations": [{"name": "A", "databaseAccountEndpoint": region_a.endpoint}],
        "readableLocations": [
            {"name": "A", "databaseAccountEndpoint": region_a.endpoint},
            {"name": "B", "databaseAccountEndpoint": region_b.endpoint}
        ],
        "userConsistencyPolicy": {"defaultConsistencyLevel": "Session"}
    })
    .to_string();
    let gateway = FakeRegion::start(Some(account_json), None);

    let threshold = Duration::from_millis(100);
    let options = DriverOptions::builder()
        .hedging(HedgingOptions {
            threshold,
            ..HedgingOptions::default()
        })
        .build()
        .expect("options");
    let account =
        AccountReference::with_master_key(&gateway.endpoint, EMULATOR_KEY).expect("account");
    let driver = runtime(false)
        .get_or_create_driver(account.clone(), Some(options))
        .expect("driver");
    let item = ItemReference::from_name(account, "db", "c", "x");
    let started = Instant::now();
    let r = driver
        .execute_operation(
            CosmosOperation::read(item).with_partition_key(PartitionKey::from("p")),
            None,
        )
        .unwrap_or_else(|e| {
            panic!(
                "the hedge to region B answers: {e}\n{:#?}",
                e.diagnostics().requests()
            )
        });
    let elapsed = started.elapsed();
    assert_eq!(r.json::<serde_json::Value>().expect("json")["from"], "b");
    // The hedge is sent only after the threshold (a lower bound cannot flake). That the
    // operation did not wait for region A is proven by A's attempt being aborted, not by a
    // wall-clock bound.
    assert!(elapsed >= threshold, "{elapsed:?}");
    let a_attempts: Vec<_> = r
        .diagnostics()
        .requests()
        .iter()
        .filter(|a| &*a.region == "A" && !a.is_metadata())
        .collect();
    assert!(
        !a_attempts.is_empty()
            && a_attempts
                .iter()
                .all(|a| a.error.as_deref() == Some("aborted")),
        "region A's read was dropped, not waited for: {a_attempts:#?}"
    );
    let regions: Vec<(String, ExecutionContext)> = r
        .diagnostics()
        .requests()
        .iter()
        .map(|a| (a.region.to_string(), a.execution_context))
        .collect();
    assert!(
        regions.contains(&("B".to_string(), ExecutionContext::Hedging)),
        "{regions:?}"
    );
}
