//! `CosmosDriver`: executes operations against one account.

use std::fmt;
use std::sync::Arc;

use sextant_core::models::AccountReference;
use sextant_core::{
    CosmosError, CosmosOperation, CosmosResponse, Driver, OperationOptions, SharedDriver,
};

use crate::execute;

/// Executes operations against one account. Cheap to clone (an `Arc` inside); `Send + Sync`;
/// any number of operations may run on it concurrently.
#[derive(Clone)]
pub struct CosmosDriver {
    inner: Arc<DriverInner>,
}

struct DriverInner {
    shared: SharedDriver,
    account: AccountReference,
    client: reqwest::Client,
}

impl fmt::Debug for CosmosDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosmosDriver")
            .field("endpoint", &self.inner.account.endpoint())
            .finish_non_exhaustive()
    }
}

impl CosmosDriver {
    pub(crate) fn new(driver: Driver, account: AccountReference, client: reqwest::Client) -> Self {
        CosmosDriver {
            inner: Arc::new(DriverInner {
                shared: SharedDriver::new(driver),
                account,
                client,
            }),
        }
    }

    /// Runs `operation` to completion: every attempt, retry and metadata read the core decides
    /// on. Dropping the future cancels the operation and drops its in-flight attempts.
    ///
    /// Must be polled on a tokio runtime (time and I/O drivers enabled).
    pub async fn execute_operation(
        &self,
        operation: CosmosOperation,
        options: Option<OperationOptions>,
    ) -> Result<CosmosResponse, CosmosError> {
        let inner = &*self.inner;
        let send = |r: reqwest::Request| inner.client.execute(r);
        execute::run(
            &inner.shared,
            &inner.account,
            send,
            operation,
            options.unwrap_or_default(),
        )
        .await
    }

    /// The account this driver serves.
    pub fn account(&self) -> &AccountReference {
        &self.inner.account
    }
}
