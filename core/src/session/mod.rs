//! Session tokens (V1 and V2): parsing, merging with false-progress protection, and the
//! per-container store (PROTOCOL.md §5).
//!
//! * [`SessionTokenValue`] / [`VectorSessionToken`]: one token, with the SDKs' merge and
//!   `is_as_recent_as`.
//! * [`SessionToken`] / [`SessionTokenHeader`]: `<pkRangeId>:<token>` entries and the
//!   comma-separated `x-ms-session-token` header, bounded ([`MAX_HEADER_LEN`], [`MAX_ENTRIES`]).
//! * [`SessionContainer`]: tokens per container and range, captured from responses and
//!   looked up for requests, with the parent fallback after a split.

mod container;
mod error;
mod header;
mod token;

pub use container::{SessionContainer, DEFAULT_MAX_CONTAINERS, DEFAULT_MAX_RANGES_PER_CONTAINER};
pub use error::{SessionTokenError, SessionTokenField};
pub use header::{SessionToken, SessionTokenHeader, MAX_ENTRIES, MAX_HEADER_LEN};
pub use token::{SessionTokenValue, VectorSessionToken, MAX_REGIONS};
