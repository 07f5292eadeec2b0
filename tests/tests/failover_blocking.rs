//! The failover scenarios (`sextant_tests::failover`) through the blocking transport.

use std::collections::BTreeMap;

use sextant_blocking::models::AccountReference;
use sextant_blocking::{
    CosmosDriver, CosmosDriverRuntime, CosmosError, CosmosOperation, CosmosResponse, DriverOptions,
    OperationOptions,
};
use sextant_tests::failover::{self, ClientFactory};
use sextant_tests::fault_proxy::Fault;
use sextant_tests::recording::Recorder;
use sextant_tests::scenarios::Client;

struct BlockingClient {
    driver: CosmosDriver,
    _runtime: CosmosDriverRuntime,
}

sextant_tests::impl_recorder!(BlockingClient, self => self.driver);

impl Client for BlockingClient {
    fn execute(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<CosmosResponse, CosmosError> {
        self.driver.execute_operation(op, Some(opts))
    }
}

struct Blocking;

impl ClientFactory for Blocking {
    fn name(&self) -> String {
        "blocking".into()
    }

    fn client(&self, account: AccountReference, options: DriverOptions) -> Box<dyn Recorder> {
        let runtime = CosmosDriverRuntime::builder()
            .environment(BTreeMap::new())
            .build()
            .expect("runtime");
        let driver = runtime
            .get_or_create_driver(account, Some(options))
            .expect("driver");
        Box::new(BlockingClient {
            driver,
            _runtime: runtime,
        })
    }
}

#[test]
fn a_read_region_refused_mid_workload() {
    failover::read_region_down(&Blocking, Fault::Refuse);
}

#[test]
fn a_read_region_stalled_mid_workload() {
    failover::read_region_down(&Blocking, Fault::Stall);
}

#[test]
fn b_write_forbidden_moves_writes() {
    failover::write_forbidden_moves_writes(&Blocking);
}

#[test]
fn c_reset_after_forward_is_not_duplicated() {
    failover::reset_after_forward_is_not_duplicated(&Blocking);
}

#[test]
fn d_slow_region_is_hedged() {
    failover::slow_region_is_hedged(&Blocking);
}

#[test]
fn e_refused_write_region_after_failover_moves_writes() {
    failover::refused_write_region_after_failover_moves_writes(&Blocking);
}
