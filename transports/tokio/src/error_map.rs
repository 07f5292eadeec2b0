//! Maps reqwest errors onto [`TransportError`] with an honest [`RequestSent`] flag.
//!
//! | phase / error                                   | kind       | request_sent |
//! |-------------------------------------------------|------------|--------------|
//! | TLS handshake (a `rustls::Error` in the chain)  | `Tls`      | `NotSent`    |
//! | connect timeout (`is_connect` + `is_timeout`)   | `Timeout`  | `NotSent`    |
//! | name resolution (`dns error` in the chain)      | `Dns`      | `NotSent`    |
//! | other connect failures (refused, unreachable)   | `Connect`  | `NotSent`    |
//! | pooled connection closed before the write       | `Io`       | `NotSent`    |
//! | request never built (bad URL)                   | `Other`    | `NotSent`    |
//! | timeout before the response headers             | `Timeout`  | `Unknown`    |
//! | response did not parse as HTTP                  | `Protocol` | `Sent`       |
//! | anything else before the response headers       | `Io`       | `Unknown`    |
//! | any failure while reading the body              | `Io`, `Timeout` or `Protocol` | `Sent` |

use std::error::Error as StdError;

use sextant_core::{RequestSent, TransportError, TransportErrorKind};

/// Classifies a failure of `Client::execute` (before a response object exists).
pub(crate) fn map_send_error(e: &reqwest::Error) -> TransportError {
    let (kind, sent) = classify_send(e);
    TransportError::new(kind, sent, describe(e))
}

/// Classifies a failure while reading the body: the response headers arrived, so the request
/// was certainly sent.
pub(crate) fn map_body_error(e: &reqwest::Error) -> TransportError {
    let kind = if e.is_timeout() {
        TransportErrorKind::Timeout
    } else if find_hyper(e).is_some_and(hyper::Error::is_parse) {
        TransportErrorKind::Protocol
    } else {
        TransportErrorKind::Io
    };
    TransportError::new(kind, RequestSent::Sent, describe(e))
}

fn classify_send(e: &reqwest::Error) -> (TransportErrorKind, RequestSent) {
    use RequestSent::{NotSent, Sent, Unknown};
    use TransportErrorKind as K;
    if e.is_builder() {
        return (K::Other, NotSent);
    }
    let tls = has_rustls_error(e);
    if e.is_connect() {
        // reqwest reports DNS, TCP and TLS handshake failures as connect errors: the connection
        // never existed, so no request byte was written.
        let kind = if tls {
            K::Tls
        } else if e.is_timeout() {
            K::Timeout
        } else if chain(e).any(|s| s.to_string().starts_with("dns error")) {
            // hyper-util's private `ConnectError` is only recognisable by its message.
            K::Dns
        } else {
            K::Connect
        };
        return (kind, NotSent);
    }
    if tls {
        // A TLS failure on an established connection (an alert mid-stream).
        return (K::Tls, Unknown);
    }
    if e.is_timeout() {
        return (K::Timeout, Unknown);
    }
    if let Some(h) = find_hyper(e) {
        if h.is_canceled() {
            // hyper hands a request back as canceled only when its connection closed before
            // the request was dispatched to it (a stale pooled connection).
            return (K::Io, NotSent);
        }
        if h.is_parse() {
            // Bytes of a response arrived: the peer saw the request.
            return (K::Protocol, Sent);
        }
    }
    (K::Io, Unknown)
}

/// The error and its sources, outermost first.
fn chain<'a>(
    e: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(e), |e: &&'a (dyn StdError + 'static)| (*e).source())
}

/// True when a `rustls::Error` is in the chain. tokio-rustls wraps it in `io::Error`s (nested
/// twice for a handshake failure), and `io::Error::source` skips the wrapped error, so each
/// `io::Error` is unwrapped with `get_ref` as well.
fn has_rustls_error(e: &reqwest::Error) -> bool {
    chain(e).any(|s| {
        let mut cur: &(dyn StdError + 'static) = s;
        // Bounded: real chains nest two or three `io::Error`s.
        for _ in 0..8 {
            if cur.is::<rustls::Error>() {
                return true;
            }
            match cur
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
            {
                Some(inner) => cur = inner,
                None => return false,
            }
        }
        false
    })
}

fn find_hyper(e: &reqwest::Error) -> Option<&hyper::Error> {
    chain(e).find_map(|s| s.downcast_ref::<hyper::Error>())
}

/// The message of the error and of each source (reqwest's own message alone is vague).
fn describe(e: &reqwest::Error) -> String {
    let mut out = String::new();
    let mut last = String::new();
    for s in chain(e) {
        let m = s.to_string();
        // Wrappers often repeat their source's message; skip exact repeats.
        if m != last {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&m);
        }
        last = m;
    }
    out
}
