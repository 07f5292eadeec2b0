//! Vector search: the container's vector embedding policy and the vector indexes of its
//! indexing policy.
//!
//! Wire names as the official SDKs write them: `vectorEmbeddingPolicy.vectorEmbeddings[]` with
//! `path`, `dataType`, `dimensions`, `distanceFunction` (.NET `Embedding`, JS
//! `VectorEmbeddingPolicy.ts`, Rust `azure_data_cosmos` `VectorEmbedding`), and
//! `indexingPolicy.vectorIndexes[]` with `path`, `type` and the DiskANN/quantized-flat tuning
//! fields (.NET `VectorIndexPath`, Rust `VectorIndex`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ConfigError;
use crate::models::validate::{self, invalid};
use crate::models::wire_enum::wire_enum;

wire_enum! {
    /// The element type of stored vectors (`dataType`): the values of the .NET SDK's
    /// `VectorDataType` (`float16`, `float32`, `uint8`, `int8`).
    pub enum VectorDataType {
        /// 32-bit floats: `float32`.
        Float32 = "float32",
        /// 16-bit floats: `float16`.
        Float16 = "float16",
        /// Unsigned bytes: `uint8`.
        Uint8 = "uint8",
        /// Signed bytes: `int8`.
        Int8 = "int8",
    }
}

wire_enum! {
    /// How vector similarity is measured (`distanceFunction`): the .NET SDK's
    /// `DistanceFunction` values.
    pub enum VectorDistanceFunction {
        /// Cosine similarity: `cosine`.
        Cosine = "cosine",
        /// Dot product: `dotproduct` (one word, as the SDKs write it).
        DotProduct = "dotproduct",
        /// Euclidean distance: `euclidean`.
        Euclidean = "euclidean",
    }
}

wire_enum! {
    /// The kind of a vector index (`type`): the .NET SDK's `VectorIndexType` values.
    pub enum VectorIndexType {
        /// Exact search over full vectors: `flat`.
        Flat = "flat",
        /// Exact search over quantized vectors: `quantizedFlat`.
        QuantizedFlat = "quantizedFlat",
        /// Approximate search with DiskANN: `diskANN`.
        DiskAnn = "diskANN",
    }
}

/// The container's vector embedding policy: which paths hold vectors, and their shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorEmbeddingPolicy {
    /// One entry per vector path (`vectorEmbeddings`).
    #[serde(rename = "vectorEmbeddings", default)]
    pub vector_embeddings: Vec<VectorEmbedding>,
    /// Every other field the service returned, sent back unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl VectorEmbeddingPolicy {
    /// A policy with these embeddings.
    pub fn new(vector_embeddings: impl IntoIterator<Item = VectorEmbedding>) -> Self {
        VectorEmbeddingPolicy {
            vector_embeddings: vector_embeddings.into_iter().collect(),
            other: Map::new(),
        }
    }

    /// Checks each embedding: a path starting with `/` (as .NET's `VectorEmbeddingPolicy`
    /// does) and at least one dimension. Errors name the field
    /// (`vectorEmbeddingPolicy.vectorEmbeddings[0].dimensions`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (i, e) in self.vector_embeddings.iter().enumerate() {
            let at = format!("vectorEmbeddingPolicy.vectorEmbeddings[{i}]");
            validate::path(format!("{at}.path"), &e.path)?;
            if e.dimensions == 0 {
                return Err(invalid(
                    format!("{at}.dimensions"),
                    "0",
                    "at least one dimension",
                ));
            }
        }
        Ok(())
    }

    /// `true` when `path` is declared by one of the embeddings.
    pub fn declares(&self, path: &str) -> bool {
        self.vector_embeddings.iter().any(|e| e.path == path)
    }
}

/// One vector path of a [`VectorEmbeddingPolicy`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorEmbedding {
    /// The path holding the vector (`/embedding`).
    pub path: String,
    /// The element type (`dataType`).
    #[serde(rename = "dataType")]
    pub data_type: VectorDataType,
    /// The number of elements of each vector.
    pub dimensions: u32,
    /// The similarity measure (`distanceFunction`).
    #[serde(rename = "distanceFunction")]
    pub distance_function: VectorDistanceFunction,
    /// Every other field the service returned (`embeddingSource`, ...), sent back unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl VectorEmbedding {
    /// An embedding at `path`.
    pub fn new(
        path: impl Into<String>,
        data_type: VectorDataType,
        dimensions: u32,
        distance_function: VectorDistanceFunction,
    ) -> Self {
        VectorEmbedding {
            path: path.into(),
            data_type,
            dimensions,
            distance_function,
            other: Map::new(),
        }
    }
}

/// A vector index in the indexing policy (`vectorIndexes[]`). Its path must be declared in the
/// container's [`VectorEmbeddingPolicy`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorIndex {
    /// The indexed vector path.
    pub path: String,
    /// The index kind (`type`).
    #[serde(rename = "type")]
    pub index_type: VectorIndexType,
    /// Bytes per quantized vector (`quantizationByteSize`), for `quantizedFlat` and `diskANN`;
    /// absent lets the service choose.
    #[serde(
        rename = "quantizationByteSize",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub quantization_byte_size: Option<u32>,
    /// Candidate list size while building a `diskANN` index (`indexingSearchListSize`); absent
    /// lets the service choose.
    #[serde(
        rename = "indexingSearchListSize",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub indexing_search_list_size: Option<u32>,
    /// Paths whose values shard the index (`vectorIndexShardKey`); absent when not sharded.
    #[serde(
        rename = "vectorIndexShardKey",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub vector_index_shard_key: Option<Vec<String>>,
    /// Every other field the service returned (`quantizerType`, ...), sent back unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl VectorIndex {
    /// An index of `index_type` over `path`, with the service's default tuning.
    pub fn new(path: impl Into<String>, index_type: VectorIndexType) -> Self {
        VectorIndex {
            path: path.into(),
            index_type,
            quantization_byte_size: None,
            indexing_search_list_size: None,
            vector_index_shard_key: None,
            other: Map::new(),
        }
    }

    pub(crate) fn validate_at(&self, at: &str) -> Result<(), ConfigError> {
        validate::path(format!("{at}.path"), &self.path)?;
        for (i, p) in self.vector_index_shard_key.iter().flatten().enumerate() {
            validate::path(format!("{at}.vectorIndexShardKey[{i}]"), p)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn embedding_wire_names_match_the_sdks() {
        let policy = VectorEmbeddingPolicy::new([
            VectorEmbedding::new(
                "/vector1",
                VectorDataType::Float32,
                8,
                VectorDistanceFunction::Cosine,
            ),
            VectorEmbedding::new(
                "/vector2",
                VectorDataType::Uint8,
                400,
                VectorDistanceFunction::DotProduct,
            ),
            VectorEmbedding::new(
                "/vector3",
                VectorDataType::Int8,
                3,
                VectorDistanceFunction::Euclidean,
            ),
            VectorEmbedding::new(
                "/vector4",
                VectorDataType::Float16,
                3,
                VectorDistanceFunction::Cosine,
            ),
        ]);
        assert_eq!(
            serde_json::to_value(&policy).unwrap(),
            json!({"vectorEmbeddings": [
                {"path": "/vector1", "dataType": "float32", "dimensions": 8, "distanceFunction": "cosine"},
                {"path": "/vector2", "dataType": "uint8", "dimensions": 400, "distanceFunction": "dotproduct"},
                {"path": "/vector3", "dataType": "int8", "dimensions": 3, "distanceFunction": "euclidean"},
                {"path": "/vector4", "dataType": "float16", "dimensions": 3, "distanceFunction": "cosine"},
            ]})
        );
        policy.validate().unwrap();
    }

    #[test]
    fn index_wire_names_match_the_sdks() {
        // The .NET `VectorIndexPath` doc example and the JS vector sample's tuning fields.
        let mut disk = VectorIndex::new("/vector3", VectorIndexType::DiskAnn);
        disk.quantization_byte_size = Some(2);
        disk.indexing_search_list_size = Some(50);
        disk.vector_index_shard_key = Some(vec!["/ZipCode".into()]);
        let indexes = [
            VectorIndex::new("/vector1", VectorIndexType::Flat),
            VectorIndex::new("/vector2", VectorIndexType::QuantizedFlat),
            disk,
        ];
        assert_eq!(
            serde_json::to_value(indexes).unwrap(),
            json!([
                {"path": "/vector1", "type": "flat"},
                {"path": "/vector2", "type": "quantizedFlat"},
                {"path": "/vector3", "type": "diskANN", "quantizationByteSize": 2,
                 "indexingSearchListSize": 50, "vectorIndexShardKey": ["/ZipCode"]},
            ])
        );
    }

    #[test]
    fn unknown_values_and_fields_round_trip() {
        let wire = json!({
            "vectorEmbeddings": [{
                "path": "/v", "dataType": "bfloat16", "dimensions": 4,
                "distanceFunction": "hamming", "embeddingSource": {"modelName": "m"}
            }],
            "someFutureKnob": true
        });
        let policy: VectorEmbeddingPolicy = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(
            policy.vector_embeddings[0].data_type,
            VectorDataType::Other("bfloat16".into())
        );
        assert_eq!(serde_json::to_value(&policy).unwrap(), wire);

        let index = json!({"path": "/v", "type": "futureIndex", "quantizerType": "product"});
        let parsed: VectorIndex = serde_json::from_value(index.clone()).unwrap();
        assert_eq!(
            parsed.index_type,
            VectorIndexType::Other("futureIndex".into())
        );
        assert_eq!(serde_json::to_value(&parsed).unwrap(), index);
    }

    #[test]
    fn values_are_read_in_any_case() {
        let e: VectorEmbedding = serde_json::from_value(json!({
            "path": "/v", "dataType": "Float32", "dimensions": 4, "distanceFunction": "DotProduct"
        }))
        .unwrap();
        assert_eq!(e.data_type, VectorDataType::Float32);
        assert_eq!(e.distance_function, VectorDistanceFunction::DotProduct);
        let i: VectorIndex =
            serde_json::from_value(json!({"path": "/v", "type": "DiskANN"})).unwrap();
        assert_eq!(i.index_type, VectorIndexType::DiskAnn);
        assert_eq!(
            VectorIndexType::from_wire("QUANTIZEDFLAT"),
            VectorIndexType::QuantizedFlat
        );
    }

    #[test]
    fn validation_names_the_field() {
        let zero = VectorEmbeddingPolicy::new([VectorEmbedding::new(
            "/v",
            VectorDataType::Float32,
            0,
            VectorDistanceFunction::Cosine,
        )]);
        match zero.validate() {
            Err(ConfigError::InvalidSetting { name, value, .. }) => {
                assert_eq!(name, "vectorEmbeddingPolicy.vectorEmbeddings[0].dimensions");
                assert_eq!(value, "0");
            }
            other => panic!("{other:?}"),
        }
        let no_slash = VectorEmbeddingPolicy::new([VectorEmbedding::new(
            "v",
            VectorDataType::Float32,
            3,
            VectorDistanceFunction::Cosine,
        )]);
        let err = no_slash.validate().unwrap_err().to_string();
        assert!(
            err.contains("vectorEmbeddingPolicy.vectorEmbeddings[0].path"),
            "{err}"
        );
    }
}
