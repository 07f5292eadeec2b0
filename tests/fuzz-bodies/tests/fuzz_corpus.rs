//! Replays every committed fuzz corpus file (`fuzz/corpus/<target>/*`) through the same target
//! bodies the cargo-fuzz targets run (`sextant_fuzz_bodies`), on stable, so CI covers every
//! seed and every regression input. `scripts/fuzz.sh` runs the targets themselves on nightly.
//!
//! `cargo test -p sextant-fuzz-bodies --test fuzz_corpus -- --ignored write_seed_corpus` rewrites the
//! `seed-*` files from the definitions below (other corpus files are left alone).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_methods)] // this test is the transport side: files and the clock

use std::path::{Path, PathBuf};
use std::time::Instant;

use sextant_fuzz_bodies::execution::{encode, Answer, Event, Setup};
use sextant_fuzz_bodies::{self as fuzzing, ByteWriter, TARGETS};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus")
}

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = corpus_root().join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str) {
    let files = corpus_files(target);
    assert!(!files.is_empty(), "fuzz/corpus/{target} has no inputs");
    let mut failures = Vec::new();
    for file in &files {
        let data = std::fs::read(file).expect("read corpus file");
        let base = Instant::now();
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let outcome = std::panic::catch_unwind(|| {
            if target == "execution" {
                // The report shows what each input exercised (`--nocapture`).
                let report = fuzzing::execution(&data, base);
                if let Ok(r) = &report {
                    eprintln!("execution/{name}: {r:?}");
                }
                return Some(report.map(|_| ()));
            }
            fuzzing::run(target, &data, base)
        });
        match outcome {
            Ok(Some(Ok(()))) => {}
            Ok(Some(Err(v))) => failures.push(format!("{name}: {v}")),
            Ok(None) => failures.push(format!("{name}: unknown target {target}")),
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{name}: panicked: {msg}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus inputs of {target} fail:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    eprintln!("{target}: {} corpus inputs replayed", files.len());
}

#[test]
fn response_headers_corpus() {
    replay("response_headers");
}

#[test]
fn account_properties_corpus() {
    replay("account_properties");
}

#[test]
fn session_token_corpus() {
    replay("session_token");
}

#[test]
fn pk_ranges_corpus() {
    replay("pk_ranges");
}

#[test]
fn partition_key_corpus() {
    replay("partition_key");
}

#[test]
fn environment_corpus() {
    replay("environment");
}

#[test]
fn execution_corpus() {
    replay("execution");
}

#[test]
fn query_plan_corpus() {
    replay("query_plan");
}

#[test]
fn query_page_corpus() {
    replay("query_page");
}

#[test]
fn feed_token_corpus() {
    replay("feed_token");
}

#[test]
fn change_feed_token_corpus() {
    replay("change_feed_token");
}

#[test]
fn container_properties_corpus() {
    replay("container_properties");
}

#[test]
fn throughput_flow_corpus() {
    replay("throughput_flow");
}

#[test]
fn recording_corpus() {
    replay("recording");
}

#[test]
fn every_corpus_folder_is_a_target() {
    for entry in std::fs::read_dir(corpus_root()).expect("fuzz/corpus exists") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        assert!(
            TARGETS.contains(&name.as_ref()),
            "fuzz/corpus/{name} is not a target"
        );
    }
}

/// The committed seed and regression files are what their definitions below encode to (after
/// changing a definition or an encoding, run `write_seed_corpus`; the encoders and decoders
/// are checked against each other by unit tests in `sextant_fuzz_bodies`).
#[test]
fn seeds_are_current() {
    for (target, name, data) in seeds() {
        let path = corpus_root().join(target).join(&name);
        let on_disk = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run write_seed_corpus)", path.display()));
        assert_eq!(
            on_disk, data,
            "{target}/{name} differs from its definition (run write_seed_corpus)"
        );
    }
    for (target, name, data) in fixed() {
        let path = corpus_root().join(target).join(&name);
        let on_disk = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run write_seed_corpus)", path.display()));
        assert_eq!(on_disk, data, "{target}/{name} differs from its definition");
    }
}

/// The files of the folder named by `SEXTANT_FUZZ_DIR` (relative to the repository root).
fn folder_from_env() -> Vec<PathBuf> {
    let dir = PathBuf::from(std::env::var("SEXTANT_FUZZ_DIR").expect("SEXTANT_FUZZ_DIR"));
    let dir = if dir.is_absolute() {
        dir
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir)
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("list SEXTANT_FUZZ_DIR")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

/// Replays another folder of inputs of one target (e.g. a work corpus scripts/fuzz.sh grew):
/// `SEXTANT_FUZZ_TARGET=pk_ranges SEXTANT_FUZZ_DIR=fuzz/work/pk_ranges cargo test -p
/// sextant-fuzz-bodies --test fuzz_corpus -- --ignored --nocapture replay_folder`.
#[test]
#[ignore = "reads the folder named by SEXTANT_FUZZ_DIR"]
fn replay_folder() {
    let target = std::env::var("SEXTANT_FUZZ_TARGET").expect("SEXTANT_FUZZ_TARGET");
    let files = folder_from_env();
    for file in &files {
        // A running fuzzer may have replaced the file meanwhile.
        let Ok(data) = std::fs::read(file) else {
            continue;
        };
        if let Some(Err(v)) = fuzzing::run(&target, &data, Instant::now()) {
            panic!("{}: {v}", file.display());
        }
    }
    eprintln!("{target}: {} inputs replayed", files.len());
}

/// Replays another folder of execution inputs and prints what they exercised:
/// `SEXTANT_FUZZ_DIR=fuzz/work/execution cargo test -p sextant-fuzz-bodies --test fuzz_corpus --
/// --ignored --nocapture summarize_execution_inputs`.
#[test]
#[ignore = "reads the folder named by SEXTANT_FUZZ_DIR"]
fn summarize_execution_inputs() {
    let files = folder_from_env();
    let (mut ok, mut failed, mut not_future) = (0, 0, 0);
    let mut kinds = std::collections::BTreeMap::new();
    let mut max_ops = 0;
    for file in &files {
        // A running fuzzer may have replaced the file meanwhile.
        let Ok(data) = std::fs::read(file) else {
            continue;
        };
        match fuzzing::execution(&data, Instant::now()) {
            Ok(r) => {
                match r.error_kind {
                    None => ok += 1,
                    Some(k) => {
                        failed += 1;
                        *kinds.entry(format!("{k:?}")).or_insert(0) += 1;
                        if std::env::var("SEXTANT_FUZZ_VERBOSE").is_ok() {
                            eprintln!("{}: {k:?} {:?}", file.display(), r.error);
                        }
                    }
                }
                max_ops = max_ops.max(r.operation_sends);
                if r.waits_not_in_future > 0 {
                    not_future += 1;
                    eprintln!("{}: {r:?}", file.display());
                }
            }
            Err(v) => panic!("{}: {v}", file.display()),
        }
    }
    eprintln!(
        "{} inputs: {ok} succeeded, {failed} failed {kinds:?}; most operation attempts {max_ops}; \
         {not_future} with a Wait not in the future",
        files.len()
    );
}

#[test]
#[ignore = "writes fuzz/corpus/*/seed-*; run by hand after changing a seed or a decoder"]
fn write_seed_corpus() {
    for (target, name, data) in seeds() {
        let dir = corpus_root().join(target);
        std::fs::create_dir_all(&dir).expect("create corpus dir");
        std::fs::write(dir.join(name), data).expect("write seed");
    }
    for (target, name, data) in fixed() {
        let dir = corpus_root().join(target);
        std::fs::create_dir_all(&dir).expect("create corpus dir");
        std::fs::write(dir.join(name), data).expect("write regression");
    }
}

/// Every input a fuzzer found that showed a core bug. All are fixed and kept in
/// `fuzz/corpus/<target>/` as regressions, so the corpus replay of every `cargo test` covers
/// them.
fn fixed() -> Vec<Seed> {
    let wall = |how_far: u16, name: &str| {
        let events = vec![
            Event::Advance {
                how: 4,
                amount: how_far,
            },
            ok(0, 200),
        ];
        ("execution", name.to_owned(), encode(&base_setup(), &events))
    };
    // Entra ID, recorded: the token arrives while the wall clock says 9999-12-31; its expiry
    // must survive the recording exactly, or replay finds the token expired.
    let recording_far_future = encode(
        &Setup {
            credential: 1,
            ..base_setup()
        },
        &[
            Event::Advance { how: 4, amount: 2 },
            Event::Token {
                ok: true,
                expiry: 5,
            },
            ok(0, 200),
            ok(0, 200),
            ok(0, 200),
            ok(0, 200),
        ],
    );
    // 1.2345678901234568e20, written as JavaScript does: 123456789012345680000.
    let mut float = ByteWriter::new();
    float.u8(1).u8(3).u8(7);
    vec![
        // serde_json's default float parsing was one ulp off for large numbers: float_roundtrip.
        (
            "partition_key",
            "replay-parses-number-one-ulp-off".to_owned(),
            float.finish(),
        ),
        // Execution::poll panicked in httpdate for wall clocks outside 1970..=9999: the core
        // clamps wall time (execution::clamp_wall).
        wall(0, "wall-clock-before-epoch"),
        wall(3, "wall-clock-after-year-9999"),
        // A recording kept wall times as u64 ns, saturating after 2554, so a token expiring
        // later was valid when recorded and expired on replay: recordings keep i128 ns
        // (format 2).
        (
            "execution",
            "recording-wall-clock-after-2554".to_owned(),
            recording_far_future,
        ),
        // A change-feed token whose second position ran from "7F" to "&F" (inverted: '&' sorts
        // before '7') was split by `token_parts` into a reversed lease part (and a pager of its
        // container would have read it): tokens are checked to tile their feed
        // (changefeed::state, `check_positions`). Found by libFuzzer on stable with
        // RUSTC_BOOTSTRAP=1 (scripts/fuzz.sh).
        (
            "change_feed_token",
            "regression-position-inverted-by-a-non-hex-bound".to_owned(),
            change_feed_token(
                r#"{"c":"dbs+db/colls/c","m":"LatestVersion","s":{"t":"All"},"r":[{"min":"","max":"7F","e":"\"5\""},{"min":"7F","max":"&F","e":null}]}"#,
            )
            .into_bytes(),
        ),
    ]
}

/// A change-feed token (`cf1.` and base64url of `json`), as the change feed writes them.
fn change_feed_token(json: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    format!("cf1.{}", URL_SAFE_NO_PAD.encode(json))
}

type Seed = (&'static str, String, Vec<u8>);

fn seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    let mut add = |target: &'static str, name: &str, data: Vec<u8>| {
        out.push((target, format!("seed-{name}"), data));
    };
    for (name, text) in HEADER_SEEDS {
        add("response_headers", name, text.to_vec());
    }
    for (name, text) in ACCOUNT_SEEDS {
        add("account_properties", name, text.as_bytes().to_vec());
    }
    for (name, text) in SESSION_SEEDS {
        add("session_token", name, text.as_bytes().to_vec());
    }
    for (name, data) in pk_range_seeds() {
        add("pk_ranges", name, data);
    }
    for (name, data) in partition_key_seeds() {
        add("partition_key", name, data);
    }
    for (name, data) in environment_seeds() {
        add("environment", name, data);
    }
    for (name, setup, events) in execution_seeds() {
        add("execution", name, encode(&setup, &events));
    }
    for (name, text) in QUERY_PLAN_SEEDS {
        add("query_plan", name, text.as_bytes().to_vec());
    }
    for (name, text) in QUERY_PAGE_SEEDS {
        add("query_page", name, text.as_bytes().to_vec());
    }
    for (name, text) in feed_token_seeds() {
        add("feed_token", name, text.into_bytes());
    }
    for (name, text) in change_feed_token_seeds() {
        add("change_feed_token", name, text.into_bytes());
    }
    for (name, text) in CONTAINER_SEEDS {
        add("container_properties", name, text.as_bytes().to_vec());
    }
    for (name, data) in throughput_flow_seeds() {
        add("throughput_flow", name, data);
    }
    out
}

/// Containers as the service returns them: every policy, and fields the SDKs do not know.
const CONTAINER_SEEDS: &[(&str, &str)] = &[
    (
        "full",
        r#"{"id":"c","indexingPolicy":{"indexingMode":"consistent","automatic":true,"includedPaths":[{"path":"/*"}],"excludedPaths":[{"path":"/\"_etag\"/?"}],"compositeIndexes":[[{"path":"/a","order":"ascending"},{"path":"/b","order":"descending"}]],"spatialIndexes":[{"path":"/loc/*","types":["Point","Polygon"]}],"vectorIndexes":[{"path":"/v","type":"diskANN"}],"fullTextIndexes":[{"path":"/t"}]},"partitionKey":{"paths":["/pk"],"kind":"Hash","version":2},"uniqueKeyPolicy":{"uniqueKeys":[{"paths":["/u"]}]},"conflictResolutionPolicy":{"mode":"LastWriterWins","conflictResolutionPath":"/_ts","conflictResolutionProcedure":""},"geospatialConfig":{"type":"Geography"},"vectorEmbeddingPolicy":{"vectorEmbeddings":[{"path":"/v","dataType":"float32","dimensions":8,"distanceFunction":"cosine"}]},"fullTextPolicy":{"defaultLanguage":"en-US","fullTextPaths":[{"path":"/t","language":"en-US"}]},"computedProperties":[{"name":"lower","query":"SELECT VALUE LOWER(c.t) FROM c"}],"defaultTtl":-1,"_rid":"AAB=","_ts":1,"_self":"dbs/AA==/colls/AAB=/","_etag":"\"0\"","newField":{"x":1}}"#,
    ),
    (
        "hierarchical-system-key",
        r#"{"id":"c","partitionKey":{"paths":["/a","/b","/c"],"kind":"MultiHash","version":2,"systemKey":false}}"#,
    ),
    (
        "unknown-enums",
        r#"{"id":"c","partitionKey":{"paths":["/pk"],"kind":"Future"},"indexingPolicy":{"indexingMode":"SOMETHING","compositeIndexes":[[{"path":"/a","order":"sideways"}]]},"conflictResolutionPolicy":{"mode":"Quantum"}}"#,
    ),
];

/// A throughput read, a replace within the mode, and a manual-to-autoscale migration, each
/// answered as the service would (resource, offers query, offer), then variations.
fn throughput_flow_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let offer = |content: &str| {
        format!(
            r#"{{"id":"Of1","_rid":"Of1","offerVersion":"V2","offerType":"Invalid","resource":"dbs/AA==/colls/AAB=/","offerResourceId":"AAB=","content":{content}}}"#
        )
    };
    // One answer: status index (0 = 200, 2 = 202), pending, min header (empty), body.
    let answer = |w: &mut ByteWriter, status: u8, pending: bool, body: &str| {
        w.u8(status)
            .bool(pending)
            .bool(false)
            .len_prefixed(body.as_bytes());
    };
    let resource = r#"{"id":"c","_rid":"AAB="}"#;
    let manual = offer(r#"{"offerThroughput":400}"#);
    let offers = format!(r#"{{"Offers":[{manual}]}}"#);
    let mut read = ByteWriter::new();
    read.u8(0);
    answer(&mut read, 0, false, resource);
    answer(&mut read, 0, false, &offers);
    answer(&mut read, 0, true, &manual);
    let mut replace = ByteWriter::new();
    replace.u8(1).u8(4);
    answer(&mut replace, 0, false, resource);
    answer(&mut replace, 0, false, &offers);
    answer(&mut replace, 2, true, &manual);
    answer(&mut replace, 0, false, &offer(r#"{"offerThroughput":500}"#));
    let mut migrate = ByteWriter::new();
    migrate.u8(2).u8(5);
    answer(&mut migrate, 0, false, resource);
    answer(&mut migrate, 0, false, &offers);
    answer(
        &mut migrate,
        0,
        false,
        &offer(r#"{"offerThroughput":400,"offerAutopilotSettings":{"maxThroughput":4000}}"#),
    );
    answer(
        &mut migrate,
        2,
        true,
        &offer(r#"{"offerThroughput":400,"offerAutopilotSettings":{"maxThroughput":4000}}"#),
    );
    answer(
        &mut migrate,
        0,
        false,
        &offer(r#"{"offerThroughput":600,"offerAutopilotSettings":{"maxThroughput":6000}}"#),
    );
    vec![
        ("read", read.finish()),
        ("replace-pending", replace.finish()),
        ("migrate", migrate.finish()),
    ]
}

/// Plans in the gateway's shapes (PROTOCOL.md §7.3, §7.4), one per merge shape, plus odd ones.
const QUERY_PLAN_SEEDS: &[(&str, &str)] = &[
    (
        "parallel",
        r##"{"partitionedQueryExecutionInfoVersion":2,"queryInfo":{"distinctType":"None","top":null,"orderBy":[],"rewrittenQuery":"","hasSelectValue":false},"queryRanges":[{"min":"","max":"FF","isMinInclusive":true,"isMaxInclusive":false}]}"##,
    ),
    (
        "order-by",
        r##"{"queryInfo":{"orderBy":["Ascending","Descending"],"orderByExpressions":["c.a","c.b"],"rewrittenQuery":"SELECT c._rid, [{\"item\": c.a}, {\"item\": c.b}] AS orderByItems, c AS payload\nFROM c\nWHERE ({documentdb-formattableorderbyquery-filter})\nORDER BY c.a, c.b DESC"},"queryRanges":[{"min":"","max":"FF"}]}"##,
    ),
    (
        "avg",
        r##"{"queryInfo":{"aggregates":["Average"],"hasSelectValue":1,"rewrittenQuery":"SELECT VALUE [{\"item\": {\"sum\": SUM(c.n), \"count\": COUNT(c.n)}}]\nFROM c"},"queryRanges":[{"min":"05C1","max":"05C1","isMinInclusive":1,"isMaxInclusive":1}]}"##,
    ),
    (
        "distinct-offset",
        r##"{"queryInfo":{"distinctType":"Unordered","offset":1,"limit":2},"queryRanges":[{"min":"","max":"FF"}]}"##,
    ),
    (
        "group-by",
        r##"{"queryInfo":{"groupByExpressions":["c.a"],"groupByAliases":["a"]},"queryRanges":[]}"##,
    ),
    (
        "bad-direction",
        r##"{"queryInfo":{"orderBy":["Sideways"]},"queryRanges":[]}"##,
    ),
];

/// Page bodies: plain rows, ORDER BY rows, aggregate partials, and malformed ones.
const QUERY_PAGE_SEEDS: &[(&str, &str)] = &[
    (
        "plain",
        r##"{"_rid":"x","Documents":[{"id":"a"},{"id":"b"}],"_count":2}"##,
    ),
    (
        "order-by",
        r##"{"Documents":[{"_rid":"r1","orderByItems":[{"item":1},{}],"payload":{"id":"a"}}]}"##,
    ),
    (
        "aggregate",
        r##"{"Documents":[[{"item":3,"item2":{"max":3,"count":2}}]]}"##,
    ),
    ("no-documents", r##"{"_count":0}"##),
    ("not-json", r#"{"Documents":["#),
];

fn feed_token_seeds() -> Vec<(&'static str, String)> {
    use sextant_core::feed::token::{fingerprint, FeedToken, ProducerPosition};
    let fp = fingerprint(br#"{"query":"SELECT * FROM c"}"#, "");
    let token = FeedToken {
        fingerprint: fp,
        producers: vec![
            ProducerPosition {
                min: String::new(),
                max: "7F".into(),
                server: Some(r#"{"token":"+RID:x#RT:1"}"#.into()),
                skip: 2,
                done: false,
                mark: Some(serde_json::json!({"k": [[3]], "r": ["x"]})),
            },
            ProducerPosition {
                min: "7F".into(),
                max: "FF".into(),
                server: None,
                skip: 0,
                done: true,
                mark: None,
            },
        ],
        merge: Some(serde_json::json!({"skip": 0, "remaining": 5, "last": null})),
    };
    vec![
        ("two-ranges", token.encode().expect("a small token encodes")),
        ("no-prefix", "abc".into()),
        ("bad-base64", "sx1.!!".into()),
    ]
}

const HEADER_SEEDS: [(&str, &[u8]); 6] = [
    (
        "read",
        b"content-type: application/json\r\nx-ms-request-charge: 1\r\nx-ms-activity-id: 6f9a3c1e-4b2d-4e8f-9a1b-2c3d4e5f6a7b\r\nx-ms-session-token: 0:-1#12345\r\netag: \"00000000-0000-0000-1234-56789abcdef0\"\r\nx-ms-item-count: 1\r\n",
    ),
    (
        "throttled",
        b"x-ms-substatus: 3200\nx-ms-retry-after-ms: 1500\nx-ms-request-charge: 0.38\n",
    ),
    (
        "malformed",
        b"x-ms-request-charge: NaN\nx-ms-substatus: -1\nx-ms-item-count: 1e3\nx-ms-retry-after-ms: 12.75\n",
    ),
    (
        "feed",
        b"x-ms-continuation: {\"token\":\"+RID:~abc\",\"range\":{\"min\":\"\",\"max\":\"FF\"}}\nx-ms-item-count: 100\nx-ms-session-token: 1:1#5#2=7,2:0#3\n",
    ),
    (
        "duplicates-and-junk",
        b"x-ms-request-charge: 1\nx-ms-request-charge: 2\nbad header: x\n: novalue\nx-ms-retry-after-ms:\xff\xfe\nx-ms-substatus:  1002  \n",
    ),
    (
        "huge-numbers",
        b"x-ms-request-charge: 1e308\nx-ms-retry-after-ms: 18446744073709551615\nx-ms-item-count: 18446744073709551616\nx-ms-retry-after-ms: 1e30\n",
    ),
];

const ACCOUNT_SEEDS: [(&str, &str); 7] = [
    (
        "one-region",
        r#"{"id":"sim","writableLocations":[{"name":"West US 2","databaseAccountEndpoint":"https://sim-westus2.documents.azure.com:443/"}],"readableLocations":[{"name":"West US 2","databaseAccountEndpoint":"https://sim-westus2.documents.azure.com:443/"}],"enableMultipleWriteLocations":false,"userConsistencyPolicy":{"defaultConsistencyLevel":"Session"}}"#,
    ),
    (
        "three-regions-ppaf",
        r#"{"id":"acct","writableLocations":[{"name":"West US 2","databaseAccountEndpoint":"https://a-westus2.documents.azure.com:443/"}],"readableLocations":[{"name":"West US 2","databaseAccountEndpoint":"https://a-westus2.documents.azure.com:443/"},{"name":"East US","databaseAccountEndpoint":"https://a-eastus.documents.azure.com:443/"},{"name":"Broken","databaseAccountEndpoint":"not a url"}],"enableMultipleWriteLocations":false,"userConsistencyPolicy":{"defaultConsistencyLevel":"Session"},"enablePerPartitionFailoverBehavior":true}"#,
    ),
    (
        "multi-write",
        r#"{"writableLocations":[{"name":"West","databaseAccountEndpoint":"https://a-west.example:443/"},{"name":"East","databaseAccountEndpoint":"https://a-east.example:443/"}],"readableLocations":[{"name":"West","databaseAccountEndpoint":"https://a-west.example:443/"},{"name":"East","databaseAccountEndpoint":"https://a-east.example:443/"}],"enableMultipleWriteLocations":true,"userConsistencyPolicy":{"defaultConsistencyLevel":"BoundedStaleness"}}"#,
    ),
    ("empty", "{}"),
    ("html", "<html><body>502 Bad Gateway</body></html>"),
    (
        "odd-endpoints",
        r#"{"writableLocations":[{"name":"v6","databaseAccountEndpoint":"http://[::1]:8081"},{"databaseAccountEndpoint":" https://x.example "},{"name":"q","databaseAccountEndpoint":"https://x.example/?a=b"}],"readableLocations":[{"name":null,"databaseAccountEndpoint":"HTTPS://UPPER.example:443/"},{"name":"user","databaseAccountEndpoint":"https://u:p@x.example/"},{"name":"ftp","databaseAccountEndpoint":"ftp://x.example/"}],"enableMultipleWriteLocations":null}"#,
    ),
    (
        "wrong-types",
        r#"{"writableLocations":{"name":"x"},"readableLocations":[1,2],"userConsistencyPolicy":{"defaultConsistencyLevel":"Eventual"},"enablePerPartitionFailoverBehavior":"yes"}"#,
    ),
];

const SESSION_SEEDS: [(&str, &str); 6] = [
    ("v2-single", "0:-1#12345\n0:-1#12346\n0:-1#12340"),
    (
        "v2-regions",
        "1:1#5#2=7,2:0#3\n1:1#6#2=5,2:0#4\n1:2#4#2=9#3=1\n2:0#3",
    ),
    ("v1", "0:7\n0:9\n1:3,0:8\n2:1"),
    (
        "mixed-and-bad",
        "0:7\n0:-1#5\n0:-1#5#1=2#1=3\n,\n0:\n:5\n0:abc\n0:-9223372036854775808#9223372036854775807\n0:1#1#4294967296=1",
    ),
    (
        "eviction",
        "a:1\nb:1\nc:1\nd:1\ne:1\nf:1\ng:1\nh:1\ni:1\nj:1\na:2\nb:3",
    ),
    (
        "region-mismatch",
        "0:1#5#1=1#2=2\n0:1#6#1=3\n0:1#7#1=4#3=1\n0:2#1#1=1",
    ),
];

fn pk_range_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let one =
        r#"{"PartitionKeyRanges":[{"id":"0","minInclusive":"","maxExclusive":"FF","parents":[]}]}"#;
    let split = r#"{"PartitionKeyRanges":[{"id":"1","minInclusive":"","maxExclusive":"7F","parents":["0"]},{"id":"2","minInclusive":"7F","maxExclusive":"FF","parents":["0"]}]}"#;
    let split_again = r#"{"PartitionKeyRanges":[{"id":3,"minInclusive":"","maxExclusive":"3F","parents":[0,1]},{"id":4,"minInclusive":"3F","maxExclusive":"7F","parents":[0,1]}]}"#;
    let stale_parent = r#"{"PartitionKeyRanges":[{"id":"0","minInclusive":"","maxExclusive":"FF"},{"id":"5","minInclusive":"","maxExclusive":"FF","parents":["0"]}]}"#;
    let gap = r#"{"PartitionKeyRanges":[{"id":"0","minInclusive":"","maxExclusive":"7F"},{"id":"9","minInclusive":"AA","maxExclusive":"FF"}]}"#;
    let three = r#"{"_rid":"x","PartitionKeyRanges":[{"id":"2","minInclusive":"AA","maxExclusive":"FF","parents":null,"status":"online"},{"id":"0","minInclusive":"","maxExclusive":"3FFF"},{"id":"1","minInclusive":"3FFF","maxExclusive":"AA"}],"_count":3}"#;
    let raw = |parts: &[&str]| parts.join("\0").into_bytes();
    let mut structured = ByteWriter::new();
    // Two ranges ["", "7F") and ["7F", "FF"), then a change feed splitting range 1 off range 0.
    structured.u8(2);
    for (id, lo, hi) in [(0u8, 0u8, 6u8), (1, 6, 10)] {
        structured.u8(id).u8(3).u8(1).u8(lo).u8(1).u8(hi).u8(0);
    }
    structured.u8(1).u8(2).u8(3).u8(1).u8(0).u8(1).u8(3).u8(0b1);
    structured.u8(1).u8(4).u8(0).u8(2).bytes(&[0x12, 0x34]);
    vec![
        (
            "one-then-split",
            raw(&[one, split, "", "05C1", "7E", "7F", "FE", "zz"]),
        ),
        (
            "split-twice",
            raw(&[split, split_again, "3F", "3E", "00", "7F00"]),
        ),
        ("stale-parent", raw(&[stale_parent, one, "AB"])),
        ("gap", raw(&[gap, one, "AA"])),
        ("three-unsorted", raw(&[three, split, "3FFF", "A9FF", "AA"])),
        ("structured", structured.finish()),
    ]
}

fn partition_key_seeds() -> Vec<(&'static str, Vec<u8>)> {
    // Component tags (see fuzzing/partition_key.rs): 0 string, 1 repeated special string,
    // 2 raw f64 bits, 3 special number, 4 i32, 5 bool, 6 null, 7 undefined.
    let mut seeds = Vec::new();
    let mut w = ByteWriter::new();
    w.u8(1).u8(0).len_prefixed(b"tenant-42");
    seeds.push(("string", w.finish()));
    let mut w = ByteWriter::new();
    w.u8(3).u8(0).len_prefixed(b"acme").u8(4).u32(7).u8(5).u8(1);
    seeds.push(("hierarchical", w.finish()));
    let mut w = ByteWriter::new();
    w.u8(1).u8(2).u64(0.1f64.to_bits());
    seeds.push(("decimal", w.finish()));
    let mut w = ByteWriter::new();
    w.u8(3).u8(3).u8(1).u8(3).u8(5).u8(3).u8(7);
    seeds.push(("special-numbers", w.finish()));
    let mut w = ByteWriter::new();
    w.u8(2).u8(6).u8(7);
    seeds.push(("null-undefined", w.finish()));
    let mut w = ByteWriter::new();
    w.u8(1).u8(1).u8(3).u8(59);
    seeds.push(("astral-truncation", w.finish()));
    let mut w = ByteWriter::new();
    w.u8(2).u8(1).u8(1).u8(3).u8(1).u8(2).u8(10);
    seeds.push(("escapes", w.finish()));
    let mut w = ByteWriter::new();
    w.u8(4).u8(5).u8(0).u8(5).u8(1).u8(6).u8(7);
    seeds.push(("too-many", w.finish()));
    seeds
}

fn environment_seeds() -> Vec<(&'static str, Vec<u8>)> {
    // Variables: count, then per variable a key choice (0 = raw) and a value choice (0 = raw).
    let mut seeds = Vec::new();
    let mut w = ByteWriter::new();
    w.u8(2).u8(1).u8(0).u8(1).u8(0).u8(2).u8(1).u8(1).u8(8);
    seeds.push(("both", w.finish()));
    let mut w = ByteWriter::new();
    w.u8(1).u8(1).u8(0).u8(1).u8(7);
    seeds.push(("bad-bool", w.finish()));
    let mut w = ByteWriter::new();
    w.u8(1).u8(1).u8(1).u8(1).u8(9);
    seeds.push(("too-small", w.finish()));
    let mut w = ByteWriter::new();
    w.u8(1)
        .u8(0)
        .len_prefixed(b"AZURE_COSMOS_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES");
    w.u8(0).len_prefixed(b" 65536 ");
    seeds.push(("raw-names", w.finish()));
    let mut w = ByteWriter::new();
    // No variables; diagnostics options with a 100-byte cap (rejected) and NaN RU threshold.
    w.u8(0)
        .u8(1)
        .u16(100)
        .u8(0)
        .u8(0)
        .u64(f64::NAN.to_bits())
        .u8(0)
        .u8(1)
        .u8(1);
    seeds.push(("diagnostics-bad", w.finish()));
    let mut w = ByteWriter::new();
    // No variables; diagnostics options (5000-byte cap, thresholds 1 s / 3 s / 1000 RU /
    // 1 MiB); then driver options: 3 settings (request timeout 0 ms, hedging, circuit breaker
    // with a zero threshold).
    w.u8(0).u8(1).u16(5000);
    w.u8(1).u32(1000).u8(1).u32(3000).u64(1000f64.to_bits());
    w.u8(1).u64(1 << 20).u8(1).u8(1);
    w.u8(3);
    w.u8(0).u8(1).u32(0);
    w.u8(11)
        .u8(1)
        .u8(0)
        .u8(1)
        .u32(500)
        .u8(1)
        .u32(100)
        .u32(2)
        .u32(64);
    w.u8(12).u8(1).u32(0).u32(5).u8(2).u32(300).u8(2).u32(5);
    seeds.push(("options", w.finish()));
    seeds
}

fn ok(attempt: u8, status: u16) -> Event {
    Event::Respond(Answer {
        attempt,
        status,
        charge: Some(0),
        session: Some(0),
        ..Answer::default()
    })
}

fn status(status: u16, sub_status: Option<u32>, retry_after: u8) -> Event {
    Event::Respond(Answer {
        status,
        sub_status,
        retry_after,
        ..Answer::default()
    })
}

fn fail(kind: u8, sent: u8) -> Event {
    Event::Fail {
        attempt: 0,
        kind,
        sent,
    }
}

fn burst(times: u8, step: u8, status: u16, sub_status: Option<u32>) -> Event {
    Event::Burst {
        times,
        step,
        answer: Answer {
            status,
            sub_status,
            ..Answer::default()
        },
    }
}

fn advance(ms: u16) -> Event {
    Event::Advance { how: 2, amount: ms }
}

fn base_setup() -> Setup {
    Setup {
        record: true,
        regions: 1,
        throttle_retries: 4,
        failover_retries: 4,
        partition_routing: true,
        ..Setup::default()
    }
}

/// Account, container and pk-range reads answered, in that order.
fn metadata() -> Vec<Event> {
    vec![ok(0, 200), ok(0, 200), ok(0, 200)]
}

fn execution_seeds() -> Vec<(&'static str, Setup, Vec<Event>)> {
    let with = |events: Vec<Event>| {
        let mut all = metadata();
        all.extend(events);
        all
    };
    vec![
        ("read-ok", base_setup(), with(vec![ok(0, 200)])),
        (
            "throttled-then-ok",
            base_setup(),
            with(vec![
                status(429, Some(3200), 4),
                Event::Advance { how: 1, amount: 0 },
                status(429, Some(3200), 0),
                Event::Advance { how: 0, amount: 8 },
                ok(0, 200),
            ]),
        ),
        (
            "failover-three-regions",
            Setup {
                regions: 3,
                failover_retries: 1,
                ..base_setup()
            },
            with(vec![
                status(503, None, 0),
                fail(1, 1),
                status(500, None, 0),
                advance(1_000),
                ok(0, 200),
            ]),
        ),
        (
            "entra-id-token",
            Setup {
                credential: 1,
                ..base_setup()
            },
            vec![
                Event::Token {
                    ok: false,
                    expiry: 0,
                },
                Event::Token {
                    ok: true,
                    expiry: 3,
                },
                ok(0, 200),
                ok(0, 200),
                ok(0, 200),
                advance(2_000),
                ok(0, 201),
            ],
        ),
        (
            "deadline-stall",
            Setup {
                op_deadline: 2,
                request_timeout: 2,
                ..base_setup()
            },
            with(vec![
                Event::Observe {
                    attempt: 0,
                    kind: 0,
                },
                Event::Advance { how: 0, amount: 5 },
                Event::Advance { how: 1, amount: 0 },
                ok(0, 200),
            ]),
        ),
        (
            "hedged-read",
            Setup {
                regions: 3,
                hedging: 2,
                max_hedges: 2,
                ..base_setup()
            },
            with(vec![
                advance(10),
                advance(5),
                ok(2, 200),
                ok(0, 200),
                Event::Late {
                    id: 5,
                    answer: Answer {
                        status: 200,
                        ..Answer::default()
                    },
                },
            ]),
        ),
        (
            "split-and-refresh",
            base_setup(),
            with(vec![
                status(410, Some(1002), 0),
                Event::Respond(Answer {
                    status: 200,
                    body: 1,
                    etag: Some(0),
                    ..Answer::default()
                }),
                ok(0, 200),
            ]),
        ),
        (
            "tracked-create",
            Setup {
                operation: 7,
                ..base_setup()
            },
            with(vec![
                fail(4, 2),
                status(409, None, 0),
                Event::Respond(Answer {
                    status: 200,
                    body: 1,
                    ..Answer::default()
                }),
            ]),
        ),
        (
            "cancel",
            Setup {
                regions: 2,
                hedging: 2,
                max_hedges: 1,
                ..base_setup()
            },
            with(vec![advance(20), Event::Cancel { which: 0 }, ok(0, 200)]),
        ),
        (
            "burst-write-forbidden",
            Setup {
                regions: 3,
                operation: 5,
                summary_cap: 1,
                ..base_setup()
            },
            with(vec![burst(64, 6, 403, Some(3)), burst(64, 6, 403, Some(3))]),
        ),
        (
            "burst-retry-with",
            Setup {
                regions: 2,
                operation: 3,
                ..base_setup()
            },
            with(vec![burst(64, 0, 449, Some(0)), burst(10, 3, 200, None)]),
        ),
        (
            "burst-throttle-small-cap",
            Setup {
                regions: 4,
                throttle_wait: 3,
                summary_cap: 2,
                ..base_setup()
            },
            with(vec![
                Event::Burst {
                    times: 12,
                    step: 1,
                    answer: Answer {
                        status: 429,
                        sub_status: Some(3200),
                        retry_after: 4,
                        session: Some(1),
                        charge: Some(1),
                        ..Answer::default()
                    },
                },
                burst(8, 0, 410, Some(1002)),
            ]),
        ),
        (
            "two-reads-share-metadata",
            base_setup(),
            vec![
                Event::Start { operation: 0 },
                advance(5),
                ok(0, 200),
                advance(10),
                ok(0, 200),
                ok(0, 200),
                ok(0, 200),
                ok(0, 200),
            ],
        ),
        (
            "lease-holder-cancelled",
            Setup {
                credential: 1,
                ..base_setup()
            },
            vec![
                Event::Start { operation: 2 },
                Event::Cancel { which: 0 },
                advance(10),
                Event::Token {
                    ok: true,
                    expiry: 5,
                },
                Event::Start { operation: 6 },
                ok(0, 200),
                ok(0, 200),
                ok(0, 200),
                ok(0, 201),
            ],
        ),
        (
            "hedges-share-budget",
            Setup {
                regions: 4,
                hedging: 2,
                max_hedges: 3,
                ..base_setup()
            },
            with(vec![
                Event::Start { operation: 0 },
                Event::Start { operation: 12 },
                advance(10),
                advance(5),
                advance(5),
                Event::Fail {
                    attempt: 2,
                    kind: 1,
                    sent: 1,
                },
                advance(100),
                ok(3, 200),
            ]),
        ),
        (
            "session-not-available",
            Setup {
                regions: 2,
                operation: 12,
                ..base_setup()
            },
            with(vec![
                status(404, Some(1002), 0),
                status(404, Some(1002), 0),
                status(404, Some(1002), 0),
            ]),
        ),
        (
            "write-forbidden",
            Setup {
                regions: 2,
                multi_write: true,
                operation: 5,
                ..base_setup()
            },
            with(vec![
                status(403, Some(3), 0),
                ok(0, 200),
                advance(1_000),
                status(403, Some(3), 0),
                advance(1_000),
                ok(0, 201),
            ]),
        ),
        (
            "resource-token-feed",
            Setup {
                credential: 2,
                operation: 9,
                ..base_setup()
            },
            vec![
                ok(0, 200),
                Event::Respond(Answer {
                    status: 200,
                    body: 4,
                    continuation: Some(1),
                    ..Answer::default()
                }),
            ],
        ),
        (
            "garbage-metadata",
            Setup {
                regions: 2,
                driver_deadline: 2,
                ..base_setup()
            },
            vec![
                Event::Respond(Answer {
                    status: 200,
                    body: 7,
                    raw_body: b"{\"readableLocations\":[".to_vec(),
                    ..Answer::default()
                }),
                ok(0, 200),
                Event::Respond(Answer {
                    status: 200,
                    body: 4,
                    ..Answer::default()
                }),
                Event::Respond(Answer {
                    status: 200,
                    body: 3,
                    ..Answer::default()
                }),
                advance(600),
            ],
        ),
    ]
}

/// Change-feed tokens: two ranges with etags, a fresh one, another container, and broken ones.
fn change_feed_token_seeds() -> Vec<(&'static str, String)> {
    let token = change_feed_token;
    vec![
        (
            "two-ranges",
            token(
                r#"{"c":"dbs/db/colls/c","m":"LatestVersion","s":{"t":"All"},"r":[{"min":"","max":"7F","e":"\"5\""},{"min":"7F","max":"FF","e":null}]}"#,
            ),
        ),
        (
            "fresh",
            token(r#"{"c":"dbs/db/colls/c","m":"LatestVersion","s":{"t":"All"},"r":[]}"#),
        ),
        (
            "other-container",
            token(r#"{"c":"dbs/db/colls/x","m":"LatestVersion","s":{"t":"All"},"r":[]}"#),
        ),
        (
            "other-mode",
            token(r#"{"c":"dbs/db/colls/c","m":"AllVersionsAndDeletes","s":{"t":"All"},"r":[]}"#),
        ),
        (
            "partition-key",
            token(
                r#"{"c":"dbs/db/colls/c","m":"LatestVersion","s":{"t":"Key","pk":"[\"a\"]"},"r":[{"min":"","max":"","e":"\"3\""}]}"#,
            ),
        ),
        ("bad-base64", "cf1.%%%".to_string()),
        ("query-token", "sx1.e30".to_string()),
        ("not-json", token("nope")),
    ]
}
