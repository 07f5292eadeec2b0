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
}

sextant_host::driver_methods!(CosmosDriver, |d| account: d.account, shared: d.shared);

#[cfg(all(test, feature = "metrics"))]
mod tests {
    /// `sextant_host::driver_methods!` declares `export_metrics` when this crate's `metrics`
    /// feature is on (the macro's `cfg` is read here, where it is expanded).
    #[test]
    fn export_metrics_is_declared_with_the_feature() {
        let _: fn(&super::CosmosDriver) = super::CosmosDriver::export_metrics;
    }
}
