//! The replay side: feed a recording to a fresh driver and compare its actions.

use std::fmt;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};

use super::format::{ActionSummary, EntryEvent, RecordedOperation, RecordedOptions, Recording};
use super::recorder::{summarize, wall_from_ns};
use crate::action::Action;
use crate::credential::{AccessToken, CredentialError};
use crate::driver::Driver;
use crate::error::ConfigError;
use crate::execution::Execution;
use crate::ids::AttemptId;
use crate::models::{
    AccountReference, ConsistencyLevel, ContainerReference, PartitionKey, PartitionKeyValue,
};
use crate::now::Now;
use crate::operation::{
    CosmosOperation, OperationKind, OperationOptions, OperationScope, ResourceType,
};
use crate::options::DriverOptions;
use crate::transport::{
    RequestEvent, RequestEventKind, RequestSent, Response, TransportError, TransportErrorKind,
};

/// The token value replay feeds for a recorded successful token acquisition (the real token is
/// never recorded).
pub const PLACEHOLDER_TOKEN: &str = "replay-placeholder-token";

/// A replay that matched the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOutcome {
    /// The first `Done` of each execution that finished, in the order they finished.
    pub results: Vec<ReplayedResult>,
    /// Entries replayed.
    pub entries: usize,
    /// Executions started.
    pub executions: usize,
    /// The recording was truncated: only its prefix was checked.
    pub truncated: bool,
}

/// How one replayed execution finished.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayedResult {
    /// The execution number.
    pub exec: u32,
    /// Its `Done` summary (as recorded and as replayed: they are equal).
    pub done: ActionSummary,
}

/// Where a replay diverged from its recording (or why it could not be replayed).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ReplayMismatch {
    /// Index of the entry in [`Recording::entries`].
    pub entry: usize,
    /// The execution concerned.
    pub exec: Option<u32>,
    /// The recorded action, for a divergence.
    pub expected: Option<Box<ActionSummary>>,
    /// The replayed action, for a divergence.
    pub actual: Option<Box<ActionSummary>>,
    /// What went wrong.
    pub reason: String,
}

impl fmt::Display for ReplayMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "replay diverged at entry {}", self.entry)?;
        if let Some(e) = self.exec {
            write!(f, " (execution {e})")?;
        }
        write!(f, ": {}", self.reason)?;
        let json = |a: &ActionSummary| serde_json::to_string(a).unwrap_or_default();
        if let Some(e) = &self.expected {
            write!(f, "\n  recorded: {}", json(e))?;
        }
        if let Some(a) = &self.actual {
            write!(f, "\n  replayed: {}", json(a))?;
        }
        Ok(())
    }
}

fn invalid(entry: usize, exec: Option<u32>, reason: impl Into<String>) -> ReplayMismatch {
    ReplayMismatch {
        entry,
        exec,
        expected: None,
        actual: None,
        reason: reason.into(),
    }
}

/// Where two `Debug` renderings of `DriverOptions` part, with some context either side.
fn options_difference(recorded: &str, given: &str) -> String {
    const CONTEXT: usize = 60;
    let at = recorded
        .char_indices()
        .zip(given.chars())
        .find(|((_, a), b)| a != b)
        .map_or(recorded.len().min(given.len()), |((i, _), _)| i);
    let window = |s: &str| {
        let mut start = at.saturating_sub(CONTEXT);
        while !s.is_char_boundary(start) {
            start -= 1;
        }
        let tail = s.get(start..).unwrap_or_default();
        tail.chars().take(2 * CONTEXT).collect::<String>()
    };
    format!(
        "the DriverOptions are not the recorded ones; recorded …{}…, given …{}…",
        window(recorded),
        window(given)
    )
}

/// Parses an `x-ms-documentdb-partitionkey` header value (`["a",1,true,null,{}]`).
pub fn parse_partition_key(header: &str) -> Result<PartitionKey, String> {
    let value: serde_json::Value =
        serde_json::from_str(header).map_err(|e| format!("partition key {header:?}: {e}"))?;
    let serde_json::Value::Array(items) = value else {
        return Err(format!("partition key {header:?} is not a JSON array"));
    };
    let mut parts = Vec::with_capacity(items.len());
    for item in items {
        parts.push(match item {
            serde_json::Value::String(s) => PartitionKeyValue::String(s),
            serde_json::Value::Bool(b) => PartitionKeyValue::Bool(b),
            serde_json::Value::Null => PartitionKeyValue::Null,
            serde_json::Value::Number(n) => match n.as_f64() {
                Some(f) => PartitionKeyValue::Number(f),
                None => return Err(format!("partition key number {n} is not an f64")),
            },
            serde_json::Value::Object(o) if o.is_empty() => PartitionKeyValue::Undefined,
            other => return Err(format!("partition key component {other} is not a scalar")),
        });
    }
    PartitionKey::hierarchical(parts).map_err(|e| e.to_string())
}

fn parse_kind(s: &str) -> Option<OperationKind> {
    OperationKind::from_name(s)
}

fn parse_resource_type(s: &str) -> Option<ResourceType> {
    ResourceType::from_token(s)
}

fn parse_consistency(s: &str) -> Option<ConsistencyLevel> {
    Some(match s {
        "Strong" => ConsistencyLevel::Strong,
        "BoundedStaleness" => ConsistencyLevel::BoundedStaleness,
        "Session" => ConsistencyLevel::Session,
        "ConsistentPrefix" => ConsistencyLevel::ConsistentPrefix,
        "Eventual" => ConsistencyLevel::Eventual,
        _ => return None,
    })
}

fn parse_transport_kind(s: &str) -> TransportErrorKind {
    match s {
        "dns" => TransportErrorKind::Dns,
        "connect" => TransportErrorKind::Connect,
        "tls" => TransportErrorKind::Tls,
        "timeout" => TransportErrorKind::Timeout,
        "io" => TransportErrorKind::Io,
        "protocol" => TransportErrorKind::Protocol,
        "response_too_large" => TransportErrorKind::ResponseTooLarge,
        _ => TransportErrorKind::Other,
    }
}

fn parse_sent(s: &str) -> Option<RequestSent> {
    Some(match s {
        "sent" => RequestSent::Sent,
        "not_sent" => RequestSent::NotSent,
        "unknown" => RequestSent::Unknown,
        _ => return None,
    })
}

fn parse_event_kind(s: &str) -> Option<RequestEventKind> {
    Some(match s {
        "transport_start" => RequestEventKind::TransportStart,
        "response_headers_received" => RequestEventKind::ResponseHeadersReceived,
        "transport_complete" => RequestEventKind::TransportComplete,
        "transport_failed" => RequestEventKind::TransportFailed,
        _ => return None,
    })
}

fn decode(b64: &str) -> Result<Bytes, String> {
    STANDARD
        .decode(b64)
        .map(Bytes::from)
        .map_err(|e| format!("invalid base64: {e}"))
}

fn header_value(name: &str, v: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(v).map_err(|_| format!("invalid {name} header value {v:?}"))
}

pub(super) fn rebuild_operation(
    account: &AccountReference,
    r: &RecordedOperation,
) -> Result<CosmosOperation, String> {
    let kind = parse_kind(&r.kind).ok_or_else(|| format!("unknown kind {:?}", r.kind))?;
    let resource_type = parse_resource_type(&r.resource_type)
        .ok_or_else(|| format!("unknown resource type {:?}", r.resource_type))?;
    let partition_key = match &r.partition_key {
        Some(h) => Some(parse_partition_key(h)?),
        None => None,
    };
    let body = match &r.body_base64 {
        Some(b) => Some(decode(b)?),
        None => None,
    };
    // A query's spec is its body (`{"query", "parameters"}`), so it is not recorded twice.
    let query = match (kind, &body) {
        (OperationKind::Query, Some(b)) => Some(crate::operation::QuerySpec::from_body(b)?),
        _ => None,
    };
    Ok(CosmosOperation {
        kind,
        resource_type,
        scope: match &r.container {
            Some((l, p)) => {
                OperationScope::Container(ContainerReference::from_recorded(account.clone(), l, p))
            }
            None => OperationScope::Account(account.clone()),
        },
        link: r.link.clone().into(),
        path: Some(r.path.clone()),
        partition_key,
        body,
        problem: r
            .problem
            .clone()
            .map(|p| Box::new(ConfigError::InvalidOperation(p))),
        query,
        feed_range: None,
        headers: r
            .headers
            .iter()
            .map(|(n, v)| {
                let name = HeaderName::from_bytes(n.as_bytes())
                    .map_err(|_| format!("invalid operation header name {n:?}"))?;
                Ok((name, header_value(n, v)?))
            })
            .collect::<Result<_, String>>()?,
        raw: r.raw,
    })
}

fn rebuild_options(r: &RecordedOptions) -> Result<OperationOptions, String> {
    let opt = |name: &str, v: &Option<String>| -> Result<Option<HeaderValue>, String> {
        v.as_deref().map(|v| header_value(name, v)).transpose()
    };
    let mut custom_headers = Vec::with_capacity(r.custom_headers.len());
    for (n, v) in &r.custom_headers {
        let name = HeaderName::from_bytes(n.as_bytes())
            .map_err(|_| format!("invalid custom header name {n:?}"))?;
        custom_headers.push((name, header_value(n, v)?));
    }
    let consistency_level = match &r.consistency_level {
        Some(c) => Some(parse_consistency(c).ok_or_else(|| format!("unknown consistency {c:?}"))?),
        None => None,
    };
    Ok(OperationOptions {
        if_match: opt("if-match", &r.if_match)?,
        if_none_match: opt("if-none-match", &r.if_none_match)?,
        session_token: opt("x-ms-session-token", &r.session_token)?,
        consistency_level,
        content_response_on_write: r.content_response_on_write,
        custom_headers,
        end_to_end_timeout: r.end_to_end_timeout_ns.map(Duration::from_nanos),
        retry_non_idempotent_writes: r.retry_non_idempotent_writes,
        excluded_regions: r.excluded_regions.clone(),
        hedging: r.hedging,
        problem: r
            .problem
            .clone()
            .map(|p| Box::new(ConfigError::InvalidOperation(p))),
        max_item_count: r.max_item_count,
        continuation: r.continuation.clone(),
        max_concurrency: r.max_concurrency,
        populate_query_metrics: r.populate_query_metrics,
        populate_index_metrics: r.populate_index_metrics,
        query_role: Default::default(),
        prefix_check: r.prefix_check.clone(),
        change_feed: None,
    })
}

/// The token a recorded answer stood for (its value is a placeholder), or why it cannot be.
fn rebuild_token(
    ok: bool,
    expires_on_ns: Option<i128>,
    error: &Option<String>,
) -> Result<Result<AccessToken, CredentialError>, String> {
    if !ok {
        return Ok(Err(CredentialError::new(error.clone().unwrap_or_default())));
    }
    let ns = expires_on_ns.ok_or("a token answer without expires_on_ns")?;
    Ok(Ok(AccessToken {
        token: PLACEHOLDER_TOKEN.to_string(),
        expires_on: wall(ns)?,
    }))
}

/// A recorded wall time, or why this platform cannot hold it.
fn wall(ns: i128) -> Result<std::time::SystemTime, String> {
    wall_from_ns(ns).ok_or_else(|| format!("wall time {ns} ns is out of this platform's range"))
}

fn mono_at(base: Instant, t_ns: i64) -> Option<Instant> {
    let d = Duration::from_nanos(t_ns.unsigned_abs());
    if t_ns >= 0 {
        base.checked_add(d)
    } else {
        base.checked_sub(d)
    }
}

/// Replays `recording` on a fresh driver for `account` built with `options` and the recorded
/// seed. `base` is any instant (the recording's times are relative); pass `Instant::now()`.
///
/// `account` must have the recorded endpoint and the recorded kind of credential; its secret
/// may be anything (signatures are not compared). `options` must be the `DriverOptions` the
/// recorded driver was built with (they are not part of the recording).
///
/// Every recorded `poll` is compared with the replayed one; the first difference is returned.
/// No I/O happens: responses come from the recording.
pub fn replay(
    recording: &Recording,
    account: AccountReference,
    options: DriverOptions,
    base: Instant,
) -> Result<ReplayOutcome, ReplayMismatch> {
    if account.endpoint() != recording.endpoint {
        return Err(invalid(
            0,
            None,
            format!(
                "the account endpoint {} is not the recorded {}",
                account.endpoint(),
                recording.endpoint
            ),
        ));
    }
    if let Some(recorded) = &recording.options {
        let given = format!("{options:?}");
        if *recorded != given {
            return Err(invalid(0, None, options_difference(recorded, &given)));
        }
    }
    let first = recording.entries.first();
    let start_wall = wall(first.map_or(0, |e| e.wall_ns)).map_err(|e| invalid(0, None, e))?;
    let start_now = Now::new(base, start_wall);
    let mut driver = Driver::new(account.clone(), options, recording.seed, start_now)
        .map_err(|e| invalid(0, None, format!("cannot build the driver: {e}")))?;
    driver.set_next_attempt(recording.first_attempt);
    let mut execs: Vec<Execution> = Vec::new();
    let mut results: Vec<ReplayedResult> = Vec::new();
    for (i, entry) in recording.entries.iter().enumerate() {
        let mono = mono_at(base, entry.t_ns)
            .ok_or_else(|| invalid(i, entry.exec, "time out of range for this base instant"))?;
        let bad = |reason: String| invalid(i, entry.exec, reason);
        let now = Now::new(mono, wall(entry.wall_ns).map_err(bad)?);
        if let EntryEvent::Start { op, options } = &entry.event {
            if entry.exec != u32::try_from(execs.len()).ok() {
                return Err(bad(format!(
                    "execution {:?} starts out of order",
                    entry.exec
                )));
            }
            let op = rebuild_operation(&account, op).map_err(&bad)?;
            let opts = rebuild_options(options).map_err(&bad)?;
            execs.push(driver.start(op, opts, now));
            continue;
        }
        if let EntryEvent::DriverToken {
            ok,
            expires_on_ns,
            error,
        } = &entry.event
        {
            let token = rebuild_token(*ok, *expires_on_ns, error).map_err(bad)?;
            let _ = driver.handle_token(token, now);
            continue;
        }
        let exec = entry
            .exec
            .and_then(|n| execs.get_mut(n as usize))
            .ok_or_else(|| bad(format!("unknown execution {:?}", entry.exec)))?;
        match &entry.event {
            EntryEvent::Poll { action } => {
                let replayed = exec.poll(&mut driver, now);
                let actual = summarize(&replayed, base);
                if &actual != action {
                    return Err(ReplayMismatch {
                        entry: i,
                        exec: entry.exec,
                        expected: Some(Box::new(action.clone())),
                        actual: Some(Box::new(actual)),
                        reason: "the core returned a different action".into(),
                    });
                }
                if let (Action::Done(_), Some(n)) = (&replayed, entry.exec) {
                    if !results.iter().any(|r| r.exec == n) {
                        results.push(ReplayedResult {
                            exec: n,
                            done: actual,
                        });
                    }
                }
            }
            EntryEvent::Response {
                attempt,
                status,
                headers,
                body_base64,
            } => {
                let mut map = HeaderMap::with_capacity(headers.len());
                for (n, v) in headers {
                    let name = HeaderName::from_bytes(n.as_bytes())
                        .map_err(|_| bad(format!("invalid header name {n:?}")))?;
                    let value = HeaderValue::from_bytes(v.as_bytes())
                        .map_err(|_| bad(format!("invalid header value {v:?}")))?;
                    map.append(name, value);
                }
                let resp = Response {
                    status: *status,
                    headers: map,
                    body: decode(body_base64).map_err(&bad)?,
                };
                exec.handle_response(&mut driver, AttemptId(*attempt), resp, now);
            }
            EntryEvent::TransportError {
                attempt,
                kind,
                request_sent,
                message,
            } => {
                let sent = parse_sent(request_sent)
                    .ok_or_else(|| bad(format!("unknown request_sent {request_sent:?}")))?;
                let err = TransportError::new(parse_transport_kind(kind), sent, message.clone());
                exec.handle_transport_error(&mut driver, AttemptId(*attempt), err, now);
            }
            EntryEvent::Event {
                attempt,
                kind,
                details,
            } => {
                let kind = parse_event_kind(kind)
                    .ok_or_else(|| bad(format!("unknown event kind {kind:?}")))?;
                let ev = RequestEvent {
                    kind,
                    details: details.clone(),
                };
                exec.handle_event(&mut driver, AttemptId(*attempt), ev, now);
            }
            EntryEvent::Token {
                ok,
                expires_on_ns,
                error,
            } => {
                let token = rebuild_token(*ok, *expires_on_ns, error).map_err(bad)?;
                exec.handle_token(&mut driver, token, now);
            }
            EntryEvent::Cancel => exec.cancel(&mut driver, now),
            EntryEvent::FanoutState { state } => {
                let state = crate::execution::fanout::FanoutState::from_json(state)
                    .map_err(|e| bad(format!("fan-out state: {e}")))?;
                exec.attach_fanout_state(&mut driver, Box::new(state), now);
            }
            EntryEvent::Start { .. } | EntryEvent::DriverToken { .. } => {}
        }
    }
    Ok(ReplayOutcome {
        results,
        entries: recording.entries.len(),
        executions: execs.len(),
        truncated: recording.truncated,
    })
}
