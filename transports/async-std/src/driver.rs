//! `CosmosDriver`: executes operations against one account.

use std::sync::Arc;

use sextant_core::models::AccountReference;
use sextant_core::{CosmosError, CosmosOperation, CosmosResponse, OperationOptions, SharedDriver};

use crate::client::HttpClient;
use crate::execute::execute;

/// Executes operations against one account. Cheap to clone; `Send + Sync`, so one driver serves
/// any number of concurrent operations (they share the core's caches and the connection pool).
#[derive(Debug, Clone)]
pub struct CosmosDriver {
    account: AccountReference,
    shared: SharedDriver,
    client: Arc<HttpClient>,
}

impl CosmosDriver {
    pub(crate) fn new(
        account: AccountReference,
        shared: SharedDriver,
        client: Arc<HttpClient>,
    ) -> Self {
        CosmosDriver {
            account,
            shared,
            client,
        }
    }

    pub(crate) fn client(&self) -> &Arc<HttpClient> {
        &self.client
    }

    /// Executes `operation` with its retries, failover and metadata reads, and returns the
    /// response or the error, both with diagnostics of every attempt.
    ///
    /// Runs on async-std, smol or any executor (nothing is spawned; sockets and timers come from
    /// the async-io reactor). Dropping the future cancels the operation and every attempt in
    /// flight.
    // Not an `async fn`: its state would keep the operation and its options (about 600 bytes)
    // beside the inner future's own copy, and an operation's future is moved at least once
    // when awaited. Returning the inner future made it 6,904 -> 6,296 bytes (issue 9,
    // docs/PERFORMANCE.md). Nothing runs before the first poll either way.
    pub fn execute_operation(
        &self,
        operation: CosmosOperation,
        options: Option<OperationOptions>,
    ) -> impl std::future::Future<Output = Result<CosmosResponse, CosmosError>> + Send + '_ {
        execute(
            &self.shared,
            &self.client,
            operation,
            options.unwrap_or_default(),
        )
    }

    /// This driver's metrics: totals since it was created, latency quantiles, and the current
    /// sliding window (call [`CosmosDriver::poll_alerts`] first to move the window to now).
    pub fn metrics(&self) -> sextant_core::metrics::MetricsSnapshot {
        self.shared.lock().metrics_snapshot()
    }

    /// Alerts raised or cleared since the last call, from the alert rules of the driver's
    /// options evaluated over the sliding window.
    pub fn poll_alerts(&self) -> Vec<sextant_core::metrics::Alert> {
        let now = sextant_host::now();
        self.shared.lock().poll_alerts(now)
    }

    /// Publishes this driver's metrics to the `metrics` facade (feature `metrics`): call it
    /// periodically; the installed recorder (Prometheus, StatsD, ...) receives them.
    #[cfg(feature = "metrics")]
    pub fn export_metrics(&self) {
        sextant_core::metrics::export_to_metrics_facade(&self.metrics(), self.account().endpoint());
    }

    /// Starts recording every operation started on this driver from now on, for
    /// `sextant_core::replay::replay` (see the README, "Recording and replaying an operation").
    /// Call it right after creating the driver so the recording replays exactly; recording
    /// stops by itself after `sextant_core::replay::MAX_ENTRIES` entries or
    /// `sextant_core::replay::MAX_BODY_BYTES` of bodies.
    pub fn start_recording(&self) {
        self.shared.lock().start_recording()
    }

    /// Stops recording and returns the recording (`None` when not recording). Save it with
    /// `Recording::to_json`; it holds no keys or tokens, but it does hold request and response
    /// bodies.
    pub fn take_recording(&self) -> Option<sextant_core::replay::Recording> {
        self.shared.lock().take_recording()
    }

    /// Signs every request from now on with `account`'s credential (key rotation without a
    /// restart; operations in flight use it for their next attempt). `account` must name this
    /// driver's endpoint. Returns whether the credential changed.
    pub fn rotate_credential(&self, account: &AccountReference) -> Result<bool, CosmosError> {
        Ok(self.core().lock().set_credential(account)?)
    }

    /// The account this driver was created for (its credential is the one it was created with;
    /// after a rotation, `core().lock().account()` has the current one).
    pub fn account(&self) -> &AccountReference {
        &self.account
    }

    /// The sans-IO driver underneath (account metadata, options), for inspection and for code
    /// that drives the core directly.
    pub fn core(&self) -> &SharedDriver {
        &self.shared
    }
}

impl sextant_core::DriverHandle for CosmosDriver {
    fn shared(&self) -> &SharedDriver {
        &self.shared
    }
}
