//! The async transports' loop over the core's [`ThroughputFlow`], written once.

use sextant_core::throughput::{FlowInput, FlowStep, ThroughputFlow, ThroughputResponse};
use sextant_core::CosmosError;

use crate::processor::AsyncDriver;

/// Runs `flow` to its end on `driver`: each request with default options, each wait on the
/// transport's runtime.
pub async fn drive<D: AsyncDriver>(
    driver: &D,
    mut flow: ThroughputFlow,
) -> Result<Option<ThroughputResponse>, CosmosError> {
    let mut step = flow.step(FlowInput::Start);
    loop {
        step = match step {
            FlowStep::Send(op) => flow.step(FlowInput::Response(driver.execute(op, None).await)),
            FlowStep::Wait(d) => {
                driver.sleep(d).await;
                flow.step(FlowInput::Waited)
            }
            FlowStep::Done(result) => return result,
        };
    }
}
