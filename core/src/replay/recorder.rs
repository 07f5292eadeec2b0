//! The recording side: a bounded log the driver's hooks append to.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::format::{
    ActionSummary, Entry, EntryEvent, RecordedOperation, RecordedOptions, Recording, FORMAT_VERSION,
};
use crate::action::Action;
use crate::credential::{AccessToken, Credential, CredentialError};
use crate::driver::Driver;
use crate::ids::{ActivityId, AttemptId};
use crate::models::AccountReference;
use crate::now::Now;
use crate::operation::{CosmosOperation, OperationOptions};
use crate::options::DriverOptions;
use crate::transport::{RequestEvent, Response, TransportError};

/// Most entries one recording keeps; beyond it recording stops and `truncated` is set.
pub const MAX_ENTRIES: usize = 100_000;
/// Most body bytes (requests and responses) one recording keeps; beyond it recording stops.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// What a redacted header value is replaced with.
pub const REDACTED: &str = "<redacted>";
/// Response headers whose values are replaced with [`REDACTED`] (request `authorization` is
/// never recorded at all).
pub const REDACTED_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-ms-authorization-auxiliary",
];
/// Request headers left out of [`ActionSummary::Send`].
const UNCOMPARED_REQUEST_HEADERS: &[&str] = &["authorization", "user-agent"];

/// An operation captured at `Driver::start`, before it is moved into the execution.
#[derive(Debug)]
pub(crate) struct RecordedStart {
    op: RecordedOperation,
    options: RecordedOptions,
    body_len: usize,
}

fn header_str(v: &http::HeaderValue) -> String {
    String::from_utf8_lossy(v.as_bytes()).into_owned()
}

impl RecordedStart {
    pub(crate) fn capture(op: &CosmosOperation, o: &OperationOptions) -> RecordedStart {
        let op_rec = RecordedOperation {
            kind: op.kind.as_str().to_string(),
            resource_type: op.resource_type.token().to_string(),
            link: op.link.to_string(),
            path: op.path().to_owned(),
            partition_key: op.partition_key.as_ref().map(|p| p.to_header_value()),
            body_base64: op.body.as_ref().map(|b| STANDARD.encode(b)),
            problem: op.problem.as_ref().map(|p| p.to_string()),
            container: op
                .container()
                .map(|c| (c.link().to_string(), c.path().to_string())),
            headers: op
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), header_str(v)))
                .collect(),
            raw: op.raw,
        };
        let options = RecordedOptions {
            if_match: o.if_match.as_ref().map(header_str),
            if_none_match: o.if_none_match.as_ref().map(header_str),
            session_token: o.session_token.as_ref().map(header_str),
            consistency_level: o.consistency_level.map(|c| c.as_str().to_string()),
            content_response_on_write: o.content_response_on_write,
            custom_headers: o
                .custom_headers
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), header_str(v)))
                .collect(),
            end_to_end_timeout_ns: o
                .end_to_end_timeout
                .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            retry_non_idempotent_writes: o.retry_non_idempotent_writes,
            excluded_regions: o.excluded_regions.clone(),
            hedging: o.hedging,
            problem: o.problem.as_ref().map(|p| p.to_string()),
            max_item_count: o.max_item_count,
            continuation: o.continuation.clone(),
            max_concurrency: o.max_concurrency,
            populate_query_metrics: o.populate_query_metrics,
            populate_index_metrics: o.populate_index_metrics,
            prefix_check: o.prefix_check.clone(),
        };
        RecordedStart {
            op: op_rec,
            options,
            body_len: op.body.as_ref().map_or(0, |b| b.len()),
        }
    }
}

/// The log being recorded. Lives in the driver (`Driver::start_recording`).
#[derive(Debug)]
pub struct Recorder {
    recording: Recording,
    base: Option<Instant>,
    execs: BTreeMap<[u8; 16], u32>,
    body_bytes: usize,
}

/// Nanoseconds from `base` to `t` (negative when `t` is earlier), saturating.
pub(crate) fn rel_ns(base: Instant, t: Instant) -> i64 {
    match t.checked_duration_since(base) {
        Some(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        None => i64::try_from(base.duration_since(t).as_nanos())
            .map(|n| -n)
            .unwrap_or(i64::MIN),
    }
}

/// Nanoseconds since the UNIX epoch, negative before it. Exact for every `SystemTime`: the
/// widest platform representation (`i64` seconds) is under 2^93 ns, and `Duration::as_nanos`
/// is under 2^94, both far inside `i128`.
pub(crate) fn wall_ns(t: SystemTime) -> i128 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => i128::try_from(before.duration().as_nanos()).map_or(i128::MIN, |n| -n),
    }
}

/// The inverse of [`wall_ns`]; `None` when this platform's `SystemTime` cannot hold the instant
/// (a recording made on a platform with a wider clock).
pub(crate) fn wall_from_ns(ns: i128) -> Option<SystemTime> {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let abs = ns.unsigned_abs();
    let secs = u64::try_from(abs / NANOS_PER_SEC).ok()?;
    // The remainder is below 10^9, so it fits.
    let nanos = u32::try_from(abs % NANOS_PER_SEC).ok()?;
    let d = Duration::new(secs, nanos);
    if ns >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(d)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(d)
    }
}

/// The summary an action is compared on; times relative to `base`.
pub(crate) fn summarize(action: &Action, base: Instant) -> ActionSummary {
    match action {
        Action::Send(req) => {
            let mut headers: Vec<(String, String)> = req
                .headers
                .iter()
                .filter(|(n, _)| !UNCOMPARED_REQUEST_HEADERS.contains(&n.as_str()))
                .map(|(n, v)| (n.as_str().to_string(), header_str(v)))
                .collect();
            headers.sort();
            let digest = Sha256::digest(&req.body);
            let body_sha256 = digest.iter().map(|b| format!("{b:02x}")).collect();
            ActionSummary::Send {
                attempt: req.attempt.0,
                method: req.method.as_str().to_string(),
                uri: req.uri.to_string(),
                headers,
                body_len: req.body.len(),
                body_sha256,
                purpose: req.purpose.as_str().to_string(),
                region: req.region.to_string(),
                context: req.execution_context.as_str().to_string(),
                deadline_ns: rel_ns(base, req.deadline),
                max_response_bytes: req.max_response_bytes,
            }
        }
        Action::Abort(id) => ActionSummary::Abort { attempt: id.0 },
        Action::AcquireToken { scopes } => ActionSummary::AcquireToken {
            scopes: scopes.clone(),
        },
        Action::Wait { until } => ActionSummary::Wait {
            until_ns: until.map(|u| rel_ns(base, u)),
        },
        Action::Done(Ok(r)) => ActionSummary::Done {
            ok: true,
            status: Some(r.status()),
            sub_status: r.headers().sub_status(),
            kind: None,
        },
        Action::Done(Err(e)) => ActionSummary::Done {
            ok: false,
            status: e.status(),
            sub_status: e.sub_status(),
            kind: Some(format!("{:?}", e.kind())),
        },
        #[allow(unreachable_patterns)]
        other => ActionSummary::Other {
            debug: format!("{other:?}"),
        },
    }
}

fn token_fields(
    token: &Result<AccessToken, CredentialError>,
) -> (bool, Option<i128>, Option<String>) {
    match token {
        Ok(t) => (true, Some(wall_ns(t.expires_on)), None),
        Err(e) => (false, None, Some(e.message.clone())),
    }
}

impl Recorder {
    pub(crate) fn new(
        seed: u64,
        first_attempt: u64,
        cold: bool,
        account: &AccountReference,
        options: &DriverOptions,
    ) -> Recorder {
        let credential = match account.credential() {
            Credential::MasterKey(_) => "master_key",
            Credential::ResourceTokens(_) => "resource_tokens",
            Credential::TokenCredential(_) => "token_credential",
        };
        Recorder {
            recording: Recording {
                format: FORMAT_VERSION,
                seed,
                first_attempt,
                cold,
                endpoint: account.endpoint().to_string(),
                credential: credential.to_string(),
                options: Some(format!("{options:?}")),
                truncated: false,
                entries: Vec::new(),
            },
            base: None,
            execs: BTreeMap::new(),
            body_bytes: 0,
        }
    }

    pub(crate) fn finish(self) -> Recording {
        self.recording
    }

    fn base(&mut self, now: Now) -> Instant {
        *self.base.get_or_insert(now.mono)
    }

    /// Appends an entry unless a bound was reached (then marks the recording truncated).
    fn push(&mut self, exec: Option<u32>, now: Now, body: usize, event: EntryEvent) {
        if self.recording.truncated {
            return;
        }
        let body_bytes = self.body_bytes.saturating_add(body);
        if self.recording.entries.len() >= MAX_ENTRIES || body_bytes > MAX_BODY_BYTES {
            self.recording.truncated = true;
            return;
        }
        self.body_bytes = body_bytes;
        let base = self.base(now);
        self.recording.entries.push(Entry {
            exec,
            t_ns: rel_ns(base, now.mono),
            wall_ns: wall_ns(now.wall),
            event,
        });
    }

    fn exec(&self, activity: ActivityId) -> Option<u32> {
        self.execs.get(activity.as_bytes()).copied()
    }

    pub(crate) fn start(&mut self, activity: ActivityId, start: RecordedStart, now: Now) {
        if self.recording.truncated {
            return;
        }
        let n = u32::try_from(self.execs.len()).unwrap_or(u32::MAX);
        self.execs.insert(*activity.as_bytes(), n);
        let event = EntryEvent::Start {
            op: Box::new(start.op),
            options: Box::new(start.options),
        };
        self.push(Some(n), now, start.body_len, event);
    }

    fn poll(&mut self, activity: ActivityId, action: &Action, now: Now) {
        let Some(exec) = self.exec(activity) else {
            return;
        };
        let base = self.base(now);
        let action = summarize(action, base);
        self.push(Some(exec), now, 0, EntryEvent::Poll { action });
    }

    pub(crate) fn fanout_state(
        &mut self,
        activity: ActivityId,
        state: serde_json::Value,
        now: Now,
    ) {
        let Some(exec) = self.exec(activity) else {
            return;
        };
        let size = state.to_string().len();
        self.push(Some(exec), now, size, EntryEvent::FanoutState { state });
    }

    pub(crate) fn response(
        &mut self,
        activity: ActivityId,
        attempt: AttemptId,
        r: &Response,
        now: Now,
    ) {
        let Some(exec) = self.exec(activity) else {
            return;
        };
        let headers = r
            .headers
            .iter()
            .map(|(n, v)| {
                let value = if REDACTED_HEADERS.contains(&n.as_str()) {
                    REDACTED.to_string()
                } else {
                    header_str(v)
                };
                (n.as_str().to_string(), value)
            })
            .collect();
        let event = EntryEvent::Response {
            attempt: attempt.0,
            status: r.status,
            headers,
            body_base64: STANDARD.encode(&r.body),
        };
        self.push(Some(exec), now, r.body.len(), event);
    }

    pub(crate) fn transport_error(
        &mut self,
        activity: ActivityId,
        attempt: AttemptId,
        e: &TransportError,
        now: Now,
    ) {
        let Some(exec) = self.exec(activity) else {
            return;
        };
        let event = EntryEvent::TransportError {
            attempt: attempt.0,
            kind: e.kind.as_str().to_string(),
            request_sent: e.request_sent.as_str().to_string(),
            message: e.message.clone(),
        };
        self.push(Some(exec), now, 0, event);
    }

    pub(crate) fn event(
        &mut self,
        activity: ActivityId,
        attempt: AttemptId,
        ev: &RequestEvent,
        now: Now,
    ) {
        let Some(exec) = self.exec(activity) else {
            return;
        };
        let event = EntryEvent::Event {
            attempt: attempt.0,
            kind: ev.kind.as_str().to_string(),
            details: ev.details.clone(),
        };
        self.push(Some(exec), now, 0, event);
    }

    pub(crate) fn token(
        &mut self,
        activity: ActivityId,
        token: &Result<AccessToken, CredentialError>,
        now: Now,
    ) {
        let Some(exec) = self.exec(activity) else {
            return;
        };
        let (ok, expires_on_ns, error) = token_fields(token);
        let event = EntryEvent::Token {
            ok,
            expires_on_ns,
            error,
        };
        self.push(Some(exec), now, 0, event);
    }

    pub(crate) fn driver_token(&mut self, token: &Result<AccessToken, CredentialError>, now: Now) {
        let (ok, expires_on_ns, error) = token_fields(token);
        let event = EntryEvent::DriverToken {
            ok,
            expires_on_ns,
            error,
        };
        self.push(None, now, 0, event);
    }

    pub(crate) fn cancel(&mut self, activity: ActivityId, now: Now) {
        let Some(exec) = self.exec(activity) else {
            return;
        };
        self.push(Some(exec), now, 0, EntryEvent::Cancel);
    }
}

/// After a `poll`: records the action. The core never polls itself, so each recorded poll is
/// one the driver of the execution made.
pub(crate) fn record_poll(d: &mut Driver, activity: ActivityId, action: &Action, now: Now) {
    if let Some(r) = d.recorder.as_mut() {
        r.poll(activity, action, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{AccountReference, ItemReference};

    /// A replayed operation holds a container rebuilt from the recorded link and path, kept
    /// verbatim (even a link of no usual form), and the replaying driver's account.
    #[test]
    fn a_replayed_operation_keeps_its_recorded_container_verbatim() {
        let account =
            AccountReference::with_master_key("https://acct.documents.azure.com/", "a2V5").unwrap();
        let op =
            CosmosOperation::read(ItemReference::from_name(account.clone(), "d b", "c+l", "i"));
        let mut start = RecordedStart::capture(&op, &OperationOptions::default());
        let back = super::super::replayer::rebuild_operation(&account, &start.op).unwrap();
        let held = back.container().expect("the recorded container");
        assert_eq!(held.link(), "dbs/d b/colls/c+l");
        assert_eq!(held.path(), "dbs/d%20b/colls/c%2Bl");
        assert!(back.account().same_account(&account));
        assert_eq!(format!("{back:?}"), format!("{op:?}"));

        start.op.container = Some(("odd".into(), "odd%20path".into()));
        let back = super::super::replayer::rebuild_operation(&account, &start.op).unwrap();
        let held = back.container().expect("the recorded container");
        assert_eq!((held.link(), held.path()), ("odd", "odd%20path"));

        start.op.container = None;
        let back = super::super::replayer::rebuild_operation(&account, &start.op).unwrap();
        assert!(back.container().is_none());
    }

    #[test]
    fn wall_times_round_trip_exactly_before_the_epoch_and_after_2554() {
        let epoch = SystemTime::UNIX_EPOCH;
        let times = [
            epoch,
            epoch - Duration::new(1, 1),
            epoch + Duration::new(1_795_419_608, 883_501_458),
            // 2554-07-21T23:34:33.709551615Z is u64::MAX ns; one ns later used to saturate.
            epoch + Duration::from_nanos(u64::MAX) + Duration::from_nanos(1),
            epoch + Duration::from_secs(253_402_300_799) + Duration::from_secs(3_600),
        ];
        for t in times {
            let ns = wall_ns(t);
            assert_eq!(wall_from_ns(ns), Some(t), "{ns}");
        }
        assert_eq!(wall_ns(epoch - Duration::from_nanos(5)), -5);
    }

    #[test]
    fn unrepresentable_wall_times_are_none_not_a_panic() {
        assert_eq!(wall_from_ns(i128::MAX), None);
        assert_eq!(wall_from_ns(i128::MIN), None);
    }
}
