//! The requests behind each [`super::Command`], and their outcomes: shared by every transport's
//! processor loop, so the transports only run them.

use serde_json::Value;

use super::lease::Lease;
use super::machine::Outcome;
use crate::changefeed::{ChangeFeedMode, ChangeFeedPage, ChangeFeedStart};
use crate::error::CosmosError;
use crate::feed::FeedRange;
use crate::models::{ContainerReference, ItemReference, PartitionKey};
use crate::operation::{CosmosOperation, OperationOptions, QuerySpec};
use crate::response::CosmosResponse;

/// The query listing the leases of `prefix` (read every page).
pub fn list_leases(leases: &ContainerReference, prefix: &str) -> CosmosOperation {
    CosmosOperation::query(
        leases.clone(),
        QuerySpec::new("SELECT * FROM c WHERE STARTSWITH(c.id, @prefix)")
            .with_parameter("@prefix", format!("{prefix}..")),
    )
}

/// The leases among a listing's items.
pub fn leases_of(items: &[Value]) -> Vec<Lease> {
    items.iter().filter_map(Lease::from_json).collect()
}

/// Creating a lease document (its partition key is its id; the lease container is partitioned
/// by `/id`, as Java and .NET require).
pub fn create_lease(leases: &ContainerReference, lease: &Lease) -> CosmosOperation {
    CosmosOperation::create(leases.clone())
        .with_partition_key(PartitionKey::from(lease.id.as_str()))
        .with_body(lease.to_json().to_string())
}

/// Replacing a lease document if its etag is still the one the lease carries.
pub fn replace_lease(
    leases: &ContainerReference,
    lease: &Lease,
) -> (CosmosOperation, OperationOptions) {
    let op = CosmosOperation::replace(ItemReference::in_container(leases, &lease.id))
        .with_partition_key(PartitionKey::from(lease.id.as_str()))
        .with_body(lease.to_json().to_string());
    // The written document (with its new etag) comes back in the response.
    let mut opts = OperationOptions::new().with_content_response_on_write(true);
    if let Some(e) = &lease.etag {
        opts = opts.with_if_match(e);
    }
    (op, opts)
}

/// Deleting a lease document if its etag is still the one the lease carries.
pub fn delete_lease(
    leases: &ContainerReference,
    lease: &Lease,
) -> (CosmosOperation, OperationOptions) {
    let op = CosmosOperation::delete(ItemReference::in_container(leases, &lease.id))
        .with_partition_key(PartitionKey::from(lease.id.as_str()));
    let mut opts = OperationOptions::new();
    if let Some(e) = &lease.etag {
        opts = opts.with_if_match(e);
    }
    (op, opts)
}

/// The outcome of a lease delete.
pub fn delete_outcome(result: Result<CosmosResponse, CosmosError>) -> Outcome {
    match result {
        Ok(_) => Outcome::Deleted,
        Err(e) if matches!(e.status(), Some(412 | 404)) => Outcome::Conflict,
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// The outcome of a lease create or replace: the lease as written, or a conflict (409, 412,
/// 404: another host wrote it first).
pub fn write_outcome(result: Result<CosmosResponse, CosmosError>) -> Outcome {
    match result {
        Ok(r) => match serde_json::from_slice::<Value>(r.response_bytes())
            .ok()
            .as_ref()
            .and_then(Lease::from_json)
        {
            Some(l) => Outcome::Written(l),
            None => Outcome::Failed("a lease write returned no lease document".into()),
        },
        Err(e) if matches!(e.status(), Some(409 | 412 | 404)) => Outcome::Conflict,
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// The change-feed operation and options of a lease's next page.
pub fn read_changes(
    monitored: &ContainerReference,
    min: &str,
    max: &str,
    continuation: Option<&str>,
    start: ChangeFeedStart,
    max_items: Option<u32>,
) -> Result<(CosmosOperation, OperationOptions), crate::error::ConfigError> {
    let op = CosmosOperation::change_feed(monitored.clone(), ChangeFeedMode::LatestVersion, start)
        .with_feed_range(FeedRange::new(min, max)?);
    let mut opts = OperationOptions::new();
    if let Some(c) = continuation {
        opts = opts.with_continuation(c);
    }
    if let Some(n) = max_items {
        opts = opts.with_max_item_count(n);
    }
    Ok((op, opts))
}

/// The outcome of a lease's page.
pub fn changes_outcome(page: Result<ChangeFeedPage, CosmosError>) -> Outcome {
    match page {
        Ok(p) => {
            let continuation = p.continuation().to_string();
            let parts = crate::changefeed::token_parts(&continuation);
            Outcome::Changes {
                items: p.into_items(),
                continuation,
                parts: if parts.len() > 1 { parts } else { Vec::new() },
            }
        }
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// Most pending changes the estimator counts per lease.
pub const ESTIMATE_CAP: u64 = 100_000;

/// Changes per page when the estimator counts a lease's pending work.
pub const ESTIMATE_PAGE_ITEMS: u32 = 1_000;

/// One lease's pending work (the processor's estimator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseLag {
    /// The lease's document id.
    pub lease: String,
    /// Its owner, if any.
    pub owner: Option<String>,
    /// Changes after its checkpoint.
    pub pending: u64,
    /// The count stopped at [`ESTIMATE_CAP`].
    pub capped: bool,
}
