//! `CosmosDriver`: executes operations against one account.

use std::fmt;
use std::sync::Arc;

use sextant_core::models::AccountReference;
use sextant_core::{
    CosmosError, CosmosOperation, CosmosResponse, DriverHandle, OperationOptions, SharedDriver,
};

use crate::client::BaseUrls;
use crate::execute;

/// Executes operations against one account. Cheap to clone (an `Arc` inside); `Send + Sync`;
/// any number of operations may run on it concurrently.
#[derive(Clone)]
pub struct CosmosDriver {
    inner: Arc<DriverInner>,
}

pub(crate) struct DriverInner {
    pub(crate) shared: SharedDriver,
    pub(crate) account: AccountReference,
    pub(crate) client: reqwest::Client,
    /// Parsed endpoint URLs, so a request's URL is not parsed from scratch.
    pub(crate) bases: BaseUrls,
}

impl fmt::Debug for CosmosDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosmosDriver")
            .field("endpoint", &self.inner.account.endpoint())
            .finish_non_exhaustive()
    }
}

impl CosmosDriver {
    pub(crate) fn new(
        shared: SharedDriver,
        account: AccountReference,
        client: reqwest::Client,
    ) -> Self {
        CosmosDriver {
            inner: Arc::new(DriverInner {
                shared,
                account,
                client,
                bases: BaseUrls::default(),
            }),
        }
    }

    /// Runs `operation` to completion: every attempt, retry and metadata read the core decides
    /// on. Dropping the future cancels the operation and drops its in-flight attempts.
    ///
    /// Must be polled on a tokio runtime (time and I/O drivers enabled).
    // Not an `async fn`: its state would keep the operation and its options (about 600 bytes)
    // beside the inner future's own copy, and an operation's future is moved at least once
    // when awaited. Returning the inner future made it 4,328 -> 3,720 bytes (issue 9,
    // docs/PERFORMANCE.md). Nothing runs before the first poll either way.
    pub fn execute_operation(
        &self,
        operation: CosmosOperation,
        options: Option<OperationOptions>,
    ) -> impl std::future::Future<Output = Result<CosmosResponse, CosmosError>> + Send + '_ {
        let inner = &*self.inner;
        let send = |r: reqwest::Request| inner.client.execute(r);
        execute::run(
            &inner.shared,
            send,
            &inner.bases,
            operation,
            options.unwrap_or_default(),
        )
    }

    pub(crate) fn inner(&self) -> &DriverInner {
        &self.inner
    }

    /// This driver's metrics: totals since it was created, latency quantiles, and the current
    /// sliding window (call [`CosmosDriver::poll_alerts`] first to move the window to now).
    pub fn metrics(&self) -> sextant_core::metrics::MetricsSnapshot {
        self.inner.shared.lock().metrics_snapshot()
    }

    /// Alerts raised or cleared since the last call, from the alert rules of the driver's
    /// options evaluated over the sliding window.
    pub fn poll_alerts(&self) -> Vec<sextant_core::metrics::Alert> {
        let now = sextant_host::now();
        self.inner.shared.lock().poll_alerts(now)
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
        self.inner.shared.lock().start_recording()
    }

    /// Stops recording and returns the recording (`None` when not recording). Save it with
    /// `Recording::to_json`; it holds no keys or tokens, but it does hold request and response
    /// bodies.
    pub fn take_recording(&self) -> Option<sextant_core::replay::Recording> {
        self.inner.shared.lock().take_recording()
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
        &self.inner.account
    }

    /// The sans-IO driver underneath (account metadata, options), for inspection and for code
    /// that drives the core directly.
    pub fn core(&self) -> &SharedDriver {
        &self.inner.shared
    }
}

impl DriverHandle for CosmosDriver {
    fn shared(&self) -> &SharedDriver {
        &self.inner.shared
    }
}
