//! Real-server and loopback tests of `sextant-async-std`, under async-std AND under smol.
//!
//! The transport depends on neither runtime (async-io sockets and timers), so every scenario is
//! run through a [`Exec`] that picks `async_std::task::block_on` or `smol::block_on`; the
//! 64-way concurrency tests use `async_std::task::spawn` and an `smol::Executor` respectively.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sextant_async_std::core::RequestEventKind;
use sextant_async_std::models::{
    AccountReference, ContainerReference, ItemReference, PartitionKey,
};
use sextant_async_std::{
    CosmosDriver, CosmosDriverRuntime, CosmosError, CosmosOperation, CosmosResponse, DriverOptions,
    ErrorKind, OperationOptions, RequestSent, TransportErrorKind,
};
use sextant_tests::scenarios::{self, Client};
use sextant_tests::server::{TestServer, EMULATOR_KEY};

const ENV_CERT: &str = "AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED";
/// Upper bound for any single block_on in these tests.
const BOUND: Duration = Duration::from_secs(120);

/// Which runtime drives the futures.
#[derive(Debug, Clone, Copy)]
enum Exec {
    AsyncStd,
    Smol,
}

impl Exec {
    /// Runs `f` to completion on this runtime, failing the test after [`BOUND`].
    fn block_on<T>(self, f: impl Future<Output = T>) -> T {
        let bounded = futures_lite::future::or(f, async {
            smol::Timer::after(BOUND).await;
            panic!("{self:?}: not finished within {BOUND:?}")
        });
        match self {
            Exec::AsyncStd => async_std::task::block_on(bounded),
            Exec::Smol => smol::block_on(bounded),
        }
    }
}

/// [`Client`] over one driver, blocking the test thread on the chosen runtime.
struct Adapter {
    exec: Exec,
    driver: CosmosDriver,
}

impl Client for Adapter {
    fn execute(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<CosmosResponse, CosmosError> {
        self.exec
            .block_on(self.driver.execute_operation(op, Some(opts)))
    }
}

/// A runtime isolated from the process environment.
fn runtime(exec: Exec, accept_emulator_cert: bool) -> CosmosDriverRuntime {
    exec.block_on(
        CosmosDriverRuntime::builder()
            .environment(BTreeMap::new())
            .emulator_server_cert_validation_disabled(accept_emulator_cert)
            .build(),
    )
    .unwrap()
}

fn adapter(exec: Exec, runtime: &CosmosDriverRuntime, account: &AccountReference) -> Adapter {
    let driver = exec
        .block_on(runtime.get_or_create_driver(account.clone(), None))
        .unwrap();
    Adapter { exec, driver }
}

/// Options for tests whose account read fails on every attempt: a failed account read keeps its
/// metadata lease until the lease expires (the metadata timeout, 10 s by default), which spaces
/// the core's retries that far apart; a short metadata timeout keeps these tests fast.
fn failing_driver(
    exec: Exec,
    runtime: &CosmosDriverRuntime,
    account: &AccountReference,
) -> CosmosDriver {
    let options = DriverOptions::builder()
        .metadata_request_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    exec.block_on(runtime.get_or_create_driver(account.clone(), Some(options)))
        .unwrap()
}

fn crud(exec: Exec, https: bool) {
    let server = TestServer::start();
    let endpoint = if https {
        server.https_endpoint()
    } else {
        server.http_endpoint()
    };
    let account = AccountReference::with_master_key(endpoint, EMULATOR_KEY).unwrap();
    let rt = runtime(exec, https);
    let client = adapter(exec, &rt, &account);
    scenarios::crud_suite(&client, &account);
    // Sequential operations share one keep-alive connection.
    assert_eq!(
        rt.idle_connections(),
        1,
        "one pooled connection after a sequential suite"
    );
}

#[test]
fn crud_http_async_std() {
    crud(Exec::AsyncStd, false);
}

#[test]
fn crud_https_async_std() {
    crud(Exec::AsyncStd, true);
}

#[test]
fn crud_http_smol() {
    crud(Exec::Smol, false);
}

#[test]
fn crud_https_smol() {
    crud(Exec::Smol, true);
}

const CONCURRENCY: usize = 64;

/// Creates then reads back item `i` in `container`; returns what the read saw.
async fn create_and_read(
    driver: CosmosDriver,
    container: ContainerReference,
    i: usize,
) -> (usize, Value) {
    let id = format!("item {i}");
    let pk = format!("pk-{}", i % 7);
    let doc = json!({ "id": id, "pk": pk, "n": i });
    let create = CosmosOperation::create(container.clone())
        .with_partition_key(PartitionKey::from(pk.as_str()))
        .with_body(doc.to_string());
    let created = driver.execute_operation(create, None).await;
    let created = created.unwrap_or_else(|e| panic!("create {i}: {e}"));
    assert_eq!(created.status(), 201, "create {i}");
    let read = CosmosOperation::read(ItemReference::in_container(&container, &id))
        .with_partition_key(PartitionKey::from(pk.as_str()));
    let read = driver.execute_operation(read, None).await;
    let read = read.unwrap_or_else(|e| panic!("read {i}: {e}"));
    assert_eq!(read.status(), 200, "read {i}");
    (i, read.json::<Value>().unwrap())
}

fn concurrent(exec: Exec, https: bool) {
    let server = TestServer::start();
    let endpoint = if https {
        server.https_endpoint()
    } else {
        server.http_endpoint()
    };
    let account = AccountReference::with_master_key(endpoint, EMULATOR_KEY).unwrap();
    let rt = runtime(exec, https);
    let client = adapter(exec, &rt, &account);
    let (_db, container) = scenarios::create_database_and_container(&client, &account);
    let driver = client.driver.clone();

    let started = Instant::now();
    let results: Vec<(usize, Value)> = match exec {
        // async-std's global multi-threaded executor.
        Exec::AsyncStd => exec.block_on(async {
            let handles: Vec<_> = (0..CONCURRENCY)
                .map(|i| {
                    async_std::task::spawn(create_and_read(driver.clone(), container.clone(), i))
                })
                .collect();
            let mut out = Vec::new();
            for h in handles {
                out.push(h.await);
            }
            out
        }),
        // An smol executor driven by smol::block_on on this thread.
        Exec::Smol => {
            let ex = smol::Executor::new();
            exec.block_on(ex.run(async {
                let tasks: Vec<_> = (0..CONCURRENCY)
                    .map(|i| ex.spawn(create_and_read(driver.clone(), container.clone(), i)))
                    .collect();
                let mut out = Vec::new();
                for t in tasks {
                    out.push(t.await);
                }
                out
            }))
        }
    };
    eprintln!(
        "{exec:?} https={https}: {CONCURRENCY} create+read pairs in {:?}",
        started.elapsed()
    );

    assert_eq!(results.len(), CONCURRENCY);
    for (i, doc) in results {
        assert_eq!(doc["id"], json!(format!("item {i}")));
        assert_eq!(doc["n"], json!(i), "item {i} reads back what was written");
    }
    let idle = rt.idle_connections();
    assert!(
        (1..=10).contains(&idle),
        "idle connections bounded by the default 10 per host, got {idle}"
    );
}

#[test]
fn concurrent_64_http_async_std() {
    concurrent(Exec::AsyncStd, false);
}

#[test]
fn concurrent_64_http_smol() {
    concurrent(Exec::Smol, false);
}

#[test]
fn concurrent_64_https_async_std() {
    concurrent(Exec::AsyncStd, true);
}

fn read_account(exec: Exec, driver: &CosmosDriver) -> Result<CosmosResponse, CosmosError> {
    exec.block_on(driver.execute_operation(
        CosmosOperation::read_account(driver.account().clone()),
        None,
    ))
}

#[test]
fn https_certificates_are_validated_by_default() {
    let server = TestServer::start();
    let account = AccountReference::with_master_key(server.https_endpoint(), EMULATOR_KEY).unwrap();
    for exec in [Exec::AsyncStd, Exec::Smol] {
        let rt = runtime(exec, false);
        let driver = failing_driver(exec, &rt, &account);
        let e =
            read_account(exec, &driver).expect_err("a self-signed certificate must be rejected");
        assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
        let t = e.transport_error().unwrap();
        assert_eq!(t.kind, TransportErrorKind::Tls, "{e}");
        assert_eq!(t.request_sent, RequestSent::NotSent, "{e}");
        assert!(e
            .diagnostics()
            .requests()
            .iter()
            .all(|r| r.request_sent == RequestSent::NotSent));
    }
}

#[test]
fn malformed_environment_value_fails_the_build() {
    for exec in [Exec::AsyncStd, Exec::Smol] {
        let env = BTreeMap::from([(ENV_CERT.to_string(), "maybe".to_string())]);
        let e = exec
            .block_on(CosmosDriverRuntime::builder().environment(env).build())
            .expect_err("`maybe` is not a boolean");
        assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
        assert!(
            e.to_string().contains(ENV_CERT),
            "the error names the variable: {e}"
        );
    }
}

#[test]
fn environment_enables_emulator_certificate_acceptance() {
    let server = TestServer::start();
    let account = AccountReference::with_master_key(server.https_endpoint(), EMULATOR_KEY).unwrap();
    let env = BTreeMap::from([(ENV_CERT.to_string(), "true".to_string())]);
    let exec = Exec::Smol;
    let rt = exec
        .block_on(CosmosDriverRuntime::builder().environment(env).build())
        .unwrap();
    assert!(
        rt.runtime_options()
            .emulator_server_cert_validation_disabled
    );
    let client = adapter(exec, &rt, &account);
    let r = read_account(exec, &client.driver).unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn refused_connection_is_not_sent_and_retried() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let account =
        AccountReference::with_master_key(&format!("http://127.0.0.1:{port}/"), EMULATOR_KEY)
            .unwrap();
    for exec in [Exec::AsyncStd, Exec::Smol] {
        let rt = runtime(exec, false);
        let driver = failing_driver(exec, &rt, &account);
        let e = read_account(exec, &driver).expect_err("nothing listens on the port");
        assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
        let t = e.transport_error().unwrap();
        assert_eq!(
            (t.kind, t.request_sent),
            (TransportErrorKind::Connect, RequestSent::NotSent),
            "{e}"
        );
        for r in e.diagnostics().requests() {
            eprintln!(
                "{:?} {:?} {:?} {:?} {:?}",
                r.purpose, r.execution_context, r.started_at, r.duration, r.error
            );
        }
        assert!(
            e.diagnostics().requests().len() > 1,
            "the core retried a request that was not sent: {e:?}"
        );
    }
}

#[test]
fn events_report_headers_between_start_and_completion() {
    let server = TestServer::start();
    let account = AccountReference::with_master_key(server.http_endpoint(), EMULATOR_KEY).unwrap();
    let exec = Exec::AsyncStd;
    let rt = runtime(exec, false);
    let client = adapter(exec, &rt, &account);
    let r = read_account(exec, &client.driver).unwrap();
    for attempt in r.diagnostics().requests() {
        let kinds: Vec<_> = attempt.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                RequestEventKind::TransportStart,
                RequestEventKind::ResponseHeadersReceived,
                RequestEventKind::TransportComplete
            ],
            "{attempt:?}"
        );
        assert_eq!(attempt.request_sent, RequestSent::Sent);
    }
}

/// A loopback HTTP/1.1 server for failure paths the real server cannot produce. Every request
/// gets `200 {}` plus `body_padding` bytes (or no answer at all when `silent`).
struct FakeServer {
    port: u16,
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    accept_thread: Option<thread::JoinHandle<()>>,
}

impl FakeServer {
    fn start(silent: bool, body_padding: usize) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (s, c, r, o) = (
            stop.clone(),
            connections.clone(),
            requests.clone(),
            open.clone(),
        );
        let accept_thread = thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                c.fetch_add(1, Ordering::SeqCst);
                o.lock().unwrap().push(stream.try_clone().unwrap());
                let r = r.clone();
                thread::spawn(move || serve(stream, silent, body_padding, &r));
            }
        });
        FakeServer {
            port,
            stop,
            connections,
            requests,
            open,
            accept_thread: Some(accept_thread),
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Closes every connection from the server side (the client sees EOF on idle ones).
    fn close_connections(&self) {
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.close_connections();
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers requests on one connection until EOF (bounded by a read timeout).
fn serve(mut stream: TcpStream, silent: bool, padding: usize, requests: &AtomicUsize) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // Read one request head and its body.
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + len);
        requests.fetch_add(1, Ordering::SeqCst);
        if silent {
            continue;
        }
        let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(padding));
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn a_pooled_connection_closed_by_the_server_is_replaced_transparently() {
    let fake = FakeServer::start(false, 0);
    let account = AccountReference::with_master_key(&fake.endpoint(), EMULATOR_KEY).unwrap();
    for exec in [Exec::AsyncStd, Exec::Smol] {
        let rt = runtime(exec, false);
        let client = adapter(exec, &rt, &account);
        read_account(exec, &client.driver).unwrap();
        assert_eq!(rt.idle_connections(), 1);
        let before = fake.connections.load(Ordering::SeqCst);
        fake.close_connections();
        let r = read_account(exec, &client.driver).unwrap();
        let attempts = r.diagnostics().requests();
        assert_eq!(
            attempts.len(),
            1,
            "no failed attempt for a stale pooled connection: {attempts:?}"
        );
        assert_eq!(
            fake.connections.load(Ordering::SeqCst),
            before + 1,
            "a new connection was opened"
        );
        assert_eq!(
            rt.idle_connections(),
            1,
            "the dead connection left the pool"
        );
    }
}

#[test]
fn an_unanswered_request_times_out_as_unknown() {
    let fake = FakeServer::start(true, 0);
    let account = AccountReference::with_master_key(&fake.endpoint(), EMULATOR_KEY).unwrap();
    let options = DriverOptions::builder()
        .metadata_request_timeout(Duration::from_millis(300))
        .request_timeout(Duration::from_millis(300))
        .max_failover_retries(1)
        .build()
        .unwrap();
    let exec = Exec::Smol;
    let rt = runtime(exec, false);
    let driver = exec
        .block_on(rt.get_or_create_driver(account, Some(options)))
        .unwrap();
    // The server never answers: that the call returns at all, with a timeout, is the proof
    // that the deadline was enforced.
    let e = read_account(exec, &driver).expect_err("the server never answers");
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    let t = e.transport_error().unwrap();
    assert_eq!(
        (t.kind, t.request_sent),
        (TransportErrorKind::Timeout, RequestSent::Unknown),
        "{e}"
    );
    assert!(
        fake.requests.load(Ordering::SeqCst) >= 1,
        "the request reached the server"
    );
    assert_eq!(
        rt.idle_connections(),
        0,
        "a timed-out connection is never pooled"
    );
}

#[test]
fn an_oversized_response_is_rejected_as_sent() {
    let fake = FakeServer::start(false, 200 * 1024);
    let account = AccountReference::with_master_key(&fake.endpoint(), EMULATOR_KEY).unwrap();
    let options = DriverOptions::builder()
        .max_response_bytes(64 * 1024)
        .build()
        .unwrap();
    let exec = Exec::AsyncStd;
    let rt = runtime(exec, false);
    let driver = exec
        .block_on(rt.get_or_create_driver(account, Some(options)))
        .unwrap();
    let e = read_account(exec, &driver).expect_err("the body is over the limit");
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    let t = e.transport_error().unwrap();
    assert_eq!(
        (t.kind, t.request_sent),
        (TransportErrorKind::ResponseTooLarge, RequestSent::Sent),
        "{e}"
    );
}

#[test]
fn connect_timeout_option_is_validated() {
    let pool = sextant_async_std::ConnectionPoolOptions {
        connect_timeout: Duration::ZERO,
        ..Default::default()
    };
    let e = Exec::Smol
        .block_on(
            CosmosDriverRuntime::builder()
                .environment(BTreeMap::new())
                .connection_pool_options(pool)
                .build(),
        )
        .expect_err("a zero connect timeout is invalid");
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert!(e.to_string().contains("connect_timeout"), "{e}");
}

#[test]
fn dropping_an_operation_cancels_it_and_frees_the_account_read() {
    let fake = FakeServer::start(true, 0);
    let account = AccountReference::with_master_key(&fake.endpoint(), EMULATOR_KEY).unwrap();
    let exec = Exec::AsyncStd;
    let rt = runtime(exec, false);
    // Default options: the account read holds its lease for the 10 s metadata timeout.
    let client = adapter(exec, &rt, &account);
    let op = || CosmosOperation::read_account(account.clone());
    let dropped = exec.block_on(futures_lite::future::or(
        async { Some(client.driver.execute_operation(op(), None).await) },
        async {
            smol::Timer::after(Duration::from_millis(300)).await;
            None
        },
    ));
    assert!(dropped.is_none(), "the silent server cannot answer");
    assert_eq!(fake.requests.load(Ordering::SeqCst), 1);
    // The dropped execution was cancelled, releasing its lease: the next operation reads the
    // account at once instead of waiting for the lease to expire.
    exec.block_on(futures_lite::future::or(
        async {
            let _ = client.driver.execute_operation(op(), None).await;
        },
        async {
            smol::Timer::after(Duration::from_secs(3)).await;
        },
    ));
    // With a lease left behind, nothing would be sent for 10 s; the account read (and, as
    // metadata timeouts escalate from 0.5 s, its retries) went out at once.
    assert!(
        fake.requests.load(Ordering::SeqCst) >= 2,
        "a new account read was sent at once"
    );
}
