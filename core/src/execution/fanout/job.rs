//! Multi-request operations other than query pages (ADR 0005): ReadMany and bulk windows.
//!
//! Such an execution first settles routing like an item operation (the container's key
//! definition and routing map, `want_map`), then becomes a fan-out parent whose children
//! are ordinary executions. The child-driving loop is the query fan-out's; what a job adds is
//! which children to start, what to do with each one's outcome, and the final response.

use super::super::{Execution, Failure};
use super::bulk::{BatchRole, BulkJob};
use super::change_feed::{ChangeFeedJob, FeedRead};
use super::read_many::{ReadManyJob, Work};
use super::{Fanout, Role};
use crate::action::Action;
use crate::driver::Driver;
use crate::error::ConfigError;
use crate::now::Now;
use crate::operation::{CosmosOperation, OperationKind, OperationOptions};
use crate::response::CosmosResponse;

/// The multi-request operation a fan-out parent runs.
#[derive(Debug)]
pub(crate) enum Job {
    ReadMany(ReadManyJob),
    Bulk(BulkJob),
    ChangeFeed(ChangeFeedJob),
}

/// What a job's child is for.
#[derive(Debug)]
pub(crate) enum JobRole {
    /// ReadMany work (a point read or one range's query).
    Read(Work),
    /// A bulk batch to one range.
    Batch(BatchRole),
    /// One range's (or one partition key's) change-feed request.
    Feed(FeedRead),
}

/// The operation kinds that run as a job once routing is settled.
pub(crate) fn is_job(kind: OperationKind) -> bool {
    matches!(
        kind,
        OperationKind::ReadMany | OperationKind::Bulk | OperationKind::ChangeFeed
    )
}

impl Execution {
    /// After routing: a ReadMany or bulk window becomes a fan-out parent (nothing was sent for
    /// the operation itself).
    pub(in crate::execution) fn job_step(&mut self, d: &mut Driver, now: Now) -> Option<Action> {
        let (op, opts) = *self.job_op.take()?;
        let invalid = |why: String| Failure::Config(ConfigError::InvalidOperation(why));
        let built = (|| {
            let container = op
                .container()
                .cloned()
                .ok_or_else(|| invalid("a ReadMany or bulk operation needs a container".into()))?;
            let entry = d.containers.get(container.link());
            let map = entry.and_then(|e| e.routing.as_ref());
            let def = entry.map(|e| &e.partition_key);
            let body = op.body.as_deref().unwrap_or_default();
            match op.kind {
                OperationKind::ReadMany => {
                    ReadManyJob::new(container, body, map, def).map(Job::ReadMany)
                }
                OperationKind::ChangeFeed => {
                    ChangeFeedJob::new(container, body, op.partition_key.clone(), map)
                        .map(Job::ChangeFeed)
                }
                _ => BulkJob::new(container, body, &opts, map, def).map(Job::Bulk),
            }
            .map_err(invalid)
        })();
        match built {
            Ok(job) => {
                self.fanout = Some(Box::new(Fanout::for_job(op, opts, job)));
                Some(self.fanout_poll(d, now))
            }
            Err(f) => {
                self.finish(d, Err(f), now.mono);
                None
            }
        }
    }

    pub(super) fn job_mut(&mut self) -> Option<&mut Job> {
        self.fanout.as_mut()?.job.as_deref_mut()
    }

    /// Starts the children the job wants, up to the concurrency bound.
    pub(super) fn job_schedule(&mut self, d: &mut Driver, now: Now) -> Result<(), Failure> {
        loop {
            let (busy, max) = match self.fanout.as_ref() {
                Some(f) => (f.children.len(), f.max_concurrency),
                None => return Ok(()),
            };
            if busy >= max {
                return Ok(());
            }
            let next = match self.job_mut() {
                Some(Job::ReadMany(j)) => j.next_work().map(JobRole::Read),
                Some(Job::Bulk(j)) => j.next_batch(now.mono).map(JobRole::Batch),
                Some(Job::ChangeFeed(j)) => j.next_read().map(JobRole::Feed),
                None => None,
            };
            let Some(role) = next else { return Ok(()) };
            let exec = self.job_child(d, &role, now)?;
            self.fanout_adopt(exec, Role::Job(role), now);
        }
    }

    fn job_child(
        &mut self,
        d: &mut Driver,
        role: &JobRole,
        now: Now,
    ) -> Result<Execution, Failure> {
        let opts = self.child_options();
        let built = match (self.fanout.as_ref().and_then(|f| f.job.as_deref()), role) {
            (Some(Job::ReadMany(j)), JobRole::Read(w)) => j.child(w, opts),
            (Some(Job::Bulk(j)), JobRole::Batch(b)) => j.child(b, opts),
            (Some(Job::ChangeFeed(j)), JobRole::Feed(r)) => j.child(r, opts),
            _ => None,
        };
        let (op, opts, range) =
            built.ok_or_else(|| Failure::Internal("a job child without its job".into()))?;
        let mut child = Execution::child(d, op, opts, self, now);
        if let Some(range) = range {
            // Pinned to one range: its session token is the range's; after a 410/1002 the policy
            // table has it re-read the routing map, so the job re-routes what it carried.
            child.routing.range = Some(std::sync::Arc::new(range));
            child.routing.done = true;
            child.routing.want_map = true;
        }
        Ok(child)
    }

    /// A job's child finished.
    pub(super) fn job_child_done(
        &mut self,
        d: &mut Driver,
        role: JobRole,
        outcome: Result<CosmosResponse, crate::error::CosmosError>,
        now: Now,
    ) -> Result<(), Failure> {
        let link = self.fanout_container_link()?;
        let Some(f) = self.fanout.as_mut() else {
            return Ok(());
        };
        let splits = &mut f.splits;
        match (f.job.as_deref_mut(), role) {
            (Some(Job::ReadMany(j)), JobRole::Read(w)) => {
                j.take(w, outcome, d, &link, splits).map_err(|e| match e {
                    Ok(failure) => failure,
                    Err(error) => super::child_failure(error),
                })
            }
            (Some(Job::Bulk(j)), JobRole::Batch(b)) => {
                j.take(b, outcome, d, &link, splits, now.mono);
                Ok(())
            }
            (Some(Job::ChangeFeed(j)), JobRole::Feed(r)) => {
                j.take(r, outcome, d, &link, splits).map_err(|e| match e {
                    Ok(failure) => failure,
                    Err(error) => super::child_failure(error),
                })
            }
            _ => Err(Failure::Internal("a job child without its job".into())),
        }
    }

    /// True when every child is done and nothing is left to start.
    pub(super) fn job_complete(&self) -> bool {
        let Some(f) = self.fanout.as_ref() else {
            return false;
        };
        f.children.is_empty()
            && match f.job.as_deref() {
                Some(Job::ReadMany(j)) => j.is_done(),
                Some(Job::Bulk(j)) => j.is_done(),
                Some(Job::ChangeFeed(j)) => j.is_done(),
                None => false,
            }
    }

    /// When the job waits for a timer of its own (a throttled bulk operation's retry-after).
    pub(super) fn job_wake(&self) -> Option<std::time::Instant> {
        match self.fanout.as_ref()?.job.as_deref()? {
            Job::Bulk(j) => j.wake(),
            Job::ReadMany(_) | Job::ChangeFeed(_) => None,
        }
    }

    /// The job's response: its body, with the charge of every child.
    pub(super) fn job_finish(&mut self, now: Now) {
        let Some(f) = self.fanout.as_mut() else {
            return;
        };
        let (body, count, continuation) = match f.job.as_deref_mut() {
            Some(Job::ReadMany(j)) => {
                let (b, n) = j.body();
                (b, n, None)
            }
            Some(Job::Bulk(j)) => {
                let (b, n) = j.body();
                (b, n, None)
            }
            Some(Job::ChangeFeed(j)) => j.body(),
            None => (Vec::new(), 0, None),
        };
        let mut raw = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(&format!("{}", self.diag.total_charge())) {
            raw.insert(crate::headers::names::REQUEST_CHARGE, v);
        }
        raw.insert(
            crate::headers::names::ITEM_COUNT,
            http::HeaderValue::from(count),
        );
        if let Some(v) = continuation.and_then(|c| http::HeaderValue::from_str(&c).ok()) {
            raw.insert(crate::headers::names::CONTINUATION, v);
        }
        let diagnostics = self.diag.finish(now.mono, Some(200), None);
        self.outcome = Some(Ok(CosmosResponse::new(
            200,
            crate::headers::ResponseHeaders::parse(raw),
            bytes::Bytes::from(body),
            diagnostics,
        )));
    }
}

impl Fanout {
    /// A fan-out parent running `job` (no query state).
    pub(crate) fn for_job(op: CosmosOperation, opts: OperationOptions, job: Job) -> Fanout {
        let mut f = Fanout::new_empty(op, opts);
        f.job = Some(Box::new(job));
        f
    }
}
