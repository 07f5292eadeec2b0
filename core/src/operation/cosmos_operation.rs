//! `CosmosOperation`: one logical request, built with factory methods from typed references.

use std::sync::Arc;

use bytes::Bytes;

use crate::auth::encode::needs_path_encoding;
use crate::error::ConfigError;
use crate::models::{validate_resource_id, ResourceIdKind};
use crate::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, ItemReference,
    PartitionKey,
};
use crate::operation::body_id::body_id;
use crate::operation::kind::{OperationKind, ResourceType};
use crate::operation::{Address, QuerySpec};

/// A single operation, ready to be started on a [`crate::Driver`].
///
/// Item payloads are raw bytes (the data plane is schema-agnostic); database and container
/// operations take typed properties.
#[derive(Clone)]
pub struct CosmosOperation {
    pub(crate) kind: OperationKind,
    pub(crate) resource_type: ResourceType,
    /// The account, or for item operations (and others within one container) the container,
    /// whose account it is: an item operation holds one shared count for both.
    pub(crate) scope: OperationScope,
    /// Signed resource link (raw ids).
    pub(crate) link: Address,
    /// URL path without the leading slash (ids percent-encoded). `None`: the same as `link`
    /// (nothing needed encoding), which saves an item operation an allocation.
    pub(crate) path: Option<String>,
    pub(crate) partition_key: Option<PartitionKey>,
    pub(crate) body: Option<Bytes>,
    pub(crate) problem: Option<Box<ConfigError>>,
    /// For queries: the SQL and its parameters (the body is its JSON form).
    pub(crate) query: Option<QuerySpec>,
    /// For cross-partition queries: only this slice of the key space.
    pub(crate) feed_range: Option<crate::feed::FeedRange>,
    /// Headers this operation adds to every attempt (throughput at creation, token expiry,
    /// script logging, triggers, or a raw request's own).
    pub(crate) headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// A raw request (the escape hatch): sent as built, without the typed checks.
    pub(crate) raw: bool,
}

/// What an operation targets beyond its link: the account, or a container of it.
#[derive(Clone)]
pub(crate) enum OperationScope {
    /// An account-level or database-level operation.
    Account(AccountReference),
    /// An operation within one container (items, their feeds, scripts' executions): its link
    /// and encoded path route the operation and key its session tokens. An item operation moves
    /// it out of the item reference instead of copying the account, the link and the path.
    Container(ContainerReference),
}

impl OperationScope {
    /// The container, moved out; `None` for an account-level operation.
    pub(crate) fn into_container(self) -> Option<ContainerReference> {
        match self {
            OperationScope::Account(_) => None,
            OperationScope::Container(c) => Some(c),
        }
    }
}

/// Written out so that `path` prints the path whether or not it shares the link's string.
impl std::fmt::Debug for CosmosOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CosmosOperation")
            .field("kind", &self.kind)
            .field("resource_type", &self.resource_type)
            .field("account", self.account())
            .field("link", &self.link)
            .field("path", &self.path())
            .field("partition_key", &self.partition_key)
            .field("body", &self.body)
            .field("problem", &self.problem)
            .field("container", &self.container().map(|c| (c.link(), c.path())))
            .field("query", &self.query)
            .field("feed_range", &self.feed_range)
            .field("headers", &self.headers)
            .field("raw", &self.raw)
            .finish()
    }
}

impl CosmosOperation {
    pub(crate) fn new(
        kind: OperationKind,
        resource_type: ResourceType,
        account: &AccountReference,
        link: String,
        path: String,
    ) -> Self {
        let scope = OperationScope::Account(account.clone());
        Self::scoped(kind, resource_type, scope, Address::Own(link), Some(path))
    }

    /// An operation on `scope`, signing `link`, at `path` (`None`: the link's).
    fn scoped(
        kind: OperationKind,
        resource_type: ResourceType,
        scope: OperationScope,
        link: Address,
        path: Option<String>,
    ) -> Self {
        CosmosOperation {
            kind,
            resource_type,
            scope,
            link,
            path,
            partition_key: None,
            body: None,
            problem: None,
            query: None,
            feed_range: None,
            headers: Vec::new(),
            raw: false,
        }
    }

    /// Records the first forbidden id as the operation's problem (reported on the first poll,
    /// before anything is sent).
    pub(crate) fn checked(mut self, names: &[(ResourceIdKind, &str)]) -> Self {
        self.check(names);
        self
    }

    /// [`CosmosOperation::checked`] in place.
    fn check(&mut self, names: &[(ResourceIdKind, &str)]) {
        if self.problem.is_none() {
            self.problem = Self::first_problem(names);
        }
    }

    /// The first forbidden id of `names`, as the operation's problem.
    fn first_problem(names: &[(ResourceIdKind, &str)]) -> Option<Box<ConfigError>> {
        names
            .iter()
            .find_map(|(kind, id)| validate_resource_id(*kind, id).err())
            .map(Box::new)
    }

    /// The problem [`CosmosOperation::checked`] would record for an operation in container `c`,
    /// plus one more id: the database's and container's names were checked when `c` was built,
    /// so they are checked again only when one of them is not allowed (to report which).
    /// Computed before the operation is built, so that an item operation is built in the place
    /// it is returned to, not moved through a check (it is about 290 bytes).
    fn problem_in(
        c: &ContainerReference,
        more: Option<(ResourceIdKind, &str)>,
    ) -> Option<Box<ConfigError>> {
        if c.names_valid() {
            return more.and_then(|id| Self::first_problem(&[id]));
        }
        let [db, coll] = Self::container_names(c);
        match more {
            Some(id) => Self::first_problem(&[db, coll, id]),
            None => Self::first_problem(&[db, coll]),
        }
    }

    pub(crate) fn container_names(c: &ContainerReference) -> [(ResourceIdKind, &str); 2] {
        [
            (ResourceIdKind::Database, c.database().name()),
            (ResourceIdKind::Container, c.name()),
        ]
    }

    pub(crate) fn item_feed(kind: OperationKind, container: &ContainerReference) -> Self {
        let path = format!("{}/docs", container.path());
        let problem = Self::problem_in(container, None);
        // The feed signs the container's link: shared, not copied.
        let link = Address::Shared(Arc::clone(container.link_arc()));
        let scope = OperationScope::Container(container.clone());
        let mut op = Self::scoped(kind, ResourceType::Item, scope, link, Some(path));
        op.problem = problem;
        op
    }

    fn item(kind: OperationKind, item: ItemReference) -> Self {
        let c = item.container();
        let mut link = String::with_capacity(c.link().len() + item.id().len() + 6);
        item.push_link(&mut link);
        let path = (c.path() != c.link() || needs_path_encoding(item.id())).then(|| {
            let mut path = String::with_capacity(c.path().len() + item.id().len() * 3 + 6);
            item.push_path(&mut path);
            path
        });
        let problem = Self::problem_in(c, Some((ResourceIdKind::Item, item.id())));
        // The item reference's container moves in: no copy of the account, link or path.
        let scope = OperationScope::Container(item.into_container());
        let mut op = Self::scoped(kind, ResourceType::Item, scope, Address::Own(link), path);
        op.problem = problem;
        op
    }

    /// Creates an item in `container` (`POST .../docs`). Needs a partition key and a body.
    pub fn create(container: ContainerReference) -> Self {
        Self::item_feed(OperationKind::Create, &container)
    }

    /// Creates or replaces an item in `container`. Needs a partition key and a body.
    pub fn upsert(container: ContainerReference) -> Self {
        Self::item_feed(OperationKind::Upsert, &container)
    }

    /// Reads one item. Needs a partition key.
    pub fn read(item: ItemReference) -> Self {
        Self::item(OperationKind::Read, item)
    }

    /// Replaces one item. Needs a partition key and a body.
    pub fn replace(item: ItemReference) -> Self {
        Self::item(OperationKind::Replace, item)
    }

    /// Deletes one item. Needs a partition key.
    pub fn delete(item: ItemReference) -> Self {
        Self::item(OperationKind::Delete, item)
    }

    /// A transactional batch on one partition key of `container` (PROTOCOL.md §8.2): every
    /// operation commits or none does. The request is checked before sending (at most 100
    /// operations, 2 MB, valid ids and patches). Read the outcome with
    /// `BatchResponse::from_response(&response, batch.operations().len())`: a failed batch is
    /// a 207 response whose failing operation carries its status, the others 424. A sent batch
    /// is a write: it is not replayed after an ambiguous failure unless the caller opted in.
    pub fn batch(container: ContainerReference, batch: &crate::batch::TransactionalBatch) -> Self {
        let mut op = Self::item_feed(OperationKind::Batch, &container);
        op.partition_key = Some(batch.partition_key().clone());
        match batch.to_body() {
            Ok(body) => op.body = Some(Bytes::from(body)),
            Err(e) => {
                if op.problem.is_none() {
                    op.problem = Some(Box::new(e));
                }
            }
        }
        op
    }

    /// Partially updates one item (`PATCH`, PROTOCOL.md §8.1): the service applies every
    /// operation of `patch` or none. Needs a partition key. A patch that is not idempotent
    /// (increments, moves, removals, array inserts) is never replayed after an ambiguous
    /// failure unless `if-match` makes it conditional or the caller opted in.
    pub fn patch(item: ItemReference, patch: crate::operation::PatchBuilder) -> Self {
        let mut op = Self::item(OperationKind::Patch, item);
        match patch.validate() {
            Ok(()) => op.body = Some(Bytes::from(patch.to_body())),
            Err(e) => {
                if op.problem.is_none() {
                    op.problem = Some(Box::new(e));
                }
            }
        }
        op
    }

    /// Queries the items of `container` with SQL (one page per execution). Scope it to one
    /// logical partition with [`CosmosOperation::with_partition_key`]; without one it runs
    /// across every partition. Results are the raw JSON items (`{"Documents": [...]}`).
    pub fn query(container: ContainerReference, spec: QuerySpec) -> Self {
        let mut op = Self::item_feed(OperationKind::Query, &container);
        op.body = Some(Bytes::from(spec.to_body()));
        if let Err(e) = spec.validate() {
            op.problem = Some(Box::new(e));
        }
        op.query = Some(spec);
        op
    }

    /// Scopes a query to one feed range ([`crate::feed::FeedRange`], e.g. one of
    /// `FeedRange::from_partition_key_ranges`): only the partition key ranges overlapping it are
    /// queried, and a range that extends past it is read with effective-partition-key bounds.
    pub fn with_feed_range(mut self, range: crate::feed::FeedRange) -> Self {
        self.feed_range = Some(range);
        self
    }

    /// Reads the container's partition key ranges (`GET …/pkranges`, one page); turn the body
    /// into feed ranges with `FeedRange::from_partition_key_ranges`.
    pub fn read_partition_key_ranges(container: ContainerReference) -> Self {
        let path = format!("{}/pkranges", container.path());
        Self::new(
            OperationKind::ReadFeed,
            ResourceType::PartitionKeyRange,
            container.account(),
            container.link().to_string(),
            path,
        )
        .checked(&Self::container_names(&container))
    }

    /// The query of a [`CosmosOperation::query`].
    pub fn query_spec(&self) -> Option<&QuerySpec> {
        self.query.as_ref()
    }

    /// Reads the item feed of `container` (one page; see `x-ms-continuation`).
    pub fn read_all_items(container: ContainerReference) -> Self {
        Self::item_feed(OperationKind::ReadFeed, &container)
    }

    /// Reads the account metadata (`GET /`).
    pub fn read_account(account: AccountReference) -> Self {
        Self::new(
            OperationKind::Read,
            ResourceType::Account,
            &account,
            String::new(),
            String::new(),
        )
    }

    /// Creates database `id`.
    pub fn create_database(account: AccountReference, id: &str) -> Self {
        let body = serde_json::json!({ "id": id }).to_string();
        Self::new(
            OperationKind::Create,
            ResourceType::Database,
            &account,
            String::new(),
            "dbs".into(),
        )
        .with_body(body)
        .checked(&[(ResourceIdKind::Database, id)])
    }

    /// Reads a database.
    pub fn read_database(database: DatabaseReference) -> Self {
        Self::new(
            OperationKind::Read,
            ResourceType::Database,
            database.account(),
            database.link().into(),
            database.path().into(),
        )
        .checked(&[(ResourceIdKind::Database, database.name())])
    }

    /// Deletes a database and everything in it.
    pub fn delete_database(database: DatabaseReference) -> Self {
        Self::new(
            OperationKind::Delete,
            ResourceType::Database,
            database.account(),
            database.link().into(),
            database.path().into(),
        )
        .checked(&[(ResourceIdKind::Database, database.name())])
    }

    /// Lists the databases of the account (one page).
    pub fn list_databases(account: AccountReference) -> Self {
        Self::new(
            OperationKind::ReadFeed,
            ResourceType::Database,
            &account,
            String::new(),
            "dbs".into(),
        )
    }

    /// Creates a container in `database` with `properties`.
    pub fn create_container(database: DatabaseReference, properties: &ContainerProperties) -> Self {
        let op = Self::new(
            OperationKind::Create,
            ResourceType::Container,
            database.account(),
            database.link().into(),
            format!("{}/colls", database.path()),
        );
        op.with_json_body(properties).checked(&[
            (ResourceIdKind::Database, database.name()),
            (ResourceIdKind::Container, &properties.id),
        ])
    }

    /// Reads a container's properties.
    pub fn read_container(container: ContainerReference) -> Self {
        Self::new(
            OperationKind::Read,
            ResourceType::Container,
            container.account(),
            container.link().into(),
            container.path().into(),
        )
        .checked(&Self::container_names(&container))
    }

    /// Replaces a container's properties (indexing policy, TTL, ...).
    pub fn replace_container(
        container: ContainerReference,
        properties: &ContainerProperties,
    ) -> Self {
        Self::new(
            OperationKind::Replace,
            ResourceType::Container,
            container.account(),
            container.link().into(),
            container.path().into(),
        )
        .with_json_body(properties)
        .checked(&Self::container_names(&container))
    }

    /// Deletes a container and its items.
    pub fn delete_container(container: ContainerReference) -> Self {
        Self::new(
            OperationKind::Delete,
            ResourceType::Container,
            container.account(),
            container.link().into(),
            container.path().into(),
        )
        .checked(&Self::container_names(&container))
    }

    /// Deletes every item of `partition_key` in `container` (`POST …/operations/partitionkeydelete`,
    /// as the JS/.NET/Java SDKs send it). The service runs it in the background with a bounded
    /// share of the container's throughput, on accounts with the `DeleteAllItemsByPartitionKey`
    /// capability, and refuses a prefix of a hierarchical key. Deleting twice leaves the same
    /// state, so it is retried like an idempotent write.
    pub fn delete_all_items_by_partition_key(
        container: ContainerReference,
        partition_key: impl Into<PartitionKey>,
    ) -> Self {
        let mut op = Self::new(
            OperationKind::DeletePartitionKey,
            ResourceType::Container,
            container.account(),
            container.link().into(),
            format!("{}/operations/partitionkeydelete", container.path()),
        )
        .checked(&Self::container_names(&container));
        op.partition_key = Some(partition_key.into());
        op
    }

    /// Lists the containers of `database` (one page).
    pub fn list_containers(database: DatabaseReference) -> Self {
        Self::new(
            OperationKind::ReadFeed,
            ResourceType::Container,
            database.account(),
            database.link().into(),
            format!("{}/colls", database.path()),
        )
        .checked(&[(ResourceIdKind::Database, database.name())])
    }

    /// Records `problem` unless an earlier one is already recorded (the first is reported).
    pub(crate) fn note_problem(&mut self, problem: ConfigError) {
        if self.problem.is_none() {
            self.problem = Some(Box::new(problem));
        }
    }

    /// Sets the partition key (required for item operations).
    pub fn with_partition_key(mut self, partition_key: impl Into<PartitionKey>) -> Self {
        self.partition_key = Some(partition_key.into());
        self
    }

    /// Sets the request body (raw JSON bytes).
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    pub(crate) fn with_json_body<T: serde::Serialize>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(v) => self.body = Some(v.into()),
            Err(e) => {
                self.problem = Some(Box::new(ConfigError::InvalidOperation(format!(
                    "cannot serialize the body: {e}"
                ))))
            }
        }
        self
    }

    /// The verb.
    pub fn kind(&self) -> OperationKind {
        self.kind
    }

    /// The resource type.
    pub fn resource_type(&self) -> ResourceType {
        self.resource_type
    }

    /// The account targeted.
    pub fn account(&self) -> &AccountReference {
        match &self.scope {
            OperationScope::Account(a) => a,
            OperationScope::Container(c) => c.account(),
        }
    }

    /// The container, for item operations and the others within one container (routing and
    /// session tokens are keyed by its link).
    pub(crate) fn container(&self) -> Option<&ContainerReference> {
        match &self.scope {
            OperationScope::Account(_) => None,
            OperationScope::Container(c) => Some(c),
        }
    }

    /// The partition key, if set.
    pub fn partition_key(&self) -> Option<&PartitionKey> {
        self.partition_key.as_ref()
    }

    /// The body, if set.
    pub fn body(&self) -> Option<&Bytes> {
        self.body.as_ref()
    }

    /// The name-based resource link that is signed for this operation, and its resource type.
    ///
    /// Feeds (create, upsert, list) sign the parent's link with the child's type; single
    /// resources sign their own link (PROTOCOL.md §1).
    pub fn signing_address(&self) -> (&'static str, &str) {
        (self.resource_type.token(), &self.link)
    }

    /// The URL path without the leading slash, ids percent-encoded.
    pub fn path(&self) -> &str {
        self.path.as_deref().unwrap_or(&self.link)
    }

    /// Checks the operation can be sent: partition key and body where needed. A request
    /// targeted at a partition key range (a bulk batch) carries its keys per operation.
    pub(crate) fn validate(&self, range_targeted: bool) -> Result<(), ConfigError> {
        if let Some(p) = &self.problem {
            return Err(ConfigError::clone(p));
        }
        if self.raw {
            return Ok(());
        }
        let needs_pk = (self.resource_type == ResourceType::Item
            && !self.kind.is_feed()
            && !(range_targeted && self.kind == OperationKind::Batch))
            || self.kind == OperationKind::ExecuteStoredProcedure;
        if needs_pk && self.partition_key.is_none() {
            return Err(ConfigError::InvalidOperation(format!(
                "{} {} needs a partition key (with_partition_key)",
                if self.resource_type == ResourceType::Item {
                    "item"
                } else {
                    "stored procedure"
                },
                self.kind.as_str()
            )));
        }
        let needs_body = matches!(
            self.kind,
            OperationKind::Create | OperationKind::Upsert | OperationKind::Replace
        );
        if needs_body && self.body.is_none() {
            return Err(ConfigError::InvalidOperation(format!(
                "{} needs a body (with_body)",
                self.kind.as_str()
            )));
        }
        if needs_body && self.resource_type == ResourceType::Item {
            // The item's id becomes a URL path segment on every later read, replace or delete.
            if let Some(id) = self.body.as_deref().and_then(body_id) {
                validate_resource_id(ResourceIdKind::Item, &id)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem_kind(op: &CosmosOperation) -> Option<(&'static str, String)> {
        match op.problem.as_deref() {
            Some(ConfigError::InvalidResourceId { kind, id, .. }) => Some((kind, id.clone())),
            _ => None,
        }
    }

    /// An item whose names need no encoding keeps one string for its link and path; any name
    /// that needs encoding gives the path its own.
    #[test]
    fn an_item_path_is_kept_apart_only_when_it_differs_from_the_link() {
        let account =
            AccountReference::with_master_key("https://acct.documents.azure.com/", "a2V5").unwrap();
        let cases = [
            ("db", "coll", "item-1", None),
            ("db", "coll", "a b", Some("dbs/db/colls/coll/docs/a%20b")),
            ("db", "coll", "é", Some("dbs/db/colls/coll/docs/%C3%A9")),
            (
                "d b",
                "coll",
                "item-1",
                Some("dbs/d%20b/colls/coll/docs/item-1"),
            ),
            (
                "db",
                "c+l",
                "item-1",
                Some("dbs/db/colls/c%2Bl/docs/item-1"),
            ),
        ];
        for (db, coll, id, own_path) in cases {
            let item = ItemReference::from_name(account.clone(), db, coll, id);
            for op in [
                CosmosOperation::read(item.clone()),
                CosmosOperation::replace(item.clone()),
                CosmosOperation::delete(item),
            ] {
                assert_eq!(op.path.as_deref(), own_path, "{db}/{coll}/{id}");
                assert_eq!(op.path(), own_path.unwrap_or(&op.link));
                assert_eq!(&*op.link, format!("dbs/{db}/colls/{coll}/docs/{id}"));
            }
        }
        let op = CosmosOperation::read(ItemReference::from_name(account.clone(), "db", "c", "i"));
        assert!(
            format!("{op:?}")
                .contains(r#"link: "dbs/db/colls/c/docs/i", path: "dbs/db/colls/c/docs/i","#),
            "the Debug shape is the one a derived impl gave: {op:?}"
        );
        // An item feed signs its container's link: the container reference's own string.
        let container = ContainerReference::from_name(account, "d b", "coll");
        for op in [
            CosmosOperation::create(container.clone()),
            CosmosOperation::upsert(container.clone()),
        ] {
            let Address::Shared(link) = &op.link else {
                panic!("{:?} copied its container's link", op.kind)
            };
            assert!(Arc::ptr_eq(link, container.link_arc()));
            assert_eq!(&**link, "dbs/d b/colls/coll");
            assert_eq!(op.path(), "dbs/d%20b/colls/coll/docs");
        }
    }

    /// An item operation holds its item's container reference (moved, not rebuilt), and takes
    /// its account from it; account-level operations hold the account.
    #[test]
    fn an_item_operation_holds_its_container_and_its_account() {
        let account =
            AccountReference::with_master_key("https://acct.documents.azure.com/", "a2V5").unwrap();
        let other = AccountReference::with_master_key("https://other.documents.azure.com/", "a2V5")
            .unwrap();
        let container = ContainerReference::from_name(account.clone(), "d b", "coll");
        let item = ItemReference::in_container(&container, "i");
        for op in [
            CosmosOperation::read(item.clone()),
            CosmosOperation::patch(
                item.clone(),
                crate::operation::PatchBuilder::new().set("/a", 1),
            ),
            CosmosOperation::create(container.clone()),
        ] {
            let held = op.container().expect("an item operation's container");
            assert!(Arc::ptr_eq(held.link_arc(), container.link_arc()));
            assert_eq!(held.path(), "dbs/d%20b/colls/coll");
            assert!(op.account().same_account(&account));
            assert!(!op.account().same_account(&other));
        }
        let op = CosmosOperation::list_databases(other.clone());
        assert!(op.container().is_none());
        assert!(op.account().same_account(&other));
    }

    /// A container reference checks its database's and its own name once; item operations then
    /// check only the item's id, and still name the first bad id when a container name is bad.
    #[test]
    fn item_operations_name_the_first_forbidden_id() {
        let account =
            AccountReference::with_master_key("https://acct.documents.azure.com/", "a2V5").unwrap();
        let item = |db: &str, coll: &str, id: &str| {
            CosmosOperation::read(ItemReference::from_name(account.clone(), db, coll, id))
        };
        assert_eq!(problem_kind(&item("db", "coll", "ok")), None);
        assert_eq!(
            problem_kind(&item("db", "coll", "a/b")),
            Some(("item", "a/b".into()))
        );
        assert_eq!(
            problem_kind(&item("d?b", "coll", "a/b")),
            Some(("database", "d?b".into()))
        );
        assert_eq!(
            problem_kind(&item("db", "c#oll", "a/b")),
            Some(("container", "c#oll".into()))
        );
        let bad = ContainerReference::from_name(account.clone(), "db", "..");
        assert!(!bad.names_valid());
        assert_eq!(
            problem_kind(&CosmosOperation::create(bad)),
            Some(("container", "..".into()))
        );
        let good = ContainerReference::from_name(account, "db", "coll");
        assert!(good.names_valid());
        assert_eq!(problem_kind(&CosmosOperation::create(good)), None);
    }
}
