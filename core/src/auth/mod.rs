//! Request authorization: master-key signing (PROTOCOL.md §1), the resource type and link that
//! are signed, and the percent-encoding rules the header and the URL path use.

pub mod encode;
pub mod master_key;
pub mod resource_link;

pub use encode::{encode_path_segment, encode_uri_component, push_path_segment};
pub use master_key::{sign_master_key, string_to_sign, MasterKey};
pub use resource_link::{resource_type_and_link, ResourceAddress};

/// Why a credential or a request could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The master key is empty or not standard base64 (`A-Z a-z 0-9 + /`, with `=` padding).
    /// The reason never contains key material.
    #[error("invalid master key: {reason}")]
    InvalidMasterKey {
        /// What is wrong with the key (position and kind of the problem, never the key itself).
        reason: String,
    },
    /// A request path from which the signed resource type and link could not be derived.
    #[error("invalid resource path {path:?}: {reason}")]
    InvalidPath {
        /// The path as it was given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}
