//! Per-partition circuit breaker: consecutive availability failures of one partition key range
//! in one region move that partition's requests to other regions for a while, then a single
//! probe checks whether the region serves it again.
//!
//! Thresholds: 10 read / 5 write failures (Java, .NET and the Rust driver agree). Counting is
//! consecutive (Java) and forgets failures older than the window (Rust driver: 5 min, .NET 1 min
//! reset). The partition is held out for at least 5 s (.NET and Rust driver minimum; Java 30 s).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::ConfigError;

/// Read failures that open the breaker.
pub const DEFAULT_READ_FAILURE_THRESHOLD: u32 = 10;
/// Write failures that open the breaker.
pub const DEFAULT_WRITE_FAILURE_THRESHOLD: u32 = 5;
/// Failures older than this are forgotten (Rust driver: 5 min).
pub const DEFAULT_FAILURE_WINDOW: Duration = Duration::from_secs(300);
/// How long an open breaker keeps the partition away before a probe (.NET / Rust driver: 5 s).
pub const DEFAULT_HOLD: Duration = Duration::from_secs(5);
/// Partitions × regions tracked per driver; the least recently failed entry is evicted beyond.
pub const MAX_TRACKED: usize = 4096;

/// Circuit breaker settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitBreakerOptions {
    /// On by default (Rust driver default; Java's is off, .NET's on with PPAF).
    pub enabled: bool,
    /// Consecutive read failures that open it (default 10).
    pub read_failure_threshold: u32,
    /// Consecutive write failures that open it (default 5).
    pub write_failure_threshold: u32,
    /// Failures older than this are forgotten (default 5 min).
    pub failure_window: Duration,
    /// Time before a probe is allowed (default 5 s).
    pub hold: Duration,
}

impl Default for CircuitBreakerOptions {
    fn default() -> Self {
        CircuitBreakerOptions {
            enabled: true,
            read_failure_threshold: DEFAULT_READ_FAILURE_THRESHOLD,
            write_failure_threshold: DEFAULT_WRITE_FAILURE_THRESHOLD,
            failure_window: DEFAULT_FAILURE_WINDOW,
            hold: DEFAULT_HOLD,
        }
    }
}

impl CircuitBreakerOptions {
    /// Checks the values are in range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |name: &str, value: String, expected: &str| ConfigError::InvalidSetting {
            name: format!("circuit_breaker.{name}"),
            value,
            expected: expected.into(),
        };
        if self.read_failure_threshold == 0 || self.write_failure_threshold == 0 {
            return Err(bad("failure_threshold", "0".into(), "at least 1"));
        }
        if self.hold.is_zero() || self.hold > Duration::from_secs(3600) {
            return Err(bad(
                "hold",
                format!("{:?}", self.hold),
                "more than 0 and at most 1 h",
            ));
        }
        if self.failure_window.is_zero() {
            return Err(bad("failure_window", "0".into(), "more than 0"));
        }
        Ok(())
    }
}

/// A partition in a region: (container link, pk range id, endpoint).
pub type PartitionRegion = (String, String, Arc<str>);

#[derive(Debug, Clone)]
struct Entry {
    read_failures: u32,
    write_failures: u32,
    last_failure: Instant,
    open_until: Option<Instant>,
    probing: bool,
}

/// What routing should do with a partition in a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Use it normally.
    Closed,
    /// Route elsewhere.
    Open,
    /// The hold passed: one request may probe it.
    ProbeAllowed,
}

/// Per-driver breaker table.
#[derive(Debug, Default)]
pub struct PartitionCircuitBreaker {
    entries: BTreeMap<PartitionRegion, Entry>,
}

impl PartitionCircuitBreaker {
    /// The state of `key` now.
    pub fn state(&self, key: &PartitionRegion, now: Instant) -> BreakerState {
        match self
            .entries
            .get(key)
            .and_then(|e| e.open_until.map(|u| (u, e.probing)))
        {
            None => BreakerState::Closed,
            Some((until, probing)) if now >= until && !probing => BreakerState::ProbeAllowed,
            Some(_) => BreakerState::Open,
        }
    }

    /// Marks that a probe was sent (others keep avoiding the region until it answers).
    pub fn probe_started(&mut self, key: &PartitionRegion) {
        if let Some(e) = self.entries.get_mut(key) {
            e.probing = true;
        }
    }

    /// Records an availability failure; returns true when it opened the breaker.
    pub fn record_failure(
        &mut self,
        key: PartitionRegion,
        write: bool,
        now: Instant,
        o: &CircuitBreakerOptions,
    ) -> bool {
        if !self.entries.contains_key(&key) && self.entries.len() >= MAX_TRACKED {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_failure)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.entries.remove(&k);
            }
        }
        let e = self.entries.entry(key).or_insert(Entry {
            read_failures: 0,
            write_failures: 0,
            last_failure: now,
            open_until: None,
            probing: false,
        });
        if now.saturating_duration_since(e.last_failure) > o.failure_window {
            e.read_failures = 0;
            e.write_failures = 0;
        }
        e.last_failure = now;
        if e.probing || e.open_until.is_some() {
            // A failed probe (or a failure while open) re-opens for another hold.
            e.probing = false;
            e.open_until = Some(crate::now::instant_after(now, o.hold));
            return false;
        }
        if write {
            e.write_failures = e.write_failures.saturating_add(1);
        } else {
            e.read_failures = e.read_failures.saturating_add(1);
        }
        if e.read_failures >= o.read_failure_threshold
            || e.write_failures >= o.write_failure_threshold
        {
            e.open_until = Some(crate::now::instant_after(now, o.hold));
            return true;
        }
        false
    }

    /// Records a success: the partition is healthy in that region again.
    pub fn record_success(&mut self, key: &PartitionRegion) {
        self.entries.remove(key);
    }

    /// Entries tracked (bounded by [`MAX_TRACKED`]).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests play the transport: they read the clock
mod tests {
    use super::*;

    fn key() -> PartitionRegion {
        (
            "dbs/d/colls/c".into(),
            "0".into(),
            Arc::from("https://west/"),
        )
    }

    #[test]
    fn opens_after_the_threshold_then_allows_one_probe() {
        let o = CircuitBreakerOptions::default();
        let mut b = PartitionCircuitBreaker::default();
        let t = Instant::now();
        for i in 0..4 {
            assert!(!b.record_failure(key(), true, t, &o), "write failure {i}");
        }
        assert_eq!(b.state(&key(), t), BreakerState::Closed);
        assert!(b.record_failure(key(), true, t, &o));
        assert_eq!(b.state(&key(), t), BreakerState::Open);
        assert_eq!(
            b.state(&key(), t + DEFAULT_HOLD),
            BreakerState::ProbeAllowed
        );
        b.probe_started(&key());
        assert_eq!(
            b.state(&key(), t + DEFAULT_HOLD),
            BreakerState::Open,
            "one probe at a time"
        );
        b.record_failure(key(), false, t + DEFAULT_HOLD, &o);
        assert_eq!(
            b.state(&key(), t + DEFAULT_HOLD * 2 - Duration::from_millis(1)),
            BreakerState::Open
        );
        b.record_success(&key());
        assert_eq!(b.state(&key(), t), BreakerState::Closed);
    }

    #[test]
    fn old_failures_are_forgotten_and_successes_reset() {
        let o = CircuitBreakerOptions::default();
        let mut b = PartitionCircuitBreaker::default();
        let t = Instant::now();
        for _ in 0..9 {
            b.record_failure(key(), false, t, &o);
        }
        assert!(!b.record_failure(
            key(),
            false,
            t + DEFAULT_FAILURE_WINDOW + Duration::from_secs(1),
            &o
        ));
        b.record_success(&key());
        assert!(b.is_empty());
    }

    #[test]
    fn is_bounded() {
        let o = CircuitBreakerOptions::default();
        let mut b = PartitionCircuitBreaker::default();
        let t = Instant::now();
        for i in 0..(MAX_TRACKED + 10) {
            b.record_failure(("c".into(), i.to_string(), Arc::from("e")), false, t, &o);
        }
        assert_eq!(b.len(), MAX_TRACKED);
    }
}
