//! Opt-in idempotent writes: a tracking id stamped into the document lets a retried create
//! answered 409 (or a retried replace answered 412) be recognised as the driver's own success.
//!
//! Precedent: Java's non-idempotent write retry policy with `useTrackingIdProperty`, which
//! stamps `_trackingId`. Only used when the caller opted in to retrying writes that may have
//! been applied; without the opt-in such writes are never retried in the first place.

use bytes::Bytes;
use http::{HeaderMap, Method};

use crate::auth::encode::push_path_segment;
use crate::headers::names;
use crate::operation::{Address, OperationKind, ResourceType};
use crate::policy::OpClass;

use super::prepared::Prepared;

/// The document property holding the tracking id (Java's name).
pub const TRACKING_ID_PROPERTY: &str = "_trackingId";

/// What a tracked write needs to check its own success.
#[derive(Debug)]
pub(crate) struct Tracking {
    /// The id stamped into the document.
    pub id: String,
    /// The status a first-attempt success would have had (201 create, 200 replace).
    pub success_status: u16,
    /// The status that, after a possibly applied attempt, may be our own success.
    pub ambiguous_status: u16,
    /// A point read of the written item.
    pub check: Prepared,
}

/// True for the writes a tracking id is stamped into (item creates and replaces): their
/// read-back check is built from the operation's static headers.
pub(super) fn tracks(kind: OperationKind, resource_type: ResourceType) -> bool {
    statuses(kind, resource_type).is_some()
}

/// A tracked write's success status and the status its own earlier attempt answers a retry with.
fn statuses(kind: OperationKind, resource_type: ResourceType) -> Option<(u16, u16)> {
    match (kind, resource_type) {
        (OperationKind::Create, ResourceType::Item) => Some((201, 409)),
        (OperationKind::Replace, ResourceType::Item) => Some((200, 412)),
        _ => None,
    }
}

/// Stamps `tracking_id` into a create or replace body and prepares the check read. Returns the
/// new body, or `None` when the body is not a JSON object with a string `id` (then the write is
/// retried as the caller asked, without recognition).
pub(crate) fn stamp(
    prepared: &Prepared,
    kind: OperationKind,
    tracking_id: &str,
) -> Option<(Bytes, Tracking)> {
    let (success_status, ambiguous_status) = statuses(kind, prepared.resource_type)?;
    let mut doc: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&prepared.body).ok()?;
    let item_id = doc.get("id")?.as_str()?.to_owned();
    doc.insert(
        TRACKING_ID_PROPERTY.into(),
        serde_json::Value::String(tracking_id.into()),
    );
    let body = Bytes::from(serde_json::to_vec(&doc).ok()?);
    let (link, path) = if kind == OperationKind::Create {
        let mut path = prepared.path().to_owned();
        path.push('/');
        push_path_segment(&mut path, &item_id);
        (
            Address::Own(format!("{}/docs/{item_id}", prepared.link)),
            Some(path),
        )
    } else {
        (prepared.link.clone(), prepared.path.clone())
    };
    let mut headers: HeaderMap = prepared.headers.clone();
    for h in [
        http::header::CONTENT_TYPE,
        names::IF_MATCH,
        names::IF_NONE_MATCH,
        names::PREFER,
        names::IS_UPSERT,
    ] {
        headers.remove(h);
    }
    let check = Prepared {
        kind: OperationKind::Read,
        session_scoped: prepared.session_scoped,
        container: prepared.container.clone(),
        partition_key: None,
        send_session: true,
        resource_type: ResourceType::Item,
        method: Method::GET,
        link,
        path,
        body: Bytes::new(),
        headers,
        class: OpClass {
            read_only: true,
            retry_safe: true,
        },
        rebuild: None,
        taken: false,
    };
    Some((
        body,
        Tracking {
            id: tracking_id.to_owned(),
            success_status,
            ambiguous_status,
            check,
        },
    ))
}

/// True when `body` is a document carrying `tracking_id`.
pub(crate) fn is_ours(body: &[u8], tracking_id: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Doc {
        #[serde(rename = "_trackingId")]
        tracking: Option<String>,
    }
    serde_json::from_slice::<Doc>(body)
        .ok()
        .and_then(|d| d.tracking)
        .is_some_and(|t| t == tracking_id)
}
