//! The escape hatch: any REST request, sent through the core's signing, region selection,
//! retries, session tokens and diagnostics, for features Sextant has not modelled yet.

use bytes::Bytes;
use http::Method;

use crate::error::ConfigError;
use crate::models::AccountReference;
use crate::operation::kind::{OperationKind, ResourceType};
use crate::operation::options::custom_header;
use crate::operation::CosmosOperation;

/// A REST request the typed operations do not cover.
///
/// Give the method, the resource type and link that are signed (PROTOCOL.md §1 and §10.0: a
/// feed or create signs the parent's link with the child's type; a single resource its own
/// link; RID-based links lowercased), and the URL path. The request is classified by its method
/// for retries: `GET` is a read (retried freely), `PUT`, `DELETE` and `PATCH` are writes, and
/// `POST` is a create, never replayed after an ambiguous failure unless the caller opts in
/// (`OperationOptions::with_non_idempotent_write_retries`); [`RawRequest::as_query`] marks a
/// `POST` query as a read. It is not routed by partition (the gateway routes it by its
/// `x-ms-documentdb-partitionkey` header, set with `CosmosOperation::with_partition_key`).
///
/// ```
/// use http::Method;
/// use sextant_core::models::AccountReference;
/// use sextant_core::operation::{RawRequest, ResourceType};
/// use sextant_core::CosmosOperation;
///
/// let account = AccountReference::with_master_key("https://acct.documents.azure.com/", "a2V5")?;
/// // Read a client encryption key, which Sextant has no typed operation for.
/// let request = RawRequest::new(
///     Method::GET,
///     ResourceType::ClientEncryptionKey,
///     "dbs/db/clientencryptionkeys/key1",
///     "dbs/db/clientencryptionkeys/key1",
/// );
/// let op = CosmosOperation::raw(account, request);
/// # Ok::<(), sextant_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RawRequest {
    method: Method,
    resource_type: ResourceType,
    link: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Bytes>,
    feed: bool,
    query: bool,
}

impl RawRequest {
    /// A request: `method` on `path` (no leading slash, ids percent-encoded), signed as
    /// `resource_type` over `link` (raw ids).
    pub fn new(
        method: Method,
        resource_type: ResourceType,
        link: impl Into<String>,
        path: impl Into<String>,
    ) -> Self {
        RawRequest {
            method,
            resource_type,
            link: link.into(),
            path: path.into(),
            headers: Vec::new(),
            body: None,
            feed: false,
            query: false,
        }
    }

    /// Adds a header (not one the core sets itself: `authorization`, `x-ms-date`, ...).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The body (raw bytes; JSON unless a content type header says otherwise).
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// A `GET` of a feed: paged with `x-ms-max-item-count` and `x-ms-continuation` from the
    /// operation options, and counted as a feed in diagnostics and metrics.
    pub fn as_feed(mut self) -> Self {
        self.feed = true;
        self
    }

    /// A `POST` query (`x-ms-documentdb-isquery`, `application/query+json`): a read, retried
    /// freely, one page per execution.
    pub fn as_query(mut self) -> Self {
        self.query = true;
        self
    }

    fn kind(&self) -> Result<OperationKind, ConfigError> {
        let bad = |what: String| ConfigError::InvalidOperation(format!("raw request: {what}"));
        Ok(match (&self.method, self.feed, self.query) {
            (_, true, true) => return Err(bad("a feed cannot also be a query".into())),
            (m, _, true) if m != Method::POST => {
                return Err(bad(format!("a query is a POST, not {m}")))
            }
            (_, _, true) => OperationKind::Query,
            (m, true, _) if m != Method::GET => {
                return Err(bad(format!("a feed is a GET, not {m}")))
            }
            (_, true, _) => OperationKind::ReadFeed,
            (m, ..) if m == Method::GET => OperationKind::Read,
            (m, ..) if m == Method::POST => OperationKind::Create,
            (m, ..) if m == Method::PUT => OperationKind::Replace,
            (m, ..) if m == Method::DELETE => OperationKind::Delete,
            (m, ..) if m == Method::PATCH => OperationKind::Patch,
            (m, ..) => {
                return Err(bad(format!(
                "method {m} is not one Cosmos DB's REST API uses (GET, POST, PUT, DELETE, PATCH)"
            )))
            }
        })
    }
}

/// Why `path` cannot be sent as the URL path, if it cannot.
fn path_problem(path: &str) -> Option<String> {
    if path.starts_with('/') {
        return Some("starts with '/' (give it without the leading slash)".into());
    }
    if let Some(c) = path
        .chars()
        .find(|c| matches!(c, '?' | '#' | '\\') || c.is_control())
    {
        return Some(format!("contains {c:?}"));
    }
    path.split('/')
        .find(|s| {
            s.is_empty()
                || *s == "."
                || *s == ".."
                || s.eq_ignore_ascii_case("%2e")
                || s.eq_ignore_ascii_case("%2e%2e")
        })
        .filter(|_| !path.is_empty())
        .map(|s| format!("has the segment {s:?}, which a URL layer would rewrite"))
}

impl CosmosOperation {
    /// A raw REST request through the core (see [`RawRequest`]). Problems (a reserved header,
    /// an unusable path or method) are reported when the operation starts, by name.
    pub fn raw(account: AccountReference, request: RawRequest) -> Self {
        let kind = request.kind();
        let mut op = CosmosOperation::new(
            *kind.as_ref().unwrap_or(&OperationKind::Read),
            request.resource_type,
            &account,
            request.link,
            request.path,
        );
        op.raw = true;
        op.body = request.body;
        if let Err(e) = kind {
            op.note_problem(e);
        }
        if let Some(p) = path_problem(op.path()) {
            op.note_problem(ConfigError::InvalidOperation(format!(
                "raw request path {:?} {p}",
                op.path()
            )));
        }
        for (n, v) in &request.headers {
            match custom_header(n, v) {
                Ok(h) => op.headers.push(h),
                Err(e) => op.note_problem(e),
            }
        }
        op
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> AccountReference {
        AccountReference::with_master_key("https://acct.documents.azure.com/", "a2V5").unwrap()
    }

    #[test]
    fn methods_map_to_retry_classes() {
        let kind = |m: Method| {
            CosmosOperation::raw(
                account(),
                RawRequest::new(m, ResourceType::Offer, "", "offers"),
            )
            .kind()
        };
        assert_eq!(kind(Method::GET), OperationKind::Read);
        assert_eq!(kind(Method::POST), OperationKind::Create);
        assert_eq!(kind(Method::PUT), OperationKind::Replace);
        assert_eq!(kind(Method::DELETE), OperationKind::Delete);
        let q = CosmosOperation::raw(
            account(),
            RawRequest::new(Method::POST, ResourceType::Offer, "", "offers").as_query(),
        );
        assert!(q.kind().is_read_only());
        let f = CosmosOperation::raw(
            account(),
            RawRequest::new(Method::GET, ResourceType::Offer, "", "offers").as_feed(),
        );
        assert_eq!(f.kind(), OperationKind::ReadFeed);
    }

    #[test]
    fn problems_are_named() {
        let cases = [
            (
                RawRequest::new(Method::HEAD, ResourceType::Account, "", ""),
                "method HEAD",
            ),
            (
                RawRequest::new(Method::GET, ResourceType::Offer, "", "/offers"),
                "leading slash",
            ),
            (
                RawRequest::new(
                    Method::GET,
                    ResourceType::Item,
                    "x",
                    "dbs/db/colls/c/docs/..",
                ),
                "segment \"..\"",
            ),
            (
                RawRequest::new(Method::GET, ResourceType::Offer, "", "offers?x=1"),
                "contains '?'",
            ),
            (
                RawRequest::new(Method::GET, ResourceType::Offer, "", "offers")
                    .with_header("Authorization", "x"),
                "custom header Authorization",
            ),
            (
                RawRequest::new(Method::GET, ResourceType::Offer, "", "offers").as_query(),
                "a query is a POST",
            ),
        ];
        for (req, needle) in cases {
            let err = CosmosOperation::raw(account(), req)
                .validate(false)
                .unwrap_err();
            assert!(
                err.to_string().contains(needle),
                "{err} should name {needle}"
            );
        }
    }

    #[test]
    fn a_valid_request_keeps_its_parts() {
        let op = CosmosOperation::raw(
            account(),
            RawRequest::new(Method::POST, ResourceType::User, "dbs/db", "dbs/db/users")
                .with_header("x-ms-custom", "1")
                .with_body(r#"{"id":"u"}"#),
        );
        assert!(op.validate(false).is_ok());
        assert_eq!(op.signing_address(), ("users", "dbs/db"));
        assert_eq!(op.path(), "dbs/db/users");
        assert_eq!(op.headers.len(), 1);
    }
}
