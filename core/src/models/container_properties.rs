//! Typed container and database properties (the metadata plane is typed; PROTOCOL.md §2).
//!
//! Every level keeps the fields it does not model in an `other` map, so a container read from
//! the service and written back (read-modify-replace) loses nothing this version of Sextant does
//! not know about: system properties (`_rid`, `_etag`, `_ts`, `_self`), `geospatialConfig`,
//! `clientEncryptionPolicy`, `partitionKey.systemKey` and whatever the service adds next.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ConfigError;
use crate::models::computed_property::ComputedProperty;
use crate::models::conflict_resolution::ConflictResolutionPolicy;
use crate::models::full_text_policy::FullTextPolicy;
use crate::models::indexing_policy::IndexingPolicy;
use crate::models::resource_id::{validate_resource_id, ResourceIdKind};
use crate::models::time_to_live::DefaultTimeToLive;
use crate::models::unique_key_policy::UniqueKeyPolicy;
use crate::models::validate::invalid;
use crate::models::vector_policy::VectorEmbeddingPolicy;

pub use crate::models::partition_key_definition::{
    PartitionKeyDefinition, PartitionKeyDefinitionBuilder, PartitionKeyKind,
};

/// Container properties sent on create and replace and returned by reads. Unknown fields are
/// kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerProperties {
    /// The container id.
    pub id: String,
    /// The partition key definition.
    #[serde(rename = "partitionKey")]
    pub partition_key: PartitionKeyDefinition,
    /// The wire field `defaultTtl`: seconds, `-1` = on with no default, absent = off. Typed
    /// access: [`default_time_to_live`](Self::default_time_to_live) and
    /// [`set_default_time_to_live`](Self::set_default_time_to_live).
    #[serde(
        rename = "defaultTtl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub default_ttl: Option<i32>,
    /// The indexing policy; absent lets the service apply its default (everything, consistent).
    #[serde(
        rename = "indexingPolicy",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub indexing_policy: Option<IndexingPolicy>,
    /// The unique key policy (fixed at creation).
    #[serde(
        rename = "uniqueKeyPolicy",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub unique_key_policy: Option<UniqueKeyPolicy>,
    /// The conflict resolution policy, for accounts with several write regions.
    #[serde(
        rename = "conflictResolutionPolicy",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub conflict_resolution_policy: Option<ConflictResolutionPolicy>,
    /// The vector embedding policy: which paths hold vectors.
    #[serde(
        rename = "vectorEmbeddingPolicy",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub vector_embedding_policy: Option<VectorEmbeddingPolicy>,
    /// The full-text policy: which paths hold searchable text.
    #[serde(
        rename = "fullTextPolicy",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub full_text_policy: Option<FullTextPolicy>,
    /// Computed properties (`computedProperties`).
    #[serde(
        rename = "computedProperties",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub computed_properties: Option<Vec<ComputedProperty>>,
    /// Every other property the service returned (`_rid`, `_etag`, `geospatialConfig`, ...).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl ContainerProperties {
    /// Properties for a new container with the given id and partition key definition, all
    /// policies left to the service's defaults. Not validated; see [`builder`](Self::builder).
    pub fn new(id: impl Into<String>, partition_key: PartitionKeyDefinition) -> Self {
        ContainerProperties {
            id: id.into(),
            partition_key,
            default_ttl: None,
            indexing_policy: None,
            unique_key_policy: None,
            conflict_resolution_policy: None,
            vector_embedding_policy: None,
            full_text_policy: None,
            computed_properties: None,
            other: Map::new(),
        }
    }

    /// A builder for a new container, checked before the service sees it.
    pub fn builder(
        id: impl Into<String>,
        partition_key: PartitionKeyDefinition,
    ) -> ContainerPropertiesBuilder {
        ContainerPropertiesBuilder {
            properties: ContainerProperties::new(id, partition_key),
            ttl: DefaultTimeToLive::Off,
        }
    }

    /// The default time to live, typed from `defaultTtl`. Errors (naming `defaultTtl`) only if
    /// the field holds a value the service would refuse (`0`, below `-1`).
    pub fn default_time_to_live(&self) -> Result<DefaultTimeToLive, ConfigError> {
        DefaultTimeToLive::from_wire(self.default_ttl)
    }

    /// Sets `defaultTtl` from `ttl`, refusing (and leaving the field as it was) `Seconds(n)`
    /// with `n < 1`.
    pub fn set_default_time_to_live(&mut self, ttl: DefaultTimeToLive) -> Result<(), ConfigError> {
        self.default_ttl = ttl.validate()?.to_wire();
        Ok(())
    }

    /// The system property `_etag`, when the properties came from the service.
    pub fn etag(&self) -> Option<&str> {
        self.other.get("_etag").and_then(Value::as_str)
    }

    /// The system property `_rid` (the container's resource id), when read from the service.
    pub fn resource_id(&self) -> Option<&str> {
        self.other.get("_rid").and_then(Value::as_str)
    }

    /// Checks everything the builders check: the id, the partition key, the time to live,
    /// each policy, computed properties, and that every vector and full-text index path is
    /// declared by the matching policy (the service refuses an index over an undeclared path).
    /// Errors name the field by its wire path.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate_resource_id(ResourceIdKind::Container, &self.id)?;
        self.partition_key.validate()?;
        self.default_time_to_live()?;
        if let Some(p) = &self.indexing_policy {
            p.validate()?;
        }
        if let Some(p) = &self.unique_key_policy {
            p.validate()?;
        }
        if let Some(p) = &self.conflict_resolution_policy {
            p.validate()?;
        }
        if let Some(p) = &self.vector_embedding_policy {
            p.validate()?;
        }
        if let Some(p) = &self.full_text_policy {
            p.validate()?;
        }
        for (i, c) in self.computed_properties.iter().flatten().enumerate() {
            c.validate_at(&format!("computedProperties[{i}]"))?;
        }
        self.validate_index_declarations()
    }

    fn validate_index_declarations(&self) -> Result<(), ConfigError> {
        let Some(policy) = &self.indexing_policy else {
            return Ok(());
        };
        for (i, index) in policy.vector_indexes.iter().flatten().enumerate() {
            let declared = self
                .vector_embedding_policy
                .as_ref()
                .is_some_and(|p| p.declares(&index.path));
            if !declared {
                return Err(invalid(
                    format!("indexingPolicy.vectorIndexes[{i}].path"),
                    index.path.clone(),
                    "a path declared in vectorEmbeddingPolicy.vectorEmbeddings",
                ));
            }
        }
        for (i, index) in policy.full_text_indexes.iter().flatten().enumerate() {
            let declared = self
                .full_text_policy
                .as_ref()
                .is_some_and(|p| p.declares(&index.path));
            if !declared {
                return Err(invalid(
                    format!("indexingPolicy.fullTextIndexes[{i}].path"),
                    index.path.clone(),
                    "a path declared in fullTextPolicy.fullTextPaths",
                ));
            }
        }
        Ok(())
    }
}

/// Builds [`ContainerProperties`] for a create, checking them (see
/// [`ContainerProperties::validate`]). Every policy left unset is left to the service's
/// default.
#[derive(Debug, Clone)]
pub struct ContainerPropertiesBuilder {
    properties: ContainerProperties,
    ttl: DefaultTimeToLive,
}

impl ContainerPropertiesBuilder {
    /// Sets the indexing policy (see [`IndexingPolicy::builder`]).
    pub fn indexing_policy(mut self, policy: IndexingPolicy) -> Self {
        self.properties.indexing_policy = Some(policy);
        self
    }

    /// Sets the unique key policy.
    pub fn unique_key_policy(mut self, policy: UniqueKeyPolicy) -> Self {
        self.properties.unique_key_policy = Some(policy);
        self
    }

    /// Sets the conflict resolution policy (see [`ConflictResolutionPolicy::builder`]).
    pub fn conflict_resolution_policy(mut self, policy: ConflictResolutionPolicy) -> Self {
        self.properties.conflict_resolution_policy = Some(policy);
        self
    }

    /// Sets the default time to live; `Seconds(n)` needs `n >= 1`.
    pub fn default_time_to_live(mut self, ttl: DefaultTimeToLive) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the vector embedding policy.
    pub fn vector_embedding_policy(mut self, policy: VectorEmbeddingPolicy) -> Self {
        self.properties.vector_embedding_policy = Some(policy);
        self
    }

    /// Sets the full-text policy.
    pub fn full_text_policy(mut self, policy: FullTextPolicy) -> Self {
        self.properties.full_text_policy = Some(policy);
        self
    }

    /// Adds a computed property.
    pub fn computed_property(mut self, property: ComputedProperty) -> Self {
        self.properties
            .computed_properties
            .get_or_insert_with(Vec::new)
            .push(property);
        self
    }

    /// The checked properties.
    pub fn build(mut self) -> Result<ContainerProperties, ConfigError> {
        self.properties.default_ttl = self.ttl.validate()?.to_wire();
        self.properties.validate()?;
        Ok(self.properties)
    }
}

/// Database properties. Unknown fields are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseProperties {
    /// The database id.
    pub id: String,
    /// Every other property the service returned.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl DatabaseProperties {
    /// Properties for a new database.
    pub fn new(id: impl Into<String>) -> Self {
        DatabaseProperties {
            id: id.into(),
            other: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::conflict_resolution::ConflictResolutionMode;
    use crate::models::full_text_policy::FullTextPath;
    use crate::models::indexing_policy::{
        CompositeIndex, CompositeIndexOrder, ExcludedPath, IndexingMode, SpatialType,
    };
    use crate::models::unique_key_policy::UniqueKey;
    use crate::models::vector_policy::{
        VectorDataType, VectorDistanceFunction, VectorEmbedding, VectorIndex, VectorIndexType,
    };
    use serde_json::json;

    /// A container as the service returns it from `GET dbs/{db}/colls/{coll}`: system
    /// properties, `geospatialConfig`, `partitionKey.systemKey`, the newer policies, and fields
    /// no SDK knows yet at several levels.
    fn service_document() -> Value {
        json!({
            "id": "orders",
            "indexingPolicy": {
                "indexingMode": "consistent",
                "automatic": true,
                "includedPaths": [{"path": "/*"}],
                "excludedPaths": [{"path": "/\"_etag\"/?"}, {"path": "/embedding/*"}],
                "compositeIndexes": [[
                    {"path": "/category", "order": "ascending"},
                    {"path": "/price", "order": "descending"}
                ]],
                "spatialIndexes": [{"path": "/location/*", "types": ["Point", "Polygon", "MultiPolygon", "LineString"]}],
                "vectorIndexes": [{"path": "/embedding", "type": "quantizedFlat", "quantizationByteSize": 96}],
                "fullTextIndexes": [{"path": "/description"}],
                "futureIndexKind": []
            },
            "partitionKey": {
                "paths": ["/tenantId", "/userId"],
                "kind": "MultiHash",
                "version": 2,
                "systemKey": false
            },
            "defaultTtl": -1,
            "uniqueKeyPolicy": {"uniqueKeys": [{"paths": ["/email"]}]},
            "conflictResolutionPolicy": {
                "mode": "LastWriterWins",
                "conflictResolutionPath": "/_ts",
                "conflictResolutionProcedure": ""
            },
            "vectorEmbeddingPolicy": {"vectorEmbeddings": [{
                "path": "/embedding", "dataType": "float32", "dimensions": 1536, "distanceFunction": "cosine"
            }]},
            "fullTextPolicy": {
                "defaultLanguage": "en-US",
                "fullTextPaths": [{"path": "/description", "language": "en-US"}]
            },
            "computedProperties": [{"name": "cp_lowerName", "query": "SELECT VALUE LOWER(c.name) FROM c"}],
            "geospatialConfig": {"type": "Geography"},
            "analyticalStorageTtl": -1,
            "changeFeedPolicy": {"retentionDuration": 0},
            "someFutureContainerSetting": {"enabled": true, "levels": [1, 2]},
            "_rid": "Zk4rAPK2Bzs=",
            "_ts": 1733400000,
            "_self": "dbs/Zk4rAA==/colls/Zk4rAPK2Bzs=/",
            "_etag": "\"00000c00-0000-0800-0000-6751d9a00000\"",
            "_docs": "docs/",
            "_sprocs": "sprocs/",
            "_triggers": "triggers/",
            "_udfs": "udfs/",
            "_conflicts": "conflicts/"
        })
    }

    #[test]
    fn a_service_document_round_trips_to_equal_json() {
        let wire = service_document();
        let props: ContainerProperties = serde_json::from_value(wire.clone()).unwrap();

        // Typed where modelled...
        assert_eq!(props.id, "orders");
        assert_eq!(props.partition_key.kind, PartitionKeyKind::MultiHash);
        assert!(!props.partition_key.is_system_key());
        assert_eq!(
            props.default_time_to_live().unwrap(),
            DefaultTimeToLive::NoDefault
        );
        let indexing = props.indexing_policy.as_ref().unwrap();
        assert_eq!(indexing.indexing_mode, Some(IndexingMode::Consistent));
        assert_eq!(
            indexing.composite_indexes.as_ref().unwrap()[0].paths[1].order,
            Some(CompositeIndexOrder::Descending)
        );
        assert_eq!(
            indexing.vector_indexes.as_ref().unwrap()[0].index_type,
            VectorIndexType::QuantizedFlat
        );
        assert_eq!(
            props.conflict_resolution_policy.as_ref().unwrap().mode,
            Some(ConflictResolutionMode::LastWriterWins)
        );
        assert_eq!(
            props
                .vector_embedding_policy
                .as_ref()
                .unwrap()
                .vector_embeddings[0]
                .dimensions,
            1536
        );
        assert_eq!(
            props.computed_properties.as_ref().unwrap()[0].name,
            "cp_lowerName"
        );
        assert_eq!(
            props.etag(),
            Some("\"00000c00-0000-0800-0000-6751d9a00000\"")
        );
        assert_eq!(props.resource_id(), Some("Zk4rAPK2Bzs="));
        // ...and kept where not.
        assert_eq!(
            props.other["geospatialConfig"],
            json!({"type": "Geography"})
        );
        assert_eq!(props.partition_key.other["systemKey"], json!(false));

        // Written back, it is the same document.
        assert_eq!(serde_json::to_value(&props).unwrap(), wire);
        // A service document passes the builders' checks too.
        props.validate().unwrap();
    }

    #[test]
    fn a_read_modify_replace_keeps_what_it_did_not_touch() {
        let mut props: ContainerProperties = serde_json::from_value(service_document()).unwrap();
        props
            .set_default_time_to_live(DefaultTimeToLive::Seconds(3600))
            .unwrap();
        if let Some(policy) = props.indexing_policy.as_mut() {
            policy
                .excluded_paths
                .get_or_insert_with(Vec::new)
                .push(ExcludedPath::new("/blob/*"));
        }
        let mut expected = service_document();
        expected["defaultTtl"] = json!(3600);
        expected["indexingPolicy"]["excludedPaths"]
            .as_array_mut()
            .unwrap()
            .push(json!({"path": "/blob/*"}));
        assert_eq!(serde_json::to_value(&props).unwrap(), expected);
    }

    #[test]
    fn a_minimal_document_round_trips() {
        // What the local test gateway returns: no policies at all.
        let wire =
            json!({"id": "c", "partitionKey": {"paths": ["/pk"], "kind": "Hash"}, "_rid": "r"});
        let props: ContainerProperties = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(props.indexing_policy, None);
        assert_eq!(
            props.default_time_to_live().unwrap(),
            DefaultTimeToLive::Off
        );
        assert_eq!(serde_json::to_value(&props).unwrap(), wire);
    }

    #[test]
    fn new_serializes_as_the_rust_sdk_does() {
        // The Rust SDK's `container_properties_default_serialization` literal.
        let props =
            ContainerProperties::new("MyContainer", PartitionKeyDefinition::hash("/partitionKey"));
        assert_eq!(
            serde_json::to_string(&props).unwrap(),
            r#"{"id":"MyContainer","partitionKey":{"paths":["/partitionKey"],"kind":"Hash","version":2}}"#
        );
    }

    #[test]
    fn builder_writes_every_policy_under_its_wire_name() {
        let props = ContainerProperties::builder("docs", PartitionKeyDefinition::hash("/pk"))
            .indexing_policy(
                IndexingPolicy::builder()
                    .include_path("/*")
                    .exclude_path("/embedding/*")
                    .vector_index(VectorIndex::new("/embedding", VectorIndexType::DiskAnn))
                    .full_text_index("/text")
                    .spatial_index("/where/*", [SpatialType::Point])
                    .build()
                    .unwrap(),
            )
            .unique_key_policy(UniqueKeyPolicy::new([UniqueKey::new(["/sku"])]))
            .conflict_resolution_policy(
                ConflictResolutionPolicy::builder()
                    .last_writer_wins("/version")
                    .build()
                    .unwrap(),
            )
            .default_time_to_live(DefaultTimeToLive::Seconds(86_400))
            .vector_embedding_policy(VectorEmbeddingPolicy::new([VectorEmbedding::new(
                "/embedding",
                VectorDataType::Float32,
                3,
                VectorDistanceFunction::Cosine,
            )]))
            .full_text_policy(FullTextPolicy::new("en-US", [FullTextPath::new("/text")]))
            .computed_property(ComputedProperty::new(
                "lower",
                "SELECT VALUE LOWER(c.name) FROM c",
            ))
            .build()
            .unwrap();
        assert_eq!(
            serde_json::to_value(&props).unwrap(),
            json!({
                "id": "docs",
                "partitionKey": {"paths": ["/pk"], "kind": "Hash", "version": 2},
                "defaultTtl": 86400,
                "indexingPolicy": {
                    "indexingMode": "consistent",
                    "automatic": true,
                    "includedPaths": [{"path": "/*"}],
                    "excludedPaths": [{"path": "/embedding/*"}],
                    "spatialIndexes": [{"path": "/where/*", "types": ["Point"]}],
                    "vectorIndexes": [{"path": "/embedding", "type": "diskANN"}],
                    "fullTextIndexes": [{"path": "/text"}]
                },
                "uniqueKeyPolicy": {"uniqueKeys": [{"paths": ["/sku"]}]},
                "conflictResolutionPolicy": {"mode": "LastWriterWins", "conflictResolutionPath": "/version"},
                "vectorEmbeddingPolicy": {"vectorEmbeddings": [
                    {"path": "/embedding", "dataType": "float32", "dimensions": 3, "distanceFunction": "cosine"}
                ]},
                "fullTextPolicy": {"defaultLanguage": "en-US", "fullTextPaths": [{"path": "/text"}]},
                "computedProperties": [{"name": "lower", "query": "SELECT VALUE LOWER(c.name) FROM c"}]
            })
        );
        let off = ContainerProperties::builder("c", PartitionKeyDefinition::hash("/pk"))
            .default_time_to_live(DefaultTimeToLive::NoDefault)
            .build()
            .unwrap();
        assert_eq!(off.default_ttl, Some(-1));
    }

    fn field(err: ConfigError) -> (String, String) {
        match err {
            ConfigError::InvalidSetting { name, value, .. } => (name, value),
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn builder_validation_names_the_field_and_value() {
        let pk = || PartitionKeyDefinition::hash("/pk");
        let ttl_zero = ContainerProperties::builder("c", pk())
            .default_time_to_live(DefaultTimeToLive::Seconds(0))
            .build()
            .unwrap_err();
        assert_eq!(field(ttl_zero), ("defaultTtl".into(), "0".into()));

        let mut props = ContainerProperties::new("c", pk());
        let err = props
            .set_default_time_to_live(DefaultTimeToLive::Seconds(-7))
            .unwrap_err();
        assert_eq!(field(err), ("defaultTtl".into(), "-7".into()));
        assert_eq!(
            props.default_ttl, None,
            "a refused value leaves the field alone"
        );
        props.default_ttl = Some(-3);
        assert_eq!(
            field(props.default_time_to_live().unwrap_err()),
            ("defaultTtl".into(), "-3".into())
        );

        let four = ContainerProperties::builder(
            "c",
            PartitionKeyDefinition::hierarchical(["/a", "/b", "/c", "/d"]),
        )
        .build()
        .unwrap_err();
        assert_eq!(field(four), ("partitionKey.paths[3]".into(), "/d".into()));

        let undeclared_vector = ContainerProperties::builder("c", pk())
            .indexing_policy(
                IndexingPolicy::builder()
                    .vector_index(VectorIndex::new("/v", VectorIndexType::Flat))
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap_err();
        assert_eq!(
            field(undeclared_vector),
            ("indexingPolicy.vectorIndexes[0].path".into(), "/v".into())
        );

        let undeclared_text = ContainerProperties::builder("c", pk())
            .indexing_policy(
                IndexingPolicy::builder()
                    .full_text_index("/t")
                    .build()
                    .unwrap(),
            )
            .full_text_policy(FullTextPolicy::new("en-US", [FullTextPath::new("/other")]))
            .build()
            .unwrap_err();
        assert_eq!(
            field(undeclared_text),
            ("indexingPolicy.fullTextIndexes[0].path".into(), "/t".into())
        );

        // A policy assembled by hand is checked by the container builder as well.
        let by_hand = IndexingPolicy {
            composite_indexes: Some(vec![CompositeIndex::new([(
                "/only",
                CompositeIndexOrder::Ascending,
            )])]),
            ..IndexingPolicy::default()
        };
        let err = ContainerProperties::builder("c", pk())
            .indexing_policy(by_hand)
            .build()
            .unwrap_err();
        assert_eq!(field(err).0, "indexingPolicy.compositeIndexes[0]");

        let blank = ContainerProperties::builder("c", pk())
            .computed_property(ComputedProperty::new(" ", "SELECT VALUE 1 FROM c"))
            .build()
            .unwrap_err();
        assert_eq!(field(blank).0, "computedProperties[0].name");

        let bad_id = ContainerProperties::builder("a/b", pk())
            .build()
            .unwrap_err();
        assert!(
            matches!(
                bad_id,
                ConfigError::InvalidResourceId {
                    kind: "container",
                    ..
                }
            ),
            "{bad_id:?}"
        );
    }
}
