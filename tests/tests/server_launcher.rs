//! Self-test of the local test server launcher (`sextant_tests::server`): the server starts, its
//! shims behave as documented and can be switched off, and dropping the handle stops it.
//!
//! Uses raw HTTP/1.1 over a `std::net::TcpStream` (no TLS, no driver) with bounded timeouts.

// Failing loudly with context is what a test helper is for.
#![allow(clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use sextant_tests::server::{ServerOptions, TestServer, SHIMS};

const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed HTTP response.
struct Response {
    status: u16,
    body: serde_json::Value,
}

/// The `127.0.0.1:PORT` address of an `http://127.0.0.1:PORT/` endpoint.
fn addr(endpoint: &str) -> SocketAddr {
    let authority = endpoint
        .strip_prefix("http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("unexpected endpoint {endpoint:?}"));
    authority
        .parse()
        .unwrap_or_else(|err| panic!("bad endpoint {endpoint:?}: {err}"))
}

fn port(endpoint: &str) -> u16 {
    let authority = endpoint.trim_end_matches('/');
    let port = authority.rsplit(':').next().unwrap_or_default();
    port.parse()
        .unwrap_or_else(|err| panic!("no port in {endpoint:?}: {err}"))
}

/// Sends one request on a new connection and reads the response (using its content-length).
fn request(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Response {
    let addr = addr(server.http_endpoint());
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
        .unwrap_or_else(|err| panic!("connect to {addr}: {err}"));
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
        .unwrap_or_else(|err| panic!("set socket timeouts: {err}"));

    let body = body.unwrap_or("");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .unwrap_or_else(|err| panic!("send {method} {path}: {err}"));

    // Read the head, then exactly content-length bytes: do not rely on the server closing.
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream
            .read(&mut buf)
            .unwrap_or_else(|err| panic!("read response to {method} {path}: {err}"));
        assert!(n > 0, "connection closed inside the response head: {raw:?}");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("malformed status line: {head:?}"));
    let content_length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    let mut body = raw[head_end..].to_vec();
    while body.len() < content_length {
        let n = stream
            .read(&mut buf)
            .unwrap_or_else(|err| panic!("read response body to {method} {path}: {err}"));
        assert!(n > 0, "connection closed inside the response body");
        body.extend_from_slice(&buf[..n]);
    }
    assert_eq!(
        body.len(),
        content_length,
        "content-length mismatch for {method} {path}"
    );
    let body = String::from_utf8(body).unwrap_or_else(|err| panic!("non-UTF-8 body: {err}"));
    let body = if body.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&body).unwrap_or_else(|err| panic!("body {body:?} not JSON: {err}"))
    };
    Response { status, body }
}

/// The `databaseAccountEndpoint` of every writable and readable location of `GET /`.
fn location_endpoints(server: &TestServer) -> Vec<String> {
    let response = request(server, "GET", "/", &[], None);
    assert_eq!(response.status, 200, "GET /: {}", response.body);
    let mut endpoints = Vec::new();
    for key in ["writableLocations", "readableLocations"] {
        let locations = response.body[key]
            .as_array()
            .unwrap_or_else(|| panic!("no {key} in {}", response.body));
        assert!(!locations.is_empty(), "empty {key}");
        for location in locations {
            assert!(location["name"].is_string(), "unnamed location {location}");
            endpoints.push(
                location["databaseAccountEndpoint"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no endpoint in {location}"))
                    .to_owned(),
            );
        }
    }
    endpoints
}

/// Creates database `db` and container `c` (partition key `/pk`).
fn create_container(server: &TestServer) {
    let db = request(server, "POST", "/dbs", &[], Some(r#"{"id":"db"}"#));
    assert_eq!(db.status, 201, "create database: {}", db.body);
    let coll = request(
        server,
        "POST",
        "/dbs/db/colls",
        &[],
        Some(r#"{"id":"c","partitionKey":{"paths":["/pk"],"kind":"Hash"}}"#),
    );
    assert_eq!(coll.status, 201, "create container: {}", coll.body);
}

const PK: (&str, &str) = ("x-ms-documentdb-partitionkey", r#"["p"]"#);

#[test]
fn endpoints_are_local_and_distinct() {
    let server = TestServer::start();
    assert!(server.http_endpoint().starts_with("http://127.0.0.1:"));
    assert!(server.https_endpoint().starts_with("https://127.0.0.1:"));
    assert!(server.http_endpoint().ends_with('/') && server.https_endpoint().ends_with('/'));
    assert_ne!(port(server.http_endpoint()), port(server.https_endpoint()));
}

#[test]
fn account_locations_point_at_the_http_listener() {
    let server = TestServer::start();
    let endpoints = location_endpoints(&server);
    for endpoint in &endpoints {
        assert_eq!(endpoint, server.http_endpoint());
    }
}

#[test]
fn without_shims_locations_advertise_https() {
    let server = TestServer::start_with(ServerOptions::without_shims());
    let endpoints = location_endpoints(&server);
    for endpoint in &endpoints {
        assert_ne!(endpoint, server.http_endpoint());
        // The raw server advertises https:// with the HTTP listener's port.
        assert_eq!(
            endpoint,
            &format!("https://127.0.0.1:{}/", port(server.http_endpoint()))
        );
    }
}

#[test]
fn one_shim_can_be_disabled() {
    let server = TestServer::start_with(ServerOptions::default().without_shim("account-locations"));
    assert!(location_endpoints(&server)
        .iter()
        .all(|endpoint| endpoint.starts_with("https://")));
    // The other shims stay on.
    create_container(&server);
    let ranges = request(&server, "GET", "/dbs/db/colls/c/pkranges", &[], None);
    assert_eq!(ranges.body["PartitionKeyRanges"][0]["id"], "0");
}

#[test]
fn pkrange_ids_are_strings_only_with_the_shim() {
    for (opts, expected) in [
        (ServerOptions::default(), serde_json::json!("0")),
        (ServerOptions::without_shims(), serde_json::json!(0)),
    ] {
        let server = TestServer::start_with(opts);
        create_container(&server);
        let ranges = request(&server, "GET", "/dbs/db/colls/c/pkranges", &[], None);
        assert_eq!(ranges.status, 200, "{}", ranges.body);
        assert_eq!(ranges.body["PartitionKeyRanges"][0]["id"], expected);
    }
}

#[test]
fn missing_item_read_is_404_only_with_the_shim() {
    let server = TestServer::start();
    create_container(&server);
    let read = request(&server, "GET", "/dbs/db/colls/c/docs/nope", &[PK], None);
    assert_eq!(read.status, 404, "{}", read.body);
    assert_eq!(read.body["code"], "NotFound");

    let create = request(
        &server,
        "POST",
        "/dbs/db/colls/missing/docs",
        &[PK],
        Some(r#"{"id":"a","pk":"p"}"#),
    );
    assert_eq!(create.status, 404, "{}", create.body);
    assert_eq!(create.body["code"], "NotFound");

    let raw = TestServer::start_with(ServerOptions::without_shims());
    create_container(&raw);
    let read = request(&raw, "GET", "/dbs/db/colls/c/docs/nope", &[PK], None);
    assert_eq!(read.status, 500, "{}", read.body);
}

#[test]
fn error_bodies_carry_a_code() {
    let server = TestServer::start();
    create_container(&server);
    let conflict = request(&server, "POST", "/dbs", &[], Some(r#"{"id":"db"}"#));
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.body["code"], "Conflict");
    let missing = request(&server, "GET", "/dbs/missing", &[], None);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["code"], "NotFound");
}

/// Sends `GET /` with `Connection: close` and reports whether the server then closes the
/// connection (EOF within a short timeout).
fn server_closes_after_connection_close(server: &TestServer) -> bool {
    let addr = addr(server.http_endpoint());
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
        .unwrap_or_else(|err| panic!("connect to {addr}: {err}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap_or_else(|err| panic!("set socket timeout: {err}"));
    stream
        .write_all(
            format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap_or_else(|err| panic!("send: {err}"));
    let mut raw = Vec::new();
    let closed = stream.read_to_end(&mut raw).is_ok();
    assert!(
        raw.starts_with(b"HTTP/1.1 200"),
        "unexpected response {:?}",
        String::from_utf8_lossy(&raw)
    );
    closed
}

#[test]
fn connection_close_is_honoured_only_with_the_shim() {
    let server = TestServer::start();
    assert!(server_closes_after_connection_close(&server));
    let raw = TestServer::start_with(ServerOptions::default().without_shim("connection-close"));
    assert!(!server_closes_after_connection_close(&raw));
}

#[test]
fn malformed_path_does_not_crash_the_server() {
    let server = TestServer::start();
    let bad = request(&server, "GET", "/dbs/db/colls/c/docs/a%ZZ", &[PK], None);
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.body["code"], "BadRequest");
    assert_eq!(request(&server, "GET", "/", &[], None).status, 200);
}

#[test]
fn special_character_ids_round_trip() {
    let server = TestServer::start();
    create_container(&server);
    // id "a b+=%?#é", percent-encoded in the path.
    let id = "a b+=%?#\u{e9}";
    let body = serde_json::json!({ "id": id, "pk": "p" }).to_string();
    let created = request(&server, "POST", "/dbs/db/colls/c/docs", &[PK], Some(&body));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["id"], id);
    let path = "/dbs/db/colls/c/docs/a%20b%2B%3D%25%3F%23%C3%A9";
    let read = request(&server, "GET", path, &[PK], None);
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["id"], id);
}

#[test]
fn drop_stops_the_server() {
    let server = TestServer::start();
    let addr = addr(server.http_endpoint());
    assert_eq!(request(&server, "GET", "/", &[], None).status, 200);
    drop(server);
    assert!(
        TcpStream::connect_timeout(&addr, IO_TIMEOUT).is_err(),
        "the server still accepts connections on {addr} after drop"
    );
}

#[test]
fn shim_names_are_known_to_the_launcher() {
    // An unknown name makes the launcher fail; every documented name must be accepted.
    for name in SHIMS {
        drop(TestServer::start_with(
            ServerOptions::default().without_shim(name),
        ));
    }
}

#[test]
#[should_panic(expected = "unknown shim")]
fn unknown_shim_fails_loudly() {
    let _server = TestServer::start_with(ServerOptions::default().without_shim("no-such-shim"));
}
