//! The fault proxy itself, driven by a raw `std::net::TcpStream` HTTP/1.1 client against the
//! local test server: account rewriting, forwarding over keep-alive, every fault, and a clean
//! shutdown on drop. Every socket operation is bounded by a timeout.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sextant_tests::fault_proxy::{Fault, FaultProxy, FaultRule, Scope, GLOBAL};
use sextant_tests::server::TestServer;

const REGIONS: [&str; 3] = ["West", "East", "North"];
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The drop test counts the process's proxy threads, so these tests run one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
}

/// A minimal keep-alive HTTP/1.1 client.
struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

fn addr(endpoint: &str) -> String {
    endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

impl Raw {
    fn connect(endpoint: &str) -> io::Result<Raw> {
        let stream = TcpStream::connect(addr(endpoint))?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(Raw {
            stream,
            buf: Vec::new(),
        })
    }

    fn send(&mut self, method: &str, path: &str, body: Option<&Value>) -> io::Result<()> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-ms-version: 2020-07-15\r\n\
             x-ms-date: Thu, 01 Jan 2026 00:00:00 GMT\r\nauthorization: type%3Dmaster%26ver%3D1.0%26sig%3Dx\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        self.stream.write_all(head.as_bytes())?;
        self.stream.write_all(body.as_bytes())?;
        self.stream.flush()
    }

    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads one response; `UnexpectedEof` when the connection closed first.
    fn receive(&mut self) -> io::Result<Resp> {
        let end = loop {
            if let Some(p) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p;
            }
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("closed after {} bytes", self.buf.len()),
                ));
            }
        };
        let head = String::from_utf8(self.buf.drain(..end + 4).collect()).expect("UTF-8 head");
        let (status, headers) = sextant_tests::raw_http::parse_head(&head);
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map(|(_, v)| v.parse().expect("content-length"))
            .unwrap_or(0);
        while self.buf.len() < len {
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "closed in body",
                ));
            }
        }
        let body = self.buf.drain(..len).collect();
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    fn request(&mut self, method: &str, path: &str, body: Option<&Value>) -> io::Result<Resp> {
        self.send(method, path, body)?;
        self.receive()
    }
}

/// One request on a fresh connection.
fn once(endpoint: &str, method: &str, path: &str, body: Option<&Value>) -> io::Result<Resp> {
    Raw::connect(endpoint)?.request(method, path, body)
}

fn started() -> (TestServer, FaultProxy) {
    let server = TestServer::start();
    let proxy = FaultProxy::start(server.http_endpoint(), &REGIONS);
    (server, proxy)
}

fn locations(doc: &Value, key: &str) -> Vec<(String, String)> {
    doc[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is a list: {doc}"))
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap_or_default().to_owned(),
                l["databaseAccountEndpoint"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

/// The connection is closed by the peer: EOF or a reset, with no response.
fn assert_closed_without_answer(r: io::Result<Resp>, what: &str) {
    match r {
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
            ) => {}
        other => {
            panic!("{what}: expected the connection to close without an answer, got {other:?}")
        }
    }
}

#[test]
fn account_read_lists_the_proxy_regions() {
    let _s = serial();
    let (_server, proxy) = started();
    let endpoints: Vec<(String, String)> = REGIONS
        .iter()
        .map(|r| (r.to_string(), proxy.region_endpoint(r)))
        .collect();
    for e in &endpoints {
        assert!(
            e.1.starts_with("http://127.0.0.1:") && e.1.ends_with('/'),
            "{e:?}"
        );
    }
    assert_ne!(proxy.account_endpoint(), endpoints[0].1);

    let r = once(&proxy.account_endpoint(), "GET", "/", None).expect("GET / on global");
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(locations(&doc, "writableLocations"), endpoints[..1]);
    assert_eq!(locations(&doc, "readableLocations"), endpoints);
    assert_eq!(doc["enableMultipleWriteLocations"], json!(false));
    assert!(
        doc.get("userConsistencyPolicy").is_some(),
        "other fields kept: {doc}"
    );

    proxy.set_write_regions(&["East", "West"]);
    proxy.set_multiple_write_locations(true);
    // Any listener answers the account read.
    let r = once(&proxy.region_endpoint("North"), "GET", "/", None).expect("GET / on North");
    let doc = r.json();
    assert_eq!(
        locations(&doc, "writableLocations"),
        [endpoints[1].clone(), endpoints[0].clone()]
    );
    assert_eq!(locations(&doc, "readableLocations"), endpoints);
    assert_eq!(doc["enableMultipleWriteLocations"], json!(true));
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    let log = proxy.requests("North");
    assert_eq!(log.len(), 1);
    assert!(
        log[0].is_account_read() && log[0].status == Some(200),
        "{log:?}"
    );
    assert_eq!(proxy.requests(GLOBAL).len(), 1);
}

#[test]
fn requests_are_forwarded_over_keep_alive() {
    let _s = serial();
    let (_server, proxy) = started();
    let mut west = Raw::connect(&proxy.region_endpoint("West")).expect("connect");
    let r = west
        .request("POST", "/dbs", Some(&json!({"id": "selftest"})))
        .expect("create database");
    assert_eq!(r.status, 201, "{:?}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["id"], json!("selftest"));
    // The same connection again, and the same data through every other listener.
    let r = west
        .request("GET", "/dbs/selftest", None)
        .expect("read database");
    assert_eq!(r.status, 200);
    for region in ["East", "North", GLOBAL] {
        let mut c = Raw::connect(&proxy.region_endpoint(region)).expect("connect");
        for _ in 0..2 {
            let r = c
                .request("GET", "/dbs/selftest", None)
                .expect("read database");
            assert_eq!(r.status, 200, "{region}");
            assert_eq!(r.json()["id"], json!("selftest"));
        }
    }
    let log = proxy.requests("West");
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[0].connection, log[1].connection,
        "one keep-alive connection"
    );
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        ("POST", "/dbs")
    );
    assert_eq!(log[0].json_body(), Some(json!({"id": "selftest"})));
    assert!(log.iter().all(|l| l.forwarded && l.fault == Fault::None));
    assert_eq!(
        log.iter().map(|l| l.status).collect::<Vec<_>>(),
        [Some(201), Some(200)]
    );
    assert_eq!(proxy.requests("East").len(), 2);
    proxy.clear_log();
    assert!(proxy.all_requests().is_empty());
}

#[test]
fn status_faults_carry_sub_status_and_retry_after() {
    let _s = serial();
    let (_server, proxy) = started();
    proxy.set_fault(
        "West",
        Fault::Status {
            status: 403,
            sub_status: Some(3),
            retry_after_ms: Some(250),
            times: None,
        },
    );
    let mut west = Raw::connect(&proxy.region_endpoint("West")).expect("connect");
    for _ in 0..3 {
        let r = west
            .request("POST", "/dbs", Some(&json!({"id": "never"})))
            .expect("injected answer");
        assert_eq!(r.status, 403);
        assert_eq!(r.header("x-ms-substatus"), Some("3"));
        assert_eq!(r.header("x-ms-retry-after-ms"), Some("250"));
        assert_eq!(r.json()["code"], json!("Forbidden"));
    }
    // The account read is faulted too under the default scope.
    assert_eq!(west.request("GET", "/", None).expect("GET /").status, 403);
    // Other regions are not affected, and nothing was forwarded.
    let r = once(&proxy.region_endpoint("East"), "GET", "/dbs/never", None).expect("East");
    assert_eq!(r.status, 404);
    assert!(proxy.requests("West").iter().all(|l| !l.forwarded));

    // Counted: two 429s, then through.
    proxy.set_fault(
        "West",
        Fault::Status {
            status: 429,
            sub_status: Some(3200),
            retry_after_ms: Some(10),
            times: Some(2),
        },
    );
    let statuses: Vec<u16> = (0..4)
        .map(|_| west.request("GET", "/dbs", None).expect("answer").status)
        .collect();
    assert_eq!(statuses, [429, 429, 200, 200]);
    assert_eq!(proxy.fault("West"), Fault::None, "the count ran out");

    // Scoped to writes: reads pass, writes are faulted; a counted rule counts only matches.
    proxy.set_rule(
        "West",
        FaultRule::new(Fault::status(503, None), Scope::Writes).times(1),
    );
    assert_eq!(west.request("GET", "/dbs", None).expect("read").status, 200);
    assert_eq!(
        west.request("POST", "/dbs", Some(&json!({"id": "w"})))
            .expect("write")
            .status,
        503
    );
    assert_eq!(
        west.request("POST", "/dbs", Some(&json!({"id": "w"})))
            .expect("write")
            .status,
        201
    );
}

#[test]
fn delay_fault_delays_then_forwards() {
    let _s = serial();
    let (_server, proxy) = started();
    let delay = Duration::from_millis(600);
    proxy.set_fault("East", Fault::Delay(delay));
    let started = Instant::now();
    let r = once(&proxy.region_endpoint("East"), "GET", "/dbs", None).expect("delayed answer");
    let elapsed = started.elapsed();
    assert_eq!(r.status, 200);
    // A delay can only lengthen the exchange: the lower bound is a property, not a latency
    // expectation (an upper bound would measure the machine's load).
    assert!(elapsed >= delay, "{elapsed:?}");
    let r = once(&proxy.region_endpoint("West"), "GET", "/dbs", None).expect("West");
    assert_eq!(r.status, 200);
    let west = proxy.requests("West");
    assert_eq!(west.len(), 1);
    assert_eq!(west[0].fault, Fault::None, "other regions are not delayed");
}

#[test]
fn stall_fault_never_answers() {
    let _s = serial();
    let (_server, proxy) = started();
    proxy.set_fault("West", Fault::Stall);
    let mut c = Raw::connect(&proxy.region_endpoint("West")).expect("connect");
    c.stream
        .set_read_timeout(Some(Duration::from_millis(700)))
        .expect("timeout");
    c.send("POST", "/dbs", Some(&json!({"id": "stalled"})))
        .expect("send");
    let started = Instant::now();
    let e = c.receive().expect_err("no answer");
    assert!(
        matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "{e:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(600));
    let log = proxy.requests("West");
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].fault.clone(), log[0].status, log[0].forwarded),
        (Fault::Stall, None, false)
    );
    assert!(log[0].finished.is_none(), "still held");
    // The client gives up: the proxy lets go of the connection.
    drop(c);
    let deadline = Instant::now() + Duration::from_secs(3);
    while proxy.requests("West")[0].finished.is_none() {
        assert!(
            Instant::now() < deadline,
            "the stalled request ends when the client leaves"
        );
        thread::sleep(Duration::from_millis(20));
    }
    // Never forwarded: the database does not exist.
    proxy.set_fault("West", Fault::None);
    let r = once(&proxy.region_endpoint("West"), "GET", "/dbs/stalled", None).expect("read");
    assert_eq!(r.status, 404);
}

#[test]
fn refuse_closes_the_port_and_clearing_reopens_it() {
    let _s = serial();
    let (_server, proxy) = started();
    let endpoint = proxy.region_endpoint("North");
    let mut open = Raw::connect(&endpoint).expect("connect");
    assert_eq!(
        open.request("GET", "/dbs", None).expect("before").status,
        200
    );

    proxy.set_fault("North", Fault::Refuse);
    match TcpStream::connect(addr(&endpoint)) {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e:?}"),
        Ok(_) => panic!("a refused port accepted a connection"),
    }
    // The open keep-alive connection was closed too.
    assert_closed_without_answer(open.request("GET", "/dbs", None), "open connection");
    // Other ports still work.
    assert_eq!(
        once(&proxy.region_endpoint("West"), "GET", "/dbs", None)
            .expect("West")
            .status,
        200
    );

    proxy.set_fault("North", Fault::None);
    assert_eq!(proxy.region_endpoint("North"), endpoint, "same port");
    assert_eq!(
        once(&endpoint, "GET", "/dbs", None).expect("after").status,
        200
    );
}

#[test]
fn reset_faults_close_without_answering() {
    let _s = serial();
    let (_server, proxy) = started();
    let west = proxy.region_endpoint("West");

    proxy.set_fault("West", Fault::ResetBeforeForward);
    assert_closed_without_answer(
        once(&west, "POST", "/dbs", Some(&json!({"id": "before"}))),
        "reset before forward",
    );
    proxy.set_fault("West", Fault::ResetAfterForward);
    assert_closed_without_answer(
        once(&west, "POST", "/dbs", Some(&json!({"id": "after"}))),
        "reset after forward",
    );
    proxy.set_fault("West", Fault::None);
    // Before: never applied. After: applied exactly once.
    assert_eq!(
        once(&west, "GET", "/dbs/before", None)
            .expect("read")
            .status,
        404
    );
    assert_eq!(
        once(&west, "GET", "/dbs/after", None).expect("read").status,
        200
    );
    let log = proxy.requests("West");
    assert_eq!(
        log[..2]
            .iter()
            .map(|l| (l.fault.clone(), l.forwarded, l.upstream_status, l.status))
            .collect::<Vec<_>>(),
        [
            (Fault::ResetBeforeForward, false, None, None),
            (Fault::ResetAfterForward, true, Some(201), None)
        ]
    );

    // One-shot: the next request goes through on a new connection.
    proxy.set_rule(
        "West",
        FaultRule::new(Fault::ResetAfterForward, Scope::All).times(1),
    );
    assert_closed_without_answer(once(&west, "GET", "/dbs", None), "one-shot reset");
    assert_eq!(once(&west, "GET", "/dbs", None).expect("next").status, 200);
}

#[test]
fn chunked_requests_are_rejected() {
    let _s = serial();
    let (_server, proxy) = started();
    let mut c = Raw::connect(&proxy.region_endpoint("West")).expect("connect");
    c.stream
        .write_all(
            b"POST /dbs HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n\
              e\r\n{\"id\":\"chunk\"}\r\n0\r\n\r\n",
        )
        .expect("send");
    let r = c.receive().expect("answer");
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("chunked"));
    assert_eq!(proxy.requests("West")[0].status, Some(400));
}

/// Names of this process's threads that belong to a fault proxy (Linux: `/proc/self/task`).
fn proxy_threads() -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|c| c.trim().to_owned())
        .filter(|c| c.starts_with("fault-proxy"))
        .collect()
}

#[test]
fn drop_closes_every_socket_and_ends_every_thread() {
    let _s = serial();
    let (_server, proxy) = started();
    let ports: Vec<String> = std::iter::once(proxy.account_endpoint())
        .chain(REGIONS.iter().map(|r| proxy.region_endpoint(r)))
        .collect();
    // An idle keep-alive connection, a stalled request and a delayed one are in progress.
    let mut idle = Raw::connect(&ports[1]).expect("connect");
    assert_eq!(idle.request("GET", "/dbs", None).expect("idle").status, 200);
    proxy.set_fault("East", Fault::Stall);
    proxy.set_fault("North", Fault::Delay(Duration::from_secs(60)));
    let mut stalled = Raw::connect(&ports[2]).expect("connect");
    stalled.send("GET", "/dbs", None).expect("send");
    let mut delayed = Raw::connect(&ports[3]).expect("connect");
    delayed.send("GET", "/dbs", None).expect("send");
    let deadline = Instant::now() + Duration::from_secs(3);
    while proxy.all_requests().len() < 3 {
        assert!(Instant::now() < deadline, "requests arrived");
        thread::sleep(Duration::from_millis(10));
    }
    if std::path::Path::new("/proc/self/task").exists() {
        assert!(proxy_threads().len() >= 4 + 3, "{:?}", proxy_threads());
    }

    // Dropping joins every proxy thread; what matters is that none is left, not how long the
    // join took on a loaded machine. A joined thread can still be listed in /proc for a moment
    // (the kernel wakes the joiner before it removes the task), so the listing gets a bounded
    // while to catch up; a thread that was not joined would still be blocked on the stalled or
    // delayed connection above and stay listed.
    drop(proxy);
    let deadline = Instant::now() + Duration::from_secs(2);
    while !proxy_threads().is_empty() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    assert!(
        proxy_threads().is_empty(),
        "threads left: {:?}",
        proxy_threads()
    );
    for p in &ports {
        match TcpStream::connect(addr(p)) {
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{p}: {e:?}"),
            Ok(_) => panic!("{p} still accepts connections after drop"),
        }
    }
    assert_closed_without_answer(idle.request("GET", "/dbs", None), "idle connection");
    assert_closed_without_answer(stalled.receive(), "stalled connection");
    assert_closed_without_answer(delayed.receive(), "delayed connection");
    let _ = idle.stream.shutdown(Shutdown::Both);
}
