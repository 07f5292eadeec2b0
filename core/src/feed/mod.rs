//! Paged operations: the object a caller keeps between the pages of a query (ADR 0005).
//!
//! A [`QueryPager`] turns a query operation into one [`Execution`] per page and back into a
//! [`QueryPage`]. Everything it needs between pages (per-range server continuations, and for
//! cross-partition queries the merge pipeline with rows already fetched) lives in the pager, so
//! nothing is fetched twice; [`QueryPager::continuation`] is the same state as an opaque token
//! for a fresh driver in another process.
//!
//! ```text
//! let mut pager = QueryPager::new(op, opts)?;
//! while let Some(mut exec) = pager.start_page(&mut driver, now) {
//!     let outcome = /* drain `exec` like any operation */;
//!     let page = pager.finish_page(&mut exec, outcome)?;
//! }
//! ```

pub mod range;
pub mod ranges_read;
pub mod token;

/// The gateway's query plan as the fan-out reads it, exposed so callers (and the fuzzers) can
/// check a plan: [`plan::read_plan`] never panics, whatever the bytes.
pub mod plan {
    pub use crate::execution::fanout::merge::{Aggregate, Shape};
    pub use crate::execution::fanout::plan::{
        page_rows, read_plan, PlanView, MAX_ROWS_PER_PAGE, SUPPORTED_QUERY_FEATURES,
    };
}

use std::sync::Arc;

use serde_json::Value;

use crate::diagnostics::CosmosDiagnostics;
use crate::driver::Driver;
use crate::error::{ConfigError, CosmosError};
use crate::execution::fanout::FanoutState;
use crate::execution::Execution;
use crate::now::Now;
use crate::operation::{CosmosOperation, OperationKind, OperationOptions};
use crate::response::CosmosResponse;

pub use range::FeedRange;
pub use ranges_read::FeedRangesRead;
pub use token::{FeedToken, ProducerPosition, MAX_TOKEN_BYTES};

/// Most items one page may carry, whatever the caller asks. Precedent: the service caps
/// `x-ms-max-item-count` pages by size (4 MB responses), and .NET/Java default to 100 items; a
/// bound keeps a page's memory predictable.
pub const MAX_PAGE_ITEMS: u32 = 10_000;

/// One page of query results.
#[derive(Debug, Clone)]
pub struct QueryPage {
    items: Vec<Value>,
    continuation: Option<String>,
    request_charge: f64,
    diagnostics: Arc<CosmosDiagnostics>,
    query_metrics: Option<String>,
    index_metrics: Option<String>,
    more: bool,
}

impl QueryPage {
    /// True when more results follow this page, whether or not it carries a token: a page
    /// without a token and with more results comes from a query that cannot resume from one
    /// mid-way (unordered DISTINCT, aggregates, GROUP BY); keep its pager.
    pub fn has_more_results(&self) -> bool {
        self.more
    }

    /// The items, as the service returned them (raw JSON; typed access comes later).
    pub fn items(&self) -> &[Value] {
        &self.items
    }

    /// The items, owned.
    pub fn into_items(self) -> Vec<Value> {
        self.items
    }

    /// The token to resume after this page: `None` on the last page, and for queries that cannot
    /// resume from a token (an unordered DISTINCT, an aggregate) before they are done; keep the
    /// pager for those ([`QueryPage::has_more_results`] tells the two apart).
    pub fn continuation(&self) -> Option<&str> {
        self.continuation.as_deref()
    }

    /// Request units charged for this page, every request included (plan, ranges, retries).
    pub fn request_charge(&self) -> f64 {
        self.request_charge
    }

    /// Diagnostics of every request this page made.
    pub fn diagnostics(&self) -> &Arc<CosmosDiagnostics> {
        &self.diagnostics
    }

    /// `x-ms-documentdb-query-metrics`, when asked for with `with_query_metrics`.
    pub fn query_metrics(&self) -> Option<&str> {
        self.query_metrics.as_deref()
    }

    /// `x-ms-cosmos-index-utilization`, when asked for with `with_index_metrics`.
    pub fn index_metrics(&self) -> Option<&str> {
        self.index_metrics.as_deref()
    }
}

use crate::headers::names::{INDEX_METRICS, QUERY_METRICS};

/// Where a single-partition query stands.
#[derive(Debug, Clone)]
struct Single {
    /// The server continuation of the next page; `None` before the first.
    server: Option<String>,
}

#[derive(Debug)]
enum State {
    Single(Single),
    /// A cross-partition query: the fan-out's state, lent to each page's execution.
    Fanout(Option<Box<FanoutState>>),
}

/// The state of a query between its pages. Keep it, call [`QueryPager::start_page`], drain the
/// execution, hand the outcome to [`QueryPager::finish_page`]; repeat until
/// [`QueryPager::is_done`].
#[derive(Debug)]
pub struct QueryPager {
    op: CosmosOperation,
    opts: OperationOptions,
    fingerprint: String,
    state: State,
    done: bool,
    /// A page was started and not finished yet.
    in_page: bool,
    /// The token of the last finished page (cross-partition queries).
    last_token: Option<String>,
}

impl QueryPager {
    /// A pager for `op` (a [`CosmosOperation::query`]). `opts.with_continuation` resumes from a
    /// token returned by an earlier page of the same query (any process, any transport).
    pub fn new(op: CosmosOperation, mut opts: OperationOptions) -> Result<QueryPager, ConfigError> {
        if op.kind != OperationKind::Query {
            return Err(ConfigError::InvalidOperation(format!(
                "a query pager needs a query operation, not {}",
                op.kind.as_str()
            )));
        }
        op.validate(false)?;
        if let Some(p) = &opts.problem {
            return Err(ConfigError::clone(p));
        }
        if opts.max_item_count.is_some_and(|n| n > MAX_PAGE_ITEMS) {
            return Err(ConfigError::InvalidSetting {
                name: "max_item_count".into(),
                value: opts.max_item_count.unwrap_or_default().to_string(),
                expected: format!("at most {MAX_PAGE_ITEMS}"),
            });
        }
        let scope = op
            .partition_key
            .as_ref()
            .map(|pk| pk.to_header_value())
            .unwrap_or_default();
        let body = op.body.clone().unwrap_or_default();
        let fingerprint = token::fingerprint(&body, &scope);
        let mut done = false;
        let mut op = op;
        let state = if op.partition_key.is_none() {
            // The fan-out decodes (and checks) the token itself.
            let state = FanoutState::new(&op, &opts)?;
            opts.continuation = None;
            State::Fanout(Some(Box::new(state)))
        } else if let Some(scoped) = opts
            .continuation
            .as_deref()
            .map(|t| FeedToken::decode(t, &fingerprint))
            .transpose()?
            .and_then(|t| prefix_scope_of_token(&op, &t))
        {
            // A token of a hierarchical-key prefix's fan-out: resume the fan-out.
            let state = FanoutState::with_fingerprint(&scoped, &opts, fingerprint.clone())?;
            opts.continuation = None;
            op = scoped;
            State::Fanout(Some(Box::new(state)))
        } else {
            let resume = match opts.continuation.take() {
                Some(t) => Some(FeedToken::decode(&t, &fingerprint)?),
                None => None,
            };
            // Single-partition tokens have exactly one producer.
            match resume.and_then(|t| t.producers.into_iter().next()) {
                Some(p) if p.done => {
                    done = true;
                    State::Single(Single { server: None })
                }
                Some(p) => State::Single(Single { server: p.server }),
                None => State::Single(Single { server: None }),
            }
        };
        Ok(QueryPager {
            op,
            opts,
            fingerprint,
            state,
            done,
            in_page: false,
            last_token: None,
        })
    }

    /// True once the last page was returned.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Starts the next page (`None` when the query is done). Drain the execution like any
    /// other, then pass its outcome to [`QueryPager::finish_page`].
    pub fn start_page(&mut self, d: &mut Driver, now: Now) -> Option<Execution> {
        if self.done {
            return None;
        }
        self.in_page = true;
        let mut opts = self.opts.clone();
        if let State::Single(Single { server: None }) = self.state {
            // The first page of a partition-key-scoped query: a prefix of a hierarchical key
            // spans a key range and fans out over it (known definition), or the execution
            // checks once routing has read the definition.
            match prefix_scope(d, &self.op) {
                Some(Some(scoped)) => {
                    match FanoutState::with_fingerprint(&scoped, &opts, self.fingerprint.clone()) {
                        Ok(state) => {
                            self.op = scoped;
                            self.state = State::Fanout(Some(Box::new(state)));
                        }
                        Err(e) => {
                            // Unreachable without a continuation; surface it as the page's error.
                            opts.problem = Some(Box::new(e));
                        }
                    }
                }
                Some(None) => {}
                None => opts.prefix_check = Some(self.fingerprint.clone()),
            }
        }
        match &mut self.state {
            State::Single(s) => {
                opts.continuation = s.server.clone();
                Some(d.start(self.op.clone(), opts, now))
            }
            State::Fanout(state) => {
                let mut exec = d.start(self.op.clone(), opts, now);
                if let Some(s) = state.take() {
                    exec.attach_fanout_state(d, s, now);
                }
                Some(exec)
            }
        }
    }

    /// Turns the outcome of the page's execution into a [`QueryPage`] and keeps the state for
    /// the next one. A failed page leaves the state where it was: starting the page again
    /// retries it.
    pub fn finish_page(
        &mut self,
        exec: &mut Execution,
        outcome: Result<CosmosResponse, CosmosError>,
    ) -> Result<QueryPage, CosmosError> {
        self.in_page = false;
        if let (State::Single(_), Some(scoped)) = (&self.state, exec.fanout_operation()) {
            // The first page found a hierarchical-key prefix and fanned out over its range.
            self.op = scoped;
            self.state = State::Fanout(None);
        }
        if let State::Fanout(slot) = &mut self.state {
            let taken = exec.take_fanout_state();
            if outcome.is_ok() {
                *slot = taken;
            } else if slot.is_none() {
                // The failed page's state may hold rows it had fetched but not returned; the
                // next attempt resumes from the last page's token instead (nothing is lost,
                // nothing repeated).
                let mut opts = self.opts.clone();
                opts.continuation = self.last_token.clone();
                match FanoutState::new(&self.op, &opts) {
                    Ok(s) => *slot = Some(Box::new(s)),
                    Err(e) => {
                        return Err(CosmosError::config(
                            e,
                            std::sync::Arc::new(CosmosDiagnostics::empty()),
                        ))
                    }
                }
            }
        }
        let response = outcome?;
        let items = page_items(&response)?;
        let headers = response.headers();
        let next = headers
            .continuation()
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let continuation = match &mut self.state {
            State::Single(s) => {
                s.server = next.clone();
                self.done = next.is_none();
                self.single_token(next)
                    .map_err(|e| CosmosError::config(e, response.diagnostics().clone()))?
            }
            State::Fanout(state) => {
                // The fan-out's page carries Sextant's token already, unless the query cannot
                // resume from one; whether it is done is the merge's word.
                self.done = state.as_ref().is_none_or(|s| s.merge_done());
                self.last_token = next.clone();
                next
            }
        };
        Ok(QueryPage {
            items,
            continuation,
            request_charge: headers.request_charge(),
            diagnostics: response.diagnostics().clone(),
            query_metrics: headers.get_str(&QUERY_METRICS).map(str::to_owned),
            index_metrics: headers.get_str(&INDEX_METRICS).map(str::to_owned),
            more: !self.done,
        })
    }

    fn single_token(&self, server: Option<String>) -> Result<Option<String>, ConfigError> {
        if server.is_none() {
            return Ok(None);
        }
        FeedToken {
            fingerprint: self.fingerprint.clone(),
            producers: vec![ProducerPosition {
                min: String::new(),
                max: "FF".into(),
                server,
                skip: 0,
                done: false,
                mark: None,
            }],
            merge: None,
        }
        .encode()
        .map(Some)
    }

    /// The token to resume after the last finished page (`None` when done).
    pub fn continuation(&self) -> Option<String> {
        if self.done {
            return None;
        }
        match &self.state {
            State::Single(s) => self.single_token(s.server.clone()).ok().flatten(),
            State::Fanout(_) => self.last_token.clone(),
        }
    }
}

/// For a query scoped to a partition key: `Some(Some(op))` when the key is a prefix of the
/// container's hierarchical key (`op` is the query scoped to the prefix's feed range instead),
/// `Some(None)` when it is a whole key, `None` while the key definition is unknown.
fn prefix_scope(d: &Driver, op: &CosmosOperation) -> Option<Option<CosmosOperation>> {
    let link = op.container()?.link();
    let def = &d.containers.get(link)?.partition_key;
    Some(prefix_scoped(op, def))
}

/// `op` scoped to the feed range of its partition key when that key is a prefix of `def`.
pub(crate) fn prefix_scoped(
    op: &CosmosOperation,
    def: &crate::models::PartitionKeyDefinition,
) -> Option<CosmosOperation> {
    let pk = op.partition_key.as_ref()?;
    if pk.components().len() >= def.paths.len() {
        return None;
    }
    let range = FeedRange::for_partition_key(pk, def).ok()?;
    let mut scoped = op.clone();
    scoped.partition_key = None;
    scoped.feed_range = Some(range);
    Some(scoped)
}

/// The prefix fan-out a token of a partition-key-scoped query came from: `None` for a
/// single-partition token (one producer over the whole key space).
fn prefix_scope_of_token(op: &CosmosOperation, t: &FeedToken) -> Option<CosmosOperation> {
    let (first, last) = (t.producers.first()?, t.producers.last()?);
    if t.producers.len() == 1 && first.min.is_empty() && first.max == "FF" {
        return None;
    }
    let range = FeedRange::new(first.min.clone(), last.max.clone()).ok()?;
    let mut scoped = op.clone();
    scoped.partition_key = None;
    scoped.feed_range = Some(range);
    Some(scoped)
}

/// The `Documents` array of a query page body, as the service returns it.
pub(crate) fn page_items(response: &CosmosResponse) -> Result<Vec<Value>, CosmosError> {
    let malformed = |why: String| {
        CosmosError::new(
            crate::error::ErrorKind::Service,
            format!("the service's query page body is malformed: {why}"),
            response.diagnostics().clone(),
        )
    };
    let mut body: Value =
        serde_json::from_slice(response.response_bytes()).map_err(|e| malformed(e.to_string()))?;
    match body.get_mut("Documents").map(Value::take) {
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(malformed("\"Documents\" is not an array".into())),
        None => Err(malformed("no \"Documents\" array".into())),
    }
}
