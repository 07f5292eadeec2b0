//! Point operations' attempt headers (`point_headers.rs`, through the driver's templates)
//! against the general path they replace (`static_headers` and then the attempt's own headers),
//! for every combination of what a point operation's headers depend on.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue};

use super::*;
// The execution's state tests' account and clock (the test plays the transport).
use crate::execution::tests::{account, now0};
use crate::models::{
    ConsistencyLevel, ContainerReference, DatabaseReference, ItemReference, PartitionKey,
};
use crate::operation::PatchBuilder;
use crate::options::DriverOptions;

const CONTAINER_LINK: &str = "dbs/db/colls/c";

/// Every kind of point operation: on an item (with a partition key), on a container by partition
/// key, and on the account, a database or a container (without one, some with a body).
fn operations() -> Vec<CosmosOperation> {
    let container = ContainerReference::from_name(account(), "db", "c");
    let database = DatabaseReference::from_name(account(), "db");
    let item = ItemReference::from_name(account(), "db", "c", "item 1");
    let body = r#"{"id":"item 1","pk":"p"}"#;
    let pk = || PartitionKey::from("p\"q");
    let item_ops = [
        CosmosOperation::read(item.clone()),
        CosmosOperation::create(container.clone()).with_body(body),
        CosmosOperation::upsert(container.clone()).with_body(body),
        CosmosOperation::replace(item.clone()).with_body(body),
        CosmosOperation::delete(item.clone()),
        CosmosOperation::patch(item, PatchBuilder::new().set("/a", 1)),
    ];
    let mut ops: Vec<CosmosOperation> = item_ops
        .into_iter()
        .map(|op| op.with_partition_key(pk()))
        .collect();
    ops.extend([
        CosmosOperation::delete_all_items_by_partition_key(container.clone(), pk()),
        CosmosOperation::execute_stored_procedure(container.clone(), "sp", pk(), &[]),
        CosmosOperation::read_account(account()),
        CosmosOperation::create_database(account(), "db2"),
        CosmosOperation::read_database(database.clone()),
        CosmosOperation::delete_database(database),
        CosmosOperation::read_container(container.clone()),
        CosmosOperation::delete_container(container),
    ]);
    ops
}

fn pairs(map: &HeaderMap) -> Vec<(String, HeaderValue)> {
    map.iter()
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect()
}

/// The map the general path builds for the same attempt.
fn general(
    d: &mut Driver,
    p: &Prepared,
    op: &CosmosOperation,
    opts: &OperationOptions,
    activity_id: &HeaderValue,
    wall: SystemTime,
    (hub_only, tentative_writes): (bool, bool),
) -> HeaderMap {
    let mut h = static_headers(
        d,
        &HeaderInputs {
            kind: op.kind,
            resource_type: op.resource_type,
            has_body: op.body.is_some(),
            partition_key: op.partition_key.as_ref(),
            op_headers: &op.headers,
        },
        opts,
        activity_id.clone(),
    )
    .unwrap();
    let (auth, session) = p.attempt_values(d, wall, None).unwrap();
    insert_attempt_headers(
        &mut h,
        d.date.value(),
        auth,
        hub_only,
        tentative_writes,
        session,
    );
    h
}

#[test]
fn point_headers_equal_the_general_path() {
    let now = now0();
    let epoch = now.wall;
    let mut d = Driver::new(account(), DriverOptions::default(), 7, now).unwrap();
    let mut rng = crate::rng::DetRng::new(7);
    for shared in [false, true] {
        for (kind, op) in operations().into_iter().enumerate() {
            for bits in 0u32..(1 << 8) {
                let bit = |i: u32| bits & (1 << i) != 0;
                let mut opts = OperationOptions::default();
                if bit(0) {
                    opts = opts.with_if_match("\"etag-1\"");
                }
                if bit(1) {
                    opts = opts.with_if_none_match("*");
                }
                if bit(2) {
                    opts = opts.with_session_token("0:1#5#1=2");
                }
                if bit(3) {
                    opts = opts.with_consistency_level(ConsistencyLevel::Eventual);
                }
                if bit(4) {
                    opts = opts.with_content_response_on_write(false);
                }
                let (hub_only, tentative_writes) = (bit(5), bit(6));
                // A session token kept for the container: reads send it.
                d.sessions = crate::session::SessionContainer::new();
                if bit(7) {
                    d.sessions.capture(CONTAINER_LINK, "0:1#100#1=20").unwrap();
                }
                // First pass: no template yet, so the first attempt builds the map by inserts and
                // the second fills the template the first left. Second pass: the templates stay,
                // so operations fill templates other kinds left, past the bound too.
                if !shared {
                    d.header_templates = crate::driver::HeaderTemplates::default();
                }
                // The first attempt takes this value; the second cuts it again from the id.
                let aid = ActivityId::generate(&mut rng);
                let activity_id = d.header_values.activity_id(&aid);
                let (mut p, _) =
                    Prepared::new(&mut d, op.clone(), opts.clone(), aid, activity_id.clone())
                        .unwrap();
                assert!(p.rebuild.as_ref().is_some_and(|r| r.point));
                // Two attempts a second apart (a new date and signature); the second builds the
                // partition key again.
                for (attempt, secs) in [(1, 0), (2, 1)] {
                    let wall = epoch + Duration::from_secs(secs);
                    let got = p
                        .attempt_headers(&mut d, wall, hub_only, tentative_writes, None)
                        .unwrap();
                    let want = general(
                        &mut d,
                        &p,
                        &op,
                        &opts,
                        &activity_id,
                        wall,
                        (hub_only, tentative_writes),
                    );
                    assert_eq!(
                        pairs(&got),
                        pairs(&want),
                        "operation {kind}, bits {bits:#b}, attempt {attempt}, shared {shared}"
                    );
                }
            }
        }
    }
}

#[test]
fn operations_with_their_own_headers_take_the_general_path() {
    let mut d = Driver::new(account(), DriverOptions::default(), 7, now0()).unwrap();
    let id = ActivityId::generate(&mut crate::rng::DetRng::new(7));
    let aid = d.header_values.activity_id(&id);
    let custom = OperationOptions::default().with_custom_header("x-custom", "1");
    let tracked = OperationOptions::default().with_non_idempotent_write_retries(true);
    let ops = operations();
    let (read, create) = (ops[0].clone(), ops[1].clone());
    for (op, opts, point) in [
        (read.clone(), OperationOptions::default(), true),
        (read.clone(), custom, false),
        // Only item creates and replaces are tracked; a read with the opt-in is not.
        (create, tracked.clone(), false),
        (read, tracked, true),
    ] {
        let (p, _) = Prepared::new(&mut d, op, opts, id, aid.clone()).unwrap();
        let r = p.rebuild.as_ref().unwrap();
        assert_eq!(r.point, point);
        // The general path keeps its static map; the point path builds each attempt's.
        assert_eq!(p.headers.is_empty(), point);
    }
}
