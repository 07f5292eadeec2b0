//! Key rotation and connection strings on every transport, on the real path: requests pass a
//! loopback proxy that logs them, and each logged `authorization` header is checked against
//! the signature the expected key makes for that request's `x-ms-date`.

use std::collections::BTreeMap;

use sextant_core::auth::sign_master_key;
use sextant_core::models::AccountReference;
use sextant_core::{CosmosOperation, OperationOptions};
use sextant_tests::fault_proxy::FaultProxy;
use sextant_tests::server::{TestServer, EMULATOR_KEY};

/// A second valid key (the local server accepts any signature; the proxy log tells them apart).
const NEW_KEY: &str =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";

/// The key the last `GET /dbs` through the proxy was signed with.
fn last_list_signed_with(proxy: &FaultProxy) -> &'static str {
    let r = proxy
        .all_requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "GET" && r.path == "/dbs")
        .expect("a GET /dbs went through the proxy");
    let header = |n: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (auth, date) = (header("authorization"), header("x-ms-date"));
    for key in [EMULATOR_KEY, NEW_KEY] {
        if sign_master_key("get", "dbs", "", &date, key).unwrap() == auth {
            return key;
        }
    }
    panic!("signed with neither key: {auth}");
}

fn list(result: Result<sextant_core::CosmosResponse, sextant_core::CosmosError>) {
    assert_eq!(result.expect("list databases").status(), 200);
}

#[test]
fn a_second_credential_for_the_same_endpoint_rotates_the_live_driver_on_every_transport() {
    let server = TestServer::start();
    let proxy = FaultProxy::start(server.http_endpoint(), &["East"]);
    let endpoint = proxy.account_endpoint();
    let old = AccountReference::with_master_key(&endpoint, EMULATOR_KEY).unwrap();
    let new = AccountReference::with_master_key(&endpoint, NEW_KEY).unwrap();
    let op = || CosmosOperation::list_databases(old.clone());

    // tokio
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let runtime = sextant_tokio::CosmosDriverRuntime::builder()
            .environment(BTreeMap::new())
            .build()
            .await
            .unwrap();
        let d = runtime
            .get_or_create_driver(old.clone(), None)
            .await
            .unwrap();
        list(d.execute_operation(op(), None).await);
        assert_eq!(last_list_signed_with(&proxy), EMULATOR_KEY);
        let same = runtime
            .get_or_create_driver(new.clone(), None)
            .await
            .unwrap();
        list(d.execute_operation(op(), None).await);
        assert_eq!(
            last_list_signed_with(&proxy),
            NEW_KEY,
            "tokio: rotation applies to the live driver"
        );
        list(same.execute_operation(op(), None).await);
        assert!(d.rotate_credential(&old).unwrap());
        list(d.execute_operation(op(), None).await);
        assert_eq!(last_list_signed_with(&proxy), EMULATOR_KEY);
    });

    // blocking
    let runtime = sextant_blocking::CosmosDriverRuntime::builder()
        .environment(BTreeMap::new())
        .build()
        .unwrap();
    let d = runtime.get_or_create_driver(old.clone(), None).unwrap();
    list(d.execute_operation(op(), None));
    assert_eq!(last_list_signed_with(&proxy), EMULATOR_KEY);
    runtime.get_or_create_driver(new.clone(), None).unwrap();
    list(d.execute_operation(op(), None));
    assert_eq!(
        last_list_signed_with(&proxy),
        NEW_KEY,
        "blocking: rotation applies"
    );
    assert!(
        !d.rotate_credential(&new).unwrap(),
        "the same key changes nothing"
    );

    // async-std (on smol)
    smol::block_on(async {
        let runtime = sextant_async_std::CosmosDriverRuntime::builder()
            .environment(BTreeMap::new())
            .build()
            .await
            .unwrap();
        let d = runtime
            .get_or_create_driver(old.clone(), None)
            .await
            .unwrap();
        list(d.execute_operation(op(), None).await);
        assert_eq!(last_list_signed_with(&proxy), EMULATOR_KEY);
        runtime
            .get_or_create_driver(new.clone(), None)
            .await
            .unwrap();
        list(d.execute_operation(op(), None).await);
        assert_eq!(
            last_list_signed_with(&proxy),
            NEW_KEY,
            "async-std: rotation applies"
        );
        let other = AccountReference::with_master_key("http://127.0.0.1:1/", NEW_KEY).unwrap();
        assert!(
            d.rotate_credential(&other).is_err(),
            "another endpoint is refused"
        );
    });
}

#[test]
fn connection_strings_work_on_every_transport_and_are_never_echoed() {
    let server = TestServer::start();
    let cs = format!(
        "AccountEndpoint={};AccountKey={EMULATOR_KEY};",
        server.http_endpoint()
    );
    let account = AccountReference::from_connection_string(&cs).unwrap();
    let op = CosmosOperation::list_databases(account.clone());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let d = rt.block_on(async {
        sextant_tokio::CosmosDriverRuntime::builder()
            .environment(BTreeMap::new())
            .build()
            .await
            .unwrap()
            .get_or_create_driver(account.clone(), None)
            .await
            .unwrap()
    });
    list(rt.block_on(d.execute_operation(op.clone(), Some(OperationOptions::new()))));
    let d = sextant_blocking::CosmosDriverRuntime::builder()
        .environment(BTreeMap::new())
        .build()
        .unwrap()
        .get_or_create_driver(account.clone(), None)
        .unwrap();
    list(d.execute_operation(op.clone(), None));
    let d = smol::block_on(async {
        sextant_async_std::CosmosDriverRuntime::builder()
            .environment(BTreeMap::new())
            .build()
            .await
            .unwrap()
            .get_or_create_driver(account.clone(), None)
            .await
            .unwrap()
    });
    list(smol::block_on(d.execute_operation(op, None)));

    // Pasted as an endpoint, or with the key in the URL: refused, key never echoed.
    for bad in [
        cs.clone(),
        format!("http://user:{EMULATOR_KEY}@127.0.0.1:1/"),
    ] {
        let e = AccountReference::with_master_key(&bad, EMULATOR_KEY).unwrap_err();
        let text = format!("{e} {e:?}");
        assert!(!text.contains(&EMULATOR_KEY[..16]), "{text}");
    }
    // A port out of range is refused when the account is built, not sent to port 80.
    assert!(AccountReference::with_master_key("http://127.0.0.1:99999/", EMULATOR_KEY).is_err());
}
