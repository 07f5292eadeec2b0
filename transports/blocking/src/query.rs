//! `QueryPager`: the pages of a query, one `next_page()` at a time, on the caller's thread.

use sextant_core::{CosmosError, QueryPage, Turn};

use crate::client::now;
use crate::driver::CosmosDriver;

/// The pages of one query (see [`CosmosDriver::query`]). Each page is one execution of the
/// core's drain loop, like any operation; the state between pages (server continuations, rows
/// already fetched from other ranges) stays in this object, so nothing is fetched twice.
///
/// It is also an [`Iterator`] of pages.
#[derive(Debug)]
pub struct QueryPager {
    driver: CosmosDriver,
    core: sextant_core::QueryPager,
}

impl QueryPager {
    pub(crate) fn new(driver: CosmosDriver, core: sextant_core::QueryPager) -> Self {
        QueryPager { driver, core }
    }

    /// The next page, or `None` after the last one. A failed page can be asked for again: the
    /// pager's state is unchanged by a failure.
    pub fn next_page(&mut self) -> Option<Result<QueryPage, CosmosError>> {
        let inner = self.driver.inner();
        let mut turn = Turn::default();
        let core = &mut self.core;
        let (mut exec, drained) =
            inner
                .shared
                .start_turn_with(|d| core.start_page(d, now()), now(), &mut turn)?;
        let outcome = self.driver.drive(&mut exec, turn, drained);
        Some(self.core.finish_page(&mut exec, outcome))
    }

    /// True once the last page was returned.
    pub fn is_done(&self) -> bool {
        self.core.is_done()
    }

    /// A token to resume after the last page returned, in this or another process, on any
    /// transport (`OperationOptions::with_continuation`); `None` when done.
    pub fn continuation(&self) -> Option<String> {
        self.core.continuation()
    }
}

impl Iterator for QueryPager {
    type Item = Result<QueryPage, CosmosError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_page()
    }
}
