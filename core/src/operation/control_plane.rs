//! Control-plane operations (PROTOCOL.md §10): throughput offers, users and permissions, and
//! the server-side scripts of a container. Each is one request, signed by §10.0's rules: a
//! feed or create signs the parent's link with the child's type; offers are addressed and
//! signed by their lowercased resource id.

use std::time::Duration;

use http::{HeaderName, HeaderValue};
use serde_json::Value;

use crate::auth::encode::push_path_segment;
use crate::error::ConfigError;
use crate::models::throughput::{Offer, ThroughputProperties};
use crate::models::{
    AccountReference, ContainerReference, DatabaseReference, PartitionKey, PermissionProperties,
    ResourceIdKind, StoredProcedureProperties, TriggerProperties, UserDefinedFunctionProperties,
    UserProperties,
};
use crate::operation::kind::{OperationKind, ResourceType};
use crate::operation::{CosmosOperation, OperationScope, QuerySpec};

/// `x-ms-documentdb-expiry-seconds`: a minted resource token's lifetime (PROTOCOL.md §10.3).
pub const EXPIRY_SECONDS: &str = "x-ms-documentdb-expiry-seconds";
/// `x-ms-documentdb-script-enable-logging` (PROTOCOL.md §10.2).
pub const SCRIPT_ENABLE_LOGGING: &str = "x-ms-documentdb-script-enable-logging";
/// `x-ms-documentdb-script-log-results`: the URL-encoded `console.log` output of a script.
pub const SCRIPT_LOG_RESULTS: &str = "x-ms-documentdb-script-log-results";
/// `x-ms-documentdb-pre-trigger-include`.
pub const PRE_TRIGGER_INCLUDE: &str = "x-ms-documentdb-pre-trigger-include";
/// `x-ms-documentdb-post-trigger-include`.
pub const POST_TRIGGER_INCLUDE: &str = "x-ms-documentdb-post-trigger-include";

/// Resource tokens live from 10 minutes to 24 hours; the service's default is one hour
/// ("Secure access to data in Azure Cosmos DB": resource tokens, default validity 1 h, max 24 h).
pub const MAX_TOKEN_EXPIRY: Duration = Duration::from_secs(24 * 3600);
/// The shortest lifetime the service grants (10 minutes, same source).
pub const MIN_TOKEN_EXPIRY: Duration = Duration::from_secs(600);

/// The kinds of server-side script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptKind {
    /// `sprocs`.
    StoredProcedure,
    /// `udfs`.
    UserDefinedFunction,
    /// `triggers`.
    Trigger,
}

impl ScriptKind {
    fn resource_type(self) -> ResourceType {
        match self {
            ScriptKind::StoredProcedure => ResourceType::StoredProcedure,
            ScriptKind::UserDefinedFunction => ResourceType::UserDefinedFunction,
            ScriptKind::Trigger => ResourceType::Trigger,
        }
    }
}

/// `(link, path)` of child `id` of type `token` under a parent's `(link, path)`.
fn child(parent_link: &str, parent_path: &str, token: &str, id: &str) -> (String, String) {
    let link = format!("{parent_link}/{token}/{id}");
    let mut path = String::with_capacity(parent_path.len() + token.len() + id.len() * 3 + 2);
    path.push_str(parent_path);
    path.push('/');
    path.push_str(token);
    path.push('/');
    push_path_segment(&mut path, id);
    (link, path)
}

impl CosmosOperation {
    fn on(
        kind: OperationKind,
        resource_type: ResourceType,
        account: &AccountReference,
        (link, path): (String, String),
    ) -> Self {
        CosmosOperation::new(kind, resource_type, account, link, path)
    }

    /// The feed of type `rt` under `(link, path)`: signs the parent's link (§10.0).
    fn feed_of(
        kind: OperationKind,
        rt: ResourceType,
        account: &AccountReference,
        parent_link: &str,
        parent_path: &str,
    ) -> Self {
        let path = format!("{parent_path}/{}", rt.token());
        CosmosOperation::new(kind, rt, account, parent_link.to_owned(), path)
    }

    fn add_header(mut self, name: &'static str, value: HeaderValue) -> Self {
        self.headers.push((HeaderName::from_static(name), value));
        self
    }

    // ----- throughput (offers, §10.1) -----

    /// Provisions `throughput` on a [`CosmosOperation::create_database`] or
    /// [`CosmosOperation::create_container`] (`x-ms-offer-throughput` or
    /// `x-ms-cosmos-offer-autopilot-settings`); refused on any other operation.
    pub fn with_throughput(mut self, throughput: &ThroughputProperties) -> Self {
        let creates = self.kind == OperationKind::Create
            && matches!(
                self.resource_type,
                ResourceType::Database | ResourceType::Container
            );
        if !creates {
            self.note_problem(ConfigError::InvalidOperation(format!(
                "throughput can only be provisioned when creating a database or container, \
                 not on {} of {}",
                self.kind.as_str(),
                self.resource_type.token()
            )));
            return self;
        }
        let (name, value) = throughput.creation_header();
        self.headers.push((name, value));
        self
    }

    /// Finds the offer of the database or container whose `_rid` is `resource_rid`
    /// (`POST /offers` as a query, the Rust SDK's `offerResourceId` filter, PROTOCOL.md §10.1).
    /// The result is `{"Offers": [...]}`, empty for a resource without its own throughput.
    pub fn query_offers(account: AccountReference, resource_rid: &str) -> Self {
        let spec = QuerySpec::new("SELECT * FROM c WHERE c.offerResourceId = @rid")
            .with_parameter("@rid", resource_rid);
        let mut op = CosmosOperation::new(
            OperationKind::Query,
            ResourceType::Offer,
            &account,
            String::new(),
            "offers".into(),
        );
        op.body = Some(spec.to_body().into());
        if resource_rid.is_empty() {
            op.note_problem(ConfigError::InvalidOperation(
                "query_offers needs the resource's _rid, which is empty".into(),
            ));
        }
        op.query = Some(spec);
        op
    }

    /// Lists the account's offers (`GET /offers`, one page).
    pub fn list_offers(account: AccountReference) -> Self {
        CosmosOperation::new(
            OperationKind::ReadFeed,
            ResourceType::Offer,
            &account,
            String::new(),
            "offers".into(),
        )
    }

    /// Reads one offer by its resource id (`GET /offers/{rid}`; the link signed is the
    /// lowercased rid, PROTOCOL.md §10.0). A scale still being applied answers with
    /// `x-ms-offer-replace-pending: true`.
    pub fn read_offer(account: AccountReference, offer_rid: &str) -> Self {
        Self::offer_op(OperationKind::Read, &account, offer_rid)
    }

    /// Replaces an offer (`PUT /offers/{rid}` with the whole document): build the body with
    /// [`Offer::with_throughput`]. A 202 or `x-ms-offer-replace-pending: true` means the scale
    /// finishes asynchronously; poll with [`CosmosOperation::read_offer`].
    pub fn replace_offer(account: AccountReference, offer: &Offer) -> Self {
        Self::offer_op(OperationKind::Replace, &account, &offer.rid).with_json_body(offer)
    }

    fn offer_op(kind: OperationKind, account: &AccountReference, rid: &str) -> Self {
        let mut path = String::from("offers/");
        push_path_segment(&mut path, rid);
        CosmosOperation::new(
            kind,
            ResourceType::Offer,
            account,
            rid.to_ascii_lowercase(),
            path,
        )
        .checked(&[(ResourceIdKind::Offer, rid)])
    }

    /// Asks for the migration between manual and autoscale that `header` names
    /// ([`Offer::migration_to`]) on a [`CosmosOperation::replace_offer`].
    pub fn with_offer_migration(self, header: &'static str) -> Self {
        self.add_header(header, HeaderValue::from_static("true"))
    }

    // ----- users and permissions (§10.3) -----

    fn user_addr(database: &DatabaseReference, user: &str) -> (String, String) {
        child(database.link(), database.path(), "users", user)
    }

    fn user_op(kind: OperationKind, database: &DatabaseReference, user: &str) -> Self {
        Self::on(
            kind,
            ResourceType::User,
            database.account(),
            Self::user_addr(database, user),
        )
        .checked(&[
            (ResourceIdKind::Database, database.name()),
            (ResourceIdKind::User, user),
        ])
    }

    /// Creates a user in `database` (`POST /dbs/{db}/users`).
    pub fn create_user(database: DatabaseReference, user: &UserProperties) -> Self {
        Self::feed_of(
            OperationKind::Create,
            ResourceType::User,
            database.account(),
            database.link(),
            database.path(),
        )
        .with_json_body(user)
        .checked(&[
            (ResourceIdKind::Database, database.name()),
            (ResourceIdKind::User, &user.id),
        ])
    }

    /// Creates or replaces a user.
    pub fn upsert_user(database: DatabaseReference, user: &UserProperties) -> Self {
        let mut op = Self::create_user(database, user);
        op.kind = OperationKind::Upsert;
        op
    }

    /// Reads a user.
    pub fn read_user(database: DatabaseReference, user: &str) -> Self {
        Self::user_op(OperationKind::Read, &database, user)
    }

    /// Replaces user `user` (renaming it to `properties.id`).
    pub fn replace_user(
        database: DatabaseReference,
        user: &str,
        properties: &UserProperties,
    ) -> Self {
        Self::user_op(OperationKind::Replace, &database, user)
            .with_json_body(properties)
            .checked(&[(ResourceIdKind::User, &properties.id)])
    }

    /// Deletes a user and its permissions.
    pub fn delete_user(database: DatabaseReference, user: &str) -> Self {
        Self::user_op(OperationKind::Delete, &database, user)
    }

    /// Lists the users of `database` (one page).
    pub fn list_users(database: DatabaseReference) -> Self {
        Self::feed_of(
            OperationKind::ReadFeed,
            ResourceType::User,
            database.account(),
            database.link(),
            database.path(),
        )
        .checked(&[(ResourceIdKind::Database, database.name())])
    }

    fn permission_op(
        kind: OperationKind,
        database: &DatabaseReference,
        user: &str,
        permission: &str,
    ) -> Self {
        let (ul, up) = Self::user_addr(database, user);
        Self::on(
            kind,
            ResourceType::Permission,
            database.account(),
            child(&ul, &up, "permissions", permission),
        )
        .checked(&[
            (ResourceIdKind::Database, database.name()),
            (ResourceIdKind::User, user),
            (ResourceIdKind::Permission, permission),
        ])
    }

    /// Creates a permission of `user` (`POST /dbs/{db}/users/{user}/permissions`). The
    /// response's `_token` is a resource token
    /// ([`PermissionProperties::resource_token`]); set its lifetime with
    /// [`CosmosOperation::with_token_expiry`].
    pub fn create_permission(
        database: DatabaseReference,
        user: &str,
        permission: &PermissionProperties,
    ) -> Self {
        let (ul, up) = Self::user_addr(&database, user);
        Self::feed_of(
            OperationKind::Create,
            ResourceType::Permission,
            database.account(),
            &ul,
            &up,
        )
        .with_json_body(permission)
        .checked(&[
            (ResourceIdKind::Database, database.name()),
            (ResourceIdKind::User, user),
            (ResourceIdKind::Permission, &permission.id),
        ])
    }

    /// Creates or replaces a permission.
    pub fn upsert_permission(
        database: DatabaseReference,
        user: &str,
        permission: &PermissionProperties,
    ) -> Self {
        let mut op = Self::create_permission(database, user, permission);
        op.kind = OperationKind::Upsert;
        op
    }

    /// Reads a permission (and mints a fresh resource token in `_token`).
    pub fn read_permission(database: DatabaseReference, user: &str, permission: &str) -> Self {
        Self::permission_op(OperationKind::Read, &database, user, permission)
    }

    /// Replaces a permission.
    pub fn replace_permission(
        database: DatabaseReference,
        user: &str,
        permission: &PermissionProperties,
    ) -> Self {
        Self::permission_op(OperationKind::Replace, &database, user, &permission.id)
            .with_json_body(permission)
    }

    /// Deletes a permission.
    pub fn delete_permission(database: DatabaseReference, user: &str, permission: &str) -> Self {
        Self::permission_op(OperationKind::Delete, &database, user, permission)
    }

    /// Lists the permissions of `user` (one page; each with a fresh `_token`).
    pub fn list_permissions(database: DatabaseReference, user: &str) -> Self {
        let (ul, up) = Self::user_addr(&database, user);
        Self::feed_of(
            OperationKind::ReadFeed,
            ResourceType::Permission,
            database.account(),
            &ul,
            &up,
        )
        .checked(&[
            (ResourceIdKind::Database, database.name()),
            (ResourceIdKind::User, user),
        ])
    }

    /// The lifetime of the resource tokens a permission create, read, replace, upsert or list
    /// mints (`x-ms-documentdb-expiry-seconds`), from 10 minutes to 24 hours.
    pub fn with_token_expiry(mut self, expiry: Duration) -> Self {
        if self.resource_type != ResourceType::Permission {
            self.note_problem(ConfigError::InvalidOperation(format!(
                "a token expiry only applies to permissions, not to {}",
                self.resource_type.token()
            )));
            return self;
        }
        if !(MIN_TOKEN_EXPIRY..=MAX_TOKEN_EXPIRY).contains(&expiry) {
            self.note_problem(ConfigError::InvalidSetting {
                name: "token expiry".into(),
                value: format!("{} s", expiry.as_secs()),
                expected: "600 to 86400 seconds".into(),
            });
            return self;
        }
        self.add_header(EXPIRY_SECONDS, HeaderValue::from(expiry.as_secs()))
    }

    // ----- server-side scripts (§10.2) -----

    fn script_op(
        kind: OperationKind,
        container: &ContainerReference,
        script: ScriptKind,
        id: &str,
    ) -> Self {
        let rt = script.resource_type();
        let mut op = Self::on(
            kind,
            rt,
            container.account(),
            child(container.link(), container.path(), rt.token(), id),
        );
        let [db, coll] = Self::container_names(container);
        op = op.checked(&[db, coll, (ResourceIdKind::Script, id)]);
        op
    }

    fn script_feed(
        kind: OperationKind,
        container: &ContainerReference,
        script: ScriptKind,
    ) -> Self {
        Self::feed_of(
            kind,
            script.resource_type(),
            container.account(),
            container.link(),
            container.path(),
        )
        .checked(&Self::container_names(container))
    }

    /// Creates a script of `kind` with `body` (a [`StoredProcedureProperties`],
    /// [`UserDefinedFunctionProperties`] or [`TriggerProperties`] serialized as JSON).
    fn create_script<T: serde::Serialize>(
        container: &ContainerReference,
        kind: ScriptKind,
        id: &str,
        body: &T,
    ) -> Self {
        Self::script_feed(OperationKind::Create, container, kind)
            .with_json_body(body)
            .checked(&[(ResourceIdKind::Script, id)])
    }

    /// Reads a script of `kind`.
    pub fn read_script(container: ContainerReference, kind: ScriptKind, id: &str) -> Self {
        Self::script_op(OperationKind::Read, &container, kind, id)
    }

    /// Deletes a script of `kind`.
    pub fn delete_script(container: ContainerReference, kind: ScriptKind, id: &str) -> Self {
        Self::script_op(OperationKind::Delete, &container, kind, id)
    }

    /// Lists the scripts of `kind` in `container` (one page).
    pub fn list_scripts(container: ContainerReference, kind: ScriptKind) -> Self {
        Self::script_feed(OperationKind::ReadFeed, &container, kind)
    }

    /// Creates a stored procedure (`POST …/colls/{c}/sprocs`).
    pub fn create_stored_procedure(
        container: ContainerReference,
        sproc: &StoredProcedureProperties,
    ) -> Self {
        Self::create_script(&container, ScriptKind::StoredProcedure, &sproc.id, sproc)
    }

    /// Replaces a stored procedure.
    pub fn replace_stored_procedure(
        container: ContainerReference,
        sproc: &StoredProcedureProperties,
    ) -> Self {
        Self::script_op(
            OperationKind::Replace,
            &container,
            ScriptKind::StoredProcedure,
            &sproc.id,
        )
        .with_json_body(sproc)
    }

    /// Creates a user-defined function (`POST …/colls/{c}/udfs`).
    pub fn create_user_defined_function(
        container: ContainerReference,
        udf: &UserDefinedFunctionProperties,
    ) -> Self {
        Self::create_script(&container, ScriptKind::UserDefinedFunction, &udf.id, udf)
    }

    /// Replaces a user-defined function.
    pub fn replace_user_defined_function(
        container: ContainerReference,
        udf: &UserDefinedFunctionProperties,
    ) -> Self {
        Self::script_op(
            OperationKind::Replace,
            &container,
            ScriptKind::UserDefinedFunction,
            &udf.id,
        )
        .with_json_body(udf)
    }

    /// Creates a trigger (`POST …/colls/{c}/triggers`).
    pub fn create_trigger(container: ContainerReference, trigger: &TriggerProperties) -> Self {
        Self::create_script(&container, ScriptKind::Trigger, &trigger.id, trigger)
    }

    /// Replaces a trigger.
    pub fn replace_trigger(container: ContainerReference, trigger: &TriggerProperties) -> Self {
        Self::script_op(
            OperationKind::Replace,
            &container,
            ScriptKind::Trigger,
            &trigger.id,
        )
        .with_json_body(trigger)
    }

    /// Runs stored procedure `id` in the logical partition `partition_key` with `args` (the
    /// body is the JSON array of arguments, PROTOCOL.md §10.2). The response body is what the
    /// script passed to `getContext().getResponse().setBody(…)`. A script may write, so the
    /// request is never replayed after an ambiguous failure unless the caller opted in.
    pub fn execute_stored_procedure(
        container: ContainerReference,
        id: &str,
        partition_key: impl Into<PartitionKey>,
        args: &[Value],
    ) -> Self {
        let mut op = Self::script_op(
            OperationKind::ExecuteStoredProcedure,
            &container,
            ScriptKind::StoredProcedure,
            id,
        )
        .with_json_body(&args);
        op.partition_key = Some(partition_key.into());
        op.scope = OperationScope::Container(container);
        op
    }

    /// Asks a stored procedure execution for its `console.log` output
    /// (`x-ms-documentdb-script-enable-logging`), returned URL-encoded in
    /// `x-ms-documentdb-script-log-results`.
    pub fn with_script_logging(mut self) -> Self {
        if self.kind != OperationKind::ExecuteStoredProcedure {
            self.note_problem(ConfigError::InvalidOperation(format!(
                "script logging only applies to stored procedure executions, not {}",
                self.kind.as_str()
            )));
            return self;
        }
        self.add_header(SCRIPT_ENABLE_LOGGING, HeaderValue::from_static("true"))
    }

    /// Runs pre-trigger `trigger` on this item write (`x-ms-documentdb-pre-trigger-include`).
    pub fn with_pre_trigger(self, trigger: &str) -> Self {
        self.with_trigger(PRE_TRIGGER_INCLUDE, trigger)
    }

    /// Runs post-trigger `trigger` on this item write (`x-ms-documentdb-post-trigger-include`).
    pub fn with_post_trigger(self, trigger: &str) -> Self {
        self.with_trigger(POST_TRIGGER_INCLUDE, trigger)
    }

    fn with_trigger(mut self, header: &'static str, trigger: &str) -> Self {
        let writes = self.resource_type == ResourceType::Item
            && matches!(
                self.kind,
                OperationKind::Create
                    | OperationKind::Upsert
                    | OperationKind::Replace
                    | OperationKind::Delete
                    | OperationKind::Patch
            );
        if !writes {
            self.note_problem(ConfigError::InvalidOperation(format!(
                "triggers run on item writes, not on {} of {}",
                self.kind.as_str(),
                self.resource_type.token()
            )));
            return self;
        }
        if let Err(e) = crate::models::validate_resource_id(ResourceIdKind::Script, trigger) {
            self.note_problem(e);
            return self;
        }
        match HeaderValue::from_str(trigger) {
            Ok(v) => self.add_header(header, v),
            Err(_) => {
                self.note_problem(ConfigError::InvalidSetting {
                    name: header.into(),
                    value: trigger.into(),
                    expected: "a trigger id of visible ASCII characters".into(),
                });
                self
            }
        }
    }

    // ----- conflicts (multi-write accounts) -----

    /// Lists the conflicts of `container` (one page).
    pub fn list_conflicts(container: ContainerReference) -> Self {
        Self::feed_of(
            OperationKind::ReadFeed,
            ResourceType::Conflict,
            container.account(),
            container.link(),
            container.path(),
        )
        .checked(&Self::container_names(&container))
    }

    fn conflict_op(kind: OperationKind, container: &ContainerReference, id: &str) -> Self {
        let mut op = Self::on(
            kind,
            ResourceType::Conflict,
            container.account(),
            child(container.link(), container.path(), "conflicts", id),
        );
        let [db, coll] = Self::container_names(container);
        op = op.checked(&[db, coll, (ResourceIdKind::Conflict, id)]);
        op
    }

    /// Reads one conflict; `partition_key` is the conflicting item's key.
    pub fn read_conflict(
        container: ContainerReference,
        id: &str,
        partition_key: impl Into<PartitionKey>,
    ) -> Self {
        Self::conflict_op(OperationKind::Read, &container, id).with_partition_key(partition_key)
    }

    /// Deletes one conflict (after resolving it by hand).
    pub fn delete_conflict(
        container: ContainerReference,
        id: &str,
        partition_key: impl Into<PartitionKey>,
    ) -> Self {
        Self::conflict_op(OperationKind::Delete, &container, id).with_partition_key(partition_key)
    }
}

#[cfg(test)]
mod tests;
