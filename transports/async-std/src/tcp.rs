//! A TCP stream that reads only after the reactor said it is readable.
//!
//! `async_net::TcpStream` (and `async_io::Async`) try the `read` syscall on every poll and only
//! wait for readiness after it failed with `EAGAIN`. hyper polls a connection's read side every
//! time the connection is driven (to notice a response, or the peer closing an idle connection),
//! and this crate drives a connection alongside everything its operation waits for, so most of
//! those reads failed: about 8 `recvfrom` per point read returned `EAGAIN`.
//!
//! [`Tcp`] keeps a readiness flag instead, as tokio does: a read is tried only while the socket
//! may have data, that is after the reactor reported it readable and until a read comes back
//! short (the kernel buffer was drained) or would block. Otherwise it waits on
//! `Async::poll_readable`, which costs no syscall when the same task already waits. The reactor
//! is level-triggered (epoll one-shot, re-armed on registration), so a short read that did not
//! drain everything is safe: re-arming reports the remaining data at once.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use async_io::Async;
use futures_io::{AsyncRead, AsyncWrite};

/// A connected TCP stream on the async-io reactor.
#[derive(Debug)]
pub(crate) struct Tcp {
    io: Async<TcpStream>,
    /// Whether a read may find data without waiting for the reactor first.
    readable: bool,
    /// Set by the pool before an idle connection is reused: try one read even without a
    /// readiness report, so that a close the reactor has not reported yet is seen now (as an
    /// end of stream) instead of failing the request that reuses the connection.
    probe: Arc<AtomicBool>,
}

impl Tcp {
    /// Connects to `addr` (non-blocking connect, completed on the reactor).
    pub(crate) async fn connect(addr: SocketAddr) -> io::Result<Tcp> {
        let io = Async::<TcpStream>::connect(addr).await?;
        Ok(Tcp {
            io,
            readable: false,
            probe: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The flag that makes the next read try the socket at once (see [`Tcp::probe`]'s field).
    pub(crate) fn probe_handle(&self) -> Arc<AtomicBool> {
        self.probe.clone()
    }

    /// Sets `TCP_NODELAY`.
    pub(crate) fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(on)
    }
}

impl AsyncRead for Tcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.probe.swap(false, Ordering::Relaxed) {
            this.readable = true;
        }
        loop {
            if !this.readable {
                ready!(this.io.poll_readable(cx))?;
                this.readable = true;
            }
            match this.io.get_ref().read(buf) {
                Ok(n) => {
                    // A short read drained the socket (or hit end of stream): wait next time.
                    if n < buf.len() {
                        this.readable = false;
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => this.readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Tcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // Writes are rare and usually succeed at once (the send buffer has room).
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.get_ref().shutdown(Shutdown::Write))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::Write;
    use std::net::TcpListener;

    use futures_lite::future::block_on;
    use futures_lite::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn reads_wait_for_data_and_see_everything_and_the_end() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        block_on(async {
            let mut tcp = Tcp::connect(addr).await.unwrap();
            tcp.set_nodelay(true).unwrap();
            let (mut peer, _) = listener.accept().unwrap();
            let writer = std::thread::spawn(move || {
                // Two separate writes: the second arrives while the reader waits again.
                peer.write_all(b"hello ").unwrap();
                std::thread::sleep(std::time::Duration::from_millis(20));
                peer.write_all(b"world").unwrap();
                let mut got = [0u8; 4];
                std::io::Read::read_exact(&mut peer, &mut got).unwrap();
                assert_eq!(&got, b"ping");
                // Closing ends the reader's stream.
            });
            tcp.write_all(b"ping").await.unwrap();
            let mut all = Vec::new();
            tcp.read_to_end(&mut all).await.unwrap();
            assert_eq!(all, b"hello world");
            writer.join().unwrap();
        });
    }

    #[test]
    fn a_full_buffer_read_keeps_reading_without_waiting() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        block_on(async {
            let mut tcp = Tcp::connect(addr).await.unwrap();
            let (mut peer, _) = listener.accept().unwrap();
            peer.write_all(&[7u8; 10]).unwrap();
            drop(peer);
            let mut small = [0u8; 4];
            let mut total = 0;
            loop {
                let n = tcp.read(&mut small).await.unwrap();
                if n == 0 {
                    break;
                }
                total += n;
            }
            assert_eq!(total, 10);
        });
    }
}
