//! `OperationSample`: what the execution reports when an operation ends.

use std::time::Duration;

use crate::diagnostics::{CosmosDiagnostics, ExecutionContext};
use crate::request::Purpose;

/// What the execution reports when an operation ends. Borrowed: building one allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperationSample<'a> {
    /// `OperationKind::as_str`: `"read"`, `"create"`, ...
    pub kind: &'a str,
    /// `ResourceType::token`: `"docs"`, `"colls"`, ... (`""` for the account).
    pub resource: &'a str,
    /// Final HTTP status; `None` when no response arrived (transport failure, timeout,
    /// cancellation, configuration error).
    pub status: Option<u16>,
    /// Final sub-status. Kept for per-sub-status breakdowns; not aggregated yet.
    pub sub_status: Option<u32>,
    /// Region of the final attempt (`""` if none was made).
    pub region: &'a str,
    /// The container the operation addressed (its link or rid; `""` when none). Scopes
    /// `partition_key_range`, since range ids repeat across containers.
    pub container: &'a str,
    /// The partition key range of the final attempt, when routing resolved one.
    pub partition_key_range: Option<&'a str>,
    /// RU charged across all attempts (NaN or negative counts as 0).
    pub request_charge: f64,
    /// Operation latency: start to outcome, retries and backoff included.
    pub latency: Duration,
    /// HTTP attempts of the operation (hedges included).
    pub attempts: u32,
    /// Attempts beyond the first that were retries (same region or failover).
    pub retries: u32,
    /// 429 answers among the attempts (the final one included).
    pub throttles: u32,
    /// Retries that moved to another region.
    pub failovers: u32,
    /// Hedged attempts started.
    pub hedges_started: u32,
    /// Whether the outcome came from a hedged attempt.
    pub hedge_won: bool,
    /// Request body bytes sent, over all attempts.
    pub bytes_sent: u64,
    /// Response body bytes received, over all attempts.
    pub bytes_received: u64,
    /// A single-item read or write (item create/read/replace/upsert/delete): these share the
    /// point-latency histogram and the point p99 rule.
    pub point_operation: bool,
}

impl OperationSample<'_> {
    /// Whether the operation failed in a way the error-rate rule counts: a 5xx, a 408, or no
    /// response after at least one attempt. 4xx answers (404, 409, 412, 429 after retries) are
    /// the application's or the provisioning's business, not failures of the service.
    pub fn is_error(&self) -> bool {
        match self.status {
            Some(s) => (500..=599).contains(&s) || s == 408,
            None => self.attempts > 0,
        }
    }
}

impl<'a> OperationSample<'a> {
    /// A sample filled from an operation's finished diagnostics: status, sub-status, RU (every
    /// attempt, metadata reads included), latency, region of the final operation attempt, and
    /// the attempt counts:
    ///
    /// * `attempts`: every HTTP attempt, metadata reads included (recorded and dropped);
    /// * `throttles`: recorded attempts answered 429, any purpose (metadata 429s throttle too);
    /// * `retries`: operation attempts with context `Retry` or `RegionFailover`;
    /// * `failovers`: operation attempts with context `RegionFailover`;
    /// * `hedges_started`: attempts with context `Hedging`;
    /// * `hedge_won`: the last operation attempt that got an answer was a hedge.
    ///
    /// Bytes are not in the diagnostics: they are left at 0 for the caller to set.
    pub fn from_diagnostics(
        diagnostics: &'a CosmosDiagnostics,
        kind: &'a str,
        resource: &'a str,
        container: &'a str,
        partition_key_range: Option<&'a str>,
        point_operation: bool,
    ) -> Self {
        let requests = diagnostics.requests();
        let count = |f: &dyn Fn(&crate::diagnostics::RequestDiagnostics) -> bool| {
            u32::try_from(requests.iter().filter(|r| f(r)).count()).unwrap_or(u32::MAX)
        };
        let operation =
            |r: &crate::diagnostics::RequestDiagnostics| r.purpose == Purpose::Operation;
        let last = requests.iter().rev().find(|r| operation(r));
        let winner = requests
            .iter()
            .rev()
            .find(|r| operation(r) && r.status.is_some());
        OperationSample {
            kind,
            resource,
            status: diagnostics.status(),
            sub_status: diagnostics.sub_status(),
            region: last.map_or("", |r| &r.region),
            container,
            partition_key_range,
            request_charge: diagnostics.total_request_charge(),
            latency: diagnostics.elapsed(),
            attempts: u32::try_from(diagnostics.request_count()).unwrap_or(u32::MAX),
            retries: count(&|r| {
                operation(r)
                    && matches!(
                        r.execution_context,
                        ExecutionContext::Retry | ExecutionContext::RegionFailover
                    )
            }),
            throttles: count(&|r| r.status == Some(429)),
            failovers: count(&|r| {
                operation(r) && r.execution_context == ExecutionContext::RegionFailover
            }),
            hedges_started: count(&|r| r.execution_context == ExecutionContext::Hedging),
            hedge_won: winner.is_some_and(|r| r.execution_context == ExecutionContext::Hedging),
            bytes_sent: 0,
            bytes_received: 0,
            point_operation,
        }
    }
}
