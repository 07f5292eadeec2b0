//! Building a change-feed operation.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::models::ContainerReference;
use crate::operation::{CosmosOperation, OperationKind};

/// Which changes the feed returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeFeedMode {
    /// The latest version of each changed item (`A-IM: Incremental Feed`); deletes are not
    /// visible. Items carry `_lsn`.
    LatestVersion,
    /// Every create, replace and delete, each as `{current, metadata}` (`A-IM: Full-Fidelity
    /// Feed`, wire format 2021-09-15, PROTOCOL.md §9.2). Starts from now or a continuation.
    AllVersionsAndDeletes,
}

/// Where a feed without a continuation token starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeFeedStart {
    /// The first change the container kept (latest-version mode only).
    Beginning,
    /// Changes after the first page is read.
    Now,
    /// Changes at or after this time (latest-version mode only; whole seconds, as the service
    /// compares them).
    PointInTime(SystemTime),
}

/// The start as the operation's body records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub(crate) enum StartRecord {
    Beginning,
    Now,
    PointInTime { ms: u64 },
}

impl From<ChangeFeedStart> for StartRecord {
    fn from(s: ChangeFeedStart) -> Self {
        match s {
            ChangeFeedStart::Beginning => StartRecord::Beginning,
            ChangeFeedStart::Now => StartRecord::Now,
            ChangeFeedStart::PointInTime(t) => StartRecord::PointInTime {
                ms: t
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            },
        }
    }
}

/// What a change-feed operation's body holds (never sent: the page's requests are built from
/// it): the mode, the start, and the ranges' positions when continuing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FeedRequest {
    pub mode: ChangeFeedMode,
    pub start: StartRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<super::state::FeedState>,
}

impl CosmosOperation {
    /// The change feed of `container` in `mode`, from `start` (a continuation token in the
    /// options overrides it). Narrow it with [`CosmosOperation::with_feed_range`] or
    /// [`CosmosOperation::with_partition_key`]. Read it with a `ChangeFeedPager` (each
    /// transport's `change_feed`).
    pub fn change_feed(
        container: ContainerReference,
        mode: ChangeFeedMode,
        start: ChangeFeedStart,
    ) -> Self {
        let mut op = Self::item_feed(OperationKind::ChangeFeed, &container);
        let request = FeedRequest {
            mode,
            start: start.into(),
            state: None,
        };
        op.body = serde_json::to_vec(&request).ok().map(Bytes::from);
        op
    }
}
