//! The change-feed page job: one request per position of the feed's state (a range, part of
//! one, or one partition key), in parallel, each from its own etag; 200 adds the range's changes
//! and moves its etag, 304 means nothing new there, 410/1002 replaces the range by its children
//! (each from the parent's etag).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

use super::plan;
use super::read_many::RangeRef;
use crate::changefeed::operation::{ChangeFeedMode, FeedRequest, StartRecord};
use crate::changefeed::state::{FeedState, Scope};
use crate::driver::Driver;
use crate::error::CosmosError;
use crate::models::{ContainerReference, PartitionKey};
use crate::operation::options::{ChangeFeedHeaders, QueryRole};
use crate::operation::{CosmosOperation, OperationKind, OperationOptions};
use crate::partition::RoutingMap;
use crate::response::CosmosResponse;

/// One range's request: its position's bounds and where it is sent.
#[derive(Debug)]
pub(crate) struct FeedRead {
    min: String,
    max: String,
    /// The physical range and whether the position covers only part of it (`None`: a
    /// partition-key feed, routed by its key).
    target: Option<(RangeRef, bool)>,
}

/// A change-feed page in progress.
#[derive(Debug)]
pub(crate) struct ChangeFeedJob {
    container: ContainerReference,
    mode: ChangeFeedMode,
    start: StartRecord,
    pk: Option<PartitionKey>,
    state: FeedState,
    queue: VecDeque<FeedRead>,
    /// Changes by position (its lower bound), so the page lists them in EPK order.
    items: BTreeMap<String, Vec<Value>>,
}

impl ChangeFeedJob {
    pub fn new(
        container: ContainerReference,
        body: &[u8],
        pk: Option<PartitionKey>,
        map: Option<&RoutingMap>,
    ) -> Result<ChangeFeedJob, String> {
        let request: FeedRequest = serde_json::from_slice(body)
            .map_err(|e| format!("change-feed request is malformed: {e}"))?;
        let state = request
            .state
            .ok_or_else(|| "a change-feed page without its position".to_string())?;
        let mut job = ChangeFeedJob {
            container,
            mode: request.mode,
            start: request.start,
            pk,
            state,
            queue: VecDeque::new(),
            items: BTreeMap::new(),
        };
        if matches!(job.state.scope, Scope::Key { .. }) {
            if job.state.ranges.is_empty() {
                job.state.ranges.push(crate::changefeed::state::Position {
                    min: String::new(),
                    max: String::new(),
                    etag: None,
                });
            }
            job.queue.push_back(FeedRead {
                min: String::new(),
                max: String::new(),
                target: None,
            });
            return Ok(job);
        }
        let map = map.ok_or_else(|| {
            format!(
                "the partition key ranges of {} could not be read, so the change feed cannot be read per range",
                job.container.link()
            )
        })?;
        job.state.align(map);
        let all: Vec<(String, String)> = job
            .state
            .ranges
            .iter()
            .map(|p| (p.min.clone(), p.max.clone()))
            .collect();
        for (min, max) in all {
            job.queue_read(min, max, map)?;
        }
        Ok(job)
    }

    fn queue_read(&mut self, min: String, max: String, map: &RoutingMap) -> Result<(), String> {
        let p = self
            .state
            .ranges
            .iter()
            .find(|p| p.min == min && p.max == max)
            .ok_or_else(|| format!("no change-feed position [{min}, {max})"))?;
        let (r, partial) = FeedState::range_of(p, map)
            .ok_or_else(|| format!("no partition key range holds [{min}, {max})"))?;
        let target = Some(((r.id.clone(), r.parents.clone()), partial));
        self.queue.push_back(FeedRead { min, max, target });
        Ok(())
    }

    pub fn next_read(&mut self) -> Option<FeedRead> {
        self.queue.pop_front()
    }

    pub fn is_done(&self) -> bool {
        self.queue.is_empty()
    }

    /// The request of `read`.
    pub fn child(
        &self,
        read: &FeedRead,
        mut opts: OperationOptions,
    ) -> Option<(CosmosOperation, OperationOptions, Option<RangeRef>)> {
        let p = self
            .state
            .ranges
            .iter()
            .find(|p| p.min == read.min && p.max == read.max)?;
        let (if_none_match, if_modified_since) = match (&p.etag, self.start) {
            (Some(e), _) => (Some(e.clone()), None),
            (None, StartRecord::Beginning) => (None, None),
            (None, StartRecord::Now) => (Some("*".to_string()), None),
            (None, StartRecord::PointInTime { ms }) => (
                None,
                Some(crate::driver::http_date(
                    UNIX_EPOCH + Duration::from_millis(ms),
                )),
            ),
        };
        opts.change_feed = Some(Box::new(ChangeFeedHeaders {
            full_fidelity: self.mode == ChangeFeedMode::AllVersionsAndDeletes,
            if_none_match,
            if_modified_since,
        }));
        opts.continuation = None;
        let mut op = CosmosOperation::item_feed(OperationKind::ChangeFeed, &self.container);
        op.partition_key = self.pk.clone();
        let pin = match &read.target {
            Some(((id, parents), partial)) => {
                opts.query_role = if *partial {
                    QueryRole::SubRange(Box::new((id.clone(), read.min.clone(), read.max.clone())))
                } else {
                    QueryRole::Range(id.clone())
                };
                Some((id.clone(), parents.clone()))
            }
            None => None,
        };
        Some((op, opts, pin))
    }

    /// Takes in one range's answer. `Err` ends the page (the position stays where it was).
    pub(in crate::execution) fn take(
        &mut self,
        read: FeedRead,
        outcome: Result<CosmosResponse, CosmosError>,
        d: &mut Driver,
        link: &str,
        splits: &mut u32,
    ) -> Result<(), Result<super::super::Failure, CosmosError>> {
        match outcome {
            Ok(r) => {
                if r.status() == 200 {
                    let rows = plan::page_rows(r.response_bytes())
                        .map_err(|e| Ok(super::super::Failure::Metadata(e)))?;
                    self.items.entry(read.min.clone()).or_default().extend(rows);
                }
                // 200 moves the etag past the changes returned; 304 may bring the current etag
                // (a feed started from now).
                if let Some(e) = r.headers().etag() {
                    if let Some(p) = self
                        .state
                        .ranges
                        .iter_mut()
                        .find(|p| p.min == read.min && p.max == read.max)
                    {
                        p.etag = Some(e.to_string());
                    }
                }
                Ok(())
            }
            Err(e) if super::gone(&e) && read.target.is_some() => {
                // The range split or merged: the child re-read the routing map; each part of
                // the position continues from its etag.
                *splits += 1;
                if *splits > super::MAX_SPLITS_PER_PAGE {
                    return Err(Err(e));
                }
                let map = d.containers.get(link).and_then(|c| c.routing.clone());
                let Some(map) = map else { return Err(Err(e)) };
                let pieces = self.state.split_position(&read.min, &read.max, &map);
                for (min, max) in pieces {
                    self.queue_read(min, max, &map)
                        .map_err(|m| Ok(super::super::Failure::Metadata(m)))?;
                }
                Ok(())
            }
            Err(e) => Err(Err(e)),
        }
    }

    /// The page: every range's changes in EPK order, and the new position as the continuation.
    pub fn body(&mut self) -> (Vec<u8>, usize, Option<String>) {
        let docs: Vec<Value> = std::mem::take(&mut self.items)
            .into_values()
            .flatten()
            .collect();
        let count = docs.len();
        let body = serde_json::json!({ "Documents": docs, "_count": count });
        (
            serde_json::to_vec(&body).unwrap_or_default(),
            count,
            self.state.encode().ok(),
        )
    }
}
