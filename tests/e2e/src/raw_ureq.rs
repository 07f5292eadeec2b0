//! The blocking baseline: ureq with hand-built, hand-signed headers, doing what an application
//! would (the same headers as `raw.rs`), on an agent configured like sextant-blocking's
//! (keep-alive pool, no redirects). Issue 9 compares sextant-blocking with it, as it compares
//! sextant-tokio with raw reqwest.
//!
//! It sets **no timeout**: with any timeout, ureq 3.5's default resolver spawns a thread per
//! request to resolve the host (`unversioned/resolver.rs` `resolve_async`, even for an IP
//! literal), which doubles the client's CPU per read here; sextant-blocking bounds every
//! attempt and avoids that with its own resolver. The baseline is the cheaper configuration.
//!
//! Variants:
//! - `raw-ureq` ([`RawUreq::read`], [`RawUreq::create`]): the minimal headers of `raw.rs` (ureq
//!   adds its own `user-agent: raw-ureq` and `accept: */*`); only the status and body of the
//!   response are looked at. The strict baseline.
//! - `raw-ureq-wire` ([`RawUreq::read_wire`], [`RawUreq::create_wire`]): Sextant's header set in
//!   Sextant's order (its `user-agent` and `accept` replace ureq's), the session token sent back
//!   on reads once one was returned, and the response's session token, request charge and
//!   activity id read; see [`crate::wire`].
//! - `raw-ureq-wire-app`: `raw-ureq-wire` plus what an application does (re-keyed HMAC per
//!   request, deserialized body; [`Wire::application`]).
//! - `raw-ureq-wire-bounded` ([`RawUreq::bounded`]): `raw-ureq-wire` with every request bounded
//!   as sextant-blocking bounds each attempt (ureq's global timeout, resolve and connect bounds
//!   inside it), as the raw reqwest and raw hyper baselines bound theirs. Its resolver answers
//!   IP literals itself (the few lines an application writes to keep ureq's default resolver
//!   from spawning its thread per request once a timeout is set, see above). The bound costs
//!   ureq its timeout bookkeeping on every I/O step, which `raw-ureq-wire` skips.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use sextant_core::auth::MasterKey;
use ureq::config::{Config, ConfigBuilder};
use ureq::typestate::AgentScope;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use ureq::Agent;

use crate::wire::Wire;
use crate::workload::Target;

/// A raw ureq client for one container.
pub struct RawUreq {
    agent: Agent,
    key: MasterKey,
    base: String,
    container_link: String,
    /// The `raw-ureq-wire` variant's activity ids and session token (unused by `raw-ureq`).
    wire: Wire,
}

impl RawUreq {
    /// A client for `target`'s container.
    pub fn new(
        target: &Target,
        pool_max_idle: usize,
        _timeout: Duration,
    ) -> Result<RawUreq, String> {
        Ok(RawUreq {
            agent: Agent::new_with_config(config(pool_max_idle).build()),
            key: MasterKey::parse(&target.key).map_err(|e| e.to_string())?,
            base: target.endpoint.clone(),
            container_link: format!("dbs/{}/colls/{}", target.database, target.container),
            wire: Wire::new(),
        })
    }

    /// The `raw-ureq-wire-bounded` client: every request bounded by `timeout` (ureq's global
    /// timeout, with resolve and connect bounded within it, as sextant-blocking configures its
    /// agent), resolving IP literals without ureq's thread per lookup ([`IpLiteralResolver`]).
    pub fn bounded(mut self, pool_max_idle: usize, timeout: Duration) -> Self {
        let config = config(pool_max_idle)
            .timeout_global(Some(timeout))
            .timeout_resolve(Some(timeout))
            .timeout_connect(Some(timeout.min(CONNECT_TIMEOUT)))
            .build();
        self.agent = Agent::with_parts(config, DefaultConnector::new(), IpLiteralResolver);
        self
    }

    /// The `raw-ureq-wire-app` client: the wire requests re-key the HMAC from `key_base64` per
    /// request and deserialize the body ([`Wire::application`]).
    pub fn wire_application(mut self, key_base64: &str) -> Self {
        self.wire = Wire::application(key_base64);
        self
    }

    /// Point read, expects 200 with a body.
    pub fn read(&self, id: &str, pk: &str) -> Result<(), String> {
        let link = format!("{}/docs/{id}", self.container_link);
        let date = httpdate::fmt_http_date(SystemTime::now());
        let auth = self.key.sign("GET", "docs", &link, &date);
        let mut resp = self
            .agent
            .get(format!("{}{link}", self.base))
            .header("x-ms-date", &date)
            .header("x-ms-version", "2020-07-15")
            .header("authorization", &auth)
            .header("x-ms-documentdb-partitionkey", format!("[\"{pk}\"]"))
            .call()
            .map_err(|e| format!("raw ureq: {e}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .read_to_vec()
            .map_err(|e| format!("raw ureq body: {e}"))?;
        expect(status, 200, &body)
    }

    /// Create, expects 201 with a body.
    pub fn create(&self, pk: &str, body: String) -> Result<(), String> {
        let path = format!("{}/docs", self.container_link);
        let date = httpdate::fmt_http_date(SystemTime::now());
        let auth = self.key.sign("POST", "docs", &self.container_link, &date);
        let mut resp = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("x-ms-date", &date)
            .header("x-ms-version", "2020-07-15")
            .header("authorization", &auth)
            .header("x-ms-documentdb-partitionkey", format!("[\"{pk}\"]"))
            .header("content-type", "application/json")
            .send(body.as_bytes())
            .map_err(|e| format!("raw ureq: {e}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .read_to_vec()
            .map_err(|e| format!("raw ureq body: {e}"))?;
        expect(status, 201, &body)
    }
}

impl RawUreq {
    /// `raw-ureq-wire` point read: Sextant's headers (the session token when one was captured),
    /// reading the response headers Sextant reads; expects 200 with a body.
    pub fn read_wire(&self, id: &str, pk: &str) -> Result<(), String> {
        let link = format!("{}/docs/{id}", self.container_link);
        let date = httpdate::fmt_http_date(SystemTime::now());
        let auth = self.wire.sign(&self.key, "GET", "docs", &link, &date)?;
        let mut req = http::Request::new(());
        *req.uri_mut() = http::Uri::try_from(format!("{}{link}", self.base))
            .map_err(|e| format!("raw ureq uri: {e}"))?;
        *req.headers_mut() = self.wire.request_headers(pk, false, date, auth)?;
        let resp = self.agent.run(req).map_err(|e| format!("raw ureq: {e}"))?;
        self.finish_wire(resp, 200)
    }

    /// `raw-ureq-wire` create: Sextant's headers, reading the response headers Sextant reads;
    /// expects 201 with a body.
    pub fn create_wire(&self, pk: &str, body: String) -> Result<(), String> {
        let path = format!("{}/docs", self.container_link);
        let date = httpdate::fmt_http_date(SystemTime::now());
        let auth = self
            .wire
            .sign(&self.key, "POST", "docs", &self.container_link, &date)?;
        let mut req = http::Request::new(body.as_bytes());
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = http::Uri::try_from(format!("{}{path}", self.base))
            .map_err(|e| format!("raw ureq uri: {e}"))?;
        *req.headers_mut() = self.wire.request_headers(pk, true, date, auth)?;
        let resp = self.agent.run(req).map_err(|e| format!("raw ureq: {e}"))?;
        self.finish_wire(resp, 201)
    }

    /// Reads the response headers Sextant reads, then the body; expects `want` with a body.
    fn finish_wire(&self, mut resp: http::Response<ureq::Body>, want: u16) -> Result<(), String> {
        let status = resp.status().as_u16();
        self.wire.read_response(resp.headers());
        let body = resp
            .body_mut()
            .read_to_vec()
            .map_err(|e| format!("raw ureq body: {e}"))?;
        expect(status, want, &body)?;
        self.wire.read_body(&body)
    }
}

fn expect(status: u16, want: u16, body: &[u8]) -> Result<(), String> {
    if status == want && !body.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "expected {want}, got {status}: {}",
            String::from_utf8_lossy(body)
        ))
    }
}

/// The connect bound of `raw-ureq-wire-bounded` (sextant-blocking's default connect timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The agent configuration every variant shares: keep-alive pool, no redirects, statuses as
/// responses.
fn config(pool_max_idle: usize) -> ConfigBuilder<AgentScope> {
    Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_idle_connections_per_host(pool_max_idle.max(1))
        .max_idle_connections(pool_max_idle.max(1))
        .user_agent("raw-ureq")
}

/// Answers an IP-literal host (the local server's) itself; anything else goes to ureq's
/// default resolver.
#[derive(Debug)]
struct IpLiteralResolver;

impl Resolver for IpLiteralResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let literal = uri.authority().and_then(|a| {
            let host = a.host().trim_start_matches('[').trim_end_matches(']');
            Some(SocketAddr::new(host.parse::<IpAddr>().ok()?, a.port_u16()?))
        });
        match literal {
            Some(addr) => {
                let mut addrs = self.empty();
                addrs.push(addr);
                Ok(addrs)
            }
            None => DefaultResolver::default().resolve(uri, config, timeout),
        }
    }
}
