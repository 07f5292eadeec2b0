//! The reqwest client (built once per runtime) and the conversion of an [`OutgoingRequest`] into
//! a `reqwest::Request`.

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

/// Converts a signed request into a reqwest request, moving the headers and the body (no copy)
/// and setting the per-attempt timeout.
pub(crate) fn to_reqwest(
    req: OutgoingRequest,
    timeout: Duration,
) -> Result<reqwest::Request, TransportError> {
    let url = reqwest::Url::parse(&uri_string(&req.uri)).map_err(|e| {
        TransportError::new(
            TransportErrorKind::Other,
            RequestSent::NotSent,
            format!("cannot convert {} into a URL: {e}", req.uri),
        )
    })?;
    let mut out = reqwest::Request::new(req.method, url);
    *out.headers_mut() = req.headers;
    // An empty body is only sent (as `content-length: 0`) for methods that carry one.
    if !req.body.is_empty() || method_has_body(out.method()) {
        *out.body_mut() = Some(reqwest::Body::from(req.body));
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
}
