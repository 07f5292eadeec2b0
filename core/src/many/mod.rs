//! ReadMany: many items by (id, partition key) with the fewest requests (PROTOCOL.md §8).
//!
//! The keys are grouped by partition key range in the core (ADR 0005): a range holding one
//! key gets a point read, a range holding more gets one query per 1,000 keys, and the
//! requests run in parallel. The response lists the items in the order the keys were given,
//! `None` for a key with no item.

pub(crate) mod operation;
mod response;

pub use operation::{ReadManyKey, MAX_READ_MANY_ITEMS, READ_MANY_KEYS_PER_QUERY};
pub use response::ReadManyResponse;
