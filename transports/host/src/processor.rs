//! The change-feed processor loop of the async transports (issue 13), written once over
//! [`AsyncDriver`]: the core's `Processor` decides; this runs its commands and calls the
//! handler. (The blocking transport has the same loop without `.await`.)

use std::future::Future;
use std::time::Duration;

use serde_json::Value;
use sextant_core::changefeed::processor::requests::{self, LeaseLag, Request, ESTIMATE_CAP};
use sextant_core::changefeed::processor::{Command, Outcome, Processor, ProcessorOptions, Step};
use sextant_core::models::ContainerReference;
use sextant_core::{ChangeFeedPage, CosmosError, CosmosOperation, OperationOptions};

use crate::now;
use crate::paged::{read_feed_ranges, AsyncRunner, ChangeFeedPager, QueryPager};

/// Longest sleep between checks of `should_stop`.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// What the processor needs from an async transport's driver: its operations and pages
/// ([`AsyncRunner`]) and its runtime's timer.
pub trait AsyncDriver: AsyncRunner + Clone {
    /// Sleeps on the transport's runtime.
    fn sleep(&self, d: Duration) -> impl Future<Output = ()>;
}

/// One host of a change-feed processor on an async transport (each transport names it
/// `ChangeFeedProcessor`).
#[derive(Debug)]
pub struct AsyncProcessor<D> {
    driver: D,
    monitored: ContainerReference,
    leases: ContainerReference,
    core: Processor,
}

impl<D: AsyncDriver> AsyncProcessor<D> {
    /// A host of `options.host` on `monitored`, with its leases in `leases`.
    pub fn new(
        driver: D,
        monitored: ContainerReference,
        leases: ContainerReference,
        options: ProcessorOptions,
        seed: u64,
    ) -> Self {
        let core = Processor::new(options, seed, now());
        AsyncProcessor {
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
    pub async fn run<F, Fut, E>(&mut self, mut handler: F, mut should_stop: impl FnMut() -> bool)
    where
        F: FnMut(String, Vec<Value>) -> Fut,
        Fut: Future<Output = Result<(), E>>,
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
                    self.driver.sleep(wait).await;
                }
                Step::Run(id, command) => {
                    let outcome = match command {
                        Command::Deliver { lease, items } => match handler(lease, items).await {
                            Ok(()) => Outcome::Delivered,
                            Err(e) => Outcome::Failed(e.to_string()),
                        },
                        other => self.execute(other).await,
                    };
                    self.core.complete(id, outcome, now());
                }
            }
        }
    }

    /// The estimator: each lease's pending changes (not yet checkpointed), read from its
    /// checkpoint without handling them, up to [`ESTIMATE_CAP`] per lease (`capped` beyond).
    pub async fn estimate(&self) -> Result<Vec<LeaseLag>, CosmosError> {
        let options = self.core.options();
        let op = requests::list_leases(&self.leases, &options.lease_prefix);
        let leases = requests::leases_of(&self.query_items(op).await?);
        let mut out = Vec::with_capacity(leases.len());
        for lease in leases {
            let (op, opts) = requests::read_changes(
                &self.monitored,
                &lease.min,
                &lease.max,
                lease.continuation.as_deref(),
                options.start,
                Some(requests::ESTIMATE_PAGE_ITEMS),
            )
            .map_err(CosmosError::from)?;
            let mut opts = opts;
            let mut pending = 0u64;
            let capped = loop {
                let page = self.change_feed_page(op.clone(), opts.clone()).await?;
                if page.is_caught_up() {
                    break false;
                }
                pending += page.items().len() as u64;
                if pending >= ESTIMATE_CAP {
                    break true;
                }
                opts = opts.with_continuation(page.continuation());
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
    async fn query_items(&self, op: CosmosOperation) -> Result<Vec<Value>, CosmosError> {
        let mut pager = QueryPager::start(self.driver.clone(), op, None)?;
        let mut items = Vec::new();
        while let Some(page) = pager.next_page().await {
            items.extend(page?.into_items());
        }
        Ok(items)
    }

    /// One change-feed page from a fresh pager.
    async fn change_feed_page(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<ChangeFeedPage, CosmosError> {
        ChangeFeedPager::start(self.driver.clone(), op, Some(opts))?
            .next_page()
            .await
    }

    async fn execute(&self, command: Command) -> Outcome {
        let d = &self.driver;
        let prefix = &self.core.options().lease_prefix;
        match requests::plan(command, &self.monitored, &self.leases, prefix) {
            Request::ListLeases(op) => requests::list_outcome(self.query_items(op).await),
            Request::ReadFeedRanges => {
                requests::feed_ranges_outcome(read_feed_ranges(d, self.monitored.clone()).await)
            }
            Request::Write(op, opts) => requests::write_outcome(d.execute(op, opts).await),
            Request::Delete(op, opts) => requests::delete_outcome(d.execute(op, Some(opts)).await),
            Request::ReadChanges(op, opts) => {
                requests::changes_outcome(self.change_feed_page(op, opts).await)
            }
            Request::Done(outcome) => outcome,
        }
    }
}
