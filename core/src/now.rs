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
