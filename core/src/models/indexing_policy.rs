//! A container's indexing policy: what is indexed, how, and the special indexes.
//!
//! Wire names as the official SDKs write them (.NET `IndexingPolicy`, JS `IndexingPolicy.ts`,
//! Rust `azure_data_cosmos` `IndexingPolicy`): `indexingMode`, `automatic`, `includedPaths`,
//! `excludedPaths`, `compositeIndexes` (a list of lists of `{path, order}`), `spatialIndexes`
//! (`{path, types}`), `vectorIndexes` and `fullTextIndexes`.
//!
//! Lists are `Option<Vec<_>>` so that a policy read from the service is written back as it came:
//! an absent list stays absent and an empty one stays empty.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ConfigError;
use crate::models::full_text_policy::FullTextIndex;
use crate::models::validate::{self, invalid};
use crate::models::vector_policy::VectorIndex;
use crate::models::wire_enum::wire_enum;

wire_enum! {
    /// When the index is updated (`indexingMode`). Read in any case: the service and the
    /// JS/Rust SDKs write `consistent`, the .NET SDK `Consistent`.
    pub enum IndexingMode {
        /// With each write, so queries see it at the account's consistency: `consistent`.
        Consistent = "consistent",
        /// Asynchronously (deprecated by the service): `lazy`.
        Lazy = "lazy",
        /// No index; point reads only: `none`.
        None = "none",
    }
}

impl Default for IndexingMode {
    /// `Consistent`: the service default, as the .NET SDK's `IndexingPolicy` constructor.
    fn default() -> Self {
        IndexingMode::Consistent
    }
}

wire_enum! {
    /// A GeoJSON type a spatial index covers (`types`), spelled as .NET's `SpatialType` and
    /// JS's `SpatialType`.
    pub enum SpatialType {
        /// `Point`.
        Point = "Point",
        /// `Polygon`.
        Polygon = "Polygon",
        /// `LineString`.
        LineString = "LineString",
        /// `MultiPolygon`.
        MultiPolygon = "MultiPolygon",
    }
}

wire_enum! {
    /// The order of one path in a composite index (`order`), spelled as .NET's
    /// `CompositePathSortOrder` and JS's `CompositePath.order`.
    pub enum CompositeIndexOrder {
        /// `ascending`.
        Ascending = "ascending",
        /// `descending`.
        Descending = "descending",
    }
}

/// A container's indexing policy (`indexingPolicy`). Unknown fields are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IndexingPolicy {
    /// When the index is updated; absent lets the service choose (`consistent`).
    #[serde(
        rename = "indexingMode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub indexing_mode: Option<IndexingMode>,
    /// Whether items are indexed unless they opt out; absent lets the service choose (`true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic: Option<bool>,
    /// Paths indexed (`includedPaths`), such as `/*`.
    #[serde(
        rename = "includedPaths",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub included_paths: Option<Vec<IncludedPath>>,
    /// Paths not indexed (`excludedPaths`), such as `/"_etag"/?`.
    #[serde(
        rename = "excludedPaths",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub excluded_paths: Option<Vec<ExcludedPath>>,
    /// Composite indexes (`compositeIndexes`), for ORDER BY on several properties.
    #[serde(
        rename = "compositeIndexes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub composite_indexes: Option<Vec<CompositeIndex>>,
    /// Spatial indexes (`spatialIndexes`).
    #[serde(
        rename = "spatialIndexes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub spatial_indexes: Option<Vec<SpatialIndex>>,
    /// Vector indexes (`vectorIndexes`); each path must be in the vector embedding policy.
    #[serde(
        rename = "vectorIndexes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub vector_indexes: Option<Vec<VectorIndex>>,
    /// Full-text indexes (`fullTextIndexes`); each path must be in the full-text policy.
    #[serde(
        rename = "fullTextIndexes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub full_text_indexes: Option<Vec<FullTextIndex>>,
    /// Every other field the service returned, sent back unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl IndexingPolicy {
    /// A builder starting from indexing mode consistent and automatic `true`: the service
    /// default, as the .NET SDK's `IndexingPolicy` constructor sets them.
    pub fn builder() -> IndexingPolicyBuilder {
        IndexingPolicyBuilder::new()
    }

    /// Checks what the service or the official SDKs refuse before sending: every path starts
    /// with `/`, a composite index has at least two paths. Errors name the field
    /// (`indexingPolicy.compositeIndexes[0]`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        const AT: &str = "indexingPolicy";
        for (i, p) in self.included_paths.iter().flatten().enumerate() {
            validate::path(format!("{AT}.includedPaths[{i}].path"), &p.path)?;
        }
        for (i, p) in self.excluded_paths.iter().flatten().enumerate() {
            validate::path(format!("{AT}.excludedPaths[{i}].path"), &p.path)?;
        }
        for (i, c) in self.composite_indexes.iter().flatten().enumerate() {
            c.validate_at(&format!("{AT}.compositeIndexes[{i}]"))?;
        }
        for (i, s) in self.spatial_indexes.iter().flatten().enumerate() {
            validate::path(format!("{AT}.spatialIndexes[{i}].path"), &s.path)?;
        }
        for (i, v) in self.vector_indexes.iter().flatten().enumerate() {
            v.validate_at(&format!("{AT}.vectorIndexes[{i}]"))?;
        }
        for (i, f) in self.full_text_indexes.iter().flatten().enumerate() {
            validate::path(format!("{AT}.fullTextIndexes[{i}].path"), &f.path)?;
        }
        Ok(())
    }
}

/// A path included in the index (`includedPaths[]`). Legacy per-path `indexes` settings are
/// kept in `other`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncludedPath {
    /// The path: `/*` for everything, `/name/?` for one scalar, `/tags/*` for a subtree.
    pub path: String,
    /// Every other field the service returned (`indexes`, ...), sent back unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl IncludedPath {
    /// The included path `path`.
    pub fn new(path: impl Into<String>) -> Self {
        IncludedPath {
            path: path.into(),
            other: Map::new(),
        }
    }
}

/// A path excluded from the index (`excludedPaths[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExcludedPath {
    /// The path, as for [`IncludedPath::path`].
    pub path: String,
    /// Every other field the service returned, sent back unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl ExcludedPath {
    /// The excluded path `path`.
    pub fn new(path: impl Into<String>) -> Self {
        ExcludedPath {
            path: path.into(),
            other: Map::new(),
        }
    }
}

/// A spatial index (`spatialIndexes[]`): a path holding GeoJSON and the types indexed there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpatialIndex {
    /// The path (`/location/*`).
    pub path: String,
    /// The GeoJSON types indexed.
    #[serde(default)]
    pub types: Vec<SpatialType>,
    /// Every other field the service returned (`boundingBox` for geometry), sent back
    /// unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl SpatialIndex {
    /// A spatial index of `types` at `path`.
    pub fn new(path: impl Into<String>, types: impl IntoIterator<Item = SpatialType>) -> Self {
        SpatialIndex {
            path: path.into(),
            types: types.into_iter().collect(),
            other: Map::new(),
        }
    }
}

/// A composite index (`compositeIndexes[]`): an ordered list of paths, each with an order.
/// On the wire it is the bare list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct CompositeIndex {
    /// The paths, in index order; at least two.
    pub paths: Vec<CompositePath>,
}

impl CompositeIndex {
    /// A composite index of `(path, order)` pairs.
    pub fn new<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = (S, CompositeIndexOrder)>,
        S: Into<String>,
    {
        CompositeIndex {
            paths: paths
                .into_iter()
                .map(|(path, order)| CompositePath::new(path, order))
                .collect(),
        }
    }

    fn validate_at(&self, at: &str) -> Result<(), ConfigError> {
        if self.paths.len() < 2 {
            let value = serde_json::to_string(&self.paths).unwrap_or_default();
            return Err(invalid(
                at,
                value,
                "at least two paths (a single-path ORDER BY uses the range index)",
            ));
        }
        for (i, p) in self.paths.iter().enumerate() {
            validate::path(format!("{at}[{i}].path"), &p.path)?;
        }
        Ok(())
    }
}

/// One path of a [`CompositeIndex`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompositePath {
    /// The path (`/name`, no wildcard).
    pub path: String,
    /// The order; absent means ascending, the service default (as .NET's `CompositePath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<CompositeIndexOrder>,
    /// Every other field the service returned, sent back unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl CompositePath {
    /// `path` in `order`.
    pub fn new(path: impl Into<String>, order: CompositeIndexOrder) -> Self {
        CompositePath {
            path: path.into(),
            order: Some(order),
            other: Map::new(),
        }
    }
}

/// Builds an [`IndexingPolicy`], checking it (see [`IndexingPolicy::validate`]).
///
/// Starts from indexing mode consistent and automatic `true`, the service default, as the .NET
/// SDK's `IndexingPolicy` constructor; setting mode `None` without choosing `automatic` makes it
/// `false`, since a container without an index cannot index automatically. Paths are left to
/// the service (which includes `/*`) unless given.
#[derive(Debug, Clone)]
pub struct IndexingPolicyBuilder {
    mode: IndexingMode,
    automatic: Option<bool>,
    policy: IndexingPolicy,
}

impl Default for IndexingPolicyBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl IndexingPolicyBuilder {
    /// The builder [`IndexingPolicy::builder`] returns.
    pub fn new() -> Self {
        IndexingPolicyBuilder {
            mode: IndexingMode::Consistent,
            automatic: None,
            policy: IndexingPolicy::default(),
        }
    }

    /// Sets the indexing mode.
    pub fn indexing_mode(mut self, mode: IndexingMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets whether items are indexed unless they opt out.
    pub fn automatic(mut self, automatic: bool) -> Self {
        self.automatic = Some(automatic);
        self
    }

    /// Includes `path` (`/*`, `/name/?`).
    pub fn include_path(mut self, path: impl Into<String>) -> Self {
        push(&mut self.policy.included_paths, IncludedPath::new(path));
        self
    }

    /// Excludes `path` (`/"_etag"/?`, `/blob/*`).
    pub fn exclude_path(mut self, path: impl Into<String>) -> Self {
        push(&mut self.policy.excluded_paths, ExcludedPath::new(path));
        self
    }

    /// Adds a composite index of `(path, order)` pairs; at least two.
    pub fn composite_index<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = (S, CompositeIndexOrder)>,
        S: Into<String>,
    {
        push(
            &mut self.policy.composite_indexes,
            CompositeIndex::new(paths),
        );
        self
    }

    /// Adds a spatial index of `types` at `path`.
    pub fn spatial_index(
        mut self,
        path: impl Into<String>,
        types: impl IntoIterator<Item = SpatialType>,
    ) -> Self {
        push(
            &mut self.policy.spatial_indexes,
            SpatialIndex::new(path, types),
        );
        self
    }

    /// Adds a vector index; its path must be in the container's vector embedding policy.
    pub fn vector_index(mut self, index: VectorIndex) -> Self {
        push(&mut self.policy.vector_indexes, index);
        self
    }

    /// Adds a full-text index over `path`; the path must be in the container's full-text
    /// policy.
    pub fn full_text_index(mut self, path: impl Into<String>) -> Self {
        push(&mut self.policy.full_text_indexes, FullTextIndex::new(path));
        self
    }

    /// The checked policy.
    pub fn build(self) -> Result<IndexingPolicy, ConfigError> {
        let automatic = self.automatic.unwrap_or(self.mode != IndexingMode::None);
        let policy = IndexingPolicy {
            indexing_mode: Some(self.mode),
            automatic: Some(automatic),
            ..self.policy
        };
        policy.validate()?;
        Ok(policy)
    }
}

fn push<T>(list: &mut Option<Vec<T>>, item: T) {
    list.get_or_insert_with(Vec::new).push(item);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::vector_policy::VectorIndexType;
    use serde_json::json;

    #[test]
    fn wire_names_match_the_sdks() {
        // The JS SDK's vector sample policy (`automatic`, `indexingMode`, composite, spatial,
        // vector) plus the Rust SDK's `deserialize_indexing_policy` paths.
        let policy = IndexingPolicy::builder()
            .include_path("/*")
            .exclude_path("/\"_etag\"/?")
            .composite_index([
                ("/numberField", CompositeIndexOrder::Ascending),
                ("/stringField", CompositeIndexOrder::Descending),
            ])
            .spatial_index("/location/*", [SpatialType::Point, SpatialType::Polygon])
            .vector_index(VectorIndex::new("/vector1", VectorIndexType::Flat))
            .full_text_index("/abstract")
            .build()
            .unwrap();
        assert_eq!(
            serde_json::to_value(&policy).unwrap(),
            json!({
                "indexingMode": "consistent",
                "automatic": true,
                "includedPaths": [{"path": "/*"}],
                "excludedPaths": [{"path": "/\"_etag\"/?"}],
                "compositeIndexes": [[
                    {"path": "/numberField", "order": "ascending"},
                    {"path": "/stringField", "order": "descending"}
                ]],
                "spatialIndexes": [{"path": "/location/*", "types": ["Point", "Polygon"]}],
                "vectorIndexes": [{"path": "/vector1", "type": "flat"}],
                "fullTextIndexes": [{"path": "/abstract"}]
            })
        );
        let spatial = SpatialIndex::new(
            "/g/*",
            [
                SpatialType::Point,
                SpatialType::Polygon,
                SpatialType::MultiPolygon,
                SpatialType::LineString,
            ],
        );
        assert_eq!(
            serde_json::to_value(spatial).unwrap(),
            json!({"path": "/g/*", "types": ["Point", "Polygon", "MultiPolygon", "LineString"]})
        );
        for (mode, wire) in [
            (IndexingMode::Consistent, "consistent"),
            (IndexingMode::Lazy, "lazy"),
            (IndexingMode::None, "none"),
        ] {
            assert_eq!(serde_json::to_value(&mode).unwrap(), json!(wire));
        }
    }

    #[test]
    fn defaults_follow_the_service() {
        let policy = IndexingPolicy::builder().build().unwrap();
        assert_eq!(
            serde_json::to_value(&policy).unwrap(),
            json!({"indexingMode": "consistent", "automatic": true})
        );
        let off = IndexingPolicy::builder()
            .indexing_mode(IndexingMode::None)
            .build()
            .unwrap();
        assert_eq!(
            serde_json::to_value(&off).unwrap(),
            json!({"indexingMode": "none", "automatic": false})
        );
        assert_eq!(IndexingMode::default(), IndexingMode::Consistent);
    }

    #[test]
    fn enum_values_are_read_in_any_case() {
        for wire in ["consistent", "Consistent", "CONSISTENT"] {
            let p: IndexingPolicy = serde_json::from_value(json!({"indexingMode": wire})).unwrap();
            assert_eq!(p.indexing_mode, Some(IndexingMode::Consistent));
        }
        let p: IndexingPolicy = serde_json::from_value(json!({"indexingMode": "Lazy"})).unwrap();
        assert_eq!(p.indexing_mode, Some(IndexingMode::Lazy));
        let p: IndexingPolicy = serde_json::from_value(json!({"indexingMode": "None"})).unwrap();
        assert_eq!(p.indexing_mode, Some(IndexingMode::None));
        let c: CompositePath =
            serde_json::from_value(json!({"path": "/a", "order": "Descending"})).unwrap();
        assert_eq!(c.order, Some(CompositeIndexOrder::Descending));
        let s: SpatialIndex =
            serde_json::from_value(json!({"path": "/a/*", "types": ["point", "LINESTRING"]}))
                .unwrap();
        assert_eq!(s.types, [SpatialType::Point, SpatialType::LineString]);
        // Unknown values are kept verbatim.
        let p: IndexingPolicy =
            serde_json::from_value(json!({"indexingMode": "eventual"})).unwrap();
        assert_eq!(
            p.indexing_mode,
            Some(IndexingMode::Other("eventual".into()))
        );
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"indexingMode": "eventual"})
        );
    }

    #[test]
    fn unknown_fields_round_trip_at_every_level() {
        let wire = json!({
            "indexingMode": "consistent",
            "automatic": true,
            "includedPaths": [
                {"path": "/*", "indexes": [{"kind": "Range", "dataType": "String", "precision": -1}]}
            ],
            "excludedPaths": [{"path": "/\"_etag\"/?", "future": 1}],
            "compositeIndexes": [[{"path": "/a", "order": "ascending", "future": 2}, {"path": "/b"}]],
            "spatialIndexes": [{"path": "/g/*", "types": ["Polygon"],
                "boundingBox": {"xmin": 0, "ymin": 0, "xmax": 10, "ymax": 10}}],
            "vectorIndexes": [],
            "fullTextIndexes": [{"path": "/t", "future": 3}],
            "someFuturePolicyKnob": {"nested": [1, 2, 3]}
        });
        let policy: IndexingPolicy = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(
            policy.composite_indexes.as_ref().unwrap()[0].paths[1].order,
            None
        );
        assert_eq!(policy.vector_indexes, Some(vec![]));
        assert_eq!(serde_json::to_value(&policy).unwrap(), wire);
        let empty: IndexingPolicy = serde_json::from_value(json!({})).unwrap();
        assert_eq!(serde_json::to_value(&empty).unwrap(), json!({}));
    }

    #[test]
    fn builder_validation_names_the_field() {
        let one_path = IndexingPolicy::builder()
            .composite_index([("/a", CompositeIndexOrder::Ascending)])
            .build()
            .unwrap_err();
        match one_path {
            ConfigError::InvalidSetting { name, value, .. } => {
                assert_eq!(name, "indexingPolicy.compositeIndexes[0]");
                assert!(value.contains("/a"), "{value}");
            }
            other => panic!("{other:?}"),
        }
        let cases: [(IndexingPolicyBuilder, &str); 5] = [
            (
                IndexingPolicy::builder().include_path("*"),
                "indexingPolicy.includedPaths[0].path",
            ),
            (
                IndexingPolicy::builder()
                    .include_path("/*")
                    .exclude_path("x/?"),
                "indexingPolicy.excludedPaths[0].path",
            ),
            (
                IndexingPolicy::builder().composite_index([
                    ("/a", CompositeIndexOrder::Ascending),
                    ("b", CompositeIndexOrder::Ascending),
                ]),
                "indexingPolicy.compositeIndexes[0][1].path",
            ),
            (
                IndexingPolicy::builder().spatial_index("", [SpatialType::Point]),
                "indexingPolicy.spatialIndexes[0].path",
            ),
            (
                IndexingPolicy::builder()
                    .full_text_index("/ok")
                    .full_text_index("nope"),
                "indexingPolicy.fullTextIndexes[1].path",
            ),
        ];
        for (builder, field) in cases {
            match builder.build() {
                Err(ConfigError::InvalidSetting { name, .. }) => assert_eq!(name, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        let err = IndexingPolicy::builder()
            .vector_index(VectorIndex::new("v", VectorIndexType::Flat))
            .build()
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("indexingPolicy.vectorIndexes[0].path"),
            "{err}"
        );
    }
}
