//! `CosmosResponse`: the successful outcome of an operation.

use std::sync::Arc;

use bytes::Bytes;

use crate::diagnostics::CosmosDiagnostics;
use crate::headers::ResponseHeaders;

/// Status, typed headers, raw body bytes and diagnostics of a successful operation.
///
/// One shared allocation: a clone (the execution keeps its outcome, `Action::Done` is sticky)
/// is one reference count, and never a copy or promotion of the body.
#[derive(Clone)]
pub struct CosmosResponse(Arc<Parts>);

impl std::fmt::Debug for CosmosResponse {
    /// The same shape as before the parts were shared: `CosmosResponse { status, headers, .. }`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &*self.0;
        f.debug_struct("CosmosResponse")
            .field("status", &p.status)
            .field("headers", &p.headers)
            .field("body", &p.body)
            .field("diagnostics", &p.diagnostics)
            .finish()
    }
}

/// What a [`CosmosResponse`] holds.
struct Parts {
    status: u16,
    headers: ResponseHeaders,
    body: Bytes,
    diagnostics: Arc<CosmosDiagnostics>,
}

impl CosmosResponse {
    /// Assembles a response.
    pub(crate) fn new(
        status: u16,
        headers: ResponseHeaders,
        body: Bytes,
        diagnostics: Arc<CosmosDiagnostics>,
    ) -> Self {
        CosmosResponse(Arc::new(Parts {
            status,
            headers,
            body,
            diagnostics,
        }))
    }

    /// A response built by hand, with empty diagnostics: for tests and mocks of code that
    /// consumes responses (a flow such as `throughput::ThroughputFlow`, a typed layer).
    pub fn from_parts(status: u16, headers: http::HeaderMap, body: Bytes) -> Self {
        CosmosResponse::new(
            status,
            ResponseHeaders::parse(headers),
            body,
            Arc::new(CosmosDiagnostics::empty()),
        )
    }

    /// The HTTP status (2xx, or 304 for a conditional read of an unchanged resource).
    pub fn status(&self) -> u16 {
        self.0.status
    }

    /// Typed response headers.
    pub fn headers(&self) -> &ResponseHeaders {
        &self.0.headers
    }

    /// The body as received (empty for deletes and `Prefer: return=minimal` writes).
    pub fn response_bytes(&self) -> &Bytes {
        &self.0.body
    }

    /// Consumes the response, returning the body (moved out when this is the last handle on
    /// the response, as it is once the execution that produced it is gone).
    pub fn into_body(self) -> Bytes {
        match Arc::try_unwrap(self.0) {
            Ok(parts) => parts.body,
            Err(shared) => shared.body.clone(),
        }
    }

    /// Deserializes the body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.0.body)
    }

    /// Diagnostics of every attempt the operation made.
    pub fn diagnostics(&self) -> &Arc<CosmosDiagnostics> {
        &self.0.diagnostics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_parts_and_into_body_moves_the_last_one_out() {
        // A body that owns its bytes (as a transport reading into a `Vec` makes it): cloning
        // such `Bytes` would allocate; cloning the response must not touch it.
        let body = Bytes::from(br#"{"id":"a"}"#.to_vec());
        let ptr = body.as_ptr();
        let r = CosmosResponse::from_parts(200, http::HeaderMap::new(), body);
        let copy = r.clone();
        assert!(Arc::ptr_eq(&r.0, &copy.0));
        assert_eq!(copy.response_bytes().as_ptr(), ptr);
        // Still shared: the body is cloned out, the same bytes.
        let first = copy.into_body();
        assert_eq!(first.as_ptr(), ptr);
        // The last handle: moved out.
        assert_eq!(r.status(), 200);
        assert_eq!(r.into_body().as_ptr(), ptr);
        assert_eq!(
            format!(
                "{:?}",
                CosmosResponse::from_parts(204, http::HeaderMap::new(), Bytes::new())
            )
            .split_once(' ')
            .map(|(name, _)| name),
            Some("CosmosResponse")
        );
    }
}
