//! `CosmosResponse`: the successful outcome of an operation.

use std::sync::Arc;

use bytes::Bytes;

use crate::diagnostics::CosmosDiagnostics;
use crate::headers::ResponseHeaders;

/// Status, typed headers, raw body bytes and diagnostics of a successful operation.
#[derive(Debug, Clone)]
pub struct CosmosResponse {
    pub(crate) status: u16,
    pub(crate) headers: Arc<ResponseHeaders>,
    pub(crate) body: Bytes,
    pub(crate) diagnostics: Arc<CosmosDiagnostics>,
}

impl CosmosResponse {
    /// A response built by hand, with empty diagnostics: for tests and mocks of code that
    /// consumes responses (a flow such as `throughput::ThroughputFlow`, a typed layer).
    pub fn from_parts(status: u16, headers: http::HeaderMap, body: Bytes) -> Self {
        CosmosResponse {
            status,
            headers: Arc::new(ResponseHeaders::parse(headers)),
            body,
            diagnostics: Arc::new(CosmosDiagnostics::empty()),
        }
    }

    /// The HTTP status (2xx, or 304 for a conditional read of an unchanged resource).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Typed response headers.
    pub fn headers(&self) -> &ResponseHeaders {
        &self.headers
    }

    /// The body as received (empty for deletes and `Prefer: return=minimal` writes).
    pub fn response_bytes(&self) -> &Bytes {
        &self.body
    }

    /// Consumes the response, returning the body.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// Deserializes the body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// Diagnostics of every attempt the operation made.
    pub fn diagnostics(&self) -> &Arc<CosmosDiagnostics> {
        &self.diagnostics
    }
}
