//! Point operations' attempt headers (`point_headers.rs`, through the driver's templates)
//! against the general path they replace (`static_headers` and then the attempt's own headers),
//! for every combination of what a point operation's headers depend on.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, HeaderValue};

use super::*;
use crate::models::{
    AccountReference, ConsistencyLevel, ContainerReference, DatabaseReference, ItemReference,
    PartitionKey,
};
use crate::now::Now;
use crate::operation::PatchBuilder;
use crate::options::DriverOptions;

const KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";
const CONTAINER_LINK: &str = "dbs/db/colls/c";

fn account() -> AccountReference {
    AccountReference::with_master_key("https://acct.documents.azure.com:443/", KEY).unwrap()
}

/// Each kind of point operation: on an item (with a partition key), or on the account, a
/// database or a container (without one).
fn operation(kind: usize, item_op: bool) -> CosmosOperation {
    let container = ContainerReference::from_name(account(), "db", "c");
    let database = DatabaseReference::from_name(account(), "db");
    if !item_op {
        return match kind {
            0 => CosmosOperation::read_account(account()),
            1 => CosmosOperation::create_database(account(), "db2"),
            2 => CosmosOperation::read_database(database),
            3 => CosmosOperation::delete_database(database),
            4 => CosmosOperation::read_container(container),
            _ => CosmosOperation::delete_container(container),
        };
    }
    let item = ItemReference::from_name(account(), "db", "c", "item 1");
    let body = r#"{"id":"item 1","pk":"p"}"#;
    let op = match kind {
        0 => CosmosOperation::read(item),
        1 => CosmosOperation::create(container).with_body(body),
        2 => CosmosOperation::upsert(container).with_body(body),
        3 => CosmosOperation::replace(item).with_body(body),
        4 => CosmosOperation::delete(item),
        _ => CosmosOperation::patch(item, PatchBuilder::new().set("/a", 1)),
    };
    op.with_partition_key(PartitionKey::from("p\"q"))
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
    #[allow(clippy::disallowed_methods)] // the test plays the transport
    let mono = Instant::now();
    let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let now = Now::new(mono, epoch);
    let mut d = Driver::new(account(), DriverOptions::default(), 7, now).unwrap();
    for kind in 0..6 {
        for bits in 0u32..(1 << 9) {
            let bit = |i: u32| bits & (1 << i) != 0;
            let op = operation(kind, bit(0));
            let mut opts = OperationOptions::default();
            if bit(1) {
                opts = opts.with_if_match("\"etag-1\"");
            }
            if bit(2) {
                opts = opts.with_if_none_match("*");
            }
            if bit(3) {
                opts = opts.with_session_token("0:1#5#1=2");
            }
            if bit(4) {
                opts = opts.with_consistency_level(ConsistencyLevel::Eventual);
            }
            if bit(5) {
                opts = opts.with_content_response_on_write(false);
            }
            let (hub_only, tentative_writes) = (bit(6), bit(7));
            // A session token kept for the container: reads send it.
            d.sessions = crate::session::SessionContainer::new();
            if bit(8) {
                d.sessions.capture(CONTAINER_LINK, "0:1#100#1=20").unwrap();
            }
            // No template yet: the first attempt builds the map by inserts, the second fills
            // the template the first left.
            d.header_templates = crate::driver::HeaderTemplates::default();
            let activity_id = HeaderValue::from_static("0000-aid");
            let (mut p, _) =
                Prepared::new(&d, op.clone(), opts.clone(), activity_id.clone()).unwrap();
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
                    "kind {kind}, bits {bits:#b}, attempt {attempt}"
                );
            }
        }
    }
}

#[test]
fn operations_with_their_own_headers_take_the_general_path() {
    let now = Now::new(
        #[allow(clippy::disallowed_methods)]
        Instant::now(),
        SystemTime::UNIX_EPOCH,
    );
    let d = Driver::new(account(), DriverOptions::default(), 7, now).unwrap();
    let aid = HeaderValue::from_static("aid");
    let custom = OperationOptions::default().with_custom_header("x-custom", "1");
    let tracked = OperationOptions::default().with_non_idempotent_write_retries(true);
    for (op, opts, point) in [
        (operation(0, true), OperationOptions::default(), true),
        (operation(0, true), custom, false),
        (operation(1, true), tracked, false),
    ] {
        let (p, _) = Prepared::new(&d, op, opts, aid.clone()).unwrap();
        let r = p.rebuild.as_ref().unwrap();
        assert_eq!(r.point, point);
        // The general path keeps its static map; the point path builds each attempt's.
        assert_eq!(p.headers.is_empty(), point);
    }
}
