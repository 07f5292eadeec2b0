//! A container's partition key definition: paths, kind and hash version.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ConfigError;
use crate::models::validate::{self, invalid};

/// How a container is partitioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PartitionKeyKind {
    /// One path, hashed.
    #[default]
    Hash,
    /// Legacy range partitioning.
    Range,
    /// Hierarchical keys: up to three paths.
    MultiHash,
}

/// The most paths a hierarchical (`MultiHash`) key may have: the service's limit of three key
/// levels (Cosmos DB documentation, "Hierarchical partition keys").
pub const MAX_HIERARCHICAL_PATHS: usize = 3;

/// A container's partition key paths, kind and hash version. Unknown fields (such as the
/// service's `systemKey`) are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionKeyDefinition {
    /// JSON paths such as `/tenantId`; one for `Hash`, up to three for `MultiHash`.
    pub paths: Vec<String>,
    /// The partitioning kind.
    #[serde(default)]
    pub kind: PartitionKeyKind,
    /// Hash version: 2 for new containers (the default), 1 for legacy ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u8>,
    /// Every other field the service returned (`systemKey`, ...), sent back unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl PartitionKeyDefinition {
    /// A single-path hash definition with hash version 2. Not validated; see
    /// [`builder`](Self::builder).
    pub fn hash(path: impl Into<String>) -> Self {
        PartitionKeyDefinition {
            paths: vec![path.into()],
            kind: PartitionKeyKind::Hash,
            version: Some(2),
            other: Map::new(),
        }
    }

    /// A hierarchical (MultiHash, version 2) definition of up to three paths. Not validated;
    /// see [`builder`](Self::builder).
    pub fn hierarchical<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PartitionKeyDefinition {
            paths: paths.into_iter().map(Into::into).collect(),
            kind: PartitionKeyKind::MultiHash,
            version: Some(2),
            other: Map::new(),
        }
    }

    /// A builder that checks the definition before the service sees it.
    pub fn builder() -> PartitionKeyDefinitionBuilder {
        PartitionKeyDefinitionBuilder::default()
    }

    /// `true` for the definition the service gives a container created without a partition
    /// key (`"systemKey": true`, path `/_partitionKey`).
    pub fn is_system_key(&self) -> bool {
        self.other.get("systemKey").and_then(Value::as_bool) == Some(true)
    }

    /// Checks what the service would refuse: no path, a path not starting with `/`, more than
    /// one path for `Hash` or `Range`, more than [`MAX_HIERARCHICAL_PATHS`] for `MultiHash`, a
    /// version other than 1 or 2. Errors name the field (`partitionKey.paths[3]`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.paths.is_empty() {
            return Err(invalid(
                "partitionKey.paths",
                "[]",
                "at least one partition key path",
            ));
        }
        for (i, path) in self.paths.iter().enumerate() {
            validate::path(format!("partitionKey.paths[{i}]"), path)?;
        }
        let max = match self.kind {
            PartitionKeyKind::Hash | PartitionKeyKind::Range => 1,
            PartitionKeyKind::MultiHash => MAX_HIERARCHICAL_PATHS,
        };
        if self.paths.len() > max {
            let expected = match self.kind {
                PartitionKeyKind::MultiHash => {
                    format!(
                        "at most {MAX_HIERARCHICAL_PATHS} paths for a hierarchical (MultiHash) key"
                    )
                }
                kind => format!(
                    "exactly one path for kind {kind:?}; use MultiHash for hierarchical keys"
                ),
            };
            return Err(invalid(
                format!("partitionKey.paths[{max}]"),
                self.paths[max].clone(),
                expected,
            ));
        }
        match self.version {
            None | Some(1) | Some(2) => Ok(()),
            Some(v) => Err(invalid(
                "partitionKey.version",
                v.to_string(),
                "1 (legacy) or 2",
            )),
        }
    }
}

/// Builds a [`PartitionKeyDefinition`], checking it (see [`PartitionKeyDefinition::validate`]).
///
/// Defaults: kind `Hash` for one path and `MultiHash` for more, hash version 2 (what
/// [`PartitionKeyDefinition::hash`] gives, and what the Rust SDK's
/// `ContainerProperties::new` sends: `{"paths":[...],"kind":"Hash","version":2}`).
#[derive(Debug, Clone, Default)]
pub struct PartitionKeyDefinitionBuilder {
    paths: Vec<String>,
    kind: Option<PartitionKeyKind>,
    version: Option<u8>,
}

impl PartitionKeyDefinitionBuilder {
    /// Appends a path (`/tenantId`); hierarchical keys list them top level first.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.paths.push(path.into());
        self
    }

    /// Appends several paths.
    pub fn paths<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.paths.extend(paths.into_iter().map(Into::into));
        self
    }

    /// Sets the kind instead of deriving it from the number of paths.
    pub fn kind(mut self, kind: PartitionKeyKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Sets the hash version (1 or 2) instead of 2.
    pub fn version(mut self, version: u8) -> Self {
        self.version = Some(version);
        self
    }

    /// The checked definition.
    pub fn build(self) -> Result<PartitionKeyDefinition, ConfigError> {
        let kind = self.kind.unwrap_or(if self.paths.len() > 1 {
            PartitionKeyKind::MultiHash
        } else {
            PartitionKeyKind::Hash
        });
        let definition = PartitionKeyDefinition {
            paths: self.paths,
            kind,
            version: Some(self.version.unwrap_or(2)),
            other: Map::new(),
        };
        definition.validate()?;
        Ok(definition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(err: ConfigError) -> (String, String) {
        match err {
            ConfigError::InvalidSetting { name, value, .. } => (name, value),
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn wire_names_match_the_sdks() {
        // The Rust SDK's `container_properties_default_serialization` literal.
        assert_eq!(
            serde_json::to_value(PartitionKeyDefinition::hash("/partitionKey")).unwrap(),
            json!({"paths": ["/partitionKey"], "kind": "Hash", "version": 2})
        );
        assert_eq!(
            serde_json::to_value(PartitionKeyDefinition::hierarchical(["/t", "/u"])).unwrap(),
            json!({"paths": ["/t", "/u"], "kind": "MultiHash", "version": 2})
        );
        let built = PartitionKeyDefinition::builder()
            .paths(["/t", "/u", "/s"])
            .build()
            .unwrap();
        assert_eq!(
            built,
            PartitionKeyDefinition::hierarchical(["/t", "/u", "/s"])
        );
        let one = PartitionKeyDefinition::builder()
            .path("/pk")
            .build()
            .unwrap();
        assert_eq!(one, PartitionKeyDefinition::hash("/pk"));
    }

    #[test]
    fn unknown_fields_round_trip() {
        let wire = json!({"paths": ["/_partitionKey"], "kind": "Hash", "systemKey": true, "future": {"a": 1}});
        let def: PartitionKeyDefinition = serde_json::from_value(wire.clone()).unwrap();
        assert!(def.is_system_key());
        assert_eq!(def.version, None);
        assert_eq!(serde_json::to_value(&def).unwrap(), wire);
        assert!(!PartitionKeyDefinition::hash("/pk").is_system_key());
    }

    #[test]
    fn builder_refuses_what_the_service_refuses() {
        let four = PartitionKeyDefinition::builder()
            .paths(["/a", "/b", "/c", "/d"])
            .build()
            .unwrap_err();
        assert_eq!(
            field_of(four),
            ("partitionKey.paths[3]".into(), "/d".into())
        );

        let no_slash = PartitionKeyDefinition::builder()
            .path("tenantId")
            .build()
            .unwrap_err();
        assert_eq!(
            field_of(no_slash),
            ("partitionKey.paths[0]".into(), "tenantId".into())
        );

        let none = PartitionKeyDefinition::builder().build().unwrap_err();
        assert_eq!(field_of(none).0, "partitionKey.paths");

        let hash_two = PartitionKeyDefinition::builder()
            .paths(["/a", "/b"])
            .kind(PartitionKeyKind::Hash)
            .build()
            .unwrap_err();
        assert_eq!(
            field_of(hash_two),
            ("partitionKey.paths[1]".into(), "/b".into())
        );

        let v3 = PartitionKeyDefinition::builder()
            .path("/a")
            .version(3)
            .build()
            .unwrap_err();
        assert_eq!(field_of(v3), ("partitionKey.version".into(), "3".into()));

        let message = PartitionKeyDefinition::builder()
            .paths(["/a", "/b", "/c", "/d"])
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("partitionKey.paths[3]") && message.contains("/d"),
            "{message}"
        );
    }
}
