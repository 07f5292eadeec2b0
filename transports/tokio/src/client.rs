//! The reqwest client (built once per runtime) and the conversion of an [`OutgoingRequest`] into
//! a `reqwest::Request`.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use sextant_core::{
    ConnectionPoolOptions, OutgoingRequest, RequestSent, TransportError, TransportErrorKind,
};

/// Builds the client every driver of a runtime shares (`reqwest::Client` is an `Arc` inside).
///
/// Certificates are validated against the bundled webpki roots unless `accept_any_certificate`
/// is set, which is only for the local emulator (self-signed, expired, no SAN).
pub(crate) fn build_client(
    pool: &ConnectionPoolOptions,
    accept_any_certificate: bool,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .pool_max_idle_per_host(pool.max_idle_connections_per_host)
        .pool_idle_timeout(pool.idle_timeout)
        .connect_timeout(pool.connect_timeout)
        .tcp_nodelay(true)
        // TCP keep-alive stays at reqwest's default (15 s probes) to notice half-open pooled
        // connections.
        // No policy in the transport: the core decides retries and Cosmos DB never redirects.
        .retry(reqwest::retry::never())
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .danger_accept_invalid_certs(accept_any_certificate)
        .build()
}

/// Endpoints whose parsed base URL is kept (an account has at most a few dozen regions).
const MAX_BASE_URLS: usize = 64;

/// The placeholder path of a cached base URL. A clone of a `String` has no spare capacity, so
/// setting a request's path on a clone of `scheme://authority/` grew the URL's buffer twice;
/// a clone of `scheme://authority/<placeholder>` has room for any path up to this long (item
/// paths are usually well under it), and `set_path` replaces the placeholder.
const PATH_ROOM: &str = "/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\
                         0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The parsed base URLs (`scheme://authority` and a placeholder path) of the endpoints a
/// driver sends to.
///
/// Most of the cost of `Url::parse` is the scheme and the host (IDNA or IP address parsing,
/// then serialising the host again); a driver talks to a handful of fixed endpoints. Each is
/// parsed once, and a request's URL is a clone of its endpoint's with the path set: the same
/// `Url` as parsing the whole string (see the tests).
#[derive(Debug, Default)]
pub(crate) struct BaseUrls {
    bases: Mutex<Vec<(String, reqwest::Url)>>,
}

impl BaseUrls {
    /// The URL of `uri`.
    fn url(&self, uri: &http::Uri) -> Result<reqwest::Url, url_error::ParseError> {
        let (Some(scheme), Some(authority), None) = (
            uri.scheme_str(),
            uri.authority(),
            uri.path_and_query().and_then(|p| p.query()),
        ) else {
            // No scheme or authority (not from the core), or a query: parse it whole.
            return reqwest::Url::parse(&uri_string(uri));
        };
        let authority = authority.as_str();
        let is_base = |key: &str| {
            key.len() == scheme.len() + 3 + authority.len()
                && key.starts_with(scheme)
                && key.ends_with(authority)
                && key[scheme.len()..].starts_with("://")
        };
        let mut bases = self.bases.lock().unwrap_or_else(PoisonError::into_inner);
        let mut url = match bases.iter().find(|(key, _)| is_base(key)) {
            Some((_, url)) => url.clone(),
            None => {
                let key = format!("{scheme}://{authority}");
                let url = reqwest::Url::parse(&format!("{key}{PATH_ROOM}"))?;
                if bases.len() < MAX_BASE_URLS {
                    bases.push((key, url.clone()));
                }
                url
            }
        };
        drop(bases);
        url.set_path(uri.path());
        Ok(url)
    }
}

/// `url`'s error type, through reqwest (which re-exports `Url` but not the crate).
mod url_error {
    pub(crate) type ParseError = <reqwest::Url as std::str::FromStr>::Err;
}

/// Converts a signed request into a reqwest request, moving the headers and the body (no copy)
/// and setting the per-attempt timeout.
pub(crate) fn to_reqwest(
    req: Box<OutgoingRequest>,
    timeout: Duration,
    bases: &BaseUrls,
) -> Result<reqwest::Request, TransportError> {
    // The fields move out of the box one by one: no copy of the whole request first.
    let OutgoingRequest {
        method,
        uri,
        headers,
        body,
        ..
    } = *req;
    let url = bases.url(&uri).map_err(|e| {
        TransportError::new(
            TransportErrorKind::Other,
            RequestSent::NotSent,
            format!("cannot convert {uri} into a URL: {e}"),
        )
    })?;
    let mut out = reqwest::Request::new(method, url);
    *out.headers_mut() = headers;
    // An empty body is only sent (as `content-length: 0`) for methods that carry one.
    if !body.is_empty() || method_has_body(out.method()) {
        *out.body_mut() = Some(reqwest::Body::from(body));
    }
    *out.timeout_mut() = Some(timeout);
    Ok(out)
}

/// The absolute URI as one string (reqwest takes a `Url`; `http::Uri` has no borrowed string
/// form). Built by hand: `Uri`'s `Display` goes through the formatting machinery.
fn uri_string(uri: &http::Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("");
    let authority = uri.authority().map_or("", |a| a.as_str());
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut s = String::with_capacity(scheme.len() + 3 + authority.len() + path.len());
    if !scheme.is_empty() {
        s.push_str(scheme);
        s.push_str("://");
    }
    s.push_str(authority);
    s.push_str(path);
    s
}

fn method_has_body(m: &http::Method) -> bool {
    *m == http::Method::POST || *m == http::Method::PUT || *m == http::Method::PATCH
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_string_round_trips() {
        for u in [
            "https://acct.documents.azure.com:443/dbs/db/colls/c/docs/with%20space",
            "http://127.0.0.1:8081/",
            "http://127.0.0.1:8081/dbs?x=1",
        ] {
            let uri: http::Uri = u.parse().unwrap();
            assert_eq!(uri_string(&uri), uri.to_string());
        }
    }

    #[test]
    fn base_url_and_path_equal_the_parsed_url() {
        let bases = BaseUrls::default();
        let uris = [
            "https://acct.documents.azure.com:443/dbs/db/colls/c/docs/with%20space",
            "https://acct.documents.azure.com/dbs/db/colls/c/docs/a%2Fb%3F%23",
            "https://ACCT-westus.Documents.Azure.com:443/dbs/db",
            "http://127.0.0.1:8081/",
            "http://127.0.0.1:8081/dbs/d/colls/c/docs/%C3%A9t%C3%A9",
            "http://127.0.0.1:8081/dbs/a/./b/../c",
            "http://127.0.0.1:8082/dbs/d",
            "http://[::1]:8081/dbs/d",
            "http://localhost:8081/dbs/d/colls/c/docs/x~y!z'()*",
            "http://127.0.0.1:8081/dbs?x=1",
            "https://acct.documents.azure.com",
        ];
        // Twice: the first time fills the cache, the second uses it.
        for _ in 0..2 {
            for u in uris {
                let uri: http::Uri = u.parse().unwrap();
                let expected = reqwest::Url::parse(&uri_string(&uri)).unwrap();
                assert_eq!(bases.url(&uri).unwrap(), expected, "{u}");
                assert_eq!(bases.url(&uri).unwrap().as_str(), expected.as_str(), "{u}");
            }
        }
        assert_eq!(bases.bases.lock().unwrap().len(), 7);
    }
}
