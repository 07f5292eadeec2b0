//! The two clocks the core is handed; it never reads a clock itself.

use std::time::{Instant, SystemTime};

/// Both clocks, read by the transport once per loop turn and passed into every core call.
///
/// `mono` drives every timer, deadline and duration. `wall` is used only where the protocol needs
/// calendar time: the `x-ms-date` header and token expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Monotonic time: timers, deadlines, durations.
    pub mono: Instant,
    /// Calendar time: `x-ms-date` and token expiry only.
    pub wall: SystemTime,
}

impl Now {
    /// Bundles the two clocks.
    pub fn new(mono: Instant, wall: SystemTime) -> Self {
        Now { mono, wall }
    }

    /// This instant moved `by` forward on both clocks (for simulations with a virtual clock).
    pub fn advanced(self, by: std::time::Duration) -> Self {
        Now {
            mono: self.mono + by,
            wall: self.wall + by,
        }
    }
}

/// 9999-12-31T23:59:59Z, the latest instant `httpdate` formats.
const LATEST_HTTP_DATE_SECS: u64 = 253_402_300_799;

/// Wall-clock time the core works with: clamped to [1970-01-01, 9999-12-31T23:59:59Z], the
/// instants an `x-ms-date` (an HTTP date) can carry; `httpdate` panics outside them. Found by
/// fuzzing (`fuzz/corpus/execution/wall-clock-*`). Token expiries are not clamped: a token
/// that expires past the clamp stays valid, so acquisition cannot livelock at the ceiling.
pub(crate) fn clamp_wall(wall: SystemTime) -> SystemTime {
    let max = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(LATEST_HTTP_DATE_SECS);
    if wall < SystemTime::UNIX_EPOCH {
        SystemTime::UNIX_EPOCH
    } else if wall > max {
        max
    } else {
        wall
    }
}

/// `now + d`, saturating at the latest instant the platform can represent instead of panicking:
/// durations come from options (`Duration::MAX` means "never") and from service headers
/// (`x-ms-retry-after-ms`), so their sum with an `Instant` must never overflow.
pub(crate) fn instant_after(now: std::time::Instant, d: std::time::Duration) -> std::time::Instant {
    if let Some(t) = now.checked_add(d) {
        return t;
    }
    // Climb as far as the platform allows, halving the step: at most ~128 iterations.
    let (mut at, mut step) = (now, d);
    while !step.is_zero() {
        match at.checked_add(step) {
            Some(t) => at = t,
            None => step /= 2,
        }
    }
    at
}
