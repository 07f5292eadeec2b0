//! `CosmosDriver`: one account, shared by every thread that uses it.

use std::fmt;
use std::sync::Arc;

use sextant_core::models::AccountReference;
use sextant_core::{CosmosError, CosmosOperation, CosmosResponse, OperationOptions, SharedDriver};

use crate::client::HttpClient;
use crate::execute::execute;
use crate::workers::Workers;

/// A driver for one account. Cheap to clone; `Send + Sync`, so one driver can serve many threads.
///
/// Obtained from [`crate::CosmosDriverRuntime::get_or_create_driver`].
#[derive(Clone)]
pub struct CosmosDriver {
    inner: Arc<DriverInner>,
}

struct DriverInner {
    account: AccountReference,
    shared: SharedDriver,
    client: HttpClient,
    workers: Workers,
}

impl CosmosDriver {
    pub(crate) fn new(
        account: AccountReference,
        shared: SharedDriver,
        client: HttpClient,
        workers: Workers,
    ) -> Self {
        CosmosDriver {
            inner: Arc::new(DriverInner {
                account,
                shared,
                client,
                workers,
            }),
        }
    }

    /// Executes an operation to completion on the calling thread: retries, failover and
    /// metadata reads included, each attempt bounded by its deadline. `options` default to
    /// [`OperationOptions::default`].
    ///
    /// The operation's end-to-end timeout (when set) bounds the whole call. All I/O happens on
    /// this thread, except attempts that may run concurrently (hedges), which use pooled worker
    /// threads.
    pub fn execute_operation(
        &self,
        operation: CosmosOperation,
        options: Option<OperationOptions>,
    ) -> Result<CosmosResponse, CosmosError> {
        execute(
            &self.inner.shared,
            &self.inner.client,
            &self.inner.workers,
            operation,
            options.unwrap_or_default(),
        )
    }

    /// The account this driver serves.
    pub fn account(&self) -> &AccountReference {
        &self.inner.account
    }

    /// The sans-IO driver underneath (account metadata, options), for inspection and for code
    /// that drives the core directly.
    pub fn core(&self) -> &SharedDriver {
        &self.inner.shared
    }
}

impl fmt::Debug for CosmosDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosmosDriver")
            .field("endpoint", &self.inner.account.endpoint())
            .finish_non_exhaustive()
    }
}
