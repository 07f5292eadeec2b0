//! Maps ureq errors onto the core's [`TransportError`] with an honest [`RequestSent`] flag.
//!
//! The flag decides whether the core may retry a write, so it errs towards `Unknown`:
//!
//! | phase / error | kind | request_sent |
//! |---|---|---|
//! | name resolution failed (`HostNotFound`) | `Dns` | `NotSent` |
//! | `ConnectionFailed`, `io` connection refused / address not available | `Connect` | `NotSent` |
//! | `io` host / network unreachable, network down (usually at connect, but the kernel can also report them on an established socket) | `Connect` | `Unknown` |
//! | TLS handshake error (certificate, incompatible peer, bad name, TLS set-up) | `Tls` | `NotSent` |
//! | other rustls error (for example an alert mid-stream) | `Tls` | `Unknown` |
//! | timeout while resolving or connecting (TCP + TLS) | `Timeout` | `NotSent` |
//! | any other timeout before the response head arrived (sending, waiting, or ureq's global timer, whose phase it does not tell) | `Timeout` | `Unknown` |
//! | unparseable response head | `Protocol` | `Sent` |
//! | the request could not be formed (bad URI, header, `http` error) | `Other` / `Protocol` | `NotSent` |
//! | reset, EOF, other `io` error | `Io` | `Unknown` |
//! | anything while reading the body (the head arrived) | per error, `ResponseTooLarge` over the cap | `Sent` |

use std::io;

use sextant_core::{RequestSent, TransportError, TransportErrorKind};
use ureq::Timeout;

/// Maps an error from `Agent::run` (before the response head was received).
pub(crate) fn before_response(err: ureq::Error) -> TransportError {
    use RequestSent::{NotSent, Sent, Unknown};
    use TransportErrorKind as K;
    let message = err.to_string();
    let (kind, sent) = match &err {
        ureq::Error::HostNotFound => (K::Dns, NotSent),
        ureq::Error::ConnectionFailed => (K::Connect, NotSent),
        ureq::Error::Timeout(Timeout::Resolve | Timeout::Connect) => (K::Timeout, NotSent),
        ureq::Error::Timeout(_) => (K::Timeout, Unknown),
        ureq::Error::Io(e) => io_before_response(e),
        ureq::Error::Tls(_)
        | ureq::Error::Rustls(_)
        | ureq::Error::Pem(_)
        | ureq::Error::TlsRequired => (K::Tls, NotSent),
        // ureq-proto does not say whether the fault was in our request head or in the answer.
        ureq::Error::Protocol(_) => (K::Protocol, Unknown),
        ureq::Error::LargeResponseHeader(..) => (K::Protocol, Sent),
        ureq::Error::BadUri(_)
        | ureq::Error::Http(_)
        | ureq::Error::RequireHttpsOnly(_)
        | ureq::Error::InvalidProxyUrl
        | ureq::Error::ConnectProxyFailed(_) => (K::Other, NotSent),
        // Redirects are disabled and statuses are not errors, so these mean a response arrived.
        ureq::Error::StatusCode(_)
        | ureq::Error::TooManyRedirects
        | ureq::Error::RedirectFailed => (K::Other, Sent),
        _ => (K::Other, Unknown),
    };
    TransportError::new(kind, sent, message)
}

/// Prefixes the message with the request and the phase it failed in (derived from the kind
/// before the response head arrived), as the other transports' messages name them.
pub(crate) fn in_phase(mut e: TransportError, target: &str, phase: Option<&str>) -> TransportError {
    use TransportErrorKind as K;
    let phase = phase.unwrap_or(match e.kind {
        K::Dns => "resolving the host",
        K::Connect => "connecting",
        K::Tls => "the TLS handshake",
        K::Timeout => "waiting for the response head (attempt deadline)",
        K::Protocol => "reading the response head",
        _ => "sending the request or waiting for the response head",
    });
    e.message = format!("{target}: {phase}: {}", e.message);
    e
}

/// Maps an error while reading the response body: the head arrived, so the request was sent.
pub(crate) fn reading_body(err: ureq::Error, limit: usize) -> TransportError {
    use TransportErrorKind as K;
    let kind = match &err {
        ureq::Error::BodyExceedsLimit(_) => {
            return TransportError::new(
                K::ResponseTooLarge,
                RequestSent::Sent,
                format!("the response body exceeds the limit of {limit} bytes"),
            );
        }
        ureq::Error::Timeout(_) => K::Timeout,
        ureq::Error::Io(e) if rustls_error(e).is_some() => K::Tls,
        ureq::Error::Io(_) | ureq::Error::BodyStalled => K::Io,
        ureq::Error::Protocol(_) => K::Protocol,
        _ => K::Other,
    };
    TransportError::new(kind, RequestSent::Sent, err.to_string())
}

fn io_before_response(e: &io::Error) -> (TransportErrorKind, RequestSent) {
    use io::ErrorKind as E;
    use RequestSent::{NotSent, Unknown};
    use TransportErrorKind as K;
    if let Some(tls) = rustls_error(e) {
        return (
            K::Tls,
            if handshake_only(tls) {
                NotSent
            } else {
                Unknown
            },
        );
    }
    match e.kind() {
        // Only `connect(2)` reports these: nothing was written.
        E::ConnectionRefused | E::AddrNotAvailable => (K::Connect, NotSent),
        E::HostUnreachable | E::NetworkUnreachable | E::NetworkDown => (K::Connect, Unknown),
        E::TimedOut => (K::Timeout, Unknown),
        _ => (K::Io, Unknown),
    }
}

fn rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

/// rustls errors that can only arise while the handshake is in progress, before a single byte of
/// the HTTP request is encrypted and written.
fn handshake_only(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::UnsupportedNameType
            | rustls::Error::PeerIncompatible(_)
            | rustls::Error::InappropriateHandshakeMessage { .. }
            | rustls::Error::InvalidCertRevocationList(_)
            | rustls::Error::HandshakeNotComplete
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use RequestSent::{NotSent, Sent, Unknown};
    use TransportErrorKind as K;

    fn io(kind: io::ErrorKind) -> ureq::Error {
        ureq::Error::Io(io::Error::from(kind))
    }

    fn tls(e: rustls::Error) -> ureq::Error {
        ureq::Error::Io(io::Error::new(io::ErrorKind::InvalidData, e))
    }

    #[test]
    fn before_the_response_head() {
        let cases = [
            (ureq::Error::HostNotFound, K::Dns, NotSent),
            (ureq::Error::ConnectionFailed, K::Connect, NotSent),
            (ureq::Error::Timeout(Timeout::Resolve), K::Timeout, NotSent),
            (ureq::Error::Timeout(Timeout::Connect), K::Timeout, NotSent),
            (
                ureq::Error::Timeout(Timeout::SendRequest),
                K::Timeout,
                Unknown,
            ),
            (ureq::Error::Timeout(Timeout::SendBody), K::Timeout, Unknown),
            (
                ureq::Error::Timeout(Timeout::RecvResponse),
                K::Timeout,
                Unknown,
            ),
            (ureq::Error::Timeout(Timeout::Global), K::Timeout, Unknown),
            (io(io::ErrorKind::ConnectionRefused), K::Connect, NotSent),
            (io(io::ErrorKind::AddrNotAvailable), K::Connect, NotSent),
            (io(io::ErrorKind::HostUnreachable), K::Connect, Unknown),
            (io(io::ErrorKind::ConnectionReset), K::Io, Unknown),
            (io(io::ErrorKind::UnexpectedEof), K::Io, Unknown),
            (io(io::ErrorKind::BrokenPipe), K::Io, Unknown),
            (
                tls(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::UnknownIssuer,
                )),
                K::Tls,
                NotSent,
            ),
            (tls(rustls::Error::DecryptError), K::Tls, Unknown),
            (ureq::Error::Tls("bad name"), K::Tls, NotSent),
            (ureq::Error::BadUri("x".into()), K::Other, NotSent),
            (ureq::Error::LargeResponseHeader(1, 2), K::Protocol, Sent),
        ];
        for (err, kind, sent) in cases {
            let what = format!("{err:?}");
            let mapped = before_response(err);
            assert_eq!((mapped.kind, mapped.request_sent), (kind, sent), "{what}");
        }
    }

    #[test]
    fn while_reading_the_body_everything_was_sent() {
        let e = reading_body(ureq::Error::BodyExceedsLimit(10), 10);
        assert_eq!((e.kind, e.request_sent), (K::ResponseTooLarge, Sent));
        assert!(e.message.contains("10 bytes"), "{}", e.message);
        let e = reading_body(ureq::Error::Timeout(Timeout::Global), 10);
        assert_eq!((e.kind, e.request_sent), (K::Timeout, Sent));
        let e = reading_body(io(io::ErrorKind::ConnectionReset), 10);
        assert_eq!((e.kind, e.request_sent), (K::Io, Sent));
    }
}
