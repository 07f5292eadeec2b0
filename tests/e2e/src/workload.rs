//! The four workloads and what every client sends for them.

use std::fmt;

/// A workload: operation kind and concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// Point read of one existing item, one operation at a time.
    Read1,
    /// Point read of one existing item, 32 operations in flight.
    Read32,
    /// Create of a new item, one at a time.
    Create1,
    /// Create of new items, 32 in flight.
    Create32,
}

impl Workload {
    /// Every workload, in table order.
    pub const ALL: [Workload; 4] = [
        Workload::Read1,
        Workload::Read32,
        Workload::Create1,
        Workload::Create32,
    ];

    /// Parses a CLI name.
    pub fn parse(s: &str) -> Option<Workload> {
        Some(match s {
            "read1" => Workload::Read1,
            "read32" => Workload::Read32,
            "create1" => Workload::Create1,
            "create32" => Workload::Create32,
            _ => return None,
        })
    }

    /// Operations in flight.
    pub fn concurrency(self) -> usize {
        match self {
            Workload::Read1 | Workload::Create1 => 1,
            Workload::Read32 | Workload::Create32 => 32,
        }
    }

    /// Whether this is the create workload.
    pub fn is_create(self) -> bool {
        matches!(self, Workload::Create1 | Workload::Create32)
    }

    /// CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Read1 => "read1",
            Workload::Read32 => "read32",
            Workload::Create1 => "create1",
            Workload::Create32 => "create32",
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Workload::Read1 => "read c=1",
            Workload::Read32 => "read c=32",
            Workload::Create1 => "create c=1",
            Workload::Create32 => "create c=32",
        })
    }
}

/// Where a block runs: the server's endpoint and the block's fresh database and container.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://127.0.0.1:PORT/`.
    pub endpoint: String,
    /// The account key (any key works for the local server; signing is done for real anyway).
    pub key: String,
    /// Database id.
    pub database: String,
    /// Container id (partition key path `/pk`).
    pub container: String,
}

/// The id of the item every read workload reads.
pub const READ_ITEM_ID: &str = "bench-item";
/// Its partition key value.
pub const READ_ITEM_PK: &str = "bench-pk";

/// The id of the `n`th created item of one measurement (`prefix` is unique per measurement).
/// Ids and partition keys are ASCII letters, digits and `-`: no escaping is needed anywhere.
pub fn create_id(prefix: &str, n: u64) -> String {
    format!("{prefix}-{n}")
}

/// The JSON body of an item (about 120 bytes); its partition key `pk` is `pk`.
pub fn item_body(id: &str, pk: &str, n: u64) -> String {
    format!(
        r#"{{"id":"{id}","pk":"{pk}","value":{n},"name":"sextant e2e benchmark item","tags":["alpha","beta","gamma"]}}"#
    )
}

/// The item as an application deserializes it (system properties ignored): what the `-app`
/// clients do with every response body.
#[derive(serde::Deserialize)]
#[allow(dead_code)] // Read only by the deserializer: the point is the work, not the values.
pub struct Item {
    id: String,
    pk: String,
    value: u64,
    name: String,
    tags: Vec<String>,
}

impl Item {
    /// Deserializes a response body (a read's item, or a create's echo of it).
    pub fn parse(body: &[u8]) -> Result<Item, String> {
        serde_json::from_slice(body).map_err(|e| format!("item: {e}"))
    }
}
