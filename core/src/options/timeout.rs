//! The seed's `TimeoutOptions`: a public face over Sextant's two timeouts.
//!
//! | Seed field          | Sextant setting                             | Default |
//! |---------------------|---------------------------------------------|---------|
//! | `request_timeout`   | `DriverOptionsBuilder::request_timeout`     | 6 s     |
//! | `operation_timeout` | `DriverOptionsBuilder::end_to_end_timeout`  | 60 s    |
//!
//! The seed names no defaults; Sextant's are bounded (see the getters for their precedents).

use std::time::Duration;

use crate::error::ConfigError;
use crate::options::driver_options::{
    check_positive_duration, DEFAULT_END_TO_END_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
};

/// Request and operation timeouts, in the seed's shape. Only the settings that were set are
/// applied by [`DriverOptionsBuilder::timeout_options`](crate::options::DriverOptionsBuilder::timeout_options).
///
/// Build with [`TimeoutOptions::builder`]; the getters return the value in force when nothing
/// else sets it (the Sextant default when unset here).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeoutOptions {
    /// `request_timeout` → `request_timeout`.
    pub(crate) request_timeout: Option<Duration>,
    /// `operation_timeout` → `end_to_end_timeout`.
    pub(crate) operation_timeout: Option<Duration>,
}

impl TimeoutOptions {
    /// A builder with nothing set.
    pub fn builder() -> TimeoutOptionsBuilder {
        TimeoutOptionsBuilder::default()
    }

    /// Per-attempt timeout of a data-plane request, covering connect, send and the whole
    /// response, body included; Sextant's `request_timeout`. Default 6 s: the official Rust
    /// driver's `AZURE_COSMOS_CONNECTION_POOL_MAX_DATAPLANE_REQUEST_TIMEOUT_MS` default (.NET's
    /// newest data-plane policy starts reads at 3 s). A timed-out attempt may be retried in
    /// another region within the operation timeout.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT)
    }

    /// Bound of a whole operation across its attempts, retries and waits; Sextant's
    /// `end_to_end_timeout` (an operation's own `OperationOptions::end_to_end_timeout`
    /// overrides it). Default 60 s: no SDK sets one by default; 60 s is Java gateway mode's
    /// network request timeout and holds the default budgets (30 s of throttling waits plus
    /// three 6 s attempts).
    pub fn operation_timeout(&self) -> Duration {
        self.operation_timeout.unwrap_or(DEFAULT_END_TO_END_TIMEOUT)
    }
}

/// Builder for [`TimeoutOptions`].
#[derive(Debug, Clone, Default)]
pub struct TimeoutOptionsBuilder {
    o: TimeoutOptions,
}

impl TimeoutOptionsBuilder {
    /// Per-attempt timeout (default 6 s; more than 0 and at most 24 h). See
    /// [`TimeoutOptions::request_timeout`].
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.o.request_timeout = Some(d);
        self
    }

    /// Whole-operation timeout (default 60 s; more than 0 and at most 24 h). See
    /// [`TimeoutOptions::operation_timeout`].
    pub fn operation_timeout(mut self, d: Duration) -> Self {
        self.o.operation_timeout = Some(d);
        self
    }

    /// Checks the values are in range; an error names the field and its accepted range.
    pub fn build(self) -> Result<TimeoutOptions, ConfigError> {
        check_positive_duration("request_timeout", self.o.request_timeout)?;
        check_positive_duration("operation_timeout", self.o.operation_timeout)?;
        Ok(self.o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_values() {
        let o = TimeoutOptions::builder().build().unwrap();
        assert_eq!(o.request_timeout(), Duration::from_secs(6));
        assert_eq!(o.operation_timeout(), Duration::from_secs(60));
        let o = TimeoutOptions::builder()
            .request_timeout(Duration::from_secs(2))
            .operation_timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        assert_eq!(o.request_timeout(), Duration::from_secs(2));
        assert_eq!(o.operation_timeout(), Duration::from_secs(20));
    }

    #[test]
    fn errors_name_the_field() {
        let e = TimeoutOptions::builder()
            .request_timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("request_timeout"), "{e}");
        let e = TimeoutOptions::builder()
            .operation_timeout(Duration::from_secs(25 * 3600))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("operation_timeout"), "{e}");
    }
}
