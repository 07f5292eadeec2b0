//! How failures of the HTTP exchange reach the core: kind and `request_sent` for each phase,
//! the per-attempt deadline and the response-size cap. A scripted fake server on 127.0.0.1
//! misbehaves in one way per test; every wait is bounded by the driver's timeouts.

// Test code: a failed expectation is a failed test with its message.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use sextant_tokio::models::AccountReference;
use sextant_tokio::{
    CosmosDriverRuntime, CosmosError, CosmosOperation, DriverOptions, ErrorKind, RequestSent,
    TransportErrorKind,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";

/// How the fake server answers every request.
#[derive(Clone, Copy)]
enum Script {
    /// Read the request, then close without answering.
    CloseAfterRequest,
    /// Answer bytes that are not HTTP.
    Garbage,
    /// Headers announcing 100 bytes, 10 bytes, then close.
    TruncatedBody,
    /// Headers announcing a body larger than the cap.
    DeclaredTooLarge,
    /// A chunked body that grows past the cap.
    ChunkedTooLarge,
    /// Read the request and never answer.
    NoAnswer,
    /// Headers, then a body that never arrives.
    StalledBody,
}

async fn read_request(s: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    true
}

async fn answer(mut s: TcpStream, script: Script) {
    if !read_request(&mut s).await {
        return;
    }
    let head =
        |extra: &str| format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{extra}\r\n");
    match script {
        Script::CloseAfterRequest => {}
        Script::Garbage => {
            let _ = s.write_all(b"this is not HTTP at all\r\n\r\n").await;
        }
        Script::TruncatedBody => {
            let _ = s
                .write_all(head("content-length: 100\r\n").as_bytes())
                .await;
            let _ = s.write_all(b"{\"id\":\"x\"").await;
        }
        Script::DeclaredTooLarge => {
            let _ = s
                .write_all(head("content-length: 10000000\r\n").as_bytes())
                .await;
            let _ = s.write_all(&[b' '; 1024]).await;
        }
        Script::ChunkedTooLarge => {
            let _ = s
                .write_all(head("transfer-encoding: chunked\r\n").as_bytes())
                .await;
            let piece = format!("{:x}\r\n{}\r\n", 16 * 1024, " ".repeat(16 * 1024));
            for _ in 0..16 {
                if s.write_all(piece.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
        Script::NoAnswer | Script::StalledBody => {
            if matches!(script, Script::StalledBody) {
                let _ = s
                    .write_all(head("content-length: 100\r\n").as_bytes())
                    .await;
            }
            // Hold the connection open until the client gives up and closes it.
            let mut sink = [0u8; 64];
            while let Ok(n) = s.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
            return;
        }
    }
    let _ = s.shutdown().await;
}

/// Runs one operation against a fake server following `script`; returns its error.
fn fail_with(script: Script, options: DriverOptions) -> CosmosError {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        // The server task dies with the runtime at the end of the test.
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                tokio::spawn(answer(s, script));
            }
        });
        let account = AccountReference::with_master_key(&format!("http://127.0.0.1:{port}/"), KEY)
            .expect("account");
        let runtime = CosmosDriverRuntime::builder()
            .environment(BTreeMap::new())
            .driver_options(options)
            .build()
            .await
            .expect("runtime");
        let driver = runtime
            .get_or_create_driver(account.clone(), None)
            .await
            .expect("driver");
        driver
            .execute_operation(CosmosOperation::list_databases(account), None)
            .await
            .expect_err("the fake server never answers properly")
    })
}

fn options() -> DriverOptions {
    DriverOptions::builder()
        .metadata_request_timeout(Duration::from_millis(500))
        .request_timeout(Duration::from_millis(500))
        .end_to_end_timeout(Duration::from_secs(20))
        .max_response_bytes(64 * 1024)
        .build()
        .expect("options")
}

fn assert_transport(e: &CosmosError, kind: TransportErrorKind, sent: RequestSent) {
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    let t = e.transport_error().expect("transport error");
    eprintln!("{t:?} attempts={}", e.diagnostics().requests().len());
    assert_eq!((t.kind, t.request_sent), (kind, sent), "{t:?}");
}

#[test]
fn connection_closed_after_the_request_is_io_unknown() {
    let e = fail_with(Script::CloseAfterRequest, options());
    assert_transport(&e, TransportErrorKind::Io, RequestSent::Unknown);
}

#[test]
fn an_answer_that_is_not_http_is_protocol_sent() {
    let e = fail_with(Script::Garbage, options());
    assert_transport(&e, TransportErrorKind::Protocol, RequestSent::Sent);
}

#[test]
fn a_broken_body_is_io_sent() {
    let e = fail_with(Script::TruncatedBody, options());
    assert_transport(&e, TransportErrorKind::Io, RequestSent::Sent);
}

#[test]
fn a_declared_oversized_body_is_rejected_without_retry() {
    let e = fail_with(Script::DeclaredTooLarge, options());
    assert_transport(&e, TransportErrorKind::ResponseTooLarge, RequestSent::Sent);
    assert_eq!(e.diagnostics().requests().len(), 1, "too large is final");
}

#[test]
fn a_streamed_oversized_body_is_cut_at_the_cap() {
    let e = fail_with(Script::ChunkedTooLarge, options());
    assert_transport(&e, TransportErrorKind::ResponseTooLarge, RequestSent::Sent);
}

#[test]
fn no_answer_times_out_unknown() {
    let e = fail_with(Script::NoAnswer, options());
    assert_transport(&e, TransportErrorKind::Timeout, RequestSent::Unknown);
    for r in e.diagnostics().requests() {
        assert!(
            r.duration >= Duration::from_millis(450),
            "attempt ran to its deadline: {r:?}"
        );
        assert!(
            r.duration < Duration::from_secs(5),
            "attempt stopped at its deadline: {r:?}"
        );
    }
}

#[test]
fn a_stalled_body_times_out_sent() {
    let e = fail_with(Script::StalledBody, options());
    assert_transport(&e, TransportErrorKind::Timeout, RequestSent::Sent);
}
