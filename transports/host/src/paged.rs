//! The async transports' paged and windowed runs (query pages, change-feed pages, bulk
//! windows), written once over [`AsyncRunner`]. Each page or window is one execution of the
//! core, started under the driver's lock with its first turn and driven to its outcome like any
//! operation; the state between them stays in the core's pager or executor. Each transport
//! names them (`sextant_tokio::QueryPager` is `QueryPager<sextant_tokio::CosmosDriver>`).

use std::fmt;
use std::future::Future;

use sextant_core::feed::{FeedRange, FeedRangesRead};
use sextant_core::models::ContainerReference;
use sextant_core::{
    BulkExecutor, BulkOperation, BulkProgress, BulkResult, ChangeFeedPage, CosmosError,
    CosmosOperation, CosmosResponse, Drained, DriverHandle, Execution, OperationOptions, QueryPage,
    Turn,
};

use crate::now;
use crate::typed::{TypedBulkRunner, TypedFeedPager, TypedPager};

/// What the paged runs need from an async transport's driver: its core
/// ([`DriverHandle::shared`]), to start each page or window under the lock with its first
/// turn, and its loop, to drive that execution or run a whole operation. Cheap to clone, as
/// [`DriverHandle`] requires: each pager and run keeps its own handle.
pub trait AsyncRunner: DriverHandle {
    /// Runs one operation (the transport's `execute_operation`).
    fn execute(
        &self,
        op: CosmosOperation,
        opts: Option<OperationOptions>,
    ) -> impl Future<Output = Result<CosmosResponse, CosmosError>>;

    /// Drives a started execution (its first turn taken, which gave `turn` and `drained`) to
    /// its outcome on this transport, as every operation is driven.
    fn drive<'a>(
        &'a self,
        exec: &'a mut Execution,
        turn: Turn,
        drained: Drained,
    ) -> impl Future<Output = Result<CosmosResponse, CosmosError>> + 'a;
}

/// The pages of one query (see the transport's `CosmosDriver::query`). Each page is one
/// execution of the core's drain loop, like any operation; the state between pages (server
/// continuations, rows already fetched from other ranges) stays in this object, so nothing is
/// fetched twice.
#[derive(Debug)]
pub struct QueryPager<D> {
    driver: D,
    core: sextant_core::QueryPager,
}

impl<D: AsyncRunner> QueryPager<D> {
    /// The pages of `operation` (a query) on `driver`; `options` apply to every page, and
    /// `OperationOptions::with_continuation` resumes from a token of an earlier page. For the
    /// driver's `query` (`impl_async_paged!`).
    #[doc(hidden)]
    pub fn start(
        driver: D,
        operation: CosmosOperation,
        options: Option<OperationOptions>,
    ) -> Result<Self, CosmosError> {
        let core = sextant_core::QueryPager::new(operation, options.unwrap_or_default())?;
        Ok(QueryPager { driver, core })
    }

    /// The next page, or `None` after the last one. A failed page can be asked for again: the
    /// pager's state is unchanged by a failure.
    pub async fn next_page(&mut self) -> Option<Result<QueryPage, CosmosError>> {
        let mut turn = Turn::default();
        let core = &mut self.core;
        let (mut exec, drained) = (self.driver.shared()).start_turn_with(
            |d| core.start_page(d, now()),
            now(),
            &mut turn,
        )?;
        let outcome = self.driver.drive(&mut exec, turn, drained).await;
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

/// The pages of a change feed (see the transport's `CosmosDriver::change_feed`). A change feed
/// never ends: each page holds what every range had since the last page, and an empty page
/// ([`ChangeFeedPage::is_caught_up`]) means nothing new yet; poll again later. The position
/// between pages stays in this object, and [`ChangeFeedPager::continuation`] resumes it
/// anywhere.
#[derive(Debug)]
pub struct ChangeFeedPager<D> {
    driver: D,
    core: sextant_core::ChangeFeedPager,
}

impl<D: AsyncRunner> ChangeFeedPager<D> {
    /// The pages of `operation` (a change feed) on `driver`; `options` apply to every page, and
    /// `OperationOptions::with_continuation` resumes from a token. For the driver's
    /// `change_feed` (`impl_async_paged!`).
    #[doc(hidden)]
    pub fn start(
        driver: D,
        operation: CosmosOperation,
        options: Option<OperationOptions>,
    ) -> Result<Self, CosmosError> {
        let core = sextant_core::ChangeFeedPager::new(operation, options.unwrap_or_default())?;
        Ok(ChangeFeedPager { driver, core })
    }

    /// The next page. A failed page can be asked for again: the position is unchanged by a
    /// failure.
    pub async fn next_page(&mut self) -> Result<ChangeFeedPage, CosmosError> {
        let mut turn = Turn::default();
        let core = &mut self.core;
        let (mut exec, drained) =
            (self.driver.shared()).start_turn_of(|d| core.start_page(d, now()), now(), &mut turn);
        let outcome = self.driver.drive(&mut exec, turn, drained).await;
        self.core.finish_page(&mut exec, outcome)
    }

    /// A token to resume from the current position, in this or another process, on any
    /// transport (`OperationOptions::with_continuation`).
    pub fn continuation(&self) -> Option<String> {
        self.core.continuation()
    }
}

/// The container's feed ranges, one per physical partition key range, in EPK order (the
/// transports' `read_feed_ranges`): every page of the range feed.
pub async fn read_feed_ranges<D: AsyncRunner>(
    driver: &D,
    container: ContainerReference,
) -> Result<Vec<FeedRange>, CosmosError> {
    let mut read = FeedRangesRead::new(container);
    while let Some((op, opts)) = read.next_request() {
        let response = driver.execute(op, Some(opts)).await?;
        read.take_page(&response)?;
    }
    read.finish()
}

/// A bulk run (see the transport's `CosmosDriver::bulk`). Each call of
/// [`BulkRun::next_results`] reads up to `max_in_flight` operations from the caller's input,
/// runs them as one window of the core (batches per partition key range, throttled operations
/// retried, congestion control per range), and returns every one's final result; the input is
/// read no faster than that, so memory stays bounded whatever its length.
pub struct BulkRun<D, C, I> {
    driver: D,
    core: BulkExecutor<C>,
    input: I,
}

impl<D, C, I> fmt::Debug for BulkRun<D, C, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkRun")
            .field("progress", &self.core.progress())
            .finish_non_exhaustive()
    }
}

impl<D: AsyncRunner, C, I: Iterator<Item = (C, BulkOperation)>> BulkRun<D, C, I> {
    /// A run of `core` on `driver` over `input`. For the driver's `bulk` (`impl_async_paged!`).
    #[doc(hidden)]
    pub fn new(driver: D, core: BulkExecutor<C>, input: I) -> Self {
        BulkRun {
            driver,
            core,
            input,
        }
    }

    /// The results of the next window, in the order the operations were given (each with the
    /// caller's correlation id), or `None` once the input is exhausted. A window that fails as
    /// a whole gives its error to each operation it had not finished.
    pub async fn next_results(&mut self) -> Option<Vec<BulkResult<C>>> {
        let window: Vec<(C, BulkOperation)> =
            self.input.by_ref().take(self.core.window_size()).collect();
        if window.is_empty() {
            return None;
        }
        Some(self.run_window(window).await)
    }
}

impl<D, C, I> BulkRun<D, C, I> {
    /// What the run has done so far (updated as each window ends).
    pub fn progress(&self) -> BulkProgress {
        self.core.progress()
    }
}

impl<D: AsyncRunner, C, I> BulkRun<D, C, I> {
    /// Runs one window of operations to its end.
    async fn run_window(&mut self, window: Vec<(C, BulkOperation)>) -> Vec<BulkResult<C>> {
        let mut turn = Turn::default();
        let core = &mut self.core;
        let (mut exec, drained) = (self.driver.shared()).start_turn_of(
            |d| core.start_window(d, window, now()),
            now(),
            &mut turn,
        );
        let outcome = self.driver.drive(&mut exec, turn, drained).await;
        self.core.finish_window(&mut exec, outcome)
    }
}

/// A bulk run fed by an async stream (see the transport's `CosmosDriver::bulk_stream`): like
/// [`BulkRun`], but a window starts as soon as the stream has an operation ready and takes
/// what is ready, up to `max_in_flight`, so a slow producer never holds finished work back.
pub struct BulkStreamRun<D, C, S> {
    run: BulkRun<D, C, ()>,
    input: S,
}

impl<D, C, S> fmt::Debug for BulkStreamRun<D, C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.run.fmt(f)
    }
}

impl<D, C, S> BulkStreamRun<D, C, S>
where
    D: AsyncRunner,
    S: futures_lite::Stream<Item = (C, BulkOperation)> + Unpin,
{
    /// A run of `core` on `driver` over `input`. For the driver's `bulk_stream`
    /// (`impl_async_paged!`).
    #[doc(hidden)]
    pub fn new(driver: D, core: BulkExecutor<C>, input: S) -> Self {
        BulkStreamRun {
            run: BulkRun {
                driver,
                core,
                input: (),
            },
            input,
        }
    }

    /// The results of the next window, in the order the operations came (each with the
    /// caller's correlation id), or `None` once the stream has ended.
    pub async fn next_results(&mut self) -> Option<Vec<BulkResult<C>>> {
        let window = crate::take_ready(&mut self.input, self.run.core.window_size()).await;
        if window.is_empty() {
            return None;
        }
        Some(self.run.run_window(window).await)
    }

    /// What the run has done so far (updated as each window ends).
    pub fn progress(&self) -> BulkProgress {
        self.run.core.progress()
    }
}

impl<D: AsyncRunner> TypedPager for QueryPager<D> {
    fn next_page(&mut self) -> impl Future<Output = Option<Result<QueryPage, CosmosError>>> {
        QueryPager::next_page(self)
    }
}

impl<D: AsyncRunner> TypedFeedPager for ChangeFeedPager<D> {
    fn next_page(&mut self) -> impl Future<Output = Result<ChangeFeedPage, CosmosError>> {
        ChangeFeedPager::next_page(self)
    }
}

impl<D, C, I> TypedBulkRunner<C> for BulkRun<D, C, I>
where
    D: AsyncRunner,
    I: Iterator<Item = (C, BulkOperation)>,
{
    fn next_results(&mut self) -> impl Future<Output = Option<Vec<BulkResult<C>>>> {
        BulkRun::next_results(self)
    }

    fn progress(&self) -> BulkProgress {
        BulkRun::progress(self)
    }
}

impl<D, C, S> TypedBulkRunner<C> for BulkStreamRun<D, C, S>
where
    D: AsyncRunner,
    S: futures_lite::Stream<Item = (C, BulkOperation)> + Unpin,
{
    fn next_results(&mut self) -> impl Future<Output = Option<Vec<BulkResult<C>>>> {
        BulkStreamRun::next_results(self)
    }

    fn progress(&self) -> BulkProgress {
        BulkStreamRun::progress(self)
    }
}

/// The async transports' paged runs and the driver methods above the operation loop, written
/// once: `impl_async_paged!(CosmosDriver)` in a transport's `paged` module names
/// `QueryPager`, `ChangeFeedPager`, `BulkRun<C, I>` and `BulkStreamRun<C, S>` for its driver and
/// adds `CosmosDriver::{query, change_feed, bulk, bulk_stream, change_feed_processor,
/// read_feed_ranges, read_throughput, replace_throughput, drive_throughput}`. The driver
/// implements [`AsyncRunner`] and `processor::AsyncDriver`.
#[macro_export]
macro_rules! impl_async_paged {
    ($driver:ident) => {
        /// The pages of one query (see [`CosmosDriver::query`]). Each page is one execution of
        /// the core's drain loop, like any operation; the state between pages (server
        /// continuations, rows already fetched from other ranges) stays in this object, so
        /// nothing is fetched twice. Call `next_page().await` until it returns `None`.
        pub type QueryPager = $crate::paged::QueryPager<$driver>;

        /// The pages of a change feed (see [`CosmosDriver::change_feed`]). A change feed never
        /// ends: each page holds what every range had since the last page, and an empty page
        /// ([`crate::ChangeFeedPage::is_caught_up`]) means nothing new yet; poll
        /// `next_page().await` again later. `continuation()` resumes the position anywhere.
        pub type ChangeFeedPager = $crate::paged::ChangeFeedPager<$driver>;

        /// A bulk run (see [`CosmosDriver::bulk`]). Each `next_results().await` reads up to
        /// `max_in_flight` operations from the caller's input, runs them as one window of the
        /// core (batches per partition key range, throttled operations retried, congestion
        /// control per range), and returns every one's final result; the input is read no
        /// faster than that, so memory stays bounded whatever its length.
        pub type BulkRun<C, I> = $crate::paged::BulkRun<$driver, C, I>;

        /// A bulk run fed by an async stream (see [`CosmosDriver::bulk_stream`]): like
        /// [`BulkRun`], but a window starts as soon as the stream has an operation ready and
        /// takes what is ready, up to `max_in_flight`, so a slow producer never holds finished
        /// work back.
        pub type BulkStreamRun<C, S> = $crate::paged::BulkStreamRun<$driver, C, S>;

        impl $driver {
            /// The throughput of a database (shared) or container (dedicated): its offer, found
            /// by the resource's `_rid` (PROTOCOL.md §10.1). `None` when it has no throughput of
            /// its own.
            pub async fn read_throughput(
                &self,
                target: impl Into<sextant_core::throughput::ThroughputTarget>,
            ) -> Result<
                Option<sextant_core::throughput::ThroughputResponse>,
                sextant_core::CosmosError,
            > {
                let flow = sextant_core::throughput::ThroughputFlow::read(target);
                $crate::throughput::drive(self, flow).await
            }

            /// Sets the throughput of a database or container, migrating between manual and
            /// autoscale when the mode differs, and waits (polling every 5 s) until the service
            /// has applied it; see `sextant_core::throughput::ThroughputFlow` to poll
            /// differently.
            pub async fn replace_throughput(
                &self,
                target: impl Into<sextant_core::throughput::ThroughputTarget>,
                throughput: sextant_core::models::ThroughputProperties,
            ) -> Result<
                Option<sextant_core::throughput::ThroughputResponse>,
                sextant_core::CosmosError,
            > {
                let flow = sextant_core::throughput::ThroughputFlow::replace(target, throughput);
                self.drive_throughput(flow).await
            }

            /// Runs a throughput flow built by the caller (custom polling).
            pub async fn drive_throughput(
                &self,
                flow: sextant_core::throughput::ThroughputFlow,
            ) -> Result<
                Option<sextant_core::throughput::ThroughputResponse>,
                sextant_core::CosmosError,
            > {
                $crate::throughput::drive(self, flow).await
            }

            /// The container's feed ranges, one per physical partition key range, in EPK order:
            /// the unit a caller parallelises a query (or, later, the change feed) over with
            /// `CosmosOperation::with_feed_range`. Reads every page of the range feed.
            pub async fn read_feed_ranges(
                &self,
                container: sextant_core::models::ContainerReference,
            ) -> Result<Vec<sextant_core::feed::FeedRange>, sextant_core::CosmosError> {
                $crate::paged::read_feed_ranges(self, container).await
            }

            /// The pages of a query ([`CosmosOperation::query`]): call
            /// [`QueryPager::next_page`] until it returns `None`. Options apply to every page;
            /// `OperationOptions::with_continuation` resumes from a token of an earlier page.
            pub fn query(
                &self,
                operation: sextant_core::CosmosOperation,
                options: Option<sextant_core::OperationOptions>,
            ) -> Result<QueryPager, sextant_core::CosmosError> {
                QueryPager::start(self.clone(), operation, options)
            }

            /// Runs many item operations as a bulk run on `builder`'s container: each
            /// `(correlation id, operation)` of `operations` (any iterator, read lazily) is
            /// grouped by partition key range and sent in non-atomic batches; call
            /// [`BulkRun::next_results`] until it returns `None`. Throttled operations are
            /// retried one by one after their retry-after; at most `max_in_flight` operations
            /// are held at once.
            pub fn bulk<C, I>(
                &self,
                builder: sextant_core::BulkBuilder,
                operations: I,
            ) -> BulkRun<C, I::IntoIter>
            where
                I: IntoIterator<Item = (C, sextant_core::BulkOperation)>,
            {
                BulkRun::new(self.clone(), builder.build(), operations.into_iter())
            }

            /// [`CosmosDriver::bulk`] fed by an async stream of `(correlation id, operation)`: a
            /// window starts as soon as an operation is ready and takes what is ready (up to
            /// `max_in_flight`); call [`BulkStreamRun::next_results`] until it returns `None`.
            pub fn bulk_stream<C, S>(
                &self,
                builder: sextant_core::BulkBuilder,
                operations: S,
            ) -> BulkStreamRun<C, S>
            where
                S: futures_lite::Stream<Item = (C, sextant_core::BulkOperation)> + Unpin,
            {
                BulkStreamRun::new(self.clone(), builder.build(), operations)
            }

            /// The pages of a change feed ([`CosmosOperation::change_feed`]): call
            /// [`ChangeFeedPager::next_page`] as often as new changes are wanted. Options apply
            /// to every page; `OperationOptions::with_continuation` resumes from a token.
            pub fn change_feed(
                &self,
                operation: sextant_core::CosmosOperation,
                options: Option<sextant_core::OperationOptions>,
            ) -> Result<ChangeFeedPager, sextant_core::CosmosError> {
                ChangeFeedPager::start(self.clone(), operation, options)
            }

            /// One host of a change-feed processor on `monitored`, with its leases in `leases` (a
            /// container partitioned by `/id`). Run it with [`crate::ChangeFeedProcessor::run`];
            /// any number of hosts with distinct `options.host` names share the leases fairly.
            pub fn change_feed_processor(
                &self,
                monitored: sextant_core::models::ContainerReference,
                leases: sextant_core::models::ContainerReference,
                options: sextant_core::changefeed::processor::ProcessorOptions,
            ) -> $crate::processor::AsyncProcessor<$driver> {
                let seed = $crate::fresh_seed();
                $crate::processor::AsyncProcessor::new(
                    self.clone(),
                    monitored,
                    leases,
                    options,
                    seed,
                )
            }
        }
    };
}
