//! Regions: which endpoint each attempt goes to, and which endpoints are currently unhealthy.

pub mod location_cache;

pub use location_cache::{LocationCache, RegionRoute};
