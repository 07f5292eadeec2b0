//! Resource references, partition keys and typed metadata.

pub mod account_properties;
pub mod account_reference;
pub mod consistency;
pub mod container_properties;
pub mod partition_key;
pub mod references;
pub mod resource_id;
pub mod scripts;
pub mod security;
pub mod throughput;

pub use account_properties::{AccountProperties, AccountRegion};
pub use account_reference::AccountReference;
pub use consistency::ConsistencyLevel;
pub use container_properties::{
    ContainerProperties, DatabaseProperties, PartitionKeyDefinition, PartitionKeyKind,
};
pub use partition_key::{PartitionKey, PartitionKeyValue};
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
