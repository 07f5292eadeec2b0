//! Partition key ranges as the pk-range feed (`GET dbs/{db}/colls/{c}/pkranges`) returns them.

use serde_json::Value;

use super::epk::EffectivePartitionKey;
use super::routing_map::RoutingMapError;

/// Most ranges accepted from one feed body or held by one routing map.
pub const MAX_RANGES: usize = 65_536;
/// Most parents one range may list.
pub const MAX_PARENTS: usize = 1024;

/// One partition key range: the EPKs `[min_inclusive, max_exclusive)` served by one physical
/// partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionKeyRange {
    /// The range id (`"0"`, `"1"`, …).
    pub id: String,
    /// Inclusive lower bound (`""` for the first range).
    pub min_inclusive: String,
    /// Exclusive upper bound (`"FF"` for the last range).
    pub max_exclusive: String,
    /// Ids of the ranges this one was split from, oldest ancestor first (as the service lists
    /// them); empty for an original range.
    pub parents: Vec<String>,
}

impl PartitionKeyRange {
    /// A range with no parents.
    pub fn new(
        id: impl Into<String>,
        min_inclusive: impl Into<String>,
        max_exclusive: impl Into<String>,
    ) -> PartitionKeyRange {
        PartitionKeyRange {
            id: id.into(),
            min_inclusive: min_inclusive.into(),
            max_exclusive: max_exclusive.into(),
            parents: Vec::new(),
        }
    }

    /// The same range with `parents` (oldest ancestor first).
    pub fn with_parents<I, S>(mut self, parents: I) -> PartitionKeyRange
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.parents = parents.into_iter().map(Into::into).collect();
        self
    }

    /// Whether `epk` lies in `[min_inclusive, max_exclusive)`.
    pub fn contains(&self, epk: &EffectivePartitionKey) -> bool {
        self.min_inclusive.as_str() <= epk.as_str() && epk.as_str() < self.max_exclusive.as_str()
    }
}

/// Parses the ranges of a pk-range feed body, `{"PartitionKeyRanges":[{"id":"0",
/// "minInclusive":"","maxExclusive":"FF","parents":[]}, …]}`. Lenient where servers differ:
/// ids and parent ids may be strings or integers (the local test server sends numbers), a
/// missing or `null` `parents` is empty, and unknown fields are ignored. At most
/// [`MAX_RANGES`] ranges and [`MAX_PARENTS`] parents per range.
pub fn parse_partition_key_ranges(body: &[u8]) -> Result<Vec<PartitionKeyRange>, RoutingMapError> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| RoutingMapError::InvalidFeed {
        reason: format!("not JSON: {e}"),
    })?;
    let list = doc
        .get("PartitionKeyRanges")
        .and_then(Value::as_array)
        .ok_or_else(|| RoutingMapError::InvalidFeed {
            reason: "no \"PartitionKeyRanges\" array".to_owned(),
        })?;
    if list.len() > MAX_RANGES {
        return Err(RoutingMapError::TooManyRanges {
            count: list.len(),
            max: MAX_RANGES,
        });
    }
    list.iter()
        .enumerate()
        .map(|(index, item)| parse_range(index, item))
        .collect()
}

fn parse_range(index: usize, item: &Value) -> Result<PartitionKeyRange, RoutingMapError> {
    let invalid = |reason: &str| RoutingMapError::InvalidRange {
        index,
        reason: reason.to_owned(),
    };
    let id = item
        .get("id")
        .and_then(id_string)
        .ok_or_else(|| invalid("\"id\" is missing or not a string or integer"))?;
    let min_inclusive = item
        .get("minInclusive")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("\"minInclusive\" is missing or not a string"))?
        .to_owned();
    let max_exclusive = item
        .get("maxExclusive")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("\"maxExclusive\" is missing or not a string"))?
        .to_owned();
    let parents = match item.get("parents") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => {
            if list.len() > MAX_PARENTS {
                return Err(invalid("more than 1024 \"parents\""));
            }
            list.iter()
                .map(|p| {
                    id_string(p).ok_or_else(|| invalid("a parent id is not a string or integer"))
                })
                .collect::<Result<Vec<_>, _>>()?
        }
        Some(_) => return Err(invalid("\"parents\" is not an array")),
    };
    Ok(PartitionKeyRange {
        id,
        min_inclusive,
        max_exclusive,
        parents,
    })
}

fn id_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}
