//! # sextant-blocking
//!
//! The blocking transport of Sextant, an Azure Cosmos DB driver: the sans-IO core
//! ([`sextant_core`], re-exported as [`core`]) driven over [ureq](https://docs.rs/ureq) 3 and
//! rustls, with no async runtime. Every call runs on the caller's thread.
//!
//! ```no_run
//! use sextant_blocking::models::{AccountReference, ItemReference, PartitionKey};
//! use sextant_blocking::{CosmosDriverRuntime, CosmosOperation};
//!
//! let runtime = CosmosDriverRuntime::builder().build()?;
//! let endpoint = "https://myaccount.documents.azure.com:443/";
//! let account = AccountReference::with_master_key(endpoint, "<key>")?;
//! let driver = runtime.get_or_create_driver(account.clone(), None)?;
//! let item = ItemReference::from_name(account, "db", "container", "item 1");
//! let read = CosmosOperation::read(item).with_partition_key(PartitionKey::from("pk"));
//! let response = driver.execute_operation(read, None)?;
//! println!("{} {} RU", response.status(), response.headers().request_charge());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## In scope
//! Performing the core's actions: one `ureq::Agent` per runtime (keep-alive pool with the
//! [`ConnectionPoolOptions`] limits, connect timeout, rustls with the webpki roots), per-attempt
//! deadlines, the response size cap, honest `request_sent` flags on transport errors
//! (see `error_map.rs`), request events, token acquisition, several attempts in flight at once.
//!
//! ## Out of scope
//! Policy. Retries, failover, timeouts, signing and diagnostics are decided by the core; this
//! crate only performs and reports. HTTP proxies are not used (environment proxy variables are
//! ignored); responses are not decompressed.
//!
//! ## How an operation runs
//! [`CosmosDriver::execute_operation`] follows the core's drain contract: poll, perform, feed back,
//! poll again. The common case — one attempt at a time — runs inline on the caller's thread with
//! the attempt deadline as ureq's timeout. When the core may have several attempts in flight
//! (hedging: a second `Send`, or a wake-up due before the attempt's deadline), attempts run on a
//! small per-runtime pool of reusable threads and their results are multiplexed with the core's
//! timer; aborting one means no longer waiting for it (a blocking call cannot be interrupted, so
//! it ends by its own deadline). Entra ID tokens are acquired on the same pool (the credential's
//! future is polled with `futures_lite::future::block_on`), so a background refresh never delays
//! an operation.
//!
//! # Cargo features
//!
//! - `metrics`: export the driver's metrics to the [`metrics`](https://docs.rs/metrics) facade
//!   (through `sextant-core`'s `metrics-facade`).
//! - `entra`: Entra ID (Azure AD) through any `azure_core` token credential; re-exports
//!   `sextant-entra` as `entra` (`AccountReference::with_credential`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod background;
mod backup;
mod bulk;
mod change_feed;
mod client;
mod driver;
mod error_map;
mod execute;
mod processor;
mod query;
mod resolver;
mod runtime;
mod socket_timeouts;
mod target;
#[cfg(test)]
mod testing;
mod tls;
mod typed;
mod workers;

pub use sextant_core as core;
pub use sextant_core::models;
/// Option types (the seed's `options` module): `DriverOptions`, `RetryOptions`,
/// `TimeoutOptions`, `TelemetryOptions`, `ConnectionPoolOptions` and their builders.
pub use sextant_core::options;
pub use sextant_core::options::HedgingOptions;
pub use sextant_core::{
    AccessToken, ConfigError, ConnectionPoolOptions, CosmosDiagnostics, CosmosError,
    CosmosOperation, CosmosResponse, CredentialError, DriverOptions, ErrorKind, ExecutionContext,
    OperationOptions, RequestDiagnostics, RequestSent, ResponseHeaders, RetryOptions,
    RuntimeOptions, TelemetryOptions, TimeoutOptions, TokenCredential, TransportError,
    TransportErrorKind,
};
/// Entra ID credentials from `azure_core` / `azure_identity` (feature `entra`).
#[cfg(feature = "entra")]
pub use sextant_entra as entra;

pub use bulk::BulkRun;
pub use change_feed::ChangeFeedPager;
pub use driver::CosmosDriver;
pub use processor::ChangeFeedProcessor;
pub use query::QueryPager;
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
pub use typed::{
    ContainerClient, DatabaseClient, TypedAllVersionsFeed, TypedBatch, TypedBulk, TypedBulkRun,
    TypedChangeFeed, TypedFeedPage, TypedItems, TypedPages, TypedQuery,
};
