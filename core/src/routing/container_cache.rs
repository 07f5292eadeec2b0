//! The container cache: partition key definitions and pk-range routing maps, bounded.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::models::PartitionKeyDefinition;
use crate::partition::{PartitionKeyRange, RoutingMap, RoutingMapError};

/// Containers remembered per driver; the least recently fetched is evicted beyond this.
pub const MAX_CACHED_CONTAINERS: usize = 1024;

/// Query plans remembered per driver, across containers. Precedent: the Java SDK's query plan
/// cache (`Constants.QUERYPLAN_CACHE_SIZE`, 5,000 entries, cleared whole when full); ours is
/// smaller because it keeps every query shape, keyed by text and parameters.
pub const MAX_CACHED_QUERY_PLANS: usize = 1000;

/// Largest plan body kept (a plan echoes the rewritten query; the service caps query text at
/// 30 KiB, `maxSqlQueryInputLength`), so the plan cache stays under about 64 MiB.
pub const MAX_CACHED_PLAN_BYTES: usize = 64 * 1024;

/// What is known about one container.
#[derive(Debug, Clone)]
pub struct ContainerEntry {
    /// The partition key definition (from the container's properties).
    pub partition_key: PartitionKeyDefinition,
    /// The pk-range routing map, once read.
    pub routing: Option<RoutingMap>,
    /// The pk-range feed's etag, for incremental refreshes (`a-im: Incremental Feed`).
    pub ranges_etag: Option<String>,
    /// A 410 topology change asked for a refresh of the ranges.
    pub ranges_stale: bool,
    fetched_seq: u64,
    /// Gateway query plan bodies by query fingerprint (text and parameters): a plan depends on
    /// the query and the partition key definition, not on the ranges.
    plans: BTreeMap<String, bytes::Bytes>,
}

/// Per-driver container metadata, keyed by the container's name-based link (`dbs/d/colls/c`).
#[derive(Debug, Default)]
pub struct ContainerCache {
    entries: BTreeMap<String, ContainerEntry>,
    /// Containers whose routing metadata could not be read or used, until when: operations go
    /// unrouted meanwhile instead of retrying the metadata on every operation.
    unroutable: BTreeMap<String, Instant>,
    seq: u64,
    /// Query plans held across every entry.
    plan_count: usize,
}

/// How long a container whose routing metadata failed is left unrouted: long enough that broken
/// metadata costs one extra request per interval rather than one per operation, short enough
/// that a container created meanwhile (a 404 now) is routed soon.
pub const UNROUTABLE_FOR: std::time::Duration = std::time::Duration::from_secs(30);

impl ContainerCache {
    /// The entry for `link`.
    pub fn get(&self, link: &str) -> Option<&ContainerEntry> {
        self.entries.get(link)
    }

    /// Number of containers cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Stores the partition key definition (keeps an existing routing map: a container read
    /// does not change its ranges).
    pub(crate) fn set_properties(&mut self, link: &str, partition_key: PartitionKeyDefinition) {
        self.seq += 1;
        let seq = self.seq;
        match self.entries.get_mut(link) {
            Some(e) => {
                if e.partition_key != partition_key {
                    // Plans (point ranges, rewrites) were made for the old key definition.
                    self.plan_count = self.plan_count.saturating_sub(e.plans.len());
                    e.plans.clear();
                }
                e.partition_key = partition_key;
                e.fetched_seq = seq;
            }
            None => {
                self.evict_if_full();
                self.entries.insert(
                    link.to_owned(),
                    ContainerEntry {
                        partition_key,
                        routing: None,
                        ranges_etag: None,
                        ranges_stale: false,
                        fetched_seq: seq,
                        plans: BTreeMap::new(),
                    },
                );
            }
        }
    }

    /// Stores a full pk-range feed.
    pub(crate) fn set_ranges(
        &mut self,
        link: &str,
        ranges: Vec<PartitionKeyRange>,
        etag: Option<String>,
    ) -> Result<(), RoutingMapError> {
        let map = RoutingMap::new(ranges)?;
        if let Some(e) = self.entries.get_mut(link) {
            e.routing = Some(map);
            e.ranges_etag = etag;
            e.ranges_stale = false;
        }
        Ok(())
    }

    /// Applies an incremental pk-range feed (children replacing split parents). On error the
    /// map is dropped so the next read fetches the whole feed.
    pub(crate) fn apply_range_changes(
        &mut self,
        link: &str,
        ranges: Vec<PartitionKeyRange>,
        etag: Option<String>,
    ) {
        if let Some(e) = self.entries.get_mut(link) {
            let applied = e.routing.as_mut().map(|m| m.apply_changes(ranges));
            match applied {
                Some(Ok(())) => {
                    e.ranges_etag = etag;
                    e.ranges_stale = false;
                }
                _ => {
                    e.routing = None;
                    e.ranges_etag = None;
                    e.ranges_stale = false;
                }
            }
        }
    }

    /// The ranges did not change (304 on an incremental read).
    pub(crate) fn ranges_current(&mut self, link: &str) {
        if let Some(e) = self.entries.get_mut(link) {
            e.ranges_stale = false;
        }
    }

    /// A topology change (410/1002, 1007, 1008): refresh the ranges before the next use.
    pub(crate) fn mark_ranges_stale(&mut self, link: &str) {
        if let Some(e) = self.entries.get_mut(link) {
            e.ranges_stale = true;
        }
    }

    /// Remembers that routing metadata of `link` failed; operations go unrouted until then.
    pub(crate) fn mark_unroutable(&mut self, link: &str, now: Instant) {
        self.unroutable.retain(|_, until| now < *until);
        if self.unroutable.len() < MAX_CACHED_CONTAINERS {
            self.unroutable.insert(
                link.to_owned(),
                crate::now::instant_after(now, UNROUTABLE_FOR),
            );
        }
    }

    /// True while `link` is remembered as unroutable.
    pub(crate) fn is_unroutable(&self, link: &str, now: Instant) -> bool {
        self.unroutable.get(link).is_some_and(|until| now < *until)
    }

    /// The container was recreated (410/1000, 400/1024): forget everything about it.
    pub(crate) fn remove(&mut self, link: &str) {
        if let Some(e) = self.entries.remove(link) {
            self.plan_count = self.plan_count.saturating_sub(e.plans.len());
        }
        self.unroutable.remove(link);
    }

    /// The cached query plan body of `link` for the query with fingerprint `key`.
    pub(crate) fn plan(&self, link: &str, key: &str) -> Option<bytes::Bytes> {
        self.entries.get(link)?.plans.get(key).cloned()
    }

    /// Remembers a query plan body; the whole plan cache is cleared when it is full (as Java's).
    pub(crate) fn store_plan(&mut self, link: &str, key: String, body: bytes::Bytes) {
        if body.len() > MAX_CACHED_PLAN_BYTES || !self.entries.contains_key(link) {
            return;
        }
        if self.plan_count >= MAX_CACHED_QUERY_PLANS {
            for e in self.entries.values_mut() {
                e.plans.clear();
            }
            self.plan_count = 0;
        }
        if let Some(e) = self.entries.get_mut(link) {
            if e.plans.insert(key, body).is_none() {
                self.plan_count += 1;
            }
        }
    }

    fn evict_if_full(&mut self) {
        if self.entries.len() >= MAX_CACHED_CONTAINERS {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.fetched_seq)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                if let Some(e) = self.entries.remove(&k) {
                    self.plan_count = self.plan_count.saturating_sub(e.plans.len());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_plans_are_bounded_and_forgotten_with_their_container_or_key_definition() {
        let mut c = ContainerCache::default();
        let body = bytes::Bytes::from_static(b"{}");
        c.store_plan("dbs/d/colls/none", "q".into(), body.clone());
        assert!(
            c.plan("dbs/d/colls/none", "q").is_none(),
            "no entry, no plan"
        );
        c.set_properties("dbs/d/colls/c", PartitionKeyDefinition::hash("/pk"));
        for i in 0..MAX_CACHED_QUERY_PLANS {
            c.store_plan("dbs/d/colls/c", format!("q{i}"), body.clone());
        }
        assert!(c.plan("dbs/d/colls/c", "q0").is_some());
        c.store_plan("dbs/d/colls/c", "one more".into(), body.clone());
        assert!(c.plan("dbs/d/colls/c", "q0").is_none(), "cleared when full");
        assert_eq!(c.plan_count, 1);
        let big = bytes::Bytes::from(vec![b' '; MAX_CACHED_PLAN_BYTES + 1]);
        c.store_plan("dbs/d/colls/c", "big".into(), big);
        assert!(c.plan("dbs/d/colls/c", "big").is_none());
        c.set_properties("dbs/d/colls/c", PartitionKeyDefinition::hash("/other"));
        assert!(
            c.plan("dbs/d/colls/c", "one more").is_none(),
            "new key definition"
        );
        c.store_plan("dbs/d/colls/c", "q".into(), body);
        c.remove("dbs/d/colls/c");
        assert_eq!(c.plan_count, 0);
    }

    fn range(id: &str, min: &str, max: &str) -> PartitionKeyRange {
        PartitionKeyRange::new(id, min, max)
    }

    #[test]
    fn stores_properties_and_ranges_and_follows_splits() {
        let mut c = ContainerCache::default();
        c.set_properties("dbs/d/colls/c", PartitionKeyDefinition::hash("/pk"));
        c.set_ranges(
            "dbs/d/colls/c",
            vec![range("0", "", "FF")],
            Some("e1".into()),
        )
        .unwrap();
        assert_eq!(
            c.get("dbs/d/colls/c")
                .unwrap()
                .routing
                .as_ref()
                .unwrap()
                .ranges()
                .len(),
            1
        );
        c.mark_ranges_stale("dbs/d/colls/c");
        assert!(c.get("dbs/d/colls/c").unwrap().ranges_stale);
        let children = vec![
            range("1", "", "80").with_parents(["0"]),
            range("2", "80", "FF").with_parents(["0"]),
        ];
        c.apply_range_changes("dbs/d/colls/c", children, Some("e2".into()));
        let e = c.get("dbs/d/colls/c").unwrap();
        assert_eq!(e.routing.as_ref().unwrap().ranges().len(), 2);
        assert_eq!(e.ranges_etag.as_deref(), Some("e2"));
        assert!(!e.ranges_stale);
        c.remove("dbs/d/colls/c");
        assert!(c.get("dbs/d/colls/c").is_none());
    }

    #[test]
    fn is_bounded() {
        let mut c = ContainerCache::default();
        for i in 0..(MAX_CACHED_CONTAINERS + 10) {
            c.set_properties(
                &format!("dbs/d/colls/c{i}"),
                PartitionKeyDefinition::hash("/pk"),
            );
        }
        assert_eq!(c.len(), MAX_CACHED_CONTAINERS);
        assert!(c.get("dbs/d/colls/c0").is_none(), "the oldest was evicted");
    }
}
