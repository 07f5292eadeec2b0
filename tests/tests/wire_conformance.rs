//! Wire conformance with the official JS SDK (issue 14): the same operations, run by
//! `@azure/cosmos` (pinned in `tests/gateway/package.json`) and by Sextant's blocking transport
//! against one recording loopback server (`tests/gateway/capture/recorder.js`), must send the
//! same HTTP requests.
//!
//! For each operation, each request is compared on its method, path and query string, its
//! **signed resource type and link** (recovered by verifying the `authorization` header's
//! HMAC-SHA256 with the known key against the (type, link) candidates of the path, PROTOCOL.md
//! §1 and §10.0), its headers (names case-insensitively, values exactly) and its body (as
//! parsed JSON). Every difference allowed is in [`HARMLESS`], with its reason; anything else
//! fails the test with a diff naming the operation and the header or field.
//!
//! Operations Sextant does not have yet are skipped by name with a printed line (their JS
//! capture must still exist, be non-empty and verify); adding one is one match arm in
//! [`sextant_requests`].
//!
//! ```text
//! cargo test -p sextant-tests --test wire_conformance -- --nocapture
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{json, Value};
use sextant_blocking::{CosmosDriver, CosmosDriverRuntime};
use sextant_core::auth::MasterKey;
use sextant_core::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, ItemReference,
    PartitionKey, PartitionKeyDefinition, PermissionMode, PermissionProperties,
    StoredProcedureProperties, ThroughputProperties, TriggerOperation, TriggerProperties,
    TriggerType, UserDefinedFunctionProperties, UserProperties,
};
use sextant_core::operation::ScriptKind;
use sextant_core::throughput::ThroughputFlow;
use sextant_core::{
    CosmosOperation, OperationOptions, PatchBuilder, QuerySpec, TransactionalBatch,
};
use sextant_tests::recorder::{run_js_ops, JsCapture, RecordedRequest, Recorder};
use sextant_tests::server::EMULATOR_KEY;

/// The names shared with `js_ops.js` (each an operation both sides run the same way).
const DB: &str = "capdb";
const COLL: &str = "capcoll";
const ITEM_ID: &str = "item1";
const ITEM_PK: &str = "pk1";
/// The script, user and permission names and script bodies `js_ops.js` uses.
const USER: &str = "user1";
const PERMISSION: &str = "perm1";
const SPROC: &str = "sp1";
const UDF: &str = "udf1";
const TRIGGER: &str = "trg1";
const SPROC_BODY: &str = "function (a, b) { console.log('args ' + a + b); getContext().getResponse().setBody({ a: a, b: b }); }";
const UDF_BODY: &str = "function (x) { return x * 2; }";
const TRIGGER_BODY: &str =
    "function () { var r = getContext().getRequest(); r.setBody(r.getBody()); }";

fn autoscale(max: u32) -> ThroughputProperties {
    ThroughputProperties::autoscale(max).expect("a valid autoscale maximum")
}

/// Every operation `js_ops.js` runs, in its order: the contract between the two sides.
const OPERATIONS: &[&str] = &[
    "read_account",
    "create_database",
    "create_database_manual_400",
    "create_database_autoscale_4000",
    "read_database",
    "list_databases",
    "create_container",
    "create_container_manual_400",
    "create_container_autoscale_4000",
    "read_container",
    "replace_container",
    "list_containers",
    "create_item",
    "read_item",
    "replace_item",
    "upsert_item",
    "patch_item",
    "query_items_single_partition",
    "batch",
    "delete_all_items_by_partition_key",
    "delete_item",
    "read_offer_container",
    "replace_offer_manual_500",
    "create_user",
    "read_user",
    "list_users",
    "replace_user",
    "create_permission",
    "read_permission",
    "read_permission_expiry_3600",
    "list_permissions",
    "delete_permission",
    "delete_user",
    "create_sproc",
    "read_sproc",
    "list_sprocs",
    "replace_sproc",
    "execute_sproc",
    "delete_sproc",
    "create_udf",
    "delete_udf",
    "create_trigger",
    "create_item_with_pre_trigger",
    "delete_trigger",
    "delete_container",
    "delete_database",
];

/// The references every operation works on.
struct Names {
    account: AccountReference,
    db: DatabaseReference,
    coll: ContainerReference,
    item: ItemReference,
}

/// One call Sextant makes for an operation: any use of the driver (most arms execute one
/// [`CosmosOperation`] with [`plain`]); an error fails the test with the operation's name.
type Step = Box<dyn FnOnce(&CosmosDriver) -> Result<(), String>>;

/// Executes `op` with default options.
fn plain(op: CosmosOperation) -> Vec<Step> {
    vec![Box::new(move |driver: &CosmosDriver| {
        driver
            .execute_operation(op, Some(OperationOptions::new()))
            .map(drop)
            .map_err(|e| e.to_string())
    })]
}

/// The item document `js_ops.js` writes (`{id, pk, n}`).
fn item_body(n: i64) -> String {
    json!({"id": ITEM_ID, "pk": ITEM_PK, "n": n}).to_string()
}

fn container_properties() -> ContainerProperties {
    ContainerProperties::new(COLL, PartitionKeyDefinition::hash("/pk"))
}

/// What Sextant sends for operation `name`, written as a caller would, the same operation as
/// `js_ops.js` runs under that name; `None` while Sextant does not have the operation yet.
///
/// Adding an operation is one arm here (the JS side and the comparison need nothing more).
fn sextant_requests(name: &str, n: &Names) -> Option<Vec<Step>> {
    let pk = || PartitionKey::from(ITEM_PK);
    let steps = match name {
        "read_account" => plain(CosmosOperation::read_account(n.account.clone())),
        "create_database" => plain(CosmosOperation::create_database(n.account.clone(), DB)),
        "read_database" => plain(CosmosOperation::read_database(n.db.clone())),
        "list_databases" => plain(CosmosOperation::list_databases(n.account.clone())),
        "delete_database" => plain(CosmosOperation::delete_database(n.db.clone())),
        "create_container" => plain(CosmosOperation::create_container(
            n.db.clone(),
            &container_properties(),
        )),
        "read_container" => plain(CosmosOperation::read_container(n.coll.clone())),
        "replace_container" => {
            let mut props = container_properties();
            props.default_ttl = Some(3600);
            plain(CosmosOperation::replace_container(n.coll.clone(), &props))
        }
        "list_containers" => plain(CosmosOperation::list_containers(n.db.clone())),
        "delete_container" => plain(CosmosOperation::delete_container(n.coll.clone())),
        "create_item" => plain(
            CosmosOperation::create(n.coll.clone())
                .with_partition_key(pk())
                .with_body(item_body(1)),
        ),
        "read_item" => plain(CosmosOperation::read(n.item.clone()).with_partition_key(pk())),
        "replace_item" => plain(
            CosmosOperation::replace(n.item.clone())
                .with_partition_key(pk())
                .with_body(item_body(2)),
        ),
        "upsert_item" => plain(
            CosmosOperation::upsert(n.coll.clone())
                .with_partition_key(pk())
                .with_body(item_body(3)),
        ),
        "delete_item" => plain(CosmosOperation::delete(n.item.clone()).with_partition_key(pk())),
        "patch_item" => plain(
            CosmosOperation::patch(
                n.item.clone(),
                PatchBuilder::new().set("/name", "x").increment("/n", 1),
            )
            .with_partition_key(pk()),
        ),
        "query_items_single_partition" => plain(
            CosmosOperation::query(
                n.coll.clone(),
                QuerySpec::new("SELECT * FROM c WHERE c.n = @n").with_parameter("@n", 1),
            )
            .with_partition_key(pk()),
        ),
        "batch" => {
            let batch = TransactionalBatch::new(ITEM_PK)
                .create(json!({"id": "item2", "pk": ITEM_PK, "n": 2}).to_string())
                .read(ITEM_ID);
            plain(CosmosOperation::batch(n.coll.clone(), &batch))
        }
        "delete_all_items_by_partition_key" => plain(
            CosmosOperation::delete_all_items_by_partition_key(n.coll.clone(), pk()),
        ),
        "create_database_manual_400" => plain(
            CosmosOperation::create_database(n.account.clone(), DB)
                .with_throughput(&ThroughputProperties::Manual(400)),
        ),
        "create_database_autoscale_4000" => plain(
            CosmosOperation::create_database(n.account.clone(), DB)
                .with_throughput(&autoscale(4000)),
        ),
        "create_container_manual_400" => plain(
            CosmosOperation::create_container(n.db.clone(), &container_properties())
                .with_throughput(&ThroughputProperties::Manual(400)),
        ),
        "create_container_autoscale_4000" => plain(
            CosmosOperation::create_container(n.db.clone(), &container_properties())
                .with_throughput(&autoscale(4000)),
        ),
        "read_offer_container" => {
            let coll = n.coll.clone();
            vec![Box::new(move |d: &CosmosDriver| {
                d.read_throughput(coll).map(drop).map_err(|e| e.to_string())
            }) as Step]
        }
        "replace_offer_manual_500" => {
            let coll = n.coll.clone();
            vec![Box::new(move |d: &CosmosDriver| {
                let flow = ThroughputFlow::replace(coll, ThroughputProperties::Manual(500));
                d.drive_throughput(flow)
                    .map(drop)
                    .map_err(|e| e.to_string())
            }) as Step]
        }
        "create_user" => plain(CosmosOperation::create_user(
            n.db.clone(),
            &UserProperties::new(USER),
        )),
        "read_user" => plain(CosmosOperation::read_user(n.db.clone(), USER)),
        "list_users" => plain(CosmosOperation::list_users(n.db.clone())),
        "replace_user" => plain(CosmosOperation::replace_user(
            n.db.clone(),
            USER,
            &UserProperties::new(USER),
        )),
        "delete_user" => plain(CosmosOperation::delete_user(n.db.clone(), USER)),
        "create_permission" => plain(CosmosOperation::create_permission(
            n.db.clone(),
            USER,
            &PermissionProperties::new(PERMISSION, PermissionMode::Read, n.coll.link())
                .with_partition_key(ITEM_PK),
        )),
        "read_permission" => plain(CosmosOperation::read_permission(
            n.db.clone(),
            USER,
            PERMISSION,
        )),
        "read_permission_expiry_3600" => plain(
            CosmosOperation::read_permission(n.db.clone(), USER, PERMISSION)
                .with_token_expiry(std::time::Duration::from_secs(3600)),
        ),
        "list_permissions" => plain(CosmosOperation::list_permissions(n.db.clone(), USER)),
        "delete_permission" => plain(CosmosOperation::delete_permission(
            n.db.clone(),
            USER,
            PERMISSION,
        )),
        "create_sproc" => plain(CosmosOperation::create_stored_procedure(
            n.coll.clone(),
            &StoredProcedureProperties::new(SPROC, SPROC_BODY),
        )),
        "read_sproc" => plain(CosmosOperation::read_script(
            n.coll.clone(),
            ScriptKind::StoredProcedure,
            SPROC,
        )),
        "list_sprocs" => plain(CosmosOperation::list_scripts(
            n.coll.clone(),
            ScriptKind::StoredProcedure,
        )),
        "replace_sproc" => plain(CosmosOperation::replace_stored_procedure(
            n.coll.clone(),
            &StoredProcedureProperties::new(SPROC, SPROC_BODY),
        )),
        "execute_sproc" => plain(
            CosmosOperation::execute_stored_procedure(
                n.coll.clone(),
                SPROC,
                pk(),
                &[json!(1), json!("two")],
            )
            .with_script_logging(),
        ),
        "delete_sproc" => plain(CosmosOperation::delete_script(
            n.coll.clone(),
            ScriptKind::StoredProcedure,
            SPROC,
        )),
        "create_udf" => plain(CosmosOperation::create_user_defined_function(
            n.coll.clone(),
            &UserDefinedFunctionProperties::new(UDF, UDF_BODY),
        )),
        "delete_udf" => plain(CosmosOperation::delete_script(
            n.coll.clone(),
            ScriptKind::UserDefinedFunction,
            UDF,
        )),
        "create_trigger" => plain(CosmosOperation::create_trigger(
            n.coll.clone(),
            &TriggerProperties::new(
                TRIGGER,
                TRIGGER_BODY,
                TriggerType::Pre,
                TriggerOperation::Create,
            ),
        )),
        "create_item_with_pre_trigger" => plain(
            CosmosOperation::create(n.coll.clone())
                .with_partition_key(pk())
                .with_body(item_body(1))
                .with_pre_trigger(TRIGGER),
        ),
        "delete_trigger" => plain(CosmosOperation::delete_script(
            n.coll.clone(),
            ScriptKind::Trigger,
            TRIGGER,
        )),
        _ => return None,
    };
    Some(steps)
}

// ---------------------------------------------------------------------------------------------
// The one table of allowed differences.
// ---------------------------------------------------------------------------------------------

/// Which operations an allowed difference applies to.
#[derive(Debug, Clone, Copy)]
enum Scope {
    /// Every operation.
    All,
    /// Only these.
    Ops(&'static [&'static str]),
}

impl Scope {
    fn covers(self, op: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Ops(ops) => ops.contains(&op),
        }
    }
}

/// What may differ.
#[derive(Debug, Clone, Copy)]
enum Difference {
    /// Both send the header; the values may differ.
    Value(&'static str),
    /// Only the JS SDK sends the header (any value).
    JsOnly(&'static str),
    /// Only Sextant sends the header (any value).
    SextantOnly(&'static str),
    /// Both send the header with values equal but for ASCII case.
    Case(&'static str),
    /// The JS SDK sends an extra request, recognised by this header being `true`
    /// (case-insensitive); it is left out before the requests are paired.
    JsOnlyRequest(&'static str),
    /// Sextant sends an extra request, recognised by its method and path prefix; it is left
    /// out before the requests are paired.
    SextantOnlyRequest(&'static str, &'static str),
    /// The bodies differ under this JSON path prefix (`""`: anywhere).
    Body(&'static str),
}

/// One allowed difference and why it does not matter on the wire.
#[derive(Debug)]
struct Harmless {
    what: Difference,
    ops: Scope,
    reason: &'static str,
}

/// Every difference allowed between the JS SDK's requests and Sextant's. Anything not here
/// fails the test.
const HARMLESS: &[Harmless] = &[
    // Every request.
    Harmless {
        what: Difference::Value("authorization"),
        ops: Scope::All,
        reason: "signs x-ms-date, which differs; the signed (type, link) is compared separately",
    },
    Harmless {
        what: Difference::Value("x-ms-date"),
        ops: Scope::All,
        reason: "the time the request was signed",
    },
    Harmless {
        what: Difference::Value("user-agent"),
        ops: Scope::All,
        reason: "names the SDK; telemetry only",
    },
    Harmless {
        what: Difference::Value("content-length"),
        ops: Scope::All,
        reason: "framing: the bodies are compared as parsed JSON, and JSON spacing may differ",
    },
    Harmless {
        what: Difference::JsOnly("x-ms-useragent"),
        ops: Scope::All,
        reason: "JS copies its user agent here (CosmosClient.js); telemetry only",
    },
    Harmless {
        what: Difference::JsOnly("cache-control"),
        ops: Scope::All,
        reason: "JS sends no-cache on every request (CosmosClient.js); the service does not cache",
    },
    Harmless {
        what: Difference::JsOnly("x-ms-documentdb-responsecontinuationtokenlimitinkb"),
        ops: Scope::All,
        reason: "JS sends 1 on every request (request.js getHeaders); it only bounds the size of \
                 a query's continuation token, and every compared query answers one page",
    },
    Harmless {
        what: Difference::JsOnly("x-ms-documentdb-query-enablecrosspartition"),
        ops: Scope::All,
        reason: "JS sends true on every request (request.js getHeaders); the service reads it \
                 only on a query without a partition key, and every compared query has one",
    },
    Harmless {
        what: Difference::JsOnly("x-ms-cosmos-allow-tentative-writes"),
        ops: Scope::All,
        reason:
            "JS sends true on every request because connectionPolicy.useMultipleWriteLocations \
                 defaults to true, whatever the account (request.js getHeaders); the recorder's \
                 account has one write region, where the service ignores it",
    },
    Harmless {
        what: Difference::JsOnly("connection"),
        ops: Scope::All,
        reason: "keep-alive is HTTP/1.1's default; hop-by-hop",
    },
    Harmless {
        what: Difference::SextantOnly("x-ms-activity-id"),
        ops: Scope::All,
        reason:
            "Sextant's client-side id of the attempt, for its diagnostics (as .NET sends); the \
                 service answers with its own activity id either way",
    },
    // Booleans: the service parses them case-insensitively; .NET and Sextant send `True`, JS
    // sends `true` (PROTOCOL.md §2 writes `True`).
    Harmless {
        what: Difference::Case("x-ms-documentdb-is-upsert"),
        ops: Scope::Ops(&["upsert_item"]),
        reason: "a boolean; the service ignores its case",
    },
    Harmless {
        what: Difference::Case("x-ms-documentdb-isquery"),
        ops: Scope::Ops(&["query_items_single_partition"]),
        reason: "a boolean; the service ignores its case",
    },
    Harmless {
        what: Difference::Case("x-ms-cosmos-is-batch-request"),
        ops: Scope::Ops(&["batch"]),
        reason: "a boolean; the service ignores its case",
    },
    Harmless {
        what: Difference::Case("x-ms-cosmos-batch-atomic"),
        ops: Scope::Ops(&["batch"]),
        reason: "a boolean; the service ignores its case",
    },
    // One operation each.
    Harmless {
        what: Difference::SextantOnly("x-ms-cosmos-batch-continue-on-error"),
        ops: Scope::Ops(&["batch"]),
        reason: "Sextant sends False, the service's default for an atomic batch, as Python does \
                 (PROTOCOL.md §8.2); JS leaves it out (ClientContext.js batch)",
    },
    Harmless {
        what: Difference::SextantOnly("content-type"),
        ops: Scope::Ops(&["patch_item"]),
        reason:
            "JS sets a content type only on POST and PUT (request.js getHeaders), so its PATCH \
                 has none and the service reads the JSON anyway; Sextant labels it \
                 application/json-patch+json as Python does (PROTOCOL.md §8.1)",
    },
    Harmless {
        what: Difference::JsOnly("content-type"),
        ops: Scope::Ops(&["delete_all_items_by_partition_key"]),
        reason: "the request has no body; JS labels every POST application/json (request.js \
                 getHeaders)",
    },
    Harmless {
        what: Difference::JsOnly("x-ms-cosmos-correlated-activityid"),
        ops: Scope::Ops(&["query_items_single_partition"]),
        reason: "JS ties a query's requests together for its diagnostics; not read by the service \
                 for routing or semantics",
    },
    Harmless {
        what: Difference::SextantOnlyRequest("GET", "/offers/"),
        ops: Scope::Ops(&["read_offer_container"]),
        reason: "read_throughput also reads the offer by rid, as .NET's ReadThroughputAsync \
                 does: only an offer read carries x-ms-cosmos-min-throughput and the pending-scale \
                 signal; a read, so it changes nothing",
    },
    Harmless {
        what: Difference::SextantOnlyRequest("GET", "/dbs/"),
        ops: Scope::Ops(&["replace_offer_manual_500"]),
        reason: "replace_throughput finds the offer itself (the container's _rid, then its offer, \
                 as .NET's ReplaceThroughputAsync does); the JS caller passes an offer it read \
                 before. Reads only",
    },
    Harmless {
        what: Difference::SextantOnlyRequest("POST", "/offers"),
        ops: Scope::Ops(&["replace_offer_manual_500"]),
        reason: "the offers query of replace_throughput's lookup (see the entry above); a read",
    },
    Harmless {
        what: Difference::Body(""),
        ops: Scope::Ops(&["read_offer_container"]),
        reason: "the offers query: JS filters root.resource = \"<the container's _self>\" as a \
                 literal, Sextant c.offerResourceId = @rid as a parameter (the Rust SDK's query, \
                 PROTOCOL.md §10.1); both select the container's one offer",
    },
    Harmless {
        what: Difference::Case("x-ms-documentdb-isquery"),
        ops: Scope::Ops(&["read_offer_container"]),
        reason: "a boolean; the service ignores its case",
    },
    Harmless {
        what: Difference::JsOnlyRequest("x-ms-cosmos-is-query-plan-request"),
        ops: Scope::Ops(&["query_items_single_partition"]),
        reason:
            "JS always asks for a query plan speculatively (queryIterator.js fetchNextInternal) \
                 and ignores it for a query scoped to a partition key, which goes to the gateway \
                 as is; Sextant asks only when a query crosses partitions",
    },
];

// ---------------------------------------------------------------------------------------------
// Comparison.
// ---------------------------------------------------------------------------------------------

/// Decodes `%XX` escapes (the authorization header, path segments).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The (resource type, resource link) the request's `authorization` header signs, found by
/// verifying the HMAC against every candidate the path allows (PROTOCOL.md §1, §10.0): the
/// account (`""`, `""`), and for each segment taken as the type, the link of the segments before
/// it (a feed), up to the id after it (a resource) or that id alone (a RID-based resource), as
/// sent and lowercased (RID links).
fn signed_address(key: &MasterKey, r: &RecordedRequest) -> Result<(String, String), String> {
    let auth = r.header("authorization").ok_or("no authorization header")?;
    let date = r.header("x-ms-date").ok_or("no x-ms-date header")?;
    let segments: Vec<String> = r
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let mut candidates = vec![(String::new(), String::new())];
    for (i, ty) in segments.iter().enumerate() {
        candidates.push((ty.clone(), segments[..i].join("/")));
        if let Some(id) = segments.get(i + 1) {
            candidates.push((ty.clone(), segments[..i + 2].join("/")));
            // A RID-based resource (an offer) signs its RID alone (PROTOCOL.md §10.0).
            candidates.push((ty.clone(), id.clone()));
        }
    }
    let lowered: Vec<_> = candidates
        .iter()
        .map(|(t, l)| (t.clone(), l.to_lowercase()))
        .collect();
    candidates.extend(lowered);
    let want = percent_decode(auth);
    let verb = r.method.to_lowercase();
    candidates
        .into_iter()
        .find(|(ty, link)| percent_decode(&key.sign(&verb, ty, link, date)) == want)
        .ok_or_else(|| {
            format!("authorization {auth:?} verifies against no (type, link) of the path")
        })
}

/// The headers of a request by lower-case name (repeated headers joined with `, `).
fn header_map(r: &RecordedRequest) -> BTreeMap<String, String> {
    let mut m = BTreeMap::<String, String>::new();
    for (k, v) in &r.headers {
        m.entry(k.to_ascii_lowercase())
            .and_modify(|e| {
                e.push_str(", ");
                e.push_str(v);
            })
            .or_insert_with(|| v.clone());
    }
    m
}

/// Every difference between two JSON values, as `pointer: js vs sextant` lines.
fn json_diff(path: &str, js: &Value, sx: &Value, out: &mut Vec<String>) {
    match (js, sx) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = format!("{path}/{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => json_diff(&p, x, y, out),
                    (Some(x), None) => out.push(format!("{p}: JS sends {x}, Sextant does not")),
                    (None, Some(y)) => out.push(format!("{p}: Sextant sends {y}, JS does not")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                json_diff(&format!("{path}/{i}"), x, y, out);
            }
        }
        _ if js == sx => {}
        _ => out.push(format!(
            "{}: JS sends {js}, Sextant sends {sx}",
            if path.is_empty() { "(body)" } else { path }
        )),
    }
}

fn parse_body(body: &str) -> Value {
    if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()))
    }
}

/// One unexplained difference: where (operation and request) and what.
#[derive(Debug)]
struct Problem {
    at: String,
    what: String,
}

/// Compares one operation's requests; returns the unexplained differences (empty: conforms)
/// and adds the indexes of the [`HARMLESS`] entries it needed to `used`.
fn compare(
    op: &str,
    key: &MasterKey,
    js: &[RecordedRequest],
    sx: &[RecordedRequest],
    used: &mut BTreeSet<usize>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let applies = |i: usize| HARMLESS[i].ops.covers(op);
    // Leave out the JS SDK's extra requests the table explains.
    let mut js_kept = Vec::new();
    'requests: for r in js {
        for (i, h) in HARMLESS.iter().enumerate() {
            if let Difference::JsOnlyRequest(header) = h.what {
                if applies(i)
                    && r.header(header)
                        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
                {
                    used.insert(i);
                    continue 'requests;
                }
            }
        }
        js_kept.push(r);
    }
    // Leave out Sextant's extra requests the table explains.
    let mut sx_kept = Vec::new();
    'extra: for r in sx {
        for (i, h) in HARMLESS.iter().enumerate() {
            if let Difference::SextantOnlyRequest(method, prefix) = h.what {
                if applies(i) && r.method == method && r.path.starts_with(prefix) {
                    used.insert(i);
                    continue 'extra;
                }
            }
        }
        sx_kept.push(r);
    }
    let sx = &sx_kept[..];
    if js_kept.len() != sx.len() {
        let list = |rs: &mut dyn Iterator<Item = &RecordedRequest>| {
            rs.map(|r| format!("{} {}", r.method, r.path))
                .collect::<Vec<_>>()
                .join(", ")
        };
        problems.push(Problem {
            at: op.to_string(),
            what: format!(
                "JS sends {} request(s) [{}], Sextant {} [{}]",
                js_kept.len(),
                list(&mut js_kept.iter().copied()),
                sx.len(),
                list(&mut sx.iter().copied())
            ),
        });
        return problems;
    }
    for (n, (j, s)) in js_kept.iter().zip(sx).enumerate() {
        let at = format!("{op} #{} ({} {})", n + 1, j.method, j.path);
        let mut problem = |what: String| {
            problems.push(Problem {
                at: at.clone(),
                what,
            })
        };
        if j.method != s.method || j.path != s.path || j.query != s.query {
            problem(format!(
                "request line: JS sends {} {}?{}, Sextant {} {}?{}",
                j.method, j.path, j.query, s.method, s.path, s.query
            ));
        }
        match (signed_address(key, j), signed_address(key, s)) {
            (Ok(a), Ok(b)) if a == b => {}
            (a, b) => problem(format!("signed (type, link): JS {a:?}, Sextant {b:?}")),
        }
        let (jh, sh) = (header_map(j), header_map(s));
        let names: BTreeSet<&String> = jh.keys().chain(sh.keys()).collect();
        for name in names {
            let (a, b) = (jh.get(name), sh.get(name));
            if a == b {
                continue;
            }
            let allowed = HARMLESS.iter().enumerate().position(|(i, h)| {
                applies(i)
                    && match h.what {
                        Difference::Value(x) => x == name && a.is_some() && b.is_some(),
                        Difference::JsOnly(x) => x == name && b.is_none(),
                        Difference::SextantOnly(x) => x == name && a.is_none(),
                        Difference::Case(x) => {
                            x == name
                                && matches!((a, b), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
                        }
                        Difference::JsOnlyRequest(_)
                        | Difference::SextantOnlyRequest(..)
                        | Difference::Body(_) => false,
                    }
            });
            match allowed {
                Some(i) => {
                    used.insert(i);
                }
                None => problem(match (a, b) {
                    (Some(a), Some(b)) => format!("header {name}: JS sends {a:?}, Sextant {b:?}"),
                    (Some(a), None) => {
                        format!("header {name}: JS sends {a:?}, Sextant does not send it")
                    }
                    (None, Some(b)) => {
                        format!("header {name}: Sextant sends {b:?}, JS does not send it")
                    }
                    (None, None) => unreachable!("a name from one of the maps"),
                }),
            }
        }
        let mut body = Vec::new();
        json_diff("", &parse_body(&j.body), &parse_body(&s.body), &mut body);
        for d in body {
            let allowed = HARMLESS.iter().enumerate().position(|(i, h)| {
                applies(i) && matches!(h.what, Difference::Body(prefix) if d.starts_with(prefix))
            });
            match allowed {
                Some(i) => {
                    used.insert(i);
                }
                None => problem(format!("body {d}")),
            }
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// The test.
// ---------------------------------------------------------------------------------------------

fn driver(endpoint: &str) -> (CosmosDriver, Names) {
    let account = AccountReference::with_master_key(endpoint, EMULATOR_KEY).expect("account");
    let runtime = CosmosDriverRuntime::builder()
        .environment(BTreeMap::new())
        .build()
        .expect("runtime builds");
    let driver = runtime
        .get_or_create_driver(account.clone(), None)
        .expect("driver");
    let db = DatabaseReference::from_name(account.clone(), DB);
    let coll = ContainerReference::in_database(&db, COLL);
    let item = ItemReference::in_container(&coll, ITEM_ID);
    (
        driver,
        Names {
            account,
            db,
            coll,
            item,
        },
    )
}

/// Runs every operation Sextant has against `recorder`; returns each one's requests by name.
fn sextant_captures(recorder: &Recorder) -> BTreeMap<&'static str, Vec<RecordedRequest>> {
    let (driver, names) = driver(recorder.endpoint());
    // Warm the driver's caches as js_ops.js warms the JS SDK's: account, database, container;
    // and a point read, which fills Sextant's routing cache (the container's properties and
    // partition key ranges, read lazily at the first item operation; JS needs neither for
    // point operations).
    for op in [
        CosmosOperation::read_account(names.account.clone()),
        CosmosOperation::read_database(names.db.clone()),
        CosmosOperation::read_container(names.coll.clone()),
        CosmosOperation::read(names.item.clone()).with_partition_key(ITEM_PK),
    ] {
        driver.execute_operation(op, None).expect("warm-up");
    }
    let mut out = BTreeMap::new();
    for &name in OPERATIONS {
        let Some(steps) = sextant_requests(name, &names) else {
            continue;
        };
        recorder.reset();
        for step in steps {
            step(&driver)
                .unwrap_or_else(|e| panic!("Sextant's {name} failed against the recorder: {e}"));
        }
        out.insert(name, recorder.log());
    }
    out
}

/// The signed (type, link) of each request, for the printed line of a skipped operation.
fn describe(key: &MasterKey, requests: &[RecordedRequest]) -> String {
    requests
        .iter()
        .map(|r| match signed_address(key, r) {
            Ok((ty, link)) => format!("{} {} signs ({ty:?}, {link:?})", r.method, r.path),
            Err(e) => format!("{} {}: {e}", r.method, r.path),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The problems, one line per distinct difference with every place it occurs.
fn grouped(problems: &[Problem]) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for p in problems {
        match groups.iter_mut().find(|(what, _)| *what == p.what) {
            Some((_, at)) => at.push(&p.at),
            None => groups.push((&p.what, vec![&p.at])),
        }
    }
    let mut out = String::new();
    for (what, at) in groups {
        let _ = writeln!(out, "  {what}\n      in {}: {}", at.len(), at.join(", "));
    }
    out
}

#[test]
fn sextant_sends_what_the_js_sdk_sends() {
    let key = MasterKey::parse(EMULATOR_KEY).expect("key");
    let recorder = Recorder::start();
    let js: Vec<JsCapture> = run_js_ops(recorder.endpoint(), EMULATOR_KEY);
    let js_names: Vec<&str> = js.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        js_names, OPERATIONS,
        "js_ops.js must run exactly the operations of OPERATIONS, in order"
    );
    let sx = sextant_captures(&recorder);

    let mut used = BTreeSet::new();
    let mut report = String::new();
    let mut problems = Vec::new();
    for capture in &js {
        let name = capture.name.as_str();
        assert!(
            !capture.requests.is_empty(),
            "the JS SDK's {name} sent no request"
        );
        for r in &capture.requests {
            if let Err(e) = signed_address(&key, r) {
                problems.push(Problem {
                    at: format!("{name} ({} {})", r.method, r.path),
                    what: format!("the JS SDK's request does not verify: {e}"),
                });
            }
        }
        let result = match sx.get(name) {
            None => {
                println!(
                    "not yet in Sextant: {name}; the JS SDK sends {}",
                    describe(&key, &capture.requests)
                );
                "not yet in Sextant".to_string()
            }
            Some(requests) => {
                let mut needed = BTreeSet::new();
                let found = compare(name, &key, &capture.requests, requests, &mut needed);
                // Entries scoped to some operations are that operation's explained differences.
                let explained = needed
                    .iter()
                    .any(|&i| matches!(HARMLESS[i].ops, Scope::Ops(_)));
                used.extend(needed);
                let result = if !found.is_empty() {
                    // What differs, up to each problem's first colon (`header x-ms-...`).
                    let mut whats: Vec<&str> = found
                        .iter()
                        .map(|p| p.what.split(':').next().unwrap_or(&p.what))
                        .collect();
                    whats.dedup();
                    format!("DIFFERS: {}", whats.join(", "))
                } else if explained {
                    "matched, with explained differences".to_string()
                } else {
                    "matched".to_string()
                };
                problems.extend(found);
                result
            }
        };
        let _ = writeln!(report, "  {name:<34} {result}");
    }
    // An entry that applies to compared operations but never matched is stale (a value that
    // may differ may also coincide, e.g. two dates in the same second).
    let compared: Vec<&str> = sx.keys().copied().collect();
    for (i, h) in HARMLESS.iter().enumerate() {
        let may_coincide = matches!(h.what, Difference::Value(_));
        if !may_coincide && !used.contains(&i) && compared.iter().any(|op| h.ops.covers(op)) {
            problems.push(Problem {
                at: "HARMLESS".to_string(),
                what: format!("entry {:?} was never needed: remove it", h.what),
            });
        }
    }
    println!("wire conformance with @azure/cosmos:\n{report}");
    println!("allowed differences that applied:");
    for &i in &used {
        let h = &HARMLESS[i];
        assert!(!h.reason.trim().is_empty(), "{:?} needs a reason", h.what);
        println!("  {:?} in {:?}: {}", h.what, h.ops, h.reason);
    }
    assert!(
        problems.is_empty(),
        "{} unexplained difference(s) between the JS SDK's requests and Sextant's:\n{}",
        problems.len(),
        grouped(&problems)
    );
}

// ---------------------------------------------------------------------------------------------
// The comparison itself, without Node.
// ---------------------------------------------------------------------------------------------

const DATE: &str = "Tue, 15 Nov 1994 08:12:31 GMT";

/// A request signed for (`ty`, `link`), with `headers` on top of the date and signature.
fn signed(
    method: &str,
    path: &str,
    ty: &str,
    link: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> RecordedRequest {
    let key = MasterKey::parse(EMULATOR_KEY).expect("key");
    let mut all = vec![
        ("x-ms-date".to_string(), DATE.to_string()),
        (
            "authorization".to_string(),
            key.sign(&method.to_lowercase(), ty, link, DATE),
        ),
    ];
    all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    RecordedRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: String::new(),
        headers: all,
        body: body.to_string(),
    }
}

#[test]
fn the_signed_type_and_link_are_recovered_from_the_signature() {
    let key = MasterKey::parse(EMULATOR_KEY).expect("key");
    let cases = [
        ("GET", "/", "", ""),
        ("POST", "/dbs", "dbs", ""),
        ("POST", "/dbs/db/colls/c/docs", "docs", "dbs/db/colls/c"),
        (
            "GET",
            "/dbs/db/colls/c/docs/a%20b",
            "docs",
            "dbs/db/colls/c/docs/a b",
        ),
        (
            "POST",
            "/dbs/db/colls/c/sprocs/sp",
            "sprocs",
            "dbs/db/colls/c/sprocs/sp",
        ),
        ("POST", "/offers", "offers", ""),
        ("PUT", "/offers/AbCd", "offers", "abcd"),
        (
            "POST",
            "/dbs/db/users/u/permissions",
            "permissions",
            "dbs/db/users/u",
        ),
    ];
    for (method, path, ty, link) in cases {
        let r = signed(method, path, ty, link, &[], "");
        assert_eq!(
            signed_address(&key, &r),
            Ok((ty.to_string(), link.to_string())),
            "{method} {path}"
        );
    }
    // Signed for another link than the path's: no candidate verifies.
    let r = signed("GET", "/dbs/db", "dbs", "dbs/other", &[], "");
    assert!(signed_address(&key, &r).is_err());
}

#[test]
fn an_unlisted_difference_names_the_operation_the_header_and_the_field() {
    let key = MasterKey::parse(EMULATOR_KEY).expect("key");
    let path = "/dbs/db/colls/c/docs";
    let js = signed(
        "POST",
        path,
        "docs",
        "dbs/db/colls/c",
        &[
            ("User-Agent", "js"),
            ("x-ms-documentdb-partitionkey", "[\"a\"]"),
        ],
        r#"{"id":"x","n":1}"#,
    );
    let sx = signed(
        "POST",
        path,
        "docs",
        "dbs/db/colls/c",
        &[
            ("user-agent", "sextant"),
            ("x-ms-documentdb-partitionkey", "[\"b\"]"),
            ("x-ms-cosmos-batch-continue-on-error", "False"),
        ],
        r#"{"id":"x","n":2}"#,
    );
    let mut used = BTreeSet::new();
    let found = compare("create_item", &key, &[js], &[sx], &mut used);
    let text: Vec<String> = found
        .iter()
        .map(|p| format!("{}: {}", p.at, p.what))
        .collect();
    assert_eq!(
        text,
        [
            "create_item #1 (POST /dbs/db/colls/c/docs): header \
             x-ms-cosmos-batch-continue-on-error: Sextant sends \"False\", JS does not send it",
            "create_item #1 (POST /dbs/db/colls/c/docs): header x-ms-documentdb-partitionkey: \
             JS sends \"[\\\"a\\\"]\", Sextant \"[\\\"b\\\"]\"",
            "create_item #1 (POST /dbs/db/colls/c/docs): body /n: JS sends 1, Sextant sends 2",
        ],
        "the user agent is harmless everywhere; continue-on-error only in a batch"
    );
    let names: Vec<_> = used
        .iter()
        .map(|&i| format!("{:?}", HARMLESS[i].what))
        .collect();
    assert_eq!(names, [r#"Value("user-agent")"#]);
}

#[test]
fn a_different_signed_link_or_request_count_is_reported() {
    let key = MasterKey::parse(EMULATOR_KEY).expect("key");
    let js = signed("GET", "/offers/AbCd", "offers", "abcd", &[], "");
    let sx = signed("GET", "/offers/AbCd", "offers", "offers/AbCd", &[], "");
    let found = compare(
        "read_offer",
        &key,
        std::slice::from_ref(&js),
        &[sx],
        &mut BTreeSet::new(),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].what.starts_with("signed (type, link): JS Ok((\"offers\", \"abcd\")), Sextant Ok((\"offers\", \"offers/AbCd\"))"),
        "{found:?}"
    );
    let found = compare(
        "read_offer",
        &key,
        &[js.clone(), js],
        &[],
        &mut BTreeSet::new(),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].what.contains("JS sends 2 request(s)"), "{found:?}");
}
