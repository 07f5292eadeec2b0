//! A local Cosmos DB-compatible endpoint on loopback, for development: examples, tests and
//! benchmarks start one when no real account is configured.
//!
//! - [`server::LocalServer`] runs the pinned
//!   [`@vercel/cosmosdb-server`](https://github.com/vercel/cosmosdb-server) (`tests/server`)
//!   with one HTTP and one HTTPS listener on ephemeral `127.0.0.1` ports.
//! - [`gateway::LocalGateway`] runs the multi-partition test gateway (`tests/gateway`): N
//!   in-process server stores served as N partition key ranges over plain HTTP, plus what the
//!   server lacks (offers, users and permissions, scripts).
//!
//! Both install their npm dependencies on first use (Node.js >= 20 and npm on `PATH`), come up
//! within a bounded time or fail with an actionable message, and stop when dropped. Any key
//! signs requests for them; [`server::EMULATOR_KEY`] is the conventional one.
//!
//! This crate is development tooling and is not published: an application that talks to a real
//! account never needs it.
//!
//! ```no_run
//! let server = sextant_local::server::LocalServer::try_start()?;
//! println!("{} (key {})", server.https_endpoint(), sextant_local::server::EMULATOR_KEY);
//! # Ok::<(), String>(())
//! ```

use std::path::{Path, PathBuf};

pub mod gateway;
pub mod server;
pub mod spawn;

/// The repository's root directory (`tests/server`, `tests/gateway` and `scripts/` live under
/// it): two levels above this crate (`<repo>/tests/local`).
pub fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .nth(2)
        .unwrap_or(manifest_dir)
        .to_path_buf()
}
