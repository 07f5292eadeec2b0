//! A container's unique key policy: sets of paths whose values must be unique within a logical
//! partition. Fixed when the container is created.
//!
//! Wire shape as .NET's `UniqueKeyPolicy`/`UniqueKey` and the Rust SDK write it:
//! `uniqueKeyPolicy: {uniqueKeys: [{paths: ["/a", "/b"]}]}`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ConfigError;
use crate::models::validate::{self, invalid};

/// The unique keys of a container (`uniqueKeyPolicy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UniqueKeyPolicy {
    /// The unique keys (`uniqueKeys`); always written, as the service returns it.
    #[serde(rename = "uniqueKeys", default)]
    pub unique_keys: Vec<UniqueKey>,
    /// Every other field the service returned, sent back unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl UniqueKeyPolicy {
    /// A policy with these keys.
    pub fn new(unique_keys: impl IntoIterator<Item = UniqueKey>) -> Self {
        UniqueKeyPolicy {
            unique_keys: unique_keys.into_iter().collect(),
            other: Map::new(),
        }
    }

    /// Checks that each key has at least one path and every path starts with `/`. Errors name
    /// the field (`uniqueKeyPolicy.uniqueKeys[0].paths[1]`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (i, key) in self.unique_keys.iter().enumerate() {
            if key.paths.is_empty() {
                return Err(invalid(
                    format!("uniqueKeyPolicy.uniqueKeys[{i}].paths"),
                    "[]",
                    "at least one path",
                ));
            }
            for (j, path) in key.paths.iter().enumerate() {
                validate::path(format!("uniqueKeyPolicy.uniqueKeys[{i}].paths[{j}]"), path)?;
            }
        }
        Ok(())
    }
}

/// One unique key: the combination of these paths' values is unique per logical partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UniqueKey {
    /// The paths (`/email`, or `/firstName` and `/lastName` together).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Every other field the service returned, sent back unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl UniqueKey {
    /// A key over these paths.
    pub fn new<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        UniqueKey {
            paths: paths.into_iter().map(Into::into).collect(),
            other: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_names_match_the_sdks() {
        let policy = UniqueKeyPolicy::new([
            UniqueKey::new(["/firstName", "/lastName"]),
            UniqueKey::new(["/email"]),
        ]);
        assert_eq!(
            serde_json::to_value(&policy).unwrap(),
            json!({"uniqueKeys": [{"paths": ["/firstName", "/lastName"]}, {"paths": ["/email"]}]})
        );
        policy.validate().unwrap();
        assert_eq!(
            serde_json::to_value(UniqueKeyPolicy::default()).unwrap(),
            json!({"uniqueKeys": []})
        );
    }

    #[test]
    fn unknown_fields_round_trip() {
        let wire = json!({"uniqueKeys": [{"paths": ["/a"], "future": 1}], "other": "x"});
        let policy: UniqueKeyPolicy = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(serde_json::to_value(&policy).unwrap(), wire);
    }

    #[test]
    fn validation_names_the_field() {
        let bad = UniqueKeyPolicy::new([UniqueKey::new(["/a", "b"])]);
        match bad.validate() {
            Err(ConfigError::InvalidSetting { name, value, .. }) => {
                assert_eq!(name, "uniqueKeyPolicy.uniqueKeys[0].paths[1]");
                assert_eq!(value, "b");
            }
            other => panic!("{other:?}"),
        }
        let empty = UniqueKeyPolicy::new([UniqueKey::new(Vec::<String>::new())]);
        let err = empty.validate().unwrap_err().to_string();
        assert!(err.contains("uniqueKeyPolicy.uniqueKeys[0].paths"), "{err}");
    }
}
