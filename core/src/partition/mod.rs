//! Effective partition keys: V1, V2 and MultiHash hashing, and routing an EPK to its range.
//!
//! * [`effective_partition_key`] maps a [`PartitionKey`](crate::models::PartitionKey) and the
//!   container's [`PartitionKeyDefinition`](crate::models::PartitionKeyDefinition)
//!   to the EPK the service stores the item under; [`epk_range_for_prefix`] gives the EPK range
//!   of a hierarchical key prefix.
//! * [`RoutingMap`] holds a container's [`PartitionKeyRange`]s, checks that they tile
//!   `["", "FF")`, finds the range of an EPK, and follows splits incrementally.
//!
//! The hashing follows .NET (`PartitionKeyInternal`), the reference where the Python and JS
//! SDKs disagree (PROTOCOL.md §3); `tests/epk_vectors.rs` checks every vector.

mod encoding;
mod epk;
mod murmur3;
mod range;
mod routing_map;
pub(crate) use routing_map::RangeRoute;

pub(crate) use epk::check_effective_partition_key;
pub use epk::{
    effective_partition_key, epk_range_for_prefix, EffectivePartitionKey, EpkError, EpkRange,
    MAX_EPK_LEN, MAX_EXCLUSIVE_EPK, MIN_INCLUSIVE_EPK,
};
pub use murmur3::{murmur3_x64_128, murmur3_x86_32};
pub use range::{parse_partition_key_ranges, PartitionKeyRange, MAX_PARENTS, MAX_RANGES};
pub use routing_map::{RoutingMap, RoutingMapError, MAX_REMEMBERED_GONE};
