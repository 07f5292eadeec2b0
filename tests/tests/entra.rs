//! Entra ID through an `azure_core` credential (issue 14), on every transport against the test
//! gateway: the first request waits for a token; once the token is inside its refresh window,
//! requests keep using it while one background refresh runs (the credential is held mid-refresh
//! until the test has seen a request complete, so a request that waited for the refresh would
//! never finish and the bounded client would fail the test); then the new token is used. The
//! credential is asked exactly twice.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::time::OffsetDateTime;
use event_listener::Event;
use serde_json::Value;
use sextant_core::models::{AccountReference, DatabaseReference};
use sextant_core::{CosmosOperation, OperationOptions};
use sextant_entra::EntraAccount;
use sextant_tests::gateway::TestGateway;
use sextant_tests::scenarios::{unique, Client};
use support::query_clients::{QueryClient, ALL};

/// Hands out `tok-1` (inside the refresh window: 200 s left of the 300 s offset), then holds
/// the second call until released and hands out `tok-2` (an hour).
#[derive(Debug, Default)]
struct Scripted {
    calls: AtomicUsize,
    released: AtomicBool,
    release: Event,
    scopes: Mutex<Vec<String>>,
}

impl Scripted {
    fn release(&self) {
        self.released.store(true, Ordering::SeqCst);
        self.release.notify(usize::MAX);
    }
}

fn expiring_in(secs: u64) -> OffsetDateTime {
    let at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(secs);
    OffsetDateTime::from_unix_timestamp(at.as_secs() as i64).unwrap()
}

#[async_trait::async_trait]
impl TokenCredential for Scripted {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.scopes
            .lock()
            .unwrap()
            .extend(scopes.iter().map(|s| s.to_string()));
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n == 1 {
            return Ok(AccessToken::new("tok-1".to_string(), expiring_in(200)));
        }
        loop {
            let listener = self.release.listen();
            if self.released.load(Ordering::SeqCst) {
                break;
            }
            listener.await;
        }
        Ok(AccessToken::new(format!("tok-{n}"), expiring_in(3600)))
    }
}

/// The tokens of the AAD requests the gateway saw, in order.
fn tokens_seen(g: &TestGateway) -> Vec<String> {
    let log = g.http("GET", "/_gateway/control", &[], None).1;
    log["aad"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["token"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_token_refresh_never_blocks_a_request_on_every_transport() {
    let g = TestGateway::start(1);
    for transport in ALL {
        let credential = Arc::new(Scripted::default());
        let account = AccountReference::with_credential(g.endpoint(), credential.clone()).unwrap();
        let c = QueryClient::new(transport, &account);
        let db = unique("db");
        let before = tokens_seen(&g).len();
        // First use: no token yet, so this request waits for tok-1.
        c.execute(
            CosmosOperation::create_database(account.clone(), &db),
            OperationOptions::new(),
        )
        .unwrap_or_else(|e| panic!("{transport:?}: create database: {e}"));
        // tok-1 is inside its refresh window: this read starts the refresh, which the
        // credential holds, and completes with tok-1 anyway.
        let read = || {
            c.execute(
                CosmosOperation::read_database(DatabaseReference::from_name(account.clone(), &db)),
                OperationOptions::new(),
            )
            .unwrap_or_else(|e| panic!("{transport:?}: read database: {e}"))
        };
        read();
        read();
        assert_eq!(
            credential.calls.load(Ordering::SeqCst),
            2,
            "{transport:?}: one acquisition and one refresh in flight, not one per request"
        );
        let seen = tokens_seen(&g)[before..].to_vec();
        assert!(
            !seen.is_empty() && seen.iter().all(|t| t == "tok-1"),
            "{transport:?}: {seen:?}"
        );

        credential.release();
        // The refresh lands in the background; bounded wait until requests carry tok-2.
        let mut switched = false;
        for _ in 0..200 {
            read();
            if tokens_seen(&g).last().map(String::as_str) == Some("tok-2") {
                switched = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        assert!(
            switched,
            "{transport:?}: the refreshed token was never used"
        );
        assert_eq!(credential.calls.load(Ordering::SeqCst), 2, "{transport:?}");
        let scopes = credential.scopes.lock().unwrap().clone();
        assert!(
            scopes
                .iter()
                .all(|s| s.starts_with("https://127.0.0.1") && s.ends_with("/.default")),
            "{transport:?}: {scopes:?}"
        );
        let body: Value = read().json().unwrap();
        assert_eq!(body["id"], db.as_str());
    }
}
