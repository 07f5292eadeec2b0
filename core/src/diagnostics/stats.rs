//! Running duration statistics of a deduplication group in bounded memory: count, min, max and
//! a P50 that is exact up to [`MAX_EXACT_SAMPLES`] samples and approximate beyond.
//!
//! P50 is the *lower median*: with the `n` durations sorted ascending, the element at 0-based
//! index `(n - 1) / 2`. Nine samples `52, 78, 120, 189, 312, 456, 623, 780, 890` give `312`
//! (the seed's example); an even count takes the lower of the two middle values.
//!
//! Beyond [`MAX_EXACT_SAMPLES`] samples the exact samples move into a log-linear histogram:
//! values below 16 ms have a bucket each, larger values 16 buckets per power of two. The P50 is
//! then the lower bound of the bucket holding the lower median, clamped to `[min, max]`: never
//! above the exact lower median and less than 6.25 % below it. The histogram is sparse (only
//! buckets that occurred are stored), so it holds at most 976 entries whatever the count.

/// Durations kept exactly before switching to the histogram.
pub const MAX_EXACT_SAMPLES: usize = 64;

/// Sub-buckets per power of two (log2); 16 buckets bound the relative error to 1/16.
const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;

/// The histogram bucket of `v`.
fn bucket_of(v: u64) -> u16 {
    if v < SUB {
        return v as u16;
    }
    let e = 63 - v.leading_zeros(); // >= SUB_BITS
    let shift = e - SUB_BITS;
    let m = v >> shift; // in [SUB, 2 * SUB)
    (u64::from(shift) * SUB + m) as u16
}

/// The smallest value that falls in bucket `b`.
fn bucket_floor(b: u16) -> u64 {
    let b = u64::from(b);
    if b < SUB {
        return b;
    }
    let shift = b / SUB - 1;
    let m = b % SUB + SUB;
    m << shift
}

/// Count, min, max and P50 of millisecond durations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct DurationStats {
    count: u64,
    min: u64,
    max: u64,
    /// Exact samples while `count <= MAX_EXACT_SAMPLES`.
    samples: Vec<u64>,
    /// `(bucket, count)` sorted by bucket, once past `MAX_EXACT_SAMPLES`.
    buckets: Vec<(u16, u64)>,
}

impl DurationStats {
    pub fn record(&mut self, ms: u64) {
        if self.count == 0 {
            self.min = ms;
            self.max = ms;
        } else {
            self.min = self.min.min(ms);
            self.max = self.max.max(ms);
        }
        self.count = self.count.saturating_add(1);
        if self.buckets.is_empty() && self.samples.len() < MAX_EXACT_SAMPLES {
            self.samples.push(ms);
            return;
        }
        for s in std::mem::take(&mut self.samples) {
            self.add_to_bucket(s);
        }
        self.add_to_bucket(ms);
    }

    fn add_to_bucket(&mut self, ms: u64) {
        let b = bucket_of(ms);
        match self.buckets.binary_search_by_key(&b, |e| e.0) {
            Ok(i) => self.buckets[i].1 = self.buckets[i].1.saturating_add(1),
            Err(i) => self.buckets.insert(i, (b, 1)),
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn min(&self) -> u64 {
        self.min
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    /// The lower median (see the module docs); 0 when empty.
    pub fn p50(&self) -> u64 {
        if self.count == 0 {
            return 0;
        }
        if self.buckets.is_empty() {
            let mut s = self.samples.clone();
            s.sort_unstable();
            return s.get((s.len().saturating_sub(1)) / 2).copied().unwrap_or(0);
        }
        let rank = (self.count - 1) / 2; // 0-based rank of the lower median
        let mut seen = 0u64;
        for &(b, n) in &self.buckets {
            seen = seen.saturating_add(n);
            if seen > rank {
                return bucket_floor(b).clamp(self.min, self.max);
            }
        }
        self.max
    }

    /// Entries held: exact samples plus histogram buckets.
    pub fn retained(&self) -> usize {
        self.samples.len() + self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact_lower_median(v: &[u64]) -> u64 {
        let mut s = v.to_vec();
        s.sort_unstable();
        s[(s.len() - 1) / 2]
    }

    #[test]
    fn seed_example_p50_is_312() {
        let mut d = DurationStats::default();
        for ms in [52, 78, 120, 189, 312, 456, 623, 780, 890] {
            d.record(ms);
        }
        assert_eq!((d.count(), d.min(), d.max(), d.p50()), (9, 52, 890, 312));
    }

    #[test]
    fn even_counts_take_the_lower_middle() {
        let mut d = DurationStats::default();
        for ms in [40, 10, 30, 20] {
            d.record(ms);
        }
        assert_eq!(d.p50(), 20);
    }

    #[test]
    fn buckets_are_contiguous_and_floors_round_trip() {
        let mut prev = 0u16;
        for v in 0..100_000u64 {
            let b = bucket_of(v);
            assert!(b == prev || b == prev + 1, "{v}");
            assert!(bucket_floor(b) <= v);
            prev = b;
        }
        assert_eq!(bucket_of(u64::MAX), 975);
        assert_eq!(bucket_floor(975), 31 << 59);
        for b in 0..=975u16 {
            assert_eq!(bucket_of(bucket_floor(b)), b);
        }
    }

    #[test]
    fn approximate_p50_is_within_a_sixteenth_below() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for n in [65usize, 100, 1000, 10_000] {
            let mut d = DurationStats::default();
            let mut all = Vec::new();
            for _ in 0..n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let ms = x % 5_000;
                d.record(ms);
                all.push(ms);
            }
            let exact = exact_lower_median(&all);
            let approx = d.p50();
            assert!(approx <= exact, "{n}: {approx} > {exact}");
            assert!(
                approx as f64 >= exact as f64 * (1.0 - 1.0 / 16.0) - 1.0,
                "{n}: {approx} vs {exact}"
            );
            assert!(d.retained() <= 976);
        }
    }
}
