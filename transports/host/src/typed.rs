//! The typed layer of the async transports, written once: `driver.database(id).container(id)`
//! clients taking and returning the caller's serde types (the blocking transport has the same
//! clients without `.await`). Each transport names them `DatabaseClient`, `ContainerClient`,
//! `TypedQuery` and `TypedItems` for its own driver.

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
use sextant_core::typed::{self, ItemResponse};
use sextant_core::{BatchResponse, ReadManyResponse, TransactionalBatch};
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

    /// The latest-version change feed of the container from `start`, or from `continuation`
    /// (a token of an earlier page) when given; pages of `T`s.
    pub fn change_feed<T: DeserializeOwned>(
        &self,
        start: ChangeFeedStart,
        continuation: Option<&str>,
    ) -> Result<TypedChangeFeed<D::FeedPager, T>, CosmosError> {
        let op = CosmosOperation::change_feed(
            self.container.clone(),
            ChangeFeedMode::LatestVersion,
            start,
        );
        let mut opts = OperationOptions::new();
        if let Some(t) = continuation {
            opts = opts.with_continuation(t);
        }
        Ok(TypedChangeFeed {
            pager: self.driver.feed_pager(op, opts)?,
            rows: PhantomData,
        })
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

    /// The rows, page after page (one request per page, as they are read).
    pub fn items(self) -> Result<TypedItems<D::Pager, T>, CosmosError> {
        if let Some(e) = self.problem {
            return Err(e);
        }
        let mut op = CosmosOperation::query(self.client.container.clone(), self.spec);
        if let Some(k) = self.partition_key {
            op = op.with_partition_key(k);
        }
        Ok(TypedItems {
            pager: self.client.driver.pager(op, self.options)?,
            page: Vec::new().into_iter(),
            diagnostics: Arc::new(CosmosDiagnostics::empty()),
            rows: PhantomData,
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

/// The async transports' glue, written once: `impl_async_typed!(CosmosDriver, QueryPager, ChangeFeedPager)` in a
/// transport's `typed` module names the clients for its driver (`DatabaseClient`,
/// `ContainerClient`, `TypedQuery`, `TypedItems`), adds `CosmosDriver::database`, and implements
/// [`TypedDriver`] and [`TypedPager`] over its `execute_operation`, `query` and `next_page`.
#[macro_export]
macro_rules! impl_async_typed {
    ($driver:ident, $pager:ident, $feed:ident) => {
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

        impl $driver {
            /// A client for database `id` (no request is made).
            pub fn database(&self, id: &str) -> DatabaseClient {
                DatabaseClient::new(self.clone(), id)
            }
        }

        impl $crate::typed::TypedDriver for $driver {
            type Pager = $pager;
            type FeedPager = $feed;

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

        impl $crate::typed::TypedFeedPager for $feed {
            fn next_page(
                &mut self,
            ) -> impl std::future::Future<
                Output = Result<sextant_core::ChangeFeedPage, sextant_core::CosmosError>,
            > {
                $feed::next_page(self)
            }
        }

        impl $crate::typed::TypedPager for $pager {
            fn next_page(
                &mut self,
            ) -> impl std::future::Future<
                Output = Option<Result<sextant_core::QueryPage, sextant_core::CosmosError>>,
            > {
                $pager::next_page(self)
            }
        }
    };
}
