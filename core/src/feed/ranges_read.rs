//! Reading a container's feed ranges: every page of its partition key range feed (`GET
//! …/pkranges`), split parents dropped, checked to cover the key space once. A transport runs
//! the requests this names with its own `execute_operation`; the logic is here, once.

use super::FeedRange;
use crate::error::{CosmosError, ErrorKind};
use crate::models::ContainerReference;
use crate::operation::{CosmosOperation, OperationOptions};
use crate::partition::{parse_partition_key_ranges, PartitionKeyRange, RoutingMap};
use crate::response::CosmosResponse;

/// Most pages of the range feed read (the service pages it by size; 1,000 pages hold far more
/// ranges than any container has: the service's documented maximum is in the tens of thousands
/// of physical partitions, listed hundreds per page).
pub const MAX_RANGE_FEED_PAGES: usize = 1000;

/// The state of one `read_feed_ranges` call (see the module docs).
#[derive(Debug)]
pub struct FeedRangesRead {
    container: ContainerReference,
    continuation: Option<String>,
    ranges: Vec<PartitionKeyRange>,
    pages: usize,
    done: bool,
    diagnostics: Option<std::sync::Arc<crate::diagnostics::CosmosDiagnostics>>,
}

impl FeedRangesRead {
    /// Starts reading the feed ranges of `container`.
    pub fn new(container: ContainerReference) -> FeedRangesRead {
        FeedRangesRead {
            container,
            continuation: None,
            ranges: Vec::new(),
            pages: 0,
            done: false,
            diagnostics: None,
        }
    }

    /// The next request to execute, or `None` when every page was read.
    pub fn next_request(&self) -> Option<(CosmosOperation, OperationOptions)> {
        if self.done {
            return None;
        }
        let mut opts = OperationOptions::new();
        if let Some(c) = &self.continuation {
            opts = opts.with_continuation(c.clone());
        }
        Some((
            CosmosOperation::read_partition_key_ranges(self.container.clone()),
            opts,
        ))
    }

    /// Takes the response of the last request.
    pub fn take_page(&mut self, response: &CosmosResponse) -> Result<(), CosmosError> {
        self.diagnostics = Some(response.diagnostics().clone());
        let ranges = parse_partition_key_ranges(response.response_bytes())
            .map_err(|e| malformed(response, &e.to_string()))?;
        self.ranges.extend(ranges);
        self.pages += 1;
        self.continuation = response
            .headers()
            .continuation()
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        if self.continuation.is_none() {
            self.done = true;
        } else if self.pages >= MAX_RANGE_FEED_PAGES {
            return Err(malformed(
                response,
                &format!("the partition key range feed has more than {MAX_RANGE_FEED_PAGES} pages"),
            ));
        }
        Ok(())
    }

    /// The feed ranges in EPK order, one per current physical range; an error when the feed
    /// does not cover the key space exactly once.
    pub fn finish(self) -> Result<Vec<FeedRange>, CosmosError> {
        let diagnostics = self
            .diagnostics
            .unwrap_or_else(|| std::sync::Arc::new(crate::diagnostics::CosmosDiagnostics::empty()));
        let bad = |why: String| {
            CosmosError::new(
                ErrorKind::Service,
                format!("the service's partition key range feed is malformed: {why}"),
                diagnostics.clone(),
            )
        };
        if !self.done {
            return Err(bad("not every page was read".into()));
        }
        let map = RoutingMap::new(self.ranges).map_err(|e| bad(e.to_string()))?;
        map.ranges()
            .iter()
            .map(|r| {
                FeedRange::new(r.min_inclusive.clone(), r.max_exclusive.clone())
                    .map_err(|e| bad(e.to_string()))
            })
            .collect()
    }
}

fn malformed(response: &CosmosResponse, why: &str) -> CosmosError {
    CosmosError::new(
        ErrorKind::Service,
        format!("the service's partition key range feed is malformed: {why}"),
        response.diagnostics().clone(),
    )
}
