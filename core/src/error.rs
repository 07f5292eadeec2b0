//! Errors: configuration problems found up front, and the outcome of a failed operation.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use crate::diagnostics::CosmosDiagnostics;
use crate::headers::ResponseHeaders;
use crate::transport::TransportError;

/// `text` as an error message shows a value from the input: its first `max` characters, and
/// `…` when there were more, so that an error stays short whatever it quotes.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// A configuration or usage problem, found before any request is sent. Names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The account endpoint is not usable.
    #[error("invalid account endpoint {value:?}: {reason}")]
    InvalidEndpoint {
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The master key is not standard base64.
    #[error("invalid master key: {reason}")]
    InvalidMasterKey {
        /// What is wrong with it.
        reason: String,
    },
    /// Another credential problem.
    #[error("invalid credential: {}", crate::redact::redact(.reason))]
    InvalidCredential {
        /// What is wrong.
        reason: String,
    },
    /// A setting (option, environment variable or model field such as
    /// `indexingPolicy.compositeIndexes[0]`) has a value outside its accepted range.
    #[error("invalid value {:?} for {name}: expected {expected}", crate::redact::redact(.value))]
    InvalidSetting {
        /// The option or environment variable.
        name: String,
        /// The value given.
        value: String,
        /// The accepted range or form.
        expected: String,
    },
    /// The operation cannot be executed as built.
    #[error("invalid operation: {}", crate::redact::redact(.0))]
    InvalidOperation(String),
    /// An id or name that Cosmos DB forbids, or that a URL layer would reinterpret.
    #[error("invalid {kind} id {id:?}: {reason}")]
    InvalidResourceId {
        /// `database`, `container` or `item`.
        kind: &'static str,
        /// The id (cut after 64 characters).
        id: String,
        /// The rule it breaks.
        reason: String,
    },
    /// The operation targets a different account than the driver serves.
    #[error("the operation targets account {operation} but this driver serves {driver}")]
    AccountMismatch {
        /// The operation's endpoint.
        operation: String,
        /// The driver's endpoint.
        driver: String,
    },
}

/// The error categories of the seed spec, plus the two client-side terminations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Network or transport failure (the seed's `HttpError`).
    Transport,
    /// Cosmos DB answered with an error status (`ServiceError`).
    Service,
    /// Token acquisition failed (`CredentialError`).
    Credential,
    /// Invalid options or setup (`ConfigurationError`).
    Configuration,
    /// The operation's end-to-end timeout passed before an outcome was known.
    Timeout,
    /// The caller cancelled the operation.
    Cancelled,
    /// A bug in Sextant itself: an invariant of the core broke. Never retried; please report it
    /// with the diagnostics.
    Internal,
    /// The typed layer could not turn the caller's value into JSON, or a response body into the
    /// caller's type; the message names the field (`orders[2].total`).
    Serialization,
}

/// A failed operation: category, status, sub-status, the service's answer and the diagnostics.
#[derive(Clone)]
pub struct CosmosError {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    status: Option<u16>,
    sub_status: Option<u32>,
    message: String,
    headers: Option<ResponseHeaders>,
    body: Bytes,
    transport: Option<TransportError>,
    config: Option<ConfigError>,
    diagnostics: Arc<CosmosDiagnostics>,
}

impl CosmosError {
    fn base(kind: ErrorKind, message: String, diagnostics: Arc<CosmosDiagnostics>) -> Inner {
        Inner {
            kind,
            status: None,
            sub_status: None,
            message,
            headers: None,
            body: Bytes::new(),
            transport: None,
            config: None,
            diagnostics,
        }
    }

    pub(crate) fn new(
        kind: ErrorKind,
        message: String,
        diagnostics: Arc<CosmosDiagnostics>,
    ) -> Self {
        CosmosError {
            inner: Arc::new(Self::base(kind, message, diagnostics)),
        }
    }

    pub(crate) fn service(
        status: u16,
        headers: ResponseHeaders,
        body: Bytes,
        diagnostics: Arc<CosmosDiagnostics>,
    ) -> Self {
        let message = service_message(status, &body);
        let mut e = Self::base(ErrorKind::Service, message, diagnostics);
        e.status = Some(status);
        e.sub_status = headers.sub_status();
        e.headers = Some(headers);
        e.body = body;
        CosmosError { inner: Arc::new(e) }
    }

    pub(crate) fn transport(err: TransportError, diagnostics: Arc<CosmosDiagnostics>) -> Self {
        let message = format!(
            "transport error ({}, request {}): {}",
            err.kind.as_str(),
            err.request_sent.as_str(),
            err.message
        );
        let mut e = Self::base(ErrorKind::Transport, message, diagnostics);
        e.transport = Some(err);
        CosmosError { inner: Arc::new(e) }
    }

    /// The end-to-end deadline passed; `last` is the transport failure it cut short, if any
    /// (its request-sent flag still tells whether a write may have been applied).
    pub(crate) fn timeout(
        message: String,
        last: Option<TransportError>,
        diagnostics: Arc<CosmosDiagnostics>,
    ) -> Self {
        let mut e = Self::base(ErrorKind::Timeout, message, diagnostics);
        e.transport = last;
        CosmosError { inner: Arc::new(e) }
    }

    /// One operation of a bulk run that the service answered with a failure `status`: a
    /// [`ErrorKind::Service`] error with its status, sub-status and the service's message, so
    /// `is_conflict()` and friends work on it as on a point operation's error.
    pub(crate) fn operation_failed(
        status: u16,
        sub_status: Option<u32>,
        message: Option<&str>,
        diagnostics: Arc<CosmosDiagnostics>,
    ) -> Self {
        let mut text = format!("service answered {status} for this operation");
        if let Some(m) = message.and_then(|m| m.lines().next()) {
            text.push_str(": ");
            text.push_str(m);
        }
        let mut e = Self::base(ErrorKind::Service, text, diagnostics);
        e.status = Some(status);
        e.sub_status = sub_status;
        CosmosError { inner: Arc::new(e) }
    }

    /// A serialization failure of the typed layer ([`ErrorKind::Serialization`]); `message`
    /// names the field.
    pub fn serialization(message: String, diagnostics: Arc<CosmosDiagnostics>) -> Self {
        CosmosError {
            inner: Arc::new(Self::base(ErrorKind::Serialization, message, diagnostics)),
        }
    }

    pub(crate) fn config(err: ConfigError, diagnostics: Arc<CosmosDiagnostics>) -> Self {
        let mut e = Self::base(ErrorKind::Configuration, err.to_string(), diagnostics);
        e.config = Some(err);
        CosmosError { inner: Arc::new(e) }
    }

    /// The category.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status the service answered with (None for client-side failures).
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The Cosmos sub-status (`x-ms-substatus`), when the service sent one.
    pub fn sub_status(&self) -> Option<u32> {
        self.inner.sub_status
    }

    /// A human-readable description.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The service's response headers, for service errors.
    pub fn headers(&self) -> Option<&ResponseHeaders> {
        self.inner.headers.as_ref()
    }

    /// The service's error body, for service errors.
    pub fn body(&self) -> &Bytes {
        &self.inner.body
    }

    /// The transport failure, for transport errors.
    pub fn transport_error(&self) -> Option<&TransportError> {
        self.inner.transport.as_ref()
    }

    /// The configuration problem, for configuration errors.
    pub fn config_error(&self) -> Option<&ConfigError> {
        self.inner.config.as_ref()
    }

    /// Diagnostics of every attempt the operation made.
    pub fn diagnostics(&self) -> &Arc<CosmosDiagnostics> {
        &self.inner.diagnostics
    }

    /// 429: the request rate is too large.
    pub fn is_throttling(&self) -> bool {
        self.inner.status == Some(429)
    }

    /// 404: the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        self.inner.status == Some(404)
    }

    /// 409: a resource with the same id (or unique key) exists.
    pub fn is_conflict(&self) -> bool {
        self.inner.status == Some(409)
    }

    /// 412: an `if-match` precondition failed (the etag changed).
    pub fn is_precondition_failed(&self) -> bool {
        self.inner.status == Some(412)
    }

    /// True for the end-to-end timeout.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }
}

fn service_message(status: u16, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(Body { code, message }) => {
            let mut s = format!("service answered {status}");
            if let Some(c) = code {
                s.push_str(&format!(" {c}"));
            }
            if let Some(m) = message {
                // Service messages can be long (they embed diagnostics); keep the first line.
                let first = m.lines().next().unwrap_or("");
                s.push_str(": ");
                s.push_str(first);
            }
            s
        }
        Err(_) => format!("service answered {status}"),
    }
}

impl From<ConfigError> for CosmosError {
    /// A configuration problem found outside any operation (building a runtime or driver).
    fn from(err: ConfigError) -> Self {
        CosmosError::config(err, Arc::new(CosmosDiagnostics::empty()))
    }
}

impl fmt::Debug for CosmosError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosmosError")
            .field("kind", &self.inner.kind)
            .field("status", &self.inner.status)
            .field("sub_status", &self.inner.sub_status)
            .field("message", &self.inner.message)
            .finish()
    }
}

impl fmt::Display for CosmosError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if let Some(s) = self.inner.sub_status {
            write!(f, " (sub-status {s})")?;
        }
        Ok(())
    }
}

impl std::error::Error for CosmosError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .config
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
