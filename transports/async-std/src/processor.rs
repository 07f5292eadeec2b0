//! `ChangeFeedProcessor`: the core's processor state machine (issue 13) run on this transport.
//! The loop is shared with the other async transport (`sextant_host::processor`); this file
//! is how it reaches this driver and this runtime's timer.

use std::time::Duration;

use sextant_host::processor::{AsyncDriver, AsyncProcessor};

use crate::driver::CosmosDriver;

/// One host of a change-feed processor (see [`CosmosDriver::change_feed_processor`]): the
/// core decides which leases to hold, when to renew, read and checkpoint;
/// [`AsyncProcessor::run`] runs the commands and calls the async handler.
pub type ChangeFeedProcessor = AsyncProcessor<CosmosDriver>;

impl AsyncDriver for CosmosDriver {
    async fn sleep(&self, d: Duration) {
        async_io::Timer::after(d).await;
    }
}
