//! Query pages, change-feed pages, bulk windows, the change-feed processor and throughput
//! changes on this transport. They are written once for the async transports in
//! `sextant_host` (`impl_async_paged!` adds `CosmosDriver::query`, `change_feed`, `bulk`,
//! `bulk_stream`, `change_feed_processor`, `read_feed_ranges` and the throughput methods);
//! this file is how they reach this driver's loop (`execute::drive`).

use std::future::Future;

use sextant_core::{
    CosmosError, CosmosOperation, CosmosResponse, Drained, Execution, OperationOptions, Turn,
};
use sextant_host::paged::AsyncRunner;

use crate::driver::CosmosDriver;

sextant_host::impl_async_paged!(CosmosDriver);

impl AsyncRunner for CosmosDriver {
    fn execute(
        &self,
        op: CosmosOperation,
        opts: Option<OperationOptions>,
    ) -> impl Future<Output = Result<CosmosResponse, CosmosError>> {
        self.execute_operation(op, opts)
    }

    fn drive<'a>(
        &'a self,
        exec: &'a mut Execution,
        turn: Turn,
        drained: Drained,
    ) -> impl Future<Output = Result<CosmosResponse, CosmosError>> + 'a {
        crate::execute::drive(self.core(), self.client(), exec, turn, drained)
    }
}
