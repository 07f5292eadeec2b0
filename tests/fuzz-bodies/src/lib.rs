//! Fuzz target bodies, shared by the cargo-fuzz targets in `fuzz/` (nightly, libFuzzer) and by
//! `tests/fuzz-bodies/tests/fuzz_corpus.rs`, which replays every committed corpus file on stable.
//!
//! Each target is a plain function over raw bytes. Structured inputs are decoded by hand with
//! [`ByteReader`] (no `arbitrary` in the core's dependency tree). A target returns
//! `Err(`[`Violation`]`)` when a property it checks is broken; a panic inside the core is a
//! finding by itself. The core never reads a clock, so the [`execution()`] and [`recording`]
//! targets take the base [`std::time::Instant`] of their virtual clock from the caller.
//!
//! Not part of the driver's API: hidden from the docs, and free to change with the targets.

mod account;
mod change_feed;
mod control_plane;
mod environment;
pub mod execution;
mod headers;
mod partition_key;
mod pk_ranges;
mod query;
mod reader;
mod recording;
mod session;

use std::fmt;
use std::time::Instant;

pub use account::account_properties;
pub use change_feed::change_feed_token;
pub use control_plane::{container_properties, throughput_flow};
pub use environment::environment;
pub use execution::{execution, ExecutionReport};
pub use headers::response_headers;
pub use partition_key::partition_key;
pub use pk_ranges::pk_ranges;
pub use query::{feed_token, query_page, query_plan};
pub use reader::{ByteReader, ByteWriter};
pub use recording::recording;
pub use session::session_token;

/// The target names, as the `fuzz/` crate and the `fuzz/corpus/<target>/` folders spell them.
pub const TARGETS: [&str; 14] = [
    "response_headers",
    "account_properties",
    "session_token",
    "pk_ranges",
    "partition_key",
    "environment",
    "execution",
    "recording",
    "query_plan",
    "query_page",
    "feed_token",
    "change_feed_token",
    "container_properties",
    "throughput_flow",
];

/// A property a target checks did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The target that found it.
    pub target: &'static str,
    /// What went wrong, with the values involved.
    pub message: String,
}

impl Violation {
    pub(crate) fn new(target: &'static str, message: String) -> Self {
        Violation { target, message }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fuzz target {}: {}", self.target, self.message)
    }
}

impl std::error::Error for Violation {}

/// Returns `Err(Violation)` from the enclosing target unless `cond` holds.
macro_rules! ensure {
    ($target:expr, $cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::Violation::new($target, format!($($msg)+)));
        }
    };
}
pub(crate) use ensure;

/// Runs target `name` on `data`; `None` for an unknown name. `base` anchors the virtual clock
/// of the [`execution()`] and [`recording`] targets (the caller reads the real clock once; the
/// core never does).
///
/// Every bug these targets found is fixed; its input is kept in `fuzz/corpus/<target>/`
/// (defined in `fixed()` of `tests/fuzz-bodies/tests/fuzz_corpus.rs`).
pub fn run(name: &str, data: &[u8], base: Instant) -> Option<Result<(), Violation>> {
    Some(match name {
        "response_headers" => response_headers(data),
        "account_properties" => account_properties(data),
        "session_token" => session_token(data),
        "pk_ranges" => pk_ranges(data),
        "partition_key" => partition_key(data),
        "environment" => environment(data),
        "execution" => execution::execution(data, base).map(|_| ()),
        "recording" => recording(data, base),
        "query_plan" => query_plan(data),
        "query_page" => query_page(data),
        "feed_token" => feed_token(data),
        "change_feed_token" => change_feed_token(data),
        "container_properties" => container_properties(data),
        "throughput_flow" => throughput_flow(data),
        _ => return None,
    })
}
