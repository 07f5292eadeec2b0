//! A loopback multi-region fault proxy in front of one local test server.
//!
//! [`FaultProxy::start`] opens one listener per region plus a `global` account endpoint, all on
//! `127.0.0.1` with ephemeral ports, and forwards every request to the one upstream server (so
//! every "region" sees the same data, like a perfectly replicated account). Per region it can
//! inject [`Fault`]s: error statuses with Cosmos DB sub-statuses and retry-after, delays, stalls,
//! connection resets before or after forwarding, and refused connections.
//!
//! `GET /` (the account read) on any listener is answered by the proxy: the upstream's account
//! document with `writableLocations` / `readableLocations` replaced by the proxy's regions
//! ([`FaultProxy::set_write_regions`]) and `enableMultipleWriteLocations` set as configured.
//!
//! Faults apply to every request arriving at the region's port, the account read included,
//! unless a narrower [`Scope`] is given with [`FaultProxy::set_rule`]. (Drivers read the account
//! from the global endpoint first, so a region fault rarely meets a `GET /`; `Scope::Writes` is
//! there for faults that only make sense for writes, such as 403/3 WriteForbidden.)
//!
//! Plain std threads and blocking sockets: one acceptor per listener (non-blocking accept,
//! polled every 2 ms, so a listener can be closed and re-bound under it) and one thread per
//! client connection, each with its own keep-alive upstream connection. Every read is bounded
//! (polled in 50 ms steps against a deadline and the shutdown flag), every write has a timeout,
//! and dropping the proxy closes every socket and joins every thread.
//!
//! HTTP/1.1 only, `Content-Length` request bodies (a chunked request is answered 400); responses
//! may be `Content-Length`, chunked (re-encoded with a length) or delimited by close.

mod http1;

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use http1::{cosmos_code, simple_response, Head, Wire};

/// The name of the account's global endpoint in [`FaultProxy::set_fault`] and
/// [`FaultProxy::requests`].
pub const GLOBAL: &str = "global";

/// How often acceptors poll their (non-blocking) listener.
const ACCEPT_POLL: Duration = Duration::from_millis(2);
/// A client connection idle this long between requests is closed (the upstream keeps its own
/// connections for 120 s).
const CLIENT_IDLE_TIMEOUT: Duration = Duration::from_secs(100);
/// Bound on receiving a request body once its head arrived.
const REQUEST_BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on connecting to the upstream.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Bound on the upstream's answer to one request.
const UPSTREAM_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// A stalled request holds its connection at most this long (unless the client gives up or the
/// proxy is dropped first).
const STALL_LIMIT: Duration = Duration::from_secs(300);
/// Bound on the request log.
const MAX_LOG: usize = 100_000;

/// What to do to requests arriving at a region's port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forward normally.
    None,
    /// Answer with this status (Cosmos DB error body, `x-ms-substatus`, `x-ms-retry-after-ms`)
    /// without forwarding. `times`: for this many requests, then the fault clears itself
    /// (`None` = until changed).
    Status {
        /// HTTP status.
        status: u16,
        /// `x-ms-substatus`, if any.
        sub_status: Option<u32>,
        /// `x-ms-retry-after-ms`, if any.
        retry_after_ms: Option<u64>,
        /// How many requests get it (`None` = every request until changed).
        times: Option<u32>,
    },
    /// Wait this long, then forward (the answer is relayed even if late).
    Delay(Duration),
    /// Read the request and never answer: hold the connection until the client closes it (or
    /// the proxy is dropped).
    Stall,
    /// Forward to the upstream (the request *is* applied), read its answer, then close the
    /// client connection without answering.
    ResetAfterForward,
    /// Close the client connection without forwarding.
    ResetBeforeForward,
    /// Stop listening on the port (new connections are refused) and close the port's open
    /// connections. Clearing the fault re-binds the same port.
    Refuse,
}

impl Fault {
    /// A status fault on every request until changed.
    pub fn status(status: u16, sub_status: Option<u32>) -> Fault {
        Fault::Status {
            status,
            sub_status,
            retry_after_ms: None,
            times: None,
        }
    }
}

/// Which requests at a port a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every request, the account read (`GET /`) included.
    All,
    /// Every request except the account read.
    DataPlane,
    /// Writes only: `POST` (but not queries), `PUT`, `PATCH`, `DELETE`.
    Writes,
}

/// A fault, the requests it applies to, and how many times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// The fault.
    pub fault: Fault,
    /// The requests it applies to.
    pub scope: Scope,
    /// Matching requests it applies to before clearing itself (`None` = until changed).
    /// [`Fault::Status::times`] is used when this is `None`.
    pub times: Option<u32>,
}

impl FaultRule {
    /// `fault` for matching requests of `scope`, until changed.
    pub fn new(fault: Fault, scope: Scope) -> FaultRule {
        FaultRule {
            fault,
            scope,
            times: None,
        }
    }

    /// This rule, for the next `n` matching requests only.
    #[must_use]
    pub fn times(mut self, n: u32) -> FaultRule {
        self.times = Some(n);
        self
    }
}

/// One request the proxy received.
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    /// Increasing across the proxy.
    pub seq: u64,
    /// The listener it arrived at: a region name or [`GLOBAL`].
    pub region: String,
    /// Id of the client connection it arrived on (increasing across the proxy).
    pub connection: u64,
    /// HTTP method.
    pub method: String,
    /// Request target as sent (path and query, percent-encoded).
    pub path: String,
    /// Request headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Vec<u8>,
    /// The fault applied to it ([`Fault::None`] if none).
    pub fault: Fault,
    /// Whether it was forwarded to the upstream.
    pub forwarded: bool,
    /// The upstream's status, when forwarded and answered.
    pub upstream_status: Option<u16>,
    /// The status the proxy sent back; `None` if it sent nothing (reset, stall, still pending,
    /// or the client was gone when the answer was ready).
    pub status: Option<u16>,
    /// The client connection was gone when the answer was ready (e.g. an aborted hedge).
    pub client_gone: bool,
    /// When the request (head and body) had arrived.
    pub arrived: Instant,
    /// When the proxy was done with it (answered, reset, or the stalled client left).
    pub finished: Option<Instant>,
}

impl LoggedRequest {
    /// First value of request header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `GET /`: the account read.
    pub fn is_account_read(&self) -> bool {
        self.method == "GET" && path_only(&self.path) == "/"
    }

    /// A query (`POST` with `x-ms-documentdb-isquery: true`).
    pub fn is_query(&self) -> bool {
        self.header("x-ms-documentdb-isquery")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// A write: `POST` (not a query), `PUT`, `PATCH` or `DELETE`.
    pub fn is_write(&self) -> bool {
        match self.method.as_str() {
            "POST" => !self.is_query(),
            "PUT" | "PATCH" | "DELETE" => true,
            _ => false,
        }
    }

    /// An item create: `POST .../docs`, neither a query nor an upsert.
    pub fn is_item_create(&self) -> bool {
        self.method == "POST"
            && path_only(&self.path).ends_with("/docs")
            && !self.is_query()
            && !self
                .header("x-ms-documentdb-is-upsert")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// An item point read: `GET .../docs/{id}`.
    pub fn is_item_read(&self) -> bool {
        self.method == "GET" && path_only(&self.path).contains("/docs/")
    }

    /// The request body as JSON, if it is JSON.
    pub fn json_body(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

impl fmt::Display for LoggedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} conn {} {} {} -> {}",
            self.seq,
            self.region,
            self.connection,
            self.method,
            self.path,
            self.status
                .map_or_else(|| "no answer".to_owned(), |s| s.to_string())
        )?;
        if self.fault != Fault::None {
            write!(f, " [fault {:?}]", self.fault)?;
        }
        if self.forwarded {
            write!(f, " [upstream {:?}]", self.upstream_status)?;
        }
        if self.client_gone {
            write!(f, " [client gone]")?;
        }
        Ok(())
    }
}

fn path_only(target: &str) -> &str {
    target.split('?').next().unwrap_or(target)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct ActiveRule {
    rule: FaultRule,
    remaining: Option<u32>,
}

struct Listener {
    name: String,
    port: u16,
    endpoint: String,
    /// `None` while the port is refused.
    socket: Mutex<Option<TcpListener>>,
    rule: Mutex<ActiveRule>,
}

struct Shared {
    upstream: SocketAddr,
    shutdown: Arc<AtomicBool>,
    /// Index 0 is the global endpoint, then the regions in start order.
    listeners: Vec<Listener>,
    write_regions: Mutex<Vec<String>>,
    multi_write: AtomicBool,
    log: Mutex<Vec<LoggedRequest>>,
    seq: AtomicU64,
    next_conn: AtomicU64,
    /// Open client connections: id → (listener index, socket clone for shutdown).
    conns: Mutex<HashMap<u64, (usize, TcpStream)>>,
    handlers: Mutex<Vec<JoinHandle<()>>>,
}

/// The multi-region fault proxy; see the [module docs](self). Dropping it closes every socket
/// and joins every thread.
pub struct FaultProxy {
    shared: Arc<Shared>,
    acceptors: Vec<JoinHandle<()>>,
}

impl fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultProxy")
            .field("upstream", &self.shared.upstream)
            .field(
                "listeners",
                &self
                    .shared
                    .listeners
                    .iter()
                    .map(|l| (&l.name, &l.endpoint))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn bind_listener() -> TcpListener {
    let l = TcpListener::bind(("127.0.0.1", 0))
        .unwrap_or_else(|e| panic!("fault proxy: cannot bind 127.0.0.1:0: {e}"));
    l.set_nonblocking(true)
        .unwrap_or_else(|e| panic!("fault proxy: cannot make the listener non-blocking: {e}"));
    l
}

fn upstream_addr(endpoint: &str) -> SocketAddr {
    let rest = endpoint
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("fault proxy: upstream {endpoint:?} is not an http:// endpoint"));
    let authority = rest.split('/').next().unwrap_or(rest);
    let addr = authority
        .to_socket_addrs()
        .unwrap_or_else(|e| panic!("fault proxy: cannot resolve upstream {authority:?}: {e}"))
        .next()
        .unwrap_or_else(|| panic!("fault proxy: upstream {authority:?} has no address"));
    assert!(
        addr.ip().is_loopback(),
        "fault proxy: the upstream must be on loopback, not {addr}"
    );
    addr
}

impl FaultProxy {
    /// Starts the proxy in front of `upstream_http_endpoint` (`http://127.0.0.1:PORT/`) with one
    /// listener per region (names as the account will list them) plus the global endpoint.
    /// Writes go to the first region until [`FaultProxy::set_write_regions`].
    ///
    /// # Panics
    ///
    /// If the upstream is not a loopback `http://` endpoint, a region is named [`GLOBAL`] or
    /// twice, or a port cannot be bound.
    pub fn start(upstream_http_endpoint: &str, regions: &[&str]) -> FaultProxy {
        assert!(!regions.is_empty(), "fault proxy: at least one region");
        for (i, r) in regions.iter().enumerate() {
            assert!(
                !r.eq_ignore_ascii_case(GLOBAL) && !r.is_empty(),
                "fault proxy: bad region name {r:?}"
            );
            assert!(
                !regions[..i].contains(r),
                "fault proxy: region {r:?} named twice"
            );
        }
        let upstream = upstream_addr(upstream_http_endpoint);
        let listeners: Vec<Listener> = std::iter::once(GLOBAL)
            .chain(regions.iter().copied())
            .map(|name| {
                let socket = bind_listener();
                let port = socket.local_addr().map(|a| a.port()).unwrap_or_else(|e| {
                    panic!("fault proxy: listener address: {e}");
                });
                Listener {
                    name: name.to_owned(),
                    port,
                    endpoint: format!("http://127.0.0.1:{port}/"),
                    socket: Mutex::new(Some(socket)),
                    rule: Mutex::new(ActiveRule {
                        rule: FaultRule::new(Fault::None, Scope::All),
                        remaining: None,
                    }),
                }
            })
            .collect();
        let shared = Arc::new(Shared {
            upstream,
            shutdown: Arc::new(AtomicBool::new(false)),
            listeners,
            write_regions: Mutex::new(vec![regions[0].to_owned()]),
            multi_write: AtomicBool::new(false),
            log: Mutex::new(Vec::new()),
            seq: AtomicU64::new(0),
            next_conn: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
            handlers: Mutex::new(Vec::new()),
        });
        let acceptors = (0..shared.listeners.len())
            .map(|idx| {
                let shared = Arc::clone(&shared);
                thread::Builder::new()
                    .name(format!("fault-proxy-accept-{}", shared.listeners[idx].name))
                    .spawn(move || accept_loop(&shared, idx))
                    .unwrap_or_else(|e| panic!("fault proxy: cannot spawn an acceptor: {e}"))
            })
            .collect();
        FaultProxy { shared, acceptors }
    }

    fn index(&self, region: &str) -> usize {
        self.shared
            .listeners
            .iter()
            .position(|l| l.name == region)
            .unwrap_or_else(|| {
                panic!(
                    "fault proxy: no region {region:?} (have {:?})",
                    self.shared
                        .listeners
                        .iter()
                        .map(|l| &l.name)
                        .collect::<Vec<_>>()
                )
            })
    }

    /// The global account endpoint, `http://127.0.0.1:PORT/`: give this to the driver.
    pub fn account_endpoint(&self) -> String {
        self.shared.listeners[0].endpoint.clone()
    }

    /// The endpoint of `region` (or of [`GLOBAL`]).
    pub fn region_endpoint(&self, region: &str) -> String {
        self.shared.listeners[self.index(region)].endpoint.clone()
    }

    /// The region names, in start order (the global endpoint excluded).
    pub fn regions(&self) -> Vec<String> {
        self.shared.listeners[1..]
            .iter()
            .map(|l| l.name.clone())
            .collect()
    }

    /// Applies `fault` to every request arriving at `region`'s port ([`GLOBAL`] for the account
    /// endpoint), the account read included. Replaces the region's previous fault.
    ///
    /// # Panics
    ///
    /// If the region is unknown, or the port of a refused region cannot be bound again.
    pub fn set_fault(&self, region: &str, fault: Fault) {
        self.set_rule(region, FaultRule::new(fault, Scope::All));
    }

    /// Applies `rule` at `region`'s port, replacing the previous one.
    ///
    /// # Panics
    ///
    /// If the region is unknown, `Refuse` is combined with a scope or a count, or the port of a
    /// refused region cannot be bound again.
    pub fn set_rule(&self, region: &str, rule: FaultRule) {
        let idx = self.index(region);
        let l = &self.shared.listeners[idx];
        let refuse = rule.fault == Fault::Refuse;
        assert!(
            !refuse || (rule.scope == Scope::All && rule.times.is_none()),
            "fault proxy: Refuse applies to the whole port, for as long as it is set"
        );
        let remaining = rule.times.or(match rule.fault {
            Fault::Status { times, .. } => times,
            _ => None,
        });
        // The rule first (so a connection accepted from here on sees it), then the port.
        *lock(&l.rule) = ActiveRule { rule, remaining };
        let mut socket = lock(&l.socket);
        if refuse {
            // The acceptor registers every connection while holding this lock, so every
            // connection it accepted is in `conns` once the listener is gone.
            drop(socket.take());
            drop(socket);
            self.shared.close_connections(Some(idx));
        } else if socket.is_none() {
            let s = TcpListener::bind(("127.0.0.1", l.port)).unwrap_or_else(|e| {
                panic!(
                    "fault proxy: cannot re-bind 127.0.0.1:{} for region {:?} after Refuse: {e}",
                    l.port, l.name
                )
            });
            s.set_nonblocking(true)
                .unwrap_or_else(|e| panic!("fault proxy: non-blocking listener: {e}"));
            *socket = Some(s);
        }
    }

    /// Clears every region's fault (re-binding refused ports).
    pub fn clear_faults(&self) {
        for l in &self.shared.listeners {
            self.set_fault(&l.name, Fault::None);
        }
    }

    /// The fault currently in force at `region` (after self-clearing counts).
    pub fn fault(&self, region: &str) -> Fault {
        lock(&self.shared.listeners[self.index(region)].rule)
            .rule
            .fault
            .clone()
    }

    /// The regions `GET /` lists as `writableLocations`, in order (the first is the hub). The
    /// readable regions are always every region, in start order.
    ///
    /// # Panics
    ///
    /// If a region is unknown or the list is empty.
    pub fn set_write_regions(&self, regions: &[&str]) {
        assert!(
            !regions.is_empty(),
            "fault proxy: at least one write region"
        );
        for r in regions {
            let idx = self.index(r);
            assert!(idx > 0, "fault proxy: the global endpoint is not a region");
        }
        *lock(&self.shared.write_regions) = regions.iter().map(|r| (*r).to_owned()).collect();
    }

    /// `enableMultipleWriteLocations` in `GET /` (default false).
    pub fn set_multiple_write_locations(&self, enabled: bool) {
        self.shared.multi_write.store(enabled, Ordering::SeqCst);
    }

    /// Requests that arrived at `region` ([`GLOBAL`] for the account endpoint), oldest first.
    pub fn requests(&self, region: &str) -> Vec<LoggedRequest> {
        let _ = self.index(region);
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.region == region)
            .cloned()
            .collect()
    }

    /// Every logged request, oldest first.
    pub fn all_requests(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.log).clone()
    }

    /// Forgets the logged requests.
    pub fn clear_log(&self) {
        lock(&self.shared.log).clear();
    }

    /// Client connections currently open (all ports).
    pub fn open_connections(&self) -> usize {
        lock(&self.shared.conns).len()
    }

    /// The log as text, one request per line (for assertion messages).
    pub fn log_text(&self) -> String {
        lock(&self.shared.log)
            .iter()
            .map(|r| format!("  {r}\n"))
            .collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        for a in self.acceptors.drain(..) {
            let _ = a.join();
        }
        for l in &self.shared.listeners {
            drop(lock(&l.socket).take());
        }
        self.shared.close_connections(None);
        // Acceptors are gone, so no handler is added any more.
        let handlers: Vec<_> = lock(&self.shared.handlers).drain(..).collect();
        for h in handlers {
            let _ = h.join();
        }
    }
}

impl Shared {
    fn close_connections(&self, listener: Option<usize>) {
        for (idx, s) in lock(&self.conns).values() {
            if listener.is_none_or(|l| l == *idx) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }

    /// The fault for a request at listener `idx`, consuming one count of a counted rule.
    fn take_fault(&self, idx: usize, method: &str, target: &str, head: &Head) -> Fault {
        let mut active = lock(&self.listeners[idx].rule);
        let fault = active.rule.fault.clone();
        if fault == Fault::Refuse {
            return fault;
        }
        let account_read = method == "GET" && path_only(target) == "/";
        let is_query = head
            .header("x-ms-documentdb-isquery")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let write = match method {
            "POST" => !is_query,
            "PUT" | "PATCH" | "DELETE" => true,
            _ => false,
        };
        let applies = match active.rule.scope {
            Scope::All => true,
            Scope::DataPlane => !account_read,
            Scope::Writes => write,
        };
        if !applies || fault == Fault::None {
            return Fault::None;
        }
        if let Some(n) = active.remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                active.rule = FaultRule::new(Fault::None, Scope::All);
                active.remaining = None;
            }
        }
        fault
    }

    fn log_arrival(&self, mut entry: LoggedRequest) -> u64 {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst);
        entry.seq = seq;
        let mut log = lock(&self.log);
        if log.len() >= MAX_LOG {
            log.remove(0);
        }
        log.push(entry);
        seq
    }

    fn log_update(&self, seq: u64, update: impl FnOnce(&mut LoggedRequest)) {
        let mut log = lock(&self.log);
        if let Some(e) = log.iter_mut().rev().find(|e| e.seq == seq) {
            update(e);
        }
    }

    fn account_document(&self, upstream_body: &[u8]) -> Option<Vec<u8>> {
        let mut doc: Value = serde_json::from_slice(upstream_body).ok()?;
        let obj = doc.as_object_mut()?;
        let location = |name: &str| {
            self.listeners
                .iter()
                .find(|l| l.name == name)
                .map(|l| json!({"name": l.name, "databaseAccountEndpoint": l.endpoint}))
        };
        let writable: Vec<Value> = lock(&self.write_regions)
            .iter()
            .filter_map(|r| location(r))
            .collect();
        let readable: Vec<Value> = self.listeners[1..]
            .iter()
            .filter_map(|l| location(&l.name))
            .collect();
        obj.insert("writableLocations".into(), Value::Array(writable));
        obj.insert("readableLocations".into(), Value::Array(readable));
        obj.insert(
            "enableMultipleWriteLocations".into(),
            Value::Bool(self.multi_write.load(Ordering::SeqCst)),
        );
        serde_json::to_vec(&doc).ok()
    }
}

fn accept_loop(shared: &Arc<Shared>, idx: usize) {
    while !shared.shutdown.load(Ordering::SeqCst) {
        let accepted = {
            let socket = lock(&shared.listeners[idx].socket);
            match socket.as_ref().map(TcpListener::accept) {
                Some(Ok((stream, _))) => {
                    let id = shared.next_conn.fetch_add(1, Ordering::SeqCst);
                    match stream.try_clone() {
                        Ok(clone) => {
                            lock(&shared.conns).insert(id, (idx, clone));
                            Some((id, stream))
                        }
                        Err(_) => None, // dropped: the client sees a closed connection
                    }
                }
                Some(Err(_)) | None => None,
            }
        };
        match accepted {
            Some((id, stream)) => {
                let s = Arc::clone(shared);
                let spawned = thread::Builder::new()
                    .name(format!("fault-proxy-conn-{id}"))
                    .spawn(move || {
                        serve_connection(&s, idx, id, stream);
                        lock(&s.conns).remove(&id);
                    });
                match spawned {
                    Ok(h) => {
                        let mut handlers = lock(&shared.handlers);
                        handlers.retain(|h| !h.is_finished());
                        handlers.push(h);
                    }
                    Err(_) => {
                        if let Some((_, s)) = lock(&shared.conns).remove(&id) {
                            let _ = s.shutdown(Shutdown::Both);
                        }
                    }
                }
            }
            None => thread::sleep(ACCEPT_POLL),
        }
    }
}

/// The upstream's answer to one forwarded request.
struct UpstreamResponse {
    status: u16,
    head: Head,
    body: Vec<u8>,
    /// The message has no body by definition (HEAD, 1xx, 204, 304): relay the head as is.
    bodiless: bool,
    close: bool,
}

fn connect_upstream(shared: &Shared) -> io::Result<Wire> {
    let s = TcpStream::connect_timeout(&shared.upstream, UPSTREAM_CONNECT_TIMEOUT)?;
    Wire::new(s, Arc::clone(&shared.shutdown))
}

fn read_upstream_response(
    w: &mut Wire,
    method: &str,
    deadline: Instant,
) -> io::Result<Option<UpstreamResponse>> {
    let Some(head) = w.read_head(deadline)? else {
        return Ok(None);
    };
    let status = head.status()?;
    let bodiless =
        method == "HEAD" || (100..200).contains(&status) || status == 204 || status == 304;
    let mut close = head.connection_close();
    let body = if bodiless {
        Vec::new()
    } else if head.is_chunked() {
        w.read_chunked(deadline)?
    } else if let Some(n) = head.content_length()? {
        w.read_exact_body(n, deadline)?
    } else {
        close = true;
        w.read_to_close(deadline)?
    };
    Ok(Some(UpstreamResponse {
        status,
        head,
        body,
        bodiless,
        close,
    }))
}

/// Sends the request upstream over the connection's upstream socket (re-connecting once if a
/// reused connection turns out to be closed before answering anything).
fn forward(
    shared: &Shared,
    upstream: &mut Option<Wire>,
    method: &str,
    head: &Head,
    body: &[u8],
) -> Result<UpstreamResponse, String> {
    for _ in 0..2 {
        let reused = upstream.is_some();
        if upstream.is_none() {
            *upstream = Some(
                connect_upstream(shared)
                    .map_err(|e| format!("cannot connect to the upstream: {e}"))?,
            );
        }
        let Some(w) = upstream.as_mut() else {
            return Err("no upstream connection".into());
        };
        if let Err(e) = w.write_all(&head.raw).and_then(|()| w.write_all(body)) {
            *upstream = None;
            if reused {
                continue;
            }
            return Err(format!("sending to the upstream failed: {e}"));
        }
        match read_upstream_response(w, method, Instant::now() + UPSTREAM_RESPONSE_TIMEOUT) {
            Ok(Some(r)) => {
                if r.close {
                    *upstream = None;
                }
                return Ok(r);
            }
            Ok(None) if reused => {
                *upstream = None;
            }
            Ok(None) => {
                *upstream = None;
                return Err("the upstream closed the connection without answering".into());
            }
            Err(e) => {
                *upstream = None;
                return Err(format!("reading the upstream's answer failed: {e}"));
            }
        }
    }
    Err("the upstream closed two connections without answering".into())
}

/// The bytes to send the client for an upstream answer; the account read is rewritten.
fn client_bytes(shared: &Shared, r: &UpstreamResponse, account_read: bool) -> Vec<u8> {
    if r.bodiless {
        return r.head.raw.clone();
    }
    let rewritten = if account_read && r.status == 200 {
        shared.account_document(&r.body)
    } else {
        None
    };
    let body: &[u8] = rewritten.as_deref().unwrap_or(&r.body);
    let mut out = Vec::with_capacity(r.head.raw.len() + body.len() + 32);
    out.extend_from_slice(r.head.start_line.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &r.head.headers {
        if matches!(name.as_str(), "content-length" | "transfer-encoding") {
            continue;
        }
        if rewritten.is_some() && name == "etag" {
            continue;
        }
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

fn sleep_unless_shutdown(shared: &Shared, d: Duration) -> bool {
    let until = Instant::now() + d;
    loop {
        if shared.shutdown.load(Ordering::SeqCst) {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        thread::sleep((until - now).min(Duration::from_millis(10)));
    }
}

fn bad_request(client: &mut Wire, message: &str) {
    let body = json!({"code": "BadRequest", "message": format!("fault proxy: {message}")});
    let bytes = simple_response(
        400,
        &[("content-type", "application/json".to_owned())],
        body.to_string().as_bytes(),
        true,
    );
    let _ = client.write_all(&bytes);
}

fn serve_connection(shared: &Shared, idx: usize, conn: u64, stream: TcpStream) {
    let Ok(mut client) = Wire::new(stream, Arc::clone(&shared.shutdown)) else {
        return;
    };
    let mut upstream: Option<Wire> = None;
    let region = shared.listeners[idx].name.clone();
    loop {
        let head = match client.read_head(Instant::now() + CLIENT_IDLE_TIMEOUT) {
            Ok(Some(h)) => h,
            Ok(None) => break,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                bad_request(&mut client, &e.to_string());
                break;
            }
            Err(_) => break,
        };
        let (method, target) = match head.request_line() {
            Ok(rl) => rl,
            Err(e) => {
                bad_request(&mut client, &e.to_string());
                break;
            }
        };
        let mut entry = LoggedRequest {
            seq: 0,
            region: region.clone(),
            connection: conn,
            method: method.clone(),
            path: target.clone(),
            headers: head.headers.clone(),
            body: Vec::new(),
            fault: Fault::None,
            forwarded: false,
            upstream_status: None,
            status: None,
            client_gone: false,
            arrived: Instant::now(),
            finished: None,
        };
        if head.is_chunked() {
            // Logged first: a client that has the answer finds it in the log.
            entry.status = Some(400);
            entry.finished = Some(Instant::now());
            shared.log_arrival(entry);
            bad_request(
                &mut client,
                "chunked request bodies are not supported; send Content-Length",
            );
            break;
        }
        let body = match head.content_length() {
            Ok(n) => match client
                .read_exact_body(n.unwrap_or(0), Instant::now() + REQUEST_BODY_TIMEOUT)
            {
                Ok(b) => b,
                Err(_) => break,
            },
            Err(e) => {
                bad_request(&mut client, &e.to_string());
                break;
            }
        };
        let fault = shared.take_fault(idx, &method, &target, &head);
        entry.body = body.clone();
        entry.fault = fault.clone();
        entry.arrived = Instant::now();
        let seq = shared.log_arrival(entry);
        let account_read = method == "GET" && path_only(&target) == "/";
        let keep_alive = match fault {
            Fault::None => relay(
                shared,
                &mut client,
                &mut upstream,
                seq,
                &method,
                &head,
                &body,
                account_read,
            ),
            Fault::Delay(d) => {
                sleep_unless_shutdown(shared, d)
                    && relay(
                        shared,
                        &mut client,
                        &mut upstream,
                        seq,
                        &method,
                        &head,
                        &body,
                        account_read,
                    )
            }
            Fault::Status {
                status,
                sub_status,
                retry_after_ms,
                ..
            } => {
                let mut headers = vec![
                    ("content-type", "application/json".to_owned()),
                    (
                        "x-ms-activity-id",
                        format!("00000000-0000-0000-0000-{seq:012}"),
                    ),
                    ("x-ms-request-charge", "0".to_owned()),
                    ("x-ms-fault-proxy", "injected".to_owned()),
                ];
                if let Some(s) = sub_status {
                    headers.push(("x-ms-substatus", s.to_string()));
                }
                if let Some(ms) = retry_after_ms {
                    headers.push(("x-ms-retry-after-ms", ms.to_string()));
                }
                let body = json!({
                    "code": cosmos_code(status),
                    "message": format!(
                        "injected by the fault proxy in region {region}: {status}/{}",
                        sub_status.unwrap_or(0)
                    ),
                });
                let bytes = simple_response(status, &headers, body.to_string().as_bytes(), false);
                answer(shared, &mut client, seq, status, &bytes)
            }
            Fault::Stall => {
                // Swallow whatever the client sends until it gives up.
                let until = Instant::now() + STALL_LIMIT;
                while matches!(client.read_more(until), Ok(n) if n > 0) {}
                shared.log_update(seq, |e| e.finished = Some(Instant::now()));
                false
            }
            Fault::ResetAfterForward => {
                let result = forward(shared, &mut upstream, &method, &head, &body);
                shared.log_update(seq, |e| {
                    e.forwarded = true;
                    e.upstream_status = result.as_ref().ok().map(|r| r.status);
                    e.finished = Some(Instant::now());
                });
                false
            }
            Fault::ResetBeforeForward | Fault::Refuse => {
                shared.log_update(seq, |e| e.finished = Some(Instant::now()));
                false
            }
        };
        if !keep_alive || head.connection_close() {
            break;
        }
    }
    let _ = client.stream().shutdown(Shutdown::Both);
}

/// Forwards one request and relays the answer; returns whether the connection stays open.
#[allow(clippy::too_many_arguments)]
fn relay(
    shared: &Shared,
    client: &mut Wire,
    upstream: &mut Option<Wire>,
    seq: u64,
    method: &str,
    head: &Head,
    body: &[u8],
    account_read: bool,
) -> bool {
    match forward(shared, upstream, method, head, body) {
        Ok(r) => {
            let bytes = client_bytes(shared, &r, account_read);
            shared.log_update(seq, |e| {
                e.forwarded = true;
                e.upstream_status = Some(r.status);
            });
            answer(shared, client, seq, r.status, &bytes) && !r.close
        }
        Err(message) => {
            let body = json!({"code": "BadGateway", "message": format!("fault proxy: {message}")});
            let bytes = simple_response(
                502,
                &[("content-type", "application/json".to_owned())],
                body.to_string().as_bytes(),
                true,
            );
            shared.log_update(seq, |e| e.forwarded = true);
            answer(shared, client, seq, 502, &bytes);
            false
        }
    }
}

/// Writes an answer to the client. The log says it was answered *before* the bytes go out (so
/// a client that has the answer finds it in the log), and is corrected if the write fails.
fn answer(shared: &Shared, client: &mut Wire, seq: u64, status: u16, bytes: &[u8]) -> bool {
    shared.log_update(seq, |e| {
        e.status = Some(status);
        e.finished = Some(Instant::now());
    });
    let ok = client.write_all(bytes).is_ok();
    if !ok {
        shared.log_update(seq, |e| {
            e.status = None;
            e.client_gone = true;
            e.finished = Some(Instant::now());
        });
    }
    ok
}
