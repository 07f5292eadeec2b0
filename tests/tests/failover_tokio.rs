//! The failover scenarios (`sextant_tests::failover`) through the tokio transport: a driver per
//! scenario on its own multi-thread tokio runtime (2 workers), blocked on from the test thread.

use std::collections::BTreeMap;
use std::time::Duration;

use sextant_tests::failover::{self, ClientFactory};
use sextant_tests::fault_proxy::Fault;
use sextant_tests::recording::Recorder;
use sextant_tests::scenarios::Client;
use sextant_tokio::models::AccountReference;
use sextant_tokio::{
    CosmosDriver, CosmosDriverRuntime, CosmosError, CosmosOperation, CosmosResponse, DriverOptions,
    OperationOptions,
};

/// Safety net around every `block_on` (operations carry a 20 s end-to-end timeout).
const BOUND: Duration = Duration::from_secs(60);

struct TokioClient {
    driver: CosmosDriver,
    _runtime: CosmosDriverRuntime,
    rt: Option<tokio::runtime::Runtime>,
}

sextant_tests::impl_recorder!(TokioClient, self => self.driver);

impl Client for TokioClient {
    fn execute(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<CosmosResponse, CosmosError> {
        let rt = self.rt.as_ref().expect("runtime");
        rt.block_on(async {
            tokio::time::timeout(BOUND, self.driver.execute_operation(op, Some(opts)))
                .await
                .unwrap_or_else(|_| panic!("operation not finished within {BOUND:?}"))
        })
    }
}

impl Drop for TokioClient {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

struct Tokio;

impl ClientFactory for Tokio {
    fn name(&self) -> String {
        "tokio".into()
    }

    fn client(&self, account: AccountReference, options: DriverOptions) -> Box<dyn Recorder> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let (runtime, driver) = rt
            .block_on(async {
                let runtime = CosmosDriverRuntime::builder()
                    .environment(BTreeMap::new())
                    .build()
                    .await?;
                let driver = runtime.get_or_create_driver(account, Some(options)).await?;
                Ok::<_, CosmosError>((runtime, driver))
            })
            .expect("runtime and driver");
        Box::new(TokioClient {
            driver,
            _runtime: runtime,
            rt: Some(rt),
        })
    }
}

#[test]
fn a_read_region_refused_mid_workload() {
    failover::read_region_down(&Tokio, Fault::Refuse);
}

#[test]
fn a_read_region_stalled_mid_workload() {
    failover::read_region_down(&Tokio, Fault::Stall);
}

#[test]
fn b_write_forbidden_moves_writes() {
    failover::write_forbidden_moves_writes(&Tokio);
}

#[test]
fn c_reset_after_forward_is_not_duplicated() {
    failover::reset_after_forward_is_not_duplicated(&Tokio);
}

#[test]
fn d_slow_region_is_hedged() {
    failover::slow_region_is_hedged(&Tokio);
}

#[test]
fn e_refused_write_region_after_failover_moves_writes() {
    failover::refused_write_region_after_failover_moves_writes(&Tokio);
}
