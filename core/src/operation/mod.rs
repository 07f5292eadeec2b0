//! Operations and their options.

mod address;
mod body_id;
pub mod control_plane;
pub mod cosmos_operation;
pub mod kind;
pub mod options;
pub mod patch;
pub mod query_spec;
pub mod raw;

pub(crate) use address::Address;
pub use control_plane::ScriptKind;
pub use cosmos_operation::CosmosOperation;
pub(crate) use cosmos_operation::OperationScope;
pub use kind::{OperationKind, ResourceType};
pub use options::OperationOptions;
pub use patch::{PatchBuilder, PatchOperation};
pub use query_spec::QuerySpec;
pub use raw::RawRequest;
