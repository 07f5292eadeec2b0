//! Several attempts of one operation in flight at once: a read hedged to a second region.
//!
//! Two fake regional servers on 127.0.0.1 advertise both regions in `GET /`. The first region
//! holds every item read open without answering; the second answers at once. With a 100 ms
//! hedging threshold the read must complete from the second region, and the first attempt must
//! be aborted: its connection is closed by the client (the attempt's future is dropped).
//! Dropping the operation's future drops its attempts the same way.

// Test code: a failed expectation is a failed test with its message.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sextant_tokio::models::{AccountReference, ItemReference, PartitionKey};
use sextant_tokio::{
    CosmosDriverRuntime, CosmosOperation, DriverOptions, ExecutionContext, HedgingOptions,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

const KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";

/// Reads one request head; `None` at EOF.
async fn request_path(s: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf);
    head.split_whitespace().nth(1).map(str::to_owned)
}

async fn respond(s: &mut TcpStream, body: &str) -> bool {
    let resp = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(resp.as_bytes()).await.is_ok()
}

/// One fake region. `hold` makes it never answer item reads; `closed` is notified when a held
/// connection is closed by the client.
async fn region(listener: TcpListener, account: Arc<String>, hold: bool, closed: Arc<Notify>) {
    while let Ok((mut s, _)) = listener.accept().await {
        let (account, closed) = (Arc::clone(&account), Arc::clone(&closed));
        tokio::spawn(async move {
            while let Some(path) = request_path(&mut s).await {
                if path == "/" {
                    if !respond(&mut s, &account).await {
                        return;
                    }
                } else if hold {
                    // Wait for the client to give up on this connection.
                    let mut sink = [0u8; 64];
                    while let Ok(n) = s.read(&mut sink).await {
                        if n == 0 {
                            break;
                        }
                    }
                    closed.notify_one();
                    return;
                } else if !respond(&mut s, r#"{"id":"item","pk":"p","region":"west"}"#).await {
                    return;
                }
            }
        });
    }
}

#[test]
fn a_slow_read_is_hedged_and_the_loser_aborted() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let east = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let west = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let east_url = format!("http://127.0.0.1:{}/", east.local_addr().unwrap().port());
        let west_url = format!("http://127.0.0.1:{}/", west.local_addr().unwrap().port());
        let account_json = Arc::new(
            serde_json::json!({
                "writableLocations": [{"name": "East", "databaseAccountEndpoint": east_url}],
                "readableLocations": [
                    {"name": "East", "databaseAccountEndpoint": east_url},
                    {"name": "West", "databaseAccountEndpoint": west_url},
                ],
            })
            .to_string(),
        );
        let closed = Arc::new(Notify::new());
        tokio::spawn(region(
            east,
            Arc::clone(&account_json),
            true,
            Arc::clone(&closed),
        ));
        tokio::spawn(region(west, account_json, false, Arc::new(Notify::new())));

        let hedging = HedgingOptions {
            threshold: Duration::from_millis(100),
            ..HedgingOptions::default()
        };
        let options = DriverOptions::builder()
            .hedging(hedging)
            .end_to_end_timeout(Duration::from_secs(20))
            .build()
            .expect("options");
        let runtime = CosmosDriverRuntime::builder()
            .environment(BTreeMap::new())
            .driver_options(options)
            .build()
            .await
            .expect("runtime");
        let account = AccountReference::with_master_key(&east_url, KEY).expect("account");
        let driver = runtime
            .get_or_create_driver(account.clone(), None)
            .await
            .expect("driver");

        let item = ItemReference::from_name(account, "db", "c", "item");
        let op = CosmosOperation::read(item).with_partition_key(PartitionKey::from("p"));
        let r = driver
            .execute_operation(op, None)
            .await
            .unwrap_or_else(|e| panic!("hedged read: {e} ({e:?})"));
        assert_eq!(r.status(), 200);
        // East never answers while the read is open: an answer from West is the proof that
        // the operation did not wait for the slow region (no wall-clock bound needed).
        let body: serde_json::Value = r.json().expect("json");
        assert_eq!(body["region"], "west", "the hedge answered");

        let attempts = r.diagnostics().requests();
        let contexts: Vec<_> = attempts.iter().map(|a| a.execution_context).collect();
        assert!(
            contexts.contains(&ExecutionContext::Hedging),
            "{attempts:#?}"
        );
        assert!(
            attempts
                .iter()
                .any(|a| a.error.as_deref() == Some("aborted")),
            "the slow attempt is recorded as aborted: {attempts:#?}"
        );
        // The aborted attempt's future was dropped, which closes its connection.
        tokio::time::timeout(Duration::from_secs(5), closed.notified())
            .await
            .expect("the slow region saw its connection closed");
    });
}

#[test]
fn dropping_the_operation_drops_its_attempts() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let east = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let east_url = format!("http://127.0.0.1:{}/", east.local_addr().unwrap().port());
        let account_json = Arc::new(
            serde_json::json!({
                "writableLocations": [{"name": "East", "databaseAccountEndpoint": east_url}],
                "readableLocations": [{"name": "East", "databaseAccountEndpoint": east_url}],
            })
            .to_string(),
        );
        let closed = Arc::new(Notify::new());
        tokio::spawn(region(east, account_json, true, Arc::clone(&closed)));
        let runtime = CosmosDriverRuntime::builder()
            .environment(BTreeMap::new())
            .build()
            .await
            .expect("runtime");
        let account = AccountReference::with_master_key(&east_url, KEY).expect("account");
        let driver = runtime
            .get_or_create_driver(account.clone(), None)
            .await
            .expect("driver");
        let item = ItemReference::from_name(account.clone(), "db", "c", "item");
        let op = CosmosOperation::read(item).with_partition_key(PartitionKey::from("p"));
        let outcome = tokio::time::timeout(
            Duration::from_millis(300),
            driver.execute_operation(op, None),
        )
        .await;
        assert!(
            outcome.is_err(),
            "the region never answers: the caller gives up first"
        );
        tokio::time::timeout(Duration::from_secs(5), closed.notified())
            .await
            .expect("the dropped attempt's connection was closed");
        // The driver is still usable (no lease left behind): the account is known, so the next
        // read goes straight to the region and is dropped the same way.
        let item = ItemReference::from_name(account, "db", "c", "item");
        let op = CosmosOperation::read(item).with_partition_key(PartitionKey::from("p"));
        let outcome = tokio::time::timeout(
            Duration::from_millis(300),
            driver.execute_operation(op, None),
        )
        .await;
        assert!(outcome.is_err());
        tokio::time::timeout(Duration::from_secs(5), closed.notified())
            .await
            .expect("the second dropped attempt's connection was closed");
    });
}
