//! The real-server scenario suite every transport runs, over HTTP and HTTPS.
//!
//! Transports differ (async, blocking), so they plug in through [`Client`]; the assertions are
//! written once here.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};
use sextant_core::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, ItemReference,
    PartitionKey, PartitionKeyDefinition,
};
use sextant_core::{CosmosError, CosmosOperation, CosmosResponse, OperationOptions};

/// A transport, seen from a test thread: execute one operation to completion.
pub trait Client {
    /// Runs the operation and returns its outcome.
    fn execute(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<CosmosResponse, CosmosError>;
}

/// Item ids that exercise path encoding and signing: spaces, unicode, `+`, `=`, `%`, `&`,
/// `;`, `:`, `@`, quotes, brackets and dots. (`/ \ ? #`, a trailing space, `.` and `..` are
/// refused before sending: see `hostile_ids.rs`.)
pub const AWKWARD_IDS: &[&str] = &[
    "plain",
    "with space",
    "unicodé-😀-ключ",
    "plus+sign",
    "equals=sign",
    "percent%20literal",
    "amp&semi;colon:at@",
    "quote'dq\"brackets[]{}",
    "a..b",
    "all of a+b=c%d&e;f é (x)",
];

/// A name unique within this process and across runs.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}-{n}", std::process::id())
}

fn body(resp: &CosmosResponse) -> Value {
    serde_json::from_slice(resp.response_bytes()).unwrap_or_else(|e| {
        panic!(
            "response body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(resp.response_bytes())
        )
    })
}

fn ok(
    client: &dyn Client,
    what: &str,
    op: CosmosOperation,
    opts: OperationOptions,
) -> CosmosResponse {
    match client.execute(op, opts) {
        Ok(r) => {
            assert!(
                !r.diagnostics().requests().is_empty(),
                "{what}: diagnostics recorded no attempt"
            );
            let last = r.diagnostics().requests().last().map(|a| a.status);
            assert_eq!(
                last,
                Some(Some(r.status())),
                "{what}: last attempt's status is the response's"
            );
            r
        }
        Err(e) => panic!("{what} failed: {e} ({e:?})"),
    }
}

fn err(
    client: &dyn Client,
    what: &str,
    op: CosmosOperation,
    opts: OperationOptions,
) -> CosmosError {
    match client.execute(op, opts) {
        Ok(r) => panic!(
            "{what}: expected an error, got {} {:?}",
            r.status(),
            r.response_bytes()
        ),
        Err(e) => e,
    }
}

/// Creates a database and a `/pk`-partitioned container; returns their references.
pub fn create_database_and_container(
    client: &dyn Client,
    account: &AccountReference,
) -> (DatabaseReference, ContainerReference) {
    let db_name = unique("db");
    let r = ok(
        client,
        "create database",
        CosmosOperation::create_database(account.clone(), &db_name),
        OperationOptions::new(),
    );
    assert_eq!(r.status(), 201, "create database");
    let db = DatabaseReference::from_name(account.clone(), &db_name);
    let c_name = unique("c");
    let props = ContainerProperties::new(&c_name, PartitionKeyDefinition::hash("/pk"));
    let r = ok(
        client,
        "create container",
        CosmosOperation::create_container(db.clone(), &props),
        OperationOptions::new(),
    );
    assert_eq!(r.status(), 201, "create container");
    (db.clone(), ContainerReference::in_database(&db, &c_name))
}

/// Creates each document of `docs` in `container`, partitioned by its `pk` string property;
/// every create must answer 201.
pub fn create_items(
    client: &dyn Client,
    container: &ContainerReference,
    docs: impl IntoIterator<Item = Value>,
) {
    for d in docs {
        let pk = d["pk"].as_str().expect("a string pk property").to_string();
        let op = CosmosOperation::create(container.clone())
            .with_partition_key(PartitionKey::from(pk.as_str()))
            .with_body(d.to_string());
        let r = client
            .execute(op, OperationOptions::new())
            .unwrap_or_else(|e| panic!("create {}: {e}", d["id"]));
        assert_eq!(r.status(), 201, "create {}", d["id"]);
    }
}

/// Database, container and item CRUD with awkward ids, 409, 412 and not-found.
pub fn crud_suite(client: &dyn Client, account: &AccountReference) {
    let (db, container) = create_database_and_container(client, account);

    // Database and container metadata.
    let r = ok(
        client,
        "read database",
        CosmosOperation::read_database(db.clone()),
        OperationOptions::new(),
    );
    assert_eq!(body(&r)["id"], json!(db.name()));
    assert!(
        r.headers().request_charge() > 0.0,
        "request charge is reported"
    );
    let e = err(
        client,
        "duplicate database",
        CosmosOperation::create_database(account.clone(), db.name()),
        OperationOptions::new(),
    );
    assert!(e.is_conflict(), "duplicate database must be 409, got {e}");
    let r = ok(
        client,
        "list databases",
        CosmosOperation::list_databases(account.clone()),
        OperationOptions::new(),
    );
    let listed = body(&r);
    let names: Vec<&str> = listed["Databases"]
        .as_array()
        .map(|a| a.iter().filter_map(|d| d["id"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        names.contains(&db.name()),
        "list databases contains ours: {names:?}"
    );
    let r = ok(
        client,
        "read container",
        CosmosOperation::read_container(container.clone()),
        OperationOptions::new(),
    );
    let props: ContainerProperties = r.json().expect("container properties parse");
    assert_eq!(props.id, container.name());
    assert_eq!(props.partition_key.paths, vec!["/pk".to_string()]);
    let r = ok(
        client,
        "list containers",
        CosmosOperation::list_containers(db.clone()),
        OperationOptions::new(),
    );
    assert!(body(&r)["DocumentCollections"]
        .as_array()
        .is_some_and(|a| a.iter().any(|c| c["id"] == json!(container.name()))));
    let dup = ContainerProperties::new(container.name(), PartitionKeyDefinition::hash("/pk"));
    let e = err(
        client,
        "duplicate container",
        CosmosOperation::create_container(db.clone(), &dup),
        OperationOptions::new(),
    );
    assert!(e.is_conflict(), "duplicate container must be 409, got {e}");

    for id in AWKWARD_IDS {
        item_lifecycle(client, &container, id);
    }

    // Upsert of a new item creates it.
    let pk = PartitionKey::from("p2");
    let doc = json!({"id": "upserted new", "pk": "p2", "n": 1}).to_string();
    let r = ok(
        client,
        "upsert new",
        CosmosOperation::upsert(container.clone())
            .with_partition_key(pk.clone())
            .with_body(doc),
        OperationOptions::new(),
    );
    assert_eq!(r.status(), 201, "upsert of a new item is a create");

    // Missing item.
    let missing = ItemReference::in_container(&container, "does not exist");
    let e = err(
        client,
        "read missing",
        CosmosOperation::read(missing).with_partition_key(pk),
        OperationOptions::new(),
    );
    assert!(e.is_not_found(), "missing item must be 404, got {e}");

    // Tear down.
    let r = ok(
        client,
        "delete container",
        CosmosOperation::delete_container(container.clone()),
        OperationOptions::new(),
    );
    assert_eq!(r.status(), 204);
    let r = ok(
        client,
        "delete database",
        CosmosOperation::delete_database(db.clone()),
        OperationOptions::new(),
    );
    assert_eq!(r.status(), 204);
    let e = err(
        client,
        "read deleted database",
        CosmosOperation::read_database(db),
        OperationOptions::new(),
    );
    assert!(e.is_not_found(), "deleted database must be 404, got {e}");
}

/// Create, read, 409, replace, 412, conditional replace, upsert, delete and 404 for one id.
pub fn item_lifecycle(client: &dyn Client, container: &ContainerReference, id: &str) {
    let pk = PartitionKey::from("p1");
    let item = ItemReference::in_container(container, id);
    let what = |s: &str| format!("{s} [{id}]");
    let doc = |n: i64| json!({"id": id, "pk": "p1", "n": n}).to_string();

    let r = ok(
        client,
        &what("create"),
        CosmosOperation::create(container.clone())
            .with_partition_key(pk.clone())
            .with_body(doc(1)),
        OperationOptions::new(),
    );
    assert_eq!(r.status(), 201, "{}", what("create"));
    assert_eq!(
        body(&r)["id"],
        json!(id),
        "{}: stored id is the raw id",
        what("create")
    );

    let r = ok(
        client,
        &what("read"),
        CosmosOperation::read(item.clone()).with_partition_key(pk.clone()),
        OperationOptions::new(),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(body(&r)["id"], json!(id), "{}", what("read"));
    assert_eq!(body(&r)["n"], json!(1));

    let e = err(
        client,
        &what("duplicate create"),
        CosmosOperation::create(container.clone())
            .with_partition_key(pk.clone())
            .with_body(doc(1)),
        OperationOptions::new(),
    );
    assert!(
        e.is_conflict(),
        "{}: expected 409, got {e}",
        what("duplicate create")
    );
    assert_eq!(
        e.diagnostics().requests().len(),
        1,
        "a 409 is final: no retry"
    );

    let r = ok(
        client,
        &what("replace"),
        CosmosOperation::replace(item.clone())
            .with_partition_key(pk.clone())
            .with_body(doc(2)),
        OperationOptions::new(),
    );
    assert_eq!(r.status(), 200);
    let etag = r
        .headers()
        .etag()
        .map(str::to_owned)
        .or_else(|| body(&r)["_etag"].as_str().map(str::to_owned))
        .expect("replace returns an etag");

    let e = err(
        client,
        &what("stale if-match"),
        CosmosOperation::replace(item.clone())
            .with_partition_key(pk.clone())
            .with_body(doc(3)),
        OperationOptions::new().with_if_match("\"00000000-0000-0000-0000-000000000000\""),
    );
    assert!(
        e.is_precondition_failed(),
        "{}: expected 412, got {e}",
        what("stale if-match")
    );

    let r = ok(
        client,
        &what("conditional replace"),
        CosmosOperation::replace(item.clone())
            .with_partition_key(pk.clone())
            .with_body(doc(4)),
        OperationOptions::new().with_if_match(&etag),
    );
    assert_eq!(body(&r)["n"], json!(4));

    let r = ok(
        client,
        &what("upsert"),
        CosmosOperation::upsert(container.clone())
            .with_partition_key(pk.clone())
            .with_body(doc(5)),
        OperationOptions::new(),
    );
    assert_eq!(r.status(), 200, "upsert of an existing item is a replace");
    let r = ok(
        client,
        &what("read after upsert"),
        CosmosOperation::read(item.clone()).with_partition_key(pk.clone()),
        OperationOptions::new(),
    );
    assert_eq!(body(&r)["n"], json!(5));

    let r = ok(
        client,
        &what("delete"),
        CosmosOperation::delete(item.clone()).with_partition_key(pk.clone()),
        OperationOptions::new(),
    );
    assert_eq!(r.status(), 204);
    let e = err(
        client,
        &what("read deleted"),
        CosmosOperation::read(item.clone()).with_partition_key(pk.clone()),
        OperationOptions::new(),
    );
    assert!(
        e.is_not_found(),
        "{}: expected 404, got {e}",
        what("read deleted")
    );
    let e = err(
        client,
        &what("delete deleted"),
        CosmosOperation::delete(item).with_partition_key(pk),
        OperationOptions::new(),
    );
    assert!(
        e.is_not_found(),
        "{}: expected 404, got {e}",
        what("delete deleted")
    );
}
