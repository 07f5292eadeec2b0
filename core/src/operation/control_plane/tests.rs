//! Addresses, signed links and headers of the control-plane operations (PROTOCOL.md §10).

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::models::{PermissionMode, TriggerOperation, TriggerType};

fn account() -> AccountReference {
    AccountReference::with_master_key("https://acct.documents.azure.com/", "a2V5").unwrap()
}

fn db() -> DatabaseReference {
    DatabaseReference::from_name(account(), "db")
}

fn coll() -> ContainerReference {
    ContainerReference::from_name(account(), "db", "c")
}

fn header<'a>(op: &'a CosmosOperation, name: &str) -> Option<&'a str> {
    op.headers
        .iter()
        .find(|(n, _)| n.as_str() == name)
        .and_then(|(_, v)| v.to_str().ok())
}

fn addr(op: &CosmosOperation) -> (&str, &str, &str, http::Method) {
    let (t, l) = op.signing_address();
    (t, l, op.path(), op.kind().method())
}

#[test]
fn feeds_and_creates_sign_the_parent_link_with_the_child_type() {
    use http::Method;
    // The three examples of §10.0.
    let op = CosmosOperation::create_user(db(), &UserProperties::new("alice"));
    assert_eq!(addr(&op), ("users", "dbs/db", "dbs/db/users", Method::POST));
    let p = PermissionProperties::new("p1", PermissionMode::Read, "dbs/db/colls/c");
    let op = CosmosOperation::create_permission(db(), "u", &p);
    assert_eq!(
        addr(&op),
        (
            "permissions",
            "dbs/db/users/u",
            "dbs/db/users/u/permissions",
            Method::POST
        )
    );
    let op = CosmosOperation::execute_stored_procedure(coll(), "sp", "pk1", &[json!(1)]);
    assert_eq!(
        addr(&op),
        (
            "sprocs",
            "dbs/db/colls/c/sprocs/sp",
            "dbs/db/colls/c/sprocs/sp",
            Method::POST
        )
    );
    assert_eq!(op.body().unwrap().as_ref(), b"[1]");
    assert!(op.validate(false).is_ok());
    // Single resources sign their own link.
    let op = CosmosOperation::read_permission(db(), "u", "p 1");
    assert_eq!(
        addr(&op),
        (
            "permissions",
            "dbs/db/users/u/permissions/p 1",
            "dbs/db/users/u/permissions/p%201",
            Method::GET
        )
    );
    let op = CosmosOperation::list_scripts(coll(), ScriptKind::Trigger);
    assert_eq!(
        addr(&op),
        (
            "triggers",
            "dbs/db/colls/c",
            "dbs/db/colls/c/triggers",
            Method::GET
        )
    );
    let op = CosmosOperation::delete_script(coll(), ScriptKind::UserDefinedFunction, "double");
    assert_eq!(
        addr(&op),
        (
            "udfs",
            "dbs/db/colls/c/udfs/double",
            "dbs/db/colls/c/udfs/double",
            Method::DELETE
        )
    );
    let op = CosmosOperation::list_conflicts(coll());
    assert_eq!(
        addr(&op),
        (
            "conflicts",
            "dbs/db/colls/c",
            "dbs/db/colls/c/conflicts",
            Method::GET
        )
    );
}

#[test]
fn offers_are_addressed_by_rid_and_sign_it_lowercased() {
    use http::Method;
    let op = CosmosOperation::read_offer(account(), "AbCd");
    assert_eq!(addr(&op), ("offers", "abcd", "offers/AbCd", Method::GET));
    let op = CosmosOperation::list_offers(account());
    assert_eq!(addr(&op), ("offers", "", "offers", Method::GET));
    let op = CosmosOperation::query_offers(account(), "yyyy=");
    assert_eq!(addr(&op), ("offers", "", "offers", Method::POST));
    let body: serde_json::Value = serde_json::from_slice(op.body().unwrap()).unwrap();
    assert_eq!(
        body["parameters"][0],
        json!({"name": "@rid", "value": "yyyy="})
    );
    assert!(CosmosOperation::query_offers(account(), "")
        .validate(false)
        .is_err());
}

#[test]
fn throughput_is_only_provisioned_at_creation() {
    let manual = ThroughputProperties::manual(400).unwrap();
    let op = CosmosOperation::create_database(account(), "db").with_throughput(&manual);
    assert_eq!(header(&op, "x-ms-offer-throughput"), Some("400"));
    let auto = ThroughputProperties::autoscale(4000).unwrap();
    let props = crate::models::ContainerProperties::new(
        "c",
        crate::models::PartitionKeyDefinition::hash("/pk"),
    );
    let op = CosmosOperation::create_container(db(), &props).with_throughput(&auto);
    assert_eq!(
        header(&op, "x-ms-cosmos-offer-autopilot-settings"),
        Some(r#"{"maxThroughput":4000}"#)
    );
    let err = CosmosOperation::read_container(coll())
        .with_throughput(&manual)
        .validate(false)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("only be provisioned when creating"),
        "{err}"
    );
}

#[test]
fn option_headers_are_checked_against_the_operation() {
    let p = PermissionProperties::new("p", PermissionMode::All, "dbs/db/colls/c");
    let op = CosmosOperation::create_permission(db(), "u", &p)
        .with_token_expiry(Duration::from_secs(3600));
    assert_eq!(header(&op, EXPIRY_SECONDS), Some("3600"));
    let err = CosmosOperation::create_permission(db(), "u", &p)
        .with_token_expiry(Duration::from_secs(60))
        .validate(false)
        .unwrap_err();
    assert!(err.to_string().contains("token expiry"), "{err}");
    assert!(CosmosOperation::read_user(db(), "u")
        .with_token_expiry(Duration::from_secs(3600))
        .validate(false)
        .is_err());

    let op =
        CosmosOperation::execute_stored_procedure(coll(), "sp", "k", &[]).with_script_logging();
    assert_eq!(header(&op, SCRIPT_ENABLE_LOGGING), Some("true"));
    assert!(CosmosOperation::read_user(db(), "u")
        .with_script_logging()
        .validate(false)
        .is_err());

    let op = CosmosOperation::create(coll())
        .with_partition_key("k")
        .with_body(r#"{"id":"1","pk":"k"}"#)
        .with_pre_trigger("stamp")
        .with_post_trigger("audit");
    assert_eq!(header(&op, PRE_TRIGGER_INCLUDE), Some("stamp"));
    assert_eq!(header(&op, POST_TRIGGER_INCLUDE), Some("audit"));
    let read = crate::models::ItemReference::in_container(&coll(), "1");
    let err = CosmosOperation::read(read)
        .with_partition_key("k")
        .with_pre_trigger("stamp")
        .validate(false)
        .unwrap_err();
    assert!(
        err.to_string().contains("triggers run on item writes"),
        "{err}"
    );
}

#[test]
fn ids_are_checked_and_a_sproc_needs_its_partition() {
    let err = CosmosOperation::read_user(db(), "a/b")
        .validate(false)
        .unwrap_err();
    assert!(err.to_string().contains("user"), "{err}");
    let t = TriggerProperties::new(
        "t?",
        "function(){}",
        TriggerType::Pre,
        TriggerOperation::All,
    );
    assert!(CosmosOperation::create_trigger(coll(), &t)
        .validate(false)
        .is_err());
    let mut op = CosmosOperation::execute_stored_procedure(coll(), "sp", "k", &[]);
    op.partition_key = None;
    let err = op.validate(false).unwrap_err();
    assert!(err.to_string().contains("stored procedure"), "{err}");
}
