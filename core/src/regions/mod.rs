//! Regions: which endpoint each attempt goes to, and which endpoints are currently unhealthy.

pub mod circuit_breaker;
pub mod location_cache;

pub use circuit_breaker::{BreakerState, CircuitBreakerOptions, PartitionCircuitBreaker};
pub use location_cache::{LocationCache, RegionRoute};
