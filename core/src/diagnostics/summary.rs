//! The Summary JSON form (the seed's "Summary" example): requests grouped by region, the first
//! and last request of each region in full, the middle deduplicated by
//! `(endpoint, status, sub_status, execution_context)` with count, total RU and min/max/P50
//! duration.
//!
//! Field order: `activity_id`, `total_duration_ms`, `total_request_charge`, `request_count`,
//! `regions`, then only when present: `metadata_requests` (account reads, region entries of the
//! same shape), `other_regions` (attempts in regions beyond the tracked maximum) and
//! `truncated` (what the size cap removed, see [`super::prune`]). In a region entry: `region`,
//! `request_count`, `total_request_charge`, `first`, `last` (absent for a single request),
//! `deduplicated_groups` (absent when empty). Strings are bounded (endpoint 1 KiB, error 512 B,
//! region 128 B, cut with `...`) so one pathological value cannot defeat the cap.

use super::group::{DedupGroup, GroupStats};
use super::json::JsonWriter;
use super::region::RegionSummary;
use super::render::{
    write_header, write_request, RequestStyle, SUMMARY_MAX_ENDPOINT, SUMMARY_MAX_REGION,
};
use super::summaries::Summaries;
use super::CosmosDiagnostics;

/// What a region entry shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegionPlan {
    pub keep: bool,
    pub first: bool,
    pub last: bool,
    pub groups: Vec<bool>,
    pub overflow: bool,
}

impl RegionPlan {
    fn full(r: &RegionSummary) -> Self {
        RegionPlan {
            keep: true,
            first: r.first.is_some(),
            last: r.last.is_some(),
            groups: vec![true; r.groups.len()],
            overflow: r.overflow.is_some(),
        }
    }

    pub fn any_group(&self) -> bool {
        self.overflow || self.groups.iter().any(|g| *g)
    }

    /// Requests this entry still represents (boundary records plus group counts).
    pub fn represented(&self, r: &RegionSummary) -> u64 {
        if !self.keep {
            return 0;
        }
        let mut n =
            u64::from(self.first && r.first.is_some()) + u64::from(self.last && r.last.is_some());
        for (g, keep) in r.groups.iter().zip(&self.groups) {
            if *keep {
                n += g.stats.count();
            }
        }
        if self.overflow {
            n += r.overflow.as_ref().map_or(0, GroupStats::count);
        }
        n
    }
}

/// What the size cap removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Truncation {
    pub max_size_bytes: u64,
    pub dropped_groups: u64,
    pub dropped_regions: u64,
    pub dropped_requests: u64,
}

/// What the Summary shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SummaryPlan {
    pub regions: Vec<RegionPlan>,
    pub truncation: Option<Truncation>,
}

impl SummaryPlan {
    /// Everything.
    pub fn full(s: &Summaries) -> Self {
        SummaryPlan {
            regions: s.regions.iter().map(RegionPlan::full).collect(),
            truncation: None,
        }
    }
}

pub(crate) fn write_summary(
    d: &CosmosDiagnostics,
    s: &Summaries,
    plan: &SummaryPlan,
    w: &mut JsonWriter<'_>,
) {
    w.begin_object();
    write_header(d, w);
    w.key("regions");
    write_regions(d, s, plan, false, w);
    let metadata_kept = s
        .regions
        .iter()
        .zip(&plan.regions)
        .any(|(r, p)| r.metadata && p.keep);
    if metadata_kept {
        w.key("metadata_requests");
        write_regions(d, s, plan, true, w);
    }
    if s.untracked.request_count > 0 {
        w.key("other_regions");
        w.begin_object();
        w.field_u64("request_count", s.untracked.request_count);
        w.field_f64("total_request_charge", s.untracked.request_charge);
        w.end_object();
    }
    if let Some(t) = plan.truncation {
        write_truncation(&t, w);
    }
    w.end_object();
}

pub(crate) fn write_truncation(t: &Truncation, w: &mut JsonWriter<'_>) {
    w.key("truncated");
    w.begin_object();
    w.field_u64("max_size_bytes", t.max_size_bytes);
    w.field_u64("dropped_groups", t.dropped_groups);
    w.field_u64("dropped_regions", t.dropped_regions);
    w.field_u64("dropped_requests", t.dropped_requests);
    w.end_object();
}

fn write_regions(
    d: &CosmosDiagnostics,
    s: &Summaries,
    plan: &SummaryPlan,
    metadata: bool,
    w: &mut JsonWriter<'_>,
) {
    w.begin_array();
    for (r, p) in s.regions.iter().zip(&plan.regions) {
        if r.metadata == metadata && p.keep {
            w.element();
            write_region(d, r, p, w);
        }
    }
    w.end_array();
}

/// One region entry as `p` says.
pub(crate) fn write_region(
    d: &CosmosDiagnostics,
    r: &RegionSummary,
    p: &RegionPlan,
    w: &mut JsonWriter<'_>,
) {
    w.begin_object();
    w.key("region");
    w.str_limited(&r.name, SUMMARY_MAX_REGION);
    w.field_u64("request_count", r.request_count);
    w.field_f64("total_request_charge", r.request_charge);
    for (name, show, rec) in [("first", p.first, &r.first), ("last", p.last, &r.last)] {
        if let Some(rec) = rec.as_ref().filter(|_| show).and_then(|x| d.record(x)) {
            w.key(name);
            write_request(d, rec, RequestStyle::Summary, w);
        }
    }
    if p.any_group() {
        w.key("deduplicated_groups");
        w.begin_array();
        for (g, keep) in r.groups.iter().zip(&p.groups) {
            if *keep {
                w.element();
                write_group(g, w);
            }
        }
        if p.overflow {
            if let Some(o) = &r.overflow {
                w.element();
                write_overflow(o, w);
            }
        }
        w.end_array();
    }
    w.end_object();
}

pub(crate) fn write_group(g: &DedupGroup, w: &mut JsonWriter<'_>) {
    w.begin_object();
    w.key("endpoint");
    w.str_limited(&g.endpoint, SUMMARY_MAX_ENDPOINT);
    if let Some(s) = g.status {
        w.field_u64("status_code", u64::from(s));
    }
    if let Some(s) = g.sub_status {
        w.field_u64("sub_status_code", u64::from(s));
    }
    w.field_str("execution_context", g.context.as_str());
    write_stats(&g.stats, w);
    w.end_object();
}

/// Requests past the group cap: no key, just the statistics, marked `"other": true`.
pub(crate) fn write_overflow(o: &GroupStats, w: &mut JsonWriter<'_>) {
    w.begin_object();
    w.key("other");
    w.raw("true");
    write_stats(o, w);
    w.end_object();
}

fn write_stats(s: &GroupStats, w: &mut JsonWriter<'_>) {
    w.field_u64("count", s.count());
    w.field_f64("total_request_charge", s.request_charge);
    w.field_u64("min_duration_ms", s.durations.min());
    w.field_u64("max_duration_ms", s.durations.max());
    w.field_u64("p50_duration_ms", s.durations.p50());
}
