//! Configuration: driver options and environment variables.

pub mod driver_options;
pub mod environment;
pub mod runtime;

pub use driver_options::{DriverOptions, DriverOptionsBuilder};
pub use environment::EnvironmentConfig;
pub use runtime::{ConnectionPoolOptions, RuntimeOptions};
