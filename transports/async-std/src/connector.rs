//! Opening connections: name resolution, TCP, TLS and the hyper HTTP/1.1 handshake.
//!
//! Sockets ([`Tcp`], an `async_io::Async` that reads only after readiness; names resolve through
//! `async-net`) and timers come from `async-io`, whose reactor async-std and smol share, so the
//! same code runs under either runtime (and under a plain `futures_lite::future::block_on`, where
//! async-io drives its reactor on its own thread).

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_io::Timer;
use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::client::TlsStream;
use futures_rustls::TlsConnector;
use http::Uri;
use sextant_core::{RequestSent, TransportError, TransportErrorKind};

use crate::connection::Connection;
use crate::deadline::{race, Raced};
use crate::error_map::io_message;
use crate::io::{HyperIo, IoCounters};
use crate::tcp::Tcp;
use crate::tls::server_name;

/// Where a connection goes: the pool keeps idle connections per key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PoolKey {
    /// `https` (else plain `http`).
    pub(crate) https: bool,
    /// Host as written in the URI (IPv6 in brackets).
    pub(crate) host: String,
    /// Port (the scheme's default when the URI has none).
    pub(crate) port: u16,
}

/// A [`PoolKey`] borrowing its host from the URI, to look up the pool without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyRef<'a> {
    /// `https` (else plain `http`).
    pub(crate) https: bool,
    /// Host as written in the URI (IPv6 in brackets).
    pub(crate) host: &'a str,
    /// Port (the scheme's default when the URI has none).
    pub(crate) port: u16,
}

impl<'a> KeyRef<'a> {
    /// The key of an absolute `http` or `https` URI.
    pub(crate) fn from_uri(uri: &'a Uri) -> Result<KeyRef<'a>, String> {
        let https = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => true,
            Some(s) if s.eq_ignore_ascii_case("http") => false,
            other => return Err(format!("unsupported URI scheme {other:?} in {uri}")),
        };
        let (host, port) = host_and_port(uri);
        let host = host
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("no host in {uri}"))?;
        let port = port.unwrap_or(if https { 443 } else { 80 });
        Ok(KeyRef { https, host, port })
    }

    /// The owned key.
    pub(crate) fn to_owned(self) -> PoolKey {
        PoolKey {
            https: self.https,
            host: self.host.to_string(),
            port: self.port,
        }
    }

    /// Whether `key` is this key.
    pub(crate) fn is(&self, key: &PoolKey) -> bool {
        self.https == key.https && self.port == key.port && self.host == key.host
    }
}

/// `uri.host()` and `uri.port_u16()`, in one pass over the authority for the usual `host:port`
/// or `host` (a name or an IPv4 address): `http` scans the authority once for each, about 700
/// instructions per attempt together, and every attempt looks its connection up by them. An
/// authority with user info or an IPv6 literal (`@`, `[`), or a port that is not a `u16`, is
/// left to `http`.
fn host_and_port(uri: &Uri) -> (Option<&str>, Option<u16>) {
    let authority = uri.authority().map_or("", |a| a.as_str());
    if !authority.bytes().any(|b| b == b'@' || b == b'[') {
        match authority.rsplit_once(':') {
            None => return (uri.authority().map(|_| authority), None),
            Some((host, port)) => {
                if let Ok(port) = port.parse::<u16>() {
                    return (Some(host), Some(port));
                }
            }
        }
    }
    (uri.host(), uri.port_u16())
}

impl fmt::Display for PoolKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// A TCP stream, with or without TLS.
pub(crate) enum Stream {
    /// Plain TCP.
    Plain(Tcp),
    /// TLS over TCP.
    Tls(Box<TlsStream<Tcp>>),
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stream::Plain(_) => "Stream::Plain",
            Stream::Tls(_) => "Stream::Tls",
        })
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_close(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_close(cx),
        }
    }
}

/// Opens connections. Every failure here happens before any request byte is written, so every
/// error it returns is `NotSent`.
#[derive(Clone)]
pub(crate) struct Connector {
    tls: TlsConnector,
    connect_timeout: Duration,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// A connector using `tls` for `https` keys; resolution, TCP and TLS together are bounded by
    /// `connect_timeout`.
    pub(crate) fn new(tls: Arc<rustls::ClientConfig>, connect_timeout: Duration) -> Self {
        Connector {
            tls: TlsConnector::from(tls),
            connect_timeout,
        }
    }

    /// Opens a new HTTP/1.1 connection to `key`.
    pub(crate) async fn connect(&self, key: &PoolKey) -> Result<Connection, TransportError> {
        let mut timer = Timer::after(self.connect_timeout);
        let (stream, probe) = match race(&mut timer, self.open_stream(key)).await {
            Raced::Done(r) => r?,
            Raced::TimedOut => {
                return Err(not_sent(
                    TransportErrorKind::Connect,
                    format!(
                        "connect to {key} timed out after {:?}",
                        self.connect_timeout
                    ),
                ))
            }
        };
        let counters = Arc::new(IoCounters::default());
        let io = HyperIo::new(stream, counters.clone());
        // The HTTP/1 handshake performs no I/O; it only sets up the dispatcher.
        let (sender, driver) = hyper::client::conn::http1::Builder::new()
            .handshake(io)
            .await
            .map_err(|e| {
                not_sent(
                    TransportErrorKind::Other,
                    format!("HTTP/1.1 setup for {key}: {e}"),
                )
            })?;
        Ok(Connection::new(
            sender,
            driver,
            counters,
            probe,
            key.clone(),
        ))
    }

    /// The stream, and its socket's probe flag ([`Tcp::probe_handle`]).
    async fn open_stream(
        &self,
        key: &PoolKey,
    ) -> Result<(Stream, Arc<AtomicBool>), TransportError> {
        let tcp = tcp_connect(key).await?;
        let probe = tcp.probe_handle();
        if !key.https {
            return Ok((Stream::Plain(tcp), probe));
        }
        let name = server_name(&key.host).map_err(|m| not_sent(TransportErrorKind::Tls, m))?;
        match self.tls.connect(name, tcp).await {
            Ok(tls) => Ok((Stream::Tls(Box::new(tls)), probe)),
            Err(e) => Err(not_sent(
                TransportErrorKind::Tls,
                format!("TLS handshake with {key} failed: {}", io_message(&e)),
            )),
        }
    }
}

/// Resolves `key.host` and connects to the first address that accepts.
async fn tcp_connect(key: &PoolKey) -> Result<Tcp, TransportError> {
    let bare = key.host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, key.port)],
        Err(_) => async_net::resolve((bare, key.port)).await.map_err(|e| {
            not_sent(
                TransportErrorKind::Dns,
                format!("cannot resolve {bare}: {}", io_message(&e)),
            )
        })?,
    };
    let mut last = None;
    for addr in addrs {
        match Tcp::connect(addr).await {
            Ok(tcp) => {
                // Requests are small and latency-bound; Nagle only delays them.
                let _ = tcp.set_nodelay(true);
                return Ok(tcp);
            }
            Err(e) => last = Some(format!("connect to {addr} failed: {}", io_message(&e))),
        }
    }
    Err(not_sent(
        TransportErrorKind::Connect,
        last.unwrap_or_else(|| format!("{bare} resolved to no address")),
    ))
}

fn not_sent(kind: TransportErrorKind, message: String) -> TransportError {
    TransportError::new(kind, RequestSent::NotSent, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_default_ports_and_reject_other_schemes() {
        let key = |s: &str| {
            let uri = s.parse::<Uri>().map_err(|e| e.to_string())?;
            KeyRef::from_uri(&uri).map(KeyRef::to_owned)
        };
        assert_eq!(
            key("https://a.example/dbs"),
            Ok(PoolKey {
                https: true,
                host: "a.example".into(),
                port: 443
            })
        );
        assert_eq!(
            key("http://127.0.0.1:8081/").map(|k| (k.https, k.port)),
            Ok((false, 8081))
        );
        assert_eq!(
            key("HTTP://[::1]/").map(|k| k.to_string()),
            Ok("http://[::1]:80".into())
        );
        assert!(key("ftp://a.example/").is_err());
        assert!(key("/relative").is_err());
    }

    /// The one-pass split agrees with `Uri::host` and `Uri::port_u16` wherever it answers.
    #[test]
    fn host_and_port_is_what_http_says() {
        for s in [
            "https://a.example/dbs",
            "https://a.example:443/",
            "http://127.0.0.1:8081/x",
            "http://127.0.0.1/",
            "https://acct-westus.documents.azure.com:443/dbs/db",
            "http://[::1]:8080/",
            "http://[::1]/",
            "http://user@host:81/",
            "http://user:pw@host/",
            "http://host:/",
            "/relative",
        ] {
            let uri = s.parse::<Uri>().unwrap();
            assert_eq!(host_and_port(&uri), (uri.host(), uri.port_u16()), "{s}");
        }
    }
}
