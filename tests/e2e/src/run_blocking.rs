//! sextant-blocking: c=1 on the harness thread, c=32 as 32 threads sharing one driver.

use crate::clients::Plan;
use crate::meter::Window;
use crate::workload::Target;

/// sextant-blocking.
#[cfg(feature = "blocking")]
pub fn measure(target: &Target, plan: &Plan) -> Result<Window, String> {
    use std::sync::Barrier;

    use crate::clients::{sextant, Counter};
    use crate::meter;

    let ops = sextant::Ops::new(target, plan)?;
    let runtime = sextant_blocking::CosmosDriverRuntime::builder()
        .environment(sextant::environment())
        .connection_pool_options(sextant::pool(plan))
        .driver_options(sextant::driver_options(plan)?)
        .seed(7)
        .build()
        .map_err(|e| e.to_string())?;
    let driver = runtime
        .get_or_create_driver(ops.account.clone(), None)
        .map_err(|e| e.to_string())?;
    let one = |n: u64| ops.check(driver.execute_operation(ops.operation(n), None));
    let c = plan.workload.concurrency();
    if c <= 1 {
        for n in 0..plan.warmup {
            one(n)?;
        }
        let mark = meter::start(plan.server_pid);
        for n in plan.warmup..plan.warmup + plan.ops {
            one(n)?;
        }
        return Ok(mark.stop());
    }
    // Threads are started before the window and reused for warm-up and measurement.
    let warm = Counter::new(0, plan.warmup);
    let measured = Counter::new(plan.warmup, plan.ops);
    let (warmed, go) = (Barrier::new(c + 1), Barrier::new(c + 1));
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..c)
            .map(|_| {
                s.spawn(|| {
                    let mut r = Ok(());
                    while let (Ok(()), Some(n)) = (&r, warm.take()) {
                        r = one(n);
                    }
                    warmed.wait();
                    go.wait();
                    while let (Ok(()), Some(n)) = (&r, measured.take()) {
                        r = one(n);
                    }
                    r
                })
            })
            .collect();
        warmed.wait();
        let mark = meter::start(plan.server_pid);
        go.wait();
        let mut result = Ok(());
        for w in workers {
            let r = w
                .join()
                .map_err(|_| "a worker thread panicked".to_owned())
                .and_then(|r| r);
            if result.is_ok() {
                result = r;
            }
        }
        result.map(|()| mark.stop())
    })
}

/// sextant-blocking (not built: the `blocking` feature is off).
#[cfg(not(feature = "blocking"))]
pub fn measure(_: &Target, _: &Plan) -> Result<Window, String> {
    Err("built without the `blocking` feature".into())
}
