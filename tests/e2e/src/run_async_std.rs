//! sextant-async-std under async-std (c=32: 32 spawned tasks) and under smol (c=32: 32 tasks on
//! one local executor driven by `smol::block_on`).

use crate::clients::{Counter, Plan, RawHyperVariant};
use crate::meter::{self, Window};
use crate::workload::Target;

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

    /// Under async-std; `app`: deserializing each body (`async-std-app`).
    pub fn measure_async_std(target: &Target, plan: &Plan, app: bool) -> Result<Window, String> {
        let ops = Arc::new(sextant::Ops::new(target, plan)?.application(app));
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
pub fn measure_async_std(_: &Target, _: &Plan, _: bool) -> Result<Window, String> {
    Err("built without the `async-std` feature".into())
}

/// Under smol (not built: the `async-std` feature is off).
#[cfg(not(feature = "async-std"))]
pub fn measure_smol(_: &Target, _: &Plan) -> Result<Window, String> {
    Err("built without the `async-std` feature".into())
}

/// The raw hyper baseline on async-std: workers as for sextant-async-std (c=1 in `block_on`,
/// c=32 as spawned tasks), connection I/O futures spawned with `async_std::task::spawn`.
/// `variant`: minimal; `App` re-keys the HMAC per request and deserializes the body; `Wire`
/// sends Sextant's headers and reads its response headers; `WireApp` is `Wire` and `App`.
pub fn measure_raw_hyper(
    target: &Target,
    plan: &Plan,
    variant: RawHyperVariant,
) -> Result<Window, String> {
    use std::sync::Arc;

    use crate::raw_hyper::{ConnTask, RawHyper};

    let app = variant == RawHyperVariant::App;
    let spawn = |conn: ConnTask| drop(async_std::task::spawn(conn));
    let raw = RawHyper::new(target, plan.pool_max_idle, plan.timeout, app, spawn)?;
    let raw = Arc::new(match variant {
        RawHyperVariant::WireApp => raw.wire_application(),
        RawHyperVariant::Minimal | RawHyperVariant::App | RawHyperVariant::Wire => raw,
    });
    let wire = matches!(variant, RawHyperVariant::Wire | RawHyperVariant::WireApp);
    async_std::task::block_on(async {
        let c = plan.workload.concurrency();
        if c <= 1 {
            raw_hyper_worker(&raw, plan, &Counter::new(0, plan.warmup), wire).await?;
            let mark = meter::start(plan.server_pid);
            raw_hyper_worker(&raw, plan, &Counter::new(plan.warmup, plan.ops), wire).await?;
            return Ok(mark.stop());
        }
        let phase = |counter: Counter| {
            let counter = Arc::new(counter);
            let tasks: Vec<_> = (0..c)
                .map(|_| {
                    let (raw, plan, counter) =
                        (Arc::clone(&raw), plan.clone(), Arc::clone(&counter));
                    async_std::task::spawn(async move {
                        raw_hyper_worker(&raw, &plan, &counter, wire).await
                    })
                })
                .collect();
            async move {
                for t in tasks {
                    t.await?;
                }
                Ok::<(), String>(())
            }
        };
        phase(Counter::new(0, plan.warmup)).await?;
        let mark = meter::start(plan.server_pid);
        phase(Counter::new(plan.warmup, plan.ops)).await?;
        Ok(mark.stop())
    })
}

/// The raw hyper baseline on smol: workers and connection I/O futures on one `LocalExecutor`
/// driven by `smol::block_on`, as for sextant-async-std under smol.
pub fn measure_raw_hyper_smol(target: &Target, plan: &Plan) -> Result<Window, String> {
    use std::rc::Rc;

    use crate::raw_hyper::{ConnTask, RawHyper};

    let ex = Rc::new(smol::LocalExecutor::new());
    let conn_ex = Rc::clone(&ex);
    let spawn = move |conn: ConnTask| conn_ex.spawn(conn).detach();
    let raw = Rc::new(RawHyper::new(
        target,
        plan.pool_max_idle,
        plan.timeout,
        false,
        spawn,
    )?);
    let wire = false;
    smol::block_on(ex.run(async {
        let c = plan.workload.concurrency();
        if c <= 1 {
            raw_hyper_worker(&raw, plan, &Counter::new(0, plan.warmup), wire).await?;
            let mark = meter::start(plan.server_pid);
            raw_hyper_worker(&raw, plan, &Counter::new(plan.warmup, plan.ops), wire).await?;
            return Ok(mark.stop());
        }
        let phase = |counter: Counter| {
            let counter = Rc::new(counter);
            let tasks: Vec<_> = (0..c)
                .map(|_| {
                    let (raw, plan, counter) = (Rc::clone(&raw), plan.clone(), Rc::clone(&counter));
                    ex.spawn(async move { raw_hyper_worker(&raw, &plan, &counter, wire).await })
                })
                .collect();
            async move {
                for t in tasks {
                    t.await?;
                }
                Ok::<(), String>(())
            }
        };
        phase(Counter::new(0, plan.warmup)).await?;
        let mark = meter::start(plan.server_pid);
        phase(Counter::new(plan.warmup, plan.ops)).await?;
        Ok(mark.stop())
    }))
}

/// Runs the operations `counter` hands out: a point read of the read item, or a create
/// (`wire`: with the `raw-hyper-wire` requests).
async fn raw_hyper_worker<S: Fn(crate::raw_hyper::ConnTask)>(
    raw: &crate::raw_hyper::RawHyper<S>,
    plan: &Plan,
    counter: &Counter,
    wire: bool,
) -> Result<(), String> {
    use crate::workload;
    if wire {
        while let Some(n) = counter.take() {
            if plan.workload.is_create() {
                let id = workload::create_id(&plan.prefix, n);
                let body = workload::item_body(&id, &id, n);
                raw.create_wire(&id, body).await?;
            } else {
                raw.read_wire(workload::READ_ITEM_ID, workload::READ_ITEM_PK)
                    .await?;
            }
        }
        return Ok(());
    }
    while let Some(n) = counter.take() {
        if plan.workload.is_create() {
            let id = workload::create_id(&plan.prefix, n);
            let body = workload::item_body(&id, &id, n);
            raw.create(&id, body).await?;
        } else {
            raw.read(workload::READ_ITEM_ID, workload::READ_ITEM_PK)
                .await?;
        }
    }
    Ok(())
}
