//! Unit tests that drive the builder directly (10,000 attempts, 1000 regions, pathological
//! strings) and check the memory bound and the summary size cap.

mod bounded_memory;
mod size_cap;

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{CosmosDiagnostics, DiagnosticsBuilder, ExecutionContext};
use crate::ids::{ActivityId, AttemptId};
use crate::request::Purpose;
use crate::rng::DetRng;
use crate::transport::{RequestEventKind, RequestSent};

#[allow(clippy::disallowed_methods)] // a test picks its base instant; the core never does
fn base() -> Instant {
    Instant::now()
}

/// One attempt as a test describes it.
#[derive(Debug, Clone)]
struct Attempt<'a> {
    purpose: Purpose,
    ctx: ExecutionContext,
    region: &'a Arc<str>,
    endpoint: &'a str,
    status: Option<u16>,
    sub_status: Option<u32>,
    charge: f64,
    duration_ms: u64,
    error: Option<&'a str>,
}

impl<'a> Attempt<'a> {
    fn new(region: &'a Arc<str>, endpoint: &'a str, status: u16, duration_ms: u64) -> Self {
        Attempt {
            purpose: Purpose::Operation,
            ctx: ExecutionContext::Retry,
            region,
            endpoint,
            status: Some(status),
            sub_status: None,
            charge: 1.0,
            duration_ms,
            error: None,
        }
    }
}

/// Feeds attempts one after another on a virtual clock.
struct Feeder {
    b: DiagnosticsBuilder,
    now: Instant,
    next_id: u64,
}

impl Feeder {
    fn new() -> Self {
        let t0 = base();
        Feeder {
            b: DiagnosticsBuilder::new(ActivityId::generate(&mut DetRng::new(1)), t0),
            now: t0,
            next_id: 1,
        }
    }

    fn start(&mut self, a: &Attempt<'_>) -> Option<usize> {
        self.next_id += 1;
        self.b.start_attempt(
            AttemptId(self.next_id),
            a.purpose,
            a.ctx,
            a.region.clone(),
            a.endpoint.into(),
            self.now,
        )
    }

    fn end(&mut self, slot: Option<usize>, a: &Attempt<'_>, at: Instant) {
        self.b
            .event(slot, RequestEventKind::TransportComplete, None, at);
        self.b.finish_attempt(
            slot,
            a.status,
            a.sub_status,
            a.charge,
            None,
            if a.status.is_some() {
                RequestSent::Sent
            } else {
                RequestSent::Unknown
            },
            a.error.map(str::to_owned),
            at,
        );
    }

    /// Start, wait `duration_ms`, finish.
    fn run(&mut self, a: &Attempt<'_>) {
        let slot = self.start(a);
        self.now += Duration::from_millis(a.duration_ms);
        let at = self.now;
        self.end(slot, a, at);
    }

    fn finish(&mut self, status: Option<u16>) -> Arc<CosmosDiagnostics> {
        self.b.finish(self.now, status, None)
    }
}
