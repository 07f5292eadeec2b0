//! sextant-async-std under async-std (c=32: 32 spawned tasks) and under smol (c=32: 32 tasks on
//! one local executor driven by `smol::block_on`).

#[cfg(not(feature = "async-std"))]
use crate::{clients::Plan, meter::Window, workload::Target};

#[cfg(feature = "async-std")]
mod imp {
    use std::sync::Arc;

    use sextant_async_std::CosmosDriver;

    use crate::clients::{sextant, Counter, Plan};
    use crate::meter::{self, Window};
    use crate::workload::Target;

    async fn build(ops: &sextant::Ops, plan: &Plan) -> Result<CosmosDriver, String> {
        let runtime = sextant_async_std::CosmosDriverRuntime::builder()
            .environment(sextant::environment())
            .connection_pool_options(sextant::pool(plan))
            .driver_options(sextant::driver_options(plan)?)
            .seed(7)
            .build()
            .await
            .map_err(|e| e.to_string())?;
        runtime
            .get_or_create_driver(ops.account.clone(), None)
            .await
            .map_err(|e| e.to_string())
    }

    async fn worker(
        ops: &sextant::Ops,
        driver: &CosmosDriver,
        counter: &Counter,
    ) -> Result<(), String> {
        while let Some(n) = counter.take() {
            ops.check(driver.execute_operation(ops.operation(n), None).await)?;
        }
        Ok(())
    }

    /// Under async-std.
    pub fn measure_async_std(target: &Target, plan: &Plan) -> Result<Window, String> {
        let ops = Arc::new(sextant::Ops::new(target, plan)?);
        async_std::task::block_on(async {
            let driver = build(&ops, plan).await?;
            let c = plan.workload.concurrency();
            let phase = |counter: Counter| {
                let counter = Arc::new(counter);
                let tasks: Vec<_> = (0..c)
                    .map(|_| {
                        let (ops, driver, counter) =
                            (Arc::clone(&ops), driver.clone(), Arc::clone(&counter));
                        async_std::task::spawn(async move { worker(&ops, &driver, &counter).await })
                    })
                    .collect();
                async move {
                    for t in tasks {
                        t.await?;
                    }
                    Ok::<(), String>(())
                }
            };
            if c <= 1 {
                worker(&ops, &driver, &Counter::new(0, plan.warmup)).await?;
                let mark = meter::start(plan.server_pid);
                worker(&ops, &driver, &Counter::new(plan.warmup, plan.ops)).await?;
                return Ok(mark.stop());
            }
            phase(Counter::new(0, plan.warmup)).await?;
            let mark = meter::start(plan.server_pid);
            phase(Counter::new(plan.warmup, plan.ops)).await?;
            Ok(mark.stop())
        })
    }

    /// Under smol.
    pub fn measure_smol(target: &Target, plan: &Plan) -> Result<Window, String> {
        let ops = Arc::new(sextant::Ops::new(target, plan)?);
        let ex = smol::LocalExecutor::new();
        smol::block_on(ex.run(async {
            let driver = build(&ops, plan).await?;
            let c = plan.workload.concurrency();
            let phase = |counter: Counter| {
                let counter = Arc::new(counter);
                let tasks: Vec<_> = (0..c)
                    .map(|_| {
                        let (ops, driver, counter) =
                            (Arc::clone(&ops), driver.clone(), Arc::clone(&counter));
                        ex.spawn(async move { worker(&ops, &driver, &counter).await })
                    })
                    .collect();
                async move {
                    for t in tasks {
                        t.await?;
                    }
                    Ok::<(), String>(())
                }
            };
            if c <= 1 {
                worker(&ops, &driver, &Counter::new(0, plan.warmup)).await?;
                let mark = meter::start(plan.server_pid);
                worker(&ops, &driver, &Counter::new(plan.warmup, plan.ops)).await?;
                return Ok(mark.stop());
            }
            phase(Counter::new(0, plan.warmup)).await?;
            let mark = meter::start(plan.server_pid);
            phase(Counter::new(plan.warmup, plan.ops)).await?;
            Ok(mark.stop())
        }))
    }
}

#[cfg(feature = "async-std")]
pub use imp::{measure_async_std, measure_smol};

/// Under async-std (not built: the `async-std` feature is off).
#[cfg(not(feature = "async-std"))]
pub fn measure_async_std(_: &Target, _: &Plan) -> Result<Window, String> {
    Err("built without the `async-std` feature".into())
}

/// Under smol (not built: the `async-std` feature is off).
#[cfg(not(feature = "async-std"))]
pub fn measure_smol(_: &Target, _: &Plan) -> Result<Window, String> {
    Err("built without the `async-std` feature".into())
}
