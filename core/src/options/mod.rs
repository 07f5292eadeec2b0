//! Configuration: driver options, the seed's option groups over them, and environment variables.
//!
//! Configuration cascades environment (`AZURE_COSMOS_*`, [`environment`]) → runtime options →
//! driver options → operation options; each level overrides only what it sets. The seed's
//! option groups ([`RetryOptions`], [`TimeoutOptions`], [`TelemetryOptions`],
//! [`ConnectionPoolOptions`]) are a public face over [`DriverOptions`]' settings: setting one
//! through a group or through its [`DriverOptionsBuilder`] method is the same setting
//! (`docs/CONFIGURATION.md` has the table).

pub mod driver_options;
pub mod environment;
pub mod hedging;
pub mod retry;
pub mod runtime;
pub mod telemetry;
pub mod timeout;

pub use crate::diagnostics::{
    DiagnosticsOptions, DiagnosticsOptionsBuilder, DiagnosticsThresholds, DiagnosticsVerbosity,
};
pub use crate::metrics::{AlertOptions, MetricsOptions};
pub use crate::regions::CircuitBreakerOptions;
pub use driver_options::{DriverOptions, DriverOptionsBuilder};
pub use environment::EnvironmentConfig;
pub use hedging::HedgingOptions;
pub use retry::{RetryOptions, RetryOptionsBuilder};
pub use runtime::{ConnectionPoolOptions, ConnectionPoolOptionsBuilder, RuntimeOptions};
pub use telemetry::{TelemetryOptions, TelemetryOptionsBuilder};
pub use timeout::{TimeoutOptions, TimeoutOptionsBuilder};
