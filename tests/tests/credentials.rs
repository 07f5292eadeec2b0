//! Credential paths on the simulator: Entra ID tokens through `Action::AcquireToken`, resource
//! tokens, and the signatures they produce.

use std::sync::Arc;
use std::time::Duration;

use sextant_core::credential::{ResourceToken, TokenCredential, TokenFuture};
use sextant_core::models::{AccountReference, ItemReference, PartitionKey};
use sextant_core::{
    AccessToken, CosmosOperation, CredentialError, DriverOptions, ErrorKind, OperationOptions,
};
use sextant_tests::sim::{count, Answer, Sim, SIM_ENDPOINT};

/// Never polled: the simulator answers `AcquireToken` itself.
#[derive(Debug)]
struct Unused;
impl TokenCredential for Unused {
    fn get_token<'a>(&'a self, _scopes: &'a [String]) -> TokenFuture<'a> {
        Box::pin(async { Err(CredentialError::new("not used by the simulator")) })
    }
}

fn aad_sim() -> Sim {
    let account = AccountReference::with_token_credential(SIM_ENDPOINT, Arc::new(Unused)).unwrap();
    Sim::with_account(3, DriverOptions::default(), account)
}

fn read(sim: &Sim) -> CosmosOperation {
    CosmosOperation::read(ItemReference::from_name(
        sim.account.clone(),
        "db",
        "c",
        "a",
    ))
    .with_partition_key(PartitionKey::from("p"))
}

#[test]
fn entra_id_token_is_acquired_before_the_first_request_and_reused() {
    let mut sim = aad_sim();
    for _ in 0..2 {
        let op = read(&sim);
        sim.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
            .unwrap();
    }
    let t = &sim.transcript;
    assert_eq!(
        count(
            t,
            "ACQUIRE_TOKEN [\"https://sim.documents.azure.com/.default\"]"
        ),
        1,
        "{t:#?}"
    );
    let first_send = t.iter().position(|l| l.contains("SEND")).unwrap();
    let acquire = t.iter().position(|l| l.contains("ACQUIRE_TOKEN")).unwrap();
    assert!(
        acquire < first_send,
        "the account read is signed with the token too"
    );
    // Every request, metadata reads included, is signed with the token.
    assert_eq!(
        count(t, "auth=type%3Daad%26ver%3D1.0%26sig%3Dsim-token"),
        count(t, "SEND"),
        "{t:#?}"
    );
    assert!(count(t, "SEND") >= 3);
}

#[test]
fn a_token_near_expiry_is_refreshed_without_blocking_the_request() {
    let mut sim = aad_sim();
    sim.token_latency = Duration::from_millis(50);
    let mut issued = 0;
    sim.token_answer = Some(Box::new(move |_, wall| {
        issued += 1;
        Ok(AccessToken {
            token: format!("tok{issued}"),
            expires_on: wall + Duration::from_secs(3600),
        })
    }));
    let op = read(&sim);
    sim.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    // 57 minutes later the token has 3 minutes left: inside the 5-minute refresh window.
    sim.now = sim.now.advanced(Duration::from_secs(57 * 60));
    let op = read(&sim);
    sim.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    let t = &sim.transcript;
    assert_eq!(count(t, "ACQUIRE_TOKEN"), 2, "{t:#?}");
    let refresh = t.iter().rposition(|l| l.contains("ACQUIRE_TOKEN")).unwrap();
    let send_after = t[refresh..]
        .iter()
        .find(|l| l.contains("SEND"))
        .expect("a send follows the refresh request");
    assert!(
        send_after.contains("sig%3Dtok1"),
        "the still-valid token is used at once: {send_after}"
    );
    // A third operation uses the refreshed token.
    let op = read(&sim);
    sim.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    assert!(sim.transcript.last().is_some());
    let last_send = sim
        .transcript
        .iter()
        .rev()
        .find(|l| l.contains("SEND"))
        .unwrap();
    assert!(last_send.contains("sig%3Dtok2"), "{last_send}");
}

#[test]
fn a_rejected_scope_falls_back_once_then_fails_as_a_credential_error() {
    let mut sim = aad_sim();
    sim.token_answer = Some(Box::new(|_, _| {
        Err(CredentialError::new(
            "AADSTS500011: resource principal not found",
        ))
    }));
    let op = read(&sim);
    let e = sim
        .run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Credential);
    assert!(e.to_string().contains("AADSTS500011"), "{e}");
    let t = &sim.transcript;
    assert_eq!(
        count(
            t,
            "ACQUIRE_TOKEN [\"https://sim.documents.azure.com/.default\"]"
        ),
        1,
        "{t:#?}"
    );
    assert_eq!(
        count(t, "ACQUIRE_TOKEN [\"https://cosmos.azure.com/.default\"]"),
        1,
        "{t:#?}"
    );
    assert_eq!(count(t, "SEND"), 0, "nothing is sent unsigned");
}

#[test]
fn resource_tokens_pick_the_longest_covering_link() {
    let tokens = vec![
        ResourceToken {
            resource_link: "dbs/db".into(),
            token: "type=resource&ver=1.0&sig=DB".into(),
        },
        ResourceToken {
            resource_link: "dbs/db/colls/c".into(),
            token: "type=resource&ver=1.0&sig=COLL".into(),
        },
    ];
    let account = AccountReference::with_resource_tokens(SIM_ENDPOINT, tokens).unwrap();
    let mut sim = Sim::with_account(1, DriverOptions::default(), account);
    let op = read(&sim);
    sim.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    let t = &sim.transcript;
    // GET / takes the first token; the item read takes the container's.
    assert_eq!(
        count(t, "auth=type%3Dresource%26ver%3D1.0%26sig%3DDB"),
        1,
        "{t:#?}"
    );
    // Everything under the container (its properties, pk ranges, the item) takes its token.
    assert_eq!(
        count(t, "auth=type%3Dresource%26ver%3D1.0%26sig%3DCOLL"),
        count(t, "SEND") - 1,
        "{t:#?}"
    );
    // A resource outside every token is a configuration error, not an unsigned request.
    let other = CosmosOperation::read(ItemReference::from_name(
        sim.account.clone(),
        "other",
        "c",
        "a",
    ))
    .with_partition_key(PartitionKey::from("p"));
    let e = sim
        .run(other, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert!(e.to_string().contains("dbs/other/colls/c/docs/a"), "{e}");
}

#[test]
fn master_key_signature_matches_the_public_signing_function() {
    let mut sim = Sim::new(1, DriverOptions::default());
    let op = read(&sim);
    sim.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    let send = sim
        .transcript
        .iter()
        .find(|l| l.contains("/docs/a"))
        .unwrap()
        .clone();
    let date = httpdate::fmt_http_date(
        std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    );
    let expected = sextant_core::auth::sign_master_key(
        "GET",
        "docs",
        "dbs/db/colls/c/docs/a",
        &date,
        sextant_tests::sim::SIM_KEY,
    )
    .unwrap();
    assert!(send.contains(&format!("auth={expected}")), "{send}");
}

#[test]
fn an_item_scoped_resource_token_still_reads_its_item_unrouted() {
    let tokens = vec![ResourceToken {
        resource_link: "dbs/db/colls/c/docs/a".into(),
        token: "type=resource&ver=1.0&sig=ITEM".into(),
    }];
    let account = AccountReference::with_resource_tokens(SIM_ENDPOINT, tokens).unwrap();
    let mut sim = Sim::with_account(1, DriverOptions::default(), account);
    let op = read(&sim);
    let r = sim
        .run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    assert_eq!(r.status(), 200);
    let t = &sim.transcript;
    assert_eq!(
        count(t, "/pkranges"),
        0,
        "the container's metadata cannot be signed: {t:#?}"
    );
    assert_eq!(count(t, "sig%3DITEM"), 2, "GET / and the item: {t:#?}");
}
