//! Fitting the Summary under its size cap by removing the least informative parts first. The
//! output is never replaced by a stub: the operation header, the final region's last request
//! (the final status or error) and a `truncated` record of what was removed always remain.
//!
//! Pruning order (each step only while the output is still too large):
//! 1. Deduplication groups, least informative first: metadata (account read) groups, then
//!    successful ones (status < 400) before failures, then the smallest count, groups of the
//!    final region last, later entries before earlier ones.
//! 2. Metadata region entries, whole.
//! 3. The `first` request of every other region that also has a `last` (fewest requests first,
//!    later-contacted first).
//! 4. Those other region entries, whole (same order).
//! 5. The `first` request of the final region (its `last` carries the outcome).
//! 6. Last resort, unreachable for caps >= 4 KiB since strings are bounded: the final region.
//!
//! Sizes are planned by arithmetic on the compact size of each piece (one measuring pass),
//! then the result is rendered once and checked; any residual excess applies further steps.

use std::cmp::Reverse;

use super::group::is_success;
use super::json::JsonWriter;
use super::render::{write_request, RequestStyle};
use super::summaries::Summaries;
use super::summary::{
    write_group, write_overflow, write_region, write_summary, RegionPlan, SummaryPlan, Truncation,
};
use super::CosmosDiagnostics;

/// `,"deduplicated_groups":[]`
const GROUPS_OVERHEAD: usize = ",\"deduplicated_groups\":[]".len();
/// `,"metadata_requests":[]`
const METADATA_OVERHEAD: usize = ",\"metadata_requests\":[]".len();
/// Marks the overflow entry in a group position.
const OVERFLOW: usize = usize::MAX;

/// The Summary JSON of `d` in at most `cap` bytes (compact); `pretty` renders the same content
/// with two-space indentation (and may then be larger than `cap`).
pub(crate) fn render_summary(d: &CosmosDiagnostics, cap: usize, pretty: bool) -> String {
    let s = d.summaries();
    let full = SummaryPlan::full(&s);
    let compact = render(d, &s, &full, false);
    if compact.len() <= cap {
        return if pretty {
            render(d, &s, &full, true)
        } else {
            compact
        };
    }
    let plan = fit(d, &s, cap);
    render(d, &s, &plan, pretty)
}

fn render(d: &CosmosDiagnostics, s: &Summaries, plan: &SummaryPlan, pretty: bool) -> String {
    let mut out = String::with_capacity(1024);
    let mut w = JsonWriter::new(&mut out, pretty);
    write_summary(d, s, plan, &mut w);
    out
}

fn measure(f: impl FnOnce(&mut JsonWriter<'_>)) -> usize {
    let mut out = String::new();
    let mut w = JsonWriter::new(&mut out, false);
    f(&mut w);
    out.len()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Drop group `.1` (or the overflow entry) of region `.0`.
    Group(usize, usize),
    /// Drop the `first` request of a region.
    First(usize),
    /// Drop a region entry.
    Region(usize),
}

/// Compact sizes of the pieces of a region entry.
#[derive(Debug, Default)]
struct Sizes {
    header: usize,
    first: usize,
    last: usize,
    groups: Vec<usize>,
    overflow: usize,
}

fn sizes(d: &CosmosDiagnostics, s: &Summaries) -> Vec<Sizes> {
    s.regions
        .iter()
        .map(|r| {
            let empty = RegionPlan {
                keep: true,
                first: false,
                last: false,
                groups: vec![false; r.groups.len()],
                overflow: false,
            };
            let record = |x: &Option<super::region::RecordRef>, key_len: usize| {
                x.as_ref().and_then(|x| d.record(x)).map_or(0, |rec| {
                    key_len + measure(|w| write_request(d, rec, RequestStyle::Summary, w))
                })
            };
            Sizes {
                header: measure(|w| write_region(d, r, &empty, w)) + 1,
                first: record(&r.first, ",\"first\":".len()),
                last: record(&r.last, ",\"last\":".len()),
                groups: r
                    .groups
                    .iter()
                    .map(|g| measure(|w| write_group(g, w)) + 1)
                    .collect(),
                overflow: r
                    .overflow
                    .as_ref()
                    .map_or(0, |o| measure(|w| write_overflow(o, w)) + 1),
            }
        })
        .collect()
}

/// Sort key of a group, least informative first: (data plane, failure, count, in the final
/// region, later region first, later group first).
type GroupRank = (bool, bool, u64, bool, Reverse<usize>, Reverse<usize>);

fn steps(s: &Summaries) -> Vec<Step> {
    let fin = s.final_region;
    let mut groups: Vec<GroupRank> = Vec::new();
    for (i, r) in s.regions.iter().enumerate() {
        for (j, g) in r.groups.iter().enumerate() {
            groups.push((
                !r.metadata,
                !is_success(g.status),
                g.stats.count(),
                fin == Some(i),
                Reverse(i),
                Reverse(j),
            ));
        }
        if let Some(o) = &r.overflow {
            groups.push((
                !r.metadata,
                true,
                o.count(),
                fin == Some(i),
                Reverse(i),
                Reverse(OVERFLOW),
            ));
        }
    }
    groups.sort();
    let mut out: Vec<Step> = groups
        .into_iter()
        .map(|g| Step::Group(g.4 .0, g.5 .0))
        .collect();
    // Metadata regions, later first.
    out.extend(
        (0..s.regions.len())
            .rev()
            .filter(|i| s.regions[*i].metadata)
            .map(Step::Region),
    );
    // Other data regions: fewest requests first, later-contacted first.
    let mut others: Vec<usize> = (0..s.regions.len())
        .filter(|i| !s.regions[*i].metadata && fin != Some(*i))
        .collect();
    others.sort_by_key(|i| (s.regions[*i].request_count, Reverse(*i)));
    out.extend(
        others
            .iter()
            .filter(|i| s.regions[**i].last.is_some())
            .map(|i| Step::First(*i)),
    );
    out.extend(others.iter().map(|i| Step::Region(*i)));
    if let Some(f) = fin {
        if s.regions.get(f).is_some_and(|r| r.last.is_some()) {
            out.push(Step::First(f));
        }
        out.push(Step::Region(f));
    }
    out
}

/// A plan whose compact rendering fits `cap` (see the module docs for the order).
fn fit(d: &CosmosDiagnostics, s: &Summaries, cap: usize) -> SummaryPlan {
    let mut plan = SummaryPlan::full(s);
    let full = plan.clone();
    let sizes = sizes(d, s);
    // The fixed part, with a worst-case `truncated` record.
    let worst = Truncation {
        max_size_bytes: u64::MAX,
        dropped_groups: u64::MAX,
        dropped_regions: u64::MAX,
        dropped_requests: u64::MAX,
    };
    let none = SummaryPlan {
        regions: plan
            .regions
            .iter()
            .map(|p| RegionPlan {
                keep: false,
                ..p.clone()
            })
            .collect(),
        truncation: Some(worst),
    };
    let has_metadata = s.regions.iter().any(|r| r.metadata);
    let mut est = measure(|w| write_summary(d, s, &none, w))
        + if has_metadata { METADATA_OVERHEAD } else { 0 };
    for (p, s) in plan.regions.iter().zip(&sizes) {
        est += s.header
            + if p.first { s.first } else { 0 }
            + if p.last { s.last } else { 0 }
            + if p.any_group() { GROUPS_OVERHEAD } else { 0 }
            + s.groups.iter().sum::<usize>()
            + if p.overflow { s.overflow } else { 0 };
    }
    let steps = steps(s);
    let mut next = 0;
    while est > cap && next < steps.len() {
        est = est.saturating_sub(apply(&mut plan, &sizes, steps[next]));
        next += 1;
    }
    loop {
        plan.truncation = Some(truncation(s, &full, &plan, cap));
        if next >= steps.len() || render(d, s, &plan, false).len() <= cap {
            return plan;
        }
        apply(&mut plan, &sizes, steps[next]);
        next += 1;
    }
}

/// Applies one step; returns the bytes it saves (an upper bound of the compact saving).
fn apply(plan: &mut SummaryPlan, sizes: &[Sizes], step: Step) -> usize {
    let (Step::Group(i, _) | Step::First(i) | Step::Region(i)) = step;
    let (Some(p), Some(s)) = (plan.regions.get_mut(i), sizes.get(i)) else {
        return 0;
    };
    if !p.keep {
        return 0;
    }
    match step {
        Step::Group(_, j) => {
            let had = p.any_group();
            let saved = if j == OVERFLOW {
                std::mem::replace(&mut p.overflow, false).then_some(s.overflow)
            } else {
                p.groups.get_mut(j).and_then(|g| {
                    std::mem::replace(g, false).then(|| s.groups.get(j).copied().unwrap_or(0))
                })
            };
            saved.unwrap_or(0)
                + if had && !p.any_group() {
                    GROUPS_OVERHEAD
                } else {
                    0
                }
        }
        Step::First(_) => {
            if std::mem::replace(&mut p.first, false) {
                s.first
            } else {
                0
            }
        }
        Step::Region(_) => {
            p.keep = false;
            let groups: usize = p
                .groups
                .iter()
                .zip(&s.groups)
                .filter(|(k, _)| **k)
                .map(|(_, n)| *n)
                .sum();
            s.header
                + if p.first { s.first } else { 0 }
                + if p.last { s.last } else { 0 }
                + groups
                + if p.overflow { s.overflow } else { 0 }
                + if p.any_group() { GROUPS_OVERHEAD } else { 0 }
        }
    }
}

fn truncation(s: &Summaries, full: &SummaryPlan, plan: &SummaryPlan, cap: usize) -> Truncation {
    let mut t = Truncation {
        max_size_bytes: cap as u64,
        ..Truncation::default()
    };
    for ((r, before), after) in s.regions.iter().zip(&full.regions).zip(&plan.regions) {
        let kept = |p: &RegionPlan| -> u64 {
            if !p.keep {
                return 0;
            }
            p.groups.iter().filter(|g| **g).count() as u64 + u64::from(p.overflow)
        };
        t.dropped_groups += kept(before).saturating_sub(kept(after));
        t.dropped_regions += u64::from(before.keep && !after.keep);
        t.dropped_requests += before.represented(r).saturating_sub(after.represented(r));
    }
    t
}
