//! Congestion control of one range's bulk batches (PROTOCOL.md §8.3): the degree of
//! concurrency starts at 1 and is re-evaluated at most once per interval. A throttled interval
//! drops it by `min(5, dop / 2)` and lengthens the interval by a second; an interval with a
//! success and no throttling raises it by 1, up to the maximum. Precedent: JS
//! `bulk/CongestionAlgorithm.js` and .NET `BatchAsyncStreamer` (`congestionIncreaseFactor`
//! 1, `congestionDecreaseFactor` 5).

use std::time::{Duration, Instant};

/// Most batches in flight to one range. Precedent: JS `BulkMaxDegreeOfConcurrency` (20).
pub const DEFAULT_MAX_DEGREE_OF_CONCURRENCY: usize = 20;

/// The first evaluation interval. Precedent: JS and .NET evaluate at most once per second.
pub const EVALUATION_INTERVAL: Duration = Duration::from_secs(1);

/// Most the interval grows to after repeated throttling (a bound; JS grows it without one).
const MAX_INTERVAL: Duration = Duration::from_secs(10);

/// One range's congestion state.
#[derive(Debug, Clone)]
pub(crate) struct Congestion {
    pub dop: usize,
    max: usize,
    throttled: bool,
    succeeded: bool,
    next_eval: Option<Instant>,
    interval: Duration,
}

impl Congestion {
    pub fn new(dop: usize, max: usize) -> Congestion {
        let max = max.max(1);
        Congestion {
            dop: dop.clamp(1, max),
            max,
            throttled: false,
            succeeded: false,
            next_eval: None,
            interval: EVALUATION_INTERVAL,
        }
    }

    /// A batch of this range was answered: whether any operation was throttled and whether any
    /// succeeded.
    pub fn on_batch(&mut self, throttled: bool, succeeded: bool, now: Instant) {
        self.throttled |= throttled;
        self.succeeded |= succeeded;
        let due = *self.next_eval.get_or_insert(now + self.interval);
        if now < due {
            return;
        }
        if self.throttled {
            let drop = (self.dop / 2).min(5);
            self.dop = self.dop.saturating_sub(drop).max(1);
            self.interval = (self.interval + Duration::from_secs(1)).min(MAX_INTERVAL);
        } else if self.succeeded {
            self.dop = (self.dop + 1).min(self.max);
        }
        self.throttled = false;
        self.succeeded = false;
        self.next_eval = Some(now + self.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)] // the test plays the transport: it reads the clock once
    fn grows_by_one_per_quiet_interval_and_halves_at_most_five_on_throttling() {
        let t0 = Instant::now();
        let mut c = Congestion::new(1, 20);
        c.on_batch(false, true, t0);
        assert_eq!(c.dop, 1, "nothing changes before the first interval passes");
        for s in 1..=15 {
            c.on_batch(false, true, t0 + Duration::from_secs(s));
        }
        assert_eq!(c.dop, 16);
        c.on_batch(true, true, t0 + Duration::from_secs(16));
        assert_eq!(c.dop, 11, "16 - min(5, 8)");
        c.on_batch(true, false, t0 + Duration::from_secs(18));
        assert_eq!(c.dop, 6, "11 - min(5, 5), and the interval grew to 3 s");
        c.on_batch(false, true, t0 + Duration::from_secs(19));
        assert_eq!(c.dop, 6, "the longer interval has not passed");
        c.on_batch(false, true, t0 + Duration::from_secs(21));
        assert_eq!(c.dop, 7);
        let mut low = Congestion::new(1, 20);
        low.on_batch(true, false, t0 + Duration::from_secs(5));
        low.on_batch(true, false, t0 + Duration::from_secs(7));
        assert_eq!(low.dop, 1, "never below one");
        let mut capped = Congestion::new(50, 20);
        assert_eq!(capped.dop, 20);
        capped.on_batch(false, true, t0);
        capped.on_batch(false, true, t0 + Duration::from_secs(2));
        assert_eq!(capped.dop, 20);
    }
}
