//! The bridge from `futures-io` streams to hyper's own IO traits, counting the bytes that cross it.
//!
//! hyper 1 speaks [`hyper::rt::Read`]/[`hyper::rt::Write`]; async-io, async-net and
//! futures-rustls speak `futures_io::AsyncRead`/`AsyncWrite`. [`HyperIo`] adapts one to the other
//! without `unsafe`: reads go through an owned scratch buffer and are copied into hyper's cursor
//! with `put_slice` (one extra copy of each received chunk, which is cheap next to the syscall).
//!
//! The adapter also counts every byte hyper writes and reads ([`IoCounters`]). Those counters are
//! what makes `request_sent` exact: an attempt that fails before its connection's write counter
//! moved provably never left the client.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use sextant_core::RequestSent;

/// Size of the scratch buffer reads go through (one TLS record's worth of plaintext).
const SCRATCH_BYTES: usize = 16 * 1024;

/// Bytes written and read through one connection since it was opened.
#[derive(Debug, Default)]
pub(crate) struct IoCounters {
    written: AtomicU64,
    read: AtomicU64,
}

impl IoCounters {
    /// The counters now; compare a later [`IoCounters::sent_since`] against it.
    pub(crate) fn mark(&self) -> IoMark {
        IoMark {
            written: self.written.load(Ordering::Relaxed),
            read: self.read.load(Ordering::Relaxed),
        }
    }

    /// Whether a request started at `mark` may have reached the peer: `NotSent` while nothing
    /// was written since, `Sent` once response bytes arrived after writing began, else `Unknown`.
    pub(crate) fn sent_since(&self, mark: IoMark) -> RequestSent {
        let now = self.mark();
        if now.written == mark.written {
            RequestSent::NotSent
        } else if now.read > mark.read {
            RequestSent::Sent
        } else {
            RequestSent::Unknown
        }
    }
}

/// A snapshot of [`IoCounters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IoMark {
    written: u64,
    read: u64,
}

/// A `futures-io` stream usable by hyper.
#[derive(Debug)]
pub(crate) struct HyperIo<S> {
    inner: S,
    scratch: Vec<u8>,
    counters: Arc<IoCounters>,
}

impl<S> HyperIo<S> {
    /// Wraps `inner`, counting into `counters`.
    pub(crate) fn new(inner: S, counters: Arc<IoCounters>) -> Self {
        HyperIo {
            inner,
            scratch: Vec::new(),
            counters,
        }
    }
}

impl<S: AsyncRead + Unpin> hyper::rt::Read for HyperIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let want = buf.remaining().min(SCRATCH_BYTES);
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        if this.scratch.len() < want {
            this.scratch.resize(want, 0);
        }
        let scratch = &mut this.scratch[..want];
        match Pin::new(&mut this.inner).poll_read(cx, scratch) {
            Poll::Ready(Ok(n)) => {
                let n = n.min(want);
                buf.put_slice(&scratch[..n]);
                this.counters.read.fetch_add(n as u64, Ordering::Relaxed);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let res = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &res {
            this.counters
                .written
                .fetch_add(*n as u64, Ordering::Relaxed);
        }
        res
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use futures_lite::future::block_on;
    use futures_lite::io::Cursor;

    #[test]
    fn reads_copy_into_hypers_cursor_and_count() {
        let counters = Arc::new(IoCounters::default());
        let mut io = HyperIo::new(Cursor::new(b"hello world".to_vec()), counters.clone());
        let mut storage = [0u8; 5];
        let mut buf = hyper::rt::ReadBuf::new(&mut storage);
        let n = block_on(futures_lite::future::poll_fn(|cx| {
            hyper::rt::Read::poll_read(Pin::new(&mut io), cx, buf.unfilled())
        }));
        assert!(n.is_ok());
        assert_eq!(buf.filled(), b"hello");
        assert_eq!(counters.mark().read, 5);
    }

    #[test]
    fn request_sent_follows_the_counters() {
        let counters = Arc::new(IoCounters::default());
        let mark = counters.mark();
        assert_eq!(counters.sent_since(mark), RequestSent::NotSent);
        // Bytes read without any write (e.g. a stale response) do not make a request sent.
        counters.read.fetch_add(3, Ordering::Relaxed);
        assert_eq!(counters.sent_since(mark), RequestSent::NotSent);
        let mark = counters.mark();
        counters.written.fetch_add(10, Ordering::Relaxed);
        assert_eq!(counters.sent_since(mark), RequestSent::Unknown);
        counters.read.fetch_add(1, Ordering::Relaxed);
        assert_eq!(counters.sent_since(mark), RequestSent::Sent);
    }

    #[test]
    fn writes_are_counted() {
        let counters = Arc::new(IoCounters::default());
        let mut io = HyperIo::new(Cursor::new(Vec::new()), counters.clone());
        let res = block_on(futures_lite::future::poll_fn(|cx| {
            hyper::rt::Write::poll_write(Pin::new(&mut io), cx, b"abc")
        }));
        assert_eq!(res.ok(), Some(3));
        assert_eq!(counters.mark().written, 3);
    }
}
