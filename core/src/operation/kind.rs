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
    /// POST `…/sprocs/{id}`: run a stored procedure in one logical partition (PROTOCOL.md
    /// §10.2). A script may write, so it is never replayed after an ambiguous failure.
    ExecuteStoredProcedure,
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
            | OperationKind::Bulk
            | OperationKind::ExecuteStoredProcedure => http::Method::POST,
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
            OperationKind::ExecuteStoredProcedure => "execute_stored_procedure",
        }
    }

    /// The kind whose [`OperationKind::as_str`] is `name`.
    pub fn from_name(name: &str) -> Option<OperationKind> {
        ALL_KINDS.iter().copied().find(|k| k.as_str() == name)
    }
}

/// Every operation kind, for name lookups.
const ALL_KINDS: [OperationKind; 14] = [
    OperationKind::Create,
    OperationKind::Read,
    OperationKind::Replace,
    OperationKind::Upsert,
    OperationKind::Delete,
    OperationKind::ReadFeed,
    OperationKind::Query,
    OperationKind::Patch,
    OperationKind::Batch,
    OperationKind::DeletePartitionKey,
    OperationKind::ReadMany,
    OperationKind::Bulk,
    OperationKind::ChangeFeed,
    OperationKind::ExecuteStoredProcedure,
];

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
    /// Throughput offers (`offers`, always addressed by resource id; PROTOCOL.md §10.1).
    Offer,
    /// Stored procedures of a container (`sprocs`).
    StoredProcedure,
    /// User-defined functions of a container (`udfs`).
    UserDefinedFunction,
    /// Pre- and post-triggers of a container (`triggers`).
    Trigger,
    /// Users of a database (`users`).
    User,
    /// Permissions of a user (`permissions`; each carries a resource token).
    Permission,
    /// Conflicts of a multi-write container (`conflicts`).
    Conflict,
    /// Attachments of an item (`attachments`; legacy, reachable through the raw escape hatch).
    Attachment,
    /// Client encryption keys of a database (`clientencryptionkeys`).
    ClientEncryptionKey,
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
            ResourceType::Offer => "offers",
            ResourceType::StoredProcedure => "sprocs",
            ResourceType::UserDefinedFunction => "udfs",
            ResourceType::Trigger => "triggers",
            ResourceType::User => "users",
            ResourceType::Permission => "permissions",
            ResourceType::Conflict => "conflicts",
            ResourceType::Attachment => "attachments",
            ResourceType::ClientEncryptionKey => "clientencryptionkeys",
        }
    }

    /// The resource type whose path token is `token` (`""` is the account).
    pub fn from_token(token: &str) -> Option<ResourceType> {
        ALL_TYPES.iter().copied().find(|t| t.token() == token)
    }

    /// True for item (data-plane) operations.
    pub fn is_data_plane(self) -> bool {
        matches!(self, ResourceType::Item)
    }
}

/// Every resource type, for token lookups.
const ALL_TYPES: [ResourceType; 14] = [
    ResourceType::Account,
    ResourceType::Database,
    ResourceType::Container,
    ResourceType::Item,
    ResourceType::PartitionKeyRange,
    ResourceType::Offer,
    ResourceType::StoredProcedure,
    ResourceType::UserDefinedFunction,
    ResourceType::Trigger,
    ResourceType::User,
    ResourceType::Permission,
    ResourceType::Conflict,
    ResourceType::Attachment,
    ResourceType::ClientEncryptionKey,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tokens_round_trip() {
        for k in ALL_KINDS {
            assert_eq!(OperationKind::from_name(k.as_str()), Some(k));
        }
        for t in ALL_TYPES {
            assert_eq!(ResourceType::from_token(t.token()), Some(t));
        }
        assert_eq!(OperationKind::from_name("nope"), None);
        assert_eq!(ResourceType::from_token("nope"), None);
    }
}
