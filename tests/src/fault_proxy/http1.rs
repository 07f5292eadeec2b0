//! Just enough HTTP/1.1 for the fault proxy: message heads, `Content-Length` and chunked bodies,
//! over blocking sockets whose every read is bounded by a deadline and by the proxy's shutdown
//! flag.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Granularity of blocking reads: how often a waiting thread checks its deadline and the
/// shutdown flag. Reads return as soon as data arrives, so this adds no latency.
pub(crate) const POLL: Duration = Duration::from_millis(50);
/// Bound on every socket write.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest message head accepted.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// Largest body accepted (requests and responses).
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;

/// A parsed message head (request or response).
#[derive(Debug, Clone)]
pub(crate) struct Head {
    /// The request line or status line, without CRLF.
    pub start_line: String,
    /// Header fields in order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The head exactly as received, CRLFCRLF included.
    pub raw: Vec<u8>,
}

impl Head {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `Content-Length`, if present and valid.
    pub fn content_length(&self) -> io::Result<Option<usize>> {
        match self.header("content-length") {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<usize>()
                .map(Some)
                .map_err(|_| invalid(format!("bad content-length {v:?}"))),
        }
    }

    /// True when `Transfer-Encoding` ends with `chunked`.
    pub fn is_chunked(&self) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == "transfer-encoding")
            .any(|(_, v)| v.to_ascii_lowercase().contains("chunked"))
    }

    /// True when the sender asked to close the connection after this message.
    pub fn connection_close(&self) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == "connection")
            .any(|(_, v)| {
                v.to_ascii_lowercase()
                    .split(',')
                    .any(|t| t.trim() == "close")
            })
    }

    /// For a request: `(method, request-target)`.
    pub fn request_line(&self) -> io::Result<(String, String)> {
        let mut parts = self.start_line.split(' ');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(m), Some(t), Some(v)) if !m.is_empty() && v.starts_with("HTTP/1.") => {
                Ok((m.to_owned(), t.to_owned()))
            }
            _ => Err(invalid(format!("bad request line {:?}", self.start_line))),
        }
    }

    /// For a response: the status code.
    pub fn status(&self) -> io::Result<u16> {
        let mut parts = self.start_line.split(' ');
        match (parts.next(), parts.next()) {
            (Some(v), Some(code)) if v.starts_with("HTTP/1.") => code
                .parse::<u16>()
                .map_err(|_| invalid(format!("bad status line {:?}", self.start_line))),
            _ => Err(invalid(format!("bad status line {:?}", self.start_line))),
        }
    }
}

pub(crate) fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

fn shutting_down() -> io::Error {
    io::Error::new(
        io::ErrorKind::Interrupted,
        "the fault proxy is shutting down",
    )
}

fn find_crlfcrlf(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

fn parse_head(raw: Vec<u8>) -> io::Result<Head> {
    let text = std::str::from_utf8(&raw[..raw.len() - 4])
        .map_err(|_| invalid("message head is not UTF-8".into()))?;
    let mut lines = text.split("\r\n");
    let start_line = lines.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("bad header line {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    Ok(Head {
        start_line,
        headers,
        raw,
    })
}

/// One side of a proxied connection: a blocking socket polled in [`POLL`] steps plus the bytes
/// read ahead of what was consumed.
pub(crate) struct Wire {
    stream: TcpStream,
    buf: Vec<u8>,
    shutdown: Arc<AtomicBool>,
}

impl Wire {
    /// Wraps `stream` (made blocking, with the poll read timeout and the write timeout).
    pub fn new(stream: TcpStream, shutdown: Arc<AtomicBool>) -> io::Result<Wire> {
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(POLL))?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
        let _ = stream.set_nodelay(true);
        Ok(Wire {
            stream,
            buf: Vec::new(),
            shutdown,
        })
    }

    /// The socket (for `shutdown`).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Reads more bytes into the buffer. `Ok(0)` is EOF; a passed deadline is `TimedOut`; a
    /// proxy shutdown is `Interrupted`.
    pub fn read_more(&mut self, deadline: Instant) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if self.shutdown.load(Ordering::SeqCst) {
                return Err(shutting_down());
            }
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    if Instant::now() >= deadline {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "deadline passed while reading",
                        ));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads one message head. `Ok(None)`: the peer closed the connection before sending a
    /// single byte of it (a clean end of a keep-alive connection).
    pub fn read_head(&mut self, deadline: Instant) -> io::Result<Option<Head>> {
        loop {
            if let Some(end) = find_crlfcrlf(&self.buf) {
                let raw: Vec<u8> = self.buf.drain(..end + 4).collect();
                return parse_head(raw).map(Some);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(invalid(format!("message head over {MAX_HEAD} bytes")));
            }
            if self.read_more(deadline)? == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed in the middle of a message head",
                ));
            }
        }
    }

    /// Reads exactly `n` body bytes.
    pub fn read_exact_body(&mut self, n: usize, deadline: Instant) -> io::Result<Vec<u8>> {
        if n > MAX_BODY {
            return Err(invalid(format!("body of {n} bytes is over {MAX_BODY}")));
        }
        while self.buf.len() < n {
            if self.read_more(deadline)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed in the middle of a body",
                ));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    fn read_line(&mut self, deadline: Instant) -> io::Result<String> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..pos + 2).collect();
                return String::from_utf8(line[..pos].to_vec())
                    .map_err(|_| invalid("chunk line is not UTF-8".into()));
            }
            if self.buf.len() > MAX_HEAD {
                return Err(invalid("chunk line too long".into()));
            }
            if self.read_more(deadline)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed in the middle of a chunked body",
                ));
            }
        }
    }

    /// Reads and decodes a chunked body (trailers are read and dropped).
    pub fn read_chunked(&mut self, deadline: Instant) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(deadline)?;
            let size_text = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                // Trailers until an empty line.
                while !self.read_line(deadline)?.is_empty() {}
                return Ok(body);
            }
            if body.len() + size > MAX_BODY {
                return Err(invalid(format!("chunked body over {MAX_BODY} bytes")));
            }
            let chunk = self.read_exact_body(size, deadline)?;
            body.extend_from_slice(&chunk);
            if !self.read_line(deadline)?.is_empty() {
                return Err(invalid("chunk not followed by CRLF".into()));
            }
        }
    }

    /// Reads until the peer closes the connection.
    pub fn read_to_close(&mut self, deadline: Instant) -> io::Result<Vec<u8>> {
        while self.read_more(deadline)? > 0 {
            if self.buf.len() > MAX_BODY {
                return Err(invalid(format!("body over {MAX_BODY} bytes")));
            }
        }
        Ok(std::mem::take(&mut self.buf))
    }

    /// Writes all of `bytes` (bounded by the write timeout).
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }
}

/// The standard reason phrase of `status` (or `Status`).
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        449 => "Retry With",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// The Cosmos DB error `code` for `status`.
pub(crate) fn cosmos_code(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        408 => "RequestTimeout",
        409 => "Conflict",
        410 => "Gone",
        412 => "PreconditionFailed",
        413 => "RequestEntityTooLarge",
        429 => "TooManyRequests",
        449 => "RetryWith",
        500 => "InternalServerError",
        503 => "ServiceUnavailable",
        _ => "Error",
    }
}

/// A complete response with a `Content-Length` body and the given extra headers.
pub(crate) fn simple_response(
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
    close: bool,
) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status)).into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_heads() {
        let h = parse_head(
            b"POST /dbs/a/docs HTTP/1.1\r\nContent-Length: 3\r\nConnection: keep-alive, Close\r\n\r\n"
                .to_vec(),
        )
        .unwrap();
        assert_eq!(
            h.request_line().unwrap(),
            ("POST".to_owned(), "/dbs/a/docs".to_owned())
        );
        assert_eq!(h.content_length().unwrap(), Some(3));
        assert!(h.connection_close());
        assert!(!h.is_chunked());
        let r = parse_head(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec())
            .unwrap();
        assert_eq!(r.status().unwrap(), 201);
        assert!(r.is_chunked());
    }
}
