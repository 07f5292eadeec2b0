//! Reading a ReadMany outcome: the items in the order their keys were given.

use std::sync::Arc;

use serde_json::Value;

use crate::diagnostics::CosmosDiagnostics;
use crate::error::{CosmosError, ErrorKind};
use crate::response::CosmosResponse;

/// The items of a ReadMany, one entry per key in the order the keys were given.
#[derive(Debug, Clone)]
pub struct ReadManyResponse {
    items: Vec<Option<Value>>,
    request_charge: f64,
    diagnostics: Arc<CosmosDiagnostics>,
}

impl ReadManyResponse {
    /// Reads the response of a ReadMany of `keys` keys. An error when the body is not the
    /// core's aligned list or has another length.
    pub fn from_response(
        response: &CosmosResponse,
        keys: usize,
    ) -> Result<ReadManyResponse, CosmosError> {
        let bad = |why: String| {
            CosmosError::new(
                ErrorKind::Internal,
                format!("a ReadMany response is malformed: {why}"),
                response.diagnostics().clone(),
            )
        };
        let mut v: Value =
            serde_json::from_slice(response.response_bytes()).map_err(|e| bad(e.to_string()))?;
        let Some(Value::Array(docs)) = v.get_mut("Documents").map(Value::take) else {
            return Err(bad("no \"Documents\" array".into()));
        };
        if docs.len() != keys {
            return Err(bad(format!("{} entries for {keys} keys", docs.len())));
        }
        let items = docs
            .into_iter()
            .map(|d| if d.is_null() { None } else { Some(d) })
            .collect();
        Ok(ReadManyResponse {
            items,
            request_charge: response.headers().request_charge(),
            diagnostics: response.diagnostics().clone(),
        })
    }

    /// One entry per key, in the order given: the item, or `None` when it does not exist.
    pub fn items(&self) -> &[Option<Value>] {
        &self.items
    }

    /// Takes the entries out.
    pub fn into_items(self) -> Vec<Option<Value>> {
        self.items
    }

    /// The positions of the keys that have no item.
    pub fn missing(&self) -> Vec<usize> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.is_none().then_some(i))
            .collect()
    }

    /// Request units of every request the ReadMany made.
    pub fn request_charge(&self) -> f64 {
        self.request_charge
    }

    /// Every request the ReadMany made.
    pub fn diagnostics(&self) -> &Arc<CosmosDiagnostics> {
        &self.diagnostics
    }
}
