//! # sextant-tokio
//!
//! The tokio transport of Sextant, an Azure Cosmos DB driver: it drives the sans-IO
//! [`sextant_core`] state machine over [reqwest] 0.12 (HTTP/1.1, rustls) on a tokio runtime.
//! Depend on this crate alone: it re-exports the core as [`core`] and the common types at its
//! root.
//!
//! ## In scope
//! Performing the core's actions: sending each signed attempt, reading the response up to the
//! size cap, enforcing the per-attempt deadline, acquiring Entra ID tokens, and reporting every
//! outcome back with an honest [`RequestSent`] flag. Connection pooling (keep-alive, idle limits,
//! connect timeout) and TLS (rustls; the emulator's self-signed certificate only when asked).
//!
//! ## Out of scope
//! Policy. Retries, failover, deadlines across attempts, signing and diagnostics are decided by
//! the core; this crate never re-decides them.
//!
//! ## Example
//! ```no_run
//! use sextant_tokio::models::{AccountReference, ItemReference, PartitionKey};
//! use sextant_tokio::{CosmosDriverRuntime, CosmosOperation};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = CosmosDriverRuntime::builder().build().await?;
//! let account = AccountReference::with_master_key("https://myaccount.documents.azure.com:443/", "a2V5")?;
//! let driver = runtime.get_or_create_driver(account.clone(), None).await?;
//! let item = ItemReference::from_name(account, "db", "container", "item 1");
//! let op = CosmosOperation::read(item).with_partition_key(PartitionKey::from("pk"));
//! let response = driver.execute_operation(op, None).await?;
//! println!("{} RU: {}", response.status(), response.headers().request_charge());
//! # Ok(())
//! # }
//! ```
//!
//! ## The loop
//! [`CosmosDriver::execute_operation`] is the core's drain loop: poll until `Wait` or `Done`,
//! start every `Send` (several attempts of one operation may be in flight at once), drop every
//! `Abort`ed attempt, run token acquisitions, then wait for the first attempt to make progress or
//! for the core's timer, feed the result back and poll again. The driver's mutex is held only
//! inside those feed-and-poll turns, never across I/O or an `.await`.
//!
//! The futures must run on a tokio runtime with the time and I/O drivers enabled (as every
//! reqwest future must).
//!
//! # Cargo features
//!
//! - `metrics`: export the driver's metrics to the [`metrics`](https://docs.rs/metrics) facade
//!   (through `sextant-core`'s `metrics-facade`).
//! - `entra`: Entra ID (Azure AD) through any `azure_core` token credential; re-exports
//!   `sextant-entra` as `entra` (`AccountReference::with_credential`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod attempt;
mod client;
mod driver;
mod error_map;
mod execute;
mod paged;
mod processor;
mod runtime;
mod typed;

pub use sextant_core as core;
/// Option types (the seed's `options` module): `DriverOptions`, `RetryOptions`,
/// `TimeoutOptions`, `TelemetryOptions`, `ConnectionPoolOptions` and their builders.
pub use sextant_core::options;
pub use sextant_core::options::HedgingOptions;
pub use sextant_core::{
    models, AccessToken, ActivityId, ConfigError, ConnectionPoolOptions, CosmosDiagnostics,
    CosmosError, CosmosOperation, CosmosResponse, Credential, CredentialError, DriverOptions,
    ErrorKind, ExecutionContext, OperationKind, OperationOptions, RequestDiagnostics, RequestSent,
    ResourceType, ResponseHeaders, RetryOptions, TelemetryOptions, TimeoutOptions, TokenCredential,
    TransportError, TransportErrorKind,
};
/// Entra ID credentials from `azure_core` / `azure_identity` (feature `entra`).
#[cfg(feature = "entra")]
pub use sextant_entra as entra;

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
pub use sextant_host::typed::TypedFeedPage;
pub use typed::{
    ContainerClient, DatabaseClient, TypedAllVersionsFeed, TypedBatch, TypedBulk, TypedBulkRun,
    TypedBulkStreamRun, TypedChangeFeed, TypedItems, TypedPages, TypedQuery,
};
