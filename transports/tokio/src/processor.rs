//! `ChangeFeedProcessor`: the core's processor state machine (issue 13) run on this transport.
//! The loop is shared with the other async transport (`sextant_host::processor`); this file
//! is how it reaches this driver and this runtime's timer.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;
use sextant_core::feed::FeedRange;
use sextant_core::models::ContainerReference;
use sextant_core::{
    ChangeFeedPage, CosmosError, CosmosOperation, CosmosResponse, OperationOptions,
};
use sextant_host::processor::{AsyncDriver, AsyncProcessor};

use crate::driver::CosmosDriver;

/// One host of a change-feed processor (see [`CosmosDriver::change_feed_processor`]): the
/// core decides which leases to hold, when to renew, read and checkpoint;
/// [`AsyncProcessor::run`] runs the commands and calls the async handler.
pub type ChangeFeedProcessor = AsyncProcessor<CosmosDriver>;

impl AsyncDriver for CosmosDriver {
    fn execute(
        &self,
        op: CosmosOperation,
        opts: Option<OperationOptions>,
    ) -> impl Future<Output = Result<CosmosResponse, CosmosError>> {
        self.execute_operation(op, opts)
    }

    async fn query_items(&self, op: CosmosOperation) -> Result<Vec<Value>, CosmosError> {
        let mut pager = self.query(op, None)?;
        let mut items = Vec::new();
        while let Some(page) = pager.next_page().await {
            items.extend(page?.into_items());
        }
        Ok(items)
    }

    fn feed_ranges(
        &self,
        container: ContainerReference,
    ) -> impl Future<Output = Result<Vec<FeedRange>, CosmosError>> {
        self.read_feed_ranges(container)
    }

    async fn change_feed_page(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<ChangeFeedPage, CosmosError> {
        self.change_feed(op, Some(opts))?.next_page().await
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep(d)
    }
}
