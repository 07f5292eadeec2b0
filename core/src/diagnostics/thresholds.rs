//! When an operation's diagnostics are worth logging: latency (point and non-point
//! operations), request charge, payload size and failure. A pure decision; the transports emit
//! the log record (through [`super::LogRateLimiter`] so a storm cannot flood the logs).

use std::time::Duration;

use super::CosmosDiagnostics;
use crate::error::ConfigError;
use crate::operation::OperationKind;

/// Latency above which a point operation is logged. Precedent: Java
/// `CosmosDiagnosticsThresholds.DEFAULT_POINT_OPERATION_LATENCY_THRESHOLD` and .NET
/// `CosmosThresholdOptions.PointOperationLatencyThreshold`, both 1 s.
pub const DEFAULT_POINT_OPERATION_LATENCY_THRESHOLD: Duration = Duration::from_secs(1);
/// Latency above which any other operation (query, feed) is logged. Precedent: Java and .NET,
/// both 3 s.
pub const DEFAULT_NON_POINT_OPERATION_LATENCY_THRESHOLD: Duration = Duration::from_secs(3);
/// Total RU above which an operation is logged. Precedent: Java
/// `DEFAULT_REQUEST_CHARGE_THRESHOLD` = 1000 RU.
pub const DEFAULT_REQUEST_CHARGE_THRESHOLD: f64 = 1000.0;

/// What one finished operation looked like, as the thresholds see it.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationSummary {
    /// A point operation (create, read, replace, upsert, delete of one item) rather than a
    /// query or feed.
    pub point_operation: bool,
    /// End-to-end duration.
    pub duration: Duration,
    /// Total RU of every attempt.
    pub request_charge: f64,
    /// Request body size in bytes.
    pub request_payload_bytes: u64,
    /// Response body size in bytes.
    pub response_payload_bytes: u64,
    /// Final HTTP status; `None` when no response decided the outcome (transport failure,
    /// timeout).
    pub status: Option<u16>,
    /// Final sub-status.
    pub sub_status: Option<u32>,
}

impl OperationSummary {
    /// Duration, RU and final status from `diagnostics`; payload sizes 0 (set them when known).
    pub fn from_diagnostics(diagnostics: &CosmosDiagnostics, point_operation: bool) -> Self {
        OperationSummary {
            point_operation,
            duration: diagnostics.elapsed(),
            request_charge: diagnostics.total_request_charge(),
            request_payload_bytes: 0,
            response_payload_bytes: 0,
            status: diagnostics.status(),
            sub_status: diagnostics.sub_status(),
        }
    }
}

/// True for the operation kinds the latency thresholds treat as point operations.
pub fn is_point_operation(kind: OperationKind) -> bool {
    !kind.is_feed()
}

/// Which thresholds an operation exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThresholdViolations {
    /// Slower than the latency threshold for its kind.
    pub latency: bool,
    /// More RU than the request-charge threshold.
    pub request_charge: bool,
    /// A payload larger than the payload threshold.
    pub payload_size: bool,
    /// The outcome counts as a failure (see [`DiagnosticsThresholds::is_failure`]).
    pub failure: bool,
}

impl ThresholdViolations {
    /// True when any threshold was exceeded.
    pub fn any(&self) -> bool {
        self.latency || self.request_charge || self.payload_size || self.failure
    }
}

/// Thresholds above which an operation's diagnostics are logged.
#[derive(Debug, Clone, PartialEq)]
pub struct DiagnosticsThresholds {
    point_operation_latency: Duration,
    non_point_operation_latency: Duration,
    request_charge: f64,
    payload_size_bytes: Option<u64>,
    failures: bool,
}

impl Default for DiagnosticsThresholds {
    fn default() -> Self {
        DiagnosticsThresholds {
            point_operation_latency: DEFAULT_POINT_OPERATION_LATENCY_THRESHOLD,
            non_point_operation_latency: DEFAULT_NON_POINT_OPERATION_LATENCY_THRESHOLD,
            request_charge: DEFAULT_REQUEST_CHARGE_THRESHOLD,
            // Java's default is Integer.MAX_VALUE: effectively off.
            payload_size_bytes: None,
            failures: true,
        }
    }
}

impl DiagnosticsThresholds {
    /// Latency threshold for point operations (default 1 s).
    pub fn with_point_operation_latency(mut self, v: Duration) -> Self {
        self.point_operation_latency = v;
        self
    }

    /// Latency threshold for other operations (default 3 s).
    pub fn with_non_point_operation_latency(mut self, v: Duration) -> Self {
        self.non_point_operation_latency = v;
        self
    }

    /// Total RU threshold (default 1000 RU). Must be finite and not negative.
    pub fn with_request_charge(mut self, ru: f64) -> Self {
        self.request_charge = ru;
        self
    }

    /// Payload size threshold for the request or the response body (default off).
    pub fn with_payload_size_bytes(mut self, bytes: Option<u64>) -> Self {
        self.payload_size_bytes = bytes;
        self
    }

    /// Whether failed operations are logged whatever their latency (default true).
    pub fn with_failures(mut self, enabled: bool) -> Self {
        self.failures = enabled;
        self
    }

    /// Latency threshold for point operations.
    pub fn point_operation_latency(&self) -> Duration {
        self.point_operation_latency
    }

    /// Latency threshold for other operations.
    pub fn non_point_operation_latency(&self) -> Duration {
        self.non_point_operation_latency
    }

    /// Total RU threshold.
    pub fn request_charge(&self) -> f64 {
        self.request_charge
    }

    /// Payload size threshold, if any.
    pub fn payload_size_bytes(&self) -> Option<u64> {
        self.payload_size_bytes
    }

    /// Checks the values are usable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.request_charge.is_finite() || self.request_charge < 0.0 {
            return Err(ConfigError::InvalidSetting {
                name: "request_charge threshold".into(),
                value: format!("{}", self.request_charge),
                expected: "a finite number of RU, at least 0".into(),
            });
        }
        Ok(())
    }

    /// Which thresholds `s` exceeds (each comparison is strict: equal is not exceeding).
    pub fn evaluate(&self, s: &OperationSummary) -> ThresholdViolations {
        let latency_limit = if s.point_operation {
            self.point_operation_latency
        } else {
            self.non_point_operation_latency
        };
        ThresholdViolations {
            latency: s.duration > latency_limit,
            request_charge: s.request_charge > self.request_charge,
            payload_size: self.payload_size_bytes.is_some_and(|limit| {
                s.request_payload_bytes > limit || s.response_payload_bytes > limit
            }),
            failure: self.failures && Self::is_failure(s.status, s.sub_status),
        }
    }

    /// True when the operation's diagnostics should be logged.
    pub fn exceeds(&self, s: &OperationSummary) -> bool {
        self.evaluate(s).any()
    }

    /// Whether an outcome counts as a failure. Precedent: Java's default failure handler:
    /// every status >= 400 except the expected ones (404/0 not found, 409/0 conflict, 412/0
    /// precondition failed, 429/3200 provisioned throughput exceeded); no response at all
    /// (transport failure, timeout) is a failure too.
    pub fn is_failure(status: Option<u16>, sub_status: Option<u32>) -> bool {
        let Some(status) = status else {
            return true;
        };
        let sub = sub_status.unwrap_or(0);
        if status >= 500 {
            return true;
        }
        if sub == 0 && matches!(status, 404 | 409 | 412) {
            return false;
        }
        if status == 429 && sub == 3200 {
            return false;
        }
        status >= 400
    }
}
