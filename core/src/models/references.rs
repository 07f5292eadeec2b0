//! Typed references to databases, containers and items (no raw resource-link strings).

use std::sync::Arc;

use crate::auth::encode::push_path_segment;
use crate::models::account_reference::AccountReference;
use crate::models::{validate_resource_id, ResourceIdKind};

/// A database, by name. Cloning it is one reference-count increment.
#[derive(Clone)]
pub struct DatabaseReference(Arc<DatabaseInner>);

struct DatabaseInner {
    account: AccountReference,
    name: Box<str>,
    link: Box<str>,
    path: Box<str>,
    /// The name is an id Cosmos DB allows: checked once here, not by every operation.
    name_valid: bool,
}

impl DatabaseReference {
    /// References database `name` in `account`.
    pub fn from_name(account: AccountReference, name: impl AsRef<str>) -> Self {
        let name = name.as_ref();
        let link = format!("dbs/{name}");
        let mut path = String::from("dbs/");
        push_path_segment(&mut path, name);
        DatabaseReference(Arc::new(DatabaseInner {
            name_valid: validate_resource_id(ResourceIdKind::Database, name).is_ok(),
            account,
            name: name.into(),
            link: link.into(),
            path: path.into(),
        }))
    }

    /// The account.
    pub fn account(&self) -> &AccountReference {
        &self.0.account
    }

    /// The database name (id).
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Name-based resource link as signed: `dbs/{name}` (raw, not encoded).
    pub fn link(&self) -> &str {
        &self.0.link
    }

    /// The URL path without a leading slash, each id percent-encoded.
    pub fn path(&self) -> &str {
        &self.0.path
    }
}

impl std::fmt::Debug for DatabaseReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = &self.0;
        f.debug_struct("DatabaseReference")
            .field("account", &d.account)
            .field("name", &d.name)
            .field("link", &d.link)
            .field("path", &d.path)
            .field("name_valid", &d.name_valid)
            .finish()
    }
}

/// A container, by database and container name. Cloning it is one reference-count increment
/// (operations on it clone it, so the count of atomic updates per operation matters).
#[derive(Clone)]
pub struct ContainerReference(Arc<ContainerInner>);

struct ContainerInner {
    database: DatabaseReference,
    name: Box<str>,
    link: Arc<str>,
    path: Arc<str>,
    /// The database's and the container's names are ids Cosmos DB allows: checked once here,
    /// so that item operations check only the item's id.
    names_valid: bool,
}

impl ContainerReference {
    /// References container `container` in database `database` of `account`.
    pub fn from_name(
        account: AccountReference,
        database: impl AsRef<str>,
        container: impl AsRef<str>,
    ) -> Self {
        Self::in_database(&DatabaseReference::from_name(account, database), container)
    }

    /// References container `name` in `database`.
    pub fn in_database(database: &DatabaseReference, name: impl AsRef<str>) -> Self {
        let name = name.as_ref();
        let link = format!("{}/colls/{name}", database.link());
        let mut path = format!("{}/colls/", database.path());
        push_path_segment(&mut path, name);
        ContainerReference(Arc::new(ContainerInner {
            names_valid: database.0.name_valid
                && validate_resource_id(ResourceIdKind::Container, name).is_ok(),
            database: database.clone(),
            name: name.into(),
            link: link.into(),
            path: path.into(),
        }))
    }

    /// The account.
    pub fn account(&self) -> &AccountReference {
        self.0.database.account()
    }

    /// The database.
    pub fn database(&self) -> &DatabaseReference {
        &self.0.database
    }

    /// The container name (id).
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Name-based resource link as signed: `dbs/{db}/colls/{name}`.
    pub fn link(&self) -> &str {
        &self.0.link
    }

    /// The URL path without a leading slash, each id percent-encoded.
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// The link and the path, shared (operations keep them without copying).
    /// The link, shared (session tokens, routing caches and leases are keyed by it).
    pub(crate) fn link_arc(&self) -> &Arc<str> {
        &self.0.link
    }

    /// A reference rebuilt from a recorded operation's container link and path, kept verbatim
    /// (the replayer's; see `replay::replayer`). The names are the link's segments where it has
    /// the usual `dbs/{db}/colls/{coll}` form, else the whole link; they only label the
    /// reference, which the replayed operation uses for its link and path alone.
    pub(crate) fn from_recorded(account: AccountReference, link: &str, path: &str) -> Self {
        let mut parts = link.split('/');
        let (db, coll) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("dbs"), Some(db), Some("colls"), Some(coll)) => (db, coll),
            _ => (link, link),
        };
        ContainerReference(Arc::new(ContainerInner {
            names_valid: true,
            database: DatabaseReference::from_name(account, db),
            name: coll.into(),
            link: link.into(),
            path: path.into(),
        }))
    }

    /// Whether the database's and the container's names are both allowed ids.
    pub(crate) fn names_valid(&self) -> bool {
        self.0.names_valid
    }
}

impl std::fmt::Debug for ContainerReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.0;
        f.debug_struct("ContainerReference")
            .field("database", &c.database)
            .field("name", &c.name)
            .field("link", &c.link)
            .field("path", &c.path)
            .field("names_valid", &c.names_valid)
            .finish()
    }
}

/// An item (document), by container and id. Cloning it is two reference-count increments.
#[derive(Debug, Clone)]
pub struct ItemReference {
    container: ContainerReference,
    id: Arc<str>,
}

impl ItemReference {
    /// References item `id` in container `container` of database `database`.
    pub fn from_name(
        account: AccountReference,
        database: impl AsRef<str>,
        container: impl AsRef<str>,
        id: impl AsRef<str>,
    ) -> Self {
        Self::in_container(
            &ContainerReference::from_name(account, database, container),
            id,
        )
    }

    /// References item `id` in `container`.
    pub fn in_container(container: &ContainerReference, id: impl AsRef<str>) -> Self {
        ItemReference {
            container: container.clone(),
            id: id.as_ref().into(),
        }
    }

    /// The container.
    pub fn container(&self) -> &ContainerReference {
        &self.container
    }

    /// The item id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The container, moved out (the item's id is dropped).
    pub(crate) fn into_container(self) -> ContainerReference {
        self.container
    }

    /// Appends the signed link `dbs/{db}/colls/{c}/docs/{id}` to `out`.
    pub(crate) fn push_link(&self, out: &mut String) {
        out.push_str(self.container.link());
        out.push_str("/docs/");
        out.push_str(&self.id);
    }

    /// Appends the encoded URL path (no leading slash) to `out`.
    pub(crate) fn push_path(&self, out: &mut String) {
        out.push_str(self.container.path());
        out.push_str("/docs/");
        push_path_segment(out, &self.id);
    }
}

/// Any resource an operation can target.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CosmosResourceReference {
    /// The account itself (database feed, account read).
    Account(AccountReference),
    /// A database (or its container feed).
    Database(DatabaseReference),
    /// A container (or its item feed).
    Container(ContainerReference),
    /// One item.
    Item(ItemReference),
}

impl CosmosResourceReference {
    /// The account the resource belongs to.
    pub fn account(&self) -> &AccountReference {
        match self {
            CosmosResourceReference::Account(a) => a,
            CosmosResourceReference::Database(d) => d.account(),
            CosmosResourceReference::Container(c) => c.account(),
            CosmosResourceReference::Item(i) => i.container().account(),
        }
    }
}

impl From<AccountReference> for CosmosResourceReference {
    fn from(v: AccountReference) -> Self {
        CosmosResourceReference::Account(v)
    }
}
impl From<DatabaseReference> for CosmosResourceReference {
    fn from(v: DatabaseReference) -> Self {
        CosmosResourceReference::Database(v)
    }
}
impl From<ContainerReference> for CosmosResourceReference {
    fn from(v: ContainerReference) -> Self {
        CosmosResourceReference::Container(v)
    }
}
impl From<ItemReference> for CosmosResourceReference {
    fn from(v: ItemReference) -> Self {
        CosmosResourceReference::Item(v)
    }
}
