//! Transactional batch (PROTOCOL.md §8.2): up to 100 operations on one logical partition,
//! applied atomically by the service. [`TransactionalBatch`] builds and checks the request;
//! [`BatchResponse`] reads the per-operation results of the response.

mod builder;
mod response;

pub use builder::{BatchOperation, TransactionalBatch, MAX_BATCH_BYTES, MAX_BATCH_OPERATIONS};
pub use response::{BatchOperationResult, BatchResponse};
