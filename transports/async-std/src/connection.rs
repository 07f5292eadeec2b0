//! One HTTP/1.1 connection, driven inline by whoever uses it (no spawned task).
//!
//! hyper splits a connection into a `SendRequest` handle and a `Connection` future that does
//! the actual I/O and must be polled. Instead of spawning that future on some executor (which
//! would tie this crate to one runtime), [`Connection`] keeps both halves together and every
//! operation on it polls the I/O future alongside what it waits for. While a connection sits idle
//! in the pool nobody polls it; it is polled again (and found dead, if the peer closed it) when
//! it is next checked out.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use bytes::{Bytes, BytesMut};
use futures_lite::future::poll_fn;
use http_body_util::Full;
use hyper::body::{Body, Incoming};
use hyper::client::conn::http1;

use crate::connector::{PoolKey, Stream};
use crate::io::{HyperIo, IoCounters};

/// The request body type.
pub(crate) type RequestBody = Full<Bytes>;
type Driver = http1::Connection<HyperIo<Stream>, RequestBody>;

/// Why reading a response body stopped.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The body grew past the limit.
    TooLarge,
    /// hyper failed reading it.
    Hyper(hyper::Error),
}

/// Why [`Connection::send`] failed, with the request when hyper gave it back unsent.
#[derive(Debug)]
pub(crate) struct SendFailure {
    /// What went wrong.
    pub(crate) error: hyper::Error,
    /// The request, when hyper had not started on it.
    pub(crate) request: Option<http::Request<RequestBody>>,
}

/// A connection: the request handle, its I/O future and its byte counters.
pub(crate) struct Connection {
    sender: http1::SendRequest<RequestBody>,
    /// `None` once the I/O future completed (the connection is closed).
    driver: Option<Pin<Box<Driver>>>,
    /// How the I/O future ended, when it ended with an error.
    driver_error: Option<hyper::Error>,
    counters: Arc<IoCounters>,
    /// The socket's probe flag: set before an idle connection is reused ([`Connection::ready_now`]).
    probe: Arc<AtomicBool>,
    /// Where it goes: the pool key it is kept under when idle.
    key: PoolKey,
    /// Whether the I/O future asked to be polled again, and the task to wake when it does.
    wake: Arc<DriverWake>,
    /// The waker the I/O future is polled with (it wakes through `wake`).
    waker: Waker,
}

/// The I/O future's waker. hyper wakes it when the connection has work (socket readiness, a
/// request queued, the body reader asking for more); the connection is polled only then rather
/// than on every poll of whoever uses it, and the task using the connection is woken in turn.
#[derive(Debug)]
struct DriverWake {
    /// Set by a wake, cleared when the I/O future is polled.
    woken: AtomicBool,
    /// The task currently using the connection.
    task: Mutex<Option<Waker>>,
}

impl DriverWake {
    /// Records `task` as the one to wake (a clone only when it changed).
    fn register(&self, task: &Waker) {
        let mut t = self.task.lock().unwrap_or_else(PoisonError::into_inner);
        match t.as_ref() {
            Some(w) if w.will_wake(task) => {}
            _ => *t = Some(task.clone()),
        }
    }
}

impl Wake for DriverWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        // Woken outside the lock: the task may start on another thread at once and register
        // (lock) again; holding the lock across the wake made it wait on a futex.
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(w) = task {
            w.wake();
        }
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("open", &self.driver.is_some())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub(crate) fn new(
        sender: http1::SendRequest<RequestBody>,
        driver: Driver,
        counters: Arc<IoCounters>,
        probe: Arc<AtomicBool>,
        key: PoolKey,
    ) -> Self {
        // Woken at first: a new I/O future has not been polled yet.
        let wake = Arc::new(DriverWake {
            woken: AtomicBool::new(true),
            task: Mutex::new(None),
        });
        let waker = Waker::from(Arc::clone(&wake));
        Connection {
            sender,
            driver: Some(Box::pin(driver)),
            driver_error: None,
            counters,
            probe,
            key,
            wake,
            waker,
        }
    }

    /// The pool key of this connection.
    pub(crate) fn key(&self) -> &PoolKey {
        &self.key
    }

    /// The byte counters of this connection.
    pub(crate) fn counters(&self) -> &Arc<IoCounters> {
        &self.counters
    }

    /// Whether the connection can still carry requests (as far as is known without polling).
    pub(crate) fn is_open(&self) -> bool {
        self.driver.is_some() && !self.sender.is_closed()
    }

    /// Polls the I/O future once if it was woken since it was last polled (a future that is
    /// not woken has nothing to do); when it finishes the connection is closed and it is dropped
    /// (which also fails any request still waiting on it). `cx`'s task is woken whenever the I/O
    /// future is.
    fn poll_driver(&mut self, cx: &mut Context<'_>) {
        if let Some(driver) = self.driver.as_mut() {
            self.wake.register(cx.waker());
            if !self.wake.woken.swap(false, Ordering::AcqRel) {
                return;
            }
            let mut own = Context::from_waker(&self.waker);
            if let Poll::Ready(result) = driver.as_mut().poll(&mut own) {
                self.driver = None;
                if let Err(e) = result {
                    self.driver_error = Some(e);
                }
            }
        }
    }

    /// Polls the connection once and reports whether it can take a request right now. Used on
    /// a pooled connection before it is reused: an idle HTTP/1 connection becomes ready on its
    /// first poll, and one the peer closed while it was idle finishes instead.
    pub(crate) async fn ready_now(&mut self) -> bool {
        // The socket is read only after the reactor reports it readable, and a close that
        // arrived while the connection sat idle may not be reported yet: read once now.
        self.probe.store(true, Ordering::Relaxed);
        self.wake.woken.store(true, Ordering::Release);
        poll_fn(|cx| {
            self.poll_driver(cx);
            if self.driver.is_none() {
                return Poll::Ready(false);
            }
            Poll::Ready(matches!(self.sender.poll_ready(cx), Poll::Ready(Ok(()))))
        })
        .await
    }

    /// Sends `req` and waits for the response head, driving the connection meanwhile.
    ///
    /// On failure, hyper hands the request back when it never started on it (the connection
    /// was closed before the request was taken); the caller can then send it on another
    /// connection without rebuilding it.
    pub(crate) async fn send(
        &mut self,
        req: http::Request<RequestBody>,
    ) -> Result<http::Response<Incoming>, SendFailure> {
        let mut response = std::pin::pin!(self.sender.try_send_request(req));
        poll_fn(|cx| {
            self.poll_driver(cx);
            match response.as_mut().poll(cx) {
                Poll::Ready(Ok(r)) => Poll::Ready(Ok(r)),
                Poll::Ready(Err(mut e)) => {
                    let request = e.take_message();
                    let e = e.into_error();
                    // A dropped dispatcher says little; the I/O future's own error says why.
                    let error = match self.driver_error.take() {
                        Some(io) if e.is_canceled() || e.is_user() => io,
                        _ => e,
                    };
                    Poll::Ready(Err(SendFailure { error, request }))
                }
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// Polls the reading of `body` into `acc` (at most `max` bytes in all), driving the
    /// connection meanwhile. Ready once the body ended; then the connection has been polled once
    /// more, so it is idle (ready for the pool) or closed.
    pub(crate) fn poll_body(
        &mut self,
        cx: &mut Context<'_>,
        body: &mut Incoming,
        max: usize,
        acc: &mut BodyBytes,
    ) -> Poll<Result<(), BodyError>> {
        // Asking for more of the body wakes the I/O future; it is then polled again at once
        // (once per call) rather than after a round trip through the task's waker.
        let mut again = true;
        loop {
            self.poll_driver(cx);
            match Pin::new(&mut *body).poll_frame(cx) {
                Poll::Ready(None) => {
                    // Let the connection see the end of the exchange (keep-alive or close).
                    self.poll_driver(cx);
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        acc.total = acc.total.saturating_add(data.len());
                        if acc.total > max {
                            return Poll::Ready(Err(BodyError::TooLarge));
                        }
                        acc.push(data);
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    let e = match self.driver_error.take() {
                        Some(io) if e.is_canceled() => io,
                        _ => e,
                    };
                    return Poll::Ready(Err(BodyError::Hyper(e)));
                }
                Poll::Pending => {
                    if again && self.wake.woken.load(Ordering::Acquire) {
                        again = false;
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

/// The chunks of a body read so far. A body that arrives in one chunk (the usual case) is kept
/// as that chunk, without copying it or allocating a list; later chunks are appended to one
/// buffer.
#[derive(Debug, Default)]
pub(crate) struct BodyBytes {
    /// The first non-empty chunk, or every chunk so far joined.
    first: Bytes,
    /// The chunks after the first, joined to it (`None` while there is only one).
    joined: Option<BytesMut>,
    /// Bytes received so far.
    total: usize,
}

impl BodyBytes {
    fn push(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        if let Some(all) = self.joined.as_mut() {
            all.extend_from_slice(&data);
        } else if self.first.is_empty() {
            self.first = data;
        } else {
            let mut all = BytesMut::with_capacity(self.total);
            all.extend_from_slice(&self.first);
            all.extend_from_slice(&data);
            self.joined = Some(all);
        }
    }

    /// The whole body.
    pub(crate) fn into_bytes(self) -> Bytes {
        match self.joined {
            Some(all) => all.freeze(),
            None => self.first,
        }
    }
}
