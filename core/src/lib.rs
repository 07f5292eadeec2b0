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
//! diagnostics; configuration from options and an environment map. Multi-request operations run
//! inside one execution as children (ADR 0005): cross-partition queries ([`QueryPager`]),
//! ReadMany ([`many`]), bulk windows ([`bulk`]) and change-feed pages ([`changefeed`]); the
//! change-feed processor is a separate sans-IO machine ([`changefeed::processor`]), and
//! [`backup`] holds the non-I/O half of backup and restore.
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
//! That loop is written once, in the core: [`Execution::turn`] (and [`SharedDriver::turn`],
//! which takes the driver lock once per turn) feeds a list of [`Input`]s, drains `poll` and
//! returns a [`Turn`] (what to perform) and a [`Drained`] (`Wait { until }` or `Done`). Every
//! transport and the simulator use it; only the replayer calls `poll` one action at a time,
//! because it checks each recorded poll. The core matches every [`Action`] itself, so a
//! transport never meets an action it does not know.
//!
//! ```
//! use std::time::{Duration, Instant, SystemTime};
//! use bytes::Bytes;
//! use http::HeaderMap;
//! use sextant_core::models::{AccountReference, ItemReference, PartitionKey};
//! use sextant_core::{CosmosOperation, Drained, Driver, DriverOptions, Input, Inputs, Now, OperationOptions, Purpose, Response, Turn};
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
//! let (mut inputs, mut turn) = (Inputs::new(), Turn::default());
//! let outcome = loop {
//!     let drained = exec.turn(&mut driver, &mut inputs, now, &mut turn);
//!     assert!(turn.aborts.is_empty() && turn.token_requests.is_empty()); // no hedges, no tokens here
//!     for req in turn.sends.drain() {
//!         // A transport would put `req` on the wire here. We answer it directly.
//!         let body = if req.uri.path() == "/" { "{}" } else { r#"{"id":"item 1"}"# };
//!         now = now.advanced(Duration::from_millis(3));
//!         let resp = Response { status: 200, headers: HeaderMap::new(), body: Bytes::from(body) };
//!         inputs.push(Input::Response(req.attempt, resp, now));
//!     }
//!     match drained {
//!         Drained::Done { outcome, .. } => break outcome,
//!         // Nothing answered: sleep until the core's timer is due.
//!         Drained::Wait { until: Some(until) } if inputs.is_empty() => now = Now::new(until, now.wall),
//!         Drained::Wait { .. } => {}
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
//! ## What a transport must do
//! Everything else is decided here; a transport (tokio, blocking, async-std today; a wasm
//! `fetch` one or a host language over FFI tomorrow) has exactly these duties:
//!
//! 1. **One driver per account, behind a lock never held across I/O.** Wrap the [`Driver`] in a
//!    [`SharedDriver`]; lock only inside [`SharedDriver::turn`] and friends (microseconds). Keep
//!    one per endpoint ([`DriverRegistry`]).
//! 2. **Seed and environment.** Pass [`Driver::new`] a seed from the platform's entropy and the
//!    `AZURE_COSMOS_*` environment as a map ([`EnvironmentConfig`]); the core reads neither.
//! 3. **Clocks.** Read [`Now`] (monotonic and wall) for each turn and stamp each [`Input`] with
//!    the instant it was observed.
//! 4. **The loop.** [`SharedDriver::start_turn`], then: drop every attempt in `turn.aborts`
//!    (their late answers need not be fed; if fed they are ignored); start every request in
//!    `turn.sends`; start every token acquisition in `turn.token_requests`; on
//!    [`Drained::Done`] return the outcome and log its `log_line`; on [`Drained::Wait`] wait
//!    until an input arrives or `until` passes, then [`SharedDriver::turn`] again. `until: None`
//!    means "only an answer can wake you"; the core never asks that with nothing in flight
//!    (it ends the operation with [`ErrorKind::Internal`] instead). When `until` is the
//!    `deadline` of a request in flight and the exchange is bounded by it (duty 5), that
//!    request's failure may be the wake-up, at `until` or just after: no timer of the loop's
//!    own is needed for it (sextant-tokio arms none; reqwest bounds the exchange).
//! 5. **Send requests verbatim.** Method, URI, headers and body of [`OutgoingRequest`] are
//!    final and signed: add only what HTTP/1.1 framing needs (`host`, `content-length`), never
//!    normalise or re-encode the path. Bound the whole exchange, body included, by
//!    `request.deadline` (a server trickling bytes must not extend it), and refuse a body over
//!    `max_response_bytes` ([`TransportErrorKind::ResponseTooLarge`]).
//! 6. **Report honestly.** [`Input::Headers`] when the response head arrives, then
//!    [`Input::Response`] with the whole body, or [`Input::Failed`] with a [`TransportError`]
//!    whose [`RequestSent`] is `NotSent` only when no byte can have left (connect, DNS, TLS
//!    before the request was written), `Sent` once a response head arrived, `Unknown` otherwise:
//!    this flag decides whether a write may be retried. Name the URL and the phase in messages.
//! 7. **Tokens.** Acquire them with the account's [`TokenCredential`] and feed
//!    [`Input::Token`]. An acquisition still running when its operation ends goes to
//!    [`Driver::handle_token`] when it completes (a background refresh outlives the operation).
//! 8. **Cancellation.** When the caller abandons an operation before `Done` (a dropped future),
//!    call [`SharedDriver::cancel`] so leases it holds are released at once.
//! 9. **TLS.** Verify certificates by default; anything else is an explicit, named opt-in.
//!
//! A transport written in Rust can take part of this from the `sextant-host` crate, which the
//! three transports share: reading the clocks, the environment and the seed entropy (duty 2,
//! and duty 3's clock reads; stamping each input is still the loop's), the public surface that
//! does no I/O (the driver's metrics, recording and key-rotation methods, the runtime builder's
//! settings), and, on async runtimes, the pagers, bulk runs and change-feed processor over two
//! traits (`paged::AsyncRunner`, `processor::AsyncDriver`). The loop (duty 4) and duties 5 to 9,
//! on the transport's HTTP client, remain the transport's own.
//!
//! ## Failures of the core itself
//! Input-dependent paths never panic: bad options, ids, headers, bodies and service answers
//! become typed errors. A state the core believes unreachable is not papered over: the
//! operation ends with [`ErrorKind::Internal`], naming the broken invariant.
//!
//! Rules the state machine keeps: deadlines are `Option<Instant>`; time never runs back; attempt
//! ids are never reused and late answers are ignored; every budget is bounded and every default
//! cites its precedent; retry policy lives in one table ([`policy::table`]).
//!
//! # Cargo features
//!
//! - `metrics-facade`: `metrics::MetricsSnapshot` can be exported to the
//!   [`metrics`](https://docs.rs/metrics) facade (a recorder-agnostic API; no runtime).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod action;
pub mod auth;
pub mod backup;
pub mod batch;
pub mod bulk;
pub mod changefeed;
pub mod credential;
pub mod diagnostics;
pub mod drain;
pub mod driver;
pub mod error;
pub mod execution;
pub mod feed;
pub mod headers;
pub mod ids;
mod leases;
pub mod many;
pub mod metrics;
pub mod models;
pub mod now;
pub mod operation;
pub mod options;
pub mod partition;
pub mod policy;
pub mod redact;
pub mod regions;
pub mod replay;
pub mod request;
pub mod response;
pub mod rng;
pub mod routing;
pub mod session;
pub mod shared;
pub mod throughput;
pub mod transport;
pub mod typed;

pub use action::Action;
pub use batch::{BatchOperationResult, BatchResponse, TransactionalBatch};
pub use bulk::{BulkBuilder, BulkExecutor, BulkOperation, BulkProgress, BulkResult};
pub use changefeed::{ChangeFeedMode, ChangeFeedPage, ChangeFeedPager, ChangeFeedStart};
pub use credential::{AccessToken, Credential, CredentialError, TokenCredential};
pub use diagnostics::{CosmosDiagnostics, ExecutionContext, RequestDiagnostics};
pub use drain::{Drained, InlineList, Input, Inputs, Sends, Turn};
pub use driver::Driver;
pub use error::{ConfigError, CosmosError, ErrorKind};
pub use execution::Execution;
pub use feed::{QueryPage, QueryPager};
pub use headers::ResponseHeaders;
pub use ids::{ActivityId, AttemptId};
pub use many::ReadManyResponse;
pub use now::Now;
pub use operation::{
    CosmosOperation, OperationKind, OperationOptions, PatchBuilder, PatchOperation, QuerySpec,
    ResourceType,
};
pub use options::{
    ConnectionPoolOptions, ConnectionPoolOptionsBuilder, DriverOptions, DriverOptionsBuilder,
    EnvironmentConfig, RetryOptions, RetryOptionsBuilder, RuntimeOptions, TelemetryOptions,
    TelemetryOptionsBuilder, TimeoutOptions, TimeoutOptionsBuilder,
};
pub use request::{OutgoingRequest, Purpose};
pub use response::CosmosResponse;
pub use shared::{DriverHandle, DriverRegistry, SharedDriver};
pub use transport::{
    RequestEvent, RequestEventKind, RequestSent, Response, TransportError, TransportErrorKind,
};
