//! The typed layer (the seed's layer 3) on the blocking transport: `driver.database(id)
//! .container(id)` clients taking and returning the caller's serde types. Everything below is
//! the byte-level API plus `sextant_core::typed` (encoding, partition key extraction, decoding
//! with errors that name the field).

use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sextant_core::models::{
    ContainerProperties, ContainerReference, DatabaseReference, ItemReference, PartitionKey,
    PartitionKeyDefinition,
};
use sextant_core::operation::{PatchBuilder, QuerySpec};
use sextant_core::typed::{self, ItemResponse};
use sextant_core::{CosmosError, CosmosOperation, CosmosResponse, OperationOptions};

use crate::driver::CosmosDriver;

impl CosmosDriver {
    /// A client for database `id` (no request is made).
    pub fn database(&self, id: &str) -> DatabaseClient {
        DatabaseClient {
            driver: self.clone(),
            database: DatabaseReference::from_name(self.account().clone(), id),
        }
    }
}

/// A database of a [`CosmosDriver`].
#[derive(Clone)]
pub struct DatabaseClient {
    driver: CosmosDriver,
    database: DatabaseReference,
}

impl DatabaseClient {
    /// A client for container `id` of this database (no request is made).
    pub fn container(&self, id: &str) -> ContainerClient {
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
}

/// A container of a [`DatabaseClient`]: item operations on serde types. The container's
/// partition key definition is read once, on the first write that needs the key taken from
/// the item, and kept for the client's clones.
#[derive(Clone)]
pub struct ContainerClient {
    driver: CosmosDriver,
    container: ContainerReference,
    key: Arc<OnceLock<PartitionKeyDefinition>>,
}

impl ContainerClient {
    /// The container reference, for the byte-level API.
    pub fn reference(&self) -> &ContainerReference {
        &self.container
    }

    fn key_definition(&self) -> Result<&PartitionKeyDefinition, CosmosError> {
        if let Some(k) = self.key.get() {
            return Ok(k);
        }
        let r = self.driver.execute_operation(
            CosmosOperation::read_container(self.container.clone()),
            None,
        )?;
        let props: ContainerProperties = typed::decode(r.response_bytes(), r.diagnostics())?;
        Ok(self.key.get_or_init(|| props.partition_key))
    }

    /// A write of `item`: its partition key taken from the item (or `given`, checked against it).
    fn write<T: Serialize + DeserializeOwned>(
        &self,
        item: &T,
        given: Option<PartitionKey>,
        op: impl FnOnce(&str) -> CosmosOperation,
        options: Option<OperationOptions>,
    ) -> Result<ItemResponse<T>, CosmosError> {
        let (value, body) = typed::encode(item)?;
        let id = typed::item_id(&value)?;
        let key = typed::partition_key(&value, self.key_definition()?, given)?;
        let r = self
            .driver
            .execute_operation(op(id).with_partition_key(key).with_body(body), options)?;
        respond(&r, value)
    }

    /// Creates `item` (409 if its id exists in its partition).
    pub fn create_item<T: Serialize + DeserializeOwned>(
        &self,
        item: &T,
    ) -> Result<ItemResponse<T>, CosmosError> {
        let c = self.container.clone();
        self.write(item, None, |_| CosmosOperation::create(c), None)
    }

    /// Creates or replaces `item`.
    pub fn upsert_item<T: Serialize + DeserializeOwned>(
        &self,
        item: &T,
    ) -> Result<ItemResponse<T>, CosmosError> {
        let c = self.container.clone();
        self.write(item, None, |_| CosmosOperation::upsert(c), None)
    }

    /// Replaces the item with `item`'s id; with `if_match` (an etag), only if it is unchanged
    /// since (412 otherwise).
    pub fn replace_item<T: Serialize + DeserializeOwned>(
        &self,
        item: &T,
        if_match: Option<&str>,
    ) -> Result<ItemResponse<T>, CosmosError> {
        let c = &self.container;
        let options = if_match.map(|e| OperationOptions::new().with_if_match(e));
        self.write(
            item,
            None,
            |id| CosmosOperation::replace(ItemReference::in_container(c, id)),
            options,
        )
    }

    /// Reads item `id` of partition `partition_key`; `None` when it does not exist.
    pub fn read_item<T: DeserializeOwned>(
        &self,
        partition_key: impl Into<PartitionKey>,
        id: &str,
    ) -> Result<Option<ItemResponse<T>>, CosmosError> {
        let op = CosmosOperation::read(ItemReference::in_container(&self.container, id))
            .with_partition_key(partition_key);
        match self.driver.execute_operation(op, None) {
            Ok(r) => ItemResponse::from_response(&r).map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes item `id` of partition `partition_key`; `false` when it did not exist.
    pub fn delete_item(
        &self,
        partition_key: impl Into<PartitionKey>,
        id: &str,
    ) -> Result<bool, CosmosError> {
        let op = CosmosOperation::delete(ItemReference::in_container(&self.container, id))
            .with_partition_key(partition_key);
        match self.driver.execute_operation(op, None) {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Applies `patch` to item `id` of partition `partition_key` and returns the patched item.
    pub fn patch_item<T: DeserializeOwned>(
        &self,
        partition_key: impl Into<PartitionKey>,
        id: &str,
        patch: PatchBuilder,
    ) -> Result<ItemResponse<T>, CosmosError> {
        let op = CosmosOperation::patch(ItemReference::in_container(&self.container, id), patch)
            .with_partition_key(partition_key);
        let r = self.driver.execute_operation(op, None)?;
        ItemResponse::from_response(&r)
    }

    /// A query whose rows are `T`s; add parameters with [`TypedQuery::param`], scope it with
    /// [`TypedQuery::partition_key`], then iterate [`TypedQuery::items`].
    pub fn query<T: DeserializeOwned>(&self, sql: &str) -> TypedQuery<T> {
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

/// The typed response of a write: the body the service returned, or (with
/// `content_response_on_write` off) the item as sent.
fn respond<T: DeserializeOwned>(
    r: &CosmosResponse,
    sent: Value,
) -> Result<ItemResponse<T>, CosmosError> {
    if !r.response_bytes().is_empty() {
        return ItemResponse::from_response(r);
    }
    Ok(ItemResponse {
        item: typed::from_value(sent, r.diagnostics())?,
        status: r.status(),
        request_charge: r.headers().request_charge(),
        etag: typed::etag_of(r),
        session_token: r.headers().session_token().map(str::to_owned),
        diagnostics: Arc::clone(r.diagnostics()),
    })
}

/// A typed query of a [`ContainerClient`].
pub struct TypedQuery<T> {
    client: ContainerClient,
    spec: QuerySpec,
    partition_key: Option<PartitionKey>,
    options: OperationOptions,
    problem: Option<CosmosError>,
    rows: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> TypedQuery<T> {
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

    /// Every row, page after page (one request per page, as the iterator advances).
    pub fn items(self) -> Result<TypedItems<T>, CosmosError> {
        if let Some(e) = self.problem {
            return Err(e);
        }
        let mut op = CosmosOperation::query(self.client.container.clone(), self.spec);
        if let Some(k) = self.partition_key {
            op = op.with_partition_key(k);
        }
        let pager = self.client.driver.query(op, Some(self.options))?;
        Ok(TypedItems {
            pager,
            page: Vec::new().into_iter(),
            diagnostics: None,
            rows: PhantomData,
        })
    }
}

/// The rows of a [`TypedQuery`], decoded as they are reached.
pub struct TypedItems<T> {
    pager: crate::QueryPager,
    page: std::vec::IntoIter<Value>,
    diagnostics: Option<Arc<sextant_core::CosmosDiagnostics>>,
    rows: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Iterator for TypedItems<T> {
    type Item = Result<T, CosmosError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(v) = self.page.next() {
                let d = self
                    .diagnostics
                    .clone()
                    .unwrap_or_else(|| Arc::new(sextant_core::CosmosDiagnostics::empty()));
                return Some(typed::from_value(v, &d));
            }
            match self.pager.next_page()? {
                Ok(page) => {
                    self.diagnostics = Some(Arc::clone(page.diagnostics()));
                    self.page = page.into_items().into_iter();
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
