//! One HTTP attempt as recorded: why it was sent, where, what came back, and its events.

use std::sync::Arc;

use bytes::Bytes;
use std::time::Duration;

use crate::ids::AttemptId;
use crate::request::Purpose;
use crate::transport::{RequestEventKind, RequestSent};

/// Why an attempt exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ExecutionContext {
    /// The first attempt.
    Initial,
    /// A retry in the same region (429, 449, ...).
    Retry,
    /// A speculative parallel attempt in another region.
    Hedging,
    /// A retry moved to another region.
    RegionFailover,
    /// A probe of a partition the circuit breaker had moved away from.
    CircuitBreakerProbe,
}

impl ExecutionContext {
    /// The seed's JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionContext::Initial => "initial",
            ExecutionContext::Retry => "retry",
            ExecutionContext::Hedging => "hedging",
            ExecutionContext::RegionFailover => "region_failover",
            ExecutionContext::CircuitBreakerProbe => "circuit_breaker_probe",
        }
    }
}

/// One recorded lifecycle event of an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// Which event.
    pub kind: RequestEventKind,
    /// When, relative to the operation's start.
    pub at: Duration,
    /// Optional detail.
    pub details: Option<String>,
}

/// Events kept inside the record itself, with no allocation of their own.
const INLINE_EVENTS: usize = 4;

/// An unused inline slot.
const NO_EVENT: EventRecord = EventRecord {
    kind: RequestEventKind::TransportStart,
    at: Duration::ZERO,
    details: None,
};

/// The lifecycle events of one attempt, in order. The first few are kept inline in the
/// attempt's record (recording them allocates nothing); more move to the heap. Reads as a
/// slice of [`EventRecord`]s.
#[derive(Clone)]
pub struct Events(EventStore);

#[derive(Clone)]
enum EventStore {
    Inline {
        len: usize,
        slots: [EventRecord; INLINE_EVENTS],
    },
    Heap(Vec<EventRecord>),
}

impl Events {
    /// No events.
    pub const fn new() -> Self {
        Events(EventStore::Inline {
            len: 0,
            slots: [NO_EVENT; INLINE_EVENTS],
        })
    }

    /// The events, oldest first.
    pub fn as_slice(&self) -> &[EventRecord] {
        match &self.0 {
            EventStore::Inline { len, slots } => slots.get(..*len).unwrap_or(slots),
            EventStore::Heap(v) => v,
        }
    }

    /// Appends an event.
    pub fn push(&mut self, event: EventRecord) {
        match &mut self.0 {
            EventStore::Inline { len, slots } => {
                if let Some(slot) = slots.get_mut(*len) {
                    *slot = event;
                    *len += 1;
                } else {
                    let mut v = Vec::with_capacity(2 * INLINE_EVENTS);
                    v.extend(slots.iter_mut().map(|e| std::mem::replace(e, NO_EVENT)));
                    v.push(event);
                    self.0 = EventStore::Heap(v);
                }
            }
            EventStore::Heap(v) => v.push(event),
        }
    }
}

impl Default for Events {
    fn default() -> Self {
        Events::new()
    }
}

impl std::ops::Deref for Events {
    type Target = [EventRecord];

    fn deref(&self) -> &[EventRecord] {
        self.as_slice()
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = &'a EventRecord;
    type IntoIter = std::slice::Iter<'a, EventRecord>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl From<Vec<EventRecord>> for Events {
    fn from(v: Vec<EventRecord>) -> Self {
        let mut events = Events::new();
        for e in v {
            events.push(e);
        }
        events
    }
}

impl PartialEq for Events {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// URLs up to this long are kept in one allocation with their reference count.
const INLINE_URL: usize = 232;

/// The full URL of one attempt. Built once per attempt and shared, without a copy, by the
/// request's `Uri` (its path) and the attempt's diagnostics record. Reads as a `str`.
#[derive(Clone, PartialEq, Eq)]
pub struct AttemptUrl(Bytes);

/// A short URL's bytes, owned by its shared [`Bytes`] (one allocation for both).
struct UrlBuf {
    len: usize,
    bytes: [u8; INLINE_URL],
}

impl AsRef<[u8]> for UrlBuf {
    fn as_ref(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

impl AttemptUrl {
    /// `base` followed by `path`.
    pub(crate) fn join(base: &str, path: &str) -> Self {
        let len = base.len() + path.len();
        if len <= INLINE_URL {
            let mut bytes = [0u8; INLINE_URL];
            if let Some(b) = bytes.get_mut(..base.len()) {
                b.copy_from_slice(base.as_bytes());
            }
            if let Some(p) = bytes.get_mut(base.len()..len) {
                p.copy_from_slice(path.as_bytes());
            }
            return AttemptUrl(Bytes::from_owner(UrlBuf { len, bytes }));
        }
        let mut s = String::with_capacity(len);
        s.push_str(base);
        s.push_str(path);
        AttemptUrl(Bytes::from(s))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        // Always built from `str`s: the check cannot fail.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The URL's bytes, shared.
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.0
    }
}

impl std::ops::Deref for AttemptUrl {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for AttemptUrl {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for AttemptUrl {
    fn from(s: &str) -> Self {
        AttemptUrl::join(s, "")
    }
}

impl From<String> for AttemptUrl {
    fn from(s: String) -> Self {
        AttemptUrl(Bytes::from(s))
    }
}

impl PartialEq<str> for AttemptUrl {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for AttemptUrl {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl std::fmt::Debug for AttemptUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for AttemptUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Room for a service activity id kept inline (a GUID has 36 characters).
const INLINE_ACTIVITY_ID: usize = 40;

/// The activity id the service returned for one attempt (`x-ms-activity-id`, a GUID). Kept
/// inside the attempt's record when it is as short as a GUID (recording it allocates nothing),
/// on the heap otherwise. Reads as a `str`.
#[derive(Clone)]
pub struct ServiceActivityId(ActivityText);

#[derive(Clone)]
enum ActivityText {
    Inline {
        len: u8,
        bytes: [u8; INLINE_ACTIVITY_ID],
    },
    Heap(Box<str>),
}

impl ServiceActivityId {
    /// Keeps `s`.
    pub fn new(s: &str) -> Self {
        let mut bytes = [0u8; INLINE_ACTIVITY_ID];
        match (bytes.get_mut(..s.len()), u8::try_from(s.len())) {
            (Some(dst), Ok(len)) => {
                dst.copy_from_slice(s.as_bytes());
                ServiceActivityId(ActivityText::Inline { len, bytes })
            }
            _ => ServiceActivityId(ActivityText::Heap(s.into())),
        }
    }

    /// The activity id.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Always a whole `str` copied in: the check cannot fail.
            ActivityText::Inline { len, bytes } => {
                std::str::from_utf8(bytes.get(..usize::from(*len)).unwrap_or_default())
                    .unwrap_or_default()
            }
            ActivityText::Heap(s) => s,
        }
    }
}

impl std::ops::Deref for ServiceActivityId {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ServiceActivityId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for ServiceActivityId {
    fn from(s: &str) -> Self {
        ServiceActivityId::new(s)
    }
}

impl From<String> for ServiceActivityId {
    fn from(s: String) -> Self {
        ServiceActivityId::new(&s)
    }
}

impl PartialEq for ServiceActivityId {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<str> for ServiceActivityId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ServiceActivityId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Debug for ServiceActivityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for ServiceActivityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything recorded about one HTTP attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestDiagnostics {
    /// The attempt id.
    pub attempt: AttemptId,
    /// Why it was sent.
    pub purpose: Purpose,
    /// Initial, retry, failover, ...
    pub execution_context: ExecutionContext,
    /// Target region.
    pub region: Arc<str>,
    /// Full URL.
    pub endpoint: AttemptUrl,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// Sub-status, when sent.
    pub sub_status: Option<u32>,
    /// RU charged.
    pub request_charge: f64,
    /// The service's activity id, when sent.
    pub activity_id: Option<ServiceActivityId>,
    /// Start, relative to the operation's start.
    pub started_at: Duration,
    /// How long the attempt took (until its outcome, abort or timeout).
    pub duration: Duration,
    /// Whether it reached the service.
    pub request_sent: RequestSent,
    /// Lifecycle events (at most [`super::MAX_EVENTS_PER_REQUEST`]).
    pub events: Events,
    /// The transport error or outcome note, if any.
    pub error: Option<String>,
}

impl RequestDiagnostics {
    /// True for metadata reads (account, container, partition key ranges), which the JSON
    /// forms list apart from the operation's own requests (tracking read-backs are the
    /// operation's own).
    pub fn is_metadata(&self) -> bool {
        is_metadata(self.purpose)
    }

    /// The duration in whole milliseconds, as the JSON forms print it.
    pub fn duration_ms(&self) -> u64 {
        millis(self.duration)
    }

    /// True when the only events are the single terminal one (`transport_complete` or
    /// `transport_failed`) at the attempt's end: it says nothing `duration_ms`, the status and
    /// the error do not already say, so the JSON forms leave it out.
    pub(crate) fn events_are_implied(&self) -> bool {
        match self.events.as_slice() {
            [] => true,
            [e] => {
                matches!(
                    e.kind,
                    RequestEventKind::TransportComplete | RequestEventKind::TransportFailed
                ) && self.started_at.checked_add(self.duration) == Some(e.at)
                    && (e.details.is_none() || e.details == self.error)
            }
            _ => false,
        }
    }
}

/// True for the purposes listed under `metadata_requests`.
pub(crate) fn is_metadata(purpose: Purpose) -> bool {
    matches!(
        purpose,
        Purpose::AccountRead | Purpose::ContainerRead | Purpose::PkRangeRead
    )
}

/// Whole milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
