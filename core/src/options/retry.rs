//! The seed's `RetryOptions`: a public face over Sextant's throttling (429) retry settings.
//!
//! | Seed field          | Seed default | Sextant setting                               | Sextant default |
//! |---------------------|--------------|-----------------------------------------------|-----------------|
//! | `max_retries`       | 3            | `DriverOptionsBuilder::max_throttle_retries`  | 9               |
//! | `initial_delay`     | 100 ms       | `DriverOptionsBuilder::throttle_fallback_delay` | 5 s           |
//! | `max_delay`         | 30 s         | `DriverOptionsBuilder::max_throttle_wait`     | 30 s            |
//! | `retry_on_throttle` | true         | `DriverOptionsBuilder::retry_on_throttle`     | true            |
//!
//! Where the defaults differ, Sextant's stay, because they are the ones every official SDK
//! ships (each getter below says which). Sextant retries a 429 after the wait the service asks
//! for (`x-ms-retry-after-ms`), never on an exponential schedule of its own, as .NET, Java and
//! the official Rust driver do; so `initial_delay` is the wait used only when a 429 does not
//! say how long to wait, and `max_delay` bounds the total wait (and with it every single wait).
//!
//! These options cover the 429 budget only. Failover retries (503, 408, 500 on reads,
//! transport failures) are `DriverOptionsBuilder::max_failover_retries`; the other rows of the
//! retry table have fixed budgets that follow the SDKs (`crate::policy::budget`). A bulk run
//! re-queues throttled items on its own budget, `BulkBuilder::max_throttle_retries`.

use std::time::Duration;

use crate::error::ConfigError;
use crate::options::driver_options::{
    check_positive_duration, DEFAULT_MAX_THROTTLE_RETRIES, DEFAULT_MAX_THROTTLE_WAIT,
    DEFAULT_THROTTLE_FALLBACK_DELAY, MAX_SETTING_DURATION,
};

/// Most 429 retries accepted (the same bound as `DriverOptionsBuilder::max_throttle_retries`).
pub const MAX_THROTTLE_RETRIES: u32 = 1000;

/// Retry policy for throttled (429) requests, in the seed's shape. Only the settings that were
/// set are applied by
/// [`DriverOptionsBuilder::retry_options`](crate::options::DriverOptionsBuilder::retry_options), so a
/// driver-level `RetryOptions` that sets `max_retries` alone keeps the runtime's delays.
///
/// Build with [`RetryOptions::builder`]; the getters return the value in force when nothing
/// else sets it (the Sextant default when unset here).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryOptions {
    /// `max_retries` → `max_throttle_retries`.
    pub(crate) max_retries: Option<u32>,
    /// `initial_delay` → `throttle_fallback_delay`.
    pub(crate) initial_delay: Option<Duration>,
    /// `max_delay` → `max_throttle_wait`.
    pub(crate) max_delay: Option<Duration>,
    /// `retry_on_throttle` → `retry_on_throttle`.
    pub(crate) retry_on_throttle: Option<bool>,
}

impl RetryOptions {
    /// A builder with nothing set.
    pub fn builder() -> RetryOptionsBuilder {
        RetryOptionsBuilder::default()
    }

    /// Retries of a throttled (429) request; Sextant's `max_throttle_retries`. Default 9, not
    /// the seed's 3: .NET and Java `MaxRetryAttemptsOnRateLimitedRequests` and the official
    /// Rust driver's `ThrottlingRetryOptions::max_retry_count` are all 9, and 3 retries of a
    /// ~1 s retry-after give up on ordinary bursts the service expects clients to ride out.
    pub fn max_retries(&self) -> u32 {
        self.max_retries.unwrap_or(DEFAULT_MAX_THROTTLE_RETRIES)
    }

    /// Wait before retrying a 429 that carries no (or a zero) `x-ms-retry-after-ms`; Sextant's
    /// `throttle_fallback_delay`. It is not the first step of a backoff schedule: a 429 that
    /// says how long to wait is retried after that wait plus a few ms of jitter, as in every
    /// official SDK. Default 5 s, not the seed's 100 ms: .NET
    /// `ResourceThrottleRetryPolicy.DefaultRetryInSeconds` and Java `DEFAULT_RETRY_IN_SECONDS`;
    /// retrying a throttled partition after 100 ms would mostly earn another 429.
    pub fn initial_delay(&self) -> Duration {
        self.initial_delay
            .unwrap_or(DEFAULT_THROTTLE_FALLBACK_DELAY)
    }

    /// The longest total time spent waiting between 429 retries of one operation; Sextant's
    /// `max_throttle_wait`. A retry whose wait would take the total past it is not made, so no
    /// single wait exceeds it either (the service's retry-after is never shortened). Default
    /// 30 s, as the seed's; precedent .NET and Java `MaxRetryWaitTimeOnRateLimitedRequests`.
    pub fn max_delay(&self) -> Duration {
        self.max_delay.unwrap_or(DEFAULT_MAX_THROTTLE_WAIT)
    }

    /// Whether 429 responses are retried at all (default true, as the seed's). `false` means no
    /// 429 is retried, whatever `max_retries` says at any level.
    pub fn retry_on_throttle(&self) -> bool {
        self.retry_on_throttle.unwrap_or(true)
    }
}

/// Builder for [`RetryOptions`].
#[derive(Debug, Clone, Default)]
pub struct RetryOptionsBuilder {
    o: RetryOptions,
}

impl RetryOptionsBuilder {
    /// Retries of a throttled request (default 9; at most 1000). See [`RetryOptions::max_retries`].
    pub fn max_retries(mut self, n: u32) -> Self {
        self.o.max_retries = Some(n);
        self
    }

    /// Wait before retrying a 429 that does not say how long to wait (default 5 s; more than 0
    /// and at most 24 h). See [`RetryOptions::initial_delay`].
    pub fn initial_delay(mut self, d: Duration) -> Self {
        self.o.initial_delay = Some(d);
        self
    }

    /// Total wait allowed across the 429 retries of one operation (default 30 s; at most 24 h).
    /// See [`RetryOptions::max_delay`].
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.o.max_delay = Some(d);
        self
    }

    /// Retry 429 responses at all (default true). See [`RetryOptions::retry_on_throttle`].
    pub fn retry_on_throttle(mut self, yes: bool) -> Self {
        self.o.retry_on_throttle = Some(yes);
        self
    }

    /// Checks the values are in range; an error names the field and its accepted range.
    pub fn build(self) -> Result<RetryOptions, ConfigError> {
        let o = self.o;
        if let Some(n) = o.max_retries {
            if n > MAX_THROTTLE_RETRIES {
                return Err(ConfigError::InvalidSetting {
                    name: "max_retries".into(),
                    value: n.to_string(),
                    expected: format!("at most {MAX_THROTTLE_RETRIES}"),
                });
            }
        }
        check_positive_duration("initial_delay", o.initial_delay)?;
        if let Some(d) = o.max_delay {
            if d > MAX_SETTING_DURATION {
                return Err(ConfigError::InvalidSetting {
                    name: "max_delay".into(),
                    value: format!("{d:?}"),
                    expected: "at most 24 hours".into(),
                });
            }
        }
        if let (Some(initial), Some(max)) = (o.initial_delay, o.max_delay) {
            if initial > max {
                return Err(ConfigError::InvalidSetting {
                    name: "initial_delay".into(),
                    value: format!("{initial:?}"),
                    expected: format!("at most max_delay ({max:?})"),
                });
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_sextants() {
        let o = RetryOptions::builder().build().unwrap();
        assert_eq!(o, RetryOptions::default());
        assert_eq!(o.max_retries(), 9);
        assert_eq!(o.initial_delay(), Duration::from_secs(5));
        assert_eq!(o.max_delay(), Duration::from_secs(30));
        assert!(o.retry_on_throttle());
    }

    #[test]
    fn set_values_are_kept() {
        let o = RetryOptions::builder()
            .max_retries(5)
            .initial_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(10))
            .retry_on_throttle(false)
            .build()
            .unwrap();
        assert_eq!(o.max_retries(), 5);
        assert_eq!(o.initial_delay(), Duration::from_millis(100));
        assert_eq!(o.max_delay(), Duration::from_secs(10));
        assert!(!o.retry_on_throttle());
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (RetryOptions::builder().max_retries(1001), "max_retries"),
            (
                RetryOptions::builder().initial_delay(Duration::ZERO),
                "initial_delay",
            ),
            (
                RetryOptions::builder().max_delay(Duration::from_secs(25 * 3600)),
                "max_delay",
            ),
            (
                RetryOptions::builder()
                    .initial_delay(Duration::from_secs(2))
                    .max_delay(Duration::from_secs(1)),
                "initial_delay",
            ),
        ];
        for (b, field) in cases {
            let e = b.build().unwrap_err();
            assert!(e.to_string().contains(field), "{field}: {e}");
        }
        // A zero total wait is allowed: it means "do not wait for a 429".
        assert!(RetryOptions::builder()
            .max_delay(Duration::ZERO)
            .build()
            .is_ok());
    }
}
