//! The HTTP client: a connector plus an idle pool, performing one attempt at a time per
//! connection. It contains no policy: every failure goes back to the core as it happened.
//!
//! An attempt runs in two phases so the execution loop can report
//! `ResponseHeadersReceived` between them: [`HttpClient::attempt`] resolves with the response
//! head (and a future for the body) or with a failure.
//!
//! `request_sent`, exactly:
//! - `NotSent` until the connection's write counter moves: bad URI, DNS, TCP connect, TLS
//!   handshake, connect timeout, a pooled connection found closed before writing (then the
//!   attempt moves transparently to another connection), or the attempt deadline passing
//!   before any byte was written;
//! - `Unknown` once request bytes were written and nothing came back (reset, EOF, deadline);
//! - `Sent` once response bytes arrived (a malformed head included) and for every failure
//!   after the head (body errors, body over the size limit, deadline while reading the body).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_LENGTH, HOST};
use http::{HeaderMap, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use sextant_core::{
    ConnectionPoolOptions, OutgoingRequest, RequestSent, Response, TransportError,
    TransportErrorKind,
};

use crate::connection::{BodyBytes, BodyError, Connection, RequestBody};
use crate::connector::{Connector, KeyRef};
use crate::deadline::{race_deadline, LoopTimer, Raced};
use crate::error_map::hyper_error;
use crate::pool::Pool;

/// A boxed, sendable future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the first phase of an attempt produced.
// The body reader is held inline on purpose: boxing it was one allocation per attempt, and
// there is one value of this type per attempt, moved once.
#[allow(clippy::large_enum_variant)]
pub(crate) enum AttemptHead {
    /// The response head arrived; `body` reads the rest and yields the complete response.
    Head {
        /// Completes the attempt.
        body: BodyRead,
    },
    /// The attempt failed before a response head arrived.
    Failed(TransportError),
}

/// Connector and pool, shared by every driver of a runtime.
#[derive(Debug)]
pub(crate) struct HttpClient {
    connector: Connector,
    pool: Pool,
    /// Token acquisitions that outlived the operation that started them (a background refresh):
    /// the next operation of any driver adopts and polls them (nothing is spawned).
    pub(crate) orphans: crate::execute::Orphans,
    /// Execution-loop timers of finished operations, still set, for the next operations.
    loop_timers: std::sync::Mutex<Vec<LoopTimer>>,
    /// The last `Host` header value built, reused (a reference count, not a copy) while
    /// requests go to the same authority.
    host: std::sync::Mutex<Option<HeaderValue>>,
}

/// At most this many idle loop timers are kept (one per concurrent operation is enough).
const MAX_IDLE_LOOP_TIMERS: usize = 64;

impl HttpClient {
    /// A client with the given TLS configuration and pool settings.
    pub(crate) fn new(tls: Arc<rustls::ClientConfig>, pool: &ConnectionPoolOptions) -> Self {
        HttpClient {
            connector: Connector::new(tls, pool.connect_timeout),
            pool: Pool::new(pool.max_idle_connections_per_host, pool.idle_timeout),
            orphans: crate::execute::Orphans::default(),
            loop_timers: std::sync::Mutex::new(Vec::new()),
            host: std::sync::Mutex::new(None),
        }
    }

    /// A loop timer for an operation: a kept one (usually still set, so waiting costs no new
    /// timer registration) or a new one.
    pub(crate) fn take_loop_timer(&self) -> LoopTimer {
        let kept = self
            .loop_timers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        kept.unwrap_or_else(LoopTimer::new)
    }

    /// Keeps an operation's loop timer for later operations.
    pub(crate) fn keep_loop_timer(&self, timer: LoopTimer) {
        let mut kept = self
            .loop_timers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() < MAX_IDLE_LOOP_TIMERS {
            kept.push(timer);
        }
    }

    /// Idle pooled connections (for tests and diagnostics).
    pub(crate) fn idle_connections(&self) -> usize {
        self.pool.idle_count()
    }

    /// Starts an attempt: the returned future resolves at the response head (or failure), and
    /// enforces `req.deadline` in both phases.
    ///
    /// The deadline is checked whenever the attempt is polled; the attempt arms no timer of its
    /// own. The execution loop that polls it waits for the core's `until`, which is never later
    /// than the deadline of an attempt in flight, so the loop wakes and polls it in time (the
    /// tasks before the loop's timer, so the attempt reports its own timeout, with its exact
    /// `request_sent`, as when it had a timer of its own).
    pub(crate) fn attempt(self: &Arc<Self>, req: Box<OutgoingRequest>) -> BoxFuture<AttemptHead> {
        Box::pin(self.attempt_unboxed(req))
    }

    /// `attempt` without the box, for a caller that keeps the future pinned in place.
    pub(crate) fn attempt_unboxed(
        self: &Arc<Self>,
        req: Box<OutgoingRequest>,
    ) -> impl Future<Output = AttemptHead> + Send + 'static {
        Arc::clone(self).head_phase(req)
    }

    /// Takes the request boxed, as the core hands it over: an `async fn` keeps its arguments
    /// for its whole life, and the box keeps that to a pointer (the request's fields, moved
    /// out below, share the future's space with its later states).
    async fn head_phase(self: Arc<Self>, req: Box<OutgoingRequest>) -> AttemptHead {
        let OutgoingRequest {
            method,
            uri,
            headers,
            body,
            deadline,
            max_response_bytes: max,
            ..
        } = *req;
        let key = match KeyRef::from_uri(&uri) {
            Ok(k) => k,
            Err(m) => return AttemptHead::Failed(unsendable(m)),
        };
        let mut http_req = match to_hyper_request(method, &uri, headers, body, &self.host) {
            Ok(r) => r,
            Err(m) => return AttemptHead::Failed(unsendable(m)),
        };
        loop {
            let (mut conn, pooled) = match self.checkout(key, deadline).await {
                Ok(Some(c)) => (c, true),
                Ok(None) => match self.connect(key, deadline).await {
                    Ok(c) => (c, false),
                    Err(e) => return AttemptHead::Failed(e),
                },
                Err(e) => return AttemptHead::Failed(e),
            };
            let mark = conn.counters().mark();
            match race_deadline(deadline, conn.send(http_req)).await {
                Raced::Done(Ok(resp)) => {
                    let (parts, incoming) = resp.into_parts();
                    let head = Response {
                        status: parts.status.as_u16(),
                        headers: parts.headers,
                        body: Bytes::new(),
                    };
                    let body =
                        BodyRead::new(Arc::clone(&self), conn, incoming, deadline, max, head);
                    return AttemptHead::Head { body };
                }
                Raced::Done(Err(failure)) => {
                    let sent = conn.counters().sent_since(mark);
                    if pooled && sent == RequestSent::NotSent {
                        // The pooled connection died before our request left: use another.
                        // Bounded: each turn removes a connection from the pool, and a fresh
                        // connection never comes back here. hyper hands the request back when
                        // it had not started on it (the usual case: the close is seen before
                        // the request is taken); when it had, and still wrote nothing, the
                        // attempt fails as not sent and the core decides.
                        if let Some(request) = failure.request {
                            http_req = request;
                            continue;
                        }
                    }
                    return AttemptHead::Failed(hyper_error(&failure.error, sent));
                }
                Raced::TimedOut => {
                    let sent = conn.counters().sent_since(mark);
                    return AttemptHead::Failed(deadline_error(
                        sent,
                        "waiting for the response head",
                    ));
                }
            }
        }
    }

    /// A new connection for `key`, within `deadline`. Its future (resolution, TCP, TLS) is
    /// large and rare, so it is boxed: the attempt's own future, built and moved on every
    /// attempt, stays small.
    async fn connect(
        &self,
        key: KeyRef<'_>,
        deadline: Instant,
    ) -> Result<Connection, TransportError> {
        let key = key.to_owned();
        match race_deadline(deadline, Box::pin(self.connector.connect(&key))).await {
            Raced::Done(r) => r,
            Raced::TimedOut => Err(deadline_error(RequestSent::NotSent, "connecting")),
        }
    }

    /// A pooled connection for `key` that is ready right now, if any.
    async fn checkout(
        &self,
        key: KeyRef<'_>,
        deadline: Instant,
    ) -> Result<Option<Connection>, TransportError> {
        while let Some(mut conn) = self.pool.take(key, Instant::now()) {
            match race_deadline(deadline, conn.ready_now()).await {
                Raced::Done(true) => return Ok(Some(conn)),
                Raced::Done(false) => continue,
                Raced::TimedOut => {
                    return Err(deadline_error(
                        RequestSent::NotSent,
                        "checking out a connection",
                    ))
                }
            }
        }
        Ok(None)
    }
}

/// The second phase of an attempt: reads the body (bounded by `max` and by the attempt's
/// deadline) and returns the connection to the pool once the exchange completed cleanly.
///
/// A plain future (not an `async fn`) so the execution loop holds it inline, without boxing it.
pub(crate) struct BodyRead {
    /// `None` once it has completed.
    state: Option<BodyState>,
}

struct BodyState {
    client: Arc<HttpClient>,
    conn: Connection,
    body: Incoming,
    deadline: Instant,
    max: usize,
    /// The head, and the body once read.
    response: Response,
    bytes: BodyBytes,
    /// Whether it has been polled (the announced length is checked on the first poll).
    started: bool,
}

impl BodyRead {
    fn new(
        client: Arc<HttpClient>,
        conn: Connection,
        body: Incoming,
        deadline: Instant,
        max: usize,
        response: Response,
    ) -> Self {
        BodyRead {
            state: Some(BodyState {
                client,
                conn,
                body,
                deadline,
                max,
                response,
                bytes: BodyBytes::default(),
                started: false,
            }),
        }
    }
}

impl Future for BodyRead {
    type Output = Result<Response, TransportError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(st) = this.state.as_mut() else {
            // Polled after it completed: there is nothing left to produce.
            return Poll::Pending;
        };
        let max = st.max;
        if !st.started {
            st.started = true;
            if let Some(len) = content_length(&st.response.headers) {
                if len > max as u64 {
                    this.state = None;
                    return Poll::Ready(Err(too_large(format!(
                        "content-length {len} exceeds the limit of {max} bytes"
                    ))));
                }
            }
        }
        // As `race_deadline`: the body first, so a body complete at the deadline still wins.
        let read = match st.conn.poll_body(cx, &mut st.body, max, &mut st.bytes) {
            Poll::Ready(r) => r,
            Poll::Pending if Instant::now() >= st.deadline => {
                this.state = None;
                return Poll::Ready(Err(deadline_error(
                    RequestSent::Sent,
                    "reading the response body",
                )));
            }
            Poll::Pending => return Poll::Pending,
        };
        let Some(st) = this.state.take() else {
            return Poll::Pending;
        };
        Poll::Ready(match read {
            Ok(()) => {
                let BodyState {
                    client,
                    conn,
                    body,
                    mut response,
                    bytes,
                    ..
                } = st;
                drop(body);
                client.pool.put(conn, Instant::now());
                response.body = bytes.into_bytes();
                Ok(response)
            }
            Err(BodyError::TooLarge) => Err(too_large(format!(
                "response body exceeds the limit of {max} bytes"
            ))),
            Err(BodyError::Hyper(e)) => Err(hyper_error(&e, RequestSent::Sent)),
        })
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn too_large(message: String) -> TransportError {
    TransportError::new(
        TransportErrorKind::ResponseTooLarge,
        RequestSent::Sent,
        message,
    )
}

/// A request that cannot be put on the wire at all (the core built an unusable URI).
fn unsendable(message: String) -> TransportError {
    TransportError::new(TransportErrorKind::Other, RequestSent::NotSent, message)
}

fn deadline_error(sent: RequestSent, phase: &str) -> TransportError {
    TransportError::new(
        TransportErrorKind::Timeout,
        sent,
        format!("attempt deadline passed while {phase}"),
    )
}

/// The `Host` header value for `authority`: the last one built when it is the same authority
/// (cloning it only counts a reference), else a new one, which becomes the last.
fn host_value(
    authority: &str,
    last: &std::sync::Mutex<Option<HeaderValue>>,
) -> Result<HeaderValue, String> {
    let mut last = last
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(v) = last
        .as_ref()
        .filter(|v| v.as_bytes() == authority.as_bytes())
    {
        return Ok(v.clone());
    }
    let v =
        HeaderValue::from_str(authority).map_err(|e| format!("invalid host {authority:?}: {e}"))?;
    *last = Some(v.clone());
    Ok(v)
}

/// The request in origin form with a `Host` header, as HTTP/1.1 sends it. The headers and the
/// body are moved, not copied: if a pooled connection turns out dead, hyper hands the request
/// back for the next connection ([`crate::connection::SendFailure`]).
fn to_hyper_request(
    method: http::Method,
    full: &Uri,
    headers: HeaderMap,
    body: Bytes,
    last_host: &std::sync::Mutex<Option<HeaderValue>>,
) -> Result<http::Request<RequestBody>, String> {
    let mut parts = http::uri::Parts::default();
    parts.path_and_query = Some(
        full.path_and_query()
            .cloned()
            .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
    );
    let uri = Uri::from_parts(parts).map_err(|e| format!("invalid request URI {full}: {e}"))?;
    let mut out = http::Request::new(Full::new(body));
    *out.method_mut() = method;
    *out.uri_mut() = uri;
    *out.headers_mut() = headers;
    if !out.headers().contains_key(HOST) {
        let authority = full.authority().map(|a| a.as_str()).unwrap_or_default();
        out.headers_mut()
            .insert(HOST, host_value(authority, last_host)?);
    }
    Ok(out)
}
