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

/// The scheme and authority of the last endpoint a request went to, parsed once: an attempt's
/// [`Uri`] is then built from them and its path alone, instead of parsing the whole URL (and
/// copying and splitting it) per attempt. The result is the `Uri` that parsing the whole URL
/// gives; anything the fast path does not cover falls back to that parse.
#[derive(Debug, Default)]
pub(crate) struct UriBase {
    last: Option<(Arc<str>, http::uri::Scheme, http::uri::Authority, usize)>,
}

impl UriBase {
    /// The `Uri` of `url`, which is `endpoint` followed by a path (tests: attempts use
    /// [`Self::uri_shared`]).
    #[cfg(test)]
    pub(crate) fn uri(
        &mut self,
        endpoint: &Arc<str>,
        url: &str,
    ) -> Result<Uri, http::uri::InvalidUri> {
        self.uri_shared(endpoint, &Bytes::copy_from_slice(url.as_bytes()))
    }

    /// The `Uri` of `url`, which is `endpoint` followed by a path. The `Uri`'s path shares
    /// `url`'s bytes (no copy).
    pub(crate) fn uri_shared(
        &mut self,
        endpoint: &Arc<str>,
        url: &Bytes,
    ) -> Result<Uri, http::uri::InvalidUri> {
        match self.fast(endpoint, url) {
            Some(uri) => Ok(uri),
            // What parsing the URL as a `str` does, without its copy.
            None => Uri::from_maybe_shared(url.clone()),
        }
    }

    /// The `Uri` from the cached scheme and authority and the rest of `url` after
    /// `scheme://authority`; `None` when this fast path does not apply.
    fn fast(&mut self, endpoint: &Arc<str>, url: &Bytes) -> Option<Uri> {
        // `Uri` refuses URLs of `u16::MAX - 1` bytes or more as a whole; so does the fallback.
        if url.len() >= usize::from(u16::MAX - 1) || !url.starts_with(endpoint.as_bytes()) {
            return None;
        }
        let cached =
            matches!(&self.last, Some((e, ..)) if Arc::ptr_eq(e, endpoint) || **e == **endpoint);
        if !cached {
            self.last = split_endpoint(endpoint).map(|(s, a, n)| (endpoint.clone(), s, a, n));
        }
        let (_, scheme, authority, prefix) = self.last.as_ref()?;
        // `prefix` is at most the endpoint's length, which `url` starts with.
        let rest = (*prefix <= url.len()).then(|| url.slice(*prefix..))?;
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(scheme.clone());
        parts.authority = Some(authority.clone());
        parts.path_and_query = Some(http::uri::PathAndQuery::from_maybe_shared(rest).ok()?);
        Uri::from_parts(parts).ok()
    }
}

/// An endpoint's scheme, authority and the length of `scheme://authority`, when the endpoint is
/// exactly that followed by a path (no query, no fragment), so that any URL it starts has its
/// path and query after that prefix.
fn split_endpoint(endpoint: &str) -> Option<(http::uri::Scheme, http::uri::Authority, usize)> {
    let uri = endpoint.parse::<Uri>().ok()?;
    let (scheme, authority) = (uri.scheme()?.clone(), uri.authority()?.clone());
    let prefix = scheme.as_str().len() + 3 + authority.as_str().len();
    let expected = endpoint.get(..prefix)?;
    let exact = expected.get(..scheme.as_str().len())? == scheme.as_str()
        && expected.get(scheme.as_str().len()..scheme.as_str().len() + 3)? == "://"
        && expected.get(scheme.as_str().len() + 3..)? == authority.as_str()
        && uri.query().is_none()
        && endpoint.get(prefix..)? == uri.path()
        && !endpoint.contains('#');
    exact.then_some((scheme, authority, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_base_gives_the_uri_of_the_whole_url() {
        let mut base = UriBase::default();
        for (endpoint, path) in [
            (
                "https://a-westus2.documents.azure.com:443/",
                "dbs/db/colls/c/docs/item-1",
            ),
            (
                "https://a-westus2.documents.azure.com:443/",
                "dbs/db/colls/c/docs/a%20b",
            ),
            ("https://a-westus2.documents.azure.com:443/", ""),
            ("http://127.0.0.1:8081/", "dbs/db"),
            ("https://proxy.example/prefix/", "dbs/db/colls/c"),
            ("https://a.documents.azure.com/?q=1/", "dbs/db"),
            ("https://a.documents.azure.com/", "dbs/db?x=1#frag"),
            ("https://a.documents.azure.com/", "dbs/db with space"),
        ] {
            let endpoint: Arc<str> = Arc::from(endpoint);
            let url = format!("{endpoint}{path}");
            let fast = base.uri(&endpoint, &url).map(|u| u.to_string());
            let full = url.parse::<Uri>().map(|u| u.to_string());
            assert_eq!(fast.is_ok(), full.is_ok(), "{url}");
            assert_eq!(fast.ok(), full.ok(), "{url}");
        }
    }
}
