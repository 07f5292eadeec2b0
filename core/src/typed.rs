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
pub fn decode<T: DeserializeOwned>(
    body: &[u8],
    diagnostics: &Arc<CosmosDiagnostics>,
) -> Result<T, CosmosError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        CosmosError::serialization(
            format!(
                "the response body does not fit the type at `{path}`: {}",
                e.inner()
            ),
            Arc::clone(diagnostics),
        )
    })
}

/// A JSON value (a query row) as a `T`; an error names the field.
pub fn from_value<T: DeserializeOwned>(
    value: Value,
    diagnostics: &Arc<CosmosDiagnostics>,
) -> Result<T, CosmosError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
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
    let value =
        serde_path_to_error::serialize(item, serde_json::value::Serializer).map_err(|e| {
            let path = e.path().to_string();
            CosmosError::serialization(
                format!("the item cannot be serialized at `{path}`: {}", e.inner()),
                Arc::new(CosmosDiagnostics::empty()),
            )
        })?;
    let bytes = serde_json::to_vec(&value).map_err(|e| {
        CosmosError::serialization(
            format!("the item cannot be written as JSON: {e}"),
            Arc::new(CosmosDiagnostics::empty()),
        )
    })?;
    Ok((value, Bytes::from(bytes)))
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
