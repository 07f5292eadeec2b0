//! `core_cycle N [routed|unrouted]`: runs N point-read Execution cycles of the core (no I/O), like
//! the criterion benchmark `core/benches/core.rs`, for instruction counting under callgrind:
//! `scripts/callgrind-core.sh` runs it for two values of N and divides the difference.
//!
//! Each cycle: `CosmosOperation::read(item.clone()).with_partition_key(..)`, `Driver::start`,
//! `poll` (Send), building the canned 200 response (5 headers, as the benchmark does),
//! `handle_response`, `poll` (Done).
//!
//! Modes (how the canned server answers the core's metadata reads):
//! - `routed` (default): the account read gets the account, the container read a container with
//!   pk path `/pk`, the pk-range read one full range `["", "FF")`; both are cached after the warm-up
//!   cycle, so every measured cycle is one request, as against a real server. The criterion
//!   benchmark answers the container and pk-range reads too (its JSON lacks `_rid`, which
//!   routing does not need), so its cycle takes this path as well.
//! - `unrouted`: the account for `GET /`, the item for everything else. The container read does
//!   not parse, so the point read goes out without a partition key range: the path of a driver
//!   with partition routing off, which sends the container's whole session token (every range's)
//!   instead of one range's. Still one request per cycle. (Called `bench` until 2026-12-06, when
//!   `core/benches/core.rs` answered like this; it has answered the routing reads since.)

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use sextant_core::headers::names;
use sextant_core::models::{AccountReference, ItemReference, PartitionKey};
use sextant_core::{
    CosmosOperation, Drained, Driver, DriverOptions, Input, Inputs, Now, OperationOptions, Purpose,
    Response, Turn,
};

const KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";
const ACCOUNT: &str = r#"{"writableLocations":[{"name":"West US 2","databaseAccountEndpoint":"https://a-westus2.documents.azure.com:443/"}],"readableLocations":[{"name":"West US 2","databaseAccountEndpoint":"https://a-westus2.documents.azure.com:443/"}]}"#;
const CONTAINER: &str = r#"{"id":"c","partitionKey":{"paths":["/pk"],"kind":"Hash","version":2},"_rid":"rid0","_etag":"\"c0\""}"#;
const PK_RANGES: &str = r#"{"_rid":"rid0","PartitionKeyRanges":[{"id":"0","minInclusive":"","maxExclusive":"FF","parents":[]}],"_count":1}"#;
const ITEM: &str = r#"{"id":"item-1","pk":"tenant-1","value":42,"_etag":"\"00000000-0000-0000-0000-000000000000\""}"#;

/// Producing the response map is the transport's work (hyper parses names into a map sized for
/// them), not the core's, so the harness builds it as cheaply as `http` allows (the core's own
/// name constants, no growth) and the cycle measures the core. Building it with `&str` names
/// instead cost about 0.3 µs per cycle (run-time name parsing, a copy of each custom name).
fn response(body: &'static str) -> Response {
    let mut h = HeaderMap::with_capacity(5);
    h.insert(names::REQUEST_CHARGE, HeaderValue::from_static("1"));
    h.insert(
        names::ACTIVITY_ID,
        HeaderValue::from_static("a1b2c3d4-e5f6-7890-abcd-ef1234567890"),
    );
    h.insert(
        names::SESSION_TOKEN,
        HeaderValue::from_static("0:1#100#1=20"),
    );
    h.insert(
        http::header::ETAG,
        HeaderValue::from_static("\"00000000-0000-0000-0000-000000000000\""),
    );
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response {
        status: 200,
        headers: h,
        body: Bytes::from_static(body.as_bytes()),
    }
}

/// One complete operation as a transport drives it: start, a turn (Send), a turn that feeds
/// the response (Done). Never inlined: `scripts/footprint.sh` splits its trace at this
/// function's entry, once per cycle.
#[inline(never)]
fn point_read(
    driver: &mut Driver,
    item: &ItemReference,
    now: Now,
    routed: bool,
    sends: &mut u64,
) -> Result<u16, String> {
    let op = CosmosOperation::read(item.clone()).with_partition_key(PartitionKey::from("tenant-1"));
    let mut exec = driver.start(op, OperationOptions::default(), now);
    let (mut inputs, mut turn) = (Inputs::new(), Turn::default());
    loop {
        let drained = exec.turn(driver, &mut inputs, now, &mut turn);
        for req in turn.sends.drain() {
            *sends += 1;
            let body = match req.purpose {
                Purpose::AccountRead => ACCOUNT,
                Purpose::ContainerRead if routed => CONTAINER,
                Purpose::PkRangeRead if routed => PK_RANGES,
                _ => ITEM,
            };
            inputs.push(Input::Response(req.attempt, response(body), now));
        }
        match drained {
            Drained::Done { outcome: Ok(r), .. } => return Ok(r.status()),
            Drained::Done {
                outcome: Err(e), ..
            } => return Err(format!("unexpected {e:?}")),
            Drained::Wait { .. } if inputs.is_empty() => return Err("nothing to feed".into()),
            Drained::Wait { .. } => {}
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: Option<u64> = args.first().and_then(|a| a.parse().ok());
    let routed = match args.get(1).map(String::as_str) {
        None | Some("routed") => Some(true),
        Some("unrouted") => Some(false),
        Some(_) => None,
    };
    let (Some(n), Some(routed)) = (n, routed) else {
        eprintln!("usage: core_cycle N [routed|unrouted]   (runs N warm point-read cycles)");
        std::process::exit(2);
    };
    let result = (|| -> Result<(u64, u64), String> {
        let account = AccountReference::with_master_key("https://a.documents.azure.com:443/", KEY)
            .map_err(|e| e.to_string())?;
        let now = Now::new(
            Instant::now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        );
        let mut driver = Driver::new(account.clone(), DriverOptions::default(), 1, now)
            .map_err(|e| e.to_string())?;
        let item = ItemReference::from_name(account, "db", "c", "item-1");
        point_read(&mut driver, &item, now, routed, &mut 0)?; // warm: account (and routing) metadata
        let mut ok = 0;
        let mut sends = 0u64;
        for _ in 0..n {
            if point_read(&mut driver, black_box(&item), now, routed, &mut sends)? == 200 {
                ok += 1;
            }
        }
        Ok((ok, sends))
    })();
    match result {
        Ok((ok, sends)) if ok == n => println!(
            "core_cycle: {n} point-read cycles ({}), all 200, {sends} requests",
            if routed { "routed" } else { "unrouted" }
        ),
        Ok((ok, _)) => {
            eprintln!("core_cycle: only {ok} of {n} cycles returned 200");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("core_cycle: {e}");
            std::process::exit(1);
        }
    }
}
