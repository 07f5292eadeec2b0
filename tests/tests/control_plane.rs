//! Control plane (issue 14) end to end against the test gateway, on every transport:
//! throughput (create with it, read, replace, pending scales, manual ↔ autoscale), users and
//! permissions with drivers built from the resource tokens they mint, stored procedures,
//! triggers and UDFs, the conflicts feed, and the raw escape hatch.

mod support;

use std::time::Duration;

use http::Method;
use serde_json::{json, Value};
use sextant_core::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, ItemReference,
    PartitionKeyDefinition, PermissionMode, PermissionProperties, StoredProcedureProperties,
    ThroughputProperties, TriggerOperation, TriggerProperties, TriggerType,
    UserDefinedFunctionProperties, UserProperties,
};
use sextant_core::operation::{RawRequest, ResourceType, ScriptKind};
use sextant_core::throughput::ThroughputFlow;
use sextant_core::{CosmosError, CosmosOperation, CosmosResponse, ErrorKind, OperationOptions};
use sextant_tests::gateway::TestGateway;
use sextant_tests::scenarios::{unique, Client};
use sextant_tests::server::EMULATOR_KEY;
use support::query_clients::{QueryClient, ALL};

fn run(c: &QueryClient, what: &str, op: CosmosOperation) -> CosmosResponse {
    c.execute(op, OperationOptions::new())
        .unwrap_or_else(|e| panic!("{:?}: {what}: {e}", c.transport))
}

fn fails(c: &QueryClient, what: &str, op: CosmosOperation) -> CosmosError {
    match c.execute(op, OperationOptions::new()) {
        Ok(r) => panic!("{:?}: {what} should fail, got {}", c.transport, r.status()),
        Err(e) => e,
    }
}

fn new_container(
    c: &QueryClient,
    db: &DatabaseReference,
    throughput: Option<ThroughputProperties>,
) -> ContainerReference {
    let name = unique("c");
    let props = ContainerProperties::new(&name, PartitionKeyDefinition::hash("/pk"));
    let mut op = CosmosOperation::create_container(db.clone(), &props);
    if let Some(t) = throughput {
        op = op.with_throughput(&t);
    }
    assert_eq!(run(c, "create container", op).status(), 201);
    ContainerReference::in_database(db, &name)
}

/// A new database (no throughput of its own).
fn new_database(c: &QueryClient, account: &AccountReference) -> DatabaseReference {
    let name = unique("db");
    run(
        c,
        "create database",
        CosmosOperation::create_database(account.clone(), &name),
    );
    DatabaseReference::from_name(account.clone(), &name)
}

fn fast(flow: ThroughputFlow) -> ThroughputFlow {
    flow.with_polling(Duration::from_millis(20), 50)
}

#[test]
fn throughput_is_provisioned_read_replaced_and_migrated_on_every_transport() {
    let g = TestGateway::start(2);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    for transport in ALL {
        let c = QueryClient::new(transport, &account);
        // A database with shared autoscale throughput; a container in it shares it.
        let db_name = unique("db");
        let op = CosmosOperation::create_database(account.clone(), &db_name)
            .with_throughput(&ThroughputProperties::autoscale(4000).unwrap());
        assert_eq!(run(&c, "create database", op).status(), 201);
        let shared_db = DatabaseReference::from_name(account.clone(), &db_name);
        let r = c
            .throughput(ThroughputFlow::read(shared_db.clone()))
            .unwrap()
            .expect("the database has an offer");
        assert_eq!(r.throughput, ThroughputProperties::autoscale(4000).ok());
        assert_eq!(
            r.requests, 3,
            "{transport:?}: read the database, query its offer, read it"
        );
        assert_eq!(r.min_throughput, Some(1000));
        let shared = new_container(&c, &shared_db, None);
        assert!(
            c.throughput(ThroughputFlow::read(shared.clone()))
                .unwrap()
                .is_none(),
            "{transport:?}: a container sharing its database's throughput has no offer"
        );
        let err = c
            .throughput(ThroughputFlow::replace(
                shared,
                ThroughputProperties::Manual(400),
            ))
            .unwrap_err();
        assert!(err.message().contains("no throughput of its own"), "{err}");

        // A dedicated container: manual 400 → 1000 → autoscale 6000 → manual 500, with every
        // change pending for two reads.
        let db = new_database(&c, &account);
        let coll = new_container(&c, &db, Some(ThroughputProperties::Manual(400)));
        let r = c
            .throughput(ThroughputFlow::read(coll.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(r.throughput, Some(ThroughputProperties::Manual(400)));
        g.http(
            "POST",
            "/_gateway/config",
            &[],
            Some(r#"{"offerPendingReads": 2}"#),
        );
        let steps = [
            (ThroughputProperties::Manual(1000), 2 + 1 + 2),
            (
                ThroughputProperties::autoscale(6000).unwrap(),
                2 + 1 + 2 + 1 + 2,
            ),
            (ThroughputProperties::Manual(500), 2 + 1 + 2 + 1 + 2),
        ];
        for (goal, requests) in steps {
            let r = c
                .throughput(fast(ThroughputFlow::replace(coll.clone(), goal)))
                .unwrap()
                .unwrap();
            assert_eq!(r.throughput, Some(goal), "{transport:?}");
            assert!(!r.replace_pending);
            assert_eq!(
                r.requests, requests,
                "{transport:?}: {goal:?}: reads, (migration, polls,) replace, polls"
            );
            assert_eq!(
                r.min_throughput,
                Some(if goal.is_autoscale() { 1000 } else { 400 })
            );
            assert!(r.request_charge >= f64::from(requests));
        }
        // Giving up on a long scale reports it as pending.
        g.http(
            "POST",
            "/_gateway/config",
            &[],
            Some(r#"{"offerPendingReads": 10}"#),
        );
        let r = c
            .throughput(
                ThroughputFlow::replace(coll.clone(), ThroughputProperties::Manual(700))
                    .with_polling(Duration::from_millis(5), 2),
            )
            .unwrap()
            .unwrap();
        assert!(r.replace_pending, "{transport:?}");
        g.http(
            "POST",
            "/_gateway/config",
            &[],
            Some(r#"{"offerPendingReads": 0}"#),
        );
        // Let the pending scale finish before the next transport's round.
        for _ in 0..10 {
            let _ = c.execute(
                CosmosOperation::read_offer(account.clone(), &r.offer.rid),
                OperationOptions::new(),
            );
        }
        // Throughput only at creation, refused by name elsewhere.
        let err = fails(
            &c,
            "throughput on a read",
            CosmosOperation::read_container(coll)
                .with_throughput(&ThroughputProperties::Manual(400)),
        );
        assert_eq!(err.kind(), ErrorKind::Configuration);
    }
    let log = g.http("GET", "/_gateway/control", &[], None).1;
    let migrations = log["offers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["op"] == "replace" && e["migrate"] == true)
        .count();
    assert_eq!(migrations, 2 * ALL.len(), "two migrations per transport");
}

/// A driver of `transport` that authenticates with `tokens` only.
fn token_client(
    transport: support::query_clients::Transport,
    g: &TestGateway,
    tokens: Vec<sextant_core::credential::ResourceToken>,
) -> QueryClient {
    let account = AccountReference::with_resource_tokens(g.endpoint(), tokens).unwrap();
    QueryClient::own(transport, &account)
}

#[test]
fn users_and_permissions_mint_resource_tokens_that_drivers_use_on_every_transport() {
    let g = TestGateway::start(2);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    let admin = QueryClient::new(ALL[0], &account);
    let db = new_database(&admin, &account);
    let orders = new_container(&admin, &db, None);
    let other = new_container(&admin, &db, None);
    for (i, pk) in ["t1", "t2"].iter().enumerate() {
        let body = json!({"id": format!("o{i}"), "pk": pk}).to_string();
        run(
            &admin,
            "seed item",
            CosmosOperation::create(orders.clone())
                .with_partition_key(*pk)
                .with_body(body),
        );
    }
    for transport in ALL {
        let c = QueryClient::new(transport, &account);
        let user = unique("user");
        let r = run(
            &c,
            "create user",
            CosmosOperation::create_user(db.clone(), &UserProperties::new(&user)),
        );
        assert_eq!(r.status(), 201);
        assert_eq!(
            fails(
                &c,
                "create the user again",
                CosmosOperation::create_user(db.clone(), &UserProperties::new(&user))
            )
            .status(),
            Some(409)
        );
        let read = PermissionProperties::new("read-orders", PermissionMode::Read, orders.link());
        let r = run(
            &c,
            "create permission",
            CosmosOperation::create_permission(db.clone(), &user, &read)
                .with_token_expiry(Duration::from_secs(3600)),
        );
        let read_perm: PermissionProperties = r.json().unwrap();
        let write = PermissionProperties::new("write-t1", PermissionMode::All, orders.link())
            .with_partition_key("t1");
        let r = run(
            &c,
            "create narrowed permission",
            CosmosOperation::create_permission(db.clone(), &user, &write),
        );
        let write_perm: PermissionProperties = r.json().unwrap();
        assert_eq!(write_perm.resource_partition_key, Some(json!(["t1"])));
        let listed: Value = run(
            &c,
            "list permissions",
            CosmosOperation::list_permissions(db.clone(), &user),
        )
        .json()
        .unwrap();
        assert_eq!(listed["Permissions"].as_array().unwrap().len(), 2);

        // A reader: reads and queries its container, is refused writes and other containers.
        let reader = token_client(transport, &g, vec![read_perm.resource_token().unwrap()]);
        let item = ItemReference::in_container(&orders, "o0");
        let got: Value = run(
            &reader,
            "token read",
            CosmosOperation::read(item.clone()).with_partition_key("t1"),
        )
        .json()
        .unwrap();
        assert_eq!(got["id"], "o0");
        let e = fails(
            &reader,
            "token write",
            CosmosOperation::create(orders.clone())
                .with_partition_key("t1")
                .with_body(json!({"id": unique("x"), "pk": "t1"}).to_string()),
        );
        assert_eq!((e.kind(), e.status()), (ErrorKind::Service, Some(403)));
        assert!(e.message().contains("Read permission"), "{e}");
        let e = fails(
            &reader,
            "token on another container",
            CosmosOperation::read(ItemReference::in_container(&other, "o0"))
                .with_partition_key("t1"),
        );
        assert_eq!(
            e.kind(),
            ErrorKind::Configuration,
            "no token covers it: {e}"
        );

        // A writer narrowed to t1.
        let writer = token_client(transport, &g, vec![write_perm.resource_token().unwrap()]);
        let id = unique("w");
        let r = run(
            &writer,
            "token write in its partition",
            CosmosOperation::create(orders.clone())
                .with_partition_key("t1")
                .with_body(json!({"id": id, "pk": "t1"}).to_string()),
        );
        assert_eq!(r.status(), 201);
        let e = fails(
            &writer,
            "token write outside its partition",
            CosmosOperation::create(orders.clone())
                .with_partition_key("t2")
                .with_body(json!({"id": unique("w"), "pk": "t2"}).to_string()),
        );
        assert_eq!(e.status(), Some(403));

        // Revoking the permission ends its tokens (401, a typed service error).
        run(
            &c,
            "delete permission",
            CosmosOperation::delete_permission(db.clone(), &user, "read-orders"),
        );
        let e = fails(
            &reader,
            "revoked token",
            CosmosOperation::read(item).with_partition_key("t1"),
        );
        assert_eq!(e.status(), Some(401));
        // Replace and delete the user.
        let renamed = unique("user");
        run(
            &c,
            "replace user",
            CosmosOperation::replace_user(db.clone(), &user, &UserProperties::new(&renamed)),
        );
        run(
            &c,
            "read renamed user",
            CosmosOperation::read_user(db.clone(), &renamed),
        );
        run(
            &c,
            "delete user",
            CosmosOperation::delete_user(db.clone(), &renamed),
        );
        assert_eq!(
            fails(
                &c,
                "read deleted user",
                CosmosOperation::read_user(db.clone(), &renamed)
            )
            .status(),
            Some(404)
        );
    }
    let denied = g.http("GET", "/_gateway/control", &[], None).1["denied"].clone();
    assert_eq!(denied.as_array().unwrap().len(), 2 * ALL.len());

    // One runtime serving the account key and a user's tokens keeps them apart: the endpoint's
    // shared driver refuses resource tokens (they would sign the key holder's requests, or
    // another user's), and a driver never switches between the two kinds of principal.
    let rt = sextant_blocking::CosmosDriverRuntime::builder()
        .environment(Default::default())
        .build()
        .unwrap();
    let keyed = rt.get_or_create_driver(account.clone(), None).unwrap();
    let tokens = AccountReference::with_resource_tokens(
        g.endpoint(),
        vec![sextant_core::credential::ResourceToken {
            resource_link: orders.link().to_string(),
            token: "type=resource&ver=1.0&sig=x".into(),
        }],
    )
    .unwrap();
    let e = rt.get_or_create_driver(tokens.clone(), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert!(e.message().contains("create_driver"), "{e}");
    assert!(keyed.rotate_credential(&tokens).is_err());
    let own = rt.create_driver(tokens, None).unwrap();
    assert!(own.rotate_credential(&account).is_err());
    run(
        &admin,
        "the key still works",
        CosmosOperation::read_database(db.clone()),
    );
}

const MAKE: &str = r#"function (pk, n) {
    var c = getContext().getCollection();
    console.log("making " + n);
    for (var i = 0; i < n; i++) c.createDocument(c.getSelfLink(), { id: pk + "-s" + i, pk: pk });
    c.queryDocuments(c.getSelfLink(), "SELECT * FROM c", {}, function (err, docs) {
        if (err) throw err;
        getContext().getResponse().setBody({ count: docs.length });
    });
}"#;

#[test]
fn scripts_triggers_udfs_conflicts_and_raw_requests_on_every_transport() {
    let g = TestGateway::start(2);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    let admin = QueryClient::new(ALL[0], &account);
    let db = new_database(&admin, &account);
    for transport in ALL {
        let c = QueryClient::new(transport, &account);
        let coll = new_container(&c, &db, None);
        let sp = StoredProcedureProperties::new("make", MAKE);
        assert_eq!(
            run(
                &c,
                "create sproc",
                CosmosOperation::create_stored_procedure(coll.clone(), &sp)
            )
            .status(),
            201
        );
        let r = run(
            &c,
            "execute sproc",
            CosmosOperation::execute_stored_procedure(
                coll.clone(),
                "make",
                "a",
                &[json!("a"), json!(3)],
            )
            .with_script_logging(),
        );
        assert_eq!(
            r.json::<Value>().unwrap(),
            json!({"count": 3}),
            "{transport:?}"
        );
        let log = r
            .headers()
            .get_str(&http::HeaderName::from_static(
                sextant_core::operation::control_plane::SCRIPT_LOG_RESULTS,
            ))
            .unwrap_or_default()
            .to_string();
        assert_eq!(log, "making%203");
        // A failing script is a typed 400 and writes nothing.
        let e = fails(
            &c,
            "sproc writing outside its partition",
            CosmosOperation::execute_stored_procedure(
                coll.clone(),
                "make",
                "b",
                &[json!("z"), json!(1)],
            ),
        );
        assert_eq!(e.status(), Some(400));
        let replaced = StoredProcedureProperties::new(
            "make",
            "function () { getContext().getResponse().setBody('v2'); }",
        );
        run(
            &c,
            "replace sproc",
            CosmosOperation::replace_stored_procedure(coll.clone(), &replaced),
        );
        let r = run(
            &c,
            "execute v2",
            CosmosOperation::execute_stored_procedure(coll.clone(), "make", "a", &[]),
        );
        assert_eq!(r.json::<Value>().unwrap(), json!("v2"));
        let listed: Value = run(
            &c,
            "list sprocs",
            CosmosOperation::list_scripts(coll.clone(), ScriptKind::StoredProcedure),
        )
        .json()
        .unwrap();
        assert_eq!(listed["StoredProcedures"].as_array().unwrap().len(), 1);
        run(
            &c,
            "delete sproc",
            CosmosOperation::delete_script(coll.clone(), ScriptKind::StoredProcedure, "make"),
        );

        // A pre-trigger named on a create stamps the item.
        let stamp = TriggerProperties::new(
            "stamp",
            "function () { var r = getContext().getRequest(); var b = r.getBody(); b.stamped = true; r.setBody(b); }",
            TriggerType::Pre,
            TriggerOperation::Create,
        );
        run(
            &c,
            "create trigger",
            CosmosOperation::create_trigger(coll.clone(), &stamp),
        );
        let r = run(
            &c,
            "create with trigger",
            CosmosOperation::create(coll.clone())
                .with_partition_key("a")
                .with_body(json!({"id": "t", "pk": "a"}).to_string())
                .with_pre_trigger("stamp"),
        );
        assert_eq!(r.json::<Value>().unwrap()["stamped"], true, "{transport:?}");
        // A post-trigger writes an audit record in the same transaction; one that fails undoes
        // the write it followed.
        let audit = TriggerProperties::new(
            "audit",
            "function () { var b = getContext().getResponse().getBody(); var c = getContext().getCollection(); \
             if (b.fail) throw new Error('refused'); \
             c.createDocument(c.getSelfLink(), { id: 'audit-' + b.id, pk: b.pk }, {}, function (e) { if (e) throw e; }); }",
            TriggerType::Post,
            TriggerOperation::Create,
        );
        run(
            &c,
            "create post-trigger",
            CosmosOperation::create_trigger(coll.clone(), &audit),
        );
        run(
            &c,
            "create with post-trigger",
            CosmosOperation::create(coll.clone())
                .with_partition_key("a")
                .with_body(json!({"id": "p", "pk": "a"}).to_string())
                .with_post_trigger("audit"),
        );
        run(
            &c,
            "the audit record exists",
            CosmosOperation::read(ItemReference::in_container(&coll, "audit-p"))
                .with_partition_key("a"),
        );
        let e = fails(
            &c,
            "a failing post-trigger",
            CosmosOperation::create(coll.clone())
                .with_partition_key("a")
                .with_body(json!({"id": "q", "pk": "a", "fail": true}).to_string())
                .with_post_trigger("audit"),
        );
        assert_eq!(e.status(), Some(400));
        assert_eq!(
            fails(
                &c,
                "the refused item",
                CosmosOperation::read(ItemReference::in_container(&coll, "q"))
                    .with_partition_key("a")
            )
            .status(),
            Some(404),
            "{transport:?}: the post-trigger's failure undid the create"
        );

        // A UDF, called from a query.
        let udf = UserDefinedFunctionProperties::new("double", "function (x) { return 2 * x; }");
        run(
            &c,
            "create udf",
            CosmosOperation::create_user_defined_function(coll.clone(), &udf),
        );
        run(
            &c,
            "item for udf",
            CosmosOperation::create(coll.clone())
                .with_partition_key("u")
                .with_body(json!({"id": "n", "pk": "u", "n": 21}).to_string()),
        );
        let q = sextant_core::operation::QuerySpec::new(
            "SELECT VALUE udf.double(c.n) FROM c WHERE c.id = 'n'",
        );
        let page: Value = run(
            &c,
            "udf query",
            CosmosOperation::query(coll.clone(), q).with_partition_key("u"),
        )
        .json()
        .unwrap();
        assert_eq!(page["Documents"], json!([42]));

        // Conflicts: a single-write account has none.
        let feed: Value = run(
            &c,
            "list conflicts",
            CosmosOperation::list_conflicts(coll.clone()),
        )
        .json()
        .unwrap();
        assert_eq!(feed["Conflicts"], json!([]));
        assert_eq!(
            fails(
                &c,
                "read conflict",
                CosmosOperation::read_conflict(coll.clone(), "nope", "a")
            )
            .status(),
            Some(404)
        );

        // The escape hatch: a user created and listed through raw requests.
        let user = unique("raw-user");
        let r = run(
            &c,
            "raw create user",
            CosmosOperation::raw(
                account.clone(),
                RawRequest::new(
                    Method::POST,
                    ResourceType::User,
                    db.link(),
                    format!("{}/users", db.path()),
                )
                .with_body(json!({"id": user}).to_string()),
            ),
        );
        assert_eq!(r.status(), 201);
        let r: Value = run(
            &c,
            "raw list users",
            CosmosOperation::raw(
                account.clone(),
                RawRequest::new(
                    Method::GET,
                    ResourceType::User,
                    db.link(),
                    format!("{}/users", db.path()),
                )
                .as_feed(),
            ),
        )
        .json()
        .unwrap();
        assert!(r["Users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == user.as_str()));
        // A raw item read, with a partition key, in the diagnostics like any other.
        let r = run(
            &c,
            "raw item read",
            CosmosOperation::raw(
                account.clone(),
                RawRequest::new(
                    Method::GET,
                    ResourceType::Item,
                    format!("{}/docs/t", coll.link()),
                    format!("{}/docs/t", coll.path()),
                ),
            )
            .with_partition_key("a"),
        );
        assert_eq!(r.json::<Value>().unwrap()["stamped"], true);
        assert!(!r.diagnostics().requests().is_empty());
        let e = fails(
            &c,
            "raw with a reserved header",
            CosmosOperation::raw(
                account.clone(),
                RawRequest::new(Method::GET, ResourceType::Offer, "", "offers")
                    .with_header("x-ms-date", "now"),
            ),
        );
        assert_eq!(e.kind(), ErrorKind::Configuration);
    }
}
