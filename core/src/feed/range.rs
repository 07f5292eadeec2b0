//! `FeedRange`: a slice of a container's effective-partition-key space, the unit a caller
//! parallelises a query (and later a change feed or ReadMany) over.

use serde_json::{json, Value};

use crate::error::ConfigError;
use crate::models::{PartitionKey, PartitionKeyDefinition};
use crate::partition::{effective_partition_key, epk_range_for_prefix, parse_partition_key_ranges};

/// The end of the EPK space (exclusive).
const EPK_END: &str = "FF";

/// A half-open range `[min, max)` of effective partition keys (upper-case hex strings).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeedRange {
    min: String,
    max: String,
}

impl FeedRange {
    /// The whole container.
    pub fn full() -> FeedRange {
        FeedRange {
            min: String::new(),
            max: EPK_END.into(),
        }
    }

    /// `[min, max)`; refused when empty or inverted.
    pub fn new(min: impl Into<String>, max: impl Into<String>) -> Result<FeedRange, ConfigError> {
        let (min, max) = (min.into(), max.into());
        if min >= max || max.as_str() > EPK_END {
            return Err(ConfigError::InvalidSetting {
                name: "feed range".into(),
                value: format!("[{min:?}, {max:?})"),
                expected: "min < max <= \"FF\" (effective partition keys)".into(),
            });
        }
        Ok(FeedRange { min, max })
    }

    /// The range of one partition key: a point for a full key, or the key range of a prefix of a
    /// hierarchical (MultiHash) key. Needs the container's partition key definition.
    pub fn for_partition_key(
        pk: &PartitionKey,
        definition: &PartitionKeyDefinition,
    ) -> Result<FeedRange, ConfigError> {
        let bad = |e: crate::partition::EpkError| ConfigError::InvalidOperation(e.to_string());
        if pk.components().len() < definition.paths.len() {
            let r = epk_range_for_prefix(pk, definition).map_err(bad)?;
            return FeedRange::new(r.min_inclusive().as_str(), r.max_exclusive());
        }
        let epk = effective_partition_key(pk, definition).map_err(bad)?;
        // The smallest string after `epk` in EPK order closes the point.
        FeedRange::new(epk.as_str(), format!("{}00", epk.as_str()))
    }

    /// The ranges of a `GET …/pkranges` body (`CosmosOperation::read_partition_key_ranges`),
    /// in EPK order: one feed range per physical partition key range.
    pub fn from_partition_key_ranges(body: &[u8]) -> Result<Vec<FeedRange>, ConfigError> {
        let mut ranges = parse_partition_key_ranges(body)
            .map_err(|e| ConfigError::InvalidOperation(format!("partition key ranges: {e}")))?;
        ranges.sort_by(|a, b| a.min_inclusive.cmp(&b.min_inclusive));
        ranges
            .into_iter()
            .map(|r| FeedRange::new(r.min_inclusive, r.max_exclusive))
            .collect()
    }

    /// Inclusive lower bound.
    pub fn min(&self) -> &str {
        &self.min
    }

    /// Exclusive upper bound.
    pub fn max(&self) -> &str {
        &self.max
    }

    /// True when `[min, max)` overlaps this range.
    pub fn overlaps(&self, min: &str, max: &str) -> bool {
        self.min.as_str() < max && min < self.max.as_str()
    }

    /// The JSON form the .NET and Java SDKs exchange: `{"Range":{"min":"…","max":"…"}}`.
    pub fn to_json_string(&self) -> String {
        json!({"Range": {"min": self.min, "max": self.max}}).to_string()
    }

    /// Reads [`FeedRange::to_json_string`]'s form; the error names what is wrong.
    pub fn from_json_string(text: &str) -> Result<FeedRange, ConfigError> {
        let bad = |why: &str| ConfigError::InvalidSetting {
            name: "feed range".into(),
            value: text.chars().take(64).collect(),
            expected: format!("{{\"Range\":{{\"min\":…,\"max\":…}}}} ({why})"),
        };
        let v: Value = serde_json::from_str(text).map_err(|_| bad("not JSON"))?;
        let r = v.get("Range").ok_or_else(|| bad("no Range"))?;
        let field = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
        let (Some(min), Some(max)) = (field("min"), field("max")) else {
            return Err(bad("min and max must be strings"));
        };
        FeedRange::new(min, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_bad_ranges() {
        let r = FeedRange::new("05C1", "7F").unwrap();
        assert_eq!(FeedRange::from_json_string(&r.to_json_string()).unwrap(), r);
        assert!(FeedRange::new("7F", "05").is_err());
        assert!(FeedRange::new("", "FF0").is_err());
        assert!(FeedRange::from_json_string("{}").is_err());
        assert!(r.overlaps("", "05C2") && !r.overlaps("7F", "FF"));
    }

    #[test]
    fn pk_ranges_become_feed_ranges_in_order() {
        let body = br#"{"PartitionKeyRanges":[{"id":"1","minInclusive":"7F","maxExclusive":"FF"},{"id":"0","minInclusive":"","maxExclusive":"7F"}]}"#;
        let r = FeedRange::from_partition_key_ranges(body).unwrap();
        assert_eq!(
            r,
            vec![
                FeedRange::new("", "7F").unwrap(),
                FeedRange::new("7F", "FF").unwrap()
            ]
        );
    }
}
