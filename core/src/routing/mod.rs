//! Partition routing metadata: per container, its partition key definition and the routing
//! map of its partition key ranges, fetched like the account metadata (ordinary `Send`s under a
//! lease) and refreshed incrementally after splits.

pub mod container_cache;

pub use container_cache::{ContainerCache, ContainerEntry, MAX_CACHED_CONTAINERS};
