//! raw reqwest and sextant-tokio, on the same tokio runtime configuration.

use std::future::Future;
use std::sync::Arc;

use crate::args::TokioFlavor;
use crate::clients::{Counter, Plan, WireMode};
use crate::meter::{self, Window};
use crate::raw::Raw;
use crate::workload::{self, Target};

/// A tokio runtime of the configured flavour.
pub fn runtime(flavor: TokioFlavor) -> Result<tokio::runtime::Runtime, String> {
    match flavor {
        TokioFlavor::CurrentThread => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        TokioFlavor::MultiThread => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    }
    .map_err(|e| format!("tokio runtime: {e}"))
}

/// Runs operations `[start, start + count)` with `concurrency` spawned tasks (inline for 1).
async fn phase<F, Fut>(op: Arc<F>, start: u64, count: u64, concurrency: usize) -> Result<(), String>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    if concurrency <= 1 {
        for n in start..start + count {
            op(n).await?;
        }
        return Ok(());
    }
    let counter = Arc::new(Counter::new(start, count));
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (op, counter) = (Arc::clone(&op), Arc::clone(&counter));
            tokio::spawn(async move {
                while let Some(n) = counter.take() {
                    op(n).await?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for t in tasks {
        t.await.map_err(|e| format!("task: {e}"))??;
    }
    Ok(())
}

/// Warm-up, then the measured window.
async fn warm_and_measure<F, Fut>(op: F, plan: &Plan) -> Result<Window, String>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    let c = plan.workload.concurrency();
    phase(Arc::clone(&op), 0, plan.warmup, c).await?;
    let mark = meter::start(plan.server_pid);
    phase(op, plan.warmup, plan.ops, c).await?;
    Ok(mark.stop())
}

/// raw reqwest; `mode`: minimal, `raw-wire` (Sextant's headers, see `crate::wire`) or
/// `raw-wire-app` (also re-keyed HMAC and deserialized body).
pub fn measure_raw(target: &Target, plan: &Plan, mode: WireMode) -> Result<Window, String> {
    let rt = runtime(plan.tokio_flavor)?;
    let raw = rt.block_on(async { Raw::new(target, plan.pool_max_idle, plan.timeout) })?;
    let raw = Arc::new(match mode {
        WireMode::WireApp => raw.wire_application(&target.key),
        WireMode::Minimal | WireMode::Wire => raw,
    });
    let create = plan.workload.is_create();
    let prefix: Arc<str> = Arc::from(plan.prefix.as_str());
    if mode != WireMode::Minimal {
        let window = rt.block_on(warm_and_measure(
            move |n| {
                let (raw, prefix) = (Arc::clone(&raw), Arc::clone(&prefix));
                async move {
                    if create {
                        let id = workload::create_id(&prefix, n);
                        let body = workload::item_body(&id, &id, n);
                        raw.create_wire(&id, body).await
                    } else {
                        raw.read_wire(workload::READ_ITEM_ID, workload::READ_ITEM_PK)
                            .await
                    }
                }
            },
            plan,
        ));
        drop(rt);
        return window;
    }
    let window = rt.block_on(warm_and_measure(
        move |n| {
            let (raw, prefix) = (Arc::clone(&raw), Arc::clone(&prefix));
            async move {
                if create {
                    let id = workload::create_id(&prefix, n);
                    let body = workload::item_body(&id, &id, n);
                    raw.create(&id, body).await
                } else {
                    raw.read(workload::READ_ITEM_ID, workload::READ_ITEM_PK)
                        .await
                }
            }
        },
        plan,
    ));
    drop(rt);
    window
}

/// Creates the block's database, container and read item with a raw client.
pub fn setup(target: &Target, timeout: std::time::Duration) -> Result<(), String> {
    let rt = runtime(TokioFlavor::CurrentThread)?;
    rt.block_on(async {
        let raw = Raw::new(target, 4, timeout)?;
        raw.setup(target).await
    })
}

/// sextant-tokio; `app`: deserializing each body (`tokio-app`).
#[cfg(feature = "tokio")]
pub fn measure_sextant(target: &Target, plan: &Plan, app: bool) -> Result<Window, String> {
    use crate::clients::sextant;
    let rt = runtime(plan.tokio_flavor)?;
    let ops = Arc::new(sextant::Ops::new(target, plan)?.application(app));
    let driver = rt.block_on(async {
        let runtime = sextant_tokio::CosmosDriverRuntime::builder()
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
    })?;
    let window = rt.block_on(warm_and_measure(
        move |n| {
            let (ops, driver) = (Arc::clone(&ops), driver.clone());
            async move {
                let r = driver.execute_operation(ops.operation(n), None).await;
                ops.check(r)
            }
        },
        plan,
    ));
    drop(rt);
    window
}

/// sextant-tokio (not built: the `tokio` feature is off).
#[cfg(not(feature = "tokio"))]
pub fn measure_sextant(_: &Target, _: &Plan, _: bool) -> Result<Window, String> {
    Err("built without the `tokio` feature".into())
}
