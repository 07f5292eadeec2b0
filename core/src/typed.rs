//! The pieces of the typed layer (the seed's layer 3) that are not I/O: turning a caller's
//! `T: Serialize` into an item body and its partition key, and a response body into a
//! `T: DeserializeOwned`, with errors that name the field. Each transport's typed clients
//! (`driver.database(id).container(id)`) are thin wrappers over these and its own execute.

use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::diagnostics::CosmosDiagnostics;
use crate::error::CosmosError;
use crate::models::{PartitionKey, PartitionKeyDefinition};
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
    if let Ok(v) = T::deserialize(&value) {
        return Ok(v);
    }
    serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
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

/// `item` serialized once, straight to bytes, with its id and partition key read back from those
/// bytes without building the document (only the top-level fields and the key path are looked
/// at). A key that is given must be the item's.
pub fn encode_item<T: Serialize>(
    item: &T,
    definition: &PartitionKeyDefinition,
    given: Option<PartitionKey>,
) -> Result<EncodedItem, CosmosError> {
    let body = match serde_json::to_vec(item) {
        Ok(b) => Bytes::from(b),
        Err(first) => {
            // Serialize again with the path tracked, for a message that names the field.
            return Err(match encode(item) {
                Err(e) => e,
                Ok(_) => CosmosError::serialization(
                    format!("the item cannot be serialized: {first}"),
                    Arc::new(CosmosDiagnostics::empty()),
                ),
            });
        }
    };
    let (id, partition_key) = item_keys(&body, definition, given)?;
    Ok(EncodedItem {
        body,
        id,
        partition_key,
    })
}

/// The id and partition key of the item in `body`, read without building the document.
pub fn item_keys(
    body: &[u8],
    definition: &PartitionKeyDefinition,
    given: Option<PartitionKey>,
) -> Result<(String, PartitionKey), CosmosError> {
    use serde_json::value::RawValue;
    use std::collections::HashMap;
    let bad = |m: String| CosmosError::serialization(m, Arc::new(CosmosDiagnostics::empty()));
    fn fields(raw: &[u8]) -> Option<HashMap<String, &RawValue>> {
        serde_json::from_slice(raw).ok()
    }
    let top = fields(body).ok_or_else(|| bad("the item is not a JSON object".into()))?;
    let id = top
        .get("id")
        .and_then(|r| serde_json::from_str::<String>(r.get()).ok())
        .ok_or_else(|| bad("the item has no string `id` field, which Cosmos DB requires".into()))?;
    let mut parts = Vec::with_capacity(definition.paths.len());
    for path in &definition.paths {
        let mut segments = crate::backup::path_segments(path);
        let mut at = segments.next().and_then(|s| top.get(s).copied());
        for seg in segments {
            at = at.and_then(|r| fields(r.get().as_bytes())?.get(seg).copied());
        }
        let value = at
            .map(|r| serde_json::from_str::<Value>(r.get()))
            .transpose()
            .ok()
            .flatten();
        let component = crate::backup::key_component(value.as_ref()).ok_or_else(|| {
            bad(format!(
                "the item's partition key at {path} is not a string, number, boolean or null"
            ))
        })?;
        parts.push(component);
    }
    let own = PartitionKey::hierarchical(parts)
        .map_err(|e| bad(format!("the item's partition key is not usable: {e}")))?;
    match given {
        Some(g) if g.to_header_value() != own.to_header_value() => Err(bad(format!(
            "the partition key given ({}) is not the item's ({} at {:?})",
            g.to_header_value(),
            own.to_header_value(),
            definition.paths
        ))),
        Some(g) => Ok((id, g)),
        None => Ok((id, own)),
    }
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
    match given {
        Some(g) if g.to_header_value() != own.to_header_value() => Err(bad(format!(
            "the partition key given ({}) is not the item's ({} at {:?})",
            g.to_header_value(),
            own.to_header_value(),
            definition.paths
        ))),
        Some(g) => Ok(g),
        None => Ok(own),
    }
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
}
