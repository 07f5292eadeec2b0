//! The per-region summaries of an operation: what the Summary form renders.
//!
//! Built incrementally by the builder once an execution makes more attempts than it keeps in
//! full (so memory stays bounded), and otherwise derived from the retained records when the
//! Summary is rendered (so a successful point read pays nothing for it).

use std::sync::Arc;

use super::record::RequestDiagnostics;
use super::region::{RecordRef, RegionSummary};
use super::{MAX_DEDUP_GROUPS, MAX_REGIONS};

/// Attempts in regions beyond [`MAX_REGIONS`]: counted only.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Untracked {
    pub request_count: u64,
    pub request_charge: f64,
}

/// Region summaries in first-contact order, per purpose (operation or metadata).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Summaries {
    pub regions: Vec<RegionSummary>,
    /// Deduplication groups created so far (all regions).
    pub groups: usize,
    pub untracked: Untracked,
    /// Index in `regions` of the region of the last finished operation attempt.
    pub final_region: Option<usize>,
}

impl Summaries {
    /// Summaries of `records` (start order), every one finished unless its bit is set in
    /// `open` (bit `i` for record `i`, only the first 64 can be open). References are
    /// `RecordRef::Index`, or `RecordRef::Ordinal` when `ordinals` (same numbers).
    pub fn from_records(records: &[RequestDiagnostics], open: u64, ordinals: bool) -> Self {
        let mut s = Summaries::default();
        for r in records {
            s.count_start(&r.region, r.is_metadata());
        }
        for (i, r) in records.iter().enumerate() {
            if i < 64 && open & (1u64 << i) != 0 {
                continue;
            }
            let at = if ordinals {
                RecordRef::Ordinal(i)
            } else {
                RecordRef::Index(i)
            };
            s.account(r, at, |n| records.get(n));
        }
        s
    }

    /// Counts a started attempt in its region (creating it while under [`MAX_REGIONS`]).
    pub fn count_start(&mut self, region: &Arc<str>, metadata: bool) {
        let tracked = self.regions.len();
        match self.regions.iter_mut().find(|r| r.is(region, metadata)) {
            Some(r) => r.request_count += 1,
            None if tracked < MAX_REGIONS => {
                let mut r = RegionSummary::new(region.clone(), metadata);
                r.request_count = 1;
                self.regions.push(r);
            }
            None => self.untracked.request_count += 1,
        }
    }

    /// Accounts a finished attempt `rec`, referred to as `at`: it becomes its region's first
    /// or last request; the previous last is folded into the groups. `resolve` finds the
    /// record an `Ordinal`/`Index` reference points at.
    pub fn account<'r>(
        &mut self,
        rec: &RequestDiagnostics,
        at: RecordRef,
        resolve: impl Fn(usize) -> Option<&'r RequestDiagnostics>,
    ) {
        let metadata = rec.is_metadata();
        let Some(ri) = self
            .regions
            .iter()
            .position(|r| r.is(&rec.region, metadata))
        else {
            self.untracked.request_charge += rec.request_charge;
            return;
        };
        if !metadata {
            self.final_region = Some(ri);
        }
        let region = &mut self.regions[ri];
        region.request_charge += rec.request_charge;
        if region.first.is_none() {
            region.first = Some(at);
            return;
        }
        let Some(previous) = region.last.replace(at) else {
            return;
        };
        let prev = match &previous {
            RecordRef::Ordinal(n) | RecordRef::Index(n) => resolve(*n),
            RecordRef::Owned(p) => Some(&**p),
        };
        if let Some(prev) = prev {
            if region.fold(prev, self.groups < MAX_DEDUP_GROUPS) {
                self.groups += 1;
            }
        }
    }

    /// Entries held: regions, owned boundary records, groups and their samples.
    pub fn retained(&self) -> usize {
        self.regions.iter().map(RegionSummary::retained).sum()
    }
}
