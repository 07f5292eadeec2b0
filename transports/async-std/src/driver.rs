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

    /// Executes `operation` with its retries, failover and metadata reads, and returns the
    /// response or the error, both with diagnostics of every attempt.
    ///
    /// Runs on async-std, smol or any executor (nothing is spawned; sockets and timers come from
    /// the async-io reactor). Dropping the future cancels the operation and every attempt in
    /// flight.
    pub async fn execute_operation(
        &self,
        operation: CosmosOperation,
        options: Option<OperationOptions>,
    ) -> Result<CosmosResponse, CosmosError> {
        execute(
            &self.shared,
            &self.client,
            operation,
            options.unwrap_or_default(),
        )
        .await
    }

    /// The account this driver serves.
    pub fn account(&self) -> &AccountReference {
        &self.account
    }

    /// The shared core driver (for advanced use: inspecting account metadata, for example).
    pub fn shared(&self) -> &SharedDriver {
        &self.shared
    }
}
