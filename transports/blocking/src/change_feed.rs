//! `ChangeFeedPager`: the pages of a change feed, one `next_page` at a time.

use sextant_core::{ChangeFeedPage, CosmosError, Turn};

use crate::client::now;
use crate::driver::CosmosDriver;

/// The pages of a change feed (see [`CosmosDriver::change_feed`]). A change feed never ends:
/// each page holds what every range had since the last page, and an empty page
/// ([`ChangeFeedPage::is_caught_up`]) means nothing new yet; poll again later. The position
/// between pages stays in this object, and [`ChangeFeedPager::continuation`] resumes it
/// anywhere.
#[derive(Debug)]
pub struct ChangeFeedPager {
    driver: CosmosDriver,
    core: sextant_core::ChangeFeedPager,
}

impl ChangeFeedPager {
    pub(crate) fn new(driver: CosmosDriver, core: sextant_core::ChangeFeedPager) -> Self {
        ChangeFeedPager { driver, core }
    }

    /// The next page. A failed page can be asked for again: the position is unchanged by a
    /// failure.
    pub fn next_page(&mut self) -> Result<ChangeFeedPage, CosmosError> {
        let driver = &self.driver;
        let core = &mut self.core;
        let mut turn = Turn::default();
        let (mut exec, drained) =
            driver
                .core()
                .start_turn_of(|d| core.start_page(d, now()), now(), &mut turn);
        let outcome = driver.drive(&mut exec, turn, drained);
        self.core.finish_page(&mut exec, outcome)
    }

    /// A token to resume from the current position, in this or another process, on any
    /// transport (`OperationOptions::with_continuation`).
    pub fn continuation(&self) -> Option<String> {
        self.core.continuation()
    }
}
