//! # sextant-core
//!
//! The sans-IO protocol core of Sextant, an Azure Cosmos DB driver. It signs requests, picks
//! regions, decides retries and failover, and builds diagnostics, as a pure state machine fed
//! with request/response events. Transports (`sextant-tokio`, `sextant-blocking`,
//! `sextant-async-std`) drive it over a real HTTP client; tests drive it over a virtual clock.
//!
//! ## In scope
//! Master-key, resource-token and Entra ID authorization; item, database and container
//! operations; the retry/failover table (`policy::table`); end-to-end deadlines; cancellation;
//! diagnostics; configuration from options and an environment map.
//!
//! ## Out of scope
//! Sockets, TLS, clocks, sleeping, spawning, environment variables and entropy. The core never
//! touches them: time comes in as [`Now`], randomness from the seed given to [`Driver::new`],
//! I/O goes out as [`Action`]s.
//!
//! ## The drain contract
//! After [`Driver::start`] and after every `handle_*` call, call [`Execution::poll`] until it
//! returns [`Action::Wait`] or [`Action::Done`]. Perform every `Send`, `Abort` and
//! `AcquireToken` it returns, feed the outcomes back with `handle_*`, and poll again when the
//! `Wait { until }` instant passes. Expired timers fire inside `poll`, and the same code computes
//! `until`, so the two can never disagree.
//!
//! ```
//! use std::time::{Duration, Instant, SystemTime};
//! use bytes::Bytes;
//! use http::HeaderMap;
//! use sextant_core::models::{AccountReference, ItemReference, PartitionKey};
//! use sextant_core::{Action, CosmosOperation, Driver, DriverOptions, Now, OperationOptions, Purpose, Response};
//!
//! let account = AccountReference::with_master_key(
//!     "https://myaccount.documents.azure.com:443/",
//!     "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==",
//! )?;
//! // A virtual clock: this example plays the server itself.
//! let mut now = Now::new(Instant::now(), SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
//! let mut driver = Driver::new(account.clone(), DriverOptions::default(), 42, now)?;
//! let item = ItemReference::from_name(account, "db", "c", "item 1");
//! let op = CosmosOperation::read(item).with_partition_key(PartitionKey::from("pk"));
//! let mut exec = driver.start(op, OperationOptions::default(), now);
//! let outcome = loop {
//!     match exec.poll(&mut driver, now) {
//!         Action::Send(req) => {
//!             // A transport would put `req` on the wire here. We answer it directly.
//!             let body = if req.uri.path() == "/" { "{}" } else { r#"{"id":"item 1"}"# };
//!             now = now.advanced(Duration::from_millis(3));
//!             let resp = Response { status: 200, headers: HeaderMap::new(), body: Bytes::from(body) };
//!             exec.handle_response(&mut driver, req.attempt, resp, now);
//!         }
//!         Action::Wait { until } => now = Now::new(until.expect("a timer is armed"), now.wall),
//!         Action::Done(result) => break result,
//!         _ => unreachable!("no hedges, tokens or aborts in this example"),
//!     }
//! };
//! let response = outcome?;
//! assert_eq!(response.status(), 200);
//! // One attempt of the operation itself; the metadata reads the first operation paid for
//! // (account, container) are recorded beside it with their purpose.
//! let ops = response.diagnostics().requests().iter().filter(|r| r.purpose == Purpose::Operation);
//! assert_eq!(ops.count(), 1);
//! assert_eq!(response.diagnostics().requests()[0].purpose, Purpose::AccountRead);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Rules the state machine keeps: deadlines are `Option<Instant>`; time never runs back; attempt
//! ids are never reused and late answers are ignored; every budget is bounded and every default
//! cites its precedent; retry policy lives in one table ([`policy::table`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod action;
pub mod auth;
pub mod credential;
pub mod diagnostics;
pub mod driver;
pub mod error;
pub mod execution;
/// Fuzz target bodies shared by `fuzz/` and the corpus replay test; not part of the API.
#[doc(hidden)]
pub mod fuzzing;
pub mod headers;
pub mod ids;
pub mod metrics;
pub mod models;
pub mod now;
pub mod operation;
pub mod options;
pub mod partition;
pub mod policy;
pub mod regions;
pub mod replay;
pub mod request;
pub mod response;
pub mod rng;
pub mod routing;
pub mod session;
pub mod shared;
pub mod transport;

pub use action::Action;
pub use credential::{AccessToken, Credential, CredentialError, TokenCredential};
pub use diagnostics::{CosmosDiagnostics, ExecutionContext, RequestDiagnostics};
pub use driver::Driver;
pub use error::{ConfigError, CosmosError, ErrorKind};
pub use execution::Execution;
pub use headers::ResponseHeaders;
pub use ids::{ActivityId, AttemptId};
pub use now::Now;
pub use operation::{CosmosOperation, OperationKind, OperationOptions, ResourceType};
pub use options::{ConnectionPoolOptions, DriverOptions, EnvironmentConfig, RuntimeOptions};
pub use request::{OutgoingRequest, Purpose};
pub use response::CosmosResponse;
pub use shared::{DriverRegistry, SharedDriver};
pub use transport::{
    RequestEvent, RequestEventKind, RequestSent, Response, TransportError, TransportErrorKind,
};
