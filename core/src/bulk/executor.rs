//! [`BulkExecutor`]: the windows of a bulk run, sans IO.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value};

use super::operation::BulkOperation;
use super::{
    DEFAULT_MAX_CONCURRENT_BATCHES, DEFAULT_MAX_DEGREE_OF_CONCURRENCY, DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MAX_THROTTLE_RETRIES,
};
use crate::batch::BatchOperationResult;
use crate::diagnostics::CosmosDiagnostics;
use crate::driver::Driver;
use crate::error::{ConfigError, CosmosError};
use crate::execution::Execution;
use crate::models::ContainerReference;
use crate::now::Now;
use crate::operation::{CosmosOperation, OperationKind, OperationOptions};
use crate::response::CosmosResponse;

/// How a bulk run works: its container and bounds.
#[derive(Debug, Clone)]
pub struct BulkBuilder {
    container: ContainerReference,
    max_in_flight: usize,
    max_throttle_retries: u32,
    max_concurrent_batches: usize,
    max_degree_of_concurrency: usize,
    options: OperationOptions,
}

impl BulkBuilder {
    /// A bulk run on `container` with the default bounds.
    pub fn new(container: ContainerReference) -> BulkBuilder {
        BulkBuilder {
            container,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_throttle_retries: DEFAULT_MAX_THROTTLE_RETRIES,
            max_concurrent_batches: DEFAULT_MAX_CONCURRENT_BATCHES,
            max_degree_of_concurrency: DEFAULT_MAX_DEGREE_OF_CONCURRENCY,
            options: OperationOptions::default(),
        }
    }

    /// Operations held at once (the window; default [`DEFAULT_MAX_IN_FLIGHT`]): the run's
    /// memory bound. The caller's input is read only as fast as windows finish.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// Retries of one throttled operation (default [`DEFAULT_MAX_THROTTLE_RETRIES`]).
    pub fn max_throttle_retries(mut self, n: u32) -> Self {
        self.max_throttle_retries = n;
        self
    }

    /// Batch requests in flight at once across ranges (default
    /// [`DEFAULT_MAX_CONCURRENT_BATCHES`]).
    pub fn max_concurrent_batches(mut self, n: usize) -> Self {
        self.max_concurrent_batches = n.max(1);
        self
    }

    /// Most batches in flight to one range (default
    /// [`super::DEFAULT_MAX_DEGREE_OF_CONCURRENCY`]); congestion control stays below it.
    pub fn max_degree_of_concurrency(mut self, n: usize) -> Self {
        self.max_degree_of_concurrency = n.max(1);
        self
    }

    /// Options for every batch request (consistency, end-to-end timeout of a window, excluded
    /// regions, ...).
    pub fn options(mut self, options: OperationOptions) -> Self {
        self.options = options;
        self
    }

    /// The container.
    pub fn container(&self) -> &ContainerReference {
        &self.container
    }

    /// Builds the executor; `C` is the caller's correlation id of each operation.
    pub fn build<C>(self) -> BulkExecutor<C> {
        BulkExecutor {
            builder: self,
            window: Vec::new(),
            dop: BTreeMap::new(),
            progress: BulkProgress::default(),
        }
    }
}

/// What a bulk run has done so far (updated as each window ends).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BulkProgress {
    /// Operations with a final result.
    pub operations_done: u64,
    /// Of those, results that are not a success (a 4xx/5xx status or an error).
    pub operations_failed: u64,
    /// Request units of every batch request.
    pub request_charge: f64,
    /// Operations answered 429 (each retry counts).
    pub throttled: u64,
    /// Batch requests answered.
    pub batches: u64,
    /// Windows finished.
    pub windows: u64,
}

/// The final result of one operation, with the caller's correlation id.
#[derive(Debug)]
pub struct BulkResult<C> {
    /// The caller's id of the operation.
    pub correlation: C,
    /// Its result: the service's answer for it (a 2xx, or the status it failed with after
    /// retries), or the error that stopped its batch before it was answered.
    pub outcome: Result<BatchOperationResult, CosmosError>,
}

/// The windows of a bulk run. Transports call [`BulkExecutor::start_window`] with up to
/// [`BulkExecutor::window_size`] operations, drain the execution, and pass its outcome to
/// [`BulkExecutor::finish_window`].
#[derive(Debug)]
pub struct BulkExecutor<C> {
    builder: BulkBuilder,
    /// The current window: each operation's correlation id, and its result when it was
    /// decided without the service (an invalid operation).
    window: Vec<(C, Option<Result<BatchOperationResult, CosmosError>>)>,
    /// Degree of concurrency each range reached (carried from window to window).
    dop: BTreeMap<String, usize>,
    progress: BulkProgress,
}

/// What a finished window's execution hands back (`Execution::take_bulk`).
#[derive(Debug, Default)]
pub(crate) struct WindowOutcome {
    pub results: Vec<Option<Result<BatchOperationResult, CosmosError>>>,
    pub dop: BTreeMap<String, usize>,
    pub throttled: u64,
    pub batches: u64,
}

impl<C> BulkExecutor<C> {
    /// Operations one window takes.
    pub fn window_size(&self) -> usize {
        self.builder.max_in_flight
    }

    /// Progress so far.
    pub fn progress(&self) -> BulkProgress {
        self.progress
    }

    /// Starts a window of `operations`, at most [`BulkExecutor::window_size`] of them. Drain
    /// the execution like any other. Operations past the window size are not sent: each gets
    /// an error naming the limit as its result, so none goes missing.
    pub fn start_window(
        &mut self,
        d: &mut Driver,
        operations: Vec<(C, BulkOperation)>,
        now: Now,
    ) -> Execution {
        self.window.clear();
        let limit = self.builder.max_in_flight;
        let mut wire = Vec::with_capacity(operations.len().min(limit));
        for (i, (c, op)) in operations.into_iter().enumerate() {
            if i >= limit {
                let e = CosmosError::config(
                    ConfigError::InvalidOperation(format!(
                        "bulk operation ({}) not sent: a window takes at most {limit} operations \
                         (BulkExecutor::window_size)",
                        op.op.name()
                    )),
                    Arc::new(CosmosDiagnostics::empty()),
                );
                self.window.push((c, Some(Err(e))));
                continue;
            }
            match &op.problem {
                Some(p) => {
                    let e = CosmosError::config(
                        ConfigError::InvalidOperation(format!(
                            "bulk operation ({}): {p}",
                            op.op.name()
                        )),
                        Arc::new(CosmosDiagnostics::empty()),
                    );
                    self.window.push((c, Some(Err(e))));
                }
                None => {
                    wire.push(op.to_json());
                    self.window.push((c, None));
                }
            }
        }
        let body = json!({
            "maxRetries": self.builder.max_throttle_retries,
            "maxDop": self.builder.max_degree_of_concurrency,
            "dop": self.dop,
            "operations": wire,
        });
        let mut op = CosmosOperation::item_feed(OperationKind::Bulk, &self.builder.container);
        op.body = Some(Bytes::from(serde_json::to_vec(&body).unwrap_or_default()));
        let mut opts = self.builder.options.clone();
        opts.max_concurrency = Some(self.builder.max_concurrent_batches);
        d.start(op, opts, now)
    }

    /// The window's results, in the order its operations were given. A window that failed as a
    /// whole (a timeout, unreadable routing) gives its error to every operation it had not
    /// finished; the run can go on with the next window.
    pub fn finish_window(
        &mut self,
        exec: &mut Execution,
        outcome: Result<CosmosResponse, CosmosError>,
    ) -> Vec<BulkResult<C>> {
        let taken = exec.take_bulk().unwrap_or_default();
        self.dop.extend(taken.dop);
        self.progress.throttled += taken.throttled;
        self.progress.batches += taken.batches;
        self.progress.windows += 1;
        match &outcome {
            Ok(r) => self.progress.request_charge += r.headers().request_charge(),
            Err(e) => self.progress.request_charge += e.diagnostics().total_request_charge(),
        }
        let mut sent = taken.results.into_iter();
        let mut out = Vec::with_capacity(self.window.len());
        for (c, decided) in self.window.drain(..) {
            let result = match decided {
                Some(r) => r,
                None => match (sent.next().flatten(), &outcome) {
                    (Some(r), _) => r,
                    (None, Err(e)) => Err(e.clone()),
                    (None, Ok(r)) => Err(CosmosError::new(
                        crate::error::ErrorKind::Internal,
                        "a bulk window ended without this operation's result".to_string(),
                        r.diagnostics().clone(),
                    )),
                },
            };
            self.progress.operations_done += 1;
            if !result.as_ref().is_ok_and(BatchOperationResult::is_success) {
                self.progress.operations_failed += 1;
            }
            out.push(BulkResult {
                correlation: c,
                outcome: result,
            });
        }
        out
    }
}

/// The parsed body of a window operation.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct WindowBody {
    #[serde(rename = "maxRetries")]
    pub max_retries: u32,
    #[serde(rename = "maxDop")]
    pub max_dop: usize,
    pub dop: BTreeMap<String, usize>,
    pub operations: Vec<Box<serde_json::value::RawValue>>,
}

/// The partition key of one wire operation (a JSON-encoded string, PROTOCOL.md §8.3).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct WireKey {
    #[serde(rename = "partitionKey")]
    pub partition_key: String,
    /// The item's id: `id` for reads, replaces, deletes and patches.
    #[serde(default)]
    pub id: Option<String>,
    /// The item of a create or upsert (and a replace), for its `id`.
    #[serde(rename = "resourceBody", default)]
    pub resource_body: Option<WireItem>,
}

/// The part of a wire operation's item that orders it: its `id`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct WireItem {
    #[serde(default)]
    pub id: Option<String>,
}

impl WireKey {
    /// The id of the item the operation is on, if it names one.
    pub fn item_id(self) -> Option<String> {
        self.id.or_else(|| self.resource_body.and_then(|b| b.id))
    }
}

/// The summary body of a finished window.
pub(crate) fn window_summary(operations: usize, throttled: u64, batches: u64) -> Vec<u8> {
    let v: Value = json!({"operations": operations, "throttled": throttled, "batches": batches});
    serde_json::to_vec(&v).unwrap_or_default()
}
