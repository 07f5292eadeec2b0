//! The execution's timers: a small enum-indexed table of optional instants (quinn-proto style).

use std::time::Instant;

/// The timers an execution can arm. Per-attempt deadlines live with the attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The end-to-end deadline of the operation.
    Operation,
    /// Wait before the next attempt (retry-after, backoff).
    Backoff,
    /// Re-check shared state another execution is fetching (metadata, token).
    Recheck,
    /// Send the next hedge.
    Hedge,
}

const COUNT: usize = 4;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TimerTable {
    data: [Option<Instant>; COUNT],
}

impl TimerTable {
    fn idx(t: Timer) -> usize {
        match t {
            Timer::Operation => 0,
            Timer::Backoff => 1,
            Timer::Recheck => 2,
            Timer::Hedge => 3,
        }
    }

    pub fn set(&mut self, t: Timer, at: Instant) {
        self.data[Self::idx(t)] = Some(at);
    }

    pub fn get(&self, t: Timer) -> Option<Instant> {
        self.data[Self::idx(t)]
    }

    pub fn stop(&mut self, t: Timer) {
        self.data[Self::idx(t)] = None;
    }

    /// True (and the timer is cleared) when `t` is armed and `now` has reached it.
    pub fn expired(&mut self, t: Timer, now: Instant) -> bool {
        match self.get(t) {
            Some(at) if now >= at => {
                self.stop(t);
                true
            }
            _ => false,
        }
    }

    /// The earliest armed timer.
    pub fn next(&self) -> Option<Instant> {
        self.data.iter().flatten().min().copied()
    }
}
