//! Fixed-memory log-linear latency histograms (HDR-like), hand-written to keep the core's
//! dependency tree minimal.
//!
//! Latencies are recorded in whole microseconds. Values below `2·S` µs get one bucket each
//! (exact); above that every power of two is split into `S` equal sub-buckets, so a bucket is at
//! most `1/S` of its lower bound wide. Quantiles report the bucket's midpoint (clamped to the
//! observed min and max), which is within `1/(2·S)` of the true sample value.
//!
//! | layout | `S` | buckets | relative error | used for |
//! |---|---|---|---|---|
//! | fine | 32 | 832 | ≤ 1.5625 % (± 1 µs) | [`LatencyHistogram`] (since start) |
//! | coarse | 8 | 224 | ≤ 6.25 % (± 1 µs) | per-slot window histograms (alerts) |
//!
//! The range is 1 µs to [`MAX_TRACKABLE_MICROS`] (≈ 17.9 min, covering the 10 min that any
//! end-to-end timeout realistically allows); longer latencies land in the top bucket, while the
//! exact maximum is still kept.

use std::time::Duration;

use serde::Serialize;

/// Largest latency, in microseconds, with its own bucket: 2^30 − 1 µs (≈ 17.9 minutes).
/// Longer latencies are counted in the top bucket.
pub const MAX_TRACKABLE_MICROS: u64 = (1 << 30) - 1;

/// Highest power of two (exponent) below [`MAX_TRACKABLE_MICROS`].
const TOP_EXPONENT: u32 = 29;

/// A log-linear bucket layout with `2^sub_bits` sub-buckets per power of two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    sub_bits: u32,
}

impl Layout {
    /// 32 sub-buckets per power of two: ≤ 1.6 % error, 832 buckets.
    pub(crate) const FINE: Layout = Layout { sub_bits: 5 };
    /// 8 sub-buckets per power of two: ≤ 6.25 % error, 224 buckets.
    pub(crate) const COARSE: Layout = Layout { sub_bits: 3 };

    const fn sub(self) -> u64 {
        1 << self.sub_bits
    }

    /// Number of buckets.
    pub(crate) const fn len(self) -> usize {
        (2 * self.sub() + (TOP_EXPONENT - self.sub_bits) as u64 * self.sub()) as usize
    }

    /// The bucket of a latency in microseconds (saturating at the top bucket).
    #[inline]
    pub(crate) fn index(self, micros: u64) -> usize {
        let v = micros.min(MAX_TRACKABLE_MICROS);
        let s = self.sub();
        if v < 2 * s {
            return v as usize;
        }
        // v >= 2s, so the exponent is at least sub_bits + 1.
        let e = 63 - v.leading_zeros();
        let shift = e - self.sub_bits;
        let m = v >> shift;
        (2 * s + u64::from(e - self.sub_bits - 1) * s + (m - s)) as usize
    }

    /// `[low, high)` bounds of a bucket, in microseconds.
    pub(crate) fn bounds(self, index: usize) -> (u64, u64) {
        let s = self.sub();
        let i = index as u64;
        if i < 2 * s {
            return (i, i + 1);
        }
        let j = i - 2 * s;
        let shift = j / s + 1;
        let m = s + j % s;
        (m << shift, (m + 1) << shift)
    }

    /// The value reported for a bucket: its midpoint (exact for one-wide buckets).
    pub(crate) fn representative(self, index: usize) -> u64 {
        let (lo, hi) = self.bounds(index);
        lo + (hi - lo) / 2
    }
}

/// Microseconds of a duration, saturating.
#[inline]
pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Nearest-rank values at the quantiles `qs` (ascending), from bucket counts read by `count_at`.
/// Values are bucket midpoints clamped to `[min, max]`, in microseconds.
pub(crate) fn quantiles_from<const N: usize>(
    layout: Layout,
    total: u64,
    qs: [f64; N],
    min: u64,
    max: u64,
    count_at: impl Fn(usize) -> u64,
) -> [u64; N] {
    let mut out = [0u64; N];
    if total == 0 {
        return out;
    }
    let ranks = qs.map(|q| rank(q, total));
    let mut next = 0;
    let mut seen = 0u64;
    for i in 0..layout.len() {
        seen = seen.saturating_add(count_at(i));
        while next < N && seen >= ranks[next] {
            // The top bucket also holds everything beyond the range: report the true maximum.
            out[next] = if i + 1 == layout.len() {
                max
            } else {
                layout.representative(i).clamp(min, max.max(min))
            };
            next += 1;
        }
        if next == N {
            break;
        }
    }
    // Counts may have saturated; anything not reached is the maximum.
    for v in out.iter_mut().skip(next) {
        *v = max;
    }
    out
}

/// The 1-based nearest rank of quantile `q` among `total` samples.
fn rank(q: f64, total: u64) -> u64 {
    let q = if q.is_finite() {
        q.clamp(0.0, 1.0)
    } else {
        1.0
    };
    // Precision loss above 2^53 samples only moves the rank by a few samples.
    let r = (q * total as f64).ceil() as u64;
    r.clamp(1, total)
}

/// A latency histogram with fixed memory (832 `u64` buckets, ≈ 6.5 KiB) and ≤ 1.6 % relative
/// error on quantiles. Recording is a few shifts and one increment; it never allocates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: Box<[u64]>,
    count: u64,
    sum_micros: u64,
    min: u64,
    max: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram (allocates its buckets once).
    pub fn new() -> Self {
        LatencyHistogram {
            counts: vec![0u64; Layout::FINE.len()].into_boxed_slice(),
            count: 0,
            sum_micros: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// Records one latency.
    #[inline]
    pub fn record(&mut self, latency: Duration) {
        self.record_micros(micros(latency));
    }

    /// Records one latency given in whole microseconds.
    #[inline]
    pub(crate) fn record_micros(&mut self, us: u64) {
        if let Some(c) = self.counts.get_mut(Layout::FINE.index(us)) {
            *c = c.saturating_add(1);
        }
        self.count = self.count.saturating_add(1);
        self.sum_micros = self.sum_micros.saturating_add(us);
        self.min = self.min.min(us);
        self.max = self.max.max(us);
    }

    /// Number of recorded latencies.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The nearest-rank quantile `q` (0.0 ..= 1.0), `None` when empty. Within 1.6 % (or 1 µs)
    /// of the true sample value.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.count == 0 {
            return None;
        }
        let [v] = quantiles_from(Layout::FINE, self.count, [q], self.min, self.max, |i| {
            self.counts.get(i).copied().unwrap_or(0)
        });
        Some(Duration::from_micros(v))
    }

    /// p50, p90, p99, p99.9, mean and max in one pass.
    pub fn summary(&self) -> LatencySummary {
        LatencySummary::of(&[self])
    }
}

/// Quantiles of a latency distribution. All zero when `count` is zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LatencySummary {
    /// Number of latencies.
    pub count: u64,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// Mean (exact, from the microsecond sum).
    pub mean: Duration,
    /// Largest latency recorded (exact to the microsecond).
    pub max: Duration,
}

impl LatencySummary {
    /// The summary of the union of several histograms.
    pub(crate) fn of(hists: &[&LatencyHistogram]) -> Self {
        let count = hists.iter().fold(0u64, |a, h| a.saturating_add(h.count));
        if count == 0 {
            return LatencySummary::default();
        }
        let min = hists.iter().map(|h| h.min).min().unwrap_or(0);
        let max = hists.iter().map(|h| h.max).max().unwrap_or(0);
        let sum = hists
            .iter()
            .fold(0u64, |a, h| a.saturating_add(h.sum_micros));
        let [p50, p90, p99, p999] = quantiles_from(
            Layout::FINE,
            count,
            [0.5, 0.9, 0.99, 0.999],
            min,
            max,
            |i| {
                hists.iter().fold(0u64, |a, h| {
                    a.saturating_add(h.counts.get(i).copied().unwrap_or(0))
                })
            },
        );
        LatencySummary {
            count,
            p50: Duration::from_micros(p50),
            p90: Duration::from_micros(p90),
            p99: Duration::from_micros(p99),
            p999: Duration::from_micros(p999),
            mean: Duration::from_micros(sum / count),
            max: Duration::from_micros(max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_contiguous_and_cover_the_range() {
        for layout in [Layout::FINE, Layout::COARSE] {
            let mut expected_lo = 0;
            for i in 0..layout.len() {
                let (lo, hi) = layout.bounds(i);
                assert_eq!(lo, expected_lo, "bucket {i}");
                assert_eq!(layout.index(lo), i);
                assert_eq!(layout.index(hi - 1), i);
                expected_lo = hi;
            }
            assert_eq!(expected_lo, MAX_TRACKABLE_MICROS + 1);
            assert_eq!(layout.index(u64::MAX), layout.len() - 1);
        }
        assert_eq!(Layout::FINE.len(), 832);
        assert_eq!(Layout::COARSE.len(), 224);
    }

    #[test]
    fn representative_error_is_bounded() {
        for (layout, bound) in [(Layout::FINE, 1.0 / 64.0), (Layout::COARSE, 1.0 / 16.0)] {
            for i in 0..layout.len() {
                let (lo, hi) = layout.bounds(i);
                let r = layout.representative(i) as f64;
                for v in [lo, hi - 1] {
                    let err = (r - v as f64).abs();
                    assert!(err <= (v as f64 * bound).max(1.0), "bucket {i} v={v} r={r}");
                }
            }
        }
    }
}
