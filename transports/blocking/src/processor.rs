//! `ChangeFeedProcessor`: runs the core's processor state machine (issue 13) on this transport.

use std::time::Duration;

use serde_json::Value;
use sextant_core::changefeed::processor::requests::{
    self, LeaseLag, Request, ESTIMATE_CAP, ESTIMATE_PAGE_ITEMS,
};
use sextant_core::changefeed::processor::{Command, Outcome, Processor, ProcessorOptions, Step};
use sextant_core::models::ContainerReference;
use sextant_core::{CosmosError, CosmosOperation};

use crate::client::now;
use crate::driver::CosmosDriver;

/// Longest sleep between checks of `should_stop`.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// One host of a change-feed processor (see [`CosmosDriver::change_feed_processor`]): the
/// core decides which leases to hold, when to renew, read and checkpoint; this loop runs the
/// commands and calls the handler.
#[derive(Debug)]
pub struct ChangeFeedProcessor {
    driver: CosmosDriver,
    monitored: ContainerReference,
    leases: ContainerReference,
    core: Processor,
}

impl ChangeFeedProcessor {
    pub(crate) fn new(
        driver: CosmosDriver,
        monitored: ContainerReference,
        leases: ContainerReference,
        options: ProcessorOptions,
        seed: u64,
    ) -> Self {
        let core = Processor::new(options, seed, now());
        ChangeFeedProcessor {
            driver,
            monitored,
            leases,
            core,
        }
    }

    /// The leases this host holds now.
    pub fn owned_leases(&self) -> Vec<String> {
        self.core.owned_leases(now().mono)
    }

    /// Runs the host until `should_stop` returns true, then releases its leases and returns.
    /// `handler(lease, changes)` gets each lease's changes in feed order; a lease is
    /// checkpointed only after its handler call succeeded, so a change may be handed over
    /// again (after a failure, or by another host after this one stopped or lost the lease),
    /// never lost.
    pub fn run<F, E>(&mut self, mut handler: F, mut should_stop: impl FnMut() -> bool)
    where
        F: FnMut(String, Vec<Value>) -> Result<(), E>,
        E: std::fmt::Display,
    {
        let mut stopping = false;
        loop {
            if !stopping && should_stop() {
                stopping = true;
                self.core.stop();
            }
            match self.core.poll(now()) {
                Step::Stopped => return,
                Step::Wait(until) => {
                    let wait = until
                        .map_or(STOP_CHECK, |u| u.saturating_duration_since(now().mono))
                        .clamp(Duration::from_millis(1), STOP_CHECK);
                    std::thread::sleep(wait);
                }
                Step::Run(id, command) => {
                    let outcome = match command {
                        Command::Deliver { lease, items } => match handler(lease, items) {
                            Ok(()) => Outcome::Delivered,
                            Err(e) => Outcome::Failed(e.to_string()),
                        },
                        other => self.execute(other),
                    };
                    self.core.complete(id, outcome, now());
                }
            }
        }
    }

    /// The estimator: each lease's pending changes (not yet checkpointed), read from its
    /// checkpoint without handling them, up to `ESTIMATE_CAP` per lease (`capped` beyond).
    pub fn estimate(&self) -> Result<Vec<LeaseLag>, CosmosError> {
        let options = self.core.options();
        let op = requests::list_leases(&self.leases, &options.lease_prefix);
        let leases = requests::leases_of(&self.query_items(op)?);
        let mut out = Vec::with_capacity(leases.len());
        for lease in leases {
            let (op, opts) = requests::read_changes(
                &self.monitored,
                &lease.min,
                &lease.max,
                lease.continuation.as_deref(),
                options.start,
                Some(ESTIMATE_PAGE_ITEMS),
            )
            .map_err(CosmosError::from)?;
            let mut feed = self.driver.change_feed(op, Some(opts))?;
            let mut pending = 0u64;
            let capped = loop {
                let page = feed.next_page()?;
                if page.is_caught_up() {
                    break false;
                }
                pending += page.items().len() as u64;
                if pending >= ESTIMATE_CAP {
                    break true;
                }
            };
            out.push(LeaseLag {
                lease: lease.id,
                owner: lease.owner,
                pending,
                capped,
            });
        }
        Ok(out)
    }

    /// Every item of a query (all pages).
    fn query_items(&self, op: CosmosOperation) -> Result<Vec<Value>, CosmosError> {
        let mut pager = self.driver.query(op, None)?;
        let mut items = Vec::new();
        while let Some(page) = pager.next_page() {
            items.extend(page?.into_items());
        }
        Ok(items)
    }

    fn execute(&self, command: Command) -> Outcome {
        let d = &self.driver;
        let prefix = &self.core.options().lease_prefix;
        match requests::plan(command, &self.monitored, &self.leases, prefix) {
            Request::ListLeases(op) => requests::list_outcome(self.query_items(op)),
            Request::ReadFeedRanges => {
                requests::feed_ranges_outcome(d.read_feed_ranges(self.monitored.clone()))
            }
            Request::Write(op, opts) => requests::write_outcome(d.execute_operation(op, opts)),
            Request::Delete(op, opts) => {
                requests::delete_outcome(d.execute_operation(op, Some(opts)))
            }
            Request::ReadChanges(op, opts) => requests::changes_outcome(
                d.change_feed(op, Some(opts))
                    .and_then(|mut pager| pager.next_page()),
            ),
            Request::Done(outcome) => outcome,
        }
    }
}
