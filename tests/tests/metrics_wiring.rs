//! The driver's metrics see every finished operation (simulated), and nothing else.

use sextant_core::models::{ItemReference, PartitionKey};
use sextant_core::{CosmosOperation, DriverOptions, OperationOptions};
use sextant_tests::sim::{Answer, Sim};

#[test]
fn every_finished_operation_is_recorded_once() {
    let mut s = Sim::new(1, DriverOptions::default());
    let item = ItemReference::from_name(s.account.clone(), "db", "c", "a");
    let read = || CosmosOperation::read(item.clone()).with_partition_key(PartitionKey::from("p"));
    s.run(read(), OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    s.run(read(), OperationOptions::new(), |i, _| {
        if i < 2 {
            Answer::throttled(3200, 10)
        } else {
            Answer::ok(200)
        }
    })
    .unwrap();
    let _ = s.run(read(), OperationOptions::new(), |_, _| {
        Answer::status(404, 0)
    });
    // A cancelled operation is not an outcome of the service.
    let mut exec = s.driver.start(read(), OperationOptions::new(), s.now);
    let _ = exec.poll(&mut s.driver, s.now);
    exec.cancel(&mut s.driver, s.now);
    let _ = exec.poll(&mut s.driver, s.now);
    let _ = exec.poll(&mut s.driver, s.now);

    let m = s.driver.metrics_snapshot();
    assert_eq!(m.operations, 3, "{m}");
    assert_eq!(m.throttles, 2, "{m}");
    assert_eq!(m.status_classes.client_error, 1, "{m:?}");
    assert!(m.request_charge >= 6.0, "every attempt's RU: {m}");
    assert!(m.point_latency.p50 > std::time::Duration::ZERO, "{m:?}");
}
