//! The `sextant` binary end to end against the multi-partition test gateway (plain HTTP on
//! loopback): item commands and their exit codes, queries, configuration layers, 100,000 items
//! imported and exported back identical, an import killed half-way that resumes from its
//! checkpoint, backup (incremental) and restore into a new container, throughput, monitor.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sextant_blocking::models::{
    AccountReference, ContainerProperties, DatabaseReference, PartitionKeyDefinition,
};
use sextant_blocking::{CosmosDriverRuntime, CosmosOperation};
use sextant_tests::gateway::TestGateway;
use sextant_tests::server::EMULATOR_KEY;

/// The two 100,000-item tests take turns: on a 2-core machine, two of them at once starve
/// each other's gateways into timeouts.
static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A test's own gateway, scratch directory and database.
struct Env {
    gateway: TestGateway,
    dir: PathBuf,
    db: String,
}

impl Env {
    fn new(name: &str) -> Env {
        Env::with_ranges(name, 4)
    }

    /// The local stores scan every document for a query, so a cross-partition query over
    /// 100,000 items outlasts the driver's 6 s attempt deadline; the big tests verify through
    /// the change feed (export), which the gateway serves from its own log.
    fn with_ranges(name: &str, ranges: usize) -> Env {
        let gateway = TestGateway::start(ranges);
        let dir = std::env::temp_dir().join(format!("sextant-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let env = Env {
            gateway,
            dir,
            db: "clidb".into(),
        };
        let runtime = CosmosDriverRuntime::builder().build().unwrap();
        let account =
            AccountReference::with_master_key(env.gateway.endpoint(), EMULATOR_KEY).unwrap();
        let driver = runtime.get_or_create_driver(account.clone(), None).unwrap();
        driver
            .execute_operation(
                CosmosOperation::create_database(account.clone(), &env.db),
                None,
            )
            .unwrap();
        env
    }

    fn create_container(&self, name: &str) {
        let runtime = CosmosDriverRuntime::builder().build().unwrap();
        let account =
            AccountReference::with_master_key(self.gateway.endpoint(), EMULATOR_KEY).unwrap();
        let driver = runtime.get_or_create_driver(account.clone(), None).unwrap();
        let props = ContainerProperties::new(name, PartitionKeyDefinition::hash("/pk"));
        driver
            .execute_operation(
                CosmosOperation::create_container(
                    DatabaseReference::from_name(account, &self.db),
                    &props,
                ),
                None,
            )
            .unwrap();
    }

    /// `sextant` with the account in the environment and a home of its own (no profile).
    fn cmd(&self, container: &str, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sextant"));
        c.env_clear()
            .env("HOME", &self.dir)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("COSMOS_ENDPOINT", self.gateway.endpoint())
            .env("COSMOS_KEY", EMULATOR_KEY)
            .env("COSMOS_DATABASE", &self.db)
            .env("COSMOS_CONTAINER", container)
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn run(&self, container: &str, args: &[&str]) -> Output {
        self.cmd(container, args).output().unwrap()
    }

    fn run_stdin(&self, container: &str, args: &[&str], input: &str) -> Output {
        let mut child = self
            .cmd(container, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json_out(o: &Output) -> Value {
    assert!(o.status.success() || !o.stdout.is_empty(), "{o:?}");
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {o:?}"))
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// `n` items as NDJSON, spread over 50 partition keys.
fn ndjson(n: usize, tag: &str) -> String {
    let mut s = String::with_capacity(n * 80);
    for i in 0..n {
        s.push_str(
            &json!({"id": format!("{tag}-{i}"), "pk": format!("p{}", i % 50), "n": i, "tag": tag})
                .to_string(),
        );
        s.push('\n');
    }
    s
}

/// The NDJSON lines of `text`, by id.
fn by_id(text: &str) -> BTreeMap<String, Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

#[test]
fn item_commands_queries_and_exit_codes() {
    let env = Env::new("items");
    env.create_container("orders");
    let c = "orders";

    let put = ok(env.run_stdin(
        c,
        &["put", "--create", "-o", "json"],
        r#"{"id":"o1","pk":"c1","total":42,"tags":["a"]}"#,
    ));
    let put = json_out(&put);
    assert_eq!(put["status"], 201);
    let etag = put["etag"].as_str().unwrap().to_string();
    // The same id again: a conflict, exit 5, and a JSON error for scripts.
    let again = env.run_stdin(
        c,
        &["put", "--create", "-o", "json"],
        r#"{"id":"o1","pk":"c1"}"#,
    );
    assert_eq!(code(&again), 5);
    assert_eq!(json_out(&again)["error"]["status"], 409);

    let got = ok(env.run(c, &["get", "o1", "--pk", "c1"]));
    let item: Value = serde_json::from_slice(&got.stdout).unwrap();
    assert_eq!(item["total"], 42);
    assert_eq!(code(&env.run(c, &["get", "nope", "--pk", "c1"])), 4);
    assert_eq!(code(&env.run(c, &["get", "o1", "--pk", "{\"x\":1}"])), 2);

    // A replace with the etag works once; the second time the etag is stale (exit 5).
    let file = env.dir.join("o1.json");
    std::fs::write(&file, r#"{"id":"o1","pk":"c1","total":43,"tags":["a"]}"#).unwrap();
    ok(env.run(c, &["put", file.to_str().unwrap(), "--if-match", &etag]));
    assert_eq!(
        code(&env.run(c, &["put", file.to_str().unwrap(), "--if-match", &etag])),
        5
    );

    // Patch operations apply in the order given; a failed condition is exit 5.
    let patched = ok(env.run(
        c,
        &[
            "patch",
            "o1",
            "--pk",
            "c1",
            "--incr",
            "/total=2",
            "--set",
            "/status=shipped",
            "--add",
            "/tags/-=b",
            "--remove",
            "/tags/0",
            "-o",
            "json",
        ],
    ));
    let patched = json_out(&patched);
    assert_eq!(patched["item"]["total"], 45);
    assert_eq!(patched["item"]["status"], "shipped");
    assert_eq!(patched["item"]["tags"], json!(["b"]));
    let cond = env.run(
        c,
        &[
            "patch",
            "o1",
            "--pk",
            "c1",
            "--set",
            "/x=1",
            "--condition",
            "from c where c.total > 100",
        ],
    );
    assert_eq!(code(&cond), 5, "{cond:?}");

    // Queries: across partitions and in one, JSON lines, a table, one JSON document.
    for i in 0..30 {
        let doc = json!({"id": format!("q{i}"), "pk": format!("c{}", i % 3), "total": i});
        ok(env.run_stdin(c, &["put"], &doc.to_string()));
    }
    let lines = ok(env.run(
        c,
        &[
            "query",
            "SELECT c.id FROM c WHERE c.total >= @min",
            "-p",
            "@min=20",
        ],
    ));
    assert_eq!(stdout(&lines).lines().count(), 10 + 1, "{}", stdout(&lines)); // o1 (45) too
    let one = json_out(&ok(env.run(
        c,
        &[
            "query",
            "SELECT VALUE c.id FROM c",
            "--pk",
            "c2",
            "-o",
            "json",
        ],
    )));
    assert_eq!(one["count"], 10);
    let table = stdout(&ok(env.run(
        c,
        &[
            "query",
            "SELECT c.id, c.total FROM c WHERE c.total < 2 ORDER BY c.total",
            "--format",
            "table",
        ],
    )));
    assert_eq!(table, "id  total\n--  -----\nq0  0\nq1  1\n");
    let paged = json_out(&ok(env.run(
        c,
        &[
            "query",
            "SELECT * FROM c",
            "--pk",
            "c0",
            "--page-size",
            "4",
            "--max-pages",
            "1",
            "-o",
            "json",
        ],
    )));
    assert_eq!(paged["count"], 4);
    let token = paged["continuation"].as_str().unwrap().to_string();
    let rest = json_out(&ok(env.run(
        c,
        &[
            "query",
            "SELECT * FROM c",
            "--pk",
            "c0",
            "--continuation",
            &token,
            "-o",
            "json",
        ],
    )));
    assert_eq!(rest["count"], 6);
    assert_eq!(code(&env.run(c, &["query", "SELEKT nonsense"])), 2);

    ok(env.run(c, &["rm", "o1", "--pk", "c1"]));
    assert_eq!(code(&env.run(c, &["rm", "o1", "--pk", "c1"])), 4);
    ok(env.run(c, &["rm", "o1", "--pk", "c1", "--force"]));

    // No container anywhere: a usage error; no account anywhere: a configuration error.
    let no_container = env
        .cmd(c, &["get", "x", "--pk", "y"])
        .env_remove("COSMOS_CONTAINER")
        .output()
        .unwrap();
    assert_eq!(code(&no_container), 2);
    let no_account = env
        .cmd(c, &["get", "x", "--pk", "y"])
        .env_remove("COSMOS_ENDPOINT")
        .output()
        .unwrap();
    assert_eq!(code(&no_account), 3);
    assert!(String::from_utf8_lossy(&no_account.stderr).contains("no account"));
}

#[test]
fn configuration_comes_from_flags_then_environment_then_profile() {
    let env = Env::new("config");
    env.create_container("fromprofile");
    let profile_dir = env.dir.join(".config/sextant");
    std::fs::create_dir_all(&profile_dir).unwrap();
    std::fs::write(
        profile_dir.join("config.toml"),
        format!(
            "[default]\nendpoint = \"{}\"\nkey = \"{}\"\ndatabase = \"{}\"\ncontainer = \"fromprofile\"\n\n\
             [other]\nconnection_string = \"AccountEndpoint=http://127.0.0.1:9/;AccountKey={};\"\n",
            env.gateway.endpoint(),
            EMULATOR_KEY,
            env.db,
            EMULATOR_KEY
        ),
    )
    .unwrap();
    let bare = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sextant"));
        c.env_clear().env("HOME", &env.dir).args(args);
        c
    };
    // Everything from the profile: a write and a read work.
    ok(bare(&["put"])
        .stdin(Stdio::null())
        .arg(write_item(&env.dir))
        .output()
        .unwrap());
    let shown = json_out(&ok(bare(&["config", "-o", "json"]).output().unwrap()));
    assert_eq!(shown["account_source"], "profile");
    assert_eq!(
        shown["container"],
        json!({"value": "fromprofile", "source": "profile"})
    );
    assert!(
        !shown.to_string().contains(EMULATOR_KEY),
        "the key is never shown"
    );
    // The environment beats the profile; a flag beats both.
    let shown = json_out(&ok(bare(&["config", "-o", "json"])
        .env("COSMOS_CONTAINER", "envc")
        .output()
        .unwrap()));
    assert_eq!(shown["container"]["source"], "environment");
    let shown = json_out(&ok(bare(&["config", "-o", "json", "-c", "flagc"])
        .env("COSMOS_CONTAINER", "envc")
        .output()
        .unwrap()));
    assert_eq!(
        shown["container"],
        json!({"value": "flagc", "source": "flag"})
    );
    // Another profile, chosen by flag or environment; an unknown one is a configuration error.
    let shown = json_out(&ok(bare(&["config", "-o", "json", "--profile", "other"])
        .output()
        .unwrap()));
    assert_eq!(shown["credential"], "connection string");
    assert_eq!(shown["endpoint"], "http://127.0.0.1:9/");
    let missing = bare(&["config"])
        .env("SEXTANT_PROFILE", "nope")
        .output()
        .unwrap();
    assert_eq!(code(&missing), 3);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("`nope`"));
}

fn write_item(dir: &Path) -> PathBuf {
    let p = dir.join("profile-item.json");
    std::fs::write(&p, r#"{"id":"p1","pk":"x"}"#).unwrap();
    p
}

#[test]
fn import_100k_items_then_export_them_back_identical() {
    let _turn = HEAVY.lock().unwrap_or_else(|p| p.into_inner());
    let env = Env::with_ranges("import", 8);
    env.create_container("bulk");
    let input = ndjson(100_000, "i");
    let file = env.dir.join("items.ndjson");
    std::fs::write(&file, &input).unwrap();
    let started = Instant::now();
    let r = json_out(&ok(
        env.run("bulk", &["import", file.to_str().unwrap(), "-o", "json"])
    ));
    eprintln!("import of 100,000 items: {:?}", started.elapsed());
    assert_eq!(r["imported"], 100_000);
    assert_eq!(r["failed"], 0);
    assert_eq!(r["resumed_from"], 0);
    // Run again: the checkpoint says it is done.
    let again = json_out(&ok(
        env.run("bulk", &["import", file.to_str().unwrap(), "-o", "json"])
    ));
    assert_eq!(again["imported"], 0);

    let out = env.dir.join("export.ndjson");
    ok(env.run("bulk", &["export", out.to_str().unwrap(), "--no-count"]));
    let exported = std::fs::read_to_string(&out).unwrap();
    assert_eq!(exported.lines().count(), 100_000);
    assert_eq!(by_id(&exported), by_id(&input));

    // Bad lines fail alone (exit 9) and are named; the rest is imported.
    let bad = env.dir.join("bad.ndjson");
    std::fs::write(&bad, "{\"id\":\"g1\",\"pk\":\"a\"}\nnot json\n{\"id\":\"g2\",\"pk\":{\"o\":1}}\n\n{\"id\":\"g3\",\"pk\":\"b\"}\n").unwrap();
    let r = env.run("bulk", &["import", bad.to_str().unwrap(), "-o", "json"]);
    assert_eq!(code(&r), 9, "{r:?}");
    let r = json_out(&r);
    assert_eq!(
        (r["imported"].as_u64(), r["failed"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(r["failures"][0]["line"], 2);
    assert_eq!(r["failures"][1]["line"], 3);
}

#[test]
fn a_killed_import_resumes_from_its_checkpoint() {
    let _turn = HEAVY.lock().unwrap_or_else(|p| p.into_inner());
    let env = Env::with_ranges("resume", 8);
    env.create_container("resume");
    let total = 100_000u64;
    let input = ndjson(total as usize, "r");
    let file = env.dir.join("items.ndjson");
    std::fs::write(&file, &input).unwrap();
    let checkpoint = env.dir.join("items.ndjson.sextant-checkpoint");

    // Few items in flight, so that it is still running when killed.
    let mut child = env
        .cmd(
            "resume",
            &[
                "import",
                file.to_str().unwrap(),
                "--max-in-flight",
                "100",
                "-q",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let done_at_kill = loop {
        let done = std::fs::read_to_string(&checkpoint)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| v["lines_done"].as_u64())
            .unwrap_or(0);
        if done >= 2_000 {
            child.kill().unwrap();
            child.wait().unwrap();
            break done;
        }
        assert!(Instant::now() < deadline, "no checkpoint progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let cp: Value = serde_json::from_str(&std::fs::read_to_string(&checkpoint).unwrap()).unwrap();
    let resumed_from = cp["lines_done"].as_u64().unwrap();
    assert!(resumed_from >= done_at_kill && resumed_from < total, "{cp}");
    assert_eq!(cp["complete"], false);

    let started = Instant::now();
    let r = json_out(&ok(
        env.run("resume", &["import", file.to_str().unwrap(), "-o", "json"])
    ));
    eprintln!("resumed import: {:?}", started.elapsed());
    assert_eq!(r["resumed_from"].as_u64(), Some(resumed_from));
    assert_eq!(r["imported"].as_u64(), Some(total - resumed_from));
    let out = env.dir.join("export.ndjson");
    ok(env.run("resume", &["export", out.to_str().unwrap(), "--no-count"]));
    assert_eq!(
        by_id(&std::fs::read_to_string(&out).unwrap()),
        by_id(&input)
    );
    // Another file under the same checkpoint is refused rather than skipped.
    std::fs::write(&file, ndjson(10, "x")).unwrap();
    let refused = env.run("resume", &["import", file.to_str().unwrap()]);
    assert_eq!(code(&refused), 2);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--restart"));
}

#[test]
fn backup_is_incremental_and_restores_into_a_new_container() {
    let env = Env::new("backup");
    env.create_container("src");
    let first = ndjson(3_000, "b");
    ok(env.run_stdin("src", &["import", "-"], &first));
    let dir = env.dir.join("bk");
    let r = json_out(&ok(
        env.run("src", &["backup", dir.to_str().unwrap(), "-o", "json"])
    ));
    assert_eq!(r["items_this_run"], 3_000);
    // Changes since: 500 new items and 10 updated ones go into a second segment.
    ok(env.run_stdin("src", &["import", "-"], &ndjson(500, "c")));
    for i in 0..10 {
        ok(env.run_stdin(
            "src",
            &["put"],
            &json!({"id": format!("b-{i}"), "pk": format!("p{i}"), "n": -1}).to_string(),
        ));
    }
    let r = json_out(&ok(
        env.run("src", &["backup", dir.to_str().unwrap(), "-o", "json"])
    ));
    assert_eq!(
        (r["items_this_run"].as_u64(), r["segments"].as_u64()),
        (Some(510), Some(2))
    );
    assert_eq!(r["incremental"], true);
    // Nothing new: no empty segment.
    let r = json_out(&ok(
        env.run("src", &["backup", dir.to_str().unwrap(), "-o", "json"])
    ));
    assert_eq!(
        (r["items_this_run"].as_u64(), r["segments"].as_u64()),
        (Some(0), Some(2))
    );

    // Restore creates the container from the backed-up properties.
    let r = json_out(&ok(
        env.run("copy", &["restore", dir.to_str().unwrap(), "-o", "json"])
    ));
    assert_eq!(r["created"], true);
    assert_eq!(r["upserted"], 3_510);
    let a = env.dir.join("a.ndjson");
    let b = env.dir.join("b.ndjson");
    ok(env.run("src", &["export", a.to_str().unwrap()]));
    ok(env.run("copy", &["export", b.to_str().unwrap()]));
    let (a, b) = (
        std::fs::read_to_string(a).unwrap(),
        std::fs::read_to_string(b).unwrap(),
    );
    assert_eq!(by_id(&a).len(), 3_500);
    assert_eq!(by_id(&a), by_id(&b));
    assert_eq!(by_id(&b)["b-3"]["n"], -1, "the later version wins");
    // Restoring again changes nothing.
    let r = json_out(&ok(
        env.run("copy", &["restore", dir.to_str().unwrap(), "-o", "json"])
    ));
    assert_eq!(r["created"], false);
}

#[test]
fn throughput_is_read_and_changed() {
    let env = Env::new("throughput");
    env.create_container("tp");
    let r = json_out(&ok(env.run("tp", &["throughput", "-o", "json"])));
    assert_eq!(
        (r["mode"].as_str(), r["ru_per_second"].as_u64()),
        (Some("manual"), Some(400))
    );
    let r = json_out(&ok(
        env.run("tp", &["throughput", "--set", "1000", "-o", "json"])
    ));
    assert_eq!(r["ru_per_second"], 1000);
    let r = json_out(&ok(
        env.run("tp", &["throughput", "--autoscale", "4000", "-o", "json"])
    ));
    assert_eq!(
        (r["mode"].as_str(), r["ru_per_second"].as_u64()),
        (Some("autoscale"), Some(4000))
    );
    assert_eq!(code(&env.run("tp", &["throughput", "--set", "7"])), 2);
    // The database has no throughput of its own.
    let db = env
        .cmd("tp", &["throughput", "-o", "json"])
        .env_remove("COSMOS_CONTAINER")
        .output()
        .unwrap();
    assert_eq!(json_out(&ok(db))["throughput"], Value::Null);
}

#[test]
fn monitor_reports_metrics_and_alerts() {
    let env = Env::new("monitor");
    env.create_container("mon");
    ok(env.run_stdin("mon", &["put"], r#"{"id":"probe","pk":"probe"}"#));
    let o = ok(env.run(
        "mon",
        &[
            "monitor",
            "--interval",
            "300ms",
            "--count",
            "3",
            "--probes",
            "5",
            "--probe-id",
            "probe",
            "--probe-pk",
            "probe",
            "-o",
            "json",
        ],
    ));
    let ticks: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(ticks.len(), 3);
    assert!(
        ticks[2]["window"]["operations"].as_u64().unwrap() >= 10,
        "{}",
        ticks[2]
    );
    assert_eq!(ticks[2]["probe_errors"], 0);
    // A threshold no request meets: the alert is raised, and --fail-on-alert exits 8.
    let o = env.run(
        "mon",
        &[
            "monitor",
            "--interval",
            "300ms",
            "--count",
            "2",
            "--probes",
            "5",
            "--alert-query-p99-ms",
            "0.001",
            "--min-operations",
            "3",
            "--fail-on-alert",
            "-o",
            "json",
        ],
    );
    assert_eq!(code(&o), 8, "{o:?}");
    assert!(
        stdout(&o).contains("\"kind\":\"non_point_latency_p99\""),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("\"state\":\"raised\""));
}
