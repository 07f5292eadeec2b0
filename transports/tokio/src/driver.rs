//! `CosmosDriver`: executes operations against one account.

use std::fmt;
use std::sync::Arc;

use sextant_core::models::AccountReference;
use sextant_core::{CosmosError, CosmosOperation, CosmosResponse, OperationOptions, SharedDriver};

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
}

sextant_host::driver_methods!(CosmosDriver, |d| account: d.inner.account, shared: d.inner.shared);

#[cfg(all(test, feature = "metrics"))]
mod tests {
    /// `sextant_host::driver_methods!` declares `export_metrics` when this crate's `metrics`
    /// feature is on (the macro's `cfg` is read here, where it is expanded).
    #[test]
    fn export_metrics_is_declared_with_the_feature() {
        let _: fn(&super::CosmosDriver) = super::CosmosDriver::export_metrics;
    }
}
