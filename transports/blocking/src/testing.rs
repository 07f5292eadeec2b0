//! Test helpers: a scripted HTTP/1.1 peer on loopback and request fixtures.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method};
use sextant_core::{AttemptId, ExecutionContext, OutgoingRequest, Purpose};

/// How long the peer waits for anything before giving up (bounds every test).
const PEER_TIMEOUT: Duration = Duration::from_secs(10);

/// What the peer does after reading a request head.
#[derive(Debug, Clone)]
pub(crate) enum Script {
    /// Writes these bytes and closes.
    Answer(Vec<u8>),
    /// Writes these bytes, then keeps the connection open without writing more until released.
    AnswerThenStall(Vec<u8>),
    /// Answers each request on this connection with the next response (keep-alive), then holds
    /// the connection open until released.
    KeepAlive(Vec<Vec<u8>>),
    /// Writes nothing until released.
    Silent,
    /// Closes the connection at once.
    Close,
}

/// A loopback peer serving one script per accepted connection, in order. Dropping it releases
/// stalled connections.
pub(crate) struct Peer {
    pub(crate) addr: SocketAddr,
    release: Option<mpsc::Sender<()>>,
    /// Scripts whose connection was not accepted yet.
    pending: Arc<AtomicUsize>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Peer {
    pub(crate) fn start(scripts: Vec<Script>) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let pending = Arc::new(AtomicUsize::new(scripts.len()));
        let counter = Arc::clone(&pending);
        let handle = thread::spawn(move || {
            let mut held = Vec::new();
            for script in scripts {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                counter.fetch_sub(1, Ordering::SeqCst);
                stream.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
                read_head(&mut stream);
                match script {
                    Script::Answer(bytes) => {
                        let _ = stream.write_all(&bytes);
                    }
                    Script::AnswerThenStall(bytes) => {
                        let _ = stream.write_all(&bytes);
                        held.push(stream);
                    }
                    Script::KeepAlive(responses) => {
                        for (i, bytes) in responses.iter().enumerate() {
                            if i > 0 {
                                read_head(&mut stream);
                            }
                            let _ = stream.write_all(bytes);
                        }
                        held.push(stream);
                    }
                    Script::Silent => held.push(stream),
                    Script::Close => drop(stream),
                }
            }
            // Keep held connections open until released (or the bound passes).
            let _ = release_rx.recv_timeout(PEER_TIMEOUT);
            drop(held);
        });
        Peer {
            addr,
            release: Some(release_tx),
            pending,
            handle: Some(handle),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(h) = self.handle.take() {
            // Unblock a peer still waiting in `accept` (its scripts were not all used).
            for _ in 0..self.pending.load(Ordering::SeqCst) {
                let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
            }
            let _ = h.join();
        }
    }
}

fn read_head(stream: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return,
        }
    }
}

/// A complete response with a body.
pub(crate) fn response(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\nx-ms-request-charge: 1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A GET of `url` as attempt `id`, due `timeout` from now.
pub(crate) fn request(
    id: u64,
    url: &str,
    timeout: Duration,
    max_response_bytes: usize,
) -> Box<OutgoingRequest> {
    Box::new(OutgoingRequest {
        attempt: AttemptId(id),
        method: Method::GET,
        uri: url.parse().unwrap(),
        headers: HeaderMap::new(),
        body: Bytes::new(),
        region: Arc::from(""),
        purpose: Purpose::Operation,
        execution_context: ExecutionContext::Initial,
        deadline: Instant::now() + timeout,
        max_response_bytes,
    })
}
