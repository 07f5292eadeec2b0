//! The clients under test and the measurement protocol every one of them follows:
//! build the client, warm up, measure `ops` operations in a window, drop the client.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::meter::Window;
use crate::workload::{Target, Workload};

/// A client under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientKind {
    /// reqwest with hand-signed headers, on tokio.
    Raw,
    /// The same with Sextant's request headers and response-header reads (`crate::wire`).
    RawWire,
    /// `RawWire` re-keying the HMAC per request and deserializing the body (an application).
    RawWireApp,
    /// ureq with hand-signed headers, on the calling thread(s).
    RawUreq,
    /// The same with Sextant's request headers and response-header reads (`crate::wire`).
    RawUreqWire,
    /// `RawUreqWire` re-keying the HMAC per request and deserializing the body.
    RawUreqWireApp,
    /// `RawUreqWire` with every request bounded by a timeout, as sextant-blocking's attempts
    /// are (`RawUreq::bounded`).
    RawUreqWireBounded,
    /// hyper 1 client connections with hand-signed headers, on async-std.
    RawHyper,
    /// The same with Sextant's request headers and response-header reads (`crate::wire`).
    RawHyperWire,
    /// `RawHyperWire` re-keying the HMAC per request and deserializing the body.
    RawHyperWireApp,
    /// The same, re-keying the HMAC per request and deserializing the body (an application).
    RawHyperApp,
    /// hyper 1 client connections with hand-signed headers, on a smol local executor.
    RawHyperSmol,
    /// sextant-tokio.
    Tokio,
    /// sextant-tokio, deserializing each body into the item as an application does.
    TokioApp,
    /// sextant-blocking; c=32 is 32 threads sharing one driver.
    Blocking,
    /// sextant-blocking, deserializing each body.
    BlockingApp,
    /// sextant-async-std under async-std; c=32 is 32 spawned tasks.
    AsyncStd,
    /// sextant-async-std under async-std, deserializing each body.
    AsyncStdApp,
    /// sextant-async-std under smol; c=32 is 32 tasks on one local executor.
    Smol,
}

impl ClientKind {
    /// Every client, in table order.
    pub const ALL: [ClientKind; 19] = [
        ClientKind::Raw,
        ClientKind::RawWire,
        ClientKind::RawWireApp,
        ClientKind::RawUreq,
        ClientKind::RawUreqWire,
        ClientKind::RawUreqWireApp,
        ClientKind::RawUreqWireBounded,
        ClientKind::RawHyper,
        ClientKind::RawHyperWire,
        ClientKind::RawHyperWireApp,
        ClientKind::RawHyperApp,
        ClientKind::RawHyperSmol,
        ClientKind::Tokio,
        ClientKind::TokioApp,
        ClientKind::Blocking,
        ClientKind::BlockingApp,
        ClientKind::AsyncStd,
        ClientKind::AsyncStdApp,
        ClientKind::Smol,
    ];

    /// Parses a CLI name.
    pub fn parse(s: &str) -> Option<ClientKind> {
        ClientKind::ALL.into_iter().find(|c| c.name() == s)
    }

    /// For a Sextant transport: its minimal raw client and, when there is one, its
    /// identical-wire raw client (the same HTTP stack). `None` for the raw clients.
    pub fn raw_baselines(self) -> Option<(ClientKind, Option<ClientKind>)> {
        match self {
            ClientKind::Tokio => Some((ClientKind::Raw, Some(ClientKind::RawWire))),
            ClientKind::Blocking => Some((ClientKind::RawUreq, Some(ClientKind::RawUreqWire))),
            ClientKind::AsyncStd => Some((ClientKind::RawHyper, Some(ClientKind::RawHyperWire))),
            ClientKind::Smol => Some((ClientKind::RawHyperSmol, None)),
            ClientKind::TokioApp => Some((ClientKind::RawWireApp, None)),
            ClientKind::BlockingApp => Some((ClientKind::RawUreqWireApp, None)),
            ClientKind::AsyncStdApp => Some((ClientKind::RawHyperWireApp, None)),
            _ => None,
        }
    }

    /// CLI name (also used in created item ids).
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Raw => "raw",
            ClientKind::RawWire => "raw-wire",
            ClientKind::RawWireApp => "raw-wire-app",
            ClientKind::RawUreq => "raw-ureq",
            ClientKind::RawUreqWire => "raw-ureq-wire",
            ClientKind::RawUreqWireApp => "raw-ureq-wire-app",
            ClientKind::RawUreqWireBounded => "raw-ureq-wire-bounded",
            ClientKind::RawHyper => "raw-hyper",
            ClientKind::RawHyperWire => "raw-hyper-wire",
            ClientKind::RawHyperWireApp => "raw-hyper-wire-app",
            ClientKind::RawHyperApp => "raw-hyper-app",
            ClientKind::RawHyperSmol => "raw-hyper-smol",
            ClientKind::Tokio => "tokio",
            ClientKind::TokioApp => "tokio-app",
            ClientKind::Blocking => "blocking",
            ClientKind::BlockingApp => "blocking-app",
            ClientKind::AsyncStd => "async-std",
            ClientKind::AsyncStdApp => "async-std-app",
            ClientKind::Smol => "smol",
        }
    }
}

impl fmt::Display for ClientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientKind::Raw => "raw reqwest",
            ClientKind::RawWire => "raw reqwest (identical wire)",
            ClientKind::RawWireApp => "raw reqwest (identical wire, re-keyed, deserialized)",
            ClientKind::RawUreq => "raw ureq",
            ClientKind::RawUreqWire => "raw ureq (identical wire)",
            ClientKind::RawUreqWireApp => "raw ureq (identical wire, re-keyed, deserialized)",
            ClientKind::RawUreqWireBounded => "raw ureq (identical wire, bounded requests)",
            ClientKind::RawHyper => "raw hyper (async-std)",
            ClientKind::RawHyperWire => "raw hyper (async-std, identical wire)",
            ClientKind::RawHyperWireApp => {
                "raw hyper (async-std, identical wire, re-keyed, deserialized)"
            }
            ClientKind::RawHyperApp => "raw hyper (async-std, re-keyed, deserialized)",
            ClientKind::RawHyperSmol => "raw hyper (smol)",
            ClientKind::Tokio => "sextant-tokio",
            ClientKind::TokioApp => "sextant-tokio (deserialized)",
            ClientKind::Blocking => "sextant-blocking",
            ClientKind::BlockingApp => "sextant-blocking (deserialized)",
            ClientKind::AsyncStd => "sextant-async-std (async-std)",
            ClientKind::AsyncStdApp => "sextant-async-std (async-std, deserialized)",
            ClientKind::Smol => "sextant-async-std (smol)",
        })
    }
}

/// One measurement to make.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The workload.
    pub workload: Workload,
    /// Warm-up operations (not measured).
    pub warmup: u64,
    /// Measured operations.
    pub ops: u64,
    /// Prefix of the ids of created items (unique per measurement within a container).
    pub prefix: String,
    /// Idle connections per host.
    pub pool_max_idle: usize,
    /// Per-request / per-attempt timeout.
    pub timeout: Duration,
    /// The server's pid, for its CPU time.
    pub server_pid: Option<u32>,
    /// The tokio runtime flavour.
    pub tokio_flavor: crate::args::TokioFlavor,
}

/// Runs one measurement of `client`.
pub fn measure(client: ClientKind, target: &Target, plan: &Plan) -> Result<Window, String> {
    match client {
        ClientKind::Raw => crate::run_tokio::measure_raw(target, plan, WireMode::Minimal),
        ClientKind::RawWire => crate::run_tokio::measure_raw(target, plan, WireMode::Wire),
        ClientKind::RawWireApp => crate::run_tokio::measure_raw(target, plan, WireMode::WireApp),
        ClientKind::RawUreq => {
            crate::run_blocking::measure_raw_ureq(target, plan, WireMode::Minimal, false)
        }
        ClientKind::RawUreqWire => {
            crate::run_blocking::measure_raw_ureq(target, plan, WireMode::Wire, false)
        }
        ClientKind::RawUreqWireApp => {
            crate::run_blocking::measure_raw_ureq(target, plan, WireMode::WireApp, false)
        }
        ClientKind::RawUreqWireBounded => {
            crate::run_blocking::measure_raw_ureq(target, plan, WireMode::Wire, true)
        }
        ClientKind::RawHyper => {
            crate::run_async_std::measure_raw_hyper(target, plan, RawHyperVariant::Minimal)
        }
        ClientKind::RawHyperWire => {
            crate::run_async_std::measure_raw_hyper(target, plan, RawHyperVariant::Wire)
        }
        ClientKind::RawHyperApp => {
            crate::run_async_std::measure_raw_hyper(target, plan, RawHyperVariant::App)
        }
        ClientKind::RawHyperWireApp => {
            crate::run_async_std::measure_raw_hyper(target, plan, RawHyperVariant::WireApp)
        }
        ClientKind::RawHyperSmol => crate::run_async_std::measure_raw_hyper_smol(target, plan),
        ClientKind::Tokio => crate::run_tokio::measure_sextant(target, plan, false),
        ClientKind::TokioApp => crate::run_tokio::measure_sextant(target, plan, true),
        ClientKind::Blocking => crate::run_blocking::measure(target, plan, false),
        ClientKind::BlockingApp => crate::run_blocking::measure(target, plan, true),
        ClientKind::AsyncStd => crate::run_async_std::measure_async_std(target, plan, false),
        ClientKind::AsyncStdApp => crate::run_async_std::measure_async_std(target, plan, true),
        ClientKind::Smol => crate::run_async_std::measure_smol(target, plan),
    }
}

/// Which raw hyper baseline `measure_raw_hyper` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawHyperVariant {
    /// `raw-hyper`: the minimal headers.
    Minimal,
    /// `raw-hyper-app`: re-keyed HMAC per request, deserialized body.
    App,
    /// `raw-hyper-wire`: Sextant's headers and response-header reads.
    Wire,
    /// `raw-hyper-wire-app`: `Wire`, re-keying the HMAC per request and deserializing the body.
    WireApp,
}

/// Which raw reqwest or ureq baseline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireMode {
    /// `raw`, `raw-ureq`: the minimal headers.
    Minimal,
    /// `raw-wire`, `raw-ureq-wire`: Sextant's headers and response-header reads.
    Wire,
    /// `raw-wire-app`, `raw-ureq-wire-app`: `Wire`, re-keying the HMAC per request and
    /// deserializing the body.
    WireApp,
}

/// Hands out operation indices `[start, end)` to concurrent workers, exactly once each.
pub struct Counter {
    next: AtomicU64,
    end: u64,
}

impl Counter {
    /// Indices `[start, start + count)`.
    pub fn new(start: u64, count: u64) -> Counter {
        Counter {
            next: AtomicU64::new(start),
            end: start + count,
        }
    }

    /// The next index, or `None` when all are taken.
    pub fn take(&self) -> Option<u64> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.end).then_some(i)
    }
}

/// The shared sextant setup: account, container, options.
#[cfg_attr(
    not(any(feature = "tokio", feature = "blocking", feature = "async-std")),
    allow(dead_code)
)]
pub mod sextant {
    use std::collections::BTreeMap;

    use sextant_core::models::{AccountReference, ContainerReference, ItemReference, PartitionKey};
    use sextant_core::{
        ConnectionPoolOptions, CosmosError, CosmosOperation, CosmosResponse, DriverOptions,
    };

    use super::Plan;
    use crate::workload::{self, Target};

    /// Account and container references, and the operation each index stands for.
    pub struct Ops {
        /// The account.
        pub account: AccountReference,
        container: ContainerReference,
        create: bool,
        prefix: String,
        /// Deserialize each body into the item, as an application does (the `-app` clients).
        app: bool,
    }

    impl Ops {
        /// For `target` and `plan`.
        pub fn new(target: &Target, plan: &Plan) -> Result<Ops, String> {
            let account = AccountReference::with_master_key(&target.endpoint, &target.key)
                .map_err(|e| e.to_string())?;
            let container =
                ContainerReference::from_name(account.clone(), &target.database, &target.container);
            Ok(Ops {
                account,
                container,
                create: plan.workload.is_create(),
                prefix: plan.prefix.clone(),
                app: false,
            })
        }

        /// `app`: [`Ops::check`] also deserializes each body into the application's item.
        pub fn application(mut self, app: bool) -> Ops {
            self.app = app;
            self
        }

        /// The operation number `n`: a point read of the read item, or a create of a new item.
        pub fn operation(&self, n: u64) -> CosmosOperation {
            if self.create {
                let id = workload::create_id(&self.prefix, n);
                let body = workload::item_body(&id, &id, n);
                CosmosOperation::create(self.container.clone())
                    .with_partition_key(PartitionKey::from(id))
                    .with_body(body)
            } else {
                let item = ItemReference::in_container(&self.container, workload::READ_ITEM_ID);
                CosmosOperation::read(item)
                    .with_partition_key(PartitionKey::from(workload::READ_ITEM_PK))
            }
        }

        /// Checks an outcome: 200 with a body for reads, 201 for creates.
        pub fn check(&self, r: Result<CosmosResponse, CosmosError>) -> Result<(), String> {
            let r = r.map_err(|e| format!("sextant: {e}"))?;
            let want = if self.create { 201 } else { 200 };
            if r.status() == want && !r.response_bytes().is_empty() {
                if self.app {
                    workload::Item::parse(r.response_bytes())?;
                }
                Ok(())
            } else {
                Err(format!(
                    "expected {want}, got {}: {}",
                    r.status(),
                    String::from_utf8_lossy(r.response_bytes())
                ))
            }
        }
    }

    /// The runtime's options: an empty environment (nothing read from the process), the plan's
    /// pool size and per-attempt timeout.
    pub fn pool(plan: &Plan) -> ConnectionPoolOptions {
        ConnectionPoolOptions {
            max_idle_connections_per_host: plan.pool_max_idle,
            ..ConnectionPoolOptions::default()
        }
    }

    /// Driver options: the plan's per-attempt timeout.
    pub fn driver_options(plan: &Plan) -> Result<DriverOptions, String> {
        DriverOptions::builder()
            .request_timeout(plan.timeout)
            .build()
            .map_err(|e| e.to_string())
    }

    /// No environment variables.
    pub fn environment() -> BTreeMap<String, String> {
        BTreeMap::new()
    }
}
