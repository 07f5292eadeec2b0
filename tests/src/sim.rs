//! A deterministic simulator: drives core executions against a scripted server on a virtual
//! clock and records a transcript of every action and input.
//!
//! Same seed + same script ⇒ the same transcript, byte for byte. No real time passes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use sextant_core::models::AccountReference;
use sextant_core::{
    CosmosError, CosmosOperation, CosmosResponse, Drained, Driver, DriverOptions, Execution,
    Inputs, Now, OperationOptions, OutgoingRequest, Purpose, RequestSent, Response, TransportError,
    TransportErrorKind, Turn,
};

/// The emulator's well-known key (any key is fine for the simulator; signing is checked by vectors).
pub const SIM_KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";
/// Endpoint of the simulated account.
pub const SIM_ENDPOINT: &str = "https://sim.documents.azure.com:443/";
/// Upper bound on simulation steps: a run that needs more is a bug (a livelock) and panics.
pub const MAX_STEPS: usize = 100_000;

/// What the scripted server does with one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Respond with a status after `latency`.
    Status {
        /// HTTP status.
        status: u16,
        /// `x-ms-substatus`, if any.
        sub_status: Option<u32>,
        /// `x-ms-retry-after-ms`, if any.
        retry_after_ms: Option<u64>,
        /// Body.
        body: &'static str,
        /// Simulated round trip.
        latency: Duration,
    },
    /// Fail at the transport level after `latency`.
    Fail {
        /// Failure class.
        kind: TransportErrorKind,
        /// Whether it may have been applied.
        sent: RequestSent,
        /// Time until the failure is observed.
        latency: Duration,
    },
    /// Never answer (a stalled connection).
    Stall,
    /// Any status with arbitrary headers and an owned body.
    Full {
        /// HTTP status.
        status: u16,
        /// Extra response headers.
        headers: Vec<(&'static str, String)>,
        /// Body.
        body: String,
        /// Simulated round trip.
        latency: Duration,
    },
}

impl Answer {
    /// 200/201-style success with a small JSON body, 5 ms later.
    pub fn ok(status: u16) -> Answer {
        Answer::Status {
            status,
            sub_status: None,
            retry_after_ms: None,
            body: r#"{"id":"x"}"#,
            latency: Duration::from_millis(5),
        }
    }

    /// A 429 with the given sub-status and retry-after.
    pub fn throttled(sub_status: u32, retry_after_ms: u64) -> Answer {
        Answer::Status {
            status: 429,
            sub_status: Some(sub_status),
            retry_after_ms: Some(retry_after_ms),
            body: r#"{"code":"TooManyRequests","message":"Request rate is large"}"#,
            latency: Duration::from_millis(5),
        }
    }

    /// A 200 with `body`, after 3 ms.
    pub fn ok_with(body: &'static str) -> Answer {
        Answer::Status {
            status: 200,
            sub_status: None,
            retry_after_ms: None,
            body,
            latency: Duration::from_millis(3),
        }
    }

    /// An error status with a sub-status.
    pub fn status(status: u16, sub_status: u32) -> Answer {
        Answer::Status {
            status,
            sub_status: Some(sub_status),
            retry_after_ms: None,
            body: r#"{"code":"Error","message":"scripted"}"#,
            latency: Duration::from_millis(5),
        }
    }

    /// A transport failure.
    pub fn fail(kind: TransportErrorKind, sent: RequestSent) -> Answer {
        Answer::Fail {
            kind,
            sent,
            latency: Duration::from_millis(2),
        }
    }
}

/// The container the simulated `GET dbs/db/colls/c` returns: hash-partitioned on `/pk`.
pub const CONTAINER_BODY: &str =
    r#"{"id":"c","partitionKey":{"paths":["/pk"],"kind":"Hash","version":2}}"#;
/// The pk-range feed the simulated `GET .../pkranges` returns: one range.
pub const PK_RANGES_BODY: &str =
    r#"{"PartitionKeyRanges":[{"id":"0","minInclusive":"","maxExclusive":"FF","parents":[]}]}"#;

/// The account metadata the simulated `GET /` returns (one region).
pub const ACCOUNT_BODY: &str = r#"{"id":"sim","writableLocations":[{"name":"West US 2","databaseAccountEndpoint":"https://sim-westus2.documents.azure.com:443/"}],"readableLocations":[{"name":"West US 2","databaseAccountEndpoint":"https://sim-westus2.documents.azure.com:443/"}],"enableMultipleWriteLocations":false,"userConsistencyPolicy":{"defaultConsistencyLevel":"Session"}}"#;

fn metadata_ok(body: &'static str) -> Answer {
    Answer::Status {
        status: 200,
        sub_status: None,
        retry_after_ms: None,
        body,
        latency: Duration::from_millis(2),
    }
}

/// Answers the n-th pk-range read given the request (to check incremental headers).
pub type PkRangeScript = Box<dyn FnMut(usize, &OutgoingRequest) -> Answer>;

/// Answers a token request: `(scopes, wall clock) → token or error`.
pub type TokenScript = Box<
    dyn FnMut(
        &[String],
        SystemTime,
    ) -> Result<sextant_core::AccessToken, sextant_core::CredentialError>,
>;

enum Payload {
    Answer(sextant_core::AttemptId, Answer),
    Token(Result<sextant_core::AccessToken, sextant_core::CredentialError>),
}

struct Pending {
    at: Instant,
    seq: u64,
    payload: Payload,
}

/// A simulated world: one driver, a virtual clock, and a transcript.
pub struct Sim {
    /// The driver under test.
    pub driver: Driver,
    /// The account.
    pub account: AccountReference,
    /// Virtual now.
    pub now: Now,
    start: Instant,
    /// Every action and input, one line each, with virtual time.
    pub transcript: Vec<String>,
    /// How account reads (`GET /`) are answered; `None` = 200 with [`ACCOUNT_BODY`].
    pub account_answer: Option<Answer>,
    /// Answers the n-th account read (takes precedence over `account_answer`).
    pub account_script: Option<Box<dyn FnMut(usize) -> Answer>>,
    account_reads: usize,
    account_attempt_ids: Vec<sextant_core::AttemptId>,
    lsn: u64,
    /// Answers container reads (n-th read); `None` = 200 with [`CONTAINER_BODY`].
    pub container_script: Option<Box<dyn FnMut(usize) -> Answer>>,
    /// Answers pk-range reads (n-th read, request); `None` = 200 with [`PK_RANGES_BODY`].
    pub pk_ranges_script: Option<PkRangeScript>,
    container_reads: usize,
    pk_range_reads: usize,
    /// How token requests are answered; `None` = a token valid for an hour.
    pub token_answer: Option<TokenScript>,
    /// How long token acquisition takes (zero = answered before the next poll).
    pub token_latency: Duration,
    seq: u64,
}

impl Sim {
    /// A simulation seeded with `seed`, with a master-key account.
    pub fn new(seed: u64, options: DriverOptions) -> Sim {
        let account =
            AccountReference::with_master_key(SIM_ENDPOINT, SIM_KEY).expect("valid sim account");
        Sim::with_account(seed, options, account)
    }

    /// A simulation of `account` (any credential) seeded with `seed`.
    pub fn with_account(seed: u64, options: DriverOptions, account: AccountReference) -> Sim {
        // A fixed base so transcripts (x-ms-date, signatures) do not depend on the real clock.
        let start = Instant::now();
        let now = Now::new(
            start,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        );
        let driver = Driver::new(account.clone(), options, seed, now).expect("driver");
        Sim {
            driver,
            account,
            now,
            start,
            transcript: Vec::new(),
            account_answer: None,
            account_script: None,
            account_reads: 0,
            account_attempt_ids: Vec::new(),
            lsn: 0,
            container_script: None,
            pk_ranges_script: None,
            container_reads: 0,
            pk_range_reads: 0,
            token_answer: None,
            token_latency: Duration::ZERO,
            seq: 0,
        }
    }

    fn t(&self) -> u128 {
        self.now
            .mono
            .saturating_duration_since(self.start)
            .as_millis()
    }

    fn log(&mut self, line: String) {
        let t = self.t();
        self.transcript.push(format!("{t:>7}ms {line}"));
    }

    /// Runs one operation to completion. `script` answers each data-plane request in order
    /// (account reads are answered with [`ACCOUNT_BODY`] automatically).
    pub fn run(
        &mut self,
        op: CosmosOperation,
        opts: OperationOptions,
        mut script: impl FnMut(usize, &OutgoingRequest) -> Answer,
    ) -> Result<CosmosResponse, CosmosError> {
        let mut exec = self.driver.start(op, opts, self.now);
        self.drive(&mut exec, &mut script)
    }

    /// Drives an already-started execution to completion.
    pub fn drive(
        &mut self,
        exec: &mut Execution,
        script: &mut dyn FnMut(usize, &OutgoingRequest) -> Answer,
    ) -> Result<CosmosResponse, CosmosError> {
        let mut pending: Vec<Pending> = Vec::new();
        let mut data_requests = 0usize;
        let mut turn = Turn::without_transport_events();
        let mut no_inputs = Inputs::new();
        for _ in 0..MAX_STEPS {
            // The core's drain turn; answers are fed straight into the execution below, so the
            // turn's input list stays empty.
            let drained = exec.turn(&mut self.driver, &mut no_inputs, self.now, &mut turn);
            for id in turn.aborts.drain(..) {
                self.log(format!("ABORT {id}"));
                pending.retain(|p| !matches!(p.payload, Payload::Answer(a, _) if a == id));
            }
            for req in turn.sends.drain() {
                let answer = if req.purpose == Purpose::AccountRead {
                    self.account_attempt_ids.push(req.attempt);
                    self.account_reads += 1;
                    let n = self.account_reads - 1;
                    let scripted = self.account_script.as_mut().map(|f| f(n));
                    scripted
                        .or_else(|| self.account_answer.clone())
                        .unwrap_or(Answer::Status {
                            status: 200,
                            sub_status: None,
                            retry_after_ms: None,
                            body: ACCOUNT_BODY,
                            latency: Duration::from_millis(3),
                        })
                } else if req.purpose == Purpose::ContainerRead {
                    self.account_attempt_ids.push(req.attempt); // metadata: no session token
                    self.container_reads += 1;
                    let n = self.container_reads - 1;
                    match self.container_script.as_mut() {
                        Some(f) => f(n),
                        None => metadata_ok(CONTAINER_BODY),
                    }
                } else if req.purpose == Purpose::PkRangeRead {
                    self.account_attempt_ids.push(req.attempt);
                    self.pk_range_reads += 1;
                    let n = self.pk_range_reads - 1;
                    match self.pk_ranges_script.as_mut() {
                        Some(f) => f(n, &req),
                        None => metadata_ok(PK_RANGES_BODY),
                    }
                } else {
                    data_requests += 1;
                    script(data_requests - 1, &req)
                };
                let auth = req
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                let date = req
                    .headers
                    .get("x-ms-date")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                let mut flags = String::new();
                if req
                    .headers
                    .contains_key("x-ms-cosmos-allow-tentative-writes")
                {
                    flags.push_str(" tentative");
                }
                if req
                    .headers
                    .contains_key("x-ms-cosmos-hub-region-processing-only")
                {
                    flags.push_str(" hub_only");
                }
                if let Some(t) = req
                    .headers
                    .get("x-ms-session-token")
                    .and_then(|v| v.to_str().ok())
                {
                    flags.push_str(&format!(" session={t}"));
                }
                self.log(format!(
                    "SEND {} {} {} ctx={} region={:?}{flags} date={date:?} auth={auth}",
                    req.attempt,
                    req.method,
                    req.uri,
                    req.execution_context.as_str(),
                    &*req.region
                ));
                let latency = match &answer {
                    Answer::Status { latency, .. }
                    | Answer::Fail { latency, .. }
                    | Answer::Full { latency, .. } => Some(*latency),
                    Answer::Stall => None,
                };
                if let Some(l) = latency {
                    self.seq += 1;
                    pending.push(Pending {
                        at: self.now.mono + l,
                        seq: self.seq,
                        payload: Payload::Answer(req.attempt, answer),
                    });
                }
            }
            // A token answered with zero latency is fed before time moves on.
            let mut fed_token = false;
            for scopes in turn.token_requests.drain(..) {
                self.log(format!("ACQUIRE_TOKEN {scopes:?}"));
                let wall = self.now.wall;
                let token = match self.token_answer.as_mut() {
                    Some(script) => script(&scopes, wall),
                    None => Ok(sextant_core::AccessToken {
                        token: "sim-token".into(),
                        expires_on: wall + Duration::from_secs(3600),
                    }),
                };
                if self.token_latency.is_zero() {
                    self.log(format!(
                        "TOKEN {}",
                        if token.is_ok() { "ok" } else { "error" }
                    ));
                    exec.handle_token(&mut self.driver, token, self.now);
                    fed_token = true;
                } else {
                    self.seq += 1;
                    pending.push(Pending {
                        at: self.now.mono + self.token_latency,
                        seq: self.seq,
                        payload: Payload::Token(token),
                    });
                }
            }
            match drained {
                Drained::Wait { .. } if fed_token => {}
                Drained::Wait { until } => {
                    let next = pending.iter().min_by_key(|p| (p.at, p.seq)).map(|p| p.at);
                    let wake = match (until, next) {
                        (Some(a), Some(b)) => a.min(b),
                        (a, b) => a.or(b).expect(
                            "Wait with no timer and nothing in flight: the execution would hang",
                        ),
                    };
                    if until.is_some_and(|u| u <= self.now.mono)
                        && next.is_none_or(|n| n > self.now.mono)
                    {
                        let tail = self.transcript.len().saturating_sub(20);
                        panic!(
                            "Wait {{ until }} is not in the future: the execution's timers and its wake time disagree; last lines:\n{}",
                            self.transcript[tail..].join("\n")
                        );
                    }
                    let step = wake.saturating_duration_since(self.now.mono);
                    self.now = self.now.advanced(step);
                    // Deliver everything due now, in scheduling order.
                    pending.sort_by_key(|p| (p.at, p.seq));
                    while pending.first().is_some_and(|p| p.at <= self.now.mono) {
                        let p = pending.remove(0);
                        self.deliver(exec, p);
                    }
                }
                Drained::Done {
                    outcome: result, ..
                } => {
                    // A token refresh outlives the operation that started it: hand it to the
                    // driver when it arrives, as transports do.
                    for p in pending.drain(..) {
                        if let Payload::Token(token) = p.payload {
                            self.now = Now::new(self.now.mono.max(p.at), self.now.wall);
                            self.log("TOKEN (to driver)".into());
                            let _ = self.driver.handle_token(token, self.now);
                        }
                    }
                    match &result {
                        Ok(r) => self.log(format!(
                            "DONE ok {} attempts={}",
                            r.status(),
                            exec.attempts()
                        )),
                        Err(e) => self.log(format!(
                            "DONE err kind={:?} status={:?} sub={:?} attempts={}",
                            e.kind(),
                            e.status(),
                            e.sub_status(),
                            exec.attempts()
                        )),
                    }
                    return result;
                }
            }
        }
        let tail = self.transcript.len().saturating_sub(30);
        panic!(
            "simulation did not finish within {MAX_STEPS} steps; last lines:\n{}",
            self.transcript[tail..].join("\n")
        );
    }

    fn deliver(&mut self, exec: &mut Execution, p: Pending) {
        let (attempt, answer) = match p.payload {
            Payload::Answer(attempt, answer) => (attempt, answer),
            Payload::Token(token) => {
                self.log(format!(
                    "TOKEN {}",
                    if token.is_ok() { "ok" } else { "error" }
                ));
                exec.handle_token(&mut self.driver, token, self.now);
                return;
            }
        };
        match answer {
            Answer::Status {
                status,
                sub_status,
                retry_after_ms,
                body,
                ..
            } => {
                let mut h = HeaderMap::new();
                h.insert("x-ms-request-charge", HeaderValue::from_static("1"));
                if let Some(s) = sub_status {
                    h.insert("x-ms-substatus", HeaderValue::from(s));
                }
                if let Some(ms) = retry_after_ms {
                    h.insert("x-ms-retry-after-ms", HeaderValue::from(ms));
                }
                if !self.account_attempt(attempt) {
                    // Every data-plane answer advances the (single-range) session token.
                    self.lsn += 1;
                    h.insert(
                        "x-ms-session-token",
                        HeaderValue::from_str(&format!("0:-1#{}", self.lsn)).expect("ascii"),
                    );
                }
                self.log(format!(
                    "RECV {} {status}/{}",
                    attempt,
                    sub_status.unwrap_or(0)
                ));
                let resp = Response {
                    status,
                    headers: h,
                    body: Bytes::from_static(body.as_bytes()),
                };
                exec.handle_response(&mut self.driver, attempt, resp, self.now);
            }
            Answer::Fail { kind, sent, .. } => {
                self.log(format!(
                    "FAIL {} {} {}",
                    attempt,
                    kind.as_str(),
                    sent.as_str()
                ));
                let e = TransportError::new(kind, sent, "scripted failure");
                exec.handle_transport_error(&mut self.driver, attempt, e, self.now);
            }
            Answer::Full {
                status,
                headers,
                body,
                ..
            } => {
                let mut h = HeaderMap::new();
                for (k, v) in headers {
                    h.insert(k, HeaderValue::from_str(&v).expect("scripted header"));
                }
                self.log(format!("RECV {attempt} {status}/0"));
                let resp = Response {
                    status,
                    headers: h,
                    body: Bytes::from(body),
                };
                exec.handle_response(&mut self.driver, attempt, resp, self.now);
            }
            Answer::Stall => {}
        }
    }

    fn account_attempt(&self, id: sextant_core::AttemptId) -> bool {
        self.account_attempt_ids.contains(&id)
    }

    /// Virtual time elapsed since the simulation started.
    pub fn elapsed(&self) -> Duration {
        self.now.mono.saturating_duration_since(self.start)
    }
}

/// Counts transcript lines containing `needle`.
pub fn count(transcript: &[String], needle: &str) -> usize {
    transcript.iter().filter(|l| l.contains(needle)).count()
}

/// A map of environment variables from pairs (for configuration tests).
pub fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
