//! Building a ReadMany operation: the keys travel in the operation's body (never sent as is),
//! so a recorded ReadMany replays like any other operation.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::models::{validate_resource_id, ContainerReference, PartitionKey, ResourceIdKind};
use crate::operation::{CosmosOperation, OperationKind};

/// Most keys in one ReadMany. The result is held in memory whole, so the list is bounded;
/// split longer lists into several calls. None of the official SDKs bounds it (.NET and Java
/// take any list); 10,000 keys of 1 KB items is a 10 MB response.
pub const MAX_READ_MANY_ITEMS: usize = 10_000;

/// Keys per query sent to one range. Precedent: .NET `ReadManyQueryHelper.maxItemsPerQuery`
/// (1,000), which keeps the query text well under the service's 256 KB query limit.
pub const READ_MANY_KEYS_PER_QUERY: usize = 1_000;

/// One key of a ReadMany as the operation's body holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadManyKey {
    /// The item id.
    pub id: String,
    /// The partition key as its header value (`["a"]`).
    #[serde(rename = "partitionKey")]
    pub partition_key: String,
}

impl CosmosOperation {
    /// Reads the items of `container` with these (id, partition key) pairs, with the fewest
    /// requests: the keys are grouped by partition key range, a range holding one key gets a
    /// point read and a range holding more gets one query per 1,000 keys, in parallel (up to
    /// `OperationOptions::with_max_concurrency` at once). Read the outcome with
    /// [`crate::many::ReadManyResponse::from_response`]: one entry per key in the order given,
    /// `None` where no item exists. At most [`MAX_READ_MANY_ITEMS`] keys; a key given twice is
    /// read once.
    pub fn read_many<I, S, K>(container: ContainerReference, items: I) -> Self
    where
        I: IntoIterator<Item = (S, K)>,
        S: Into<String>,
        K: Into<PartitionKey>,
    {
        let mut op = Self::item_feed(OperationKind::ReadMany, &container);
        let mut keys = Vec::new();
        let mut problem: Option<ConfigError> = None;
        for (i, (id, pk)) in items.into_iter().enumerate() {
            if i == MAX_READ_MANY_ITEMS {
                problem.get_or_insert(ConfigError::InvalidOperation(format!(
                    "ReadMany takes at most {MAX_READ_MANY_ITEMS} keys; split the list"
                )));
                break;
            }
            let id: String = id.into();
            if let Err(e) = validate_resource_id(ResourceIdKind::Item, &id) {
                problem.get_or_insert(ConfigError::InvalidOperation(format!(
                    "ReadMany key {i}: {e}"
                )));
            }
            keys.push(ReadManyKey {
                id,
                partition_key: pk.into().to_header_value(),
            });
        }
        match serde_json::to_vec(&keys) {
            Ok(body) => op.body = Some(Bytes::from(body)),
            Err(e) => {
                problem.get_or_insert(ConfigError::InvalidOperation(format!(
                    "ReadMany keys do not serialize: {e}"
                )));
            }
        }
        if op.problem.is_none() {
            op.problem = problem.map(Box::new);
        }
        op
    }
}

/// The keys of a ReadMany body, with their parsed partition keys.
pub(crate) fn read_keys(body: &[u8]) -> Result<Vec<(String, PartitionKey)>, String> {
    let keys: Vec<ReadManyKey> =
        serde_json::from_slice(body).map_err(|e| format!("ReadMany keys are malformed: {e}"))?;
    if keys.len() > MAX_READ_MANY_ITEMS {
        return Err(format!(
            "ReadMany takes at most {MAX_READ_MANY_ITEMS} keys, got {}",
            keys.len()
        ));
    }
    keys.into_iter()
        .enumerate()
        .map(|(i, k)| {
            let pk = crate::replay::parse_partition_key(&k.partition_key)
                .map_err(|e| format!("ReadMany key {i}: {e}"))?;
            Ok((k.id, pk))
        })
        .collect()
}
