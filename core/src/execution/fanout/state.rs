//! What a cross-partition query keeps between its pages: the plan, one producer per partition
//! key range (its server continuations and what was consumed of its current page), and the
//! merge with the rows already fetched (ADR 0005).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::merge::{Mark, Merge, Returned};
use super::plan::PlanView;
use crate::error::ConfigError;
use crate::feed::token::{fingerprint, FeedToken, ProducerPosition};
use crate::operation::{CosmosOperation, OperationOptions};
use crate::partition::PartitionKeyRange;

/// One partition key range of the query.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Producer {
    pub range_id: String,
    pub parents: Vec<String>,
    /// The producer covers only part of its physical range (a feed-range scope): its requests
    /// carry EPK bounds.
    #[serde(default)]
    pub partial: bool,
    pub min: String,
    pub max: String,
    /// The server continuation of this producer's next page (`None`: from the start).
    pub next: Option<String>,
    /// The continuation that fetched the page now buffered, and how many of its rows were
    /// returned: what a token records so a fresh driver fetches that page again and skips.
    pub page_token: Option<String>,
    pub consumed: u32,
    /// Rows to drop from the next page fetched (a resumed producer re-reads its page).
    pub skip: u32,
    /// ORDER BY rows to drop from the next page fetched, by value: set instead of `skip` when
    /// the token's range split since (each child holds a different part of the page).
    #[serde(default)]
    pub resume_mark: Option<Mark>,
    /// No more pages.
    pub done: bool,
}

/// The state of a cross-partition query between pages.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FanoutState {
    pub fingerprint: String,
    pub plan: Option<PlanView>,
    pub producers: Vec<Producer>,
    merge: Option<Merge>,
    /// Positions from a continuation token, applied once the producers are known.
    resume: Option<FeedToken>,
    /// The caller's feed range, if the query is scoped to one.
    #[serde(skip)]
    scope: Option<crate::feed::FeedRange>,
}

impl FanoutState {
    /// A fresh state for `op`, resuming from `opts`' continuation token when it has one.
    pub fn new(op: &CosmosOperation, opts: &OperationOptions) -> Result<FanoutState, ConfigError> {
        let body = op.body.clone().unwrap_or_default();
        let scope = op
            .feed_range
            .as_ref()
            .map(|r| r.to_json_string())
            .unwrap_or_default();
        FanoutState::with_fingerprint(op, opts, fingerprint(&body, &scope))
    }

    /// Like [`FanoutState::new`], with the fingerprint tokens are checked against given: a query
    /// scoped to a hierarchical-key prefix keeps the fingerprint of its partition key scope.
    pub fn with_fingerprint(
        op: &CosmosOperation,
        opts: &OperationOptions,
        fp: String,
    ) -> Result<FanoutState, ConfigError> {
        let resume = match &opts.continuation {
            Some(t) => Some(FeedToken::decode(t, &fp)?),
            None => None,
        };
        Ok(FanoutState {
            fingerprint: fp,
            plan: None,
            producers: Vec::new(),
            merge: None,
            resume,
            scope: op.feed_range.clone(),
        })
    }

    /// The plan arrived: the producers are the ranges of `map` that overlap its query ranges
    /// (each once, in EPK order), positioned from the token when resuming.
    pub fn set_plan(&mut self, plan: PlanView, map: &[PartitionKeyRange]) -> Result<(), String> {
        let mut producers: Vec<Producer> = map
            .iter()
            .filter(|r| {
                plan.ranges.iter().any(|(min, max)| {
                    r.max_exclusive.as_str() > min.as_str()
                        && r.min_inclusive.as_str() < max.as_str()
                })
            })
            .filter(|r| {
                self.scope
                    .as_ref()
                    .is_none_or(|f| f.overlaps(&r.min_inclusive, &r.max_exclusive))
            })
            .map(|r| {
                // A scoped query reads only the part of each range inside its feed range.
                let (min, max) = match &self.scope {
                    Some(f) => (
                        r.min_inclusive.as_str().max(f.min()).to_owned(),
                        r.max_exclusive.as_str().min(f.max()).to_owned(),
                    ),
                    None => (r.min_inclusive.clone(), r.max_exclusive.clone()),
                };
                Producer {
                    range_id: r.id.clone(),
                    parents: r.parents.clone(),
                    partial: min != r.min_inclusive || max != r.max_exclusive,
                    min,
                    max,
                    next: None,
                    page_token: None,
                    consumed: 0,
                    skip: 0,
                    resume_mark: None,
                    done: false,
                }
            })
            .collect();
        let resume = self.resume.take();
        if let Some(token) = &resume {
            producers = split_at_token_ranges(producers, &token.producers);
        }
        let mut merge = Merge::new(&plan, producers.len());
        if let Some(token) = resume {
            if let Some(state) = &token.merge {
                merge.resume(state);
            }
            for p in &mut producers {
                // The token's range that contains this one: a range that split since is covered
                // by its parent's token range; a range that merged since was cut into one piece
                // per token range above.
                let Some(pos) = token
                    .producers
                    .iter()
                    .find(|t| t.min.as_str() <= p.min.as_str() && p.max.as_str() <= t.max.as_str())
                else {
                    return Err(format!(
                        "the continuation token does not cover range {:?} (the container was recreated?)",
                        p.range_id
                    ));
                };
                p.next = pos.server.clone();
                p.skip = pos.skip;
                p.done = pos.done;
                let split_since = pos.min != p.min || pos.max != p.max;
                if split_since && pos.skip > 0 {
                    // A count of rows points at different rows on a child: resume by value.
                    let mark = pos.mark.as_ref().and_then(Mark::from_json).ok_or_else(|| {
                        format!(
                            "the continuation token points inside a page of range [{:?}, {:?}), which split since; this query shape can only resume there by value (ORDER BY)",
                            pos.min, pos.max
                        )
                    })?;
                    p.resume_mark = Some(mark);
                    p.skip = 0;
                }
            }
        }
        for (i, p) in producers.iter().enumerate() {
            if p.done {
                merge.push_page(i, Vec::new(), true, Returned::Count(0))?;
            }
        }
        self.merge = Some(merge);
        self.producers = producers;
        self.plan = Some(plan);
        Ok(())
    }

    /// Producers whose next page the merge needs.
    pub fn wanted(&self) -> Vec<usize> {
        self.merge.as_ref().map(Merge::wanted).unwrap_or_default()
    }

    /// A page of producer `i` arrived (asked with `sent`; `next` continues it).
    pub fn take_page(
        &mut self,
        i: usize,
        sent: Option<String>,
        next: Option<String>,
        rows: Vec<Value>,
    ) -> Result<(), String> {
        let p = self
            .producers
            .get_mut(i)
            .ok_or_else(|| format!("page for unknown producer {i}"))?;
        let returned = match p.resume_mark.take() {
            Some(mark) => Returned::Mark(mark),
            None => Returned::Count(p.skip),
        };
        p.skip = 0;
        p.page_token = sent;
        p.done = next.is_none();
        p.next = next;
        let done = p.done;
        let dropped = self
            .merge
            .as_mut()
            .ok_or("a page before the plan")?
            .push_page(i, rows, done, returned)?;
        if let Some(p) = self.producers.get_mut(i) {
            p.consumed = dropped;
        }
        Ok(())
    }

    /// False when the merge holds the result page here: the next server page to return does not
    /// fit in `room` (a parallel merge returns server pages whole).
    pub fn next_fits(&self, room: usize, page_empty: bool) -> bool {
        self.merge
            .as_ref()
            .is_none_or(|m| m.next_fits(room, page_empty))
    }

    /// Up to `max` result items, in order.
    pub fn pop(&mut self, max: usize) -> Result<Vec<Value>, String> {
        let Some(merge) = self.merge.as_mut() else {
            return Ok(Vec::new());
        };
        let (items, taken) = merge.pop(max)?;
        for i in taken {
            if let Some(p) = self.producers.get_mut(i) {
                p.consumed = p.consumed.saturating_add(1);
            }
        }
        Ok(items)
    }

    /// True when nothing more will come.
    pub fn merge_done(&self) -> bool {
        self.merge.as_ref().is_some_and(Merge::is_done)
    }

    /// Producer `i`'s range split into `children` (from the refreshed routing map): each child
    /// continues from the parent's server continuation (server tokens are rid-based and stay
    /// valid on a child, LOCAL_SERVER.md §2).
    pub fn split(&mut self, i: usize, children: &[PartitionKeyRange]) -> Result<(), String> {
        let parent = self
            .producers
            .get(i)
            .cloned()
            .ok_or_else(|| format!("split of unknown producer {i}"))?;
        if children.is_empty() {
            return Err(format!(
                "range {:?} is gone but has no children",
                parent.range_id
            ));
        }
        let new: Vec<Producer> = children
            .iter()
            .filter(|r| {
                parent.max.as_str() > r.min_inclusive.as_str()
                    && r.max_exclusive.as_str() > parent.min.as_str()
            })
            .map(|r| Producer {
                range_id: r.id.clone(),
                parents: r.parents.clone(),
                partial: parent.partial
                    || r.min_inclusive.as_str() < parent.min.as_str()
                    || r.max_exclusive.as_str() > parent.max.as_str(),
                min: r.min_inclusive.as_str().max(parent.min.as_str()).to_owned(),
                max: r.max_exclusive.as_str().min(parent.max.as_str()).to_owned(),
                next: parent.next.clone(),
                page_token: parent.page_token.clone(),
                consumed: 0,
                skip: 0,
                resume_mark: None,
                done: false,
            })
            .collect();
        self.merge
            .as_mut()
            .ok_or("a split before the plan")?
            .split(i, new.len())?;
        self.producers.splice(i..=i, new);
        Ok(())
    }

    /// The state as JSON (recordings).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The state from [`FanoutState::to_json`].
    pub fn from_json(v: &Value) -> Result<FanoutState, String> {
        FanoutState::deserialize(v).map_err(|e| e.to_string())
    }

    /// The continuation token after what was returned so far (`None` when done).
    pub fn token(&self) -> Result<Option<String>, ConfigError> {
        if self.merge_done() {
            return Ok(None);
        }
        let producers = self
            .producers
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let buffered = self.merge.as_ref().map_or(0, |m| m.buffered(i));
                // Rows still buffered were fetched with `page_token`: fetch that page again and
                // skip what was returned. Nothing buffered: continue with `next`.
                let (server, skip) = if buffered > 0 {
                    (p.page_token.clone(), p.consumed)
                } else {
                    (p.next.clone(), 0)
                };
                let mark = match (skip > 0, self.merge.as_ref()) {
                    (true, Some(m)) => m.mark(i).map(Mark::to_json),
                    _ => None,
                };
                ProducerPosition {
                    min: p.min.clone(),
                    max: p.max.clone(),
                    server,
                    skip,
                    done: p.done && buffered == 0,
                    mark,
                }
            })
            .collect();
        let merge = match self.merge.as_ref().map(Merge::resume_state) {
            Some(Ok(state)) => Some(state),
            Some(Err(why)) => {
                return Err(ConfigError::InvalidOperation(why));
            }
            None => None,
        };
        FeedToken {
            fingerprint: self.fingerprint.clone(),
            producers,
            merge,
        }
        .encode()
        .map(Some)
    }
}

/// Cuts each producer whose range is wider than the token's ranges (its range merged since the
/// token was written) into one producer per token range it holds, each reading its piece of the
/// merged range with EPK bounds and the piece's own server continuation, as .NET resumes a
/// merged range's feed. Producers inside one token range (unchanged, or split since) stay whole.
fn split_at_token_ranges(producers: Vec<Producer>, token: &[ProducerPosition]) -> Vec<Producer> {
    let mut out = Vec::with_capacity(producers.len());
    for p in producers {
        let covered = token
            .iter()
            .any(|t| t.min.as_str() <= p.min.as_str() && p.max.as_str() <= t.max.as_str());
        let pieces: Vec<(String, String)> = token
            .iter()
            .filter(|t| t.max.as_str() > p.min.as_str() && t.min.as_str() < p.max.as_str())
            .map(|t| {
                (
                    p.min.as_str().max(t.min.as_str()).to_owned(),
                    p.max.as_str().min(t.max.as_str()).to_owned(),
                )
            })
            .collect();
        if covered || pieces.len() < 2 {
            out.push(p);
            continue;
        }
        for (min, max) in pieces {
            out.push(Producer {
                range_id: p.range_id.clone(),
                parents: p.parents.clone(),
                partial: true,
                min,
                max,
                next: None,
                page_token: None,
                consumed: 0,
                skip: 0,
                resume_mark: None,
                done: false,
            });
        }
    }
    out
}
