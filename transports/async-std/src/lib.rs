//! # sextant-async-std
//!
//! The Sextant Azure Cosmos DB driver for **async-std and smol**: the sans-IO
//! [`sextant_core`] driven over hyper 1 (HTTP/1.1) with futures-rustls.
//!
//! async-std is discontinued upstream, so this crate depends on neither async-std nor smol:
//! sockets come from `async-net` and timers from `async-io`, the reactor both runtimes are built
//! on. The same driver therefore runs under `async_std::task::block_on`/`spawn`,
//! `smol::block_on`/`smol::Executor`, or a bare `futures_lite::future::block_on`. It never
//! spawns: each operation's future drives its own attempts and connections.
//!
//! ## In scope
//! Performing the core's actions: HTTP/1.1 with keep-alive pooling (idle connections per
//! scheme/host/port, bounded in count and age), TCP/TLS connect with a timeout, TLS with rustls
//! (`ring`) and the webpki roots, per-attempt deadlines, response-size caps, honest
//! `request_sent` reporting, token acquisition, environment variables (`AZURE_COSMOS_*`).
//!
//! ## Out of scope
//! Policy. Retries, failover, hedging, signing, caches and diagnostics live in the core; this
//! crate reports exactly what happened and lets the core decide. HTTP/2 and proxies are not
//! supported.
//!
//! ## Usage
//! ```no_run
//! use sextant_async_std::models::{AccountReference, ContainerReference, ItemReference, PartitionKey};
//! use sextant_async_std::{CosmosDriverRuntime, CosmosOperation};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! async_std::task::block_on(async {
//!     let runtime = CosmosDriverRuntime::builder().build().await?;
//!     let account = AccountReference::with_master_key("https://myaccount.documents.azure.com:443/", "a2V5")?;
//!     let driver = runtime.get_or_create_driver(account.clone(), None).await?;
//!
//!     let container = ContainerReference::from_name(account, "db", "c");
//!     let create = CosmosOperation::create(container.clone())
//!         .with_partition_key(PartitionKey::from("pk1"))
//!         .with_body(r#"{"id":"item 1","pk":"pk1"}"#);
//!     driver.execute_operation(create, None).await?;
//!
//!     let read = CosmosOperation::read(ItemReference::in_container(&container, "item 1"))
//!         .with_partition_key(PartitionKey::from("pk1"));
//!     let response = driver.execute_operation(read, None).await?;
//!     println!("{} RU, {:?}", response.diagnostics().total_request_charge(), response.diagnostics().elapsed());
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })
//! // The same future runs under smol: `smol::block_on(async { ... })`.
//! # }
//! ```
//!
//! ## How an operation runs
//! [`CosmosDriver::execute_operation`] follows the core's drain contract: it polls the
//! execution, starts an attempt future for every `Send` (reporting `TransportStart`), drops it
//! on `Abort`, runs the credential on `AcquireToken`, and on `Wait` polls all in-flight futures
//! together with a timer for `until`. Several attempts of one execution (hedges) can be in
//! flight at once. The core's lock is taken for each call and never held across an `.await`.
//!
//! ## `request_sent`
//! Exact, from byte counters on each connection: `NotSent` until a request byte was written
//! (DNS, connect, TLS, connect timeout, a stale pooled connection), `Unknown` after that, `Sent`
//! once response bytes arrived. A pooled connection that turns out closed before anything was
//! written is replaced transparently by another connection.
//!
//! # Cargo features
//!
//! - `metrics`: export the driver's metrics to the [`metrics`](https://docs.rs/metrics) facade
//!   (through `sextant-core`'s `metrics-facade`).
//! - `entra`: Entra ID (Azure AD) through any `azure_core` token credential; re-exports
//!   `sextant-entra` as `entra` (`AccountReference::with_credential`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod connection;
mod connector;
mod deadline;
mod driver;
mod error_map;
mod execute;
mod io;
mod paged;
mod pool;
mod processor;
mod runtime;
mod tcp;
mod tls;
mod typed;

pub use driver::CosmosDriver;
pub use paged::{BulkRun, BulkStreamRun, ChangeFeedPager, QueryPager};
pub use processor::ChangeFeedProcessor;
pub use runtime::{CosmosDriverRuntime, CosmosDriverRuntimeBuilder};
pub use sextant_core::changefeed::processor::requests::{LeaseLag, ESTIMATE_CAP};
pub use sextant_core::typed::{
    ChangeFeedItem, ChangeFeedMetadata, ChangeFeedOperationType, ItemResponse, TypedBulkOperation,
    TypedBulkResponse, TypedBulkResult, TypedPage,
};
pub use sextant_core::{
    BatchOperationResult, BatchResponse, BulkBuilder, BulkOperation, BulkProgress, BulkResult,
    ChangeFeedMode, ChangeFeedPage, ChangeFeedStart, PatchBuilder, PatchOperation, QueryPage,
    QuerySpec, ReadManyResponse, TransactionalBatch,
};
/// Entra ID credentials from `azure_core` / `azure_identity` (feature `entra`).
#[cfg(feature = "entra")]
pub use sextant_entra as entra;
pub use sextant_host::typed::TypedFeedPage;
pub use typed::{
    ContainerClient, DatabaseClient, TypedAllVersionsFeed, TypedBatch, TypedBulk, TypedBulkRun,
    TypedBulkStreamRun, TypedChangeFeed, TypedItems, TypedPages, TypedQuery,
};

pub use sextant_core as core;
/// Option types (the seed's `options` module): `DriverOptions`, `RetryOptions`,
/// `TimeoutOptions`, `TelemetryOptions`, `ConnectionPoolOptions` and their builders.
pub use sextant_core::options;
pub use sextant_core::{
    models, AccessToken, ConfigError, ConnectionPoolOptions, CosmosDiagnostics, CosmosError,
    CosmosOperation, CosmosResponse, CredentialError, DriverOptions, ErrorKind, OperationOptions,
    RequestDiagnostics, RequestSent, ResponseHeaders, RetryOptions, RuntimeOptions,
    TelemetryOptions, TimeoutOptions, TokenCredential, TransportError, TransportErrorKind,
};

#[cfg(test)]
mod send_tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_and_futures_are_send() {
        assert_send_sync::<CosmosDriverRuntime>();
        assert_send_sync::<CosmosDriver>();
        let builder = CosmosDriverRuntime::builder();
        assert_send(&builder.clone().build());
        // Build a driver without I/O to check the operation future's bounds.
        let runtime =
            futures_lite::future::block_on(builder.environment(Default::default()).build())
                .unwrap();
        let account =
            models::AccountReference::with_master_key("http://127.0.0.1:1/", "a2V5").unwrap();
        let driver =
            futures_lite::future::block_on(runtime.get_or_create_driver(account.clone(), None))
                .unwrap();
        let fut = driver.execute_operation(CosmosOperation::read_account(account.clone()), None);
        assert_send(&fut);
        // The paged runs, written once in `sextant_host::paged`, keep their futures `Send`.
        let container = models::ContainerReference::from_name(account, "db", "c");
        let query = CosmosOperation::query(container.clone(), QuerySpec::new("SELECT * FROM c"));
        let mut pager = driver.query(query, None).unwrap();
        assert_send(&pager.next_page());
        let feed = CosmosOperation::change_feed(
            container.clone(),
            ChangeFeedMode::LatestVersion,
            ChangeFeedStart::Beginning,
        );
        let mut feed = driver.change_feed(feed, None).unwrap();
        assert_send(&feed.next_page());
        let ops: Vec<(u32, BulkOperation)> = Vec::new();
        let mut bulk = driver.bulk(BulkBuilder::new(container), ops);
        assert_send(&bulk.next_results());
    }
}
