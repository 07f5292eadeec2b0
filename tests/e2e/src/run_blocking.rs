//! sextant-blocking and raw ureq: c=1 on the harness thread, c=32 as 32 threads sharing one
//! driver (or one agent).

use crate::clients::{Plan, WireMode};
use crate::meter::Window;
use crate::workload::Target;

/// sextant-blocking; `app`: deserializing each body (`blocking-app`).
#[cfg(feature = "blocking")]
pub fn measure(target: &Target, plan: &Plan, app: bool) -> Result<Window, String> {
    use crate::clients::sextant;

    let ops = sextant::Ops::new(target, plan)?.application(app);
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
    on_threads(plan, one)
}

/// Raw ureq (the blocking baseline), with the same threads as sextant-blocking; `mode`:
/// minimal, `raw-ureq-wire` (Sextant's headers, see `crate::wire`) or `raw-ureq-wire-app`
/// (also re-keyed HMAC and deserialized body); `bounded`: every request bounded by the plan's
/// timeout, as sextant-blocking bounds its attempts (`raw-ureq-wire-bounded`).
pub fn measure_raw_ureq(
    target: &Target,
    plan: &Plan,
    mode: WireMode,
    bounded: bool,
) -> Result<Window, String> {
    use crate::workload;
    let raw = crate::raw_ureq::RawUreq::new(target, plan.pool_max_idle, plan.timeout)?;
    let raw = match mode {
        WireMode::WireApp => raw.wire_application(&target.key),
        WireMode::Minimal | WireMode::Wire => raw,
    };
    let raw = if bounded {
        raw.bounded(plan.pool_max_idle, plan.timeout)
    } else {
        raw
    };
    let create = plan.workload.is_create();
    if mode != WireMode::Minimal {
        let one = |n: u64| {
            if create {
                let id = workload::create_id(&plan.prefix, n);
                let body = workload::item_body(&id, &id, n);
                raw.create_wire(&id, body)
            } else {
                raw.read_wire(workload::READ_ITEM_ID, workload::READ_ITEM_PK)
            }
        };
        return on_threads(plan, one);
    }
    let one = |n: u64| {
        if create {
            let id = workload::create_id(&plan.prefix, n);
            let body = workload::item_body(&id, &id, n);
            raw.create(&id, body)
        } else {
            raw.read(workload::READ_ITEM_ID, workload::READ_ITEM_PK)
        }
    };
    on_threads(plan, one)
}

/// c=1 on the harness thread, c>1 as that many threads; warm-up, then the measured window.
fn on_threads(
    plan: &Plan,
    one: impl Fn(u64) -> Result<(), String> + Sync,
) -> Result<Window, String> {
    use std::sync::Barrier;

    use crate::clients::Counter;
    use crate::meter;

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
pub fn measure(_: &Target, _: &Plan, _: bool) -> Result<Window, String> {
    Err("built without the `blocking` feature".into())
}
