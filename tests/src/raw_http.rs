//! One raw HTTP/1.1 exchange over loopback (`Connection: close`, bounded by timeouts), for the
//! test tools' admin endpoints and for ground-truth requests that must not go through Sextant.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Sends `method path` with `headers` and `body` to `endpoint` (`http://127.0.0.1:PORT/`).
/// Returns the status, the response headers (lower-case names) and the JSON body (`Null` when
/// empty). Panics on I/O errors or a non-JSON body: tests only.
pub fn exchange(
    endpoint: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    timeout: Duration,
) -> (u16, Vec<(String, String)>, serde_json::Value) {
    let authority = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut stream = TcpStream::connect(&authority).expect("connect over loopback");
    stream
        .set_read_timeout(Some(timeout))
        .expect("read timeout");
    stream
        .set_write_timeout(Some(timeout))
        .expect("write timeout");
    let body = body.unwrap_or("");
    let has_type = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !has_type {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).expect("write request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").expect("HTTP response head");
    let (status, headers) = parse_head(head);
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body_text = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    let json = if body_text.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&body_text).expect("JSON body")
    };
    (status, headers, json)
}

/// The status and headers (lower-case names) of a response head (without the blank line).
/// Panics on a malformed status line: tests only.
pub fn parse_head(head: &str) -> (u16, Vec<(String, String)>) {
    let mut lines = head.trim_end().lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("HTTP status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers)
}

/// Decodes an HTTP/1.1 chunked body.
fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
