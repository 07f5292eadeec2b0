//! The pieces of the typed layer (the seed's layer 3) that are not I/O: turning a caller's
//! `T: Serialize` into an item body and its partition key, and a response body into a
//! `T: DeserializeOwned`, with errors that name the field; typed bulk operations and results,
//! typed query pages, and typed all-versions-and-deletes change-feed entries. Each transport's
//! typed clients
//! (`driver.database(id).container(id)`) are thin wrappers over these and its own execute.

use std::marker::PhantomData;
use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

mod capture;
mod keys;

pub use keys::item_keys;

use crate::bulk::{BulkOperation, BulkResult};
use crate::diagnostics::CosmosDiagnostics;
use crate::error::CosmosError;
use crate::feed::QueryPage;
use crate::models::{PartitionKey, PartitionKeyDefinition};
use crate::operation::PatchBuilder;
use crate::response::CosmosResponse;

/// A typed item response: the item and what the service said about it.
#[derive(Debug, Clone)]
pub struct ItemResponse<T> {
    /// The item as the service returned it.
    pub item: T,
    /// The HTTP status.
    pub status: u16,
    /// Request units charged.
    pub request_charge: f64,
    /// The item's etag (for `if-match` on a later write).
    pub etag: Option<String>,
    /// The session token after this operation.
    pub session_token: Option<String>,
    /// Diagnostics of every attempt.
    pub diagnostics: Arc<CosmosDiagnostics>,
}

impl<T: DeserializeOwned> ItemResponse<T> {
    /// Decodes `response`'s body as a `T`.
    pub fn from_response(response: &CosmosResponse) -> Result<Self, CosmosError> {
        Ok(ItemResponse {
            item: decode(response.response_bytes(), response.diagnostics())?,
            status: response.status(),
            request_charge: response.headers().request_charge(),
            etag: etag_of(response),
            session_token: response.headers().session_token().map(str::to_owned),
            diagnostics: Arc::clone(response.diagnostics()),
        })
    }
}

/// The `etag` header, or the body's `_etag` when a server leaves the header out (the local
/// emulator does; the service sends both, equal).
pub fn etag_of(response: &CosmosResponse) -> Option<String> {
    if let Some(e) = response.headers().etag() {
        return Some(e.to_owned());
    }
    #[derive(serde::Deserialize)]
    struct Etag<'a> {
        #[serde(rename = "_etag", borrow)]
        etag: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<Etag<'_>>(response.response_bytes())
        .ok()?
        .etag
        .map(|e| e.into_owned())
}

/// `body` as a `T`; an error names the field (`customer.address.zip`) and what was wrong.
///
/// Decoded at `serde_json::from_slice`'s cost: the field path is only worked out, by decoding
/// again, when decoding failed (tracking it on every decode doubled the cost; see
/// docs/PERFORMANCE.md, "Typed layer").
pub fn decode<T: DeserializeOwned>(
    body: &[u8],
    diagnostics: &Arc<CosmosDiagnostics>,
) -> Result<T, CosmosError> {
    if let Ok(v) = serde_json::from_slice(body) {
        return Ok(v);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            Err(CosmosError::serialization(
                format!(
                    "the response body does not fit the type at `{path}`: {}",
                    e.inner()
                ),
                Arc::clone(diagnostics),
            ))
        }
    }
}

/// A JSON value (a query row) as a `T`; an error names the field. The path is worked out only
/// when decoding failed, as in [`decode`].
pub fn from_value<T: DeserializeOwned>(
    value: Value,
    diagnostics: &Arc<CosmosDiagnostics>,
) -> Result<T, CosmosError> {
    from_value_at(value, "", diagnostics)
}

/// [`from_value`] for a value found at `at` in a larger document (`current` of a change-feed
/// envelope): the field named in an error starts with `at`.
fn from_value_at<T: DeserializeOwned>(
    value: Value,
    at: &str,
    diagnostics: &Arc<CosmosDiagnostics>,
) -> Result<T, CosmosError> {
    if let Ok(v) = T::deserialize(&value) {
        return Ok(v);
    }
    serde_path_to_error::deserialize(&value).map_err(|e| {
        let inner = e.path().to_string();
        let path = match (at, inner.as_str()) {
            ("", p) => p.to_owned(),
            (a, ".") => a.to_owned(),
            (a, p) => format!("{a}.{p}"),
        };
        CosmosError::serialization(
            format!("a result does not fit the type at `{path}`: {}", e.inner()),
            Arc::clone(diagnostics),
        )
    })
}

/// `item` as JSON (its value, for the partition key and id, and its bytes); an error names the
/// field that could not be serialized.
pub fn encode<T: Serialize>(item: &T) -> Result<(Value, Bytes), CosmosError> {
    // The path is worked out only when serializing failed, as in `decode`.
    let value = match serde_json::to_value(item) {
        Ok(v) => v,
        Err(_) => {
            serde_path_to_error::serialize(item, serde_json::value::Serializer).map_err(|e| {
                let path = e.path().to_string();
                CosmosError::serialization(
                    format!("the item cannot be serialized at `{path}`: {}", e.inner()),
                    Arc::new(CosmosDiagnostics::empty()),
                )
            })?
        }
    };
    let bytes = serde_json::to_vec(&value).map_err(|e| {
        CosmosError::serialization(
            format!("the item cannot be written as JSON: {e}"),
            Arc::new(CosmosDiagnostics::empty()),
        )
    })?;
    Ok((value, Bytes::from(bytes)))
}

/// `item` serialized once, straight to JSON bytes; an error names the field that could not be
/// serialized (worked out, by serializing again with the path tracked, only when serializing
/// failed).
pub fn to_bytes<T: Serialize>(item: &T) -> Result<Bytes, CosmosError> {
    match serde_json::to_vec(item) {
        Ok(b) => Ok(Bytes::from(b)),
        Err(first) => Err(match encode(item) {
            Err(e) => e,
            Ok(_) => CosmosError::serialization(
                format!("the item cannot be serialized: {first}"),
                Arc::new(CosmosDiagnostics::empty()),
            ),
        }),
    }
}

/// An item ready to send: its body, id and partition key.
#[derive(Debug, Clone)]
pub struct EncodedItem {
    /// The JSON body.
    pub body: Bytes,
    /// The item's `id`.
    pub id: String,
    /// Its partition key.
    pub partition_key: PartitionKey,
}

/// `item` serialized once, straight to bytes, with its id and partition key: a struct's are
/// copied out while it is serialized (only those few properties); any other item's are read
/// back from the bytes in one pass that builds nothing else. A key that is given must be the
/// item's.
pub fn encode_item<T: Serialize>(
    item: &T,
    definition: &PartitionKeyDefinition,
    given: Option<PartitionKey>,
) -> Result<EncodedItem, CosmosError> {
    let (names, paths) = keys::wanted(definition);
    let (body, captured) = match capture::to_vec_capturing(item, &names) {
        Ok(done) => done,
        // Serialize again with the path tracked, to name the field.
        Err(_) => {
            return Err(to_bytes(item).err().unwrap_or_else(|| {
                CosmosError::serialization(
                    "the item cannot be serialized".to_string(),
                    Arc::new(CosmosDiagnostics::empty()),
                )
            }))
        }
    };
    let (id, partition_key) = if captured.needs_scan {
        item_keys(&body, definition, given)?
    } else {
        keys::keys_from_top(
            |i| captured.values.get(i).and_then(|v| v.as_deref()),
            &names,
            &paths,
            definition,
            given,
        )?
    };
    Ok(EncodedItem {
        body: Bytes::from(body),
        id,
        partition_key,
    })
}

/// The item's `id`, which every item needs.
pub fn item_id(item: &Value) -> Result<&str, CosmosError> {
    item.get("id").and_then(Value::as_str).ok_or_else(|| {
        CosmosError::serialization(
            "the item has no string `id` field, which Cosmos DB requires".into(),
            Arc::new(CosmosDiagnostics::empty()),
        )
    })
}

/// The partition key of `item` under `definition`. When the caller gave one, it must be the
/// item's (the service would refuse the write otherwise: 400 "partition key mismatch").
pub fn partition_key(
    item: &Value,
    definition: &PartitionKeyDefinition,
    given: Option<PartitionKey>,
) -> Result<PartitionKey, CosmosError> {
    let bad = |m: String| CosmosError::serialization(m, Arc::new(CosmosDiagnostics::empty()));
    let own = crate::backup::partition_key_of(item, definition).ok_or_else(|| {
        bad(format!(
            "the item's partition key at {:?} is not a string, number, boolean or null",
            definition.paths
        ))
    })?;
    keys::given_or_own(given, own, definition)
}

/// One operation of a typed bulk run: a create, upsert or replace of a `T` (its id and
/// partition key are read from the item by the container's key paths when the run sends it),
/// or a read, delete or patch of an item by partition key and id. An item that cannot be
/// serialized is kept as that operation's error; it never stops the run.
pub struct TypedBulkOperation<T> {
    kind: BulkKind,
    if_match: Option<String>,
    rows: PhantomData<fn() -> T>,
}

#[derive(Debug)]
enum BulkKind {
    Create(Result<Bytes, CosmosError>),
    Upsert(Result<Bytes, CosmosError>),
    Replace(Result<Bytes, CosmosError>),
    Read(PartitionKey, String),
    Delete(PartitionKey, String),
    Patch(PartitionKey, String, PatchBuilder),
}

impl<T> std::fmt::Debug for TypedBulkOperation<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedBulkOperation")
            .field("kind", &self.kind)
            .field("if_match", &self.if_match)
            .finish()
    }
}

impl<T: Serialize> TypedBulkOperation<T> {
    /// Creates `item` (its result is a 409 error if the id exists in its partition).
    pub fn create(item: &T) -> Self {
        Self::of(BulkKind::Create(to_bytes(item)))
    }

    /// Creates or replaces `item`.
    pub fn upsert(item: &T) -> Self {
        Self::of(BulkKind::Upsert(to_bytes(item)))
    }

    /// Replaces the item with `item`'s id.
    pub fn replace(item: &T) -> Self {
        Self::of(BulkKind::Replace(to_bytes(item)))
    }
}

impl<T> TypedBulkOperation<T> {
    fn of(kind: BulkKind) -> Self {
        TypedBulkOperation {
            kind,
            if_match: None,
            rows: PhantomData,
        }
    }

    /// Reads item `id` of partition `partition_key` (its result holds the item).
    pub fn read(partition_key: impl Into<PartitionKey>, id: impl Into<String>) -> Self {
        Self::of(BulkKind::Read(partition_key.into(), id.into()))
    }

    /// Deletes item `id` of partition `partition_key`.
    pub fn delete(partition_key: impl Into<PartitionKey>, id: impl Into<String>) -> Self {
        Self::of(BulkKind::Delete(partition_key.into(), id.into()))
    }

    /// Applies `patch` to item `id` of partition `partition_key` (its result holds the patched
    /// item).
    pub fn patch(
        partition_key: impl Into<PartitionKey>,
        id: impl Into<String>,
        patch: PatchBuilder,
    ) -> Self {
        Self::of(BulkKind::Patch(partition_key.into(), id.into(), patch))
    }

    /// Only if the item's current etag is `etag` (upsert, replace, delete, patch); its result
    /// is a 412 error otherwise. On a create or read it makes the result an error.
    pub fn with_if_match(mut self, etag: impl Into<String>) -> Self {
        self.if_match = Some(etag.into());
        self
    }

    /// The byte-level operation, its id and partition key read from the item under
    /// `definition` for a create, upsert or replace. An error names what is wrong with the
    /// item (not serializable, no string `id`, a key that is not a string, number, boolean or
    /// null).
    pub fn into_bulk(
        self,
        definition: &PartitionKeyDefinition,
    ) -> Result<BulkOperation, CosmosError> {
        let op = match self.kind {
            BulkKind::Create(body) => {
                let body = body?;
                let (_, pk) = item_keys(&body, definition, None)?;
                BulkOperation::create(pk, body)
            }
            BulkKind::Upsert(body) => {
                let body = body?;
                let (_, pk) = item_keys(&body, definition, None)?;
                BulkOperation::upsert(pk, body)
            }
            BulkKind::Replace(body) => {
                let body = body?;
                let (id, pk) = item_keys(&body, definition, None)?;
                BulkOperation::replace(pk, id, body)
            }
            BulkKind::Read(pk, id) => BulkOperation::read(pk, id),
            BulkKind::Delete(pk, id) => BulkOperation::delete(pk, id),
            BulkKind::Patch(pk, id, patch) => BulkOperation::patch(pk, id, patch),
        };
        Ok(match self.if_match {
            Some(etag) => op.with_if_match(etag),
            None => op,
        })
    }
}

/// The correlation a typed bulk run gives each byte-level operation: the caller's, and the
/// error of an operation that could not be built (sent as [`BulkOperation::rejected`]).
pub type BulkSlot<C> = (C, Option<CosmosError>);

/// `op` as a byte-level bulk operation under `definition`, with its slot: an operation that
/// cannot be built becomes a rejected one whose slot keeps the typed error.
pub fn bulk_entry<C, T>(
    correlation: C,
    op: TypedBulkOperation<T>,
    definition: &PartitionKeyDefinition,
) -> (BulkSlot<C>, BulkOperation) {
    match op.into_bulk(definition) {
        Ok(b) => ((correlation, None), b),
        Err(e) => {
            let rejected = BulkOperation::rejected(e.message());
            ((correlation, Some(e)), rejected)
        }
    }
}

/// What the service did with one successful operation of a typed bulk run.
#[derive(Debug, Clone)]
pub struct TypedBulkResponse<T> {
    /// Its status (2xx).
    pub status: u16,
    /// Request units it consumed.
    pub request_charge: f64,
    /// The item's etag after it (writes and reads).
    pub etag: Option<String>,
    /// The item, where the service returned one (reads, patches, and writes unless
    /// `content_response_on_write` is off); `None` for a delete.
    pub item: Option<T>,
}

/// The final result of one operation of a typed bulk run, with the caller's correlation.
#[derive(Debug)]
pub struct TypedBulkResult<C, T> {
    /// The caller's id of the operation.
    pub correlation: C,
    /// The service's success, or the error: [`crate::ErrorKind::Serialization`] for an item
    /// that could not be serialized, had no id or no usable key, or whose returned body does not
    /// fit `T` (the write was applied then); [`crate::ErrorKind::Service`] with the status for
    /// an operation the service refused (409, 412, 404, a 429 after its retries, ...); or the
    /// error that stopped its window.
    pub outcome: Result<TypedBulkResponse<T>, CosmosError>,
}

/// The typed result of one byte-level result of a typed bulk run.
pub fn bulk_result<C, T: DeserializeOwned>(
    result: BulkResult<BulkSlot<C>>,
) -> TypedBulkResult<C, T> {
    let (correlation, rejected) = result.correlation;
    let diagnostics = || Arc::new(CosmosDiagnostics::empty());
    let outcome = match (rejected, result.outcome) {
        (Some(e), _) | (None, Err(e)) => Err(e),
        (None, Ok(r)) if !r.is_success() => Err(CosmosError::operation_failed(
            r.status,
            r.sub_status,
            r.message.as_deref(),
            diagnostics(),
        )),
        (None, Ok(r)) => r
            .resource_body
            .map(|v| from_value(v, &diagnostics()))
            .transpose()
            .map(|item| TypedBulkResponse {
                status: r.status,
                request_charge: r.request_charge,
                etag: r.etag,
                item,
            }),
    };
    TypedBulkResult {
        correlation,
        outcome,
    }
}

/// One page of a typed query: its rows as `T`s and what the service said about it.
#[derive(Debug, Clone)]
pub struct TypedPage<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Request units of the page's requests.
    pub request_charge: f64,
    /// The token to resume after this page (`OperationOptions::with_continuation` on a new
    /// query): `None` on the last page, and before the end of a query that cannot resume from
    /// a token (see `has_more_results`).
    pub continuation: Option<String>,
    /// More results follow this page.
    pub has_more_results: bool,
    /// The service's query metrics, when asked for (`with_query_metrics`).
    pub query_metrics: Option<String>,
    /// The service's index metrics, when asked for (`with_index_metrics`).
    pub index_metrics: Option<String>,
    /// Diagnostics of the page's requests.
    pub diagnostics: Arc<CosmosDiagnostics>,
}

impl<T> TypedPage<T> {
    /// The activity id of the page's operation (as in its diagnostics).
    pub fn activity_id(&self) -> crate::ActivityId {
        self.diagnostics.activity_id()
    }
}

impl<T: DeserializeOwned> TypedPage<T> {
    /// `page` with its rows decoded as `T`s; an error names the field of the first row that
    /// does not fit.
    pub fn from_page(page: QueryPage) -> Result<Self, CosmosError> {
        let diagnostics = Arc::clone(page.diagnostics());
        let request_charge = page.request_charge();
        let continuation = page.continuation().map(str::to_owned);
        let has_more_results = page.has_more_results();
        let query_metrics = page.query_metrics().map(str::to_owned);
        let index_metrics = page.index_metrics().map(str::to_owned);
        let items = page
            .into_items()
            .into_iter()
            .map(|v| from_value(v, &diagnostics))
            .collect::<Result<_, _>>()?;
        Ok(TypedPage {
            items,
            request_charge,
            continuation,
            has_more_results,
            query_metrics,
            index_metrics,
            diagnostics,
        })
    }
}

/// What a change of an all-versions-and-deletes feed was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeFeedOperationType {
    /// The item was created.
    Create,
    /// The item was replaced (an upsert of an existing item, a patch).
    Replace,
    /// The item was deleted, or expired (`time_to_live_expired`).
    Delete,
}

/// The metadata of one change of an all-versions-and-deletes feed (PROTOCOL.md §9.2).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeFeedMetadata {
    /// What the change was.
    pub operation_type: ChangeFeedOperationType,
    /// Its log sequence number.
    pub lsn: u64,
    /// Its conflict-resolution timestamp (`crts`, seconds since the Unix epoch).
    pub conflict_resolution_timestamp: Option<u64>,
    /// The LSN of the version it replaced or deleted (`previousImageLSN`).
    pub previous_lsn: Option<u64>,
    /// A delete made by the item's time to live expiring.
    pub time_to_live_expired: bool,
    /// The deleted item's id (the service sends it with deletes).
    pub id: Option<String>,
    /// The deleted item's partition key (the service sends it with deletes), read by the
    /// container's key paths.
    pub partition_key: Option<PartitionKey>,
}

/// One change of an all-versions-and-deletes feed, typed.
#[derive(Debug, Clone)]
pub struct ChangeFeedItem<T> {
    /// The item after a create or replace; `None` for a delete.
    pub current: Option<T>,
    /// The item before the change, when the service sent it.
    pub previous: Option<T>,
    /// What the change was, its LSN and, for a delete, the item's id and partition key.
    pub metadata: ChangeFeedMetadata,
}

#[derive(serde::Deserialize)]
struct WireChange {
    #[serde(default)]
    current: Option<Value>,
    #[serde(default)]
    previous: Option<Value>,
    metadata: WireMetadata,
}

#[derive(serde::Deserialize)]
struct WireMetadata {
    #[serde(rename = "operationType")]
    operation_type: String,
    lsn: u64,
    #[serde(default)]
    crts: Option<u64>,
    #[serde(default, rename = "previousImageLSN")]
    previous_lsn: Option<u64>,
    #[serde(default, rename = "timeToLiveExpired")]
    time_to_live_expired: bool,
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "partitionKey")]
    partition_key: Option<Value>,
}

/// True when `envelope` (one change of an all-versions-and-deletes page) carries a partition
/// key in its metadata, which [`decode_change`] reads by the container's key paths.
pub fn change_has_partition_key(envelope: &Value) -> bool {
    envelope
        .get("metadata")
        .and_then(|m| m.get("partitionKey"))
        .is_some_and(|k| !k.is_null())
}

/// One `{current, previous, metadata}` envelope of an all-versions-and-deletes page as a
/// [`ChangeFeedItem`]. The metadata's partition key (an object holding the key fields, either
/// nested like the item or keyed by the path without its leading `/`) is read under
/// `definition`; without one it is left out. An error names the field that does not fit
/// (`current.total`) or the operation type that is not known.
pub fn decode_change<T: DeserializeOwned>(
    envelope: Value,
    definition: Option<&PartitionKeyDefinition>,
    diagnostics: &Arc<CosmosDiagnostics>,
) -> Result<ChangeFeedItem<T>, CosmosError> {
    let wire: WireChange = from_value(envelope, diagnostics)?;
    let m = wire.metadata;
    let bad = |message: String| CosmosError::serialization(message, Arc::clone(diagnostics));
    let operation_type = match m.operation_type.to_ascii_lowercase().as_str() {
        "create" => ChangeFeedOperationType::Create,
        "replace" => ChangeFeedOperationType::Replace,
        "delete" => ChangeFeedOperationType::Delete,
        other => {
            return Err(bad(format!(
                "a change has operation type `{other}`, not create, replace or delete"
            )))
        }
    };
    let partition_key = match (m.partition_key, definition) {
        (Some(Value::Null), _) | (None, _) | (_, None) => None,
        (Some(k), Some(def)) => Some(metadata_key(&k, def).ok_or_else(|| {
            bad(format!(
                "a change's metadata partition key {k} does not fit the key paths {:?}",
                def.paths
            ))
        })?),
    };
    Ok(ChangeFeedItem {
        current: wire
            .current
            .map(|v| from_value_at(v, "current", diagnostics))
            .transpose()?,
        previous: wire
            .previous
            .map(|v| from_value_at(v, "previous", diagnostics))
            .transpose()?,
        metadata: ChangeFeedMetadata {
            operation_type,
            lsn: m.lsn,
            conflict_resolution_timestamp: m.crts,
            previous_lsn: m.previous_lsn,
            time_to_live_expired: m.time_to_live_expired,
            id: m.id,
            partition_key,
        },
    })
}

/// The partition key in a change's metadata: per key path, the field named by the path
/// without its leading `/`, or else the field reached by following the path (a missing one is
/// undefined, as for an item).
fn metadata_key(key: &Value, definition: &PartitionKeyDefinition) -> Option<PartitionKey> {
    let mut parts = Vec::with_capacity(definition.paths.len());
    for path in &definition.paths {
        let flat = key.get(path.trim_start_matches('/'));
        let value = flat.or_else(|| {
            let mut at = Some(key);
            for seg in crate::backup::path_segments(path) {
                at = at.and_then(|v| v.get(seg));
            }
            at
        });
        parts.push(crate::backup::key_component(value)?);
    }
    PartitionKey::hierarchical(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Order {
        id: String,
        customer: Customer,
        total: u32,
    }

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Customer {
        tenant: String,
    }

    #[test]
    fn decode_errors_name_the_field() {
        let body = br#"{"id":"o1","customer":{"tenant":7},"total":3}"#;
        let err = decode::<Order>(body, &Arc::new(CosmosDiagnostics::empty())).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Serialization);
        assert!(err.message().contains("`customer.tenant`"), "{err:?}");
        let ok: Order = decode(
            br#"{"id":"o1","customer":{"tenant":"t"},"total":3,"_rid":"x"}"#,
            &Arc::new(CosmosDiagnostics::empty()),
        )
        .unwrap();
        assert_eq!(ok.total, 3);
    }

    #[test]
    fn partition_keys_come_from_the_item_and_are_checked() {
        let (value, bytes) = encode(&Order {
            id: "o1".into(),
            customer: Customer {
                tenant: "t1".into(),
            },
            total: 1,
        })
        .unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), value);
        assert_eq!(item_id(&value).unwrap(), "o1");
        let def = PartitionKeyDefinition::hash("/customer/tenant");
        assert_eq!(
            partition_key(&value, &def, None).unwrap().to_header_value(),
            r#"["t1"]"#
        );
        assert!(partition_key(&value, &def, Some(PartitionKey::from("t1"))).is_ok());
        let err = partition_key(&value, &def, Some(PartitionKey::from("t2"))).unwrap_err();
        assert!(err.message().contains("not the item's"), "{err:?}");
        let no_id = json!({"x": 1});
        assert!(item_id(&no_id).is_err());
    }

    #[test]
    fn item_keys_see_escaped_names_nested_paths_and_skip_the_rest() {
        let def = PartitionKeyDefinition::hierarchical(["/a/b", "/t"]);
        let body = br#"{"big":[1,{"x":"y"}],"i\u0064":"o1","a":{"z":1,"b":"k"},"t":2,"id2":3}"#;
        let (id, pk) = item_keys(body, &def, None).unwrap();
        assert_eq!(id, "o1");
        assert_eq!(
            pk,
            PartitionKey::hierarchical(["k".into(), crate::models::PartitionKeyValue::Number(2.0)])
                .unwrap()
        );
        // Trailing garbage or a non-object is refused, not half-read.
        assert!(item_keys(br#"{"id":"o1","a":{"b":"k"},"t":2} x"#, &def, None).is_err());
        assert!(item_keys(br#"["id"]"#, &def, None).is_err());
    }

    #[test]
    fn item_keys_are_read_from_the_bytes_without_the_document() {
        let def = PartitionKeyDefinition::hash("/customer/tenant");
        let body = br#"{"lines":[{"a":[1,2,{"b":"}"}]}],"customer":{"name":"x","tenant":"t\"1"},"id":"o\u00e9"}"#;
        let (id, pk) = item_keys(body, &def, None).unwrap();
        assert_eq!(id, "o\u{e9}");
        assert_eq!(pk.to_header_value(), r#"["t\"1"]"#);
        // The same answer as the value-based extraction.
        let value: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(
            partition_key(&value, &def, None).unwrap().to_header_value(),
            pk.to_header_value()
        );
        assert!(item_keys(br#"{"customer":{"tenant":"t"}}"#, &def, None).is_err());
        assert!(item_keys(br#"[1]"#, &def, None).is_err());
        let missing = item_keys(br#"{"id":"a"}"#, &def, None).unwrap().1;
        assert_eq!(missing.to_header_value(), "[{}]");
        let err = item_keys(br#"{"id":"a","customer":{"tenant":[1]}}"#, &def, None).unwrap_err();
        assert!(err.message().contains("/customer/tenant"), "{err:?}");
        let err = item_keys(body, &def, Some(PartitionKey::from("other"))).unwrap_err();
        assert!(err.message().contains("not the item's"), "{err:?}");
        let e = encode_item(&json!({"id": "z", "customer": {"tenant": "q"}}), &def, None).unwrap();
        assert_eq!(
            (e.id.as_str(), e.partition_key.to_header_value().as_str()),
            ("z", r#"["q"]"#)
        );
    }

    #[test]
    fn encode_errors_name_the_field() {
        use std::collections::BTreeMap;
        #[derive(Serialize)]
        struct Bad {
            id: String,
            scores: BTreeMap<(u8, u8), u8>,
        }
        let mut scores = BTreeMap::new();
        scores.insert((1, 2), 3);
        let err = encode(&Bad {
            id: "b".into(),
            scores,
        })
        .unwrap_err();
        assert!(err.message().contains("`scores`"), "{err:?}");
    }
    #[test]
    fn bulk_entries_take_the_key_from_the_item_and_keep_item_errors() {
        use std::collections::BTreeMap;
        let def = PartitionKeyDefinition::hash("/customer/tenant");
        let o = Order {
            id: "o1".into(),
            customer: Customer {
                tenant: "t1".into(),
            },
            total: 1,
        };
        let ((c, problem), op) = bulk_entry("a", TypedBulkOperation::replace(&o), &def);
        assert_eq!((c, problem.is_none()), ("a", true));
        assert_eq!(op.partition_key().to_header_value(), r#"["t1"]"#);
        assert!(
            matches!(op.operation(), crate::batch::BatchOperation::Replace { id, .. } if id == "o1")
        );

        // No id: the slot keeps a serialization error naming it; the operation is rejected.
        let no_id = json!({"customer": {"tenant": "t1"}});
        let ((_, problem), _) = bulk_entry(1, TypedBulkOperation::create(&no_id), &def);
        let e = problem.unwrap();
        assert_eq!(e.kind(), crate::ErrorKind::Serialization);
        assert!(e.message().contains("`id`"), "{e:?}");

        // Not serializable: the error names the field.
        #[derive(Serialize)]
        struct Bad {
            id: String,
            scores: BTreeMap<(u8, u8), u8>,
        }
        let bad = Bad {
            id: "b".into(),
            scores: BTreeMap::from([((1, 2), 3)]),
        };
        let ((_, problem), _) = bulk_entry(2, TypedBulkOperation::upsert(&bad), &def);
        assert!(problem.unwrap().message().contains("`scores`"));

        let ((_, problem), op) = bulk_entry(
            3,
            TypedBulkOperation::<Order>::delete("t9", "x").with_if_match("e"),
            &def,
        );
        assert!(problem.is_none());
        assert_eq!(op.partition_key().to_header_value(), r#"["t9"]"#);
    }

    #[test]
    fn bulk_results_are_typed() {
        let ok = crate::BatchOperationResult {
            status: 201,
            sub_status: None,
            request_charge: 5.5,
            etag: Some("e1".into()),
            resource_body: Some(json!({"id": "o1", "customer": {"tenant": "t"}, "total": 3})),
            retry_after: None,
            message: None,
        };
        let r: TypedBulkResult<u8, Order> = bulk_result(BulkResult {
            correlation: (7, None),
            outcome: Ok(ok.clone()),
        });
        let got = r.outcome.unwrap();
        assert_eq!(r.correlation, 7);
        assert_eq!((got.status, got.request_charge), (201, 5.5));
        assert_eq!(got.item.unwrap().total, 3);

        let conflict = crate::BatchOperationResult {
            status: 409,
            resource_body: None,
            message: Some("Entity with the specified id already exists".into()),
            ..ok.clone()
        };
        let r: TypedBulkResult<u8, Order> = bulk_result(BulkResult {
            correlation: (8, None),
            outcome: Ok(conflict),
        });
        let e = r.outcome.unwrap_err();
        assert!(
            e.is_conflict() && e.kind() == crate::ErrorKind::Service,
            "{e:?}"
        );
        assert!(e.message().contains("already exists"), "{e:?}");

        let wrong = crate::BatchOperationResult {
            resource_body: Some(json!({"id": "o1", "customer": {"tenant": "t"}, "total": "x"})),
            ..ok
        };
        let r: TypedBulkResult<u8, Order> = bulk_result(BulkResult {
            correlation: (9, None),
            outcome: Ok(wrong),
        });
        assert!(r.outcome.unwrap_err().message().contains("`total`"));
    }

    #[test]
    fn all_versions_envelopes_are_typed() {
        let d = Arc::new(CosmosDiagnostics::empty());
        let def = PartitionKeyDefinition::hash("/customer/tenant");
        let create = json!({"current": {"id": "o1", "customer": {"tenant": "t"}, "total": 1},
            "metadata": {"operationType": "create", "lsn": 5, "crts": 100}});
        let c: ChangeFeedItem<Order> = decode_change(create, Some(&def), &d).unwrap();
        assert_eq!(c.metadata.operation_type, ChangeFeedOperationType::Create);
        assert_eq!((c.metadata.lsn, c.metadata.previous_lsn), (5, None));
        assert_eq!(c.current.unwrap().total, 1);

        let replace = json!({"current": {"id": "o1", "customer": {"tenant": "t"}, "total": 2},
            "metadata": {"operationType": "replace", "lsn": 6, "previousImageLSN": 5}});
        let r: ChangeFeedItem<Order> = decode_change(replace, Some(&def), &d).unwrap();
        assert_eq!(r.metadata.operation_type, ChangeFeedOperationType::Replace);
        assert_eq!(r.metadata.previous_lsn, Some(5));

        // Deletes: no current; id and key from the metadata, flat or nested.
        for key in [
            json!({"customer/tenant": "t"}),
            json!({"customer": {"tenant": "t"}}),
        ] {
            let delete = json!({"metadata": {"operationType": "delete", "lsn": 7,
                "previousImageLSN": 6, "timeToLiveExpired": false, "id": "o1", "partitionKey": key}});
            assert!(change_has_partition_key(&delete));
            let x: ChangeFeedItem<Order> = decode_change(delete, Some(&def), &d).unwrap();
            assert_eq!(x.metadata.operation_type, ChangeFeedOperationType::Delete);
            assert!(x.current.is_none());
            assert_eq!(x.metadata.id.as_deref(), Some("o1"));
            assert_eq!(
                x.metadata.partition_key.unwrap().to_header_value(),
                r#"["t"]"#
            );
        }

        let wrong = json!({"current": {"id": "o1", "customer": {"tenant": "t"}, "total": "x"},
            "metadata": {"operationType": "create", "lsn": 5}});
        let e = decode_change::<Order>(wrong, Some(&def), &d).unwrap_err();
        assert!(e.message().contains("`current.total`"), "{e:?}");
        let odd = json!({"metadata": {"operationType": "purge", "lsn": 5}});
        let e = decode_change::<Order>(odd, Some(&def), &d).unwrap_err();
        assert!(e.message().contains("`purge`"), "{e:?}");
    }
}
