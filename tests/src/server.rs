//! The local Cosmos DB test server, launched by `sextant-local` (`tests/local/src/server.rs`):
//! re-exported here under the names the tests use.

pub use sextant_local::server::{
    LocalServer, LocalServer as TestServer, ServerOptions, EMULATOR_KEY, SHIMS,
};
