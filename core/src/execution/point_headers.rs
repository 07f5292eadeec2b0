//! The headers of a point operation's attempt (a create, read, replace, upsert, delete or
//! patch of one resource, without custom headers), built from the driver's header template of
//! their shape (`driver/header_templates.rs`) instead of one insert each.
//!
//! The names and their order are those of the general path (`prepared::static_headers` and
//! then the attempt's own headers); `tests::point_headers_equal_the_general_path` holds the two
//! together for every combination.

use http::HeaderValue;

use crate::driver::{HeaderSink, Shape};
use crate::headers::{names, API_VERSION};

use super::prepared::{
    APPLICATION_JSON, RETURN_MINIMAL, SUPPORTED_CAPABILITIES, TENTATIVE_TRUE, TRUE,
};

/// An attempt's headers, in the order they are sent. Each optional one is a bit of the shape:
/// which are present decides which names are written, and in what order.
pub(super) struct PointHeaders {
    pub user_agent: HeaderValue,
    pub activity_id: HeaderValue,
    pub partition_key: Option<HeaderValue>,
    pub content_type: Option<HeaderValue>,
    pub upsert: bool,
    pub if_match: Option<HeaderValue>,
    pub if_none_match: Option<HeaderValue>,
    /// The caller's explicit session token.
    pub session_token: Option<HeaderValue>,
    pub consistency: Option<HeaderValue>,
    pub prefer_minimal: bool,
    pub date: HeaderValue,
    pub authorization: HeaderValue,
    pub hub_only: bool,
    pub tentative_writes: bool,
    /// The container's session token this attempt sends.
    pub session: Option<HeaderValue>,
}

impl PointHeaders {
    /// Which optional headers are present, one bit each.
    pub fn shape(&self) -> Shape {
        [
            self.partition_key.is_some(),
            self.content_type.is_some(),
            self.upsert,
            self.if_match.is_some(),
            self.if_none_match.is_some(),
            self.session_token.is_some(),
            self.consistency.is_some(),
            self.prefer_minimal,
            self.hub_only,
            self.tentative_writes,
            self.session.is_some(),
        ]
        .iter()
        .enumerate()
        .fold(0, |shape, (bit, &present)| {
            shape | (Shape::from(present) << bit)
        })
    }

    /// Puts each header, in the order sent (that of the general path).
    pub fn write(self, sink: &mut HeaderSink<'_>) {
        sink.put(names::X_MS_VERSION, HeaderValue::from_static(API_VERSION));
        sink.put(
            names::SDK_SUPPORTED_CAPABILITIES,
            HeaderValue::from_static(SUPPORTED_CAPABILITIES),
        );
        sink.put(http::header::USER_AGENT, self.user_agent);
        sink.put(http::header::ACCEPT, APPLICATION_JSON);
        sink.put(names::ACTIVITY_ID, self.activity_id);
        if let Some(v) = self.partition_key {
            sink.put(names::PARTITION_KEY, v);
        }
        if let Some(v) = self.content_type {
            sink.put(http::header::CONTENT_TYPE, v);
        }
        if self.upsert {
            sink.put(names::IS_UPSERT, TRUE);
        }
        if let Some(v) = self.if_match {
            sink.put(names::IF_MATCH, v);
        }
        if let Some(v) = self.if_none_match {
            sink.put(names::IF_NONE_MATCH, v);
        }
        // An explicit session token sits where the static headers put it; were the attempt to
        // send a token too, its value would replace it there, as an insert would.
        let (session_token, session) = match (self.session_token, self.session) {
            (Some(_), Some(token)) => (Some(token), None),
            other => other,
        };
        if let Some(v) = session_token {
            sink.put(names::SESSION_TOKEN, v);
        }
        if let Some(v) = self.consistency {
            sink.put(names::CONSISTENCY_LEVEL, v);
        }
        if self.prefer_minimal {
            sink.put(names::PREFER, RETURN_MINIMAL);
        }
        sink.put(names::X_MS_DATE, self.date);
        sink.put(names::AUTHORIZATION, self.authorization);
        if self.hub_only {
            sink.put(names::HUB_REGION_ONLY, TRUE);
        }
        if self.tentative_writes {
            sink.put(names::ALLOW_TENTATIVE_WRITES, TENTATIVE_TRUE);
        }
        if let Some(v) = session {
            sink.put(names::SESSION_TOKEN, v);
        }
    }
}
