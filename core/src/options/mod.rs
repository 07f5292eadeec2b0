//! Configuration: driver options and environment variables.

pub mod driver_options;
pub mod environment;
pub mod hedging;
pub mod runtime;

pub use crate::diagnostics::{DiagnosticsOptions, DiagnosticsOptionsBuilder, DiagnosticsVerbosity};
pub use driver_options::{DriverOptions, DriverOptionsBuilder};
pub use environment::EnvironmentConfig;
pub use hedging::HedgingOptions;
pub use runtime::{ConnectionPoolOptions, RuntimeOptions};
