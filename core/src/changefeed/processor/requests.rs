//! The requests behind each [`super::Command`], and their outcomes: shared by every transport's
//! processor loop, so the transports only run them.

use serde_json::Value;

use super::lease::Lease;
use super::machine::{Command, Outcome};
use crate::changefeed::{ChangeFeedMode, ChangeFeedPage, ChangeFeedStart};
use crate::error::CosmosError;
use crate::feed::FeedRange;
use crate::models::{ContainerReference, ItemReference, PartitionKey};
use crate::operation::{CosmosOperation, OperationOptions, QuerySpec};
use crate::response::CosmosResponse;

/// What a transport runs for a [`Command`] other than [`Command::Deliver`] (which calls the
/// user's handler): the request, built without I/O, and which `*_outcome` function turns its
/// result into the [`Outcome`] the processor expects. So the transports' processor loops hold
/// only their I/O.
#[derive(Debug, Clone)]
pub enum Request {
    /// Run this query and read every page; [`list_outcome`] of the items.
    ListLeases(CosmosOperation),
    /// Read the monitored container's feed ranges; [`feed_ranges_outcome`].
    ReadFeedRanges,
    /// Create or replace a lease document; [`write_outcome`].
    Write(CosmosOperation, Option<OperationOptions>),
    /// Delete a lease document; [`delete_outcome`].
    Delete(CosmosOperation, OperationOptions),
    /// Read one change-feed page with a fresh pager; [`changes_outcome`].
    ReadChanges(CosmosOperation, OperationOptions),
    /// Nothing to run: this is the command's outcome (a malformed feed range, or a
    /// [`Command::Deliver`], which the loop runs itself).
    Done(Outcome),
}

/// The request behind `command`, for the leases in `leases` (documents whose ids start with
/// `prefix`) of the change feed of `monitored`.
pub fn plan(
    command: Command,
    monitored: &ContainerReference,
    leases: &ContainerReference,
    prefix: &str,
) -> Request {
    match command {
        Command::ListLeases => Request::ListLeases(list_leases(leases, prefix)),
        Command::ReadFeedRanges => Request::ReadFeedRanges,
        Command::CreateLease(lease) => Request::Write(create_lease(leases, &lease), None),
        Command::ReplaceLease(lease) => {
            let (op, opts) = replace_lease(leases, &lease);
            Request::Write(op, Some(opts))
        }
        Command::DeleteLease(lease) => {
            let (op, opts) = delete_lease(leases, &lease);
            Request::Delete(op, opts)
        }
        Command::ReadChanges {
            min,
            max,
            continuation,
            start,
            max_items,
            ..
        } => match read_changes(
            monitored,
            &min,
            &max,
            continuation.as_deref(),
            start,
            max_items,
        ) {
            Ok((op, opts)) => Request::ReadChanges(op, opts),
            Err(e) => Request::Done(Outcome::Failed(e.to_string())),
        },
        Command::Deliver { .. } => {
            Request::Done(Outcome::Failed("delivery runs in the loop".into()))
        }
    }
}

/// The outcome of listing the leases: the leases among every page's items.
pub fn list_outcome(items: Result<Vec<Value>, CosmosError>) -> Outcome {
    match items {
        Ok(items) => Outcome::Leases(leases_of(&items)),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// The outcome of reading the monitored container's feed ranges: their EPK bounds.
pub fn feed_ranges_outcome(ranges: Result<Vec<FeedRange>, CosmosError>) -> Outcome {
    match ranges {
        Ok(ranges) => Outcome::FeedRanges(
            ranges
                .iter()
                .map(|r| (r.min().to_string(), r.max().to_string()))
                .collect(),
        ),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::AccountReference;
    use crate::operation::OperationKind;

    fn containers() -> (ContainerReference, ContainerReference) {
        let account =
            AccountReference::with_master_key("https://acct.documents.azure.com/", "a2V5").unwrap();
        (
            ContainerReference::from_name(account.clone(), "db", "items"),
            ContainerReference::from_name(account, "db", "leases"),
        )
    }

    fn lease(etag: Option<&str>) -> Lease {
        Lease {
            id: "p..00-FF".into(),
            etag: etag.map(String::from),
            min: "00".into(),
            max: "FF".into(),
            continuation: Some("\"42\"".into()),
            owner: Some("host-a".into()),
            timestamp_ms: 1,
        }
    }

    fn plan_of(command: Command) -> Request {
        let (monitored, leases) = containers();
        plan(command, &monitored, &leases, "p")
    }

    #[test]
    fn lease_commands_plan_requests_on_the_lease_container() {
        let Request::ListLeases(op) = plan_of(Command::ListLeases) else {
            panic!("ListLeases plans a query");
        };
        assert_eq!(op.kind(), OperationKind::Query);
        assert!(op.path().contains("/colls/leases"), "{}", op.path());
        let spec = op.query_spec().expect("a query");
        assert_eq!(
            spec.parameters(),
            &[("@prefix".to_string(), serde_json::json!("p.."))]
        );

        let Request::Write(op, None) = plan_of(Command::CreateLease(lease(None))) else {
            panic!("CreateLease plans a write without conditions");
        };
        assert_eq!(op.kind(), OperationKind::Create);

        let Request::Write(op, Some(opts)) = plan_of(Command::ReplaceLease(lease(Some("e1"))))
        else {
            panic!("ReplaceLease plans a conditional write");
        };
        assert_eq!(op.kind(), OperationKind::Replace);
        // The new etag comes back only with the document.
        assert_eq!(opts.content_response_on_write, Some(true));
        assert_eq!(
            opts.if_match.as_ref().map(|v| v.as_bytes()),
            Some(&b"e1"[..])
        );

        let Request::Delete(op, opts) = plan_of(Command::DeleteLease(lease(Some("e2")))) else {
            panic!("DeleteLease plans a delete");
        };
        assert_eq!(op.kind(), OperationKind::Delete);
        assert!(op.path().ends_with("/docs/p..00-FF"), "{}", op.path());
        assert_eq!(
            opts.if_match.as_ref().map(|v| v.as_bytes()),
            Some(&b"e2"[..])
        );

        assert!(matches!(
            plan_of(Command::ReadFeedRanges),
            Request::ReadFeedRanges
        ));
    }

    #[test]
    fn a_page_of_changes_reads_the_monitored_container_from_the_checkpoint() {
        let command = Command::ReadChanges {
            lease: "p..00-FF".into(),
            min: "00".into(),
            max: "FF".into(),
            continuation: Some("\"42\"".into()),
            start: ChangeFeedStart::Beginning,
            max_items: Some(10),
        };
        let Request::ReadChanges(op, opts) = plan_of(command) else {
            panic!("ReadChanges plans a change-feed read");
        };
        assert_eq!(op.kind(), OperationKind::ChangeFeed);
        assert!(op.path().contains("/colls/items"), "{}", op.path());
        assert_eq!(opts.continuation.as_deref(), Some("\"42\""));
        assert_eq!(opts.max_item_count, Some(10));
    }

    #[test]
    fn what_cannot_be_run_is_its_own_outcome() {
        let inverted = Command::ReadChanges {
            lease: "p..FF-00".into(),
            min: "FF".into(),
            max: "00".into(),
            continuation: None,
            start: ChangeFeedStart::Beginning,
            max_items: None,
        };
        match plan_of(inverted) {
            Request::Done(Outcome::Failed(why)) => assert!(why.contains("feed range"), "{why}"),
            other => panic!("an inverted range is a failed outcome, got {other:?}"),
        }
        let deliver = Command::Deliver {
            lease: "p..00-FF".into(),
            items: Vec::new(),
        };
        match plan_of(deliver) {
            Request::Done(Outcome::Failed(why)) => assert!(why.contains("loop"), "{why}"),
            other => panic!("a delivery is not a request, got {other:?}"),
        }
    }

    #[test]
    fn failures_become_failed_outcomes_naming_the_error() {
        let error = || CosmosError::from(FeedRange::new("FF", "00").unwrap_err());
        for outcome in [
            list_outcome(Err(error())),
            feed_ranges_outcome(Err(error())),
        ] {
            match outcome {
                Outcome::Failed(why) => assert!(why.contains("feed range"), "{why}"),
                other => panic!("expected a failure, got {other:?}"),
            }
        }
    }

    #[test]
    fn results_become_outcomes() {
        // A listed lease document carries the etag the service gave it.
        let mut listed = lease(None).to_json();
        listed["_etag"] = "e".into();
        let items = vec![listed, serde_json::json!({"id": "other"})];
        assert_eq!(
            list_outcome(Ok(items)),
            Outcome::Leases(vec![lease(Some("e"))])
        );
        let ranges = vec![
            FeedRange::new("", "80").unwrap(),
            FeedRange::new("80", "FF").unwrap(),
        ];
        assert_eq!(
            feed_ranges_outcome(Ok(ranges)),
            Outcome::FeedRanges(vec![
                (String::new(), "80".into()),
                ("80".into(), "FF".into())
            ])
        );
    }
}
