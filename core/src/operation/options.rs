//! Per-operation options: the most specific level of the configuration hierarchy.

use std::time::Duration;

use http::{HeaderName, HeaderValue};

use crate::error::ConfigError;
use crate::models::ConsistencyLevel;

/// Headers the core sets itself; a custom header may not override them.
const RESERVED: &[&str] = &[
    "authorization",
    "x-ms-date",
    "x-ms-version",
    "x-ms-documentdb-partitionkey",
    "x-ms-documentdb-is-upsert",
    "content-length",
    "host",
];

/// A caller-supplied header, checked: not one the core sets itself, a valid name, a
/// visible-ASCII value. The error names the header.
pub(crate) fn custom_header(
    name: &str,
    value: &str,
) -> Result<(HeaderName, HeaderValue), ConfigError> {
    let lower = name.to_ascii_lowercase();
    if RESERVED.contains(&lower.as_str()) {
        return Err(ConfigError::InvalidSetting {
            name: format!("custom header {name}"),
            value: value.into(),
            expected: "a header the driver does not set itself".into(),
        });
    }
    match (
        HeaderName::from_bytes(lower.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        (Ok(n), Ok(v)) => Ok((n, v)),
        _ => Err(ConfigError::InvalidSetting {
            name: format!("custom header {name}"),
            value: value.into(),
            expected: "a valid header name and a visible-ASCII value".into(),
        }),
    }
}

/// Options for one operation. Unset fields fall back to the driver's options.
#[derive(Debug, Clone, Default)]
pub struct OperationOptions {
    pub(crate) if_match: Option<HeaderValue>,
    pub(crate) if_none_match: Option<HeaderValue>,
    pub(crate) session_token: Option<HeaderValue>,
    pub(crate) consistency_level: Option<ConsistencyLevel>,
    pub(crate) content_response_on_write: Option<bool>,
    pub(crate) custom_headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) end_to_end_timeout: Option<Duration>,
    pub(crate) retry_non_idempotent_writes: Option<bool>,
    pub(crate) excluded_regions: Vec<String>,
    pub(crate) hedging: Option<bool>,
    pub(crate) problem: Option<Box<ConfigError>>,
    /// Feeds and queries: items per page (`x-ms-max-item-count`).
    pub(crate) max_item_count: Option<u32>,
    /// Feeds and queries: where the previous page ended.
    pub(crate) continuation: Option<String>,
    /// Cross-partition queries: ranges queried in parallel.
    pub(crate) max_concurrency: Option<usize>,
    pub(crate) populate_query_metrics: bool,
    pub(crate) populate_index_metrics: bool,
    /// Set by the core on the sub-requests of a cross-partition query (ADR 0005).
    pub(crate) query_role: QueryRole,
    /// Set by the query pager on the first page of a partition-key-scoped query whose key
    /// definition is not known yet: once routing has read it, a prefix of a hierarchical key
    /// turns the execution into a fan-out over the prefix's range, with this token fingerprint.
    pub(crate) prefix_check: Option<String>,
    /// Set by the core on the per-range requests of a change-feed page (PROTOCOL.md §9.1).
    pub(crate) change_feed: Option<Box<ChangeFeedHeaders>>,
}

/// What a query request is, inside a cross-partition query (set by the core only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum QueryRole {
    /// A query sent as the caller wrote it.
    #[default]
    Plain,
    /// The query-plan request (PROTOCOL.md §7.2).
    Plan,
    /// One partition key range's page (§7.5).
    Range(String),
    /// Part of one partition key range: its id and the `[min, max)` EPK bounds (§7.5).
    SubRange(Box<(String, String, String)>),
}

/// The change-feed headers of one range's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChangeFeedHeaders {
    /// All versions and deletes (`Full-Fidelity Feed`) instead of latest version.
    pub full_fidelity: bool,
    /// `If-None-Match`: the range's etag, or `*` for "from now".
    pub if_none_match: Option<String>,
    /// `If-Modified-Since`: a point-in-time start (HTTP date).
    pub if_modified_since: Option<String>,
}

impl OperationOptions {
    /// Empty options (everything inherited).
    pub fn new() -> Self {
        Self::default()
    }

    fn header_value(&mut self, name: &str, value: &str) -> Option<HeaderValue> {
        match HeaderValue::from_str(value) {
            Ok(v) => Some(v),
            Err(_) => {
                self.problem = Some(Box::new(ConfigError::InvalidSetting {
                    name: name.into(),
                    value: value.into(),
                    expected: "visible ASCII characters".into(),
                }));
                None
            }
        }
    }

    /// Feeds and queries: at most `n` items per page (`x-ms-max-item-count`; the service's
    /// default is 100). `0` is refused: it would mean "no limit" on the wire.
    pub fn with_max_item_count(mut self, n: u32) -> Self {
        if n == 0 {
            self.problem = Some(Box::new(ConfigError::InvalidSetting {
                name: "max_item_count".into(),
                value: "0".into(),
                expected: "1 or more".into(),
            }));
        }
        self.max_item_count = Some(n);
        self
    }

    /// Feeds and queries: continue where the page that returned `token` ended.
    pub fn with_continuation(mut self, token: impl Into<String>) -> Self {
        self.continuation = Some(token.into());
        self
    }

    /// Cross-partition queries: query at most `n` partition key ranges at once.
    pub fn with_max_concurrency(mut self, n: usize) -> Self {
        if n == 0 {
            self.problem = Some(Box::new(ConfigError::InvalidSetting {
                name: "max_concurrency".into(),
                value: "0".into(),
                expected: "1 or more".into(),
            }));
        }
        self.max_concurrency = Some(n);
        self
    }

    /// Queries: ask for query metrics (`x-ms-documentdb-populatequerymetrics`).
    pub fn with_query_metrics(mut self, enabled: bool) -> Self {
        self.populate_query_metrics = enabled;
        self
    }

    /// Queries: ask for index utilization metrics (`x-ms-cosmos-populateindexmetrics`).
    pub fn with_index_metrics(mut self, enabled: bool) -> Self {
        self.populate_index_metrics = enabled;
        self
    }

    /// `if-match`: only apply the write if the item's etag is still `etag` (else 412).
    pub fn with_if_match(mut self, etag: &str) -> Self {
        self.if_match = self.header_value("if-match", etag);
        self
    }

    /// `if-none-match`: `*` on create-like writes, or an etag on reads (304 when unchanged).
    pub fn with_if_none_match(mut self, etag: &str) -> Self {
        self.if_none_match = self.header_value("if-none-match", etag);
        self
    }

    /// Sends `x-ms-session-token` for session-consistent reads.
    pub fn with_session_token(mut self, token: &str) -> Self {
        self.session_token = self.header_value("x-ms-session-token", token);
        self
    }

    /// Weakens the consistency level for this request.
    pub fn with_consistency_level(mut self, level: ConsistencyLevel) -> Self {
        self.consistency_level = Some(level);
        self
    }

    /// When false, writes answer without the item body (`Prefer: return=minimal`), saving bandwidth.
    pub fn with_content_response_on_write(mut self, enabled: bool) -> Self {
        self.content_response_on_write = Some(enabled);
        self
    }

    /// Adds a header the core does not set itself. Reserved names are rejected when started.
    pub fn with_custom_header(mut self, name: &str, value: &str) -> Self {
        match custom_header(name, value) {
            Ok(h) => self.custom_headers.push(h),
            Err(e) => self.problem = Some(Box::new(e)),
        }
        self
    }

    /// Bounds the whole operation, retries included.
    pub fn with_end_to_end_timeout(mut self, timeout: Duration) -> Self {
        self.end_to_end_timeout = Some(timeout);
        self
    }

    /// Regions this operation must not use (names as the account lists them).
    pub fn with_excluded_regions<I, S>(mut self, regions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.excluded_regions = regions.into_iter().map(Into::into).collect();
        self
    }

    /// Turns hedging on or off for this operation (reads, and writes on multi-write accounts
    /// when the driver's hedging allows writes).
    pub fn with_hedging(mut self, enabled: bool) -> Self {
        self.hedging = Some(enabled);
        self
    }

    /// Opt in to retrying a write that may already have been applied (for example a create
    /// whose connection broke after sending). Off by default: a retried create can then answer
    /// 409 for its own first attempt, and a retried replace can apply twice.
    pub fn with_non_idempotent_write_retries(mut self, enabled: bool) -> Self {
        self.retry_non_idempotent_writes = Some(enabled);
        self
    }
}
