//! The typed layer of the async transports, written once: `driver.database(id).container(id)`
//! clients taking and returning the caller's serde types (the blocking transport has the same
//! clients without `.await`). Each transport names them `DatabaseClient`, `ContainerClient`,
//! `TypedQuery`, `TypedItems`, `TypedPages`, `TypedBulk`, `TypedBulkRun`,
//! `TypedAllVersionsFeed`, ... for its own driver.
//!
//! Typed bulk is the byte-level bulk run with each caller operation encoded on the way in
//! (keys read from the item by the container's key paths) and each result decoded on the way
//! out: an operation that cannot be encoded goes in as a rejected one, so it keeps its place,
//! counts in the progress and never stops the run, and its slot carries the typed error.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures_lite::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sextant_core::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, ItemReference,
    PartitionKey, PartitionKeyDefinition,
};
use sextant_core::operation::{PatchBuilder, QuerySpec};
use sextant_core::throughput::{ThroughputFlow, ThroughputResponse};
use sextant_core::typed::{
    self, BulkSlot, ChangeFeedItem, ItemResponse, TypedBulkOperation, TypedBulkResult, TypedPage,
};
use sextant_core::{
    BatchResponse, BulkBuilder, BulkOperation, BulkProgress, BulkResult, ReadManyResponse,
    TransactionalBatch,
};
use sextant_core::{
    ChangeFeedMode, ChangeFeedPage, ChangeFeedStart, CosmosDiagnostics, CosmosError,
    CosmosOperation, CosmosResponse, OperationOptions, QueryPage,
};

/// What the typed clients need from an async transport's driver.
pub trait TypedDriver: Clone {
    /// The transport's query pager.
    type Pager: TypedPager;
    /// The transport's change-feed pager.
    type FeedPager: TypedFeedPager;
    /// The account the driver serves.
    fn account(&self) -> &AccountReference;
    /// Runs one operation.
    fn run(
        &self,
        op: CosmosOperation,
        opts: Option<OperationOptions>,
    ) -> impl Future<Output = Result<CosmosResponse, CosmosError>>;
    /// A pager over a query's pages.
    fn pager(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<Self::Pager, CosmosError>;
    /// Runs a throughput flow to its end (`drive_throughput`).
    fn throughput(
        &self,
        flow: ThroughputFlow,
    ) -> impl Future<Output = Result<Option<ThroughputResponse>, CosmosError>>;
    /// A pager over a change feed.
    fn feed_pager(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<Self::FeedPager, CosmosError>;
    /// The transport's bulk run over an iterator.
    type BulkRun<C, I: Iterator<Item = (C, BulkOperation)>>: TypedBulkRunner<C>;
    /// A bulk run of `operations` (the transport's `bulk`).
    fn bulk<C, I: Iterator<Item = (C, BulkOperation)>>(
        &self,
        builder: BulkBuilder,
        operations: I,
    ) -> Self::BulkRun<C, I>;
}

/// What the typed bulk of an async transport needs for a `Stream` of operations.
pub trait TypedStreamDriver: TypedDriver {
    /// The transport's bulk run over a stream.
    type BulkStreamRun<C, S: Stream<Item = (C, BulkOperation)> + Unpin>: TypedBulkRunner<C>;
    /// A bulk run of `operations` (the transport's `bulk_stream`).
    fn bulk_stream<C, S: Stream<Item = (C, BulkOperation)> + Unpin>(
        &self,
        builder: BulkBuilder,
        operations: S,
    ) -> Self::BulkStreamRun<C, S>;
}

/// A transport's byte-level bulk run (`BulkRun`, `BulkStreamRun`).
pub trait TypedBulkRunner<C> {
    /// The next window's results, `None` once the input is exhausted.
    fn next_results(&mut self) -> impl Future<Output = Option<Vec<BulkResult<C>>>>;
    /// What the run has done so far.
    fn progress(&self) -> BulkProgress;
}

/// A transport's change-feed pager.
pub trait TypedFeedPager {
    /// The next page (empty and caught up when nothing is new).
    fn next_page(&mut self) -> impl Future<Output = Result<ChangeFeedPage, CosmosError>>;
}

/// A transport's query pager.
pub trait TypedPager {
    /// The next page, `None` after the last.
    fn next_page(&mut self) -> impl Future<Output = Option<Result<QueryPage, CosmosError>>>;
}

/// A database of a driver.
#[derive(Clone)]
pub struct DatabaseClient<D> {
    driver: D,
    database: DatabaseReference,
}

impl<D: TypedDriver> DatabaseClient<D> {
    /// A client for database `id` of `driver` (no request is made).
    pub fn new(driver: D, id: &str) -> Self {
        let database = DatabaseReference::from_name(driver.account().clone(), id);
        DatabaseClient { driver, database }
    }

    /// A client for container `id` of this database (no request is made).
    pub fn container(&self, id: &str) -> ContainerClient<D> {
        ContainerClient {
            driver: self.driver.clone(),
            container: ContainerReference::in_database(&self.database, id),
            key: Arc::new(OnceLock::new()),
        }
    }

    /// The database reference, for the byte-level API.
    pub fn reference(&self) -> &DatabaseReference {
        &self.database
    }

    /// The database's shared throughput; `None` when it has none (`ThroughputFlow`).
    pub async fn read_throughput(&self) -> Result<Option<ThroughputResponse>, CosmosError> {
        let flow = ThroughputFlow::read(self.database.clone());
        self.driver.throughput(flow).await
    }

    /// Sets the database's shared throughput and waits until it is applied.
    pub async fn replace_throughput(
        &self,
        throughput: sextant_core::models::ThroughputProperties,
    ) -> Result<Option<ThroughputResponse>, CosmosError> {
        let flow = ThroughputFlow::replace(self.database.clone(), throughput);
        self.driver.throughput(flow).await
    }
}

/// A container: item operations on serde types. The partition key definition is read once, on
/// the first write that takes the key from the item, and shared by the client's clones.
#[derive(Clone)]
pub struct ContainerClient<D> {
    driver: D,
    container: ContainerReference,
    key: Arc<OnceLock<PartitionKeyDefinition>>,
}

impl<D: TypedDriver> ContainerClient<D> {
    /// The container reference, for the byte-level API.
    pub fn reference(&self) -> &ContainerReference {
        &self.container
    }

    async fn key_definition(&self) -> Result<&PartitionKeyDefinition, CosmosError> {
        if let Some(k) = self.key.get() {
            return Ok(k);
        }
        let r = self
            .driver
            .run(
                CosmosOperation::read_container(self.container.clone()),
                None,
            )
            .await?;
        let props: ContainerProperties = typed::decode(r.response_bytes(), r.diagnostics())?;
        Ok(self.key.get_or_init(|| props.partition_key))
    }

    async fn write<T: Serialize + DeserializeOwned>(
        &self,
        item: &T,
        op: impl FnOnce(&str) -> CosmosOperation,
        options: Option<OperationOptions>,
    ) -> Result<ItemResponse<T>, CosmosError> {
        let encoded = typed::encode_item(item, self.key_definition().await?, None)?;
        let body = encoded.body.clone();
        let r = self
            .driver
            .run(
                op(&encoded.id)
                    .with_partition_key(encoded.partition_key)
                    .with_body(encoded.body),
                options,
            )
            .await?;
        respond(&r, &body)
    }

    /// Creates `item` (409 if its id exists in its partition).
    pub async fn create_item<T: Serialize + DeserializeOwned>(
        &self,
        item: &T,
    ) -> Result<ItemResponse<T>, CosmosError> {
        let c = self.container.clone();
        self.write(item, |_| CosmosOperation::create(c), None).await
    }

    /// Creates or replaces `item`.
    pub async fn upsert_item<T: Serialize + DeserializeOwned>(
        &self,
        item: &T,
    ) -> Result<ItemResponse<T>, CosmosError> {
        let c = self.container.clone();
        self.write(item, |_| CosmosOperation::upsert(c), None).await
    }

    /// Replaces the item with `item`'s id; with `if_match` (an etag), only if it is unchanged
    /// since (412 otherwise).
    pub async fn replace_item<T: Serialize + DeserializeOwned>(
        &self,
        item: &T,
        if_match: Option<&str>,
    ) -> Result<ItemResponse<T>, CosmosError> {
        let c = &self.container;
        let options = if_match.map(|e| OperationOptions::new().with_if_match(e));
        self.write(
            item,
            |id| CosmosOperation::replace(ItemReference::in_container(c, id)),
            options,
        )
        .await
    }

    /// Reads item `id` of partition `partition_key`; `None` when it does not exist.
    pub async fn read_item<T: DeserializeOwned>(
        &self,
        partition_key: impl Into<PartitionKey>,
        id: &str,
    ) -> Result<Option<ItemResponse<T>>, CosmosError> {
        let op = CosmosOperation::read(ItemReference::in_container(&self.container, id))
            .with_partition_key(partition_key);
        match self.driver.run(op, None).await {
            Ok(r) => ItemResponse::from_response(&r).map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes item `id` of partition `partition_key`; `false` when it did not exist.
    pub async fn delete_item(
        &self,
        partition_key: impl Into<PartitionKey>,
        id: &str,
    ) -> Result<bool, CosmosError> {
        let op = CosmosOperation::delete(ItemReference::in_container(&self.container, id))
            .with_partition_key(partition_key);
        match self.driver.run(op, None).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Applies `patch` to item `id` of partition `partition_key` and returns the patched item.
    pub async fn patch_item<T: DeserializeOwned>(
        &self,
        partition_key: impl Into<PartitionKey>,
        id: &str,
        patch: PatchBuilder,
    ) -> Result<ItemResponse<T>, CosmosError> {
        let op = CosmosOperation::patch(ItemReference::in_container(&self.container, id), patch)
            .with_partition_key(partition_key);
        let r = self.driver.run(op, None).await?;
        ItemResponse::from_response(&r)
    }

    /// Reads many items by (id, partition key) in as few requests as the ranges allow; the
    /// result is in the order given, `None` where an item does not exist.
    pub async fn read_many<T, I, S, K>(&self, keys: I) -> Result<Vec<Option<T>>, CosmosError>
    where
        T: DeserializeOwned,
        I: IntoIterator<Item = (S, K)>,
        S: Into<String>,
        K: Into<PartitionKey>,
    {
        let keys: Vec<(String, PartitionKey)> = keys
            .into_iter()
            .map(|(i, k)| (i.into(), k.into()))
            .collect();
        let n = keys.len();
        let op = CosmosOperation::read_many(self.container.clone(), keys);
        let r = self.driver.run(op, None).await?;
        let many = ReadManyResponse::from_response(&r, n)?;
        let diagnostics = Arc::clone(many.diagnostics());
        many.into_items()
            .into_iter()
            .map(|v| v.map(|v| typed::from_value(v, &diagnostics)).transpose())
            .collect()
    }

    /// A transactional batch on partition `partition_key`: add operations, then
    /// [`TypedBatch::execute`]. Every item must belong to that partition (checked before
    /// sending).
    pub fn batch(&self, partition_key: impl Into<PartitionKey>) -> TypedBatch<D> {
        let partition_key = partition_key.into();
        TypedBatch {
            client: self.clone(),
            batch: TransactionalBatch::new(partition_key.clone()),
            partition_key,
            items: Vec::new(),
            problem: None,
        }
    }

    fn feed(
        &self,
        mode: ChangeFeedMode,
        start: ChangeFeedStart,
        continuation: Option<&str>,
    ) -> Result<D::FeedPager, CosmosError> {
        let op = CosmosOperation::change_feed(self.container.clone(), mode, start);
        let mut opts = OperationOptions::new();
        if let Some(t) = continuation {
            opts = opts.with_continuation(t);
        }
        self.driver.feed_pager(op, opts)
    }

    /// The latest-version change feed of the container from `start`, or from `continuation`
    /// (a token of an earlier page) when given; pages of `T`s.
    pub fn change_feed<T: DeserializeOwned>(
        &self,
        start: ChangeFeedStart,
        continuation: Option<&str>,
    ) -> Result<TypedChangeFeed<D::FeedPager, T>, CosmosError> {
        Ok(TypedChangeFeed {
            pager: self.feed(ChangeFeedMode::LatestVersion, start, continuation)?,
            rows: PhantomData,
        })
    }

    /// The all-versions-and-deletes change feed of the container from `start` (only
    /// [`ChangeFeedStart::Now`]: the service keeps no history to start earlier), or from
    /// `continuation` (a token of an earlier page of this mode) when given: every create,
    /// replace and delete as a [`ChangeFeedItem`] of `T`s, deletes with the item's id and
    /// partition key.
    pub fn change_feed_all_versions<T: DeserializeOwned>(
        &self,
        start: ChangeFeedStart,
        continuation: Option<&str>,
    ) -> Result<TypedAllVersionsFeed<D, T>, CosmosError> {
        Ok(TypedAllVersionsFeed {
            pager: self.feed(ChangeFeedMode::AllVersionsAndDeletes, start, continuation)?,
            client: self.clone(),
            rows: PhantomData,
        })
    }

    /// A bulk run on this container: set its bounds, then [`TypedBulk::run`] any iterator of
    /// (your correlation, [`TypedBulkOperation`]) (or, on the async transports,
    /// [`TypedBulk::run_stream`] a `Stream` of them) and read each operation's typed result.
    pub fn bulk(&self) -> TypedBulk<D> {
        TypedBulk {
            client: self.clone(),
            builder: BulkBuilder::new(self.container.clone()),
        }
    }

    /// The container's own throughput; `None` when it shares its database's.
    pub async fn read_throughput(&self) -> Result<Option<ThroughputResponse>, CosmosError> {
        let flow = ThroughputFlow::read(self.container.clone());
        self.driver.throughput(flow).await
    }

    /// Sets the container's throughput and waits until it is applied.
    pub async fn replace_throughput(
        &self,
        throughput: sextant_core::models::ThroughputProperties,
    ) -> Result<Option<ThroughputResponse>, CosmosError> {
        let flow = ThroughputFlow::replace(self.container.clone(), throughput);
        self.driver.throughput(flow).await
    }

    /// A query whose rows are `T`s; add parameters with [`TypedQuery::param`], scope it with
    /// [`TypedQuery::partition_key`], then read [`TypedQuery::items`].
    pub fn query<T: DeserializeOwned>(&self, sql: &str) -> TypedQuery<D, T> {
        TypedQuery {
            client: self.clone(),
            spec: QuerySpec::new(sql),
            partition_key: None,
            options: OperationOptions::new(),
            problem: None,
            rows: PhantomData,
        }
    }
}

/// A change feed of a [`ContainerClient`] whose items are `T`s.
pub struct TypedChangeFeed<P, T> {
    pager: P,
    rows: PhantomData<fn() -> T>,
}

/// One page of a [`TypedChangeFeed`].
#[derive(Debug, Clone)]
pub struct TypedFeedPage<T> {
    /// The changed items, in the feed's order.
    pub items: Vec<T>,
    /// Resumes after this page, in any process, on any transport.
    pub continuation: String,
    /// Nothing was new: the feed is caught up.
    pub caught_up: bool,
}

impl<P: TypedFeedPager, T: DeserializeOwned> TypedChangeFeed<P, T> {
    /// The next page of changes (empty and `caught_up` when nothing is new; ask again later).
    pub async fn next_page(&mut self) -> Result<TypedFeedPage<T>, CosmosError> {
        let page = self.pager.next_page().await?;
        let continuation = page.continuation().to_owned();
        let caught_up = page.is_caught_up();
        let diagnostics = Arc::new(CosmosDiagnostics::empty());
        let items = page
            .into_items()
            .into_iter()
            .map(|v| typed::from_value(v, &diagnostics))
            .collect::<Result<_, _>>()?;
        Ok(TypedFeedPage {
            items,
            continuation,
            caught_up,
        })
    }
}

/// An all-versions-and-deletes change feed of a [`ContainerClient`] whose items are `T`s.
pub struct TypedAllVersionsFeed<D: TypedDriver, T> {
    client: ContainerClient<D>,
    pager: D::FeedPager,
    rows: PhantomData<fn() -> T>,
}

impl<D: TypedDriver, T: DeserializeOwned> TypedAllVersionsFeed<D, T> {
    /// The next page of changes (empty and `caught_up` when nothing is new; ask again later):
    /// creates, replaces and deletes in the order the service wrote them per range. The first
    /// call reads the container's partition key definition (once per client), before any page,
    /// so that a failure there loses no change.
    pub async fn next_page(&mut self) -> Result<TypedFeedPage<ChangeFeedItem<T>>, CosmosError> {
        let definition = self.client.key_definition().await?;
        let page = self.pager.next_page().await?;
        let continuation = page.continuation().to_owned();
        let caught_up = page.is_caught_up();
        let diagnostics = Arc::clone(page.diagnostics());
        let items = page
            .into_items()
            .into_iter()
            .map(|v| typed::decode_change(v, Some(definition), &diagnostics))
            .collect::<Result<_, _>>()?;
        Ok(TypedFeedPage {
            items,
            continuation,
            caught_up,
        })
    }
}

/// A typed bulk run's settings on a [`ContainerClient`] (the byte-level [`BulkBuilder`]'s):
/// set bounds, then [`TypedBulk::run`].
pub struct TypedBulk<D> {
    client: ContainerClient<D>,
    builder: BulkBuilder,
}

impl<D: TypedDriver> TypedBulk<D> {
    /// Operations held at once (the window; [`BulkBuilder::max_in_flight`]).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.builder = self.builder.max_in_flight(n);
        self
    }

    /// Retries of one throttled operation ([`BulkBuilder::max_throttle_retries`]).
    pub fn max_throttle_retries(mut self, n: u32) -> Self {
        self.builder = self.builder.max_throttle_retries(n);
        self
    }

    /// Batch requests in flight at once ([`BulkBuilder::max_concurrent_batches`]).
    pub fn max_concurrent_batches(mut self, n: usize) -> Self {
        self.builder = self.builder.max_concurrent_batches(n);
        self
    }

    /// Most batches in flight to one range ([`BulkBuilder::max_degree_of_concurrency`]).
    pub fn max_degree_of_concurrency(mut self, n: usize) -> Self {
        self.builder = self.builder.max_degree_of_concurrency(n);
        self
    }

    /// Options for every batch request ([`BulkBuilder::options`]).
    pub fn options(mut self, options: OperationOptions) -> Self {
        self.builder = self.builder.options(options);
        self
    }

    /// Runs `operations`, (your correlation, operation) pairs from any iterator, read lazily
    /// one window at a time: call [`TypedBulkRun::next_results`] until it returns `None`.
    pub fn run<C, T, I>(self, operations: I) -> TypedBulkRun<D, C, T, I::IntoIter>
    where
        T: DeserializeOwned,
        I: IntoIterator<Item = (C, TypedBulkOperation<T>)>,
    {
        TypedBulkRun {
            windows: Windows::new(self),
            input: Some(operations.into_iter()),
            run: None,
        }
    }
}

impl<D: TypedStreamDriver> TypedBulk<D> {
    /// Runs `operations`, (your correlation, operation) pairs from a `Stream`: a window starts
    /// as soon as one is ready and takes what is ready (the transport's `bulk_stream`); call
    /// [`TypedBulkStreamRun::next_results`] until it returns `None`.
    pub fn run_stream<C, T, S>(self, operations: S) -> TypedBulkStreamRun<D, C, T, S>
    where
        T: DeserializeOwned,
        S: Stream<Item = (C, TypedBulkOperation<T>)> + Unpin,
    {
        TypedBulkStreamRun {
            windows: Windows::new(self),
            input: Some(operations),
            run: None,
        }
    }
}

/// What both typed bulk runs share: the container, the settings, and the operations answered
/// before the byte-level run could start.
struct Windows<D> {
    client: ContainerClient<D>,
    builder: BulkBuilder,
    window: usize,
    /// Operations given an error because the key definition could not be read.
    failed_early: u64,
}

impl<D: TypedDriver> Windows<D> {
    fn new(bulk: TypedBulk<D>) -> Self {
        let window = bulk.builder.clone().build::<()>().window_size();
        Windows {
            client: bulk.client,
            builder: bulk.builder,
            window,
            failed_early: 0,
        }
    }

    /// The partition key definition, or the error to give the next window's operations.
    async fn definition(&self) -> Result<PartitionKeyDefinition, CosmosError> {
        self.client.key_definition().await.cloned()
    }

    /// Each of `operations` answered with `error`.
    fn fail<C, T>(
        &mut self,
        operations: Vec<(C, TypedBulkOperation<T>)>,
        error: &CosmosError,
    ) -> Vec<TypedBulkResult<C, T>> {
        self.failed_early += operations.len() as u64;
        operations
            .into_iter()
            .map(|(correlation, _)| TypedBulkResult {
                correlation,
                outcome: Err(error.clone()),
            })
            .collect()
    }

    fn progress(&self, run: Option<BulkProgress>) -> BulkProgress {
        let mut p = run.unwrap_or_default();
        p.operations_done += self.failed_early;
        p.operations_failed += self.failed_early;
        p
    }
}

/// The caller's operations as byte-level ones, keys read from the items.
struct Encode<I> {
    input: I,
    definition: PartitionKeyDefinition,
}

impl<C, T, I> Iterator for Encode<I>
where
    I: Iterator<Item = (C, TypedBulkOperation<T>)>,
{
    type Item = (BulkSlot<C>, BulkOperation);

    fn next(&mut self) -> Option<Self::Item> {
        let (c, op) = self.input.next()?;
        Some(typed::bulk_entry(c, op, &self.definition))
    }
}

impl<C, T, S> Stream for Encode<S>
where
    S: Stream<Item = (C, TypedBulkOperation<T>)> + Unpin,
{
    type Item = (BulkSlot<C>, BulkOperation);

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = &mut *self;
        std::pin::Pin::new(&mut this.input)
            .poll_next(cx)
            .map(|o| o.map(|(c, op)| typed::bulk_entry(c, op, &this.definition)))
    }
}

/// A typed bulk run over an iterator (see [`TypedBulk::run`]).
pub struct TypedBulkRun<D, C, T, I>
where
    D: TypedDriver,
    I: Iterator<Item = (C, TypedBulkOperation<T>)>,
{
    windows: Windows<D>,
    input: Option<I>,
    run: Option<D::BulkRun<BulkSlot<C>, Encode<I>>>,
}

impl<D, C, T, I> TypedBulkRun<D, C, T, I>
where
    D: TypedDriver,
    T: DeserializeOwned,
    I: Iterator<Item = (C, TypedBulkOperation<T>)>,
{
    /// The results of the next window, in the order the operations were given, each with your
    /// correlation; `None` once the input is exhausted. The first call reads the container's
    /// partition key definition (once per client); if that fails, the window's operations get
    /// its error and the next call tries again.
    pub async fn next_results(&mut self) -> Option<Vec<TypedBulkResult<C, T>>> {
        if self.run.is_none() {
            match self.windows.definition().await {
                Ok(definition) => {
                    let input = self.input.take()?;
                    let encode = Encode { input, definition };
                    let builder = self.windows.builder.clone();
                    self.run = Some(self.windows.client.driver.bulk(builder, encode));
                }
                Err(e) => {
                    let input = self.input.as_mut()?;
                    let window: Vec<_> = input.take(self.windows.window).collect();
                    if window.is_empty() {
                        return None;
                    }
                    return Some(self.windows.fail(window, &e));
                }
            }
        }
        let results = self.run.as_mut()?.next_results().await?;
        Some(results.into_iter().map(typed::bulk_result).collect())
    }

    /// What the run has done so far (updated as each window ends): operations done and
    /// failed (per-item errors included), request units, throttling, batches.
    pub fn progress(&self) -> BulkProgress {
        self.windows
            .progress(self.run.as_ref().map(TypedBulkRunner::progress))
    }
}

/// A typed bulk run over a `Stream` (see [`TypedBulk::run_stream`]).
pub struct TypedBulkStreamRun<D, C, T, S>
where
    D: TypedStreamDriver,
    S: Stream<Item = (C, TypedBulkOperation<T>)> + Unpin,
{
    windows: Windows<D>,
    input: Option<S>,
    run: Option<D::BulkStreamRun<BulkSlot<C>, Encode<S>>>,
}

impl<D, C, T, S> TypedBulkStreamRun<D, C, T, S>
where
    D: TypedStreamDriver,
    T: DeserializeOwned,
    S: Stream<Item = (C, TypedBulkOperation<T>)> + Unpin,
{
    /// The results of the next window, in the order the operations came, each with your
    /// correlation; `None` once the stream has ended. As [`TypedBulkRun::next_results`].
    pub async fn next_results(&mut self) -> Option<Vec<TypedBulkResult<C, T>>> {
        if self.run.is_none() {
            match self.windows.definition().await {
                Ok(definition) => {
                    let input = self.input.take()?;
                    let encode = Encode { input, definition };
                    let builder = self.windows.builder.clone();
                    self.run = Some(self.windows.client.driver.bulk_stream(builder, encode));
                }
                Err(e) => {
                    let input = self.input.as_mut()?;
                    let window = crate::take_ready(input, self.windows.window).await;
                    if window.is_empty() {
                        return None;
                    }
                    return Some(self.windows.fail(window, &e));
                }
            }
        }
        let results = self.run.as_mut()?.next_results().await?;
        Some(results.into_iter().map(typed::bulk_result).collect())
    }

    /// What the run has done so far (as [`TypedBulkRun::progress`]).
    pub fn progress(&self) -> BulkProgress {
        self.windows
            .progress(self.run.as_ref().map(TypedBulkRunner::progress))
    }
}

/// A transactional batch of a [`ContainerClient`] on one partition key.
pub struct TypedBatch<D> {
    client: ContainerClient<D>,
    batch: TransactionalBatch,
    partition_key: PartitionKey,
    /// The items written, checked against the partition key at `execute`.
    items: Vec<Bytes>,
    problem: Option<CosmosError>,
}

impl<D: TypedDriver> TypedBatch<D> {
    fn item<T: Serialize>(
        mut self,
        item: &T,
        add: impl FnOnce(TransactionalBatch, &Value, Bytes) -> TransactionalBatch,
    ) -> Self {
        match typed::encode(item) {
            Ok((value, bytes)) => {
                self.batch = add(self.batch, &value, bytes.clone());
                self.items.push(bytes);
            }
            Err(e) => self.problem = self.problem.or(Some(e)),
        }
        self
    }

    /// Creates `item`.
    pub fn create<T: Serialize>(self, item: &T) -> Self {
        self.item(item, |b, _, bytes| b.create(bytes))
    }

    /// Creates or replaces `item`.
    pub fn upsert<T: Serialize>(self, item: &T) -> Self {
        self.item(item, |b, _, bytes| b.upsert(bytes))
    }

    /// Replaces the item with `item`'s id.
    pub fn replace<T: Serialize>(self, item: &T) -> Self {
        self.item(item, |b, v, bytes| {
            let id = v
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            b.replace(id, bytes)
        })
    }

    /// Reads item `id`.
    pub fn read(mut self, id: &str) -> Self {
        self.batch = self.batch.read(id);
        self
    }

    /// Deletes item `id`.
    pub fn delete(mut self, id: &str) -> Self {
        self.batch = self.batch.delete(id);
        self
    }

    /// Patches item `id`.
    pub fn patch(mut self, id: &str, patch: PatchBuilder) -> Self {
        self.batch = self.batch.patch(id, patch);
        self
    }

    /// Sends the batch: every operation commits or none does. Read each operation's outcome
    /// from the [`BatchResponse`]; `results()[i].resource_body` decodes with
    /// `sextant_core::typed::decode`.
    pub async fn execute(self) -> Result<BatchResponse, CosmosError> {
        if let Some(e) = self.problem {
            return Err(e);
        }
        let definition = self.client.key_definition().await?;
        for body in &self.items {
            typed::item_keys(body, definition, Some(self.partition_key.clone()))?;
        }
        let n = self.batch.operations().len();
        let op = CosmosOperation::batch(self.client.container.clone(), &self.batch);
        let r = self.client.driver.run(op, None).await?;
        BatchResponse::from_response(&r, n)
    }
}

/// The typed response of a write: the body the service returned, or (with
/// `content_response_on_write` off) the item as sent.
fn respond<T: DeserializeOwned>(
    r: &CosmosResponse,
    sent: &[u8],
) -> Result<ItemResponse<T>, CosmosError> {
    if !r.response_bytes().is_empty() {
        return ItemResponse::from_response(r);
    }
    Ok(ItemResponse {
        item: typed::decode(sent, r.diagnostics())?,
        status: r.status(),
        request_charge: r.headers().request_charge(),
        etag: typed::etag_of(r),
        session_token: r.headers().session_token().map(str::to_owned),
        diagnostics: Arc::clone(r.diagnostics()),
    })
}

/// A typed query of a [`ContainerClient`].
pub struct TypedQuery<D, T> {
    client: ContainerClient<D>,
    spec: QuerySpec,
    partition_key: Option<PartitionKey>,
    options: OperationOptions,
    problem: Option<CosmosError>,
    rows: PhantomData<fn() -> T>,
}

impl<D: TypedDriver, T: DeserializeOwned> TypedQuery<D, T> {
    /// Binds `@name` to `value` (any serde value).
    pub fn param(mut self, name: &str, value: impl Serialize) -> Self {
        match typed::encode(&value) {
            Ok((v, _)) => self.spec = self.spec.with_parameter(name, v),
            Err(e) => self.problem = Some(e),
        }
        self
    }

    /// Runs in one logical partition only.
    pub fn partition_key(mut self, key: impl Into<PartitionKey>) -> Self {
        self.partition_key = Some(key.into());
        self
    }

    /// Per-request options (page size, consistency, continuation, ...).
    pub fn options(mut self, options: OperationOptions) -> Self {
        self.options = options;
        self
    }

    fn into_pager(self) -> Result<D::Pager, CosmosError> {
        if let Some(e) = self.problem {
            return Err(e);
        }
        let mut op = CosmosOperation::query(self.client.container.clone(), self.spec);
        if let Some(k) = self.partition_key {
            op = op.with_partition_key(k);
        }
        self.client.driver.pager(op, self.options)
    }

    /// The rows, page after page (one request per page, as they are read).
    pub fn items(self) -> Result<TypedItems<D::Pager, T>, CosmosError> {
        Ok(TypedItems {
            pager: self.into_pager()?,
            page: Vec::new().into_iter(),
            diagnostics: Arc::new(CosmosDiagnostics::empty()),
            rows: PhantomData,
        })
    }

    /// The pages (one request each, as they are read), each with its rows as `T`s, request
    /// charge, continuation token and diagnostics; the page size is
    /// `OperationOptions::with_max_item_count` in [`TypedQuery::options`].
    pub fn pages(self) -> Result<TypedPages<D::Pager, T>, CosmosError> {
        Ok(TypedPages {
            pager: self.into_pager()?,
            rows: PhantomData,
        })
    }
}

/// The pages of a [`TypedQuery`]: call [`TypedPages::next_page`], or turn it into a `Stream`
/// with [`TypedPages::into_stream`].
pub struct TypedPages<P, T> {
    pager: P,
    rows: PhantomData<fn() -> T>,
}

impl<P: TypedPager, T: DeserializeOwned> TypedPages<P, T> {
    /// The next page; `None` after the last. A page whose rows do not fit `T` is an error
    /// naming the field; the pages after it can still be read.
    pub async fn next_page(&mut self) -> Option<Result<TypedPage<T>, CosmosError>> {
        let page = self.pager.next_page().await?;
        Some(page.and_then(TypedPage::from_page))
    }

    /// Every page as a `Stream`.
    pub fn into_stream(self) -> impl Stream<Item = Result<TypedPage<T>, CosmosError>> {
        futures_lite::stream::unfold(self, |mut pages| async move {
            let page = pages.next_page().await?;
            Some((page, pages))
        })
    }
}

/// The rows of a [`TypedQuery`], decoded as they are reached: call [`TypedItems::next`], or
/// turn it into a `Stream` with [`TypedItems::into_stream`].
pub struct TypedItems<P, T> {
    pager: P,
    page: std::vec::IntoIter<Value>,
    diagnostics: Arc<CosmosDiagnostics>,
    rows: PhantomData<fn() -> T>,
}

impl<P: TypedPager, T: DeserializeOwned> TypedItems<P, T> {
    /// The next row; `None` after the last.
    pub async fn next(&mut self) -> Option<Result<T, CosmosError>> {
        loop {
            if let Some(v) = self.page.next() {
                return Some(typed::from_value(v, &self.diagnostics));
            }
            match self.pager.next_page().await? {
                Ok(page) => {
                    self.diagnostics = Arc::clone(page.diagnostics());
                    self.page = page.into_items().into_iter();
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Every row as a `Stream`.
    pub fn into_stream(self) -> impl Stream<Item = Result<T, CosmosError>> {
        futures_lite::stream::unfold(self, |mut items| async move {
            let row = items.next().await?;
            Some((row, items))
        })
    }

    /// Every row, collected; stops at the first error.
    pub async fn collect_all(mut self) -> Result<Vec<T>, CosmosError> {
        let mut out = Vec::new();
        while let Some(row) = self.next().await {
            out.push(row?);
        }
        Ok(out)
    }
}

/// The async transports' glue, written once:
/// `impl_async_typed!(CosmosDriver, QueryPager, ChangeFeedPager, BulkRun, BulkStreamRun)` in a
/// transport's `typed` module names the clients for its driver (`DatabaseClient`,
/// `ContainerClient`, `TypedQuery`, `TypedItems`, `TypedPages`, `TypedBulk`, ...), adds
/// `CosmosDriver::database`, and implements [`TypedDriver`] and [`TypedStreamDriver`] over its
/// `execute_operation`, `query`, `change_feed`, `bulk` and `bulk_stream`. The pagers and bulk
/// runs ([`crate::paged`]) implement [`TypedPager`], [`TypedFeedPager`] and
/// [`TypedBulkRunner`] for every transport.
#[macro_export]
macro_rules! impl_async_typed {
    ($driver:ident, $pager:ident, $feed:ident, $bulk:ident, $bulk_stream:ident) => {
        /// A database of a driver.
        pub type DatabaseClient = $crate::typed::DatabaseClient<$driver>;
        /// A container of a [`DatabaseClient`]: item operations on serde types.
        pub type ContainerClient = $crate::typed::ContainerClient<$driver>;
        /// A typed query of a [`ContainerClient`].
        pub type TypedQuery<T> = $crate::typed::TypedQuery<$driver, T>;
        /// The rows of a [`TypedQuery`].
        pub type TypedItems<T> = $crate::typed::TypedItems<$pager, T>;
        /// A transactional batch of a [`ContainerClient`] on one partition key.
        pub type TypedBatch = $crate::typed::TypedBatch<$driver>;
        /// A change feed of a [`ContainerClient`] whose items are `T`s.
        pub type TypedChangeFeed<T> = $crate::typed::TypedChangeFeed<$feed, T>;
        /// The pages of a [`TypedQuery`].
        pub type TypedPages<T> = $crate::typed::TypedPages<$pager, T>;
        /// An all-versions-and-deletes change feed of a [`ContainerClient`] whose items are `T`s.
        pub type TypedAllVersionsFeed<T> = $crate::typed::TypedAllVersionsFeed<$driver, T>;
        /// A typed bulk run's settings on a [`ContainerClient`].
        pub type TypedBulk = $crate::typed::TypedBulk<$driver>;
        /// A typed bulk run over an iterator `I` of (correlation `C`, operation on `T`).
        pub type TypedBulkRun<C, T, I> = $crate::typed::TypedBulkRun<$driver, C, T, I>;
        /// A typed bulk run over a stream `S` of (correlation `C`, operation on `T`).
        pub type TypedBulkStreamRun<C, T, S> = $crate::typed::TypedBulkStreamRun<$driver, C, T, S>;

        impl $crate::typed::TypedStreamDriver for $driver {
            type BulkStreamRun<
                C,
                S: futures_lite::Stream<Item = (C, sextant_core::BulkOperation)> + Unpin,
            > = $bulk_stream<C, S>;

            fn bulk_stream<
                C,
                S: futures_lite::Stream<Item = (C, sextant_core::BulkOperation)> + Unpin,
            >(
                &self,
                builder: sextant_core::BulkBuilder,
                operations: S,
            ) -> $bulk_stream<C, S> {
                $driver::bulk_stream(self, builder, operations)
            }
        }

        impl $driver {
            /// A client for database `id` (no request is made).
            pub fn database(&self, id: &str) -> DatabaseClient {
                DatabaseClient::new(self.clone(), id)
            }
        }

        impl $crate::typed::TypedDriver for $driver {
            type Pager = $pager;
            type FeedPager = $feed;
            type BulkRun<C, I: Iterator<Item = (C, sextant_core::BulkOperation)>> = $bulk<C, I>;

            fn bulk<C, I: Iterator<Item = (C, sextant_core::BulkOperation)>>(
                &self,
                builder: sextant_core::BulkBuilder,
                operations: I,
            ) -> $bulk<C, I> {
                $driver::bulk(self, builder, operations)
            }

            fn feed_pager(
                &self,
                op: sextant_core::CosmosOperation,
                opts: sextant_core::OperationOptions,
            ) -> Result<$feed, sextant_core::CosmosError> {
                self.change_feed(op, Some(opts))
            }

            fn account(&self) -> &sextant_core::models::AccountReference {
                $driver::account(self)
            }

            fn run(
                &self,
                op: sextant_core::CosmosOperation,
                opts: Option<sextant_core::OperationOptions>,
            ) -> impl std::future::Future<
                Output = Result<sextant_core::CosmosResponse, sextant_core::CosmosError>,
            > {
                self.execute_operation(op, opts)
            }

            fn pager(
                &self,
                op: sextant_core::CosmosOperation,
                opts: sextant_core::OperationOptions,
            ) -> Result<$pager, sextant_core::CosmosError> {
                self.query(op, Some(opts))
            }

            fn throughput(
                &self,
                flow: sextant_core::throughput::ThroughputFlow,
            ) -> impl std::future::Future<
                Output = Result<
                    Option<sextant_core::throughput::ThroughputResponse>,
                    sextant_core::CosmosError,
                >,
            > {
                self.drive_throughput(flow)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    //! Typed bulk over a fake transport: what the byte-level run is given and what the caller
    //! gets back, without a server (the end-to-end checks are in `tests/tests/typed.rs`).

    use super::*;
    use std::future::ready;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_lite::future::block_on;
    use serde::Deserialize;
    use sextant_core::{BatchOperationResult, ErrorKind};

    /// A driver whose container read fails `failures` times, then succeeds; its bulk run
    /// answers every operation it is sent 201 with the item, two at a time.
    #[derive(Clone)]
    struct Fake {
        account: AccountReference,
        failures: Arc<AtomicUsize>,
    }

    struct NoPager;
    impl TypedPager for NoPager {
        fn next_page(&mut self) -> impl Future<Output = Option<Result<QueryPage, CosmosError>>> {
            ready(None)
        }
    }
    impl TypedFeedPager for NoPager {
        fn next_page(&mut self) -> impl Future<Output = Result<ChangeFeedPage, CosmosError>> {
            ready(Err(CosmosError::serialization(
                "no feed".into(),
                Arc::new(CosmosDiagnostics::empty()),
            )))
        }
    }

    struct FakeRun<I> {
        input: I,
        done: u64,
    }

    impl<C, I: Iterator<Item = (C, BulkOperation)>> TypedBulkRunner<C> for FakeRun<I> {
        fn next_results(&mut self) -> impl Future<Output = Option<Vec<BulkResult<C>>>> {
            let window: Vec<_> = self
                .input
                .by_ref()
                .take(2)
                .map(|(correlation, op)| {
                    let body = match op.operation() {
                        sextant_core::batch::BatchOperation::Create { body } => Some(body.clone()),
                        _ => None,
                    };
                    BulkResult {
                        correlation,
                        outcome: Ok(BatchOperationResult {
                            status: 201,
                            sub_status: None,
                            request_charge: 1.0,
                            etag: None,
                            resource_body: body,
                            retry_after: None,
                            message: None,
                        }),
                    }
                })
                .collect();
            self.done += window.len() as u64;
            ready((!window.is_empty()).then_some(window))
        }

        fn progress(&self) -> BulkProgress {
            BulkProgress {
                operations_done: self.done,
                ..BulkProgress::default()
            }
        }
    }

    impl TypedDriver for Fake {
        type Pager = NoPager;
        type FeedPager = NoPager;
        type BulkRun<C, I: Iterator<Item = (C, BulkOperation)>> = FakeRun<I>;

        fn account(&self) -> &AccountReference {
            &self.account
        }

        fn run(
            &self,
            _op: CosmosOperation,
            _opts: Option<OperationOptions>,
        ) -> impl Future<Output = Result<CosmosResponse, CosmosError>> {
            let left = self.failures.load(Ordering::SeqCst);
            if left > 0 {
                self.failures.store(left - 1, Ordering::SeqCst);
                return ready(Err(CosmosError::serialization(
                    "container unreadable".into(),
                    Arc::new(CosmosDiagnostics::empty()),
                )));
            }
            let props = ContainerProperties::new("c", PartitionKeyDefinition::hash("/pk"));
            let body = serde_json::to_vec(&props).unwrap_or_default();
            ready(Ok(CosmosResponse::from_parts(
                200,
                Default::default(),
                body.into(),
            )))
        }

        fn pager(
            &self,
            _op: CosmosOperation,
            _opts: OperationOptions,
        ) -> Result<NoPager, CosmosError> {
            Ok(NoPager)
        }

        fn throughput(
            &self,
            _flow: ThroughputFlow,
        ) -> impl Future<Output = Result<Option<ThroughputResponse>, CosmosError>> {
            ready(Ok(None))
        }

        fn feed_pager(
            &self,
            _op: CosmosOperation,
            _opts: OperationOptions,
        ) -> Result<NoPager, CosmosError> {
            Ok(NoPager)
        }

        fn bulk<C, I: Iterator<Item = (C, BulkOperation)>>(
            &self,
            _builder: BulkBuilder,
            operations: I,
        ) -> FakeRun<I> {
            FakeRun {
                input: operations,
                done: 0,
            }
        }
    }

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Item {
        #[serde(default, skip_serializing_if = "String::is_empty")]
        id: String,
        pk: String,
    }

    fn container(failures: usize) -> ContainerClient<Fake> {
        let account = AccountReference::with_master_key(
            "https://fake.documents.azure.com:443/",
            "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==",
        )
        .unwrap();
        DatabaseClient::new(
            Fake {
                account,
                failures: Arc::new(AtomicUsize::new(failures)),
            },
            "db",
        )
        .container("c")
    }

    #[test]
    fn typed_bulk_keeps_per_item_errors_in_place_and_survives_an_unreadable_key_definition() {
        let items = [
            Item {
                id: "a".into(),
                pk: "p".into(),
            },
            Item {
                id: String::new(),
                pk: "p".into(),
            },
            Item {
                id: "c".into(),
                pk: "q".into(),
            },
            Item {
                id: "d".into(),
                pk: "q".into(),
            },
        ];
        let ops = items
            .iter()
            .enumerate()
            .map(|(i, it)| (i, TypedBulkOperation::create(it)));
        // The container read fails once: the first window (its default size takes all four)
        // gets that error, the run is not stopped, and the input is used up.
        let mut run = container(1).bulk().run(ops.clone());
        let first = block_on(run.next_results()).unwrap();
        assert_eq!(first.len(), 4);
        assert!(first.iter().all(|r| r
            .outcome
            .as_ref()
            .is_err_and(|e| e.message().contains("container unreadable"))));
        assert!(block_on(run.next_results()).is_none());
        assert_eq!(
            (
                run.progress().operations_done,
                run.progress().operations_failed
            ),
            (4, 4)
        );

        // With a readable container: results in order, the item without an id its own error.
        let mut run = container(0).bulk().run(ops);
        let mut got = Vec::new();
        while let Some(w) = block_on(run.next_results()) {
            got.extend(w);
        }
        let summary: Vec<(usize, Result<&str, ErrorKind>)> = got
            .iter()
            .map(|r| {
                let o = r.outcome.as_ref();
                let o = o.map(|x| x.item.as_ref().map_or("", |i: &Item| i.id.as_str()));
                (r.correlation, o.map_err(CosmosError::kind))
            })
            .collect();
        assert_eq!(
            summary,
            [
                (0, Ok("a")),
                (1, Err(ErrorKind::Serialization)),
                (2, Ok("c")),
                (3, Ok("d"))
            ]
        );
        assert_eq!(run.progress().operations_done, 4);
    }
}
