//! Operations and their options.

pub mod cosmos_operation;
pub mod kind;
pub mod options;
pub mod query_spec;

pub use cosmos_operation::CosmosOperation;
pub use kind::{OperationKind, ResourceType};
pub use options::OperationOptions;
pub use query_spec::QuerySpec;
