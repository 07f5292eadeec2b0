//! Bulk: any number of item operations, grouped by partition key range and sent as
//! non-atomic batch requests (PROTOCOL.md §8.3), each operation retried on its own when it is
//! throttled, with congestion control per range.
//!
//! The work is cut into *windows* of at most [`BulkBuilder::max_in_flight`] operations; that
//! bound is the memory a bulk run holds, whatever the length of the caller's input. A window
//! is one execution of the core (ADR 0005): it reads the routing map, queues its operations
//! per range, and sends batches of up to 100 operations (and [`MAX_BULK_BATCH_BYTES`]) with up
//! to the range's degree of concurrency in flight. A throttled operation (429) goes back to
//! its range's queue until its retry-after has passed; the operations of a range that split
//! (410/1002), sent or still queued, are routed again. The window ends when every operation
//! has its final result; the degree of concurrency each range reached carries over to the
//! next window.
//!
//! Operations on the same item (same partition key and id) are applied in the order given:
//! within a window, one is sent only once the one before it on that item has its result, and
//! windows run one after another. .NET and Java make no such promise (their bulk executors
//! may reorder a throttled operation after a later one on the same item); a restore, where an
//! item changed during the export appears twice, relies on it. Operations on different items
//! keep no order. One operation whose partition key does not fit the container, or that is
//! past the window's size, gets that as its own result; the others go on.
//!
//! [`BulkExecutor`] is the sans-IO driver of the windows: transports pull operations from the
//! caller, start a window, drain it like any execution, and hand back the results.

mod congestion;
pub(crate) mod executor;
mod operation;

pub(crate) use congestion::Congestion;
pub use congestion::{DEFAULT_MAX_DEGREE_OF_CONCURRENCY, EVALUATION_INTERVAL};
pub use executor::{BulkBuilder, BulkExecutor, BulkProgress, BulkResult};
pub use operation::BulkOperation;

/// Largest body of one bulk batch request. Precedent: Java
/// `MAX_DIRECT_MODE_BATCH_REQUEST_BODY_SIZE_IN_BYTES` and JS
/// `DefaultMaxBulkRequestBodySizeInBytes`, both 220,201 bytes (PROTOCOL.md §8.2).
pub const MAX_BULK_BATCH_BYTES: usize = 220_201;

/// Operations a window holds when the caller sets no bound: 100 full batches. .NET and Java
/// bound a bulk run only by what the caller feeds them; this keeps a run's memory fixed while
/// leaving enough queued work for every range's concurrency to be used.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 10_000;

/// Retries of one throttled operation before its 429 is its result. Precedent: .NET and Java
/// `MaxRetryAttemptsOnRateLimitedRequests` (9), which their bulk executors apply per operation.
pub const DEFAULT_MAX_THROTTLE_RETRIES: u32 = 9;

/// Batch requests a window has in flight at once across ranges. Precedent: .NET
/// `CosmosClientOptions.GatewayModeMaxConnectionLimit` (50), the sockets a gateway-mode client
/// opens to one endpoint.
pub const DEFAULT_MAX_CONCURRENT_BATCHES: usize = 50;
