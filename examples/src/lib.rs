//! **Set-up for the examples, not part of what you copy.** It decides where an example runs and
//! names its scratch database; everything else in each example uses only the public crates
//! (`sextant-tokio`, `sextant-blocking`, `sextant-async-std`, `sextant-core`, `serde`).
//!
//! - With `COSMOS_ENDPOINT` and `COSMOS_KEY` set, an example runs against that account (what an
//!   application does: read its endpoint and key from its configuration).
//! - Otherwise it starts a local endpoint on loopback for the duration of the program, with the
//!   unpublished `sextant-local` crate: `@vercel/cosmosdb-server` over HTTPS ([`target`]), or
//!   the multi-partition test gateway over HTTP ([`target_with_control_plane`]). Both need
//!   Node.js >= 20 and npm; they install their pinned npm packages on first use.

use sextant_local::gateway::LocalGateway;
use sextant_local::server::{LocalServer, EMULATOR_KEY};

/// Where an example runs: an endpoint and its key.
pub struct Target {
    /// The account endpoint, e.g. `https://myaccount.documents.azure.com:443/`.
    pub endpoint: String,
    /// The account key.
    pub key: String,
    /// True for a local endpoint: the local server's certificate is self-signed, so the example
    /// accepts it (`emulator_server_cert_validation_disabled`), never a real account's.
    pub local: bool,
    /// Keeps the local server (if any) running until dropped.
    _server: Option<LocalServer>,
    /// Keeps the local gateway (if any) running until dropped.
    _gateway: Option<LocalGateway>,
}

/// The real account of `COSMOS_ENDPOINT` and `COSMOS_KEY`, when both are set.
fn account_from_env() -> Option<Target> {
    let endpoint = std::env::var("COSMOS_ENDPOINT").ok()?;
    let key = std::env::var("COSMOS_KEY").ok()?;
    Some(Target {
        endpoint,
        key,
        local: false,
        _server: None,
        _gateway: None,
    })
}

/// Reads `COSMOS_ENDPOINT` and `COSMOS_KEY`; when unset, starts a local server and uses its
/// HTTPS endpoint.
pub fn target() -> Result<Target, Box<dyn std::error::Error>> {
    if let Some(target) = account_from_env() {
        return Ok(target);
    }
    let server = LocalServer::try_start()?;
    let endpoint = server.https_endpoint().to_owned();
    println!("COSMOS_ENDPOINT/COSMOS_KEY not set: using a local server at {endpoint}");
    Ok(Target {
        endpoint,
        key: EMULATOR_KEY.to_owned(),
        local: true,
        _server: Some(server),
        _gateway: None,
    })
}

/// Like [`target`], but locally it starts the multi-partition test gateway (plain HTTP on
/// loopback), which also serves what the local server lacks: offers, users, permissions with
/// resource-token checks, stored procedures and triggers.
pub fn target_with_control_plane() -> Result<Target, Box<dyn std::error::Error>> {
    if let Some(target) = account_from_env() {
        return Ok(target);
    }
    let gateway = LocalGateway::try_start(2)?;
    let endpoint = gateway.endpoint().to_owned();
    println!("COSMOS_ENDPOINT/COSMOS_KEY not set: using the local test gateway at {endpoint}");
    Ok(Target {
        endpoint,
        key: EMULATOR_KEY.to_owned(),
        local: true,
        _server: None,
        _gateway: Some(gateway),
    })
}

/// A database name unlikely to collide with earlier runs against a real account.
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}
