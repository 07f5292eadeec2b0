//! Shared set-up for the quickstarts: a real account from `COSMOS_ENDPOINT` and `COSMOS_KEY`, or
//! a local `@vercel/cosmosdb-server` started on loopback for the duration of the program.

use sextant_core::models::AccountReference;
use sextant_tests::gateway::TestGateway;
use sextant_tests::server::{TestServer, EMULATOR_KEY};

/// Where a quickstart runs.
pub struct Target {
    /// The account to use.
    pub account: AccountReference,
    /// True when the local server (self-signed certificate) is used.
    pub local: bool,
    /// Keeps the local server alive until dropped.
    pub server: Option<TestServer>,
    /// Keeps the local test gateway alive until dropped ([`target_with_control_plane`]).
    pub gateway: Option<TestGateway>,
}

/// Reads `COSMOS_ENDPOINT` and `COSMOS_KEY`; when unset, starts a local server and uses its
/// HTTPS endpoint.
pub fn target() -> Result<Target, Box<dyn std::error::Error>> {
    match (
        std::env::var("COSMOS_ENDPOINT"),
        std::env::var("COSMOS_KEY"),
    ) {
        (Ok(endpoint), Ok(key)) => Ok(Target {
            account: AccountReference::with_master_key(&endpoint, &key)?,
            local: false,
            server: None,
            gateway: None,
        }),
        _ => {
            let server = TestServer::start();
            let account = AccountReference::with_master_key(server.https_endpoint(), EMULATOR_KEY)?;
            println!(
                "COSMOS_ENDPOINT/COSMOS_KEY not set: using a local server at {}",
                server.https_endpoint()
            );
            Ok(Target {
                account,
                local: true,
                server: Some(server),
                gateway: None,
            })
        }
    }
}

/// Like [`target`], but locally it starts the multi-partition test gateway (plain HTTP on
/// loopback), which also serves what the local server lacks: offers, users, permissions with
/// resource-token checks, stored procedures and triggers.
pub fn target_with_control_plane() -> Result<Target, Box<dyn std::error::Error>> {
    if std::env::var("COSMOS_ENDPOINT").is_ok() && std::env::var("COSMOS_KEY").is_ok() {
        return target();
    }
    let gateway = TestGateway::start(2);
    let account = AccountReference::with_master_key(gateway.endpoint(), EMULATOR_KEY)?;
    println!(
        "COSMOS_ENDPOINT/COSMOS_KEY not set: using the local test gateway at {}",
        gateway.endpoint()
    );
    Ok(Target {
        account,
        local: true,
        server: None,
        gateway: Some(gateway),
    })
}

/// A name unlikely to collide with earlier runs against a real account.
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}
