//! A container's routing map: its partition key ranges, checked to tile `["", "FF")`, with
//! EPK → range lookup and incremental updates after splits (.NET `CollectionRoutingMap`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use super::epk::{EffectivePartitionKey, EpkRange, MAX_EXCLUSIVE_EPK, MIN_INCLUSIVE_EPK};
use super::range::{parse_partition_key_ranges, PartitionKeyRange, MAX_RANGES};

/// A range's id and the ids of its parents (oldest first), shared by the executions routed to
/// it: taking it costs no allocation.
pub(crate) type RangeRoute = Arc<(String, Vec<String>)>;

/// How many ids of split (gone) ranges a map remembers, so a stale parent re-sent by a later
/// change feed page is ignored instead of overlapping its children. Oldest forgotten first.
pub const MAX_REMEMBERED_GONE: usize = 4096;

/// Why a set of ranges is not a usable routing map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoutingMapError {
    /// The feed body is not a pk-range feed.
    #[error("invalid partition key range feed: {reason}")]
    InvalidFeed {
        /// What is wrong.
        reason: String,
    },
    /// One range of the feed is malformed.
    #[error("invalid partition key range at index {index}: {reason}")]
    InvalidRange {
        /// Position in the feed's array.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// More ranges than [`MAX_RANGES`].
    #[error("{count} partition key ranges, more than the limit of {max}")]
    TooManyRanges {
        /// Ranges given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// No ranges (after dropping split parents).
    #[error("no partition key ranges")]
    Empty,
    /// A range with an empty id.
    #[error("a partition key range has an empty id")]
    EmptyId,
    /// A range whose minimum is not below its maximum.
    #[error("partition key range {id} is empty: [{min_inclusive:?}, {max_exclusive:?})")]
    EmptyRange {
        /// The range id.
        id: String,
        /// Its lower bound.
        min_inclusive: String,
        /// Its upper bound.
        max_exclusive: String,
    },
    /// The lowest range does not start at `""`.
    #[error("the first partition key range ({id}) starts at {min_inclusive:?}, not \"\"")]
    DoesNotStartAtMin {
        /// The range id.
        id: String,
        /// Its lower bound.
        min_inclusive: String,
    },
    /// The highest range does not end at `"FF"`.
    #[error("the last partition key range ({id}) ends at {max_exclusive:?}, not \"FF\"")]
    DoesNotEndAtMax {
        /// The range id.
        id: String,
        /// Its upper bound.
        max_exclusive: String,
    },
    /// Two neighbouring ranges leave EPKs uncovered.
    #[error(
        "gap between partition key ranges {before} (ends {from:?}) and {after} (starts {to:?})"
    )]
    Gap {
        /// The lower range's id.
        before: String,
        /// The higher range's id.
        after: String,
        /// Where the gap starts.
        from: String,
        /// Where the gap ends.
        to: String,
    },
    /// Two ranges cover the same EPKs.
    #[error("partition key ranges {first} and {second} overlap")]
    Overlap {
        /// The lower range's id.
        first: String,
        /// The overlapping range's id.
        second: String,
    },
}

/// The ranges of one container, sorted by `min_inclusive`, tiling `["", "FF")` exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingMap {
    /// Sorted by `min_inclusive`; never empty; `ranges[0].min_inclusive == ""`.
    ranges: Vec<PartitionKeyRange>,
    /// Per range (same order): its id and parents, shared with the executions routed to it.
    routes: Vec<RangeRoute>,
    gone: BTreeSet<String>,
    gone_order: VecDeque<String>,
}

impl RoutingMap {
    /// Builds a map from a complete set of ranges (a full pk-range feed). Ranges named as a
    /// parent by another range are split leftovers and are dropped first; if an id appears
    /// twice the later one wins. The rest must tile `["", "FF")` without gaps or overlaps.
    pub fn new(ranges: Vec<PartitionKeyRange>) -> Result<RoutingMap, RoutingMapError> {
        let mut map = RoutingMap {
            ranges: Vec::new(),
            routes: Vec::new(),
            gone: BTreeSet::new(),
            gone_order: VecDeque::new(),
        };
        map.apply_changes(ranges)?;
        Ok(map)
    }

    /// Parses a full pk-range feed body ([`parse_partition_key_ranges`]) and builds the map.
    pub fn from_feed(body: &[u8]) -> Result<RoutingMap, RoutingMapError> {
        RoutingMap::new(parse_partition_key_ranges(body)?)
    }

    /// The ranges, sorted by `min_inclusive`.
    pub fn ranges(&self) -> &[PartitionKeyRange] {
        &self.ranges
    }

    /// The range with this id, if the map has it.
    pub fn range_by_id(&self, id: &str) -> Option<&PartitionKeyRange> {
        self.ranges.iter().find(|r| r.id == id)
    }

    /// Whether `id` was split away (named as a parent) by a range this map has seen.
    pub fn is_gone(&self, id: &str) -> bool {
        self.gone.contains(id)
    }

    /// The id and parents of the range containing `epk`, shared (see [`Self::range_for`]).
    pub(crate) fn route_for(&self, epk: &EffectivePartitionKey) -> Option<&RangeRoute> {
        let after = self
            .ranges
            .partition_point(|r| r.min_inclusive.as_str() <= epk.as_str());
        self.routes.get(after.saturating_sub(1))
    }

    /// The id and parents of the only range, when the map has exactly one.
    pub(crate) fn only_route(&self) -> Option<&RangeRoute> {
        match self.routes.as_slice() {
            [only] => Some(only),
            _ => None,
        }
    }

    /// The range containing `epk` (`min_inclusive <= epk < max_exclusive`), by binary search.
    /// Total: the ranges tile `["", "FF")` and every [`EffectivePartitionKey`] is below `"FF"`.
    pub fn range_for(&self, epk: &EffectivePartitionKey) -> &PartitionKeyRange {
        let after = self
            .ranges
            .partition_point(|r| r.min_inclusive.as_str() <= epk.as_str());
        // `ranges` is non-empty and starts at "", which is <= every EPK, so `after >= 1`.
        &self.ranges[after.saturating_sub(1)]
    }

    /// The ranges that overlap `range` (e.g. from `epk_range_for_prefix`), in EPK order.
    pub fn ranges_overlapping(&self, range: &EpkRange) -> &[PartitionKeyRange] {
        let first = self
            .ranges
            .partition_point(|r| r.max_exclusive.as_str() <= range.min_inclusive().as_str());
        let end = self
            .ranges
            .partition_point(|r| r.min_inclusive.as_str() < range.max_exclusive());
        self.ranges.get(first..end.max(first)).unwrap_or_default()
    }

    /// Applies ranges from a pk-range change feed (`If-None-Match` continuation): every range
    /// named as a parent is removed (it was split), the new ranges are added (replacing any with
    /// the same id), and the result must still tile `["", "FF")`. On error the map is unchanged
    /// and the caller should reload the full feed, as .NET does when `TryCombine` returns null.
    pub fn apply_changes(
        &mut self,
        changes: Vec<PartitionKeyRange>,
    ) -> Result<(), RoutingMapError> {
        if changes.len() > MAX_RANGES {
            return Err(RoutingMapError::TooManyRanges {
                count: changes.len(),
                max: MAX_RANGES,
            });
        }
        let new_gone: BTreeSet<String> = changes
            .iter()
            .flat_map(|r| r.parents.iter().cloned())
            .collect();
        let is_gone = |id: &str| new_gone.contains(id) || self.gone.contains(id);
        let mut by_id: BTreeMap<String, PartitionKeyRange> = BTreeMap::new();
        for range in self.ranges.iter().filter(|r| !is_gone(&r.id)) {
            by_id.insert(range.id.clone(), range.clone());
        }
        for range in changes {
            if !is_gone(&range.id) {
                by_id.insert(range.id.clone(), range);
            }
        }
        if by_id.len() > MAX_RANGES {
            return Err(RoutingMapError::TooManyRanges {
                count: by_id.len(),
                max: MAX_RANGES,
            });
        }
        let mut ranges: Vec<PartitionKeyRange> = by_id.into_values().collect();
        ranges.sort_by(|a, b| a.min_inclusive.cmp(&b.min_inclusive));
        check_tiling(&ranges)?;
        self.routes = ranges
            .iter()
            .map(|r| Arc::new((r.id.clone(), r.parents.clone())))
            .collect();
        self.ranges = ranges;
        for id in new_gone {
            if self.gone.insert(id.clone()) {
                self.gone_order.push_back(id);
            }
        }
        while self.gone_order.len() > MAX_REMEMBERED_GONE {
            if let Some(oldest) = self.gone_order.pop_front() {
                self.gone.remove(&oldest);
            }
        }
        Ok(())
    }
}

/// Checks that `ranges` (sorted by `min_inclusive`) tile `["", "FF")` exactly.
fn check_tiling(ranges: &[PartitionKeyRange]) -> Result<(), RoutingMapError> {
    let (Some(first), Some(last)) = (ranges.first(), ranges.last()) else {
        return Err(RoutingMapError::Empty);
    };
    for range in ranges {
        if range.id.is_empty() {
            return Err(RoutingMapError::EmptyId);
        }
        if range.min_inclusive >= range.max_exclusive {
            return Err(RoutingMapError::EmptyRange {
                id: range.id.clone(),
                min_inclusive: range.min_inclusive.clone(),
                max_exclusive: range.max_exclusive.clone(),
            });
        }
    }
    if first.min_inclusive != MIN_INCLUSIVE_EPK {
        return Err(RoutingMapError::DoesNotStartAtMin {
            id: first.id.clone(),
            min_inclusive: first.min_inclusive.clone(),
        });
    }
    for pair in ranges.windows(2) {
        let [before, after] = pair else { continue };
        match before.max_exclusive.cmp(&after.min_inclusive) {
            std::cmp::Ordering::Equal => {}
            std::cmp::Ordering::Less => {
                return Err(RoutingMapError::Gap {
                    before: before.id.clone(),
                    after: after.id.clone(),
                    from: before.max_exclusive.clone(),
                    to: after.min_inclusive.clone(),
                })
            }
            std::cmp::Ordering::Greater => {
                return Err(RoutingMapError::Overlap {
                    first: before.id.clone(),
                    second: after.id.clone(),
                })
            }
        }
    }
    if last.max_exclusive != MAX_EXCLUSIVE_EPK {
        return Err(RoutingMapError::DoesNotEndAtMax {
            id: last.id.clone(),
            max_exclusive: last.max_exclusive.clone(),
        });
    }
    Ok(())
}
