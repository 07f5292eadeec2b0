//! `OutgoingRequest`: a signed, complete HTTP request the transport sends as is.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};

use crate::diagnostics::ExecutionContext;
use crate::ids::AttemptId;

/// Why an attempt is being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Purpose {
    /// Account metadata (`GET /`), read on first use and on forced refresh.
    AccountRead,
    /// The operation the caller asked for.
    Operation,
    /// A container's properties (its partition key definition), for routing.
    ContainerRead,
    /// A container's partition key ranges (full or incremental feed), for routing.
    PkRangeRead,
    /// A read-back of a tracked write whose retry was answered 409/412, to recognise the
    /// driver's own earlier success.
    TrackingCheck,
}

impl Purpose {
    /// A stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::AccountRead => "account_read",
            Purpose::Operation => "operation",
            Purpose::TrackingCheck => "tracking_check",
            Purpose::ContainerRead => "container_read",
            Purpose::PkRangeRead => "pk_range_read",
        }
    }
}

/// A request to put on the wire. Signed for this attempt only; never resend it.
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    /// Identifies the attempt; pass it back with the response, error or events.
    pub attempt: AttemptId,
    /// HTTP method.
    pub method: Method,
    /// Absolute URL.
    pub uri: Uri,
    /// Complete headers, including `authorization` and `x-ms-date`.
    pub headers: HeaderMap,
    /// Body (shared, cheap to clone).
    pub body: Bytes,
    /// Region the attempt targets (empty when the account advertises none).
    pub region: Arc<str>,
    /// Why it is sent.
    pub purpose: Purpose,
    /// Why this attempt exists (initial, retry, failover, ...).
    pub execution_context: ExecutionContext,
    /// When the transport must give up on this attempt and report a timeout.
    pub deadline: Instant,
    /// Largest response body to accept; beyond it report `ResponseTooLarge`.
    pub max_response_bytes: usize,
}

impl OutgoingRequest {
    /// Time left until the attempt's deadline, measured from `now` (zero when passed).
    pub fn timeout_from(&self, now: Instant) -> Duration {
        self.deadline.saturating_duration_since(now)
    }

    /// Converts into an `http::Request` (what ureq and hyper take directly).
    pub fn to_http_request(&self) -> http::Request<Bytes> {
        let mut req = http::Request::new(self.body.clone());
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = self.headers.clone();
        req
    }
}
