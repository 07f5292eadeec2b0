//! A server that sends the response head at once and then trickles the body one byte at a time
//! cannot extend an attempt past its deadline, on any transport: the per-attempt timeout covers
//! the whole exchange. (The body would take 30 s; the attempt timeout is 1 s; an unbounded
//! transport would return the body instead of a timeout.) The same deadline set by an
//! `AZURE_COSMOS_*` variable is in force on every transport, under an explicit option.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use sextant_core::models::AccountReference;
use sextant_core::{
    CosmosError, CosmosOperation, DriverOptions, ErrorKind, OperationOptions, RequestSent,
    TransportErrorKind,
};
use sextant_tests::server::EMULATOR_KEY;

/// Answers `GET /` (the account read) at once and trickles every other response's body.
struct Trickler {
    endpoint: String,
    stop: Arc<AtomicBool>,
}

impl Trickler {
    fn start() -> Trickler {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let endpoint = format!("http://127.0.0.1:{port}/");
        let account = format!(
            r#"{{"writableLocations":[{{"name":"Local","databaseAccountEndpoint":"{endpoint}"}}],"readableLocations":[{{"name":"Local","databaseAccountEndpoint":"{endpoint}"}}]}}"#
        );
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let account = account.clone();
                let stop3 = stop2.clone();
                thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    let mut request_line = String::new();
                    let _ = reader.read_line(&mut request_line);
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                    }
                    if request_line.starts_with("GET / ") {
                        let _ = write!(
                            conn,
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{account}",
                            account.len()
                        );
                        return;
                    }
                    let body = "{}".repeat(150); // 300 bytes at 10 bytes/s = 30 s
                    let _ = write!(
                        conn,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    for b in body.bytes() {
                        if stop3.load(Ordering::SeqCst) || conn.write_all(&[b]).is_err() {
                            return;
                        }
                        thread::sleep(Duration::from_millis(100));
                    }
                });
            }
        });
        Trickler { endpoint, stop }
    }
}

impl Drop for Trickler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(
            self.endpoint
                .trim_start_matches("http://")
                .trim_end_matches('/'),
        );
    }
}

fn options() -> DriverOptions {
    DriverOptions::builder()
        .request_timeout(Duration::from_secs(1))
        .max_failover_retries(0)
        .end_to_end_timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn assert_attempt_deadline(e: CosmosError, transport: &str) {
    // The attempt's own deadline ended it (headers had arrived, so it may have been applied),
    // long before the 20 s end-to-end bound or the 30 s body.
    let t = e
        .transport_error()
        .unwrap_or_else(|| panic!("{transport}: expected a transport timeout, got {e}"));
    assert_eq!(e.kind(), ErrorKind::Transport, "{transport}: {e}");
    assert_eq!(t.kind, TransportErrorKind::Timeout, "{transport}: {e}");
    assert_eq!(t.request_sent, RequestSent::Sent, "{transport}: {e}");
}

#[test]
fn a_trickled_body_cannot_extend_the_attempt_on_any_transport() {
    let server = Trickler::start();
    let account = AccountReference::with_master_key(&server.endpoint, EMULATOR_KEY).unwrap();
    let op = CosmosOperation::list_databases(account.clone());
    let env = BTreeMap::new();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let e = rt
        .block_on(async {
            sextant_tokio::CosmosDriverRuntime::builder()
                .environment(env.clone())
                .build()
                .await
                .unwrap()
                .get_or_create_driver(account.clone(), Some(options()))
                .await
                .unwrap()
                .execute_operation(op.clone(), Some(OperationOptions::new()))
                .await
        })
        .expect_err("tokio: the trickle must time out");
    assert_attempt_deadline(e, "tokio");

    let e = sextant_blocking::CosmosDriverRuntime::builder()
        .environment(env.clone())
        .build()
        .unwrap()
        .get_or_create_driver(account.clone(), Some(options()))
        .unwrap()
        .execute_operation(op.clone(), None)
        .expect_err("blocking: the trickle must time out");
    assert_attempt_deadline(e, "blocking");

    let e = smol::block_on(async {
        sextant_async_std::CosmosDriverRuntime::builder()
            .environment(env)
            .build()
            .await
            .unwrap()
            .get_or_create_driver(account.clone(), Some(options()))
            .await
            .unwrap()
            .execute_operation(op, None)
            .await
    })
    .expect_err("async-std: the trickle must time out");
    assert_attempt_deadline(e, "async-std");
}

#[test]
fn blocking_errors_name_the_request_and_the_phase() {
    // Nothing listens on this port: a refused connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    drop(listener);
    let account = AccountReference::with_master_key(&endpoint, EMULATOR_KEY).unwrap();
    let e = sextant_blocking::CosmosDriverRuntime::builder()
        .environment(BTreeMap::new())
        .build()
        .unwrap()
        .get_or_create_driver(account.clone(), Some(options()))
        .unwrap()
        .execute_operation(CosmosOperation::read_account(account), None)
        .expect_err("nothing listens");
    let t = e.transport_error().expect("a transport error");
    assert!(
        t.message.contains(&format!("GET {endpoint}")),
        "{}",
        t.message
    );
    assert!(t.message.contains("connecting"), "{}", t.message);
}

/// The environment map a transport's runtime reads (`AZURE_COSMOS_*`, official names where the
/// official Rust driver has one): an 800 ms attempt deadline, no failover retry, a 20 s bound.
fn env_with_attempt_deadline() -> BTreeMap<String, String> {
    use sextant_core::options::environment::{
        ENV_CONNECT_TIMEOUT_MS, ENV_END_TO_END_TIMEOUT_MS, ENV_MAX_FAILOVER_RETRY_COUNT,
        ENV_REQUEST_TIMEOUT_MS,
    };
    BTreeMap::from([
        (ENV_REQUEST_TIMEOUT_MS.to_string(), "800".to_string()),
        (ENV_MAX_FAILOVER_RETRY_COUNT.to_string(), "0".to_string()),
        (ENV_END_TO_END_TIMEOUT_MS.to_string(), "20000".to_string()),
        (ENV_CONNECT_TIMEOUT_MS.to_string(), "1500".to_string()),
    ])
}

fn assert_env_deadline(e: CosmosError, took: Duration, transport: &str) {
    assert_attempt_deadline(e, transport);
    // 800 ms from the environment, not the 6 s default.
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(4),
        "{transport}: the attempt took {took:?}"
    );
}

#[test]
fn an_attempt_deadline_from_the_environment_is_in_force_on_every_transport() {
    use std::time::Instant;
    let server = Trickler::start();
    let account = AccountReference::with_master_key(&server.endpoint, EMULATOR_KEY).unwrap();
    let op = CosmosOperation::list_databases(account.clone());
    let env = env_with_attempt_deadline();
    let pool_from_env = Duration::from_millis(1500);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (e, took) = rt.block_on(async {
        let runtime = sextant_tokio::CosmosDriverRuntime::builder()
            .environment(env.clone())
            .build()
            .await
            .unwrap();
        assert_eq!(
            runtime
                .runtime_options()
                .effective_connection_pool()
                .connect_timeout,
            pool_from_env
        );
        let driver = runtime
            .get_or_create_driver(account.clone(), None)
            .await
            .unwrap();
        let start = Instant::now();
        let e = driver
            .execute_operation(op.clone(), None)
            .await
            .expect_err("tokio: the trickle must time out");
        (e, start.elapsed())
    });
    assert_env_deadline(e, took, "tokio");

    let runtime = sextant_blocking::CosmosDriverRuntime::builder()
        .environment(env.clone())
        .build()
        .unwrap();
    assert_eq!(
        runtime
            .runtime_options()
            .effective_connection_pool()
            .connect_timeout,
        pool_from_env
    );
    let driver = runtime.get_or_create_driver(account.clone(), None).unwrap();
    let start = Instant::now();
    let e = driver
        .execute_operation(op.clone(), None)
        .expect_err("blocking: the trickle must time out");
    assert_env_deadline(e, start.elapsed(), "blocking");

    let (e, took) = smol::block_on(async {
        let runtime = sextant_async_std::CosmosDriverRuntime::builder()
            .environment(env.clone())
            .build()
            .await
            .unwrap();
        assert_eq!(
            runtime
                .runtime_options()
                .effective_connection_pool()
                .connect_timeout,
            pool_from_env
        );
        let driver = runtime
            .get_or_create_driver(account.clone(), None)
            .await
            .unwrap();
        let start = Instant::now();
        let e = driver
            .execute_operation(op.clone(), None)
            .await
            .expect_err("async-std: the trickle must time out");
        (e, start.elapsed())
    });
    assert_env_deadline(e, took, "async-std");

    // An explicit option beats the environment: the seed's `TimeoutOptions` on the runtime.
    let explicit = sextant_core::DriverOptions::builder()
        .timeout_options(
            sextant_core::TimeoutOptions::builder()
                .request_timeout(Duration::from_millis(2500))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let runtime = sextant_blocking::CosmosDriverRuntime::builder()
        .environment(env)
        .driver_options(explicit)
        .build()
        .unwrap();
    let driver = runtime.get_or_create_driver(account, None).unwrap();
    let start = Instant::now();
    let e = driver
        .execute_operation(op, None)
        .expect_err("blocking: the trickle must time out");
    let took = start.elapsed();
    assert_attempt_deadline(e, "blocking, explicit");
    assert!(
        took >= Duration::from_millis(2500),
        "the explicit 2.5 s deadline, not the environment's 800 ms: {took:?}"
    );
}
