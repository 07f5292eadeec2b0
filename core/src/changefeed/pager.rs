//! `ChangeFeedPager`: the pages of a change feed, sans IO.

use std::sync::Arc;

use serde_json::Value;

use super::operation::{ChangeFeedMode, FeedRequest, StartRecord};
use super::state::{FeedState, Scope};
use crate::diagnostics::CosmosDiagnostics;
use crate::driver::Driver;
use crate::error::{ConfigError, CosmosError};
use crate::execution::Execution;
use crate::now::Now;
use crate::operation::{CosmosOperation, OperationKind, OperationOptions};
use crate::response::CosmosResponse;

/// One page of a change feed: what every range of the scope had since its last etag.
#[derive(Debug, Clone)]
pub struct ChangeFeedPage {
    items: Vec<Value>,
    continuation: String,
    request_charge: f64,
    diagnostics: Arc<CosmosDiagnostics>,
}

impl ChangeFeedPage {
    /// The changes, in range order (within a range, in the order the service wrote them). In
    /// latest-version mode the items themselves (with `_lsn`); in all-versions-and-deletes mode
    /// `{current, metadata}` envelopes.
    pub fn items(&self) -> &[Value] {
        &self.items
    }

    /// Takes the changes out.
    pub fn into_items(self) -> Vec<Value> {
        self.items
    }

    /// True when no range had anything new (every range answered 304): poll again later.
    pub fn is_caught_up(&self) -> bool {
        self.items.is_empty()
    }

    /// The token to resume after this page, in this or another process, on any transport.
    pub fn continuation(&self) -> &str {
        &self.continuation
    }

    /// Request units of the page's requests.
    pub fn request_charge(&self) -> f64 {
        self.request_charge
    }

    /// The page's requests.
    pub fn diagnostics(&self) -> &Arc<CosmosDiagnostics> {
        &self.diagnostics
    }
}

/// The pages of a change feed ([`CosmosOperation::change_feed`]). A change feed never ends:
/// each page returns what is new since the last one, possibly nothing. Transports start each
/// page with [`ChangeFeedPager::start_page`], drain it, and pass its outcome to
/// [`ChangeFeedPager::finish_page`]; a failed page leaves the position where it was.
#[derive(Debug)]
pub struct ChangeFeedPager {
    op: CosmosOperation,
    opts: OperationOptions,
    mode: ChangeFeedMode,
    start: StartRecord,
    state: FeedState,
}

impl ChangeFeedPager {
    /// A pager for `op` (a change-feed operation); `options` apply to every page and a
    /// continuation token in them resumes where that token was written.
    pub fn new(op: CosmosOperation, mut opts: OperationOptions) -> Result<Self, ConfigError> {
        if op.kind != OperationKind::ChangeFeed {
            return Err(ConfigError::InvalidOperation(format!(
                "a change-feed pager needs a change-feed operation, not {}",
                op.kind.as_str()
            )));
        }
        if let Some(p) = &op.problem {
            return Err(ConfigError::clone(p));
        }
        let request: FeedRequest = op
            .body
            .as_deref()
            .and_then(|b| serde_json::from_slice(b).ok())
            .ok_or_else(|| {
                ConfigError::InvalidOperation("a change-feed operation without its request".into())
            })?;
        let container = op
            .container()
            .map(|c| c.link_arc().clone())
            .ok_or_else(|| {
                ConfigError::InvalidOperation("a change feed needs a container".into())
            })?;
        let scope = match (&op.partition_key, &op.feed_range) {
            (Some(pk), _) => Scope::Key {
                pk: pk.to_header_value(),
            },
            (None, Some(r)) => Scope::Range {
                min: r.min().to_string(),
                max: r.max().to_string(),
            },
            (None, None) => Scope::All,
        };
        let state = match opts.continuation.take() {
            Some(token) => FeedState::decode(&token, &container, request.mode, &scope)?,
            None => {
                if request.mode == ChangeFeedMode::AllVersionsAndDeletes
                    && request.start != StartRecord::Now
                {
                    // The service keeps no history of deletes and intermediate versions to
                    // start from (PROTOCOL.md §9.1; the SDKs refuse the same).
                    return Err(ConfigError::InvalidSetting {
                        name: "change feed start".into(),
                        value: format!("{:?}", request.start),
                        expected: "Now or a continuation token in all-versions-and-deletes mode"
                            .into(),
                    });
                }
                FeedState {
                    container: container.to_string(),
                    mode: request.mode,
                    scope,
                    ranges: Vec::new(),
                }
            }
        };
        Ok(ChangeFeedPager {
            op,
            opts,
            mode: request.mode,
            start: request.start,
            state,
        })
    }

    /// Starts the next page. Drain the execution like any other, then pass its outcome to
    /// [`ChangeFeedPager::finish_page`].
    pub fn start_page(&mut self, d: &mut Driver, now: Now) -> Execution {
        let request = FeedRequest {
            mode: self.mode,
            start: self.start,
            state: Some(self.state.clone()),
        };
        let mut op = self.op.clone();
        op.body = serde_json::to_vec(&request).ok().map(bytes::Bytes::from);
        d.start(op, self.opts.clone(), now)
    }

    /// The page of a finished execution; the position moves past it. A failed page leaves the
    /// position where it was: the next page asks again.
    pub fn finish_page(
        &mut self,
        _exec: &mut Execution,
        outcome: Result<CosmosResponse, CosmosError>,
    ) -> Result<ChangeFeedPage, CosmosError> {
        let response = outcome?;
        let diagnostics = response.diagnostics().clone();
        let token = response
            .headers()
            .continuation()
            .map(str::to_owned)
            .ok_or_else(|| {
                CosmosError::new(
                    crate::error::ErrorKind::Internal,
                    "a change-feed page without its continuation".to_string(),
                    diagnostics.clone(),
                )
            })?;
        let state = FeedState::decode(&token, &self.state.container, self.mode, &self.state.scope)
            .map_err(|e| CosmosError::config(e, diagnostics.clone()))?;
        let items = crate::feed::page_items(&response)?;
        self.state = state;
        Ok(ChangeFeedPage {
            items,
            continuation: token,
            request_charge: response.headers().request_charge(),
            diagnostics,
        })
    }

    /// The token of the current position (before the first page: of the start).
    pub fn continuation(&self) -> Option<String> {
        self.state.encode().ok()
    }
}
