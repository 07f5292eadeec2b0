//! Operations and their options.

pub mod cosmos_operation;
pub mod kind;
pub mod options;
pub mod patch;
pub mod query_spec;

pub use cosmos_operation::CosmosOperation;
pub use kind::{OperationKind, ResourceType};
pub use options::OperationOptions;
pub use patch::{PatchBuilder, PatchOperation};
pub use query_spec::QuerySpec;
