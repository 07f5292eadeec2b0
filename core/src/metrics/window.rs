//! The sliding window the alert rules read: a ring of fixed-width time slots, rotated by the
//! `Instant`s the caller passes to `record` and `poll_alerts` (never by a clock).
//!
//! The window covers the current (partial) slot plus the `slots − 1` before it, so its span is
//! between `(slots − 1)·width` and `slots·width`; rates divide by the exact span covered (capped
//! by the time since the first sample). Memory is fixed at creation: per slot a few counters,
//! two coarse latency histograms (224 `u32` each) and a list of (partition, RU) entries that
//! holds at most one entry per partition row and keeps its capacity across rotations.

use std::time::{Duration, Instant};

use super::histogram::{micros, quantiles_from, Layout, MAX_TRACKABLE_MICROS};
use super::keys::MAX_PARTITION_ROWS;

/// Counters of one slot.
#[derive(Debug, Clone, Default)]
struct Slot {
    operations: u64,
    point_operations: u64,
    non_point_operations: u64,
    attempts: u64,
    throttles: u64,
    errors: u64,
    request_charge: f64,
    point_over: u64,
    non_point_over: u64,
    /// (partition row, RU) of operations with a known partition key range.
    partitions: Vec<(u16, f64)>,
}

impl Slot {
    fn clear(&mut self) {
        let partitions = std::mem::take(&mut self.partitions);
        *self = Slot {
            partitions,
            ..Slot::default()
        };
        self.partitions.clear();
    }
}

/// What one sample adds to the window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WindowSample {
    pub point: bool,
    /// Latency in whole microseconds.
    pub micros: u64,
    pub attempts: u32,
    pub throttles: u32,
    pub error: bool,
    pub request_charge: f64,
    pub partition: Option<u16>,
}

/// Sums over the whole window.
#[derive(Debug, Clone, Default)]
pub(crate) struct WindowTotals {
    pub operations: u64,
    pub point_operations: u64,
    pub non_point_operations: u64,
    pub attempts: u64,
    pub throttles: u64,
    pub errors: u64,
    pub request_charge: f64,
    pub point_over: u64,
    pub non_point_over: u64,
    /// Estimated p99 of point / non-point operations (coarse, ≤ 6.25 % error), µs.
    pub point_p99_micros: u64,
    pub non_point_p99_micros: u64,
    /// RU per partition row (indexed by row).
    pub partitions: Vec<f64>,
    /// The span the totals cover.
    pub covered: Duration,
}

/// A ring of `slots` slots of `width` each.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    width: Duration,
    slots: Vec<Slot>,
    /// `slots.len() × 2 × Layout::COARSE.len()` counts: point then non-point, per slot.
    coarse: Box<[u32]>,
    /// The coarse histograms summed over all slots (point then non-point), kept in step with
    /// `coarse` so a window quantile reads 224 buckets instead of `slots × 224`.
    coarse_sum: Box<[u64]>,
    head: usize,
    /// Start of the head slot; `None` until the first instant arrives.
    head_start: Option<Instant>,
    /// When the head slot ends.
    next_rotation: Option<Instant>,
    /// Slot periods elapsed since the first instant: tags `partition_pos` entries.
    epoch: u64,
    /// Where each partition row's entry sits in the head slot: (epoch, position).
    partition_pos: Vec<(u64, u32)>,
    /// The first instant seen.
    origin: Option<Instant>,
    /// The latest instant seen (time never runs back).
    latest: Option<Instant>,
    /// Point / non-point thresholds of the p99 rules (µs); latencies above count as "over".
    point_threshold: Option<u64>,
    non_point_threshold: Option<u64>,
}

impl Window {
    pub fn new(
        span: Duration,
        slots: usize,
        point_threshold: Option<Duration>,
        non_point_threshold: Option<Duration>,
    ) -> Self {
        let slots = slots.max(1);
        let width = span / u32::try_from(slots).unwrap_or(u32::MAX);
        Window {
            width: width.max(Duration::from_millis(1)),
            slots: vec![Slot::default(); slots],
            coarse: vec![0u32; slots * 2 * Layout::COARSE.len()].into_boxed_slice(),
            coarse_sum: vec![0u64; 2 * Layout::COARSE.len()].into_boxed_slice(),
            head: 0,
            head_start: None,
            next_rotation: None,
            epoch: 0,
            partition_pos: vec![(u64::MAX, 0); MAX_PARTITION_ROWS],
            origin: None,
            latest: None,
            point_threshold: point_threshold.map(micros),
            non_point_threshold: non_point_threshold.map(micros),
        }
    }

    /// Nominal span (`slots × width`).
    pub fn span(&self) -> Duration {
        self.width * u32::try_from(self.slots.len()).unwrap_or(u32::MAX)
    }

    /// Moves the ring forward to `now` (clamped to the latest instant seen) and returns it.
    #[inline]
    pub fn advance(&mut self, now: Instant) -> Instant {
        let now = match self.latest {
            Some(l) if l > now => l,
            _ => now,
        };
        self.latest = Some(now);
        match self.next_rotation {
            Some(next) if now < next => {}
            Some(_) => self.rotate(now),
            None => {
                self.origin = Some(now);
                self.head_start = Some(now);
                self.next_rotation = now.checked_add(self.width);
            }
        }
        now
    }

    /// Rotation proper: clears the slots that the elapsed time skipped past.
    fn rotate(&mut self, now: Instant) {
        let Some(start) = self.head_start else { return };
        let width_ns = self.width.as_nanos().max(1);
        let periods = now.saturating_duration_since(start).as_nanos() / width_ns;
        if periods == 0 {
            return;
        }
        let n = self.slots.len();
        let clear = usize::try_from(periods).unwrap_or(usize::MAX).min(n);
        for _ in 0..clear {
            self.head = (self.head + 1) % n;
            self.clear_slot(self.head);
        }
        self.epoch = self
            .epoch
            .saturating_add(u64::try_from(periods).unwrap_or(u64::MAX));
        let advance = u64::try_from(periods.saturating_mul(width_ns))
            .ok()
            .map(Duration::from_nanos)
            .and_then(|d| start.checked_add(d));
        let new_start = advance.unwrap_or(now);
        self.head_start = Some(new_start);
        self.next_rotation = new_start.checked_add(self.width);
    }

    fn clear_slot(&mut self, i: usize) {
        if let Some(s) = self.slots.get_mut(i) {
            s.clear();
        }
        let len = 2 * Layout::COARSE.len();
        if let Some(h) = self.coarse.get_mut(i * len..(i + 1) * len) {
            for (sum, c) in self.coarse_sum.iter_mut().zip(h.iter_mut()) {
                *sum = sum.saturating_sub(u64::from(*c));
                *c = 0;
            }
        }
    }

    /// Adds a sample to the head slot (call `advance` first).
    #[inline]
    pub fn add(&mut self, s: &WindowSample) {
        let head = self.head;
        let epoch = self.epoch;
        let us = s.micros;
        let Some(slot) = self.slots.get_mut(head) else {
            return;
        };
        slot.operations += 1;
        slot.attempts += u64::from(s.attempts);
        slot.throttles += u64::from(s.throttles);
        slot.errors += u64::from(s.error);
        slot.request_charge += s.request_charge;
        let (threshold, half) = if s.point {
            slot.point_operations += 1;
            (self.point_threshold, 0)
        } else {
            slot.non_point_operations += 1;
            (self.non_point_threshold, 1)
        };
        if threshold.is_some_and(|t| us > t) {
            if s.point {
                slot.point_over += 1;
            } else {
                slot.non_point_over += 1;
            }
        }
        let len = Layout::COARSE.len();
        let bucket = half * len + Layout::COARSE.index(us);
        if let Some(c) = self.coarse.get_mut(head * 2 * len + bucket) {
            // A slot saturating at u32::MAX stops counting, and so does the sum, so the
            // subtraction on rotation stays exact.
            if *c < u32::MAX {
                *c += 1;
                if let Some(sum) = self.coarse_sum.get_mut(bucket) {
                    *sum += 1;
                }
            }
        }
        if let Some(row) = s.partition {
            if let Some(pos) = self.partition_pos.get_mut(usize::from(row)) {
                match slot.partitions.get_mut(pos.1 as usize) {
                    Some(entry) if pos.0 == epoch && entry.0 == row => {
                        entry.1 += s.request_charge;
                    }
                    _ => {
                        *pos = (epoch, slot.partitions.len() as u32);
                        slot.partitions.push((row, s.request_charge));
                    }
                }
            }
        }
    }

    /// Sums the window as of the latest instant (`partition_rows`: rows to size the RU list).
    pub fn totals(&self, partition_rows: usize) -> WindowTotals {
        let mut t = WindowTotals {
            partitions: vec![0.0; partition_rows],
            ..WindowTotals::default()
        };
        let (Some(latest), Some(origin), Some(start)) = (self.latest, self.origin, self.head_start)
        else {
            return t;
        };
        // Oldest slot first: the float sums are the same for the same timeline.
        let n = self.slots.len();
        for k in 1..=n {
            let Some(s) = self.slots.get((self.head + k) % n) else {
                continue;
            };
            t.operations += s.operations;
            t.point_operations += s.point_operations;
            t.non_point_operations += s.non_point_operations;
            t.attempts += s.attempts;
            t.throttles += s.throttles;
            t.errors += s.errors;
            t.request_charge += s.request_charge;
            t.point_over += s.point_over;
            t.non_point_over += s.non_point_over;
            for &(row, ru) in &s.partitions {
                if let Some(p) = t.partitions.get_mut(usize::from(row)) {
                    *p += ru;
                }
            }
        }
        t.point_p99_micros = self.coarse_p99(0);
        t.non_point_p99_micros = self.coarse_p99(1);
        let full = self.width * u32::try_from(n - 1).unwrap_or(u32::MAX);
        let ring = full.saturating_add(latest.saturating_duration_since(start));
        t.covered = ring
            .min(latest.saturating_duration_since(origin))
            .max(self.width);
        t
    }

    /// p99 of one half (0 point, 1 non-point) of the window's coarse histogram, µs.
    fn coarse_p99(&self, half: usize) -> u64 {
        let len = Layout::COARSE.len();
        let base = half * len;
        let total = self
            .coarse_sum
            .get(base..base + len)
            .map_or(0, |h| h.iter().sum());
        let [p99] = quantiles_from(
            Layout::COARSE,
            total,
            [0.99],
            0,
            MAX_TRACKABLE_MICROS,
            |i| self.coarse_sum.get(base + i).copied().unwrap_or(0),
        );
        p99
    }
}
