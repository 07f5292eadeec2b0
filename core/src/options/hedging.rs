//! Threshold-based hedging: after a threshold, send the same request to the next region; the
//! first final answer wins and the others are aborted.

use std::time::Duration;

use crate::error::ConfigError;

/// First hedge after this long without an answer. Precedent: Java
/// `ThresholdBasedAvailabilityStrategy` default threshold, 500 ms (.NET and the Rust driver
/// have no default and require one).
pub const DEFAULT_HEDGE_THRESHOLD: Duration = Duration::from_millis(500);
/// Further hedges every step. Precedent: Java `ThresholdBasedAvailabilityStrategy` step, 100 ms.
pub const DEFAULT_HEDGE_STEP: Duration = Duration::from_millis(100);
/// Hedges one operation may add to its first attempt (so at most 3 regions in parallel).
pub const DEFAULT_MAX_HEDGES_PER_OPERATION: u32 = 2;
/// Hedged attempts in flight across one driver. A slow region must not double the load on
/// every other region at once; beyond this, operations wait for their first attempt.
pub const DEFAULT_MAX_CONCURRENT_HEDGES: usize = 64;

/// Hedging settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HedgingOptions {
    /// Hedge reads (default true; only has an effect with more than one readable region).
    pub enabled: bool,
    /// Also hedge writes on multi-write accounts (default false: a hedged write can apply in
    /// two regions, resolved by the account's conflict policy).
    pub writes_on_multi_write: bool,
    /// Time before the first hedge (default 500 ms).
    pub threshold: Duration,
    /// Time between further hedges (default 100 ms).
    pub step: Duration,
    /// Hedges per operation (default 2).
    pub max_hedges_per_operation: u32,
    /// Hedged attempts in flight per driver (default 64).
    pub max_concurrent_hedges: usize,
}

impl Default for HedgingOptions {
    fn default() -> Self {
        HedgingOptions {
            enabled: true,
            writes_on_multi_write: false,
            threshold: DEFAULT_HEDGE_THRESHOLD,
            step: DEFAULT_HEDGE_STEP,
            max_hedges_per_operation: DEFAULT_MAX_HEDGES_PER_OPERATION,
            max_concurrent_hedges: DEFAULT_MAX_CONCURRENT_HEDGES,
        }
    }
}

impl HedgingOptions {
    /// Hedging switched off.
    pub fn disabled() -> Self {
        HedgingOptions {
            enabled: false,
            ..Default::default()
        }
    }

    /// Checks the values are in range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |name: &str, value: String, expected: &str| ConfigError::InvalidSetting {
            name: format!("hedging.{name}"),
            value,
            expected: expected.into(),
        };
        if self.threshold.is_zero() || self.threshold > Duration::from_secs(60) {
            return Err(bad(
                "threshold",
                format!("{:?}", self.threshold),
                "more than 0 and at most 60 s",
            ));
        }
        if self.step.is_zero() || self.step > Duration::from_secs(60) {
            return Err(bad(
                "step",
                format!("{:?}", self.step),
                "more than 0 and at most 60 s",
            ));
        }
        if self.max_hedges_per_operation > 16 {
            return Err(bad(
                "max_hedges_per_operation",
                self.max_hedges_per_operation.to_string(),
                "at most 16",
            ));
        }
        if self.max_concurrent_hedges > 100_000 {
            return Err(bad(
                "max_concurrent_hedges",
                self.max_concurrent_hedges.to_string(),
                "at most 100000",
            ));
        }
        Ok(())
    }
}
