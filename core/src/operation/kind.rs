//! What an operation does and to which kind of resource.

/// The verb of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OperationKind {
    /// POST a new resource.
    Create,
    /// GET one resource.
    Read,
    /// PUT a whole resource.
    Replace,
    /// POST with `x-ms-documentdb-is-upsert: True`.
    Upsert,
    /// DELETE one resource.
    Delete,
    /// GET a feed (list).
    ReadFeed,
    /// POST a SQL query (`x-ms-documentdb-isquery`): one page of results.
    Query,
    /// PATCH one item with partial-update operations (PROTOCOL.md §8.1).
    Patch,
    /// POST a transactional batch (`x-ms-cosmos-is-batch-request`, PROTOCOL.md §8.2).
    Batch,
    /// POST `…/operations/partitionkeydelete`: delete every item of one partition key.
    DeletePartitionKey,
    /// Read many items by (id, partition key): point reads and per-range queries (§8).
    ReadMany,
    /// A window of bulk item operations: non-atomic batches per partition key range (§8.3).
    Bulk,
    /// A page of the change feed (§9): `GET …/docs` with `A-IM` per range.
    ChangeFeed,
}

impl OperationKind {
    /// True for operations that never change state.
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            OperationKind::Read
                | OperationKind::ReadFeed
                | OperationKind::Query
                | OperationKind::ReadMany
                | OperationKind::ChangeFeed
        )
    }

    /// True for operations that return many items (a page of a feed or query, ReadMany, a
    /// bulk window) rather than one resource: they are not point operations in metrics,
    /// diagnostics and alerts.
    pub fn is_feed(self) -> bool {
        matches!(
            self,
            OperationKind::ReadFeed
                | OperationKind::Query
                | OperationKind::ReadMany
                | OperationKind::Bulk
                | OperationKind::ChangeFeed
        )
    }

    /// The HTTP method.
    pub fn method(self) -> http::Method {
        match self {
            OperationKind::Create
            | OperationKind::Upsert
            | OperationKind::Query
            | OperationKind::Batch
            | OperationKind::DeletePartitionKey
            | OperationKind::ReadMany
            | OperationKind::Bulk => http::Method::POST,
            OperationKind::Read | OperationKind::ReadFeed | OperationKind::ChangeFeed => {
                http::Method::GET
            }
            OperationKind::Replace => http::Method::PUT,
            OperationKind::Delete => http::Method::DELETE,
            OperationKind::Patch => http::Method::PATCH,
        }
    }

    /// A stable lowercase name (diagnostics, metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            OperationKind::Create => "create",
            OperationKind::Read => "read",
            OperationKind::Replace => "replace",
            OperationKind::Upsert => "upsert",
            OperationKind::Delete => "delete",
            OperationKind::ReadFeed => "read_feed",
            OperationKind::Query => "query",
            OperationKind::Patch => "patch",
            OperationKind::Batch => "batch",
            OperationKind::DeletePartitionKey => "delete_partition_key",
            OperationKind::ReadMany => "read_many",
            OperationKind::Bulk => "bulk",
            OperationKind::ChangeFeed => "change_feed",
        }
    }
}

/// The kind of resource an operation addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResourceType {
    /// The database account (`GET /`).
    Account,
    /// Databases (`dbs`).
    Database,
    /// Containers (`colls`).
    Container,
    /// Items / documents (`docs`).
    Item,
    /// Partition key ranges of a container (`pkranges`).
    PartitionKeyRange,
}

impl ResourceType {
    /// The path token signed as the resource type (`""` for the account).
    pub fn token(self) -> &'static str {
        match self {
            ResourceType::Account => "",
            ResourceType::Database => "dbs",
            ResourceType::Container => "colls",
            ResourceType::Item => "docs",
            ResourceType::PartitionKeyRange => "pkranges",
        }
    }

    /// True for item (data-plane) operations.
    pub fn is_data_plane(self) -> bool {
        matches!(self, ResourceType::Item)
    }
}
