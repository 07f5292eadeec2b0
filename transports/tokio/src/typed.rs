//! The typed layer on this transport: `driver.database(id).container(id)`, written once for the
//! async transports in `sextant_host::typed`.

use crate::driver::CosmosDriver;
use crate::paged::{BulkRun, BulkStreamRun, ChangeFeedPager, QueryPager};

sextant_host::impl_async_typed!(
    CosmosDriver,
    QueryPager,
    ChangeFeedPager,
    BulkRun,
    BulkStreamRun
);
