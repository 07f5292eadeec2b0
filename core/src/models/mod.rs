//! Resource references, partition keys and typed metadata.
//!
//! Container metadata is typed down to each policy ([`ContainerProperties`], [`IndexingPolicy`],
//! [`UniqueKeyPolicy`], [`ConflictResolutionPolicy`], [`VectorEmbeddingPolicy`],
//! [`FullTextPolicy`], [`ComputedProperty`], [`DefaultTimeToLive`]), with the wire names of the
//! official SDKs. Each level keeps the fields it does not model, so what is read from the service
//! is written back unchanged; builders check what the service would refuse and return a
//! [`ConfigError`](crate::error::ConfigError) naming the field.

pub mod account_properties;
pub mod account_reference;
pub mod computed_property;
pub mod conflict_resolution;
pub mod consistency;
pub mod container_properties;
pub mod full_text_policy;
pub mod indexing_policy;
pub mod partition_key;
pub mod partition_key_definition;
pub mod references;
pub mod resource_id;
pub mod scripts;
pub mod security;
pub mod throughput;
pub mod time_to_live;
pub mod unique_key_policy;
mod validate;
pub mod vector_policy;
mod wire_enum;

pub use account_properties::{AccountProperties, AccountRegion};
pub use account_reference::AccountReference;
pub use computed_property::ComputedProperty;
pub use conflict_resolution::{
    ConflictResolutionMode, ConflictResolutionPolicy, ConflictResolutionPolicyBuilder,
};
pub use consistency::ConsistencyLevel;
pub use container_properties::{
    ContainerProperties, ContainerPropertiesBuilder, DatabaseProperties,
};
pub use full_text_policy::{FullTextIndex, FullTextPath, FullTextPolicy};
pub use indexing_policy::{
    CompositeIndex, CompositeIndexOrder, CompositePath, ExcludedPath, IncludedPath, IndexingMode,
    IndexingPolicy, IndexingPolicyBuilder, SpatialIndex, SpatialType,
};
pub use partition_key::{PartitionKey, PartitionKeyValue};
pub use partition_key_definition::{
    PartitionKeyDefinition, PartitionKeyDefinitionBuilder, PartitionKeyKind,
};
pub use references::{
    ContainerReference, CosmosResourceReference, DatabaseReference, ItemReference,
};
pub use resource_id::{validate_resource_id, ResourceIdKind};
pub use scripts::{
    StoredProcedureProperties, TriggerOperation, TriggerProperties, TriggerType,
    UserDefinedFunctionProperties,
};
pub use security::{PermissionMode, PermissionProperties, UserProperties};
pub use throughput::{
    AutoscaleSettings, Offer, OfferContent, ThroughputProperties, ThroughputPropertiesBuilder,
};
pub use time_to_live::DefaultTimeToLive;
pub use unique_key_policy::{UniqueKey, UniqueKeyPolicy};
pub use vector_policy::{
    VectorDataType, VectorDistanceFunction, VectorEmbedding, VectorEmbeddingPolicy, VectorIndex,
    VectorIndexType,
};
