//! What transports feed back into the core: responses, transport errors and request events.

use bytes::Bytes;
use http::HeaderMap;

/// A complete HTTP response as received by the transport (headers and fully buffered body).
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Response headers as received.
    pub headers: HeaderMap,
    /// The body, at most the request's `max_response_bytes`.
    pub body: Bytes,
}

/// Whether a request may have reached the service. This decides whether a write may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestSent {
    /// Definitely transmitted (for example, response headers arrived).
    Sent,
    /// Definitely not transmitted (connect, DNS or TLS failure before any byte was written).
    NotSent,
    /// The transport cannot tell (a reset or timeout mid-exchange). Treated as possibly applied.
    Unknown,
}

impl RequestSent {
    /// The seed's JSON spelling: `sent`, `not_sent`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestSent::Sent => "sent",
            RequestSent::NotSent => "not_sent",
            RequestSent::Unknown => "unknown",
        }
    }

    /// True unless the request definitely never left the client.
    pub fn may_have_been_applied(self) -> bool {
        !matches!(self, RequestSent::NotSent)
    }
}

/// What kind of failure a transport observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// Name resolution failed.
    Dns,
    /// TCP connect failed or was refused.
    Connect,
    /// TLS handshake or certificate validation failed.
    Tls,
    /// The per-attempt deadline passed.
    Timeout,
    /// The connection broke (reset, unexpected EOF) after it was established.
    Io,
    /// The peer spoke invalid HTTP.
    Protocol,
    /// The response body exceeded the request's `max_response_bytes`.
    ResponseTooLarge,
    /// Anything else.
    Other,
}

impl TransportErrorKind {
    /// A stable lowercase name for diagnostics.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportErrorKind::Dns => "dns",
            TransportErrorKind::Connect => "connect",
            TransportErrorKind::Tls => "tls",
            TransportErrorKind::Timeout => "timeout",
            TransportErrorKind::Io => "io",
            TransportErrorKind::Protocol => "protocol",
            TransportErrorKind::ResponseTooLarge => "response_too_large",
            TransportErrorKind::Other => "other",
        }
    }
}

/// A failure below HTTP, reported with an honest [`RequestSent`] flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    /// The class of failure.
    pub kind: TransportErrorKind,
    /// Whether the request may have reached the service.
    pub request_sent: RequestSent,
    /// Human-readable detail from the HTTP client.
    pub message: String,
}

impl TransportError {
    /// Builds an error.
    pub fn new(
        kind: TransportErrorKind,
        request_sent: RequestSent,
        message: impl Into<String>,
    ) -> Self {
        TransportError {
            kind,
            request_sent,
            message: message.into(),
        }
    }
}

/// Lifecycle points of one attempt that a transport can observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestEventKind {
    /// The request was handed to the HTTP client (DNS, connect, TLS and send happen opaquely).
    TransportStart,
    /// Response headers arrived: the request was certainly sent.
    ResponseHeadersReceived,
    /// Headers and body fully received.
    TransportComplete,
    /// The exchange failed.
    TransportFailed,
}

impl RequestEventKind {
    /// The seed's JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestEventKind::TransportStart => "transport_start",
            RequestEventKind::ResponseHeadersReceived => "response_headers_received",
            RequestEventKind::TransportComplete => "transport_complete",
            RequestEventKind::TransportFailed => "transport_failed",
        }
    }
}

/// One observed lifecycle event; its time is the `now` passed with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEvent {
    /// Which point of the lifecycle.
    pub kind: RequestEventKind,
    /// Optional detail (for example an error message).
    pub details: Option<String>,
}

impl RequestEvent {
    /// An event without details.
    pub fn new(kind: RequestEventKind) -> Self {
        RequestEvent {
            kind,
            details: None,
        }
    }
}
