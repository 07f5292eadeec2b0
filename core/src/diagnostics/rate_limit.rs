//! A deterministic token bucket for diagnostics logging: at most `burst` records at once and
//! one more per `refill_interval`, driven by the `Instant`s the caller passes in (the core
//! reads no clock). Suppressed records are counted so the next emitted one can say how many
//! were skipped.

use std::time::{Duration, Instant};

use crate::error::ConfigError;

/// Default burst: records emitted back to back before limiting starts.
pub const DEFAULT_LOG_BURST: u32 = 20;
/// Default refill: one more record every 250 ms (4 per second sustained).
pub const DEFAULT_LOG_REFILL_INTERVAL: Duration = Duration::from_millis(250);

/// The limiter's answer for one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogPermit {
    /// Emit the record; `suppressed` records were dropped since the previous emitted one.
    Allowed {
        /// Records suppressed since the last allowed one.
        suppressed: u64,
    },
    /// Drop the record (it is counted).
    Suppressed,
}

/// Token bucket over caller-supplied time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRateLimiter {
    burst: u32,
    refill_interval: Duration,
    tokens: u32,
    last_refill: Option<Instant>,
    suppressed: u64,
}

impl Default for LogRateLimiter {
    fn default() -> Self {
        LogRateLimiter {
            burst: DEFAULT_LOG_BURST,
            refill_interval: DEFAULT_LOG_REFILL_INTERVAL,
            tokens: DEFAULT_LOG_BURST,
            last_refill: None,
            suppressed: 0,
        }
    }
}

impl LogRateLimiter {
    /// A full bucket of `burst` tokens refilled one per `refill_interval`.
    pub fn new(burst: u32, refill_interval: Duration) -> Result<Self, ConfigError> {
        if burst == 0 {
            return Err(ConfigError::InvalidSetting {
                name: "log burst".into(),
                value: "0".into(),
                expected: "at least 1".into(),
            });
        }
        if refill_interval.is_zero() {
            return Err(ConfigError::InvalidSetting {
                name: "log refill interval".into(),
                value: format!("{refill_interval:?}"),
                expected: "more than 0".into(),
            });
        }
        Ok(LogRateLimiter {
            burst,
            refill_interval,
            tokens: burst,
            last_refill: None,
            suppressed: 0,
        })
    }

    /// Takes a token for a record at `now`. Time that runs backwards adds no tokens.
    pub fn try_acquire(&mut self, now: Instant) -> LogPermit {
        self.refill(now);
        if self.tokens == 0 {
            self.suppressed = self.suppressed.saturating_add(1);
            return LogPermit::Suppressed;
        }
        self.tokens -= 1;
        LogPermit::Allowed {
            suppressed: std::mem::take(&mut self.suppressed),
        }
    }

    /// Records suppressed since the last allowed one.
    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }

    fn refill(&mut self, now: Instant) {
        let Some(last) = self.last_refill else {
            self.last_refill = Some(now);
            return;
        };
        let elapsed = now.saturating_duration_since(last);
        let n = elapsed.as_nanos() / self.refill_interval.as_nanos().max(1);
        if n == 0 {
            return;
        }
        let room = self.burst - self.tokens;
        if n >= u128::from(room) {
            // Full: no banking of unused time.
            self.tokens = self.burst;
            self.last_refill = Some(now);
        } else {
            let n = n as u32; // < room <= u32::MAX
            self.tokens += n;
            // Keep the fractional remainder: advance by whole intervals only (at most `elapsed`,
            // so this cannot overflow; fall back to `now` all the same).
            let advanced = self
                .refill_interval
                .checked_mul(n)
                .and_then(|d| last.checked_add(d))
                .unwrap_or(now);
            self.last_refill = Some(advanced);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // a test picks its base instant; the core never does
    fn base() -> Instant {
        Instant::now()
    }

    #[test]
    fn burst_then_refill_then_report_suppressed() {
        let t0 = base();
        let mut l = LogRateLimiter::new(3, Duration::from_millis(100)).unwrap();
        for _ in 0..3 {
            assert_eq!(l.try_acquire(t0), LogPermit::Allowed { suppressed: 0 });
        }
        for _ in 0..5 {
            assert_eq!(l.try_acquire(t0), LogPermit::Suppressed);
        }
        assert_eq!(
            l.try_acquire(t0 + Duration::from_millis(99)),
            LogPermit::Suppressed
        );
        assert_eq!(
            l.try_acquire(t0 + Duration::from_millis(100)),
            LogPermit::Allowed { suppressed: 6 }
        );
        assert_eq!(
            l.try_acquire(t0 + Duration::from_millis(150)),
            LogPermit::Suppressed
        );
        // Remainder carried: the next token is due at 200 ms, not 250.
        assert_eq!(
            l.try_acquire(t0 + Duration::from_millis(200)),
            LogPermit::Allowed { suppressed: 1 }
        );
        // Time going back adds nothing.
        assert_eq!(l.try_acquire(t0), LogPermit::Suppressed);
        // A long pause refills to the burst, not beyond.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(matches!(l.try_acquire(later), LogPermit::Allowed { .. }));
        }
        assert_eq!(l.try_acquire(later), LogPermit::Suppressed);
    }

    #[test]
    fn a_storm_emits_at_most_burst_plus_rate() {
        let t0 = base();
        let mut l = LogRateLimiter::default();
        let mut allowed = 0;
        // 100,000 records over 10 s.
        for i in 0..100_000u64 {
            let now = t0 + Duration::from_micros(i * 100);
            if matches!(l.try_acquire(now), LogPermit::Allowed { .. }) {
                allowed += 1;
            }
        }
        assert!(allowed <= 20 + 40, "{allowed}");
        assert!(allowed >= 20 + 39, "{allowed}");
    }

    #[test]
    fn rejects_zero_settings() {
        assert!(LogRateLimiter::new(0, Duration::from_secs(1)).is_err());
        assert!(LogRateLimiter::new(1, Duration::ZERO).is_err());
    }
}
