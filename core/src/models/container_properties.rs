//! Typed container and database properties (the metadata plane is typed; PROTOCOL.md §2).

use serde::{Deserialize, Serialize};

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

/// A container's partition key paths, kind and hash version.
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
}

impl PartitionKeyDefinition {
    /// A single-path hash definition with hash version 2.
    pub fn hash(path: impl Into<String>) -> Self {
        PartitionKeyDefinition {
            paths: vec![path.into()],
            kind: PartitionKeyKind::Hash,
            version: Some(2),
        }
    }

    /// A hierarchical (MultiHash, version 2) definition of up to three paths.
    pub fn hierarchical<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PartitionKeyDefinition {
            paths: paths.into_iter().map(Into::into).collect(),
            kind: PartitionKeyKind::MultiHash,
            version: Some(2),
        }
    }
}

/// Container properties sent on create and returned by reads. Unknown fields are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerProperties {
    /// The container id.
    pub id: String,
    /// The partition key definition.
    #[serde(rename = "partitionKey")]
    pub partition_key: PartitionKeyDefinition,
    /// Default time to live in seconds (`-1` = on with no default); absent = off.
    #[serde(
        rename = "defaultTtl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub default_ttl: Option<i32>,
    /// The indexing policy, passed through as JSON.
    #[serde(
        rename = "indexingPolicy",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub indexing_policy: Option<serde_json::Value>,
    /// Every other property the service returned (`_rid`, `_etag`, ...).
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl ContainerProperties {
    /// Properties for a new container with the given id and partition key definition.
    pub fn new(id: impl Into<String>, partition_key: PartitionKeyDefinition) -> Self {
        ContainerProperties {
            id: id.into(),
            partition_key,
            default_ttl: None,
            indexing_policy: None,
            other: serde_json::Map::new(),
        }
    }
}

/// Database properties. Unknown fields are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseProperties {
    /// The database id.
    pub id: String,
    /// Every other property the service returned.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl DatabaseProperties {
    /// Properties for a new database.
    pub fn new(id: impl Into<String>) -> Self {
        DatabaseProperties {
            id: id.into(),
            other: serde_json::Map::new(),
        }
    }
}
