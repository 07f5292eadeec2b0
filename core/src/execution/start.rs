//! Starting an execution: the one place a [`Driver`] hands out an [`Execution`].
//!
//! It lives with the execution so that `driver.rs` does not depend on `execution/`: the driver
//! is the state executions share, and knows nothing of them.

use super::*;

impl Driver {
    /// Starts an operation. Problems with the operation or options surface as the execution's
    /// `Done(Err(..))` on the first poll, never as a panic.
    pub fn start(
        &mut self,
        operation: CosmosOperation,
        options: OperationOptions,
        now: Now,
    ) -> Execution {
        let activity_id = ActivityId::generate(&mut self.rng);
        // Without a recorder (the usual case) the execution is returned as built: no copy of it.
        if self.recorder.is_none() {
            return Execution::new(self, operation, options, activity_id, now);
        }
        // Replay recording hook: keep what is needed to rebuild the operation.
        let start = crate::replay::RecordedStart::capture(&operation, &options);
        let exec = Execution::new(self, operation, options, activity_id, now);
        if let Some(r) = self.recorder.as_mut() {
            r.start(exec.activity_id(), start, now);
        }
        exec
    }
}
