//! `CosmosDriver`: one account, shared by every thread that uses it.

use std::fmt;
use std::sync::Arc;

use sextant_core::models::AccountReference;
use sextant_core::{CosmosError, CosmosOperation, CosmosResponse, OperationOptions, SharedDriver};

use crate::client::HttpClient;
use crate::execute::execute;
use crate::query::QueryPager;
use crate::workers::Workers;

/// A driver for one account. Cheap to clone; `Send + Sync`, so one driver can serve many threads.
///
/// Obtained from [`crate::CosmosDriverRuntime::get_or_create_driver`].
#[derive(Clone)]
pub struct CosmosDriver {
    inner: Arc<DriverInner>,
}

pub(crate) struct DriverInner {
    pub(crate) account: AccountReference,
    pub(crate) shared: SharedDriver,
    pub(crate) client: HttpClient,
    pub(crate) workers: Workers,
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

    /// The throughput of a database (shared) or container (dedicated): its offer, found by the
    /// resource's `_rid` (PROTOCOL.md §10.1). `None` when it has no throughput of its own.
    pub fn read_throughput(
        &self,
        target: impl Into<sextant_core::throughput::ThroughputTarget>,
    ) -> Result<Option<sextant_core::throughput::ThroughputResponse>, CosmosError> {
        self.drive_throughput(sextant_core::throughput::ThroughputFlow::read(target))
    }

    /// Sets the throughput of a database or container, migrating between manual and autoscale
    /// when the mode differs, and waits (polling every 5 s) until the service has applied it;
    /// see `sextant_core::throughput::ThroughputFlow` to poll differently.
    pub fn replace_throughput(
        &self,
        target: impl Into<sextant_core::throughput::ThroughputTarget>,
        throughput: sextant_core::models::ThroughputProperties,
    ) -> Result<Option<sextant_core::throughput::ThroughputResponse>, CosmosError> {
        self.drive_throughput(sextant_core::throughput::ThroughputFlow::replace(
            target, throughput,
        ))
    }

    /// Runs a throughput flow built by the caller (custom polling) on this thread.
    pub fn drive_throughput(
        &self,
        mut flow: sextant_core::throughput::ThroughputFlow,
    ) -> Result<Option<sextant_core::throughput::ThroughputResponse>, CosmosError> {
        use sextant_core::throughput::{FlowInput, FlowStep};
        let mut step = flow.step(FlowInput::Start);
        loop {
            step = match step {
                FlowStep::Send(op) => {
                    flow.step(FlowInput::Response(self.execute_operation(op, None)))
                }
                FlowStep::Wait(d) => {
                    std::thread::sleep(d);
                    flow.step(FlowInput::Waited)
                }
                FlowStep::Done(result) => return result,
            };
        }
    }

    /// The container's feed ranges, one per physical partition key range, in EPK order: the
    /// unit a caller parallelises a query (or, later, the change feed) over with
    /// `CosmosOperation::with_feed_range`. Reads every page of the range feed.
    pub fn read_feed_ranges(
        &self,
        container: sextant_core::models::ContainerReference,
    ) -> Result<Vec<sextant_core::feed::FeedRange>, CosmosError> {
        let mut read = sextant_core::feed::FeedRangesRead::new(container);
        while let Some((op, opts)) = read.next_request() {
            let response = self.execute_operation(op, Some(opts))?;
            read.take_page(&response)?;
        }
        read.finish()
    }

    /// The pages of a query ([`CosmosOperation::query`]): iterate the pager (or call
    /// [`QueryPager::next_page`]) until it ends. Options apply to every page;
    /// `OperationOptions::with_continuation` resumes from a token of an earlier page.
    pub fn query(
        &self,
        operation: CosmosOperation,
        options: Option<OperationOptions>,
    ) -> Result<QueryPager, CosmosError> {
        let core = sextant_core::QueryPager::new(operation, options.unwrap_or_default())
            .map_err(CosmosError::from)?;
        Ok(QueryPager::new(self.clone(), core))
    }

    /// Runs many item operations as a bulk run on `builder`'s container: each `(correlation
    /// id, operation)` of `operations` (any iterator, read lazily) is grouped by partition key
    /// range and sent in non-atomic batches; call [`crate::BulkRun::next_results`] until it
    /// returns `None`. Throttled operations are retried one by one after their retry-after;
    /// at most `max_in_flight` operations are held at once.
    pub fn bulk<C, I>(
        &self,
        builder: sextant_core::BulkBuilder,
        operations: I,
    ) -> crate::BulkRun<C, I::IntoIter>
    where
        I: IntoIterator<Item = (C, sextant_core::BulkOperation)>,
    {
        crate::BulkRun::new(self.clone(), builder.build(), operations.into_iter())
    }

    /// The pages of a change feed ([`CosmosOperation::change_feed`]): call
    /// [`crate::ChangeFeedPager::next_page`] as often as new changes are wanted. Options apply
    /// to every page; `OperationOptions::with_continuation` resumes from a token.
    pub fn change_feed(
        &self,
        operation: CosmosOperation,
        options: Option<OperationOptions>,
    ) -> Result<crate::ChangeFeedPager, CosmosError> {
        let core = sextant_core::ChangeFeedPager::new(operation, options.unwrap_or_default())
            .map_err(CosmosError::from)?;
        Ok(crate::ChangeFeedPager::new(self.clone(), core))
    }

    /// One host of a change-feed processor on `monitored`, with its leases in `leases` (a
    /// container partitioned by `/id`). Run it with [`crate::ChangeFeedProcessor::run`]; any
    /// number of hosts with distinct `options.host` names share the leases fairly.
    pub fn change_feed_processor(
        &self,
        monitored: sextant_core::models::ContainerReference,
        leases: sextant_core::models::ContainerReference,
        options: sextant_core::changefeed::processor::ProcessorOptions,
    ) -> crate::ChangeFeedProcessor {
        let seed = sextant_host::fresh_seed();
        crate::ChangeFeedProcessor::new(self.clone(), monitored, leases, options, seed)
    }

    pub(crate) fn inner(&self) -> &DriverInner {
        &self.inner
    }

    /// Drives a started execution (its first turn taken) to its outcome on this driver's
    /// client and workers: what every page and bulk window runs (`execute_operation` starts
    /// its own and drives it the same way).
    pub(crate) fn drive(
        &self,
        exec: &mut sextant_core::Execution,
        turn: sextant_core::Turn,
        drained: sextant_core::Drained,
    ) -> Result<CosmosResponse, CosmosError> {
        let inner = &*self.inner;
        crate::execute::drive(
            &inner.shared,
            &inner.client,
            &inner.workers,
            exec,
            turn,
            drained,
        )
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
}

impl fmt::Debug for CosmosDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosmosDriver")
            .field("endpoint", &self.inner.account.endpoint())
            .finish_non_exhaustive()
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
