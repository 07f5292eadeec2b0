//! `BulkRun`: a bulk run, one window of operations at a time.

use std::fmt;

use sextant_core::{BulkExecutor, BulkOperation, BulkProgress, BulkResult, Turn};

use crate::client::now;
use crate::driver::CosmosDriver;

/// A bulk run (see [`CosmosDriver::bulk`]). Each call of [`BulkRun::next_results`] reads up
/// to `max_in_flight` operations from the caller's input, runs them as one window of the
/// core (batches per partition key range, throttled operations retried, congestion control
/// per range), and returns every one's final result; the input is read no faster than that,
/// so memory stays bounded whatever its length.
pub struct BulkRun<C, I> {
    driver: CosmosDriver,
    core: BulkExecutor<C>,
    input: I,
}

impl<C, I> fmt::Debug for BulkRun<C, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkRun")
            .field("progress", &self.core.progress())
            .finish_non_exhaustive()
    }
}

impl<C, I: Iterator<Item = (C, BulkOperation)>> BulkRun<C, I> {
    pub(crate) fn new(driver: CosmosDriver, core: BulkExecutor<C>, input: I) -> Self {
        BulkRun {
            driver,
            core,
            input,
        }
    }

    /// The results of the next window, in the order the operations were given (each with the
    /// caller's correlation id), or `None` once the input is exhausted. A window that fails as
    /// a whole gives its error to each operation it had not finished.
    pub fn next_results(&mut self) -> Option<Vec<BulkResult<C>>> {
        let window: Vec<(C, BulkOperation)> =
            self.input.by_ref().take(self.core.window_size()).collect();
        if window.is_empty() {
            return None;
        }
        let driver = &self.driver;
        let core = &mut self.core;
        let mut turn = Turn::default();
        let (mut exec, drained) =
            driver
                .core()
                .start_turn_of(|d| core.start_window(d, window, now()), now(), &mut turn);
        let outcome = driver.drive(&mut exec, turn, drained);
        Some(self.core.finish_window(&mut exec, outcome))
    }

    /// What the run has done so far (updated as each window ends).
    pub fn progress(&self) -> BulkProgress {
        self.core.progress()
    }
}
