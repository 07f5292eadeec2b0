//! Building the fan-out's children, and taking in what they bring back (plan, split).

use super::super::{Execution, Failure};
use super::plan;
use super::state::FanoutState;
use crate::driver::Driver;
use crate::now::Now;
use crate::operation::options::QueryRole;
use crate::operation::QuerySpec;
use crate::response::CosmosResponse;

impl Execution {
    /// The plan request: the caller's query with the plan headers. It also fetches the
    /// container's routing map (`want_map`), which the producers are built from.
    pub(super) fn fanout_plan_child(
        &mut self,
        d: &mut Driver,
        now: Now,
    ) -> Result<Execution, Failure> {
        let mut opts = self.child_options();
        opts.query_role = QueryRole::Plan;
        opts.continuation = None;
        opts.max_item_count = None;
        let op = self
            .child_operation(None)
            .ok_or_else(|| Failure::Internal("fan-out without its operation".into()))?;
        let mut child = Execution::child(d, op, opts, self, now);
        child.routing.want_map = true;
        Ok(child)
    }

    /// The next page of producer `i`: the rewritten query, sent to its range with its server
    /// continuation. Returns the child and the continuation it was asked with.
    pub(super) fn fanout_page_child(
        &mut self,
        d: &mut Driver,
        i: usize,
        now: Now,
    ) -> Result<(Execution, Option<String>), Failure> {
        let (range_id, parents, next, rewritten, role) = {
            let state = self.fanout_state()?;
            let p = state
                .producers
                .get(i)
                .ok_or_else(|| Failure::Internal(format!("no producer {i}")))?;
            let rewritten = state.plan.as_ref().and_then(|p| p.rewritten.clone());
            // A producer that covers part of its range (a feed-range scope) reads with bounds.
            let role = if p.partial {
                QueryRole::SubRange(Box::new((p.range_id.clone(), p.min.clone(), p.max.clone())))
            } else {
                QueryRole::Range(p.range_id.clone())
            };
            (
                p.range_id.clone(),
                p.parents.clone(),
                p.next.clone(),
                rewritten,
                role,
            )
        };
        let mut opts = self.child_options();
        opts.query_role = role;
        opts.continuation = next.clone();
        let op = self
            .child_operation(rewritten)
            .ok_or_else(|| Failure::Internal("fan-out without its operation".into()))?;
        let mut child = Execution::child(d, op, opts, self, now);
        // The child targets this range: its session token is the range's (no routing needed).
        // After a 410/1002 the policy table has it re-read the routing map (`want_map`), so
        // when it gives up on the gone range the parent finds the ranges that replaced it.
        child.routing.range = Some(std::sync::Arc::new((range_id, parents)));
        child.routing.done = true;
        child.routing.want_map = true;
        Ok((child, next))
    }

    /// The link of the container the query reads (`dbs/d/colls/c`).
    pub(super) fn fanout_container_link(&self) -> Result<String, Failure> {
        self.fanout
            .as_ref()
            .and_then(|f| f.op.container())
            .map(|c| c.link().to_string())
            .ok_or_else(|| Failure::Internal("query without a container".into()))
    }

    fn fanout_state(&self) -> Result<&FanoutState, Failure> {
        self.fanout
            .as_ref()
            .and_then(|f| f.state.as_deref())
            .ok_or_else(|| Failure::Internal("fan-out without state".into()))
    }

    pub(super) fn child_options(&self) -> crate::operation::OperationOptions {
        let mut opts = self
            .fanout
            .as_ref()
            .map(|f| f.opts.clone())
            .unwrap_or_default();
        // The page's deadline bounds every child; children inherit what is left of it.
        opts.end_to_end_timeout = None;
        opts
    }

    /// The caller's query operation, with the plan's rewritten text when there is one.
    fn child_operation(
        &self,
        rewritten: Option<String>,
    ) -> Option<crate::operation::CosmosOperation> {
        let mut op = self.fanout.as_ref()?.op.clone();
        if let (Some(text), Some(spec)) = (rewritten, op.query.as_ref()) {
            let mut new = QuerySpec::new(text);
            for (n, v) in spec.parameters() {
                new = new.with_parameter(n.clone(), v.clone());
            }
            op.body = Some(bytes::Bytes::from(new.to_body()));
            op.query = Some(new);
        }
        Some(op)
    }

    /// The plan child finished: read the plan, resolve the producers from the routing map.
    pub(super) fn fanout_take_plan(
        &mut self,
        d: &mut Driver,
        response: &CosmosResponse,
    ) -> Result<(), Failure> {
        let plan = plan::read_plan(response.response_bytes())
            .map_err(|why| Failure::Config(crate::error::ConfigError::InvalidOperation(why)))?;
        let link = self.fanout_container_link()?;
        let key = self.fanout_plan_key()?;
        d.containers.store_plan(
            &link,
            key,
            bytes::Bytes::copy_from_slice(response.response_bytes()),
        );
        self.fanout_set_plan(d, &link, plan)
    }

    /// The plan cache's key of this query: its text and parameters (not its feed range or
    /// continuation, which the plan does not depend on).
    fn fanout_plan_key(&self) -> Result<String, Failure> {
        let body = self
            .fanout
            .as_ref()
            .and_then(|f| f.op.body.clone())
            .ok_or_else(|| Failure::Internal("query without a body".into()))?;
        Ok(crate::feed::token::fingerprint(&body, ""))
    }

    /// Uses a cached plan when the container's routing map is current: the page needs no plan
    /// request. Returns whether it did.
    pub(super) fn fanout_cached_plan(&mut self, d: &mut Driver) -> Result<bool, Failure> {
        let link = self.fanout_container_link()?;
        let key = self.fanout_plan_key()?;
        let current = d
            .containers
            .get(&link)
            .is_some_and(|e| e.routing.is_some() && !e.ranges_stale);
        let Some(body) = current.then(|| d.containers.plan(&link, &key)).flatten() else {
            return Ok(false);
        };
        let Ok(plan) = plan::read_plan(&body) else {
            return Ok(false);
        };
        self.fanout_set_plan(d, &link, plan)?;
        Ok(true)
    }

    /// The producers of `plan` from the routing map of `link`.
    fn fanout_set_plan(
        &mut self,
        d: &mut Driver,
        link: &str,
        plan: plan::PlanView,
    ) -> Result<(), Failure> {
        let ranges = d
            .containers
            .get(link)
            .and_then(|e| e.routing.as_ref())
            .map(|m| m.ranges().to_vec())
            .ok_or_else(|| {
                Failure::Metadata(format!(
                    "the partition key ranges of {link} could not be read, so the query cannot be fanned out"
                ))
            })?;
        let state = self
            .fanout
            .as_mut()
            .and_then(|f| f.state.as_deref_mut())
            .ok_or_else(|| Failure::Internal("fan-out without state".into()))?;
        state.set_plan(plan, &ranges).map_err(|why| {
            Failure::Config(crate::error::ConfigError::InvalidSetting {
                name: "continuation".into(),
                value: why,
                expected: "a continuation token of this query on this container".into(),
            })
        })
    }

    /// Producer `i`'s range is gone (410/1002): the child refreshed the routing map; replace
    /// the range by the ranges that now cover it.
    pub(super) fn fanout_split(
        &mut self,
        d: &mut Driver,
        i: usize,
        _now: Now,
    ) -> Result<(), Failure> {
        let link = self.fanout_container_link()?;
        let f = self
            .fanout
            .as_mut()
            .ok_or_else(|| Failure::Internal("fan-out vanished".into()))?;
        f.splits += 1;
        if f.splits > super::MAX_SPLITS_PER_PAGE {
            return Err(Failure::Metadata(format!(
                "more than {} partition splits or merges (or re-reads of a routing map that did not show them yet) during one page",
                super::MAX_SPLITS_PER_PAGE
            )));
        }
        let state = f
            .state
            .as_deref_mut()
            .ok_or_else(|| Failure::Internal("fan-out without state".into()))?;
        let (min, max) = state
            .producers
            .get(i)
            .map(|p| (p.min.clone(), p.max.clone()))
            .ok_or_else(|| Failure::Internal(format!("split of unknown producer {i}")))?;
        // The child's 410/1002 marked the map stale and re-read it; if the map still lists the
        // gone range, mark it stale again so the next plan or page re-reads it.
        let children: Vec<_> = d
            .containers
            .get(&link)
            .and_then(|e| e.routing.as_ref())
            .map(|m| {
                m.ranges()
                    .iter()
                    .filter(|r| {
                        r.max_exclusive.as_str() > min.as_str()
                            && r.min_inclusive.as_str() < max.as_str()
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let same = children.len() == 1
            && state
                .producers
                .get(i)
                .is_some_and(|p| p.range_id == children[0].id);
        if same || children.is_empty() {
            // Another execution's re-read of the map may still be in flight: two ranges that
            // merged answer 410 together, and the second child went on with the map the first
            // is refreshing. Send this producer's range again once the map is re-read (it
            // answers 410 until then); bounded by MAX_SPLITS_PER_PAGE like a split.
            d.containers.mark_ranges_stale(&link);
            let again = state
                .producers
                .get(i)
                .map(|p| crate::partition::PartitionKeyRange {
                    id: p.range_id.clone(),
                    min_inclusive: p.min.clone(),
                    max_exclusive: p.max.clone(),
                    parents: p.parents.clone(),
                })
                .ok_or_else(|| Failure::Internal(format!("retry of unknown producer {i}")))?;
            return state.split(i, &[again]).map_err(Failure::Internal);
        }
        state.split(i, &children).map_err(Failure::Internal)
    }
}
