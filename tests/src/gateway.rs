//! The multi-partition test gateway (`tests/gateway/gateway.js`) for tests: launched by
//! `sextant-local` ([`LocalGateway`]), with the gateway's admin routes (splits, merges, request
//! counts, the query log) that only tests use.

use std::ops::Deref;
use std::time::Duration;

pub use sextant_local::gateway::LocalGateway;

/// Bound on one admin HTTP exchange with the gateway (loopback; generous for a loaded machine).
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running test gateway with its admin routes; stopped on drop. Derefs to the
/// [`LocalGateway`] it wraps.
#[derive(Debug)]
pub struct TestGateway {
    gateway: LocalGateway,
}

impl Deref for TestGateway {
    type Target = LocalGateway;

    fn deref(&self) -> &LocalGateway {
        &self.gateway
    }
}

impl TestGateway {
    /// Starts a gateway with `partitions` ranges (≥ 1).
    ///
    /// # Panics
    /// If Node is missing, the install fails, or the gateway does not come up within 30 s.
    pub fn start(partitions: usize) -> TestGateway {
        TestGateway {
            gateway: LocalGateway::start(partitions),
        }
    }

    /// The gateway process's id (benchmarks read its CPU time).
    pub fn pid(&self) -> u32 {
        self.gateway.pid()
    }

    /// The gateway's HTTP endpoint, `http://127.0.0.1:PORT/`.
    pub fn endpoint(&self) -> &str {
        self.gateway.endpoint()
    }

    /// Splits range `range` of `db`/`coll` (`POST /_gateway/split`); returns the status and body.
    pub fn split(&self, db: &str, coll: &str, range: &str) -> (u16, serde_json::Value) {
        let body = serde_json::json!({ "db": db, "coll": coll, "range": range }).to_string();
        self.http("POST", "/_gateway/split", &[], Some(&body))
    }

    /// Merges adjacent ranges `left` and `right` of `db`/`coll` into one (`POST /_gateway/merge`).
    pub fn merge(&self, db: &str, coll: &str, left: &str, right: &str) -> (u16, serde_json::Value) {
        let body =
            serde_json::json!({ "db": db, "coll": coll, "left": left, "right": right }).to_string();
        self.http("POST", "/_gateway/merge", &[], Some(&body))
    }

    /// Per-range request counts by kind (`GET /_gateway/requests`).
    pub fn requests(&self) -> serde_json::Value {
        self.http("GET", "/_gateway/requests", &[], None).1
    }

    /// The current topology of every collection (`GET /_gateway/topology`).
    pub fn topology(&self) -> serde_json::Value {
        self.http("GET", "/_gateway/topology", &[], None).1
    }

    /// One raw HTTP/1.1 exchange with the gateway (`Connection: close`, bounded by a timeout).
    /// Returns the status, and the JSON body (`Null` when empty). Panics on I/O errors: tests only.
    pub fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let (status, _, body) = self.http_full(method, path, headers, body);
        (status, body)
    }

    /// Like [`TestGateway::http`], also returning the response headers (lower-case names).
    pub fn http_full(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (u16, Vec<(String, String)>, serde_json::Value) {
        crate::raw_http::exchange(
            self.gateway.endpoint(),
            method,
            path,
            headers,
            body,
            HTTP_TIMEOUT,
        )
    }

    /// Every per-range query request since the last reset (`GET /_gateway/query-log`):
    /// `{range, continuation, bounded, single}` each.
    pub fn query_log(&self) -> Vec<serde_json::Value> {
        match self.http("GET", "/_gateway/query-log", &[], None).1 {
            serde_json::Value::Array(a) => a,
            other => panic!("query log is not a list: {other}"),
        }
    }

    /// Clears the request counts and the query log (`POST /_gateway/requests/reset`).
    pub fn reset_requests(&self) {
        let (status, _) = self.http("POST", "/_gateway/requests/reset", &[], None);
        assert_eq!(status, 204, "reset the gateway's request counts");
    }
}
