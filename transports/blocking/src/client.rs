//! The HTTP client: one `ureq::Agent` per runtime (pooled keep-alive connections, rustls), and how
//! one attempt is performed on it.

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Method;
use sextant_core::{
    ConnectionPoolOptions, Now, OutgoingRequest, RequestSent, Response, TransportError,
    TransportErrorKind,
};
use ureq::unversioned::transport::{Connector, RustlsConnector, TcpConnector};
use ureq::{Agent, AsSendBody};

use crate::error_map;
use crate::resolver::CachingResolver;
use crate::socket_timeouts::GridTimeoutsConnector;
use crate::target::Target;
use crate::tls::tls_config;

/// Idle connections kept across all hosts, as a multiple of the per-host limit: an account has
/// one endpoint per region plus the global one, and a runtime may serve a few accounts.
const IDLE_HOSTS_FACTOR: usize = 32;
/// Resolve and connect time out this much before the attempt deadline, so that a hang there is
/// reported as a resolve / connect timeout (`NotSent`) rather than as ureq's global timeout,
/// whose phase is unknown (`Unknown`).
const PHASE_MARGIN: Duration = Duration::from_millis(1);
/// How much less than the usual attempt timeout an attempt may have left and still run on the
/// agent's own timeouts ([`HttpClient::uses_agent_timeouts`]); also the most such an attempt can
/// end after its deadline. What it covers is the time from the core setting the deadline to
/// the attempt starting: one turn, microseconds natively, well under a millisecond under valgrind.
const AGENT_TIMEOUT_SLACK: Duration = Duration::from_millis(1);

/// Both clocks, read once.
pub(crate) use sextant_host::now;

/// A runtime's HTTP client. Cheap to clone (the agent is reference-counted).
#[derive(Clone)]
pub(crate) struct HttpClient {
    agent: Agent,
    connect_timeout: Duration,
    /// The attempt timeout the agent's own configuration bounds (the runtime's request
    /// timeout), if any. See [`HttpClient::uses_agent_timeouts`].
    usual_timeout: Option<Duration>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// An agent configured from the pool options. Statuses are answers, not errors; redirects
    /// are not followed (the core sees every status); proxies from the environment are not used.
    /// `usual_timeout`: the attempt timeout most attempts have (the runtime's request timeout);
    /// the agent's own timeouts are set for it, so those attempts need no per-request
    /// configuration ([`HttpClient::uses_agent_timeouts`]).
    pub(crate) fn new(
        pool: &ConnectionPoolOptions,
        accept_any_certificate: bool,
        usual_timeout: Option<Duration>,
    ) -> Self {
        let usual_timeout = usual_timeout.filter(|t| !t.is_zero());
        let builder = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .proxy(None)
            .max_idle_connections_per_host(pool.max_idle_connections_per_host)
            .max_idle_connections(
                pool.max_idle_connections_per_host
                    .saturating_mul(IDLE_HOSTS_FACTOR),
            )
            .max_idle_age(pool.idle_timeout)
            .tls_config(tls_config(accept_any_certificate));
        let config = match usual_timeout {
            Some(t) => {
                let phase = phase_timeout(t);
                builder
                    .timeout_global(Some(t))
                    .timeout_resolve(Some(phase))
                    .timeout_connect(Some(pool.connect_timeout.min(phase)))
            }
            None => builder.timeout_connect(Some(pool.connect_timeout)),
        }
        .build();
        // ureq's default chain without its proxy steps (proxies are off, see above), with the
        // socket timeouts kept on a grid between TCP and TLS (see `socket_timeouts`).
        let connector =
            ().chain(TcpConnector::default())
                .chain(GridTimeoutsConnector)
                .chain(RustlsConnector::default());
        let agent = Agent::with_parts(config, connector, CachingResolver::default());
        HttpClient {
            agent,
            connect_timeout: pool.connect_timeout,
            usual_timeout,
        }
    }

    /// Performs one attempt on the calling thread, bounded by its deadline. `on_headers` runs when
    /// the response head has arrived, before the body is read.
    pub(crate) fn perform(
        &self,
        req: Box<OutgoingRequest>,
        on_headers: &mut dyn FnMut(Now),
    ) -> Result<Response, TransportError> {
        let timeout = req.timeout_from(Instant::now());
        if timeout.is_zero() {
            return Err(TransportError::new(
                TransportErrorKind::Timeout,
                RequestSent::NotSent,
                "the attempt deadline passed before the request was sent",
            ));
        }
        let OutgoingRequest {
            method,
            uri,
            headers,
            body,
            max_response_bytes,
            ..
        } = *req;
        // Named in every error, like the other transports' messages.
        let target = Target::new(&method, &uri);
        let no_body =
            body.is_empty() && matches!(method, Method::GET | Method::HEAD | Method::DELETE);
        let head = Head {
            method,
            uri,
            headers,
        };
        let response = if no_body {
            self.run(head, (), timeout)
        } else {
            self.run(head, &body[..], timeout)
        }
        .map_err(|e| error_map::in_phase(error_map::before_response(e), target.as_str(), None))?;
        on_headers(now());

        let (parts, mut body) = response.into_parts();
        let limit = u64::try_from(max_response_bytes).unwrap_or(u64::MAX);
        let bytes = read_body(&mut body, limit).map_err(|e| {
            let e = error_map::reading_body(e, max_response_bytes);
            error_map::in_phase(e, target.as_str(), Some("reading the response body"))
        })?;
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: Bytes::from(bytes),
        })
    }

    /// Whether an attempt with `timeout` left runs on the agent's own timeouts, set for the
    /// usual attempt timeout `T`, instead of a per-request configuration (ureq copies its
    /// `Config` into the request's extensions: measured at 2 allocations and about 1.3k
    /// instructions per attempt, docs/PERFORMANCE.md).
    ///
    /// An attempt qualifies when `timeout` is `T` less at most [`AGENT_TIMEOUT_SLACK`] (the
    /// time since the core set its deadline). ureq counts `T` from the start of its call, so such
    /// an attempt can end up to [`AGENT_TIMEOUT_SLACK`] after its deadline, never before it; the
    /// per-request path also counts from ureq's start, a few microseconds after `timeout` was
    /// measured. Resolve and connect keep their [`PHASE_MARGIN`] before ureq's global timeout
    /// either way, so a hang there is still reported as `NotSent`. Any other attempt (a retry
    /// inside an end-to-end bound, a metadata read, a driver with its own request timeout) gets
    /// its exact remaining time.
    pub(crate) fn uses_agent_timeouts(&self, timeout: Duration) -> bool {
        self.usual_timeout
            .is_some_and(|t| timeout <= t && t - timeout <= AGENT_TIMEOUT_SLACK)
    }

    fn run<B: AsSendBody>(
        &self,
        head: Head,
        body: B,
        timeout: Duration,
    ) -> Result<http::Response<ureq::Body>, ureq::Error> {
        let mut request = http::Request::new(body);
        *request.method_mut() = head.method;
        *request.uri_mut() = head.uri;
        *request.headers_mut() = head.headers;
        if self.uses_agent_timeouts(timeout) {
            return self.agent.run(request);
        }
        let phase = phase_timeout(timeout);
        let request = self
            .agent
            .configure_request(request)
            .timeout_global(Some(timeout))
            .timeout_resolve(Some(phase))
            .timeout_connect(Some(self.connect_timeout.min(phase)))
            .build();
        self.agent.run(request)
    }
}

/// The resolve and connect bound within an attempt timeout: [`PHASE_MARGIN`] earlier, so that a
/// hang there is reported as what it is (`NotSent`).
fn phase_timeout(timeout: Duration) -> Duration {
    timeout
        .checked_sub(PHASE_MARGIN)
        .filter(|d| !d.is_zero())
        .unwrap_or(timeout)
}

/// The request line and headers of an attempt.
struct Head {
    method: Method,
    uri: http::Uri,
    headers: http::HeaderMap,
}

/// Reads a response body of at most `limit` bytes: `BodyWithConfig::read_to_vec`, with the
/// buffer sized from the declared `content-length` when there is one within the limit. The body
/// is then read without growing the buffer (`read_to_vec` starts empty and grows it several
/// times), and the full buffer becomes `Bytes` without the allocation `Bytes::from` makes for a
/// `Vec` with spare capacity. Errors are `read_to_vec`'s.
fn read_body(body: &mut ureq::Body, limit: u64) -> Result<Vec<u8>, ureq::Error> {
    use std::io::Read;
    let declared = body.content_length().filter(|&n| n <= limit);
    let mut buf = Vec::with_capacity(declared.map_or(0, |n| usize::try_from(n).unwrap_or(0)));
    body.with_config()
        .limit(limit)
        .reader()
        .read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;
    use crate::testing::{request, response, Peer, Script};

    const CAP: usize = 1024;

    fn client() -> HttpClient {
        HttpClient::new(&ConnectionPoolOptions::default(), false, None)
    }

    fn perform(req: Box<OutgoingRequest>) -> (Result<Response, TransportError>, usize) {
        perform_on(&client(), req)
    }

    fn perform_on(
        client: &HttpClient,
        req: Box<OutgoingRequest>,
    ) -> (Result<Response, TransportError>, usize) {
        let mut heads = 0;
        let result = client.perform(req, &mut |_| heads += 1);
        (result, heads)
    }

    /// A client whose agent is configured for attempts of `usual`.
    fn client_for(usual: Duration) -> HttpClient {
        HttpClient::new(&ConnectionPoolOptions::default(), false, Some(usual))
    }

    #[test]
    fn only_attempts_of_about_the_usual_timeout_run_on_the_agents_timeouts() {
        let t = Duration::from_secs(6);
        let c = client_for(t);
        assert!(c.uses_agent_timeouts(t));
        assert!(c.uses_agent_timeouts(t - Duration::from_micros(5)));
        assert!(c.uses_agent_timeouts(t - AGENT_TIMEOUT_SLACK));
        // Shorter (a retry inside an end-to-end bound, a metadata read) or longer (a driver
        // with its own request timeout): the exact remaining time, per request.
        assert!(!c.uses_agent_timeouts(t - AGENT_TIMEOUT_SLACK - Duration::from_nanos(1)));
        assert!(!c.uses_agent_timeouts(Duration::from_secs(2)));
        assert!(!c.uses_agent_timeouts(t + Duration::from_nanos(1)));
        assert!(!client().uses_agent_timeouts(t));
        assert!(!HttpClient::new(
            &ConnectionPoolOptions::default(),
            false,
            Some(Duration::ZERO)
        )
        .uses_agent_timeouts(Duration::ZERO));
    }

    #[test]
    fn on_the_agents_timeouts_an_attempt_ends_as_on_its_own() {
        let timeout = Duration::from_millis(200);
        let c = client_for(timeout);
        // Silence: a timeout of unknown effect, never before the deadline.
        let peer = Peer::start(vec![Script::Silent]);
        let started = Instant::now();
        let req = request(1, &peer.url("/"), timeout, CAP);
        assert!(c.uses_agent_timeouts(req.timeout_from(Instant::now())));
        let (result, heads) = perform_on(&c, req);
        let elapsed = started.elapsed();
        let e = expect_error(result);
        assert_eq!(
            (e.kind, e.request_sent, heads),
            (TransportErrorKind::Timeout, RequestSent::Unknown, 0),
            "{e:?}"
        );
        assert!(elapsed >= timeout, "{elapsed:?}");
        // A stalled body: sent.
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"partial\":".to_vec();
        let peer = Peer::start(vec![Script::AnswerThenStall(head)]);
        let (result, heads) = perform_on(&c, request(2, &peer.url("/"), timeout, CAP));
        let e = expect_error(result);
        assert_eq!(
            (e.kind, e.request_sent, heads),
            (TransportErrorKind::Timeout, RequestSent::Sent, 1),
            "{e:?}"
        );
        // Refused: not sent.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        drop(listener);
        let (result, _) = perform_on(&c, request(3, &url, timeout, CAP));
        let e = expect_error(result);
        assert_eq!(
            (e.kind, e.request_sent),
            (TransportErrorKind::Connect, RequestSent::NotSent),
            "{e:?}"
        );
        // An answer.
        let peer = Peer::start(vec![Script::Answer(response(200, "{}"))]);
        let (result, heads) = perform_on(&c, request(4, &peer.url("/"), timeout, CAP));
        assert_eq!((result.unwrap().status, heads), (200, 1));
    }

    fn expect_error(result: Result<Response, TransportError>) -> TransportError {
        match result {
            Ok(r) => panic!("expected an error, got {}", r.status),
            Err(e) => e,
        }
    }

    #[test]
    fn answers_with_status_headers_and_body() {
        let peer = Peer::start(vec![Script::Answer(response(
            404,
            r#"{"code":"NotFound"}"#,
        ))]);
        let (result, heads) = perform(request(
            1,
            &peer.url("/dbs/a%20b"),
            Duration::from_secs(5),
            CAP,
        ));
        let r = result.unwrap();
        assert_eq!(r.status, 404, "a status is an answer, not an error");
        assert_eq!(r.headers.get("x-ms-request-charge").unwrap(), "1");
        assert_eq!(&r.body[..], br#"{"code":"NotFound"}"#);
        assert_eq!(heads, 1, "headers reported once, before the body");
    }

    #[test]
    fn body_over_the_cap_is_response_too_large_and_sent() {
        let big = "x".repeat(CAP + 1);
        let peer = Peer::start(vec![Script::Answer(response(200, &big))]);
        let (result, heads) = perform(request(1, &peer.url("/"), Duration::from_secs(5), CAP));
        let e = expect_error(result);
        assert_eq!(
            (e.kind, e.request_sent),
            (TransportErrorKind::ResponseTooLarge, RequestSent::Sent),
            "{e:?}"
        );
        assert_eq!(heads, 1);
        // Exactly at the cap is fine.
        let exact = "y".repeat(CAP);
        let peer = Peer::start(vec![Script::Answer(response(200, &exact))]);
        let (result, _) = perform(request(2, &peer.url("/"), Duration::from_secs(5), CAP));
        assert_eq!(result.unwrap().body.len(), CAP);
    }

    #[test]
    fn silence_until_the_deadline_is_a_timeout_of_unknown_effect() {
        let peer = Peer::start(vec![Script::Silent]);
        let timeout = Duration::from_millis(200);
        let started = Instant::now();
        let (result, heads) = perform(request(1, &peer.url("/"), timeout, CAP));
        let elapsed = started.elapsed();
        let e = expect_error(result);
        assert_eq!(
            (e.kind, e.request_sent),
            (TransportErrorKind::Timeout, RequestSent::Unknown),
            "{e:?}"
        );
        assert_eq!(heads, 0);
        // A timeout cannot fire early; how late it fires on a loaded machine is not asserted.
        assert!(elapsed >= timeout, "{elapsed:?}");
    }

    #[test]
    fn a_stalled_body_is_a_timeout_after_the_request_was_sent() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"partial\":".to_vec();
        let peer = Peer::start(vec![Script::AnswerThenStall(head)]);
        let (result, heads) = perform(request(1, &peer.url("/"), Duration::from_millis(200), CAP));
        let e = expect_error(result);
        assert_eq!(
            (e.kind, e.request_sent),
            (TransportErrorKind::Timeout, RequestSent::Sent),
            "{e:?}"
        );
        assert_eq!(heads, 1);
    }

    #[test]
    fn refused_connection_is_not_sent() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        drop(listener);
        let (result, _) = perform(request(1, &url, Duration::from_secs(5), CAP));
        let e = expect_error(result);
        assert_eq!(
            (e.kind, e.request_sent),
            (TransportErrorKind::Connect, RequestSent::NotSent),
            "{e:?}"
        );
    }

    #[test]
    fn a_connection_closed_before_answering_is_of_unknown_effect() {
        let peer = Peer::start(vec![Script::Close]);
        let (result, _) = perform(request(1, &peer.url("/"), Duration::from_secs(5), CAP));
        let e = expect_error(result);
        assert_eq!(e.request_sent, RequestSent::Unknown, "{e:?}");
    }

    #[test]
    fn a_passed_deadline_sends_nothing() {
        let peer = Peer::start(vec![]);
        let mut req = request(1, &peer.url("/"), Duration::ZERO, CAP);
        req.deadline = Instant::now() - Duration::from_millis(1);
        let e = expect_error(perform(req).0);
        assert_eq!(
            (e.kind, e.request_sent),
            (TransportErrorKind::Timeout, RequestSent::NotSent),
            "{e:?}"
        );
    }

    #[test]
    fn a_pooled_connection_the_server_closed_while_idle_is_not_reused() {
        // The first connection answers and closes (no `connection: close`: ureq pools it). The
        // probe when the pool hands it out again finds it closed; the request goes to a new one.
        let peer = Peer::start(vec![
            Script::Answer(response(200, "{}")),
            Script::Answer(response(201, "{}")),
        ]);
        let client = client();
        let first = client.perform(
            request(1, &peer.url("/"), Duration::from_secs(5), CAP),
            &mut |_| {},
        );
        assert_eq!(first.unwrap().status, 200);
        std::thread::sleep(Duration::from_millis(50));
        let second = client.perform(
            request(2, &peer.url("/"), Duration::from_secs(5), CAP),
            &mut |_| {},
        );
        assert_eq!(second.unwrap().status, 201);
    }

    #[test]
    fn connections_are_reused() {
        // One accepted connection serves both requests (keep-alive).
        let peer = Peer::start(vec![Script::KeepAlive(vec![
            response(200, "{}"),
            response(201, "{}"),
        ])]);
        let client = client();
        let first = client.perform(
            request(1, &peer.url("/"), Duration::from_secs(5), CAP),
            &mut |_| {},
        );
        assert_eq!(first.unwrap().status, 200);
        let second = client.perform(
            request(2, &peer.url("/"), Duration::from_secs(5), CAP),
            &mut |_| {},
        );
        assert_eq!(second.unwrap().status, 201);
    }
}
