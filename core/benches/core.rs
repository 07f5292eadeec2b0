//! Criterion benchmarks of the core's hot paths (no I/O): signing and one point-read cycle.
//!
//! Run: `cargo bench -p sextant-core --bench core`. Results are recorded in docs/PERFORMANCE.md.
//! Bench code: a panic is a failed benchmark with a message.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderMap, HeaderValue};
use sextant_core::auth::{sign_master_key, MasterKey};
use sextant_core::headers::names;
use sextant_core::models::{AccountReference, ItemReference, PartitionKey};
use sextant_core::{
    CosmosOperation, Drained, Driver, DriverOptions, Input, Inputs, Now, OperationOptions, Purpose,
    Response, Turn,
};

const KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";
const DATE: &str = "Tue, 15 Nov 1994 08:12:31 GMT";
const ACCOUNT: &str = r#"{"writableLocations":[{"name":"West US 2","databaseAccountEndpoint":"https://a-westus2.documents.azure.com:443/"}],"readableLocations":[{"name":"West US 2","databaseAccountEndpoint":"https://a-westus2.documents.azure.com:443/"}]}"#;
const CONTAINER: &str = r#"{"id":"c","partitionKey":{"paths":["/pk"],"kind":"Hash","version":2}}"#;
const PK_RANGES: &str =
    r#"{"PartitionKeyRanges":[{"id":"0","minInclusive":"","maxExclusive":"FF","parents":[]}]}"#;
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
/// the response (Done).
fn point_read(driver: &mut Driver, item: &ItemReference, now: Now) -> u16 {
    let op = CosmosOperation::read(item.clone()).with_partition_key(PartitionKey::from("tenant-1"));
    let mut exec = driver.start(op, OperationOptions::default(), now);
    let (mut inputs, mut turn) = (Inputs::new(), Turn::default());
    loop {
        let drained = exec.turn(driver, &mut inputs, now, &mut turn);
        for req in turn.sends.drain() {
            let body = match req.purpose {
                Purpose::AccountRead => ACCOUNT,
                Purpose::ContainerRead => CONTAINER,
                Purpose::PkRangeRead => PK_RANGES,
                _ => ITEM,
            };
            inputs.push(Input::Response(req.attempt, response(body), now));
        }
        match drained {
            Drained::Done { outcome: Ok(r), .. } => return r.status(),
            Drained::Done {
                outcome: Err(e), ..
            } => panic!("unexpected {e:?}"),
            Drained::Wait { .. } => assert!(!inputs.is_empty(), "nothing to feed"),
        }
    }
}

fn benches(c: &mut Criterion) {
    c.bench_function("sign_master_key (decode key + sign)", |b| {
        b.iter(|| {
            sign_master_key(
                "GET",
                "docs",
                black_box("dbs/db/colls/c/docs/item-1"),
                DATE,
                KEY,
            )
        })
    });
    let key = MasterKey::parse(KEY).unwrap();
    c.bench_function("MasterKey::sign (pre-keyed)", |b| {
        b.iter(|| key.sign("GET", "docs", black_box("dbs/db/colls/c/docs/item-1"), DATE))
    });

    let account =
        AccountReference::with_master_key("https://a.documents.azure.com:443/", KEY).unwrap();
    // The bench plays the transport: reading the clock here is its job, not the core's.
    #[allow(clippy::disallowed_methods)]
    let start = Instant::now();
    let now = Now::new(
        start,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    );
    let mut driver = Driver::new(account.clone(), DriverOptions::default(), 1, now).unwrap();
    let item = ItemReference::from_name(account, "db", "c", "item-1");
    point_read(&mut driver, &item, now); // warm: account metadata read once
    c.bench_function("point read Execution cycle (warm driver, no I/O)", |b| {
        b.iter(|| point_read(&mut driver, black_box(&item), now))
    });
    // The same cycle with cold caches, as a transport's loop finds them after a network wait
    // (docs/PERFORMANCE.md, "Issue 9: native cost is memory, not instructions"): every cycle
    // starts after reading a buffer larger than the caches named, timed around the cycle
    // alone. Each timing adds two clock reads (about 40 ns on the hosts measured).
    let mut cold = c.benchmark_group("point read Execution cycle, cold");
    cold.sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(300));
    for (name, bytes) in [("L1 and L2 cold", 4 << 20), ("every cache cold", 64 << 20)] {
        let sweep = vec![1u8; bytes];
        cold.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    evict(&sweep);
                    #[allow(clippy::disallowed_methods)]
                    let t = Instant::now();
                    black_box(point_read(&mut driver, black_box(&item), now));
                    total += t.elapsed();
                }
                total
            })
        });
    }
    cold.finish();
}

/// Reads one byte of every cache line of `buf`, pushing the previous cycle's lines out of
/// every cache smaller than `buf` (4 MiB: past a core's L2 on the hosts measured, 512 KiB to
/// 2 MiB, within their shared L3; 64 MiB: past their L3, 32 MiB). Reads, so that no dirty line
/// is written back during the timed cycle.
fn evict(buf: &[u8]) {
    let mut sum = 0u8;
    for line in buf.chunks(64) {
        sum = sum.wrapping_add(line[0]);
    }
    black_box(sum);
}

criterion_group!(core_benches, benches);
criterion_main!(core_benches);
