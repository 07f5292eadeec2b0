//! Master-key signing and resource-link derivation against SDK-produced vectors.
//!
//! `tests/vectors/auth_sample.json` is a verbatim copy of `shared/vectors/auth_sample.json`
//! (produced by python azure-cosmos 4.17.1, cross-checked byte-for-byte against JS
//! @azure/cosmos 4.9.3; sha256 b2189a8f5ed9b5fd2a7b00ddb1b14f611f92e4d2361802f2b5fe0d699f1f3468),
//! copied into the crate so the test does not depend on where the repository is cloned.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use sextant_core::auth::{
    resource_type_and_link, sign_master_key, string_to_sign, AuthError, MasterKey, ResourceAddress,
};

const AUTH_VECTORS: &str = include_str!("vectors/auth_sample.json");
const EMULATOR_KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";

fn field<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("vector {} lacks string field {name}", v["id"]))
}

#[test]
fn every_vector_signs_byte_for_byte() {
    let doc: Value = serde_json::from_str(AUTH_VECTORS).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 17);
    for v in vectors {
        let id = field(v, "id");
        let (verb, rtype, link, date, key) = (
            field(v, "verb"),
            field(v, "resource_type"),
            field(v, "resource_link"),
            field(v, "date"),
            field(v, "key"),
        );
        assert_eq!(
            string_to_sign(verb, rtype, link, date),
            field(v, "string_to_sign"),
            "{id}: string to sign"
        );
        let expected = field(v, "expected_authorization_header");
        assert_eq!(
            sign_master_key(verb, rtype, link, date, key).unwrap(),
            expected,
            "{id}: sign_master_key"
        );
        let parsed = MasterKey::parse(key).unwrap();
        assert_eq!(
            parsed.sign(verb, rtype, link, date),
            expected,
            "{id}: MasterKey::sign"
        );
        // Signing is case-insensitive in verb, type and date.
        assert_eq!(
            parsed.sign(
                &verb.to_lowercase(),
                &rtype.to_uppercase(),
                link,
                &date.to_uppercase()
            ),
            expected,
            "{id}: case-insensitive parts"
        );
        let sig = field(v, "expected_signature_base64");
        assert!(expected.ends_with(
            &sig.replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D")
        ));
    }
}

#[test]
fn key_surrounding_whitespace_is_trimmed() {
    let a = MasterKey::parse(&format!("  {EMULATOR_KEY}\n")).unwrap();
    let b = MasterKey::parse(EMULATOR_KEY).unwrap();
    let date = "Tue, 15 Nov 1994 08:12:31 GMT";
    assert_eq!(a.sign("GET", "", "", date), b.sign("GET", "", "", date));
    assert_eq!(
        b.clone().sign("GET", "", "", date),
        "type%3Dmaster%26ver%3D1.0%26sig%3DOFo7PMeaxX%2FuS%2FWAa6G0a8CKGdzLaW5bCyfxhPNM3rc%3D"
    );
}

fn key_error(key: &str) -> String {
    match MasterKey::parse(key) {
        Err(AuthError::InvalidMasterKey { reason }) => reason,
        other => panic!("{key:?}: expected InvalidMasterKey, got {other:?}"),
    }
}

#[test]
fn malformed_keys_are_rejected_with_a_reason() {
    assert!(key_error("").contains("empty"));
    assert!(key_error("   ").contains("empty"));
    assert!(key_error("not base64!!").contains("invalid character"));
    // Missing padding ("/////////////////////w==" without "==").
    assert!(key_error("/////////////////////w").contains("padding"));
    // URL-safe alphabet.
    assert!(key_error("_____________________w==").contains("invalid character"));
    assert!(key_error("-w==").contains("invalid character"));
    // Whitespace inside the key.
    assert!(key_error("AAAA AAAA").contains("invalid character"));
    // Non-canonical trailing bits.
    assert!(key_error("/x==").contains("canonical"));
    // sign_master_key reports the same error.
    assert!(matches!(
        sign_master_key("GET", "", "", "d", "abc"),
        Err(AuthError::InvalidMasterKey { .. })
    ));
}

#[test]
fn errors_never_echo_key_material() {
    let err = MasterKey::parse("secretkey_with_bad_char==").unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("secret"), "{text}");
    assert!(!text.contains('_'), "{text}");
    assert!(text.starts_with("invalid master key: "), "{text}");
}

fn addr(path: &str) -> (String, String) {
    let ResourceAddress {
        resource_type,
        resource_link,
    } = resource_type_and_link(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    (resource_type, resource_link)
}

fn pair(t: &str, l: &str) -> (String, String) {
    (t.to_owned(), l.to_owned())
}

#[test]
fn resource_type_and_link_rules() {
    assert_eq!(addr("/"), pair("", ""));
    assert_eq!(addr(""), pair("", ""));
    assert_eq!(addr("/dbs"), pair("dbs", ""));
    assert_eq!(addr("/dbs/"), pair("dbs", ""));
    assert_eq!(addr("/dbs/db1"), pair("dbs", "dbs/db1"));
    assert_eq!(addr("/dbs/db1/colls"), pair("colls", "dbs/db1"));
    assert_eq!(
        addr("/dbs/db1/colls/c1/docs"),
        pair("docs", "dbs/db1/colls/c1")
    );
    assert_eq!(
        addr("/dbs/db1/colls/c1/docs/a%20b%3F%23%2B%3D%25"),
        pair("docs", "dbs/db1/colls/c1/docs/a b?#+=%")
    );
    assert_eq!(
        addr("dbs/db1/colls/c1/pkranges"),
        pair("pkranges", "dbs/db1/colls/c1")
    );
    assert_eq!(addr("/offers"), pair("offers", ""));
    assert_eq!(addr("/offers/AbCd"), pair("offers", "abcd"));
    // A raw `?` starts the query string; an encoded one is part of the id.
    assert_eq!(
        addr("/dbs/db1/colls/c1/docs/what%3F?x=1&y=/a"),
        pair("docs", "dbs/db1/colls/c1/docs/what?")
    );
    assert_eq!(addr("/dbs?x=1"), pair("dbs", ""));
    assert_eq!(addr("/?a=b"), pair("", ""));
    // Names keep their case; `+` is literal in a path.
    assert_eq!(
        addr("/dbs/a+b=c/colls/x=y+z"),
        pair("colls", "dbs/a+b=c/colls/x=y+z")
    );
    assert_eq!(
        addr("/dbs/caf%C3%A9/colls/na%C3%AFve/docs/emoji%F0%9F%98%80"),
        pair("docs", "dbs/café/colls/naïve/docs/emoji😀")
    );
    // Already-decoded (raw UTF-8) segments are accepted as they are.
    assert_eq!(addr("/dbs/データベース"), pair("dbs", "dbs/データベース"));
    // Delete-all-items-by-partition-key signs the container (vector auth-060).
    assert_eq!(
        addr("/dbs/db1/colls/c1/operations/partitionkeydelete"),
        pair("colls", "dbs/db1/colls/c1")
    );
}

fn path_error(path: &str) -> String {
    match resource_type_and_link(path) {
        Err(e @ AuthError::InvalidPath { .. }) => {
            let AuthError::InvalidPath { path: p, .. } = &e else {
                unreachable!()
            };
            assert_eq!(p, path);
            e.to_string()
        }
        other => panic!("{path:?}: expected InvalidPath, got {other:?}"),
    }
}

#[test]
fn invalid_paths_are_rejected() {
    assert!(path_error("/dbs//colls").contains("empty path segment"));
    assert!(path_error("/dbs/%ZZ").contains("invalid percent-escape"));
    assert!(path_error("/dbs/%4").contains("invalid percent-escape"));
    assert!(path_error("/dbs/a%").contains("invalid percent-escape"));
    assert!(path_error("/dbs/%C3%28").contains("not valid UTF-8"));
    assert!(path_error("/dbs/a%2Fb").contains("'/'"));
    assert!(path_error("/offers/x/y").contains("offers"));
    assert!(path_error("/dbs/%ZZ").contains("\"/dbs/%ZZ\""));
}

/// The vectors' (resource type, link) pairs are what the path of the matching request yields.
#[test]
fn vector_links_round_trip_through_paths() {
    let cases = [
        ("/", "auth-000"),
        ("/dbs/db1", "auth-004"),
        ("/dbs/db1/colls", "auth-008"),
        ("/dbs/a%2Bb%3Dc/colls/x%3Dy%2Bz", "auth-012"),
        ("/dbs/%E3%83%87%E3%83%BC%E3%82%BF%E3%83%99%E3%83%BC%E3%82%B9/colls/%E3%82%B3%E3%83%AC%E3%82%AF%E3%82%B7%E3%83%A7%E3%83%B3/docs", "auth-016"),
        ("/dbs/MyDatabase/colls/Items/docs/Doc-ID_01", "auth-020"),
        ("/dbs/caf%C3%A9/colls/na%C3%AFve/docs/emoji%F0%9F%98%80", "auth-024"),
        ("/dbs/db1/colls/c1/docs/what%3F", "auth-028"),
        ("/offers/XyZ9", "auth-036"),
        ("/dbs/db1/users", "auth-048"),
        ("/dbs/db1/users/alice/permissions", "auth-052"),
        ("/dbs/db1/colls/c1/docs/doc1/attachments/att1", "auth-056"),
        ("/dbs/db1/colls/c1/operations/partitionkeydelete", "auth-060"),
        ("/dbs/db1/colls/c1/docs/doc1", "auth-064"),
    ];
    let doc: Value = serde_json::from_str(AUTH_VECTORS).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    for (path, id) in cases {
        let v = vectors.iter().find(|v| v["id"] == id).unwrap();
        assert_eq!(
            addr(path),
            pair(field(v, "resource_type"), field(v, "resource_link")),
            "{id}: {path}"
        );
    }
}
