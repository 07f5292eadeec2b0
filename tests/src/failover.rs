//! Multi-region failover scenarios through a real transport, a [`FaultProxy`] and the local test
//! server, written once for every transport.
//!
//! Each scenario starts its own [`TestServer`] and a proxy with the regions [`REGIONS`] (writes
//! to `West` unless a scenario moves them), creates a database and a container through the
//! proxy, and then injects faults while the driver under test works. A transport plugs in with
//! a [`ClientFactory`]: a driver for the proxy's account endpoint with the scenario's
//! [`DriverOptions`], wrapped as a [`Client`](crate::scenarios::Client).
//!
//! Scenarios assert the behaviour the driver must have (PROTOCOL.md §4) and print what they
//! measured (`eprintln!`, visible with `--nocapture`). They run one at a time per process
//! ([`serial`]), so that timings are not distorted by a neighbour's load.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sextant_core::models::{AccountReference, ContainerReference, ItemReference, PartitionKey};
use sextant_core::options::{DriverOptionsBuilder, HedgingOptions};
use sextant_core::{
    CosmosDiagnostics, CosmosError, CosmosOperation, CosmosResponse, DriverOptions, ErrorKind,
    ExecutionContext, OperationOptions, Purpose, RequestSent,
};

use crate::fault_proxy::{Fault, FaultProxy, FaultRule, LoggedRequest, Scope};
use crate::recording::{replay_matches, Recorder};
use crate::scenarios;
use crate::server::{TestServer, EMULATOR_KEY};

/// The proxy's regions, in account order (`West` is the write region by default).
pub const REGIONS: [&str; 3] = ["West", "East", "North"];
/// End-to-end timeout of every operation: the safety net that ends every scenario.
pub const OP_TIMEOUT: Duration = Duration::from_secs(20);
/// Hedging threshold used by the scenarios that hedge.
pub const HEDGE_THRESHOLD: Duration = Duration::from_millis(200);
/// A call that returns this much later than the driver's diagnostics say the operation ended
/// (the winning answer was in, yet the caller was still waiting) is late. Counted and printed
/// as a measurement, not asserted: how late a call returns depends on the machine's load.
pub const LATE_RETURN: Duration = Duration::from_millis(50);
/// A call that returns this much later than its outcome was known waited for something other
/// than its answer: a lost wake-up leaves the execution loop asleep until its next timer, an
/// attempt timeout (2 s or more in these scenarios). Asserted for every read: this is the
/// liveness of the transports' loops, with room for any machine's scheduling.
pub const STUCK_RETURN: Duration = Duration::from_secs(1);

/// Builds a recording [`Client`](crate::scenarios::Client) for one transport.
pub trait ClientFactory {
    /// The transport's name, for the printed measurements.
    fn name(&self) -> String;

    /// A fresh driver (and whatever runtime it needs) for `account` with `options`.
    fn client(&self, account: AccountReference, options: DriverOptions) -> Box<dyn Recorder>;
}

/// Runs scenarios one at a time per process (timings stay meaningful on a small machine).
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// A scenario's world. Fields drop in order: the driver first, then the proxy, then the server.
pub struct Env {
    /// The driver under test, recording from its first request.
    pub client: Box<dyn Recorder>,
    /// The proxy's global account endpoint, as the driver knows it.
    pub account: AccountReference,
    /// The container created for the scenario (`/pk`).
    pub container: ContainerReference,
    /// The fault proxy.
    pub proxy: FaultProxy,
    /// The upstream server.
    pub server: TestServer,
}

impl Env {
    /// Starts a server and a proxy, builds the driver with `options`, starts recording, and
    /// creates a database and a container through the proxy.
    pub fn start(factory: &dyn ClientFactory, options: DriverOptions) -> Env {
        let server = TestServer::start();
        let proxy = FaultProxy::start(server.http_endpoint(), &REGIONS);
        let account = AccountReference::with_master_key(&proxy.account_endpoint(), EMULATOR_KEY)
            .expect("account reference");
        let client = factory.client(account.clone(), options);
        client.start_recording();
        let (_db, container) = scenarios::create_database_and_container(&*client, &account);
        Env {
            client,
            account,
            container,
            proxy,
            server,
        }
    }

    /// Stops recording and replays everything the driver did under faults (failovers, hedges,
    /// timeouts, resets) on the core alone: every decision must come out the same.
    pub fn replays(&self, name: &str) {
        let recording = self
            .client
            .take_recording()
            .expect("the driver was recording");
        let entries = replay_matches(self.client.as_ref(), &recording)
            .unwrap_or_else(|m| panic!("[{name}] the scenario's recording diverged: {m}"));
        eprintln!("[{name}] the scenario's recording replays: {entries} entries");
    }

    /// Creates `{"id": id, "pk": pk}`.
    pub fn create(
        &self,
        id: &str,
        pk: &str,
        opts: OperationOptions,
    ) -> Result<CosmosResponse, CosmosError> {
        let doc = json!({"id": id, "pk": pk, "payload": "failover"});
        self.client.execute(
            CosmosOperation::create(self.container.clone())
                .with_partition_key(PartitionKey::from(pk))
                .with_body(doc.to_string()),
            opts,
        )
    }

    /// Point-reads item `id` in partition `pk`.
    pub fn read(&self, id: &str, pk: &str) -> Result<CosmosResponse, CosmosError> {
        self.client.execute(
            CosmosOperation::read(ItemReference::in_container(&self.container, id))
                .with_partition_key(PartitionKey::from(pk)),
            OperationOptions::new(),
        )
    }

    /// Creates an item that must succeed; panics with the transcript otherwise.
    pub fn must_create(&self, id: &str, pk: &str) -> CosmosResponse {
        match self.create(id, pk, OperationOptions::new()) {
            Ok(r) if r.status() == 201 => r,
            Ok(r) => panic!(
                "create {id}: expected 201, got {}\n{}\nproxy log:\n{}",
                r.status(),
                transcript(r.diagnostics()),
                self.proxy.log_text()
            ),
            Err(e) => panic!(
                "create {id} failed: {e} ({:?})\n{}\nproxy log:\n{}",
                e.kind(),
                transcript(e.diagnostics()),
                self.proxy.log_text()
            ),
        }
    }

    /// Reads an item that must exist; panics with the transcript otherwise.
    pub fn must_read(&self, id: &str, pk: &str) -> CosmosResponse {
        match self.read(id, pk) {
            Ok(r) if r.status() == 200 => r,
            Ok(r) => panic!(
                "read {id}: expected 200, got {}\n{}",
                r.status(),
                transcript(r.diagnostics())
            ),
            Err(e) => panic!(
                "read {id} failed: {e} ({:?})\n{}\nproxy log:\n{}",
                e.kind(),
                transcript(e.diagnostics()),
                self.proxy.log_text()
            ),
        }
    }
}

fn base_options() -> DriverOptionsBuilder {
    DriverOptions::builder()
        .preferred_regions(["West", "East"])
        .end_to_end_timeout(OP_TIMEOUT)
        .metadata_request_timeout(Duration::from_secs(2))
}

/// Every attempt of an operation, one per line.
pub fn transcript(d: &CosmosDiagnostics) -> String {
    let mut out = format!(
        "  diagnostics: {} attempt(s), {:?} total\n",
        d.requests().len(),
        d.elapsed()
    );
    for a in d.requests() {
        out.push_str(&format!(
            "    #{:?} {:?} {:?} region={:?} status={:?}/{:?} sent={:?} at={:?} took={:?} err={:?} url={}\n",
            a.attempt,
            a.purpose,
            a.execution_context,
            &*a.region,
            a.status,
            a.sub_status,
            a.request_sent,
            a.started_at,
            a.duration,
            a.error,
            a.endpoint
        ));
    }
    out
}

/// The region of the operation attempt that produced the (successful) response.
pub fn served_by(d: &CosmosDiagnostics) -> Option<String> {
    d.requests()
        .iter()
        .rev()
        .find(|a| a.purpose == Purpose::Operation && a.status.is_some_and(|s| s < 400))
        .map(|a| a.region.to_string())
}

fn operation_attempts(d: &CosmosDiagnostics) -> Vec<&sextant_core::RequestDiagnostics> {
    d.requests()
        .iter()
        .filter(|a| a.purpose == Purpose::Operation)
        .collect()
}

fn body(r: &CosmosResponse) -> Value {
    serde_json::from_slice(r.response_bytes()).unwrap_or(Value::Null)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn stats(lat: &[Duration]) -> String {
    let mut v = lat.to_vec();
    v.sort();
    format!(
        "n={} p50={:?} p99={:?} max={:?}",
        v.len(),
        percentile(&v, 0.5),
        percentile(&v, 0.99),
        v.last().copied().unwrap_or_default()
    )
}

fn item_creates(log: &[LoggedRequest]) -> Vec<&LoggedRequest> {
    log.iter().filter(|r| r.is_item_create()).collect()
}

struct ReadRecord {
    latency: Duration,
    /// `latency` minus the diagnostics' elapsed time: how long the caller waited after the
    /// operation's outcome was known.
    overhead: Duration,
    done: Instant,
    served: Option<String>,
    first_region: Option<String>,
    attempts: usize,
}

/// Scenario a: the preferred read region goes down (`fault`: `Refuse` or `Stall`) in the middle
/// of a sequential read workload. No read may fail; reads after the fault are served by `East`;
/// the failover time and latencies are printed.
pub fn read_region_down(factory: &dyn ClientFactory, fault: Fault) {
    let _serial = serial();
    let (total, fault_at) = match fault {
        Fault::Stall => (100, 50),
        _ => (200, 50),
    };
    let request_timeout = Duration::from_secs(2);
    let options = base_options()
        .request_timeout(request_timeout)
        .hedging(HedgingOptions {
            threshold: HEDGE_THRESHOLD,
            ..HedgingOptions::default()
        })
        .build()
        .expect("options");
    let env = Env::start(factory, options);
    const ITEMS: usize = 10;
    let ids: Vec<(String, String)> = (0..ITEMS)
        .map(|i| (format!("item-{i}"), format!("p{}", i % 3)))
        .collect();
    for (id, pk) in &ids {
        env.must_create(id, pk);
    }
    for (id, pk) in &ids {
        env.must_read(id, pk);
    }
    env.proxy.clear_log();

    let mut records: Vec<ReadRecord> = Vec::with_capacity(total);
    let mut first_after_fault = String::new();
    let mut failures: Vec<(usize, CosmosError)> = Vec::new();
    let mut fault_time = None;
    for i in 0..total {
        if i == fault_at {
            fault_time = Some(Instant::now());
            env.proxy.set_fault("West", fault.clone());
        }
        let (id, pk) = &ids[i % ITEMS];
        let started = Instant::now();
        let result = env.read(id, pk);
        let latency = started.elapsed();
        match result {
            Ok(r) => {
                assert_eq!(r.status(), 200, "read {i}: {}", transcript(r.diagnostics()));
                if i == fault_at {
                    first_after_fault = transcript(r.diagnostics());
                }
                assert_eq!(body(&r)["id"], json!(id), "read {i} returns its item");
                let ops = operation_attempts(r.diagnostics());
                records.push(ReadRecord {
                    latency,
                    overhead: latency.saturating_sub(r.diagnostics().elapsed()),
                    done: Instant::now(),
                    served: served_by(r.diagnostics()),
                    first_region: ops.first().map(|a| a.region.to_string()),
                    attempts: ops.len(),
                });
            }
            Err(e) => {
                records.push(ReadRecord {
                    latency,
                    overhead: latency.saturating_sub(e.diagnostics().elapsed()),
                    done: Instant::now(),
                    served: None,
                    first_region: None,
                    attempts: operation_attempts(e.diagnostics()).len(),
                });
                failures.push((i, e));
            }
        }
    }
    let fault_time = fault_time.expect("the fault was injected");
    let west_after = env.proxy.requests("West");
    let east_after = env.proxy.requests("East");
    let north_after = env.proxy.requests("North");
    env.proxy.clear_faults();

    let first_after = &records[fault_at];
    let failover = first_after.done.duration_since(fault_time);
    let pre: Vec<Duration> = records[..fault_at].iter().map(|r| r.latency).collect();
    let post: Vec<Duration> = records[fault_at..].iter().map(|r| r.latency).collect();
    let max_post = post.iter().copied().max().unwrap_or_default();
    let west_first = records[fault_at..]
        .iter()
        .filter(|r| r.first_region.as_deref() == Some("West"))
        .count();
    let multi_attempt = records[fault_at..]
        .iter()
        .filter(|r| r.attempts > 1)
        .count();
    let late: Vec<(usize, Duration, Duration)> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.overhead > LATE_RETURN)
        .map(|(i, r)| (i, r.latency, r.overhead))
        .collect();
    eprintln!(
        "[{}] a. read region down ({fault:?}) after {fault_at} of {total} reads: failover time \
         (fault -> first read served elsewhere) {failover:?}; before: {}; after: {}; max single \
         read after the fault {max_post:?}; reads after the fault that tried West first: \
         {west_first}; with more than one attempt: {multi_attempt}; errors: {}; reads returned \
         more than {LATE_RETURN:?} after their outcome was known: {}",
        factory.name(),
        stats(&pre),
        stats(&post),
        failures.len(),
        late.len()
    );
    eprintln!(
        "[{}] a. the first read after the fault ({fault:?}):\n{first_after_fault}",
        factory.name()
    );

    if let Some((i, e)) = failures.first() {
        panic!(
            "[{}] {} of {total} reads failed after the read region went down ({fault:?}); the \
             first, read {i}: {e} ({:?}, transport {:?})\n{}\nproxy log West:\n{}",
            factory.name(),
            failures.len(),
            e.kind(),
            e.transport_error(),
            transcript(e.diagnostics()),
            west_after
                .iter()
                .filter(|r| r.arrived >= fault_time)
                .map(|r| format!("  {r}\n"))
                .collect::<String>()
        );
    }
    for (i, r) in records.iter().enumerate() {
        let expected = if i < fault_at { "West" } else { "East" };
        assert_eq!(
            r.served.as_deref(),
            Some(expected),
            "[{}] read {i} is served by {expected}",
            factory.name()
        );
    }
    // The proxy agrees: after the fault nothing was answered from West, East served the rest,
    // North (not preferred) was never needed.
    let west_answered_after = west_after
        .iter()
        .filter(|r| r.arrived >= fault_time && r.status.is_some())
        .count();
    assert_eq!(
        west_answered_after,
        0,
        "[{}] West answered nothing after the fault",
        factory.name()
    );
    let east_reads_after = east_after
        .iter()
        .filter(|r| r.arrived >= fault_time && r.is_item_read() && r.status == Some(200))
        .count();
    assert!(
        east_reads_after >= total - fault_at,
        "[{}] East answered the {} reads after the fault (saw {east_reads_after})",
        factory.name(),
        total - fault_at
    );
    assert!(
        north_after.iter().all(|r| !r.is_item_read()),
        "[{}] North was not needed",
        factory.name()
    );
    let stuck: Vec<&(usize, Duration, Duration)> =
        late.iter().filter(|(_, _, o)| *o > STUCK_RETURN).collect();
    assert!(
        stuck.is_empty(),
        "[{}] {} of {total} reads returned to the caller more than {STUCK_RETURN:?} after the \
         driver had their outcome (call latency minus diagnostics elapsed): a lost wake-up; \
         (read, latency, overhead), first 10: {:?}",
        factory.name(),
        stuck.len(),
        &stuck[..stuck.len().min(10)]
    );
    assert!(
        max_post < request_timeout,
        "[{}] no read after the fault waited for a whole attempt timeout ({request_timeout:?}): \
         max {max_post:?}",
        factory.name()
    );
    env.replays(&factory.name());
}

/// Scenario b: the write region answers 403/3 WriteForbidden and the account now lists `East`
/// first. The create must succeed in East after a forced account refresh, and the next create
/// must go to East directly.
pub fn write_forbidden_moves_writes(factory: &dyn ClientFactory) {
    let _serial = serial();
    let options = base_options()
        .request_timeout(Duration::from_secs(5))
        .build()
        .expect("options");
    let env = Env::start(factory, options);
    let warm = env.must_create("warm", "p");
    assert_eq!(served_by(warm.diagnostics()).as_deref(), Some("West"));
    env.proxy.clear_log();

    // 403/3 is a write-only signal: a read region never answers it, so it is scoped to writes
    // (the account read goes to the global endpoint anyway).
    env.proxy.set_write_regions(&["East", "West"]);
    env.proxy.set_rule(
        "West",
        FaultRule::new(Fault::status(403, Some(3)), Scope::Writes),
    );
    let started = Instant::now();
    let result = env.create("moved", "p", OperationOptions::new());
    let elapsed = started.elapsed();
    let r = match result {
        Ok(r) => r,
        Err(e) => panic!(
            "[{}] create after 403/3 failed: {e} ({:?})\n{}\nproxy log:\n{}",
            factory.name(),
            e.kind(),
            transcript(e.diagnostics()),
            env.proxy.log_text()
        ),
    };
    let diag = transcript(r.diagnostics());
    assert_eq!(r.status(), 201, "{diag}");
    let ops = operation_attempts(r.diagnostics());
    let account_reads = r
        .diagnostics()
        .requests()
        .iter()
        .filter(|a| a.purpose == Purpose::AccountRead)
        .count();
    let second_started = Instant::now();
    let second = env.must_create("moved-2", "p");
    let second_elapsed = second_started.elapsed();
    eprintln!(
        "[{}] b. write region 403/3: create succeeded in {:?} after {elapsed:?} ({} operation \
         attempt(s), {account_reads} account read(s)); next create {second_elapsed:?} in {:?} \
         ({} attempt(s))",
        factory.name(),
        served_by(r.diagnostics()),
        ops.len(),
        served_by(second.diagnostics()),
        second.diagnostics().requests().len()
    );

    assert_eq!(
        ops.first()
            .map(|a| (a.region.to_string(), a.status, a.sub_status)),
        Some(("West".to_owned(), Some(403), Some(3))),
        "the first attempt hits West and gets 403/3\n{diag}"
    );
    assert_eq!(
        served_by(r.diagnostics()).as_deref(),
        Some("East"),
        "the create lands in East\n{diag}"
    );
    assert!(
        account_reads >= 1,
        "the account was re-read before the retry\n{diag}"
    );
    let log = env.proxy.all_requests();
    let creates = item_creates(&log);
    let west_403 = creates
        .iter()
        .find(|c| c.region == "West" && c.status == Some(403))
        .unwrap_or_else(|| panic!("West answered the create 403\n{}", env.proxy.log_text()));
    let refresh = log
        .iter()
        .find(|q| q.is_account_read() && q.seq > west_403.seq)
        .unwrap_or_else(|| {
            panic!(
                "a forced account read follows the 403\n{}",
                env.proxy.log_text()
            )
        });
    let east_create = creates
        .iter()
        .find(|c| c.region == "East" && c.status == Some(201))
        .unwrap_or_else(|| panic!("East created the item\n{}", env.proxy.log_text()));
    assert!(
        refresh.seq < east_create.seq,
        "the account was re-read before the create went to East\n{}",
        env.proxy.log_text()
    );
    assert_eq!(
        creates.iter().filter(|c| c.region == "West").count(),
        1,
        "West saw exactly one create (the 403)\n{}",
        env.proxy.log_text()
    );
    assert_eq!(
        served_by(second.diagnostics()).as_deref(),
        Some("East"),
        "the next create goes to East directly\n{}",
        transcript(second.diagnostics())
    );
    assert_eq!(
        operation_attempts(second.diagnostics()).len(),
        1,
        "the next create needs one attempt\n{}",
        transcript(second.diagnostics())
    );
    // Reads still work (the fault is for writes) and see the item.
    env.must_read("moved", "p");
    env.replays(&factory.name());
}

/// Scenario e: the account fails over its write region from West to East while West refuses
/// connections. The refused (never sent) create marks West and forces an account refresh
/// (rate-limited), so writes move to East at once instead of at the next periodic refresh
/// (5 min; the outside trial saw 150 s of failed writes).
pub fn refused_write_region_after_failover_moves_writes(factory: &dyn ClientFactory) {
    let _serial = serial();
    let options = base_options()
        .request_timeout(Duration::from_secs(5))
        .build()
        .expect("options");
    let env = Env::start(factory, options);
    let warm = env.must_create("warm", "p");
    assert_eq!(served_by(warm.diagnostics()).as_deref(), Some("West"));
    env.proxy.clear_log();

    env.proxy.set_write_regions(&["East", "West"]);
    env.proxy.set_fault("West", Fault::Refuse);
    // A write sent on a connection to West that was pooled before the refusals began may fail
    // ambiguously (the proxy closes it: "may have been applied", so never replayed); the
    // refused connections that follow must move writes to East at once.
    let mut failed = 0;
    let mut moved = None;
    for i in 0..5 {
        match env.create(&format!("after-{i}"), "p", OperationOptions::new()) {
            Ok(r) => {
                moved = Some(r);
                break;
            }
            Err(e) => {
                failed += 1;
                assert_eq!(
                    e.kind(),
                    sextant_core::ErrorKind::Transport,
                    "only a pooled connection's close may fail a write: {e}"
                );
                eprintln!("[{}] create {i} failed: {e}", factory.name());
            }
        }
    }
    let r = moved.unwrap_or_else(|| {
        panic!(
            "[{}] writes never moved to East\n{}",
            factory.name(),
            env.proxy.log_text()
        )
    });
    let diag = transcript(r.diagnostics());
    assert!(
        failed <= 1,
        "writes moved to East after at most one ambiguous failure ({failed})\n{diag}"
    );
    assert_eq!(
        served_by(r.diagnostics()).as_deref(),
        Some("East"),
        "{diag}"
    );
    let log = env.proxy.all_requests();
    assert!(
        log.iter().any(|q| q.is_account_read()),
        "the refusal forced an account read\n{}",
        env.proxy.log_text()
    );
    let creates = item_creates(&log);
    assert!(
        creates
            .iter()
            .all(|c| c.region != "West" || c.status.is_none()),
        "West applied nothing\n{}",
        env.proxy.log_text()
    );
    assert_eq!(
        creates.iter().filter(|c| c.status == Some(201)).count(),
        1,
        "exactly one create was applied\n{}",
        env.proxy.log_text()
    );
    // The next write goes to East directly.
    let next = env.must_create("after-next", "p");
    assert_eq!(served_by(next.diagnostics()).as_deref(), Some("East"));
    assert_eq!(operation_attempts(next.diagnostics()).len(), 1);
    env.proxy.set_fault("West", Fault::None);
    env.replays(&factory.name());
}

/// Scenario c: a create whose connection is reset after the proxy forwarded it (so the server
/// applied it). Without opt-in the driver must not retry it and must report a transport error
/// that may have been applied; with `with_non_idempotent_write_retries(true)` it is retried.
pub fn reset_after_forward_is_not_duplicated(factory: &dyn ClientFactory) {
    let _serial = serial();
    let options = base_options()
        .request_timeout(Duration::from_secs(5))
        .build()
        .expect("options");
    let env = Env::start(factory, options);
    env.must_create("warm", "p");
    let name = factory.name();

    // 1. Default: no retry of a write that may have been applied.
    env.proxy.clear_log();
    env.proxy.set_rule(
        "West",
        FaultRule::new(Fault::ResetAfterForward, Scope::Writes).times(1),
    );
    let started = Instant::now();
    let result = env.create("reset-once", "p", OperationOptions::new());
    let elapsed = started.elapsed();
    let log = env.proxy.all_requests();
    let creates = item_creates(&log);
    let log_text = env.proxy.log_text();
    assert_eq!(
        env.proxy.fault("West"),
        Fault::None,
        "the one-shot fault cleared"
    );
    match &result {
        Ok(r) => eprintln!(
            "[{name}] c1. reset after forward: the driver returned {} after {elapsed:?}\n{}",
            r.status(),
            transcript(r.diagnostics())
        ),
        Err(e) => eprintln!(
            "[{name}] c1. reset after forward: the driver returned {:?} error after {elapsed:?}: \
             {e}; transport {:?}; {} operation attempt(s); creates at the proxy: {}",
            e.kind(),
            e.transport_error(),
            operation_attempts(e.diagnostics()).len(),
            creates.len()
        ),
    }
    let e = match result {
        Ok(r) => panic!(
            "[{name}] a create whose connection was reset must fail, got {}\n{}\nproxy log:\n{log_text}",
            r.status(),
            transcript(r.diagnostics())
        ),
        Err(e) => e,
    };
    let diag = transcript(e.diagnostics());
    assert_eq!(
        creates.len(),
        1,
        "[{name}] exactly one create reached the proxy (no retry, not even by the transport)\n{diag}\nproxy log:\n{log_text}"
    );
    assert_eq!(
        (
            creates[0].region.as_str(),
            creates[0].forwarded,
            creates[0].upstream_status
        ),
        ("West", true, Some(201)),
        "the create was applied upstream\n{log_text}"
    );
    assert_eq!(
        e.kind(),
        ErrorKind::Transport,
        "[{name}] a transport error\n{diag}"
    );
    let t = e.transport_error().expect("transport error details");
    assert_ne!(
        t.request_sent,
        RequestSent::NotSent,
        "[{name}] the request was sent: it must not be reported NotSent ({t:?})\n{diag}"
    );
    assert_eq!(
        operation_attempts(e.diagnostics()).len(),
        1,
        "[{name}] the driver did not retry\n{diag}"
    );
    // Applied exactly once: it exists, and creating it again conflicts.
    env.must_read("reset-once", "p");
    match env.create("reset-once", "p", OperationOptions::new()) {
        Err(e) if e.is_conflict() => {}
        Err(e) => panic!("[{name}] re-create: expected 409, got {e}"),
        Ok(r) => panic!(
            "[{name}] re-create: expected 409, got {} (the first create was not applied?)",
            r.status()
        ),
    }

    // 2. Opted in: the same situation is retried; the retry meets its own first attempt.
    env.proxy.clear_log();
    env.proxy.set_rule(
        "West",
        FaultRule::new(Fault::ResetAfterForward, Scope::Writes).times(1),
    );
    let started = Instant::now();
    let result = env.create(
        "reset-opted-in",
        "p",
        OperationOptions::new().with_non_idempotent_write_retries(true),
    );
    let elapsed = started.elapsed();
    let log = env.proxy.all_requests();
    let creates = item_creates(&log);
    let log_text = env.proxy.log_text();
    let reads_back = log
        .iter()
        .filter(|r| r.is_item_read() && r.path.contains("reset-opted-in"))
        .count();
    let (outcome, diag) = match &result {
        Ok(r) => (
            format!("Ok {} body id {}", r.status(), body(r)["id"]),
            transcript(r.diagnostics()),
        ),
        Err(e) => (
            format!(
                "Err {:?} status {:?}: {e}; transport {:?}",
                e.kind(),
                e.status(),
                e.transport_error()
            ),
            transcript(e.diagnostics()),
        ),
    };
    eprintln!(
        "[{name}] c2. reset after forward, opted in to write retries: driver returned {outcome} \
         after {elapsed:?}; creates at the proxy: {:?}; tracking read-backs: {reads_back}\n{diag}",
        creates
            .iter()
            .map(|c| (c.region.clone(), c.upstream_status, c.status))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        creates.len(),
        2,
        "[{name}] opted in, the create is retried once\n{diag}\nproxy log:\n{log_text}"
    );
    assert_eq!(
        creates[0].upstream_status,
        Some(201),
        "the first create was applied\n{log_text}"
    );
    assert_eq!(
        creates[1].status,
        Some(409),
        "the retry meets the first attempt's item\n{log_text}"
    );
    let stamped = creates[0]
        .json_body()
        .and_then(|b| b.get("_trackingId").cloned())
        .is_some();
    // The driver recognises its own earlier success (tracking id) instead of reporting 409.
    match result {
        Ok(r) => {
            assert!(
                r.status() == 201 || r.status() == 200,
                "[{name}] success status\n{diag}"
            );
            assert_eq!(body(&r)["id"], json!("reset-opted-in"), "{diag}");
        }
        Err(e) => panic!(
            "[{name}] opted in: the retried create answered 409 for the driver's own first \
             attempt (tracking id stamped: {stamped}); the driver should recognise it and \
             succeed, but returned {:?} {e}\n{diag}\nproxy log:\n{log_text}",
            e.kind()
        ),
    }
    let stored = body(&env.must_read("reset-opted-in", "p"));
    assert_eq!(stored["id"], json!("reset-opted-in"));
    env.replays(&factory.name());
}

/// Scenario d: the preferred read region answers after 3 s; with a 200 ms hedging threshold a
/// read completes well under 3 s, served by East, and West saw the request too.
pub fn slow_region_is_hedged(factory: &dyn ClientFactory) {
    let _serial = serial();
    let options = base_options()
        .request_timeout(Duration::from_secs(10))
        .hedging(HedgingOptions {
            threshold: HEDGE_THRESHOLD,
            ..HedgingOptions::default()
        })
        .build()
        .expect("options");
    let env = Env::start(factory, options);
    env.must_create("slow", "p");
    let warm = env.must_read("slow", "p");
    assert_eq!(served_by(warm.diagnostics()).as_deref(), Some("West"));
    let name = factory.name();

    env.proxy.clear_log();
    let delay = Duration::from_secs(3);
    env.proxy.set_rule(
        "West",
        FaultRule::new(Fault::Delay(delay), Scope::DataPlane),
    );
    const READS: usize = 10;
    let mut latencies = Vec::new();
    let mut late = Vec::new();
    for i in 0..READS {
        let started = Instant::now();
        let result = env.read("slow", "p");
        let latency = started.elapsed();
        let r = result.unwrap_or_else(|e| {
            panic!(
                "[{name}] hedged read {i} failed: {e} ({:?})\n{}\nproxy log:\n{}",
                e.kind(),
                transcript(e.diagnostics()),
                env.proxy.log_text()
            )
        });
        let diag = transcript(r.diagnostics());
        assert_eq!(r.status(), 200, "{diag}");
        assert_eq!(
            served_by(r.diagnostics()).as_deref(),
            Some("East"),
            "[{name}] read {i} is served by East\n{diag}"
        );
        let winner = r
            .diagnostics()
            .requests()
            .iter()
            .rev()
            .find(|a| a.purpose == Purpose::Operation && a.status == Some(200))
            .map(|a| a.execution_context);
        assert_eq!(
            winner,
            Some(ExecutionContext::Hedging),
            "[{name}] the hedge won\n{diag}"
        );
        assert!(
            latency < delay,
            "[{name}] read {i} did not wait for the slow region ({delay:?}): {latency:?}\n{diag}"
        );
        let overhead = latency.saturating_sub(r.diagnostics().elapsed());
        if overhead > LATE_RETURN {
            late.push((i, latency, overhead, diag));
        }
        latencies.push(latency);
    }
    let west = env.proxy.requests("West");
    let east = env.proxy.requests("East");
    eprintln!(
        "[{name}] d. slow region hedged (West +{delay:?}, threshold {HEDGE_THRESHOLD:?}): read \
         latencies {latencies:?}; {}; returned more than {LATE_RETURN:?} after the outcome \
         was known: {}",
        stats(&latencies),
        late.len()
    );
    let stuck: Vec<_> = late.iter().filter(|l| l.2 > STUCK_RETURN).collect();
    assert!(
        stuck.is_empty(),
        "[{name}] {} of {READS} hedged reads returned to the caller more than {STUCK_RETURN:?} \
         after the driver had their outcome (a lost wake-up); (read, latency, overhead, \
         attempts), first 3: {:#?}",
        stuck.len(),
        &stuck[..stuck.len().min(3)]
    );
    assert_eq!(
        west.iter().filter(|r| r.is_item_read()).count(),
        READS,
        "[{name}] West received every read too\n{}",
        env.proxy.log_text()
    );
    assert_eq!(
        east.iter()
            .filter(|r| r.is_item_read() && r.status == Some(200))
            .count(),
        READS,
        "[{name}] East answered every read\n{}",
        env.proxy.log_text()
    );
    env.replays(&factory.name());
}
