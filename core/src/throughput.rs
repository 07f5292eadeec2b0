//! Reading and changing a database's or container's throughput: a small sans-IO flow over
//! several operations (PROTOCOL.md §10.1), driven the same way by every transport.
//!
//! 1. Read the resource to learn its `_rid`.
//! 2. Query `/offers` for the offer whose `offerResourceId` is that rid. None: the resource has
//!    no throughput of its own (its database's is shared, or the account is serverless).
//! 3. Read only: read that offer by rid, for what only an offer read carries: the minimum
//!    throughput (`x-ms-cosmos-min-throughput`) and whether a scale is still pending (.NET's
//!    `ReadThroughputAsync` reads the offer the same way).
//! 4. Replace only: if the mode changes (manual ↔ autoscale), `PUT` the migration body with its
//!    header (REST "Replace an Offer" examples 3 and 4) and wait for it to finish; then `PUT`
//!    the wanted value, unless the migration already gave it.
//! 5. While the service answers 202 or `x-ms-offer-replace-pending: true`, wait and re-read the
//!    offer by rid (the Rust SDK's `ThroughputPoller` polls every 5 s).
//!
//! The transport loop is: start with [`FlowInput::Start`]; on [`FlowStep::Send`] execute the
//! operation and feed its result back as [`FlowInput::Response`]; on [`FlowStep::Wait`] sleep
//! and feed [`FlowInput::Waited`]; stop at [`FlowStep::Done`].

use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;
use serde::Deserialize;

use crate::diagnostics::CosmosDiagnostics;
use crate::error::{ConfigError, CosmosError, ErrorKind};
use crate::models::throughput::{
    Offer, ThroughputProperties, MIN_THROUGHPUT, OFFER_REPLACE_PENDING,
};
use crate::models::{ContainerReference, DatabaseReference};
use crate::operation::CosmosOperation;
use crate::response::CosmosResponse;

/// How often a pending scale is polled: 5 s, as the Rust SDK's `ThroughputPoller`.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// How many polls before giving up: 120 (10 minutes at 5 s). Scales that need splits can take
/// longer; the caller can raise it, and the offer is left as the service has it either way.
pub const DEFAULT_MAX_POLLS: u32 = 120;

/// Whose throughput.
#[derive(Debug, Clone)]
pub enum ThroughputTarget {
    /// A database's shared throughput.
    Database(DatabaseReference),
    /// A container's dedicated throughput.
    Container(ContainerReference),
}

impl From<DatabaseReference> for ThroughputTarget {
    fn from(d: DatabaseReference) -> Self {
        ThroughputTarget::Database(d)
    }
}

impl From<ContainerReference> for ThroughputTarget {
    fn from(c: ContainerReference) -> Self {
        ThroughputTarget::Container(c)
    }
}

/// The result of a throughput read or replace.
#[derive(Debug, Clone)]
pub struct ThroughputResponse {
    /// The offer as the service last returned it.
    pub offer: Offer,
    /// The provisioned throughput it describes.
    pub throughput: Option<ThroughputProperties>,
    /// `x-ms-cosmos-min-throughput` of the last offer read or replace, when sent: the lowest
    /// manual RU/s or autoscale maximum the resource accepts now.
    pub min_throughput: Option<u32>,
    /// True when the service was still applying a scale when polling stopped.
    pub replace_pending: bool,
    /// Request units of every request of the flow.
    pub request_charge: f64,
    /// Requests sent.
    pub requests: u32,
}

/// What the transport hands the flow.
#[derive(Debug)]
pub enum FlowInput {
    /// Begin.
    Start,
    /// The result of the last [`FlowStep::Send`].
    Response(Result<CosmosResponse, CosmosError>),
    /// The last [`FlowStep::Wait`] has elapsed.
    Waited,
}

/// What the flow asks the transport to do next.
#[derive(Debug)]
pub enum FlowStep {
    /// Execute this operation (with default options).
    Send(CosmosOperation),
    /// Sleep this long.
    Wait(Duration),
    /// Finished. `Ok(None)`: the resource has no throughput of its own.
    Done(Result<Option<ThroughputResponse>, CosmosError>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Start,
    ReadResource,
    QueryOffer,
    ReadOffer,
    Migrate,
    Replace,
    Poll { then_replace: bool },
    Finished,
}

/// The flow for one read or replace.
#[derive(Debug)]
pub struct ThroughputFlow {
    target: ThroughputTarget,
    goal: Option<ThroughputProperties>,
    stage: Stage,
    poll_interval: Duration,
    polls_left: u32,
    offer: Option<Offer>,
    min_throughput: Option<u32>,
    pending: bool,
    charge: f64,
    requests: u32,
}

#[derive(Deserialize)]
struct Rid {
    #[serde(rename = "_rid")]
    rid: String,
}

#[derive(Deserialize)]
struct Offers {
    #[serde(rename = "Offers", default)]
    offers: Vec<Offer>,
}

impl ThroughputFlow {
    /// Reads the throughput of `target`.
    pub fn read(target: impl Into<ThroughputTarget>) -> Self {
        Self::new(target.into(), None)
    }

    /// Sets the throughput of `target` to `throughput`, migrating between manual and autoscale
    /// when the mode differs, and waits until the service has applied it.
    pub fn replace(target: impl Into<ThroughputTarget>, throughput: ThroughputProperties) -> Self {
        Self::new(target.into(), Some(throughput))
    }

    fn new(target: ThroughputTarget, goal: Option<ThroughputProperties>) -> Self {
        ThroughputFlow {
            target,
            goal,
            stage: Stage::Start,
            poll_interval: DEFAULT_POLL_INTERVAL,
            polls_left: DEFAULT_MAX_POLLS,
            offer: None,
            min_throughput: None,
            pending: false,
            charge: 0.0,
            requests: 0,
        }
    }

    /// Polls a pending scale every `interval`, at most `max_polls` times (then returns with
    /// `replace_pending` set).
    pub fn with_polling(mut self, interval: Duration, max_polls: u32) -> Self {
        self.poll_interval = interval;
        self.polls_left = max_polls;
        self
    }

    fn account(&self) -> crate::models::AccountReference {
        match &self.target {
            ThroughputTarget::Database(d) => d.account().clone(),
            ThroughputTarget::Container(c) => c.account().clone(),
        }
    }

    fn send(&mut self, stage: Stage, op: CosmosOperation) -> FlowStep {
        self.stage = stage;
        FlowStep::Send(op)
    }

    fn finish(&mut self, result: Result<Option<ThroughputResponse>, CosmosError>) -> FlowStep {
        self.stage = Stage::Finished;
        FlowStep::Done(result)
    }

    fn done(&mut self) -> FlowStep {
        let result = self.offer.take().map(|offer| ThroughputResponse {
            throughput: offer.throughput(),
            offer,
            min_throughput: self.min_throughput,
            replace_pending: self.pending,
            request_charge: self.charge,
            requests: self.requests,
        });
        self.finish(Ok(result))
    }

    fn malformed(&mut self, what: &str, diagnostics: &Arc<CosmosDiagnostics>) -> FlowStep {
        self.finish(Err(CosmosError::new(
            ErrorKind::Service,
            format!("throughput: the service's answer to {what} is not usable"),
            Arc::clone(diagnostics),
        )))
    }

    /// Advances the flow.
    pub fn step(&mut self, input: FlowInput) -> FlowStep {
        let response = match input {
            FlowInput::Start if self.stage == Stage::Start => {
                let op = match &self.target {
                    ThroughputTarget::Database(d) => CosmosOperation::read_database(d.clone()),
                    ThroughputTarget::Container(c) => CosmosOperation::read_container(c.clone()),
                };
                return self.send(Stage::ReadResource, op);
            }
            FlowInput::Waited if matches!(self.stage, Stage::Poll { .. }) => {
                let rid = self
                    .offer
                    .as_ref()
                    .map(|o| o.rid.clone())
                    .unwrap_or_default();
                return FlowStep::Send(CosmosOperation::read_offer(self.account(), &rid));
            }
            FlowInput::Response(r) if !matches!(self.stage, Stage::Start | Stage::Finished) => r,
            other => {
                let diagnostics = Arc::new(CosmosDiagnostics::empty());
                return self.finish(Err(CosmosError::config(
                    ConfigError::InvalidOperation(format!(
                        "throughput flow: {other:?} does not fit stage {:?}",
                        self.stage
                    )),
                    diagnostics,
                )));
            }
        };
        let response = match response {
            Ok(r) => r,
            Err(e) => return self.finish(Err(e)),
        };
        self.requests += 1;
        self.charge += response.headers().request_charge();
        let diagnostics = Arc::clone(response.diagnostics());
        match self.stage {
            Stage::ReadResource => match response.json::<Rid>() {
                Ok(r) if !r.rid.is_empty() => {
                    let op = CosmosOperation::query_offers(self.account(), &r.rid);
                    self.send(Stage::QueryOffer, op)
                }
                _ => self.malformed("the resource read (no _rid)", &diagnostics),
            },
            Stage::QueryOffer => {
                let Ok(found) = response.json::<Offers>() else {
                    return self.malformed("the offers query", &diagnostics);
                };
                let Some(offer) = found.offers.into_iter().next() else {
                    return match self.goal {
                        None => self.finish(Ok(None)),
                        Some(_) => self.finish(Err(CosmosError::config(
                            ConfigError::InvalidOperation(
                                "the resource has no throughput of its own to replace (it \
                                 shares its database's, or the account is serverless)"
                                    .into(),
                            ),
                            diagnostics,
                        ))),
                    };
                };
                if self.goal.is_none() {
                    let op = CosmosOperation::read_offer(self.account(), &offer.rid);
                    self.offer = Some(offer);
                    return self.send(Stage::ReadOffer, op);
                }
                self.offer = Some(offer);
                self.next_write()
            }
            Stage::ReadOffer => {
                let Ok(offer) = response.json::<Offer>() else {
                    return self.malformed("the offer read", &diagnostics);
                };
                self.offer = Some(offer);
                self.min_throughput = header_u32(&response, MIN_THROUGHPUT);
                self.pending = is_pending(&response);
                self.done()
            }
            Stage::Migrate | Stage::Replace | Stage::Poll { .. } => {
                let then_replace = match self.stage {
                    Stage::Migrate => true,
                    Stage::Poll { then_replace } => then_replace,
                    _ => false,
                };
                let Ok(offer) = response.json::<Offer>() else {
                    return self.malformed("the offer replace or read", &diagnostics);
                };
                self.offer = Some(offer);
                self.min_throughput = header_u32(&response, MIN_THROUGHPUT).or(self.min_throughput);
                self.pending = is_pending(&response);
                if self.pending {
                    if self.polls_left == 0 {
                        return self.done();
                    }
                    self.polls_left -= 1;
                    self.stage = Stage::Poll { then_replace };
                    return FlowStep::Wait(self.poll_interval);
                }
                if then_replace {
                    return self.next_write();
                }
                self.done()
            }
            Stage::Start | Stage::Finished => self.done(),
        }
    }

    /// After the offer is known (and any migration applied): the next write, or done.
    fn next_write(&mut self) -> FlowStep {
        let (Some(goal), Some(offer)) = (self.goal, self.offer.as_ref()) else {
            return self.done();
        };
        let account = self.account();
        if let Some((body, header)) = offer.migration_to(&goal) {
            let op = CosmosOperation::replace_offer(account, &body).with_offer_migration(header);
            return self.send(Stage::Migrate, op);
        }
        if offer.throughput() == Some(goal) {
            return self.done();
        }
        let op = CosmosOperation::replace_offer(account, &offer.with_throughput(&goal));
        self.send(Stage::Replace, op)
    }
}

/// A 202, or `x-ms-offer-replace-pending: true` (either signal, as the Rust SDK's poller).
fn is_pending(response: &CosmosResponse) -> bool {
    response.status() == 202
        || response
            .headers()
            .get_str(&HeaderName::from_static(OFFER_REPLACE_PENDING))
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn header_u32(response: &CosmosResponse, name: &'static str) -> Option<u32> {
    response
        .headers()
        .get_str(&HeaderName::from_static(name))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests;
