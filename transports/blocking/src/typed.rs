//! The typed layer (the seed's layer 3) on the blocking transport: `driver.database(id)
//! .container(id)` clients taking and returning the caller's serde types.
//!
//! The logic is the async transports' (`sextant_host::typed`), written once: this driver
//! implements its `TypedDriver` with futures that are already complete when created (each
//! operation runs on the calling thread first), so every method here is that client's method
//! polled once.

use std::future::{ready, Future};

use futures_lite::future::block_on;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sextant_core::models::ThroughputProperties;
use sextant_core::models::{AccountReference, ContainerReference, DatabaseReference, PartitionKey};
use sextant_core::operation::PatchBuilder;
use sextant_core::throughput::{ThroughputFlow, ThroughputResponse};
use sextant_core::typed::{
    ChangeFeedItem, ItemResponse, TypedBulkOperation, TypedBulkResult, TypedPage,
};
use sextant_core::{BatchResponse, ChangeFeedPage, ChangeFeedStart};
use sextant_core::{BulkBuilder, BulkOperation, BulkProgress, BulkResult};
use sextant_core::{CosmosError, CosmosOperation, CosmosResponse, OperationOptions, QueryPage};
pub use sextant_host::typed::TypedFeedPage;

use crate::change_feed::ChangeFeedPager;
use crate::driver::CosmosDriver;
use crate::query::QueryPager;

type Shared = sextant_host::typed::ContainerClient<CosmosDriver>;

impl sextant_host::typed::TypedDriver for CosmosDriver {
    type Pager = QueryPager;
    type FeedPager = ChangeFeedPager;
    type BulkRun<C, I: Iterator<Item = (C, BulkOperation)>> = crate::BulkRun<C, I>;

    fn bulk<C, I: Iterator<Item = (C, BulkOperation)>>(
        &self,
        builder: BulkBuilder,
        operations: I,
    ) -> crate::BulkRun<C, I> {
        CosmosDriver::bulk(self, builder, operations)
    }

    fn feed_pager(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<ChangeFeedPager, CosmosError> {
        self.change_feed(op, Some(opts))
    }

    fn account(&self) -> &AccountReference {
        CosmosDriver::account(self)
    }

    fn run(
        &self,
        op: CosmosOperation,
        opts: Option<OperationOptions>,
    ) -> impl Future<Output = Result<CosmosResponse, CosmosError>> {
        ready(self.execute_operation(op, opts))
    }

    fn pager(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<QueryPager, CosmosError> {
        self.query(op, Some(opts))
    }

    fn throughput(
        &self,
        flow: ThroughputFlow,
    ) -> impl Future<Output = Result<Option<ThroughputResponse>, CosmosError>> {
        ready(self.drive_throughput(flow))
    }
}

impl sextant_host::typed::TypedFeedPager for ChangeFeedPager {
    fn next_page(&mut self) -> impl Future<Output = Result<ChangeFeedPage, CosmosError>> {
        ready(ChangeFeedPager::next_page(self))
    }
}

impl<C, I: Iterator<Item = (C, BulkOperation)>> sextant_host::typed::TypedBulkRunner<C>
    for crate::BulkRun<C, I>
{
    fn next_results(&mut self) -> impl Future<Output = Option<Vec<BulkResult<C>>>> {
        ready(crate::BulkRun::next_results(self))
    }

    fn progress(&self) -> BulkProgress {
        crate::BulkRun::progress(self)
    }
}

impl sextant_host::typed::TypedPager for QueryPager {
    fn next_page(&mut self) -> impl Future<Output = Option<Result<QueryPage, CosmosError>>> {
        ready(QueryPager::next_page(self))
    }
}

impl CosmosDriver {
    /// A client for database `id` (no request is made).
    pub fn database(&self, id: &str) -> DatabaseClient {
        DatabaseClient {
            inner: sextant_host::typed::DatabaseClient::new(self.clone(), id),
        }
    }
}

/// A database of a [`CosmosDriver`].
#[derive(Clone)]
pub struct DatabaseClient {
    inner: sextant_host::typed::DatabaseClient<CosmosDriver>,
}

impl DatabaseClient {
    /// A client for container `id` of this database (no request is made).
    pub fn container(&self, id: &str) -> ContainerClient {
        ContainerClient {
            inner: self.inner.container(id),
        }
    }

    /// The database reference, for the byte-level API.
    pub fn reference(&self) -> &DatabaseReference {
        self.inner.reference()
    }

    /// The database's shared throughput; `None` when it has none.
    pub fn read_throughput(&self) -> Result<Option<ThroughputResponse>, CosmosError> {
        block_on(self.inner.read_throughput())
    }

    /// Sets the database's shared throughput and waits until it is applied.
    pub fn replace_throughput(
        &self,
        throughput: ThroughputProperties,
    ) -> Result<Option<ThroughputResponse>, CosmosError> {
        block_on(self.inner.replace_throughput(throughput))
    }
}

/// A container of a [`DatabaseClient`]: item operations on serde types. The container's
/// partition key definition is read once, on the first write that takes the key from the item,
/// and shared by the client's clones.
#[derive(Clone)]
pub struct ContainerClient {
    inner: Shared,
}

impl ContainerClient {
    /// The container reference, for the byte-level API.
    pub fn reference(&self) -> &ContainerReference {
        self.inner.reference()
    }

    /// Creates `item` (409 if its id exists in its partition); the partition key is the item's.
    pub fn create_item<T: Serialize + DeserializeOwned>(
        &self,
        item: &T,
    ) -> Result<ItemResponse<T>, CosmosError> {
        block_on(self.inner.create_item(item))
    }

    /// Creates or replaces `item`.
    pub fn upsert_item<T: Serialize + DeserializeOwned>(
        &self,
        item: &T,
    ) -> Result<ItemResponse<T>, CosmosError> {
        block_on(self.inner.upsert_item(item))
    }

    /// Replaces the item with `item`'s id; with `if_match` (an etag), only if it is unchanged
    /// since (412 otherwise).
    pub fn replace_item<T: Serialize + DeserializeOwned>(
        &self,
        item: &T,
        if_match: Option<&str>,
    ) -> Result<ItemResponse<T>, CosmosError> {
        block_on(self.inner.replace_item(item, if_match))
    }

    /// Reads item `id` of partition `partition_key`; `None` when it does not exist.
    pub fn read_item<T: DeserializeOwned>(
        &self,
        partition_key: impl Into<PartitionKey>,
        id: &str,
    ) -> Result<Option<ItemResponse<T>>, CosmosError> {
        block_on(self.inner.read_item(partition_key, id))
    }

    /// Deletes item `id` of partition `partition_key`; `false` when it did not exist.
    pub fn delete_item(
        &self,
        partition_key: impl Into<PartitionKey>,
        id: &str,
    ) -> Result<bool, CosmosError> {
        block_on(self.inner.delete_item(partition_key, id))
    }

    /// Applies `patch` to item `id` of partition `partition_key` and returns the patched item.
    pub fn patch_item<T: DeserializeOwned>(
        &self,
        partition_key: impl Into<PartitionKey>,
        id: &str,
        patch: PatchBuilder,
    ) -> Result<ItemResponse<T>, CosmosError> {
        block_on(self.inner.patch_item(partition_key, id, patch))
    }

    /// Reads many items by (id, partition key); in the order given, `None` where missing.
    pub fn read_many<T, I, S, K>(&self, keys: I) -> Result<Vec<Option<T>>, CosmosError>
    where
        T: DeserializeOwned,
        I: IntoIterator<Item = (S, K)>,
        S: Into<String>,
        K: Into<PartitionKey>,
    {
        block_on(self.inner.read_many(keys))
    }

    /// A transactional batch on partition `partition_key`: add operations, then
    /// [`TypedBatch::execute`].
    pub fn batch(&self, partition_key: impl Into<PartitionKey>) -> TypedBatch {
        TypedBatch {
            inner: self.inner.batch(partition_key),
        }
    }

    /// The latest-version change feed of the container from `start`, or from `continuation`
    /// (a token of an earlier page) when given; pages of `T`s.
    pub fn change_feed<T: DeserializeOwned>(
        &self,
        start: ChangeFeedStart,
        continuation: Option<&str>,
    ) -> Result<TypedChangeFeed<T>, CosmosError> {
        Ok(TypedChangeFeed {
            inner: self.inner.change_feed(start, continuation)?,
        })
    }

    /// The all-versions-and-deletes change feed of the container from `start` (only
    /// [`ChangeFeedStart::Now`]), or from `continuation` (a token of an earlier page of this
    /// mode) when given: every create, replace and delete as a [`ChangeFeedItem`] of `T`s.
    pub fn change_feed_all_versions<T: DeserializeOwned>(
        &self,
        start: ChangeFeedStart,
        continuation: Option<&str>,
    ) -> Result<TypedAllVersionsFeed<T>, CosmosError> {
        Ok(TypedAllVersionsFeed {
            inner: self.inner.change_feed_all_versions(start, continuation)?,
        })
    }

    /// A bulk run on this container: set its bounds, then [`TypedBulk::run`] any iterator of
    /// (your correlation, [`TypedBulkOperation`]) and read each operation's typed result.
    pub fn bulk(&self) -> TypedBulk {
        TypedBulk {
            inner: self.inner.bulk(),
        }
    }

    /// The container's own throughput; `None` when it shares its database's.
    pub fn read_throughput(&self) -> Result<Option<ThroughputResponse>, CosmosError> {
        block_on(self.inner.read_throughput())
    }

    /// Sets the container's throughput and waits until it is applied.
    pub fn replace_throughput(
        &self,
        throughput: ThroughputProperties,
    ) -> Result<Option<ThroughputResponse>, CosmosError> {
        block_on(self.inner.replace_throughput(throughput))
    }

    /// A query whose rows are `T`s; add parameters with [`TypedQuery::param`], scope it with
    /// [`TypedQuery::partition_key`], then iterate [`TypedQuery::items`].
    pub fn query<T: DeserializeOwned>(&self, sql: &str) -> TypedQuery<T> {
        TypedQuery {
            inner: self.inner.query(sql),
        }
    }
}

/// A typed query of a [`ContainerClient`].
pub struct TypedQuery<T> {
    inner: sextant_host::typed::TypedQuery<CosmosDriver, T>,
}

impl<T: DeserializeOwned> TypedQuery<T> {
    /// Binds `@name` to `value` (any serde value).
    pub fn param(self, name: &str, value: impl Serialize) -> Self {
        TypedQuery {
            inner: self.inner.param(name, value),
        }
    }

    /// Runs in one logical partition only.
    pub fn partition_key(self, key: impl Into<PartitionKey>) -> Self {
        TypedQuery {
            inner: self.inner.partition_key(key),
        }
    }

    /// Per-request options (page size, consistency, continuation, ...).
    pub fn options(self, options: OperationOptions) -> Self {
        TypedQuery {
            inner: self.inner.options(options),
        }
    }

    /// Every row, page after page (one request per page, as the iterator advances).
    pub fn items(self) -> Result<TypedItems<T>, CosmosError> {
        Ok(TypedItems {
            inner: self.inner.items()?,
        })
    }

    /// The pages (one request each, as the iterator advances), each with its rows as `T`s,
    /// request charge, continuation token and diagnostics; the page size is
    /// `OperationOptions::with_max_item_count` in [`TypedQuery::options`].
    pub fn pages(self) -> Result<TypedPages<T>, CosmosError> {
        Ok(TypedPages {
            inner: self.inner.pages()?,
        })
    }
}

/// The pages of a [`TypedQuery`]. A page whose rows do not fit `T` is an error naming the
/// field; the pages after it can still be read.
pub struct TypedPages<T> {
    inner: sextant_host::typed::TypedPages<QueryPager, T>,
}

impl<T: DeserializeOwned> Iterator for TypedPages<T> {
    type Item = Result<TypedPage<T>, CosmosError>;

    fn next(&mut self) -> Option<Self::Item> {
        block_on(self.inner.next_page())
    }
}

/// The rows of a [`TypedQuery`], decoded as they are reached.
pub struct TypedItems<T> {
    inner: sextant_host::typed::TypedItems<QueryPager, T>,
}

impl<T: DeserializeOwned> Iterator for TypedItems<T> {
    type Item = Result<T, CosmosError>;

    fn next(&mut self) -> Option<Self::Item> {
        block_on(self.inner.next())
    }
}

/// A transactional batch of a [`ContainerClient`] on one partition key.
pub struct TypedBatch {
    inner: sextant_host::typed::TypedBatch<CosmosDriver>,
}

impl TypedBatch {
    /// Creates `item`.
    pub fn create<T: Serialize>(self, item: &T) -> Self {
        TypedBatch {
            inner: self.inner.create(item),
        }
    }

    /// Creates or replaces `item`.
    pub fn upsert<T: Serialize>(self, item: &T) -> Self {
        TypedBatch {
            inner: self.inner.upsert(item),
        }
    }

    /// Replaces the item with `item`'s id.
    pub fn replace<T: Serialize>(self, item: &T) -> Self {
        TypedBatch {
            inner: self.inner.replace(item),
        }
    }

    /// Reads item `id`.
    pub fn read(self, id: &str) -> Self {
        TypedBatch {
            inner: self.inner.read(id),
        }
    }

    /// Deletes item `id`.
    pub fn delete(self, id: &str) -> Self {
        TypedBatch {
            inner: self.inner.delete(id),
        }
    }

    /// Patches item `id`.
    pub fn patch(self, id: &str, patch: PatchBuilder) -> Self {
        TypedBatch {
            inner: self.inner.patch(id, patch),
        }
    }

    /// Sends the batch: every operation commits or none does.
    pub fn execute(self) -> Result<BatchResponse, CosmosError> {
        block_on(self.inner.execute())
    }
}

/// A change feed of a [`ContainerClient`] whose items are `T`s.
pub struct TypedChangeFeed<T> {
    inner: sextant_host::typed::TypedChangeFeed<ChangeFeedPager, T>,
}

impl<T: DeserializeOwned> TypedChangeFeed<T> {
    /// The next page of changes (empty and `caught_up` when nothing is new; ask again later).
    pub fn next_page(&mut self) -> Result<TypedFeedPage<T>, CosmosError> {
        block_on(self.inner.next_page())
    }
}

/// An all-versions-and-deletes change feed of a [`ContainerClient`] whose items are `T`s.
pub struct TypedAllVersionsFeed<T> {
    inner: sextant_host::typed::TypedAllVersionsFeed<CosmosDriver, T>,
}

impl<T: DeserializeOwned> TypedAllVersionsFeed<T> {
    /// The next page of changes (empty and `caught_up` when nothing is new; ask again later).
    /// The first call reads the container's partition key definition (once per client).
    pub fn next_page(&mut self) -> Result<TypedFeedPage<ChangeFeedItem<T>>, CosmosError> {
        block_on(self.inner.next_page())
    }
}

/// A typed bulk run's settings on a [`ContainerClient`]: set bounds, then [`TypedBulk::run`].
pub struct TypedBulk {
    inner: sextant_host::typed::TypedBulk<CosmosDriver>,
}

impl TypedBulk {
    /// Operations held at once (the window; [`BulkBuilder::max_in_flight`]).
    pub fn max_in_flight(self, n: usize) -> Self {
        TypedBulk {
            inner: self.inner.max_in_flight(n),
        }
    }

    /// Retries of one throttled operation ([`BulkBuilder::max_throttle_retries`]).
    pub fn max_throttle_retries(self, n: u32) -> Self {
        TypedBulk {
            inner: self.inner.max_throttle_retries(n),
        }
    }

    /// Batch requests in flight at once ([`BulkBuilder::max_concurrent_batches`]).
    pub fn max_concurrent_batches(self, n: usize) -> Self {
        TypedBulk {
            inner: self.inner.max_concurrent_batches(n),
        }
    }

    /// Most batches in flight to one range ([`BulkBuilder::max_degree_of_concurrency`]).
    pub fn max_degree_of_concurrency(self, n: usize) -> Self {
        TypedBulk {
            inner: self.inner.max_degree_of_concurrency(n),
        }
    }

    /// Options for every batch request ([`BulkBuilder::options`]).
    pub fn options(self, options: OperationOptions) -> Self {
        TypedBulk {
            inner: self.inner.options(options),
        }
    }

    /// Runs `operations`, (your correlation, operation) pairs from any iterator, read lazily
    /// one window at a time: call [`TypedBulkRun::next_results`] until it returns `None`.
    pub fn run<C, T, I>(self, operations: I) -> TypedBulkRun<C, T, I::IntoIter>
    where
        T: DeserializeOwned,
        I: IntoIterator<Item = (C, TypedBulkOperation<T>)>,
    {
        TypedBulkRun {
            inner: self.inner.run(operations),
        }
    }
}

/// A typed bulk run over an iterator `I` of (correlation `C`, operation on `T`).
pub struct TypedBulkRun<C, T, I>
where
    I: Iterator<Item = (C, TypedBulkOperation<T>)>,
{
    inner: sextant_host::typed::TypedBulkRun<CosmosDriver, C, T, I>,
}

impl<C, T, I> TypedBulkRun<C, T, I>
where
    T: DeserializeOwned,
    I: Iterator<Item = (C, TypedBulkOperation<T>)>,
{
    /// The results of the next window, in the order the operations were given, each with your
    /// correlation; `None` once the input is exhausted. The first call reads the container's
    /// partition key definition (once per client); if that fails, the window's operations get
    /// its error and the next call tries again.
    pub fn next_results(&mut self) -> Option<Vec<TypedBulkResult<C, T>>> {
        block_on(self.inner.next_results())
    }

    /// What the run has done so far (updated as each window ends): operations done and
    /// failed (per-item errors included), request units, throttling, batches.
    pub fn progress(&self) -> BulkProgress {
        self.inner.progress()
    }
}
