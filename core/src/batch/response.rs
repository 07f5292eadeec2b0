//! Reading a transactional batch response (PROTOCOL.md §8.2): one result per operation, the
//! failing operation's status promoted over the 207 Multi-Status the service answers.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::diagnostics::CosmosDiagnostics;
use crate::error::{CosmosError, ErrorKind};
use crate::response::CosmosResponse;

/// The result of one operation of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOperationResult {
    /// Its status (424 Failed Dependency: not applied because another operation failed).
    pub status: u16,
    /// Its sub-status, when the service gave one.
    pub sub_status: Option<u32>,
    /// Request units it consumed.
    pub request_charge: f64,
    /// The item's etag after it (writes and reads).
    pub etag: Option<String>,
    /// The item (reads, and writes unless minimal responses were asked for).
    pub resource_body: Option<Value>,
    /// How long to wait before retrying it (throttled operations).
    pub retry_after: Option<Duration>,
    /// The service's message for a failed operation, when it gave one.
    pub message: Option<String>,
}

impl BatchOperationResult {
    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A transactional batch's outcome.
#[derive(Debug, Clone)]
pub struct BatchResponse {
    http_status: u16,
    results: Vec<BatchOperationResult>,
    request_charge: f64,
    diagnostics: Arc<CosmosDiagnostics>,
}

impl BatchResponse {
    /// Reads the response of a batch of `operations` operations. An error when the body is not
    /// the service's result array or has another length.
    pub fn from_response(
        response: &CosmosResponse,
        operations: usize,
    ) -> Result<BatchResponse, CosmosError> {
        let bad = |why: String| {
            CosmosError::new(
                ErrorKind::Service,
                format!("the service's batch response is malformed: {why}"),
                response.diagnostics().clone(),
            )
        };
        let v: Value =
            serde_json::from_slice(response.response_bytes()).map_err(|e| bad(e.to_string()))?;
        let items = v.as_array().ok_or_else(|| bad("not a JSON array".into()))?;
        if items.len() != operations {
            return Err(bad(format!(
                "{} results for {operations} operations",
                items.len()
            )));
        }
        let results = items
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let status = r
                    .get("statusCode")
                    .and_then(Value::as_u64)
                    .and_then(|s| u16::try_from(s).ok())
                    .ok_or_else(|| bad(format!("result {i} has no statusCode")))?;
                Ok(BatchOperationResult {
                    status,
                    sub_status: r
                        .get("subStatusCode")
                        .and_then(Value::as_u64)
                        .and_then(|s| u32::try_from(s).ok()),
                    request_charge: r
                        .get("requestCharge")
                        .and_then(Value::as_f64)
                        .unwrap_or(0.0),
                    etag: r.get("eTag").and_then(Value::as_str).map(str::to_owned),
                    resource_body: r.get("resourceBody").cloned(),
                    retry_after: r
                        .get("retryAfterMilliseconds")
                        .and_then(Value::as_u64)
                        .map(Duration::from_millis),
                    message: r.get("message").and_then(Value::as_str).map(str::to_owned),
                })
            })
            .collect::<Result<Vec<_>, CosmosError>>()?;
        Ok(BatchResponse {
            http_status: response.status(),
            results,
            request_charge: response.headers().request_charge(),
            diagnostics: response.diagnostics().clone(),
        })
    }

    /// True when every operation committed.
    pub fn is_success(&self) -> bool {
        self.results.iter().all(BatchOperationResult::is_success)
    }

    /// The batch's status: the first failed operation's own status (not 424) when the batch
    /// failed (the service answers 207 Multi-Status), else the HTTP status. The .NET, Java and
    /// JS SDKs promote it the same way.
    pub fn status(&self) -> u16 {
        self.first_failure()
            .map_or(self.http_status, |(_, r)| r.status)
    }

    /// The operation that made the batch fail, and its index.
    pub fn first_failure(&self) -> Option<(usize, &BatchOperationResult)> {
        self.results
            .iter()
            .enumerate()
            .find(|(_, r)| !r.is_success() && r.status != 424)
            .or_else(|| {
                self.results
                    .iter()
                    .enumerate()
                    .find(|(_, r)| !r.is_success())
            })
    }

    /// One result per operation, in the batch's order.
    pub fn results(&self) -> &[BatchOperationResult] {
        &self.results
    }

    /// Request units of the whole batch.
    pub fn request_charge(&self) -> f64 {
        self.request_charge
    }

    /// The diagnostics of the request.
    pub fn diagnostics(&self) -> &Arc<CosmosDiagnostics> {
        &self.diagnostics
    }
}
