//! The status class an operation's final status falls in.

use serde::Serialize;

/// The class of an operation's final HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum StatusClass {
    /// 200–299.
    Success,
    /// 300–399 (304 Not Modified on conditional reads).
    Redirection,
    /// 400–499 (including 404, 409, 412 and 429 once retries are exhausted).
    ClientError,
    /// 500–599.
    ServerError,
    /// No response (transport failure, timeout, cancellation, configuration error) or a status
    /// outside 200–599.
    Other,
}

impl StatusClass {
    /// Every class, in display order.
    pub const ALL: [StatusClass; 5] = [
        StatusClass::Success,
        StatusClass::Redirection,
        StatusClass::ClientError,
        StatusClass::ServerError,
        StatusClass::Other,
    ];

    /// The class of a final status (`None`: no response arrived).
    pub fn of(status: Option<u16>) -> Self {
        match status {
            Some(200..=299) => StatusClass::Success,
            Some(300..=399) => StatusClass::Redirection,
            Some(400..=499) => StatusClass::ClientError,
            Some(500..=599) => StatusClass::ServerError,
            _ => StatusClass::Other,
        }
    }

    /// `"2xx"`, `"3xx"`, `"4xx"`, `"5xx"` or `"other"`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusClass::Success => "2xx",
            StatusClass::Redirection => "3xx",
            StatusClass::ClientError => "4xx",
            StatusClass::ServerError => "5xx",
            StatusClass::Other => "other",
        }
    }

    /// Position in [`StatusClass::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for StatusClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
