//! Per-region compaction: the first and last request of a region in full, the middle folded
//! into deduplication groups. Built while the execution runs (see the builder) and kept in the
//! finished [`super::CosmosDiagnostics`].

use std::sync::Arc;

use super::group::{DedupGroup, GroupStats};
use super::record::RequestDiagnostics;

/// Where a full record lives.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RecordRef {
    /// While building: the attempt's ordinal (start order within the execution).
    Ordinal(usize),
    /// Once finished: an index into `CosmosDiagnostics::requests`.
    Index(usize),
    /// A copy kept because the retained records no longer hold it.
    Owned(Box<RequestDiagnostics>),
}

/// The requests sent to one region for one purpose (operation or metadata).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RegionSummary {
    pub name: Arc<str>,
    /// Account metadata reads rather than the operation itself.
    pub metadata: bool,
    /// Attempts started in this region.
    pub request_count: u64,
    /// RU of the attempts finished in this region.
    pub request_charge: f64,
    pub first: Option<RecordRef>,
    pub last: Option<RecordRef>,
    /// The middle requests, deduplicated, in order of first occurrence.
    pub groups: Vec<DedupGroup>,
    /// Middle requests that found no group once the group cap was reached.
    pub overflow: Option<GroupStats>,
}

impl RegionSummary {
    pub fn new(name: Arc<str>, metadata: bool) -> Self {
        RegionSummary {
            name,
            metadata,
            request_count: 0,
            request_charge: 0.0,
            first: None,
            last: None,
            groups: Vec::new(),
            overflow: None,
        }
    }

    /// True when this summary is for `region` and the given purpose.
    pub fn is(&self, region: &Arc<str>, metadata: bool) -> bool {
        self.metadata == metadata && (Arc::ptr_eq(&self.name, region) || *self.name == **region)
    }

    /// Folds a middle request into its group; creates the group while `budget` allows, else
    /// counts it in the overflow. Returns true when a group was created.
    pub fn fold(&mut self, r: &RequestDiagnostics, budget_left: bool) -> bool {
        if let Some(g) = self.groups.iter_mut().find(|g| g.matches(r)) {
            g.stats.add(r);
            return false;
        }
        if budget_left {
            self.groups.push(DedupGroup::new(r));
            return true;
        }
        self.overflow.get_or_insert_with(GroupStats::default).add(r);
        false
    }

    /// Entries held: owned boundary records, groups, their samples and buckets.
    pub fn retained(&self) -> usize {
        let owned = [&self.first, &self.last]
            .iter()
            .filter(|r| matches!(r, Some(RecordRef::Owned(_))))
            .count();
        let groups: usize = self
            .groups
            .iter()
            .map(|g| 1 + g.stats.durations.retained())
            .sum();
        let overflow = self
            .overflow
            .as_ref()
            .map_or(0, |o| 1 + o.durations.retained());
        1 + owned + groups + overflow
    }
}
