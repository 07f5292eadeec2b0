//! The async-std/smol baseline: hyper 1's own HTTP/1 client connections, written the way an
//! application on those runtimes writes them, doing what `raw.rs` does (the same hand-signed
//! headers). Issue 9 compares sextant-async-std with it, as it compares sextant-tokio with raw
//! reqwest and sextant-blocking with raw ureq.
//!
//! - The stack is the one sextant-async-std uses: hyper 1 (`client`, `http1`) over async-net
//!   sockets on the async-io reactor, through a futures-io to hyper adapter ([`Io`]) that reads
//!   into a reused scratch buffer and copies what arrived (as sextant-async-std's `HyperIo`
//!   does, without its byte counters). smol-rs's `smol-hyper` adapter was tried first: it zeroes
//!   hyper's whole read buffer before every read, 38.6k instructions per point read of `memset`
//!   (more than a third of the client), which would flatter every comparison with it.
//! - Each connection's I/O future is **spawned** on the runtime (`async_std::task::spawn`, or the
//!   smol `LocalExecutor` the workers run on), as hyper's client examples do; the request side
//!   keeps the `SendRequest` handles in a small LIFO pool (hyper-util's pooled client needs
//!   tokio's connector and timer, so it is not what one writes on these runtimes).
//! - Before reuse a handle must be open and `ready()`; every request is bounded by the plan's
//!   timeout (an `async-io` timer raced against the exchange, like `async_std::future::timeout`).
//! - The body is collected (`http_body_util::BodyExt::collect`) and the status checked.
//!
//! Variants:
//! - `raw-hyper` (and `raw-hyper-smol`): the minimal headers of `raw.rs` (`host` first); only the
//!   status and body of the response are looked at. The strict baseline.
//! - `raw-hyper-app`: what an SDK or application does on top: it decodes the key and keys
//!   the HMAC again for every request (`MasterKey::parse`, as `sign_master_key` does), and
//!   deserializes the response body into a typed item.
//! - `raw-hyper-wire` ([`RawHyper::read_wire`], [`RawHyper::create_wire`]): the identical wire
//!   work of a hand-written application that follows the protocol as Sextant does: Sextant's
//!   header set in Sextant's order (`host` last, as sextant-async-std sends it), the session
//!   token sent back on reads once one was returned, and the response's session token, request
//!   charge and activity id read; see [`crate::wire`]. The HMAC key is decoded once, as for
//!   `raw-hyper`, and the body is not deserialized.
//! - `raw-hyper-wire-app` ([`RawHyper::wire_application`]): `raw-hyper-wire` plus what an
//!   application does (re-keyed HMAC per request, deserialized body; see [`crate::wire`]).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use http::Method;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use sextant_core::auth::MasterKey;

use crate::wire::Wire;
use crate::workload::Target;

const X_MS_DATE: HeaderName = HeaderName::from_static("x-ms-date");
const X_MS_VERSION: HeaderName = HeaderName::from_static("x-ms-version");
const X_MS_PK: HeaderName = HeaderName::from_static("x-ms-documentdb-partitionkey");
const VERSION: HeaderValue = HeaderValue::from_static("2020-07-15");
const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A connection's I/O future, handed to the runtime to run.
pub type ConnTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A raw hyper client for one container; `spawn` runs each connection's I/O future.
pub struct RawHyper<S> {
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
    pool_max_idle: usize,
    spawn: S,
    addr: SocketAddr,
    host: HeaderValue,
    key: MasterKey,
    key_base64: String,
    app: bool,
    container_link: String,
    timeout: Duration,
    /// The `raw-hyper-wire` variant's activity ids and session token (unused otherwise).
    wire: Wire,
}

impl<S: Fn(ConnTask)> RawHyper<S> {
    /// A client for `target`'s container (`http://IP:PORT/` endpoints only, as the local server
    /// has). `app`: re-key the HMAC per request and deserialize the body (`raw-hyper-app`).
    pub fn new(
        target: &Target,
        pool_max_idle: usize,
        timeout: Duration,
        app: bool,
        spawn: S,
    ) -> Result<RawHyper<S>, String> {
        let authority = target
            .endpoint
            .strip_prefix("http://")
            .map(|s| s.trim_end_matches('/'))
            .ok_or_else(|| format!("raw hyper needs an http:// endpoint: {}", target.endpoint))?;
        let addr: SocketAddr = authority
            .parse()
            .map_err(|e| format!("raw hyper endpoint {authority}: {e}"))?;
        Ok(RawHyper {
            idle: Mutex::new(Vec::new()),
            pool_max_idle,
            spawn,
            addr,
            host: HeaderValue::from_str(authority).map_err(|e| e.to_string())?,
            key: MasterKey::parse(&target.key).map_err(|e| e.to_string())?,
            key_base64: target.key.clone(),
            app,
            container_link: format!("dbs/{}/colls/{}", target.database, target.container),
            timeout,
            wire: Wire::new(),
        })
    }

    /// The `raw-hyper-wire-app` client: the wire requests re-key the HMAC per request and
    /// deserialize the body ([`Wire::application`]).
    pub fn wire_application(mut self) -> Self {
        self.wire = Wire::application(&self.key_base64);
        self
    }

    /// Point read: `GET /dbs/{db}/colls/{coll}/docs/{id}`, expects 200.
    pub async fn read(&self, id: &str, pk: &str) -> Result<(), String> {
        let link = format!("{}/docs/{id}", self.container_link);
        let (status, body) = self.send(Method::GET, &link, &link, pk, None).await?;
        self.expect(status, 200, &body)
    }

    /// Create: `POST /dbs/{db}/colls/{coll}/docs` with `body`, expects 201.
    pub async fn create(&self, pk: &str, body: String) -> Result<(), String> {
        let path = format!("{}/docs", self.container_link);
        let link = &self.container_link;
        let (status, body) = self.send(Method::POST, link, &path, pk, Some(body)).await?;
        self.expect(status, 201, &body)
    }

    /// One signed request on a pooled (or new) connection, bounded by the timeout.
    async fn send(
        &self,
        method: Method,
        link: &str,
        path: &str,
        pk: &str,
        body: Option<String>,
    ) -> Result<(u16, Bytes), String> {
        let date = httpdate::fmt_http_date(SystemTime::now());
        let auth = if self.app {
            let key = MasterKey::parse(&self.key_base64).map_err(|e| e.to_string())?;
            key.sign(method.as_str(), "docs", link, &date)
        } else {
            self.key.sign(method.as_str(), "docs", link, &date)
        };
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("/{path}"))
            .header(HOST, self.host.clone())
            .header(X_MS_DATE, date)
            .header(X_MS_VERSION, VERSION)
            .header(AUTHORIZATION, auth)
            .header(X_MS_PK, format!("[\"{pk}\"]"));
        let body = match body {
            Some(b) => {
                req = req.header(CONTENT_TYPE, JSON);
                Full::new(Bytes::from(b))
            }
            None => Full::new(Bytes::new()),
        };
        let req = req
            .body(body)
            .map_err(|e| format!("raw hyper request: {e}"))?;
        let exchange = async {
            let mut sender = self.checkout().await?;
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| format!("raw hyper request: {e}"))?;
            let (parts, incoming) = resp.into_parts();
            let bytes = incoming
                .collect()
                .await
                .map_err(|e| format!("raw hyper response body: {e}"))?
                .to_bytes();
            self.checkin(sender);
            Ok((parts.status.as_u16(), bytes))
        };
        let timeout = async {
            smol::Timer::after(self.timeout).await;
            Err(format!("raw hyper: timed out after {:?}", self.timeout))
        };
        smol::future::or(exchange, timeout).await
    }

    /// `raw-hyper-wire` point read: Sextant's headers (the session token when one was
    /// captured), reading the response headers Sextant reads; expects 200.
    pub async fn read_wire(&self, id: &str, pk: &str) -> Result<(), String> {
        let link = format!("{}/docs/{id}", self.container_link);
        let (status, body) = self.send_wire(Method::GET, &link, &link, pk, None).await?;
        self.expect(status, 200, &body)?;
        self.wire.read_body(&body)
    }

    /// `raw-hyper-wire` create: Sextant's headers, reading the response headers Sextant reads;
    /// expects 201.
    pub async fn create_wire(&self, pk: &str, body: String) -> Result<(), String> {
        let path = format!("{}/docs", self.container_link);
        let link = &self.container_link;
        let (status, body) = self
            .send_wire(Method::POST, link, &path, pk, Some(body))
            .await?;
        self.expect(status, 201, &body)?;
        self.wire.read_body(&body)
    }

    /// One signed request with the `raw-hyper-wire` headers, in Sextant's order (`host` last),
    /// in a map sized for them, on a pooled (or new) connection, bounded by the timeout. The
    /// exchange is [`RawHyper::send`]'s, plus reading the response headers.
    async fn send_wire(
        &self,
        method: Method,
        link: &str,
        path: &str,
        pk: &str,
        body: Option<String>,
    ) -> Result<(u16, Bytes), String> {
        let date = httpdate::fmt_http_date(SystemTime::now());
        let auth = self
            .wire
            .sign(&self.key, method.as_str(), "docs", link, &date)?;
        let mut headers = self.wire.request_headers(pk, body.is_some(), date, auth)?;
        headers.insert(HOST, self.host.clone());
        let mut req = http::Request::new(match body {
            Some(b) => Full::new(Bytes::from(b)),
            None => Full::new(Bytes::new()),
        });
        *req.method_mut() = method;
        *req.uri_mut() =
            http::Uri::try_from(format!("/{path}")).map_err(|e| format!("raw hyper uri: {e}"))?;
        *req.headers_mut() = headers;
        let exchange = async {
            let mut sender = self.checkout().await?;
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| format!("raw hyper request: {e}"))?;
            let (parts, incoming) = resp.into_parts();
            self.wire.read_response(&parts.headers);
            let bytes = incoming
                .collect()
                .await
                .map_err(|e| format!("raw hyper response body: {e}"))?
                .to_bytes();
            self.checkin(sender);
            Ok((parts.status.as_u16(), bytes))
        };
        let timeout = async {
            smol::Timer::after(self.timeout).await;
            Err(format!("raw hyper: timed out after {:?}", self.timeout))
        };
        smol::future::or(exchange, timeout).await
    }

    /// The most recently used idle connection that is still open and ready, or a new one.
    async fn checkout(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        loop {
            let popped = self.idle.lock().map_err(|e| e.to_string())?.pop();
            let Some(mut sender) = popped else { break };
            if !sender.is_closed() && sender.ready().await.is_ok() {
                return Ok(sender);
            }
        }
        let tcp = smol::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("raw hyper connect {}: {e}", self.addr))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, conn) = http1::handshake(Io::new(tcp))
            .await
            .map_err(|e| format!("raw hyper handshake: {e}"))?;
        (self.spawn)(Box::pin(async move {
            let _ = conn.await;
        }));
        Ok(sender)
    }

    fn checkin(&self, sender: SendRequest<Full<Bytes>>) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < self.pool_max_idle.max(1) {
                idle.push(sender);
            }
        }
    }

    fn expect(&self, status: u16, want: u16, body: &Bytes) -> Result<(), String> {
        if status != want || body.is_empty() {
            return Err(format!(
                "expected {want}, got {status}: {}",
                String::from_utf8_lossy(body)
            ));
        }
        if self.app {
            crate::workload::Item::parse(body)?;
        }
        Ok(())
    }
}

/// A futures-io stream usable by hyper: reads go through a scratch buffer (allocated and zeroed
/// once) and the bytes that arrived are copied into hyper's buffer; no `unsafe`.
struct Io<S> {
    inner: S,
    scratch: Vec<u8>,
}

impl<S> Io<S> {
    fn new(inner: S) -> Self {
        Io {
            inner,
            scratch: Vec::new(),
        }
    }
}

impl<S: futures_io::AsyncRead + Unpin> hyper::rt::Read for Io<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let want = buf.remaining().min(16 * 1024);
        if this.scratch.len() < want {
            this.scratch.resize(want, 0);
        }
        let scratch = &mut this.scratch[..want];
        match Pin::new(&mut this.inner).poll_read(cx, scratch) {
            Poll::Ready(Ok(n)) => {
                buf.put_slice(&scratch[..n.min(want)]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: futures_io::AsyncWrite + Unpin> hyper::rt::Write for Io<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}
