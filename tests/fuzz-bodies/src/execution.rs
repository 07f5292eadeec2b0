//! `execution`: an [`Execution`] driven by arbitrary responses, transport errors, request
//! events, token answers, time jumps and cancellation, checked against the drain contract.
//!
//! The input decodes into a [`Setup`] (account, driver options, operation) and a list of
//! [`Event`]s; [`encode`] is the inverse, used to write seed inputs. An [`Event::Start`] starts
//! another execution on the same driver (up to [`MAX_EXECUTIONS`]), so they share the metadata,
//! token and container leases and the hedge budget. After every event the executions it touched
//! are drained (polled until `Wait` or `Done`). When the events run out, every `Send` is
//! answered with a 200, every token request with a valid token, and time jumps to the earliest
//! `Wait`'s `until`, up to [`TAIL_STEPS`] steps.
//!
//! Checked, per execution: no panic; `Done` within the step cap; a drain at or after the
//! end-to-end deadline ends in `Done`, no `Wait` asks to sleep past it and no attempt outlives
//! it; operation attempts stay within `1 + max_total_retries(regions) + max_hedges`; a `Wait`
//! with nothing in flight and no token outstanding is neither open-ended nor in the past; no
//! attempt id is reused; an `Abort` names an attempt in flight; no attempt is left in flight at
//! `Done` (and no hedge slot once all are done); polling after `Done` returns the same `Done`
//! and nothing else; the diagnostics count every attempt sent and the time elapsed, and both of
//! their JSON forms parse (the Summary within its size cap); a write that is not retry-safe is
//! never sent again once an attempt of it may have been applied (transport failure not proven
//! unsent, timeout, 408/500/503). And per input: two runs take exactly the same actions.
//!
//! With [`Setup::record`], the driver records the run; the recording must survive JSON and
//! [`replay`] must reproduce it.

use std::collections::{BTreeSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};

use super::{ensure, ByteReader, ByteWriter, Violation};
use sextant_core::credential::{ResourceToken, TokenCredential, TokenFuture};
use sextant_core::diagnostics::{CosmosDiagnostics, DiagnosticsOptions, DiagnosticsVerbosity};
use sextant_core::models::{
    AccountReference, ContainerProperties, ContainerReference, DatabaseReference, ItemReference,
    PartitionKey, PartitionKeyDefinition,
};
use sextant_core::options::HedgingOptions;
use sextant_core::regions::CircuitBreakerOptions;
use sextant_core::replay::{replay, Recording};
use sextant_core::{
    AccessToken, Action, AttemptId, CosmosError, CosmosOperation, CosmosResponse, CredentialError,
    Driver, DriverOptions, ErrorKind, Execution, Now, OperationOptions, OutgoingRequest, Purpose,
    RequestEvent, RequestEventKind, RequestSent, Response, TransportError, TransportErrorKind,
};

const T: &str = "execution";

/// Most events decoded from one input.
pub const MAX_EVENTS: usize = 256;
/// Most actions one drain may return before it must reach `Wait` or `Done`.
pub const MAX_DRAIN: usize = 512;
/// Most repetitions of one [`Event::Burst`].
pub const MAX_BURST: usize = 64;
/// Most executions one input starts (the first included).
pub const MAX_EXECUTIONS: usize = 4;
/// Steps allowed after the events run out (each answers one attempt or token, or jumps time).
pub const TAIL_STEPS: usize = 4_000;

const ENDPOINT: &str = "https://fuzz.documents.azure.com:443/";
const KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";
const REGION_NAMES: [&str; 4] = ["West", "East", "North", "South"];
const WALL_START_SECS: u64 = 1_700_000_000;

const MS: fn(u64) -> Duration = Duration::from_millis;

const REQUEST_TIMEOUTS: [Option<u64>; 5] = [None, Some(50), Some(300), Some(2_000), Some(10_000)];
const METADATA_TIMEOUTS: [Option<u64>; 3] = [None, Some(50), Some(1_000)];
const DEADLINES: [Option<u64>; 5] = [None, Some(100), Some(1_000), Some(5_000), Some(30_000)];
const OP_DEADLINES: [Option<u64>; 4] = [None, Some(50), Some(500), Some(3_000)];
const THROTTLE_WAITS: [Option<u64>; 4] = [None, Some(100), Some(2_000), Some(30_000)];
const RETRY_WITH_WAITS: [Option<u64>; 3] = [None, Some(50), Some(1_000)];
const REFRESH_INTERVALS: [Option<u64>; 3] = [None, Some(50), Some(1_000)];
const ADVANCES_MS: [u64; 14] = [
    1, 5, 10, 50, 100, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000,
];
/// Summary diagnostics caps (bytes) the outcome is rendered with: the default, the minimum,
/// odd and large ones.
const SUMMARY_CAPS: [usize; 4] = [8 * 1024, 4 * 1024, 5_000, 64 * 1024];
const TOKEN_EXPIRIES_S: [i64; 6] = [-60, 0, 1, 299, 301, 3_600];

/// Statuses answers pick from (an index byte of 240 or more is followed by a raw `u16`).
pub const STATUSES: [u16; 20] = [
    200, 201, 204, 304, 400, 401, 403, 404, 408, 409, 410, 412, 413, 429, 449, 500, 503, 502, 0,
    599,
];
const RAW: u8 = 240;
/// Sub-statuses answers pick from (an index byte of 240 or more is followed by a raw `u32`).
pub const SUB_STATUSES: [Option<u32>; 12] = [
    None,
    Some(0),
    Some(3),
    Some(1002),
    Some(1007),
    Some(1008),
    Some(1000),
    Some(1024),
    Some(3200),
    Some(5),
    Some(21008),
    Some(1013),
];
const RETRY_AFTERS: [Option<&str>; 14] = [
    None,
    Some("0"),
    Some("1"),
    Some("10"),
    Some("100"),
    Some("1000"),
    Some("5000"),
    Some("60000"),
    Some("abc"),
    Some("1.5"),
    Some("-5"),
    Some("99999999999999"),
    Some("1e400"),
    Some("18446744073709551615"),
];
const SESSION_TOKENS: [&str; 8] = [
    "0:-1#12345",
    "0:1#5#2=7",
    "1:1#5#2=7,2:0#3",
    "0:7",
    "garbage",
    "",
    "0:-1#1#1=2#1=3",
    "2:-1#9",
];
const CHARGES: [&str; 8] = ["1", "2.5", "-1", "NaN", "1e309", "abc", " 3 ", "0"];
const CONTINUATIONS: [&str; 4] = ["", "c1", "c2", "\"{}\""];
const ETAGS: [&str; 3] = ["\"e1\"", "\"e2\"", ""];
const ITEM_COUNTS: [&str; 4] = ["0", "5", "-1", "x"];

const CONTAINER_BODIES: [&str; 7] = [
    r#"{"id":"c","partitionKey":{"paths":["/pk"],"kind":"Hash","version":2}}"#,
    r#"{"id":"c","partitionKey":{"paths":["/a","/b"],"kind":"MultiHash","version":2}}"#,
    r#"{"id":"c","partitionKey":{"paths":["/pk"],"kind":"Hash","version":1}}"#,
    r#"{"id":"c","partitionKey":{"paths":["/pk"],"kind":"Range"}}"#,
    r#"{"id":"c","partitionKey":{"paths":[],"kind":"Hash","version":2}}"#,
    r#"{"id":"c","partitionKey":{"paths":["/pk"],"kind":"Hash","version":7}}"#,
    "{}",
];
const PK_RANGE_BODIES: [&str; 7] = [
    r#"{"PartitionKeyRanges":[{"id":"0","minInclusive":"","maxExclusive":"FF","parents":[]}]}"#,
    r#"{"PartitionKeyRanges":[{"id":"1","minInclusive":"","maxExclusive":"7F","parents":["0"]},{"id":"2","minInclusive":"7F","maxExclusive":"FF","parents":["0"]}]}"#,
    r#"{"PartitionKeyRanges":[{"id":3,"minInclusive":"","maxExclusive":"3F","parents":[0,1]},{"id":4,"minInclusive":"3F","maxExclusive":"7F","parents":[0,1]}]}"#,
    r#"{"PartitionKeyRanges":[{"id":"0","minInclusive":"","maxExclusive":"7F"},{"id":"9","minInclusive":"AA","maxExclusive":"FF"}]}"#,
    r#"{"PartitionKeyRanges":[]}"#,
    r#"{"PartitionKeyRanges":[{"id":"0","minInclusive":"","maxExclusive":"FF","parents":null}],"_count":1}"#,
    "{}",
];
const OPERATION_BODIES: [&str; 6] = [
    r#"{"id":"a"}"#,
    "", // replaced by the body of the last operation attempt (a tracked write's read-back)
    "{}",
    r#"{"id":"a","_trackingId":"not-ours"}"#,
    r#"{"Documents":[],"_count":0}"#,
    "<html>",
];
const WEIRD_ACCOUNT: &str = r#"{"writableLocations":[{"name":"West","databaseAccountEndpoint":"http://[::1]:8081/"}],"readableLocations":[{"name":"East","databaseAccountEndpoint":"https://a-east.example:443"},{"databaseAccountEndpoint":"ftp://x/"},{"name":"North"}],"enableMultipleWriteLocations":true}"#;

/// What an account, its driver and the operation look like. Every field is an index into a
/// small table of valid choices, so any input decodes to a driver that starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Setup {
    /// 0 master key, 1 Entra ID token credential, 2 resource tokens.
    pub credential: u8,
    /// Regions the account advertises in its natural body (0–4).
    pub regions: u8,
    /// Multi-region writes.
    pub multi_write: bool,
    /// Per-partition automatic failover.
    pub ppaf: bool,
    /// Index into the request timeouts.
    pub request_timeout: u8,
    /// Index into the metadata request timeouts.
    pub metadata_timeout: u8,
    /// Index into the driver's end-to-end timeouts.
    pub driver_deadline: u8,
    /// 429 retries (0–3), or the default (4).
    pub throttle_retries: u8,
    /// Failover retries (0–3), or the default (4).
    pub failover_retries: u8,
    /// Index into the 429 wait caps.
    pub throttle_wait: u8,
    /// Index into the 449 wait caps.
    pub retry_with_wait: u8,
    /// 0 default hedging, 1 disabled, 2 fast (10 ms / 5 ms), 3 fast and for multi-write writes.
    pub hedging: u8,
    /// Hedges per operation (0–3) when hedging is fast.
    pub max_hedges: u8,
    /// Partition routing on.
    pub partition_routing: bool,
    /// 0 default circuit breaker, 1 disabled, 2 opens after one failure for 100 ms.
    pub circuit_breaker: u8,
    /// Retry writes that may have been applied (driver level).
    pub retry_writes: bool,
    /// Index into the account refresh intervals (also the forced refresh interval).
    pub refresh: u8,
    /// 0 no preference, 1 East, 2 North then West.
    pub preferred: u8,
    /// The operation (see [`operation`]).
    pub operation: u8,
    /// Index into the operation's end-to-end timeouts.
    pub op_deadline: u8,
    /// 0 inherit hedging, 1 on, 2 off.
    pub op_hedging: u8,
    /// 0 none, 1 West, 2 every region.
    pub excluded: u8,
    /// The driver's RNG seed.
    pub seed: u16,
    /// Index into the Summary diagnostics size caps the outcome is rendered with.
    pub summary_cap: u8,
    /// Record the driver's exchange, then check the recording survives JSON and replays.
    pub record: bool,
}

/// How many operations [`Setup::operation`] chooses from.
pub const OPERATIONS: u8 = 13;

/// A response to an attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// Which attempt: an index into the attempts in flight (modulo their number).
    pub attempt: u8,
    /// HTTP status.
    pub status: u16,
    /// `x-ms-substatus`.
    pub sub_status: Option<u32>,
    /// Index into the `x-ms-retry-after-ms` values (0 = none).
    pub retry_after: u8,
    /// Index into the session tokens.
    pub session: Option<u8>,
    /// Index into the request charges.
    pub charge: Option<u8>,
    /// Index into the continuations.
    pub continuation: Option<u8>,
    /// Index into the etags.
    pub etag: Option<u8>,
    /// Index into the item counts.
    pub item_count: Option<u8>,
    /// One more header, raw (skipped when the name or value is invalid).
    pub extra: Option<(Vec<u8>, Vec<u8>)>,
    /// 0–6: a body chosen by the attempt's purpose; 7: `raw_body`.
    pub body: u8,
    /// The body when `body` is 7.
    pub raw_body: Vec<u8>,
}

/// One input to the execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Answer an attempt in flight.
    Respond(Answer),
    /// Fail an attempt in flight at the transport level.
    Fail {
        /// Index into the attempts in flight.
        attempt: u8,
        /// Index into the transport error kinds.
        kind: u8,
        /// 0 sent, 1 not sent, 2 unknown.
        sent: u8,
    },
    /// Report a lifecycle event of an attempt in flight.
    Observe {
        /// Index into the attempts in flight.
        attempt: u8,
        /// Index into the request event kinds.
        kind: u8,
    },
    /// Answer the oldest outstanding token request (ignored when there is none).
    Token {
        /// A token (else an error).
        ok: bool,
        /// Index into the token lifetimes.
        expiry: u8,
    },
    /// Move time forward.
    Advance {
        /// 0: `ADVANCES_MS[amount]`; 1: to the last `Wait`'s `until`; 2: `amount` ms;
        /// 3: the wall clock only, by `amount` s (forward when even, else backward);
        /// 4: the wall clock only, to an extreme (`amount % 4`: 1 s before the epoch, the
        /// epoch, the last second of year 9999, the first of year 10000).
        how: u8,
        /// See `how`.
        amount: u16,
    },
    /// Cancel one execution.
    Cancel {
        /// Index into the executions started (modulo their number).
        which: u8,
    },
    /// Start another execution on the same driver (at most [`MAX_EXECUTIONS`] in all), so
    /// they share metadata, token and container leases and the hedge budget.
    Start {
        /// The operation, as [`Setup::operation`].
        operation: u8,
    },
    /// The same answer up to `times` times, each to an attempt in flight (or, when there is
    /// none, after jumping to the earliest `Wait`), moving time by `ADVANCES_MS[step]` after
    /// each: long retry chains from a few input bytes.
    Burst {
        /// Repetitions (at most [`MAX_BURST`]).
        times: u8,
        /// Index into the time steps.
        step: u8,
        /// The answer.
        answer: Answer,
    },
    /// Answer attempt id `id`, whatever it is (unknown, aborted, answered or in flight).
    Late {
        /// The raw attempt id.
        id: u8,
        /// The answer.
        answer: Answer,
    },
}

/// What one run did (for the replay test's summary).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionReport {
    /// Events applied.
    pub events: usize,
    /// Executions started.
    pub executions: usize,
    /// Polls made.
    pub polls: usize,
    /// Attempts sent (metadata included).
    pub sends: u64,
    /// Operation attempts sent (hedges included).
    pub operation_sends: u64,
    /// The bound they were checked against.
    pub operation_bound: u64,
    /// `Some(true)` when the operation succeeded, `Some(false)` when it failed.
    pub succeeded: Option<bool>,
    /// How the operation failed.
    pub error_kind: Option<ErrorKind>,
    /// The error's message.
    pub error: Option<String>,
    /// Virtual time from start to `Done`.
    pub elapsed: Duration,
    /// `Wait`s whose `until` was not after `now` while attempts were in flight (allowed, but
    /// a transport would wake immediately).
    pub waits_not_in_future: usize,
    /// Entries of the recording that were replayed (0 without `Setup::record`).
    pub replayed_entries: usize,
}

/// Decodes `data` (see the module docs) and runs it. `base` is the virtual clock's start.
/// Runs it twice: both runs must take the same actions (the core is deterministic).
pub fn execution(data: &[u8], base: Instant) -> Result<ExecutionReport, Violation> {
    let (setup, events) = decode(data);
    let (report, first) = run_with_fingerprint(&setup, &events, base)?;
    let (again, second) = run_with_fingerprint(&setup, &events, base)?;
    ensure!(
        T,
        first == second && report == again,
        "the same input gave different actions: {report:?} then {again:?}"
    );
    Ok(report)
}

/// Decodes an input into a setup and events. Total: any bytes decode.
pub fn decode(data: &[u8]) -> (Setup, Vec<Event>) {
    let mut r = ByteReader::new(data);
    let setup = Setup {
        credential: r.below(3) as u8,
        regions: r.below(5) as u8,
        multi_write: r.bool(),
        ppaf: r.bool(),
        request_timeout: r.below(REQUEST_TIMEOUTS.len()) as u8,
        metadata_timeout: r.below(METADATA_TIMEOUTS.len()) as u8,
        driver_deadline: r.below(DEADLINES.len()) as u8,
        throttle_retries: r.below(5) as u8,
        failover_retries: r.below(5) as u8,
        throttle_wait: r.below(THROTTLE_WAITS.len()) as u8,
        retry_with_wait: r.below(RETRY_WITH_WAITS.len()) as u8,
        hedging: r.below(4) as u8,
        max_hedges: r.below(4) as u8,
        partition_routing: r.bool(),
        circuit_breaker: r.below(3) as u8,
        retry_writes: r.bool(),
        refresh: r.below(REFRESH_INTERVALS.len()) as u8,
        preferred: r.below(3) as u8,
        operation: r.below(usize::from(OPERATIONS)) as u8,
        op_deadline: r.below(OP_DEADLINES.len()) as u8,
        op_hedging: r.below(3) as u8,
        excluded: r.below(3) as u8,
        seed: r.u16(),
        summary_cap: r.below(SUMMARY_CAPS.len()) as u8,
        record: r.bool(),
    };
    let mut events = Vec::new();
    while !r.is_empty() && events.len() < MAX_EVENTS {
        let event = match r.below(20) {
            0..=5 | 15 => Event::Respond(decode_answer(&mut r)),
            6 | 7 => Event::Fail {
                attempt: r.u8(),
                kind: r.below(8) as u8,
                sent: r.below(3) as u8,
            },
            8 => Event::Observe {
                attempt: r.u8(),
                kind: r.below(4) as u8,
            },
            9 => Event::Token {
                ok: r.bool(),
                expiry: r.below(TOKEN_EXPIRIES_S.len()) as u8,
            },
            10..=12 => {
                let how = r.below(5) as u8;
                let amount = if how == 0 {
                    r.below(ADVANCES_MS.len()) as u16
                } else {
                    r.u16()
                };
                Event::Advance { how, amount }
            }
            13 => Event::Cancel { which: r.u8() },
            16 | 17 => Event::Start {
                operation: r.below(usize::from(OPERATIONS)) as u8,
            },
            18 => Event::Burst {
                times: r.below(MAX_BURST + 1) as u8,
                step: r.below(ADVANCES_MS.len()) as u8,
                answer: decode_answer(&mut r),
            },
            _ => Event::Late {
                id: r.u8(),
                answer: decode_answer(&mut r),
            },
        };
        events.push(event);
    }
    (setup, events)
}

fn decode_answer(r: &mut ByteReader<'_>) -> Answer {
    let attempt = r.u8();
    let s = r.u8();
    let status = if s >= RAW {
        r.u16()
    } else {
        STATUSES[usize::from(s) % STATUSES.len()]
    };
    let s = r.u8();
    let sub_status = if s >= RAW {
        Some(r.u32())
    } else {
        SUB_STATUSES[usize::from(s) % SUB_STATUSES.len()]
    };
    let retry_after = r.below(RETRY_AFTERS.len()) as u8;
    let flags = r.u8();
    let mut opt = |bit: u8, n: usize| (flags & (1 << bit) != 0).then(|| r.below(n) as u8);
    let session = opt(0, SESSION_TOKENS.len());
    let charge = opt(1, CHARGES.len());
    let continuation = opt(2, CONTINUATIONS.len());
    let etag = opt(3, ETAGS.len());
    let item_count = opt(4, ITEM_COUNTS.len());
    let extra =
        (flags & (1 << 5) != 0).then(|| (r.len_prefixed(24).to_vec(), r.len_prefixed(48).to_vec()));
    let body = r.below(8) as u8;
    let raw_body = if body == 7 {
        r.len_prefixed(255).to_vec()
    } else {
        Vec::new()
    };
    Answer {
        attempt,
        status,
        sub_status,
        retry_after,
        session,
        charge,
        continuation,
        etag,
        item_count,
        extra,
        body,
        raw_body,
    }
}

/// Encodes a setup and events so that [`decode`] returns them (for seed inputs).
pub fn encode(setup: &Setup, events: &[Event]) -> Vec<u8> {
    let mut w = ByteWriter::new();
    w.u8(setup.credential)
        .u8(setup.regions)
        .bool(setup.multi_write)
        .bool(setup.ppaf)
        .u8(setup.request_timeout)
        .u8(setup.metadata_timeout)
        .u8(setup.driver_deadline)
        .u8(setup.throttle_retries)
        .u8(setup.failover_retries)
        .u8(setup.throttle_wait)
        .u8(setup.retry_with_wait)
        .u8(setup.hedging)
        .u8(setup.max_hedges)
        .bool(setup.partition_routing)
        .u8(setup.circuit_breaker)
        .bool(setup.retry_writes)
        .u8(setup.refresh)
        .u8(setup.preferred)
        .u8(setup.operation)
        .u8(setup.op_deadline)
        .u8(setup.op_hedging)
        .u8(setup.excluded)
        .u16(setup.seed)
        .u8(setup.summary_cap)
        .bool(setup.record);
    for e in events {
        match e {
            Event::Respond(a) => encode_answer(w.u8(0), a),
            Event::Fail {
                attempt,
                kind,
                sent,
            } => {
                w.u8(6).u8(*attempt).u8(*kind).u8(*sent);
            }
            Event::Observe { attempt, kind } => {
                w.u8(8).u8(*attempt).u8(*kind);
            }
            Event::Token { ok, expiry } => {
                w.u8(9).bool(*ok).u8(*expiry);
            }
            Event::Advance { how, amount } => {
                w.u8(10).u8(*how);
                if *how == 0 {
                    w.u8(u8::try_from(*amount).unwrap_or(0));
                } else {
                    w.u16(*amount);
                }
            }
            Event::Cancel { which } => {
                w.u8(13).u8(*which);
            }
            Event::Start { operation } => {
                w.u8(16).u8(*operation);
            }
            Event::Burst {
                times,
                step,
                answer,
            } => encode_answer(w.u8(18).u8(*times).u8(*step), answer),
            Event::Late { id, answer } => encode_answer(w.u8(14).u8(*id), answer),
        }
    }
    w.finish()
}

fn encode_answer(w: &mut ByteWriter, a: &Answer) {
    w.u8(a.attempt);
    match STATUSES.iter().position(|s| *s == a.status) {
        Some(i) => w.u8(i as u8),
        None => w.u8(RAW).u16(a.status),
    };
    match SUB_STATUSES.iter().position(|s| *s == a.sub_status) {
        Some(i) => w.u8(i as u8),
        None => w.u8(RAW).u32(a.sub_status.unwrap_or_default()),
    };
    w.u8(a.retry_after);
    let opts = [a.session, a.charge, a.continuation, a.etag, a.item_count];
    let mut flags = 0u8;
    for (bit, o) in opts.iter().enumerate() {
        if o.is_some() {
            flags |= 1 << bit;
        }
    }
    if a.extra.is_some() {
        flags |= 1 << 5;
    }
    w.u8(flags);
    for o in opts.iter().flatten() {
        w.u8(*o);
    }
    if let Some((name, value)) = &a.extra {
        w.len_prefixed(name).len_prefixed(value);
    }
    w.u8(a.body);
    if a.body == 7 {
        w.len_prefixed(&a.raw_body);
    }
}

#[derive(Debug)]
struct NoCredential;

impl TokenCredential for NoCredential {
    fn get_token<'a>(&'a self, _scopes: &'a [String]) -> TokenFuture<'a> {
        Box::pin(std::future::ready(Err(CredentialError::new(
            "the fuzz harness answers AcquireToken itself",
        ))))
    }
}

/// The account body with the first `regions` regions.
pub fn account_body(regions: u8, multi_write: bool, ppaf: bool) -> String {
    let locs: Vec<String> = REGION_NAMES
        .iter()
        .take(usize::from(regions))
        .map(|r| {
            format!(
                r#"{{"name":"{r}","databaseAccountEndpoint":"https://a-{}.example:443/"}}"#,
                r.to_lowercase()
            )
        })
        .collect();
    let writable = if multi_write {
        locs.join(",")
    } else {
        locs.first().cloned().unwrap_or_default()
    };
    format!(
        r#"{{"id":"fuzz","writableLocations":[{writable}],"readableLocations":[{}],"enableMultipleWriteLocations":{multi_write},"userConsistencyPolicy":{{"defaultConsistencyLevel":"Session"}},"enablePerPartitionFailoverBehavior":{ppaf}}}"#,
        locs.join(",")
    )
}

fn account(setup: &Setup) -> Result<AccountReference, Violation> {
    let account = match setup.credential {
        1 => AccountReference::with_token_credential(ENDPOINT, Arc::new(NoCredential)),
        2 => AccountReference::with_resource_tokens(
            ENDPOINT,
            vec![ResourceToken {
                resource_link: "dbs/db/colls/c".into(),
                token: "type=resource&ver=1.0&sig=c2lnbmF0dXJl".into(),
            }],
        ),
        _ => AccountReference::with_master_key(ENDPOINT, KEY),
    };
    account.map_err(|e| Violation::new(T, format!("the fuzz account is rejected: {e}")))
}

fn pick<T: Copy + Default>(table: &[T], i: u8) -> T {
    table.get(usize::from(i)).copied().unwrap_or_default()
}

fn driver_options(setup: &Setup) -> Result<DriverOptions, Violation> {
    let mut b = DriverOptions::builder();
    if let Some(ms) = pick(&REQUEST_TIMEOUTS, setup.request_timeout) {
        b = b.request_timeout(MS(ms));
    }
    if let Some(ms) = pick(&METADATA_TIMEOUTS, setup.metadata_timeout) {
        b = b.metadata_request_timeout(MS(ms));
    }
    if let Some(ms) = pick(&DEADLINES, setup.driver_deadline) {
        b = b.end_to_end_timeout(MS(ms));
    }
    if setup.throttle_retries < 4 {
        b = b.max_throttle_retries(u32::from(setup.throttle_retries));
    }
    if setup.failover_retries < 4 {
        b = b.max_failover_retries(u32::from(setup.failover_retries));
    }
    if let Some(ms) = pick(&THROTTLE_WAITS, setup.throttle_wait) {
        b = b.max_throttle_wait(MS(ms));
    }
    if let Some(ms) = pick(&RETRY_WITH_WAITS, setup.retry_with_wait) {
        b = b.max_retry_with_wait(MS(ms));
    }
    b = match setup.hedging {
        1 => b.hedging(HedgingOptions::disabled()),
        2 | 3 => b.hedging(HedgingOptions {
            enabled: true,
            writes_on_multi_write: setup.hedging == 3,
            threshold: MS(10),
            step: MS(5),
            max_hedges_per_operation: u32::from(setup.max_hedges),
            max_concurrent_hedges: 2,
        }),
        _ => b,
    };
    b = b.partition_routing(setup.partition_routing);
    b = match setup.circuit_breaker {
        1 => b.circuit_breaker(CircuitBreakerOptions {
            enabled: false,
            ..Default::default()
        }),
        2 => b.circuit_breaker(CircuitBreakerOptions {
            enabled: true,
            read_failure_threshold: 1,
            write_failure_threshold: 1,
            failure_window: MS(1_000),
            hold: MS(100),
        }),
        _ => b,
    };
    b = b.retry_non_idempotent_writes(setup.retry_writes);
    if let Some(ms) = pick(&REFRESH_INTERVALS, setup.refresh) {
        b = b
            .account_refresh_interval(MS(ms))
            .min_forced_refresh_interval(MS(ms));
    }
    b = match setup.preferred {
        1 => b.preferred_regions(["East"]),
        2 => b.preferred_regions(["North", "West"]),
        _ => b,
    };
    b.build()
        .map_err(|e| Violation::new(T, format!("the fuzz options are rejected: {e}")))
}

fn max_hedges(setup: &Setup) -> u64 {
    match setup.hedging {
        1 => 0,
        2 | 3 => u64::from(setup.max_hedges),
        _ => u64::from(sextant_core::options::hedging::DEFAULT_MAX_HEDGES_PER_OPERATION),
    }
}

/// The operation [`Setup::operation`] names, with its options.
pub fn operation(
    setup: &Setup,
    operation: u8,
    account: &AccountReference,
) -> (CosmosOperation, OperationOptions) {
    let container = ContainerReference::from_name(account.clone(), "db", "c");
    let item = ItemReference::in_container(&container, "a");
    let database = DatabaseReference::from_name(account.clone(), "db");
    let pk = PartitionKey::from("p");
    let body = Bytes::from_static(br#"{"id":"a","pk":"p"}"#);
    let mut opts = OperationOptions::new();
    let op = match operation {
        0 => CosmosOperation::read(item).with_partition_key(pk),
        1 => {
            let hierarchical = PartitionKey::hierarchical(["p".into(), 1.into()])
                .unwrap_or_else(|_| PartitionKey::from("p"));
            CosmosOperation::read(item).with_partition_key(hierarchical)
        }
        2 => CosmosOperation::create(container)
            .with_partition_key(pk)
            .with_body(body),
        3 => CosmosOperation::replace(item)
            .with_partition_key(pk)
            .with_body(body),
        4 => {
            opts = opts.with_if_match("\"e1\"");
            CosmosOperation::replace(item)
                .with_partition_key(pk)
                .with_body(body)
        }
        5 => CosmosOperation::upsert(container)
            .with_partition_key(pk)
            .with_body(body),
        6 => CosmosOperation::delete(item).with_partition_key(pk),
        7 => {
            opts = opts.with_non_idempotent_write_retries(true);
            CosmosOperation::create(container)
                .with_partition_key(pk)
                .with_body(body)
        }
        8 => {
            opts = opts.with_non_idempotent_write_retries(true);
            CosmosOperation::replace(item)
                .with_partition_key(pk)
                .with_body(body)
        }
        9 => CosmosOperation::read_all_items(container),
        10 => CosmosOperation::read_database(database),
        11 => CosmosOperation::create_container(
            database,
            &ContainerProperties::new("c2", PartitionKeyDefinition::hash("/pk")),
        ),
        _ => {
            opts = opts.with_session_token("0:-1#5");
            CosmosOperation::read(item).with_partition_key(pk)
        }
    };
    if let Some(ms) = pick(&OP_DEADLINES, setup.op_deadline) {
        opts = opts.with_end_to_end_timeout(MS(ms));
    }
    match setup.op_hedging {
        1 => opts = opts.with_hedging(true),
        2 => opts = opts.with_hedging(false),
        _ => {}
    }
    match setup.excluded {
        1 => opts = opts.with_excluded_regions(["West"]),
        2 => opts = opts.with_excluded_regions(REGION_NAMES),
        _ => {}
    }
    (op, opts)
}

#[derive(Debug)]
struct Outstanding {
    exec: usize,
    id: AttemptId,
    purpose: Purpose,
    /// A `ResponseHeadersReceived` event was reported: the request was certainly sent.
    headers_seen: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Wait(Option<Instant>),
    Done,
}

#[derive(Debug, Clone, PartialEq, Hash)]
enum DoneSummary {
    Ok(u16),
    Err(ErrorKind, Option<u16>, Option<u32>, String),
}

fn summarize(result: &Result<CosmosResponse, CosmosError>) -> DoneSummary {
    match result {
        Ok(r) => DoneSummary::Ok(r.status()),
        Err(e) => DoneSummary::Err(e.kind(), e.status(), e.sub_status(), e.message().to_owned()),
    }
}

/// One execution and what the transport knows about it.
struct Exec {
    exec: Execution,
    started: Instant,
    deadline: Option<Instant>,
    last: Last,
    done: Option<(Instant, DoneSummary)>,
    sends: u64,
    operation_sends: u64,
    /// A write that must never be replayed once it may have been applied (not conditional,
    /// not opted in to non-idempotent retries, not hedged).
    non_replayable: bool,
    /// An operation attempt whose outcome leaves open whether the service applied it.
    maybe_applied: Option<AttemptId>,
}

/// The harness: the transport side of the drain contract, with the invariants.
struct Harness<'s> {
    setup: &'s Setup,
    account: AccountReference,
    driver: Driver,
    now: Now,
    execs: Vec<Exec>,
    outstanding: Vec<Outstanding>,
    sent_ids: BTreeSet<u64>,
    /// Token requests not answered yet, oldest first, by execution.
    token_requests: VecDeque<usize>,
    report: ExecutionReport,
    max_regions: usize,
    /// The body of the last operation attempt sent (echoed to answer a tracked write's check).
    last_operation_body: Bytes,
    /// Every action, hashed in order: two runs of one input must agree (determinism).
    fingerprint: DefaultHasher,
    /// The virtual clock's start (replays of the recording start there too).
    base: Instant,
}

/// Runs a decoded input against a fresh driver whose virtual clock starts at `base`.
pub fn run(setup: &Setup, events: &[Event], base: Instant) -> Result<ExecutionReport, Violation> {
    run_with_fingerprint(setup, events, base).map(|(report, _)| report)
}

fn run_with_fingerprint(
    setup: &Setup,
    events: &[Event],
    base: Instant,
) -> Result<(ExecutionReport, u64), Violation> {
    let account = account(setup)?;
    let options = driver_options(setup)?;
    let now = Now::new(
        base,
        SystemTime::UNIX_EPOCH + Duration::from_secs(WALL_START_SECS),
    );
    let mut driver = Driver::new(account.clone(), options, u64::from(setup.seed), now)
        .map_err(|e| Violation::new(T, format!("Driver::new failed: {e}")))?;
    if setup.record {
        driver.start_recording();
    }
    let mut h = Harness {
        setup,
        account,
        driver,
        now,
        execs: Vec::new(),
        outstanding: Vec::new(),
        sent_ids: BTreeSet::new(),
        token_requests: VecDeque::new(),
        report: ExecutionReport::default(),
        max_regions: 1,
        last_operation_body: Bytes::new(),
        fingerprint: DefaultHasher::new(),
        base,
    };
    h.start(setup.operation)?;
    for event in events {
        h.apply(event)?;
        h.report.events += 1;
    }
    h.tail()?;
    h.finish()
}

impl Harness<'_> {
    fn start(&mut self, operation_index: u8) -> Result<(), Violation> {
        if self.execs.len() >= MAX_EXECUTIONS {
            return Ok(());
        }
        let (op, opts) = operation(self.setup, operation_index, &self.account);
        let exec = self.driver.start(op, opts, self.now);
        self.execs.push(Exec {
            deadline: exec.deadline(),
            exec,
            started: self.now.mono,
            last: Last::Wait(None),
            done: None,
            sends: 0,
            operation_sends: 0,
            non_replayable: matches!(operation_index, 2 | 3 | 5 | 6 | 11)
                && !self.setup.retry_writes
                && self.setup.hedging != 3,
            maybe_applied: None,
        });
        self.report.executions += 1;
        self.drain(self.execs.len() - 1)
    }

    /// Removes and returns the attempt at `index` (modulo the attempts in flight).
    fn take(&mut self, index: u8) -> Option<Outstanding> {
        if self.outstanding.is_empty() {
            return None;
        }
        let i = usize::from(index) % self.outstanding.len();
        Some(self.outstanding.remove(i))
    }

    fn apply(&mut self, event: &Event) -> Result<(), Violation> {
        match event {
            Event::Respond(a) => {
                if let Some(o) = self.take(a.attempt) {
                    self.note_status(&o, a.status);
                    let resp = self.response(a, o.purpose);
                    if let Some(e) = self.execs.get_mut(o.exec) {
                        e.exec
                            .handle_response(&mut self.driver, o.id, resp, self.now);
                    }
                    return self.drain(o.exec);
                }
            }
            Event::Late { id, answer } => {
                let id = AttemptId(u64::from(*id));
                let owner = self
                    .outstanding
                    .iter()
                    .position(|o| o.id == id)
                    .map(|i| self.outstanding.remove(i));
                if let Some(o) = &owner {
                    self.note_status(o, answer.status);
                }
                let purpose = owner.as_ref().map_or(Purpose::Operation, |o| o.purpose);
                let owner = owner.map(|o| o.exec);
                let resp = self.response(answer, purpose);
                // An unknown id goes to every execution; each must ignore it.
                for i in 0..self.execs.len() {
                    if owner.is_none_or(|o| o == i) {
                        self.execs[i].exec.handle_response(
                            &mut self.driver,
                            id,
                            resp.clone(),
                            self.now,
                        );
                        self.drain(i)?;
                    }
                }
            }
            Event::Fail {
                attempt,
                kind,
                sent,
            } => {
                if let Some(o) = self.take(*attempt) {
                    let kind = [
                        TransportErrorKind::Dns,
                        TransportErrorKind::Connect,
                        TransportErrorKind::Tls,
                        TransportErrorKind::Timeout,
                        TransportErrorKind::Io,
                        TransportErrorKind::Protocol,
                        TransportErrorKind::ResponseTooLarge,
                        TransportErrorKind::Other,
                    ]
                    .get(usize::from(*kind))
                    .copied()
                    .unwrap_or(TransportErrorKind::Other);
                    let sent = match sent {
                        0 => RequestSent::Sent,
                        1 => RequestSent::NotSent,
                        _ => RequestSent::Unknown,
                    };
                    let effective = if o.headers_seen {
                        RequestSent::Sent
                    } else {
                        sent
                    };
                    if effective != RequestSent::NotSent {
                        self.note_maybe_applied(&o);
                    }
                    let e = TransportError::new(kind, sent, "fuzzed transport failure");
                    if let Some(x) = self.execs.get_mut(o.exec) {
                        x.exec
                            .handle_transport_error(&mut self.driver, o.id, e, self.now);
                    }
                    return self.drain(o.exec);
                }
            }
            Event::Observe { attempt, kind } => {
                if !self.outstanding.is_empty() {
                    let i = usize::from(*attempt) % self.outstanding.len();
                    let (exec, id) = (self.outstanding[i].exec, self.outstanding[i].id);
                    if *kind == 1 {
                        self.outstanding[i].headers_seen = true;
                    }
                    let kind = match kind {
                        0 => RequestEventKind::TransportStart,
                        1 => RequestEventKind::ResponseHeadersReceived,
                        2 => RequestEventKind::TransportComplete,
                        _ => RequestEventKind::TransportFailed,
                    };
                    if let Some(x) = self.execs.get_mut(exec) {
                        x.exec.handle_event(
                            &mut self.driver,
                            id,
                            RequestEvent::new(kind),
                            self.now,
                        );
                    }
                    return self.drain(exec);
                }
            }
            Event::Token { ok, expiry } => {
                let token = if *ok {
                    let secs = pick(&TOKEN_EXPIRIES_S, *expiry);
                    let wall = if secs >= 0 {
                        self.now.wall + Duration::from_secs(secs.unsigned_abs())
                    } else {
                        self.now.wall - Duration::from_secs(secs.unsigned_abs())
                    };
                    Ok(AccessToken {
                        token: "fuzz-token".into(),
                        expires_on: wall,
                    })
                } else {
                    Err(CredentialError::new("fuzzed credential failure"))
                };
                return self.answer_token(token);
            }
            Event::Advance { how, amount } => {
                match how {
                    0 => self.advance(MS(pick(&ADVANCES_MS, u8::try_from(*amount).unwrap_or(0)))),
                    1 => {
                        if let Some(until) = self.next_wake() {
                            self.advance(until.saturating_duration_since(self.now.mono));
                        }
                    }
                    2 => self.advance(MS(u64::from(*amount))),
                    3 => {
                        let by = Duration::from_secs(u64::from(*amount / 2));
                        let moved = if amount % 2 == 0 {
                            self.now.wall.checked_add(by)
                        } else {
                            self.now.wall.checked_sub(by)
                        };
                        self.now.wall = moved.unwrap_or(self.now.wall);
                    }
                    _ => {
                        // A badly set clock: the epoch's edges and the end of year 9999.
                        let epoch = SystemTime::UNIX_EPOCH;
                        let extreme = match amount % 4 {
                            0 => epoch.checked_sub(Duration::from_secs(1)),
                            1 => Some(epoch),
                            2 => epoch.checked_add(Duration::from_secs(253_402_300_799)),
                            _ => epoch.checked_add(Duration::from_secs(253_402_300_800)),
                        };
                        self.now.wall = extreme.unwrap_or(self.now.wall);
                    }
                }
                return self.drain_all();
            }
            Event::Cancel { which } => {
                if !self.execs.is_empty() {
                    let i = usize::from(*which) % self.execs.len();
                    self.execs[i].exec.cancel(&mut self.driver, self.now);
                    return self.drain(i);
                }
            }
            Event::Start { operation } => return self.start(*operation),
            Event::Burst {
                times,
                step,
                answer,
            } => {
                for _ in 0..*times {
                    match self.take(answer.attempt) {
                        Some(o) => {
                            self.note_status(&o, answer.status);
                            let resp = self.response(answer, o.purpose);
                            if let Some(x) = self.execs.get_mut(o.exec) {
                                x.exec
                                    .handle_response(&mut self.driver, o.id, resp, self.now);
                            }
                            self.drain(o.exec)?;
                        }
                        None => {
                            let Some(until) = self.next_wake() else { break };
                            self.advance(until.saturating_duration_since(self.now.mono));
                        }
                    }
                    self.advance(MS(pick(&ADVANCES_MS, *step)));
                    self.drain_all()?;
                }
            }
        }
        Ok(())
    }

    /// Answers the oldest token request (nothing when there is none). A request whose
    /// execution has finished is answered on the driver, as transports do.
    fn answer_token(
        &mut self,
        token: Result<AccessToken, CredentialError>,
    ) -> Result<(), Violation> {
        let Some(i) = self.token_requests.pop_front() else {
            return Ok(());
        };
        match self.execs.get_mut(i) {
            Some(x) if !x.exec.is_done() => {
                x.exec.handle_token(&mut self.driver, token, self.now);
                self.drain(i)
            }
            _ => {
                let _ = self.driver.handle_token(token, self.now);
                self.drain_all()
            }
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now = self.now.advanced(by);
    }

    /// The earliest `until` of the executions still running.
    fn next_wake(&self) -> Option<Instant> {
        self.execs
            .iter()
            .filter_map(|x| match x.last {
                Last::Wait(until) => until,
                Last::Done => None,
            })
            .min()
    }

    fn response(&self, a: &Answer, purpose: Purpose) -> Response {
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.append(HeaderName::from_static(name), v);
            }
        };
        if let Some(s) = a.sub_status {
            put("x-ms-substatus", &s.to_string());
        }
        if let Some(v) = pick(&RETRY_AFTERS, a.retry_after) {
            put("x-ms-retry-after-ms", v);
        }
        let choose = |table: &[&'static str], i: Option<u8>| {
            i.and_then(|i| table.get(usize::from(i)).copied())
        };
        if let Some(v) = choose(&SESSION_TOKENS, a.session) {
            put("x-ms-session-token", v);
        }
        if let Some(v) = choose(&CHARGES, a.charge) {
            put("x-ms-request-charge", v);
        }
        if let Some(v) = choose(&CONTINUATIONS, a.continuation) {
            put("x-ms-continuation", v);
        }
        if let Some(v) = choose(&ETAGS, a.etag) {
            put("etag", v);
        }
        if let Some(v) = choose(&ITEM_COUNTS, a.item_count) {
            put("x-ms-item-count", v);
        }
        if let Some((name, value)) = &a.extra {
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
                headers.append(n, v);
            }
        }
        let body = if a.body == 7 {
            Bytes::from(a.raw_body.clone())
        } else {
            self.body_for(purpose, a.body)
        };
        Response {
            status: a.status,
            headers,
            body,
        }
    }

    fn body_for(&self, purpose: Purpose, choice: u8) -> Bytes {
        let s = self.setup;
        let i = usize::from(choice);
        match purpose {
            Purpose::AccountRead => Bytes::from(match choice {
                0 => account_body(s.regions, s.multi_write, s.ppaf),
                1 => account_body((s.regions + 2) % 5, !s.multi_write, s.ppaf),
                2 => account_body(4, true, !s.ppaf),
                3 => "{}".to_owned(),
                4 => WEIRD_ACCOUNT.to_owned(),
                5 => "<html>".to_owned(),
                _ => String::new(),
            }),
            Purpose::ContainerRead => {
                Bytes::from_static(CONTAINER_BODIES.get(i).unwrap_or(&"").as_bytes())
            }
            Purpose::PkRangeRead => {
                Bytes::from_static(PK_RANGE_BODIES.get(i).unwrap_or(&"").as_bytes())
            }
            _ if choice == 1 => self.last_operation_body.clone(),
            _ => Bytes::from_static(OPERATION_BODIES.get(i).unwrap_or(&"").as_bytes()),
        }
    }

    fn observe_regions(&mut self) {
        if let Some(p) = self.driver.account_properties() {
            let n = p.readable_regions.len().max(p.writable_regions.len());
            self.max_regions = self.max_regions.max(n);
        }
    }

    fn drain_all(&mut self) -> Result<(), Violation> {
        for i in 0..self.execs.len() {
            self.drain(i)?;
        }
        Ok(())
    }

    /// Polls execution `i` until `Wait` or `Done`, checking every action.
    fn drain(&mut self, i: usize) -> Result<(), Violation> {
        if i >= self.execs.len() {
            return Ok(());
        }
        for _ in 0..MAX_DRAIN {
            let action = self.execs[i].exec.poll(&mut self.driver, self.now);
            self.report.polls += 1;
            self.observe_regions();
            if let Some((_, first)) = &self.execs[i].done {
                let Action::Done(result) = &action else {
                    return Err(Violation::new(
                        T,
                        format!("execution {i}: poll after Done returned {action:?}"),
                    ));
                };
                let again = summarize(result);
                ensure!(
                    T,
                    first == &again,
                    "execution {i}: poll after Done returned {again:?}, first {first:?}"
                );
                return Ok(());
            }
            match action {
                Action::Send(req) => self.on_send(i, &req)?,
                Action::Abort(id) => {
                    id.hash(&mut self.fingerprint);
                    let at = self
                        .outstanding
                        .iter()
                        .position(|o| o.id == id && o.exec == i);
                    let Some(at) = at else {
                        return Err(Violation::new(
                            T,
                            format!("execution {i}: abort of attempt {id}, which is not in flight"),
                        ));
                    };
                    // A timed-out (or abandoned) attempt may have been applied.
                    let o = self.outstanding.remove(at);
                    self.note_maybe_applied(&o);
                }
                Action::AcquireToken { scopes } => {
                    scopes.hash(&mut self.fingerprint);
                    ensure!(
                        T,
                        self.setup.credential == 1,
                        "a token is requested for an account without a token credential"
                    );
                    ensure!(T, !scopes.is_empty(), "a token is requested for no scope");
                    self.token_requests.push_back(i);
                }
                Action::Wait { until } => {
                    until.hash(&mut self.fingerprint);
                    self.check_wait(i, until)?;
                    self.execs[i].last = Last::Wait(until);
                    if let Some(dl) = self.execs[i].deadline {
                        ensure!(
                            T,
                            self.now.mono < dl,
                            "execution {i}: a drain {:?} after the end-to-end deadline ended in Wait",
                            self.now.mono.saturating_duration_since(dl)
                        );
                    }
                    return Ok(());
                }
                Action::Done(result) => {
                    summarize(&result).hash(&mut self.fingerprint);
                    self.check_done(i, &result)?;
                    let x = &mut self.execs[i];
                    x.done = Some((self.now.mono, summarize(&result)));
                    x.last = Last::Done;
                    return Ok(());
                }
                // The harness knows every action of the core it was built with.
                other => {
                    return Err(Violation::new(
                        T,
                        format!("execution {i}: an action this harness does not know: {other:?}"),
                    ))
                }
            }
        }
        Err(Violation::new(
            T,
            format!("execution {i}: poll returned {MAX_DRAIN} actions without Wait or Done"),
        ))
    }

    fn on_send(&mut self, i: usize, req: &OutgoingRequest) -> Result<(), Violation> {
        let fp = &mut self.fingerprint;
        (
            i,
            req.attempt,
            &req.method,
            &req.uri,
            &req.body,
            &req.region,
        )
            .hash(fp);
        (req.purpose, req.execution_context, req.deadline).hash(fp);
        for (name, value) in &req.headers {
            (name, value).hash(fp);
        }
        if req.purpose == Purpose::Operation {
            let x = &self.execs[i];
            if let (true, Some(earlier)) = (x.non_replayable, x.maybe_applied) {
                return Err(Violation::new(
                    T,
                    format!(
                        "execution {i}: write attempt {} replays attempt {earlier}, which may \
                         have been applied",
                        req.attempt
                    ),
                ));
            }
        }
        ensure!(
            T,
            self.sent_ids.insert(req.attempt.0),
            "attempt id {} sent twice",
            req.attempt
        );
        ensure!(
            T,
            req.deadline >= self.now.mono,
            "attempt {} is sent with a deadline in the past",
            req.attempt
        );
        if let Some(dl) = self.execs[i].deadline {
            ensure!(
                T,
                req.deadline <= dl,
                "attempt {} may outlive the end-to-end deadline",
                req.attempt
            );
            ensure!(
                T,
                self.now.mono < dl,
                "attempt {} is sent at or after the end-to-end deadline",
                req.attempt
            );
        }
        self.report.sends += 1;
        let x = &mut self.execs[i];
        x.sends += 1;
        if req.purpose == Purpose::Operation {
            x.operation_sends += 1;
            self.report.operation_sends += 1;
            self.last_operation_body = req.body.clone();
        }
        self.outstanding.push(Outstanding {
            exec: i,
            id: req.attempt,
            purpose: req.purpose,
            headers_seen: false,
        });
        Ok(())
    }

    /// 408, 500 and 503 leave open whether a write was applied.
    fn note_status(&mut self, o: &Outstanding, status: u16) {
        if matches!(status, 408 | 500 | 503) {
            self.note_maybe_applied(o);
        }
    }

    fn note_maybe_applied(&mut self, o: &Outstanding) {
        if o.purpose == Purpose::Operation {
            if let Some(x) = self.execs.get_mut(o.exec) {
                x.maybe_applied.get_or_insert(o.id);
            }
        }
    }

    fn busy(&self, i: usize) -> bool {
        self.outstanding.iter().any(|o| o.exec == i) || self.token_requests.contains(&i)
    }

    fn check_wait(&mut self, i: usize, until: Option<Instant>) -> Result<(), Violation> {
        let busy = self.busy(i);
        let in_flight = self.outstanding.iter().filter(|o| o.exec == i).count();
        let x = &self.execs[i];
        ensure!(
            T,
            x.exec.in_flight() == in_flight,
            "execution {i} has {} attempts in flight, the transport {in_flight}",
            x.exec.in_flight()
        );
        match until {
            None => ensure!(
                T,
                busy,
                "execution {i}: Wait {{ until: None }} with nothing in flight and no token outstanding: a hang"
            ),
            Some(t) => {
                if t <= self.now.mono {
                    ensure!(
                        T,
                        busy,
                        "execution {i}: Wait {{ until }} {:?} in the past with nothing in flight",
                        self.now.mono.saturating_duration_since(t)
                    );
                    self.report.waits_not_in_future += 1;
                }
                if let Some(dl) = x.deadline {
                    ensure!(
                        T,
                        t <= dl,
                        "execution {i}: Wait {{ until }} is {:?} after the end-to-end deadline",
                        t.saturating_duration_since(dl)
                    );
                }
            }
        }
        Ok(())
    }

    fn check_done(
        &mut self,
        i: usize,
        result: &Result<CosmosResponse, CosmosError>,
    ) -> Result<(), Violation> {
        let left = self.outstanding.iter().filter(|o| o.exec == i).count();
        ensure!(
            T,
            left == 0,
            "execution {i}: Done with {left} attempt(s) neither answered nor aborted"
        );
        let x = &self.execs[i];
        ensure!(
            T,
            x.exec.in_flight() == 0 && x.exec.is_done(),
            "execution {i}: Done while it reports {} in flight (is_done {})",
            x.exec.in_flight(),
            x.exec.is_done()
        );
        if self.execs.iter().all(|x| x.exec.is_done()) {
            ensure!(
                T,
                self.driver.hedges_in_flight() == 0,
                "{} hedge slot(s) still held after every execution is done",
                self.driver.hedges_in_flight()
            );
        }
        let diagnostics = match result {
            Ok(r) => r.diagnostics(),
            Err(e) => e.diagnostics(),
        };
        ensure!(
            T,
            diagnostics.request_count() == x.sends,
            "execution {i}: diagnostics count {} attempts, {} were sent",
            diagnostics.request_count(),
            x.sends
        );
        let elapsed = self.now.mono.saturating_duration_since(x.started);
        ensure!(
            T,
            diagnostics.elapsed() == elapsed,
            "execution {i}: diagnostics say {:?} elapsed, the clock says {elapsed:?}",
            diagnostics.elapsed()
        );
        let detailed =
            check_diagnostics_json(diagnostics, pick(&SUMMARY_CAPS, self.setup.summary_cap))
                .map_err(|m| Violation::new(T, format!("execution {i}: {m}")))?;
        // Everything the diagnostics say is part of what must be deterministic.
        detailed.hash(&mut self.fingerprint);
        Ok(())
    }

    /// After the events: answer everything with success and follow the timers.
    fn tail(&mut self) -> Result<(), Violation> {
        let tail_start = self.now.mono;
        let mut stuck = 0;
        for _ in 0..TAIL_STEPS {
            if self.execs.iter().all(|x| x.done.is_some()) {
                break;
            }
            if !self.outstanding.is_empty() {
                let o = self.outstanding.remove(0);
                let a = Answer {
                    status: 200,
                    charge: Some(0),
                    ..Answer::default()
                };
                let resp = self.response(&a, o.purpose);
                self.execs[o.exec]
                    .exec
                    .handle_response(&mut self.driver, o.id, resp, self.now);
                self.drain(o.exec)?;
                stuck = 0;
                continue;
            }
            if !self.token_requests.is_empty() {
                let token = Ok(AccessToken {
                    token: "fuzz-token".into(),
                    expires_on: self.now.wall + Duration::from_secs(3_600),
                });
                self.answer_token(token)?;
                stuck = 0;
                continue;
            }
            if let Some(i) = self.execs.iter().position(|x| x.last == Last::Wait(None)) {
                return Err(Violation::new(
                    T,
                    format!("execution {i}: Wait {{ until: None }} with nothing to answer: a hang"),
                ));
            }
            match self.next_wake() {
                Some(until) if until > self.now.mono => {
                    self.advance(until.saturating_duration_since(self.now.mono));
                    stuck = 0;
                }
                _ => {
                    stuck += 1;
                    ensure!(
                        T,
                        stuck < 3,
                        "busy loop: a Wait {{ until }} is not in the future and polling changes nothing"
                    );
                }
            }
            self.drain_all()?;
        }
        for (i, x) in self.execs.iter().enumerate() {
            let Some((done_at, _)) = &x.done else {
                return Err(Violation::new(
                    T,
                    format!("execution {i}: not done {TAIL_STEPS} steps after the inputs ran out"),
                ));
            };
            if let Some(dl) = x.deadline {
                ensure!(
                    T,
                    *done_at <= dl.max(tail_start),
                    "execution {i}: done {:?} after the end-to-end deadline",
                    done_at.saturating_duration_since(dl)
                );
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(ExecutionReport, u64), Violation> {
        let limits = self.driver.budget_limits();
        let bound = 1 + limits.max_total_retries(self.max_regions) + max_hedges(self.setup);
        self.report.operation_bound = bound;
        for (i, x) in self.execs.iter().enumerate() {
            ensure!(
                T,
                x.operation_sends <= bound,
                "execution {i}: {} operation attempts, more than 1 + retries + hedges = {bound}",
                x.operation_sends
            );
        }
        if let Some(x) = self.execs.first() {
            if let Some((at, summary)) = &x.done {
                self.report.elapsed = at.saturating_duration_since(x.started);
                match summary {
                    DoneSummary::Ok(_) => self.report.succeeded = Some(true),
                    DoneSummary::Err(kind, _, _, message) => {
                        self.report.succeeded = Some(false);
                        self.report.error_kind = Some(*kind);
                        self.report.error = Some(message.clone());
                    }
                }
            }
        }
        // Polling again after everything still returns the same Done.
        self.drain_all()?;
        self.check_recording()?;
        Ok((self.report, self.fingerprint.finish()))
    }

    /// The recording (when `Setup::record`) survives JSON and replays without a mismatch.
    fn check_recording(&mut self) -> Result<(), Violation> {
        let Some(recording) = self.driver.take_recording() else {
            ensure!(
                T,
                !self.setup.record,
                "recording was on but there is no recording"
            );
            return Ok(());
        };
        let json = recording
            .to_json()
            .map_err(|e| Violation::new(T, format!("the recording does not serialize: {e}")))?;
        let back = Recording::from_json(&json)
            .map_err(|e| Violation::new(T, format!("the recording's JSON does not parse: {e}")))?;
        ensure!(
            T,
            back == recording,
            "the recording changes through JSON ({} entries)",
            recording.entries.len()
        );
        let options = driver_options(self.setup)?;
        match replay(&back, self.account.clone(), options, self.base) {
            Ok(outcome) => {
                ensure!(
                    T,
                    outcome.executions == self.execs.len(),
                    "the replay started {} executions, the run {}",
                    outcome.executions,
                    self.execs.len()
                );
                self.report.replayed_entries = outcome.entries;
                Ok(())
            }
            Err(m) => Err(Violation::new(
                T,
                format!(
                    "the recording does not replay ({} entries): {m}; expected {:?}, replayed {:?}",
                    back.entries.len(),
                    m.expected,
                    m.actual
                ),
            )),
        }
    }
}

/// Both JSON forms of the outcome's diagnostics parse, the pretty form says the same as the
/// compact one, and the compact Summary respects its size cap. Returns the compact Detailed form.
fn check_diagnostics_json(d: &CosmosDiagnostics, cap: usize) -> Result<String, String> {
    let mut detailed = String::new();
    let options = DiagnosticsOptions::builder()
        .max_summary_size_bytes(cap)
        .build()
        .map_err(|e| format!("summary cap {cap} rejected: {e}"))?;
    for verbosity in [
        DiagnosticsVerbosity::Detailed,
        DiagnosticsVerbosity::Summary,
    ] {
        let compact = d.to_json_string_with(verbosity, &options);
        let value: serde_json::Value = serde_json::from_str(&compact).map_err(|e| {
            let head: String = compact.chars().take(300).collect();
            format!("{verbosity:?} diagnostics are not JSON ({e}): {head}")
        })?;
        if verbosity == DiagnosticsVerbosity::Summary && compact.len() > cap {
            return Err(format!(
                "Summary diagnostics are {} bytes, over the cap of {cap}",
                compact.len()
            ));
        }
        let pretty = d.to_pretty_json_string(verbosity, &options);
        let again: serde_json::Value = serde_json::from_str(&pretty)
            .map_err(|e| format!("pretty {verbosity:?} diagnostics are not JSON ({e})"))?;
        if again != value {
            return Err(format!(
                "pretty and compact {verbosity:?} diagnostics differ"
            ));
        }
        if verbosity == DiagnosticsVerbosity::Detailed {
            detailed = compact;
        }
    }
    Ok(detailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode_round_trips() {
        let setup = Setup {
            credential: 1,
            regions: 3,
            multi_write: true,
            operation: 7,
            seed: 513,
            ..Setup::default()
        };
        let events = vec![
            Event::Respond(Answer {
                attempt: 1,
                status: 429,
                sub_status: Some(3200),
                retry_after: 4,
                session: Some(2),
                extra: Some((b"x-a".to_vec(), b"b".to_vec())),
                ..Answer::default()
            }),
            Event::Respond(Answer {
                status: 12345,
                sub_status: Some(777),
                body: 7,
                raw_body: b"{".to_vec(),
                ..Answer::default()
            }),
            Event::Fail {
                attempt: 0,
                kind: 4,
                sent: 2,
            },
            Event::Observe {
                attempt: 3,
                kind: 1,
            },
            Event::Token {
                ok: true,
                expiry: 5,
            },
            Event::Advance { how: 0, amount: 6 },
            Event::Advance {
                how: 2,
                amount: 700,
            },
            Event::Cancel { which: 1 },
            Event::Start { operation: 3 },
            Event::Burst {
                times: 40,
                step: 2,
                answer: Answer {
                    status: 403,
                    sub_status: Some(3),
                    ..Answer::default()
                },
            },
            Event::Late {
                id: 9,
                answer: Answer::default(),
            },
        ];
        let bytes = encode(&setup, &events);
        assert_eq!(decode(&bytes), (setup, events));
    }
}
