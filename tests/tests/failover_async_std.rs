//! The failover scenarios (`sextant_tests::failover`) through the async-std transport, blocked
//! on with `async_std::task::block_on`.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use sextant_async_std::models::AccountReference;
use sextant_async_std::{
    CosmosDriver, CosmosDriverRuntime, CosmosError, CosmosOperation, CosmosResponse, DriverOptions,
    OperationOptions,
};
use sextant_tests::failover::{self, ClientFactory};
use sextant_tests::fault_proxy::Fault;
use sextant_tests::recording::Recorder;
use sextant_tests::scenarios::Client;

/// Safety net around every `block_on` (operations carry a 20 s end-to-end timeout).
const BOUND: Duration = Duration::from_secs(60);

fn block_on<T>(f: impl Future<Output = T>) -> T {
    async_std::task::block_on(async {
        async_std::future::timeout(BOUND, f)
            .await
            .unwrap_or_else(|_| panic!("not finished within {BOUND:?}"))
    })
}

struct AsyncStdClient {
    driver: CosmosDriver,
    _runtime: CosmosDriverRuntime,
}

sextant_tests::impl_recorder!(AsyncStdClient, self => self.driver);

impl Client for AsyncStdClient {
    fn execute(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<CosmosResponse, CosmosError> {
        block_on(self.driver.execute_operation(op, Some(opts)))
    }
}

struct AsyncStd;

impl ClientFactory for AsyncStd {
    fn name(&self) -> String {
        "async-std".into()
    }

    fn client(&self, account: AccountReference, options: DriverOptions) -> Box<dyn Recorder> {
        let (runtime, driver) = block_on(async {
            let runtime = CosmosDriverRuntime::builder()
                .environment(BTreeMap::new())
                .build()
                .await?;
            let driver = runtime.get_or_create_driver(account, Some(options)).await?;
            Ok::<_, CosmosError>((runtime, driver))
        })
        .expect("runtime and driver");
        Box::new(AsyncStdClient {
            driver,
            _runtime: runtime,
        })
    }
}

#[test]
fn a_read_region_refused_mid_workload() {
    failover::read_region_down(&AsyncStd, Fault::Refuse);
}

#[test]
fn a_read_region_stalled_mid_workload() {
    failover::read_region_down(&AsyncStd, Fault::Stall);
}

#[test]
fn b_write_forbidden_moves_writes() {
    failover::write_forbidden_moves_writes(&AsyncStd);
}

#[test]
fn c_reset_after_forward_is_not_duplicated() {
    failover::reset_after_forward_is_not_duplicated(&AsyncStd);
}

#[test]
fn d_slow_region_is_hedged() {
    failover::slow_region_is_hedged(&AsyncStd);
}

#[test]
fn e_refused_write_region_after_failover_moves_writes() {
    failover::refused_write_region_after_failover_moves_writes(&AsyncStd);
}
