//! Bounded key tables: string interning per dimension and the counter rows keyed by them.
//!
//! Every dimension (operation kind, resource, region, container, partition key range) holds at
//! most [`MAX_KEYS_PER_DIMENSION`] distinct names besides [`OTHER`]; later names are folded into
//! `OTHER`. The composite tables are bounded the same way. Lookups try the last hit first (a
//! steady workload repeats its keys), then a `BTreeMap` (deterministic, no hashing). Nothing
//! allocates once a key exists.

use std::collections::BTreeMap;

use super::status::StatusClass;

/// Distinct names kept per dimension (and composite rows per table) before overflow folds into
/// [`OTHER`].
pub const MAX_KEYS_PER_DIMENSION: usize = 256;

/// The name of the overflow bucket of every dimension. A sample whose key is literally
/// `"other"` is counted in the same bucket.
pub const OTHER: &str = "other";

/// Id of [`OTHER`] in every interner.
pub(crate) const OTHER_ID: u16 = 0;

/// Names of one dimension, with id 0 reserved for [`OTHER`].
#[derive(Debug, Clone)]
pub(crate) struct Interner {
    names: Vec<Box<str>>,
    index: BTreeMap<Box<str>, u16>,
    last: u16,
    /// Lookups of new names refused because the dimension was full.
    pub overflowed: u64,
}

impl Interner {
    pub fn new() -> Self {
        let mut index = BTreeMap::new();
        index.insert(Box::<str>::from(OTHER), OTHER_ID);
        Interner {
            names: vec![Box::<str>::from(OTHER)],
            index,
            last: OTHER_ID,
            overflowed: 0,
        }
    }

    /// The id of `name`, interning it if there is room; [`OTHER_ID`] otherwise.
    #[inline]
    pub fn intern(&mut self, name: &str) -> u16 {
        if self
            .names
            .get(usize::from(self.last))
            .is_some_and(|n| **n == *name)
        {
            return self.last;
        }
        let id = match self.index.get(name) {
            Some(&id) => id,
            // `names` holds OTHER plus at most MAX_KEYS_PER_DIMENSION names, so ids fit in u16.
            None if self.names.len() <= MAX_KEYS_PER_DIMENSION => {
                let id = self.names.len() as u16;
                self.names.push(name.into());
                self.index.insert(name.into(), id);
                id
            }
            None => {
                self.overflowed = self.overflowed.saturating_add(1);
                OTHER_ID
            }
        };
        self.last = id;
        id
    }

    /// The name of an id (`OTHER` for unknown ids).
    pub fn name(&self, id: u16) -> &str {
        self.names.get(usize::from(id)).map_or(OTHER, |n| n)
    }
}

/// Counters of one (kind, resource, status class, region) key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OperationRow {
    pub kind: u16,
    pub resource: u16,
    pub class: StatusClass,
    pub region: u16,
    pub operations: u64,
    pub request_charge: f64,
}

/// Counters of one (container, partition key range) key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PartitionRow {
    pub container: u16,
    pub range: u16,
    pub operations: u64,
    pub request_charge: f64,
    pub throttles: u64,
}

/// Rows in first-seen order, found by a packed key.
#[derive(Debug, Clone)]
pub(crate) struct Table<R> {
    pub rows: Vec<R>,
    index: BTreeMap<u64, u16>,
    last: Option<(u64, u16)>,
    /// Samples folded into an overflow row because the table was full.
    pub overflowed: u64,
}

impl<R> Table<R> {
    pub fn new() -> Self {
        Table {
            rows: Vec::new(),
            index: BTreeMap::new(),
            last: None,
            overflowed: 0,
        }
    }

    /// The row of `key`, created by `make` when absent. When the table already holds
    /// [`MAX_KEYS_PER_DIMENSION`] rows, `overflow` (a key made of [`OTHER_ID`]s) is used instead;
    /// overflow rows are created past the cap (at most one per status class).
    #[inline]
    pub fn row(
        &mut self,
        key: u64,
        overflow: u64,
        make: impl Fn(u64) -> R,
    ) -> Option<(u16, &mut R)> {
        if let Some((k, i)) = self.last {
            if k == key {
                return self.rows.get_mut(usize::from(i)).map(|r| (i, r));
            }
        }
        let found = self.index.get(&key).copied();
        let (key, i) = match found {
            Some(i) => (key, i),
            None => {
                let key = if self.rows.len() >= MAX_KEYS_PER_DIMENSION {
                    self.overflowed = self.overflowed.saturating_add(1);
                    overflow
                } else {
                    key
                };
                match self.index.get(&key).copied() {
                    Some(i) => (key, i),
                    None => {
                        // At most MAX_KEYS_PER_DIMENSION + 5 overflow rows: fits in u16.
                        let i = self.rows.len() as u16;
                        self.rows.push(make(key));
                        self.index.insert(key, i);
                        (key, i)
                    }
                }
            }
        };
        self.last = Some((key, i));
        self.rows.get_mut(usize::from(i)).map(|r| (i, r))
    }
}

/// Packs an operation key.
#[inline]
pub(crate) fn operation_key(kind: u16, resource: u16, class: StatusClass, region: u16) -> u64 {
    (u64::from(kind) << 40)
        | (u64::from(resource) << 24)
        | ((class.index() as u64) << 16)
        | u64::from(region)
}

/// Unpacks an operation key into a fresh row.
pub(crate) fn operation_row(key: u64) -> OperationRow {
    let class = StatusClass::ALL
        .get(((key >> 16) & 0xff) as usize)
        .copied()
        .unwrap_or(StatusClass::Other);
    OperationRow {
        kind: (key >> 40) as u16,
        resource: (key >> 24) as u16,
        class,
        region: key as u16,
        operations: 0,
        request_charge: 0.0,
    }
}

/// Packs a partition key.
#[inline]
pub(crate) fn partition_key(container: u16, range: u16) -> u64 {
    (u64::from(container) << 16) | u64::from(range)
}

/// Unpacks a partition key into a fresh row.
pub(crate) fn partition_row(key: u64) -> PartitionRow {
    PartitionRow {
        container: (key >> 16) as u16,
        range: key as u16,
        operations: 0,
        request_charge: 0.0,
        throttles: 0,
    }
}

/// The most partition rows a table can hold (the cap plus one overflow row).
pub(crate) const MAX_PARTITION_ROWS: usize = MAX_KEYS_PER_DIMENSION + 1;
