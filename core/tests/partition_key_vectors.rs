//! `x-ms-documentdb-partitionkey` header serialization against SDK-produced vectors.
//!
//! `tests/vectors/pk_sample.json` is a verbatim copy of `shared/vectors/pk_sample.json`
//! (produced by python azure-cosmos 4.17.1 and JS @azure/cosmos 4.9.3; sha256
//! 2d71e529264539974abc4846cda74faccee0598cfd6b6097de8b14c0835dbd7b), copied into the crate so
//! the test does not depend on where the repository is cloned.
//!
//! Policy: where the SDKs agree we match byte for byte. Where they disagree (number formatting)
//! we follow JS `JSON.stringify`, except for integers beyond ±2^53, which JS silently rounds
//! (pk-021: 9007199254740993 is sent as 9007199254740992, a different partition): we refuse to
//! build such a key (`TryFrom<i64>` / `TryFrom<u64>` fail with `InexactInteger`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use sextant_core::models::partition_key::{
    PartitionKey, PartitionKeyError, PartitionKeyValue, MAX_EXACT_INTEGER,
};

const PK_VECTORS: &str = include_str!("vectors/pk_sample.json");

/// Builds a component from a type-tagged vector input.
fn component(input: &Value) -> Result<PartitionKeyValue, PartitionKeyError> {
    let t = input["t"].as_str().unwrap();
    let v = &input["v"];
    Ok(match t {
        "str" => PartitionKeyValue::from(v.as_str().unwrap()),
        "int" => PartitionKeyValue::try_from(v.as_str().unwrap().parse::<i64>().unwrap())?,
        "float" => PartitionKeyValue::try_from(v.as_str().unwrap().parse::<f64>().unwrap())?,
        "bool" => PartitionKeyValue::from(v.as_bool().unwrap()),
        "null" => PartitionKeyValue::Null,
        "none" => PartitionKeyValue::Undefined,
        other => panic!("unknown input tag {other}"),
    })
}

fn key(vector: &Value) -> Result<PartitionKey, PartitionKeyError> {
    match vector["kind"].as_str().unwrap() {
        "Hash" => PartitionKey::new(component(&vector["input"])?),
        "MultiHash" => PartitionKey::hierarchical(
            vector["input"]
                .as_array()
                .unwrap()
                .iter()
                .map(component)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        other => panic!("unknown kind {other}"),
    }
}

#[test]
fn headers_match_the_vectors() {
    let doc: Value = serde_json::from_str(PK_VECTORS).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 16);
    let mut checked = 0;
    for v in vectors {
        let id = v["id"].as_str().unwrap();
        let header = &v["header"];
        let js = header["js"].as_str().unwrap();
        if id == "pk-021" {
            // 2^53 + 1: JS rounds it, Python keeps it; we refuse it.
            assert_eq!(
                key(v),
                Err(PartitionKeyError::InexactInteger {
                    value: 9_007_199_254_740_993
                })
            );
            continue;
        }
        let pk = key(v).unwrap_or_else(|e| panic!("{id}: {e}"));
        let got = pk.to_header_value();
        if header["agree"].as_bool().unwrap() {
            assert_eq!(got, header["python"].as_str().unwrap(), "{id} (python)");
        }
        if id == "pk-024" {
            // -0.0: Python's form, so the header agrees with the EPK every SDK computes.
            assert_eq!(got, header["python"].as_str().unwrap(), "{id} (python)");
        } else {
            assert_eq!(got, js, "{id} (js)");
        }
        assert_eq!(pk.to_string(), got, "{id}: Display");
        let mut appended = String::from("x");
        pk.write_header_value(&mut appended);
        assert_eq!(appended, format!("x{got}"), "{id}: write_header_value");
        checked += 1;
    }
    assert_eq!(checked, 15);
}

fn header<T>(pk: T) -> String
where
    T: TryInto<PartitionKey>,
    T::Error: std::fmt::Debug,
{
    pk.try_into().unwrap().to_header_value()
}

#[test]
fn strings_are_escaped_like_the_sdks() {
    // JS JSON.stringify leaves non-ASCII raw, but the JS SDK then escapes U+007F..U+FFFF as
    // lower-case \uXXXX (jsonStringifyAndEscapeNonASCII), and Python's json.dumps
    // (ensure_ascii) does the same; vectors pk-006 and pkh-003 agree on lower-case hex.
    assert_eq!(header("é😀"), r#"["\u00e9\ud83d\ude00"]"#);
    assert_eq!(header("\u{7f}~ "), r#"["\u007f~ "]"#);
    assert_eq!(header("\u{ffff}\u{10ffff}"), r#"["\uffff\udbff\udfff"]"#);
    assert_eq!(header("a\"b\\c/d"), r#"["a\"b\\c/d"]"#);
    assert_eq!(
        header("\u{8}\u{c}\n\r\t\u{0}\u{1f}\u{b}"),
        r#"["\b\f\n\r\t\u0000\u001f\u000b"]"#
    );
    assert_eq!(header("\u{2028}"), r#"["\u2028"]"#);
    assert_eq!(header(String::from("owned")), r#"["owned"]"#);
    // Plain runs before, between and after escapes.
    assert_eq!(header("ab\u{e9}cd\nef\""), r#"["ab\u00e9cd\nef\""]"#);
}

#[test]
fn header_values_are_exactly_sized() {
    // A header value takes the string's buffer without a copy only when nothing is spare.
    let long = "k".repeat(300);
    for pk in [
        PartitionKey::from("tenant-1"),
        PartitionKey::from(long.as_str()),
        PartitionKey::from("\u{e9}\n"),
        PartitionKey::hierarchical(vec![
            PartitionKeyValue::from("a"),
            PartitionKeyValue::try_from(1.5).unwrap(),
        ])
        .unwrap(),
    ] {
        let v = pk.to_header_value();
        assert_eq!(v.capacity(), v.len(), "{v}");
    }
}

#[test]
fn numbers_use_ecmascript_formatting() {
    // Expected values from node: JSON.stringify([x]).
    let cases: &[(f64, &str)] = &[
        (0.0, "[0]"),
        (-0.0, "[-0.0]"), // deliberately not JS: keeps the sign the EPK hashes (pk-024)
        (1.0, "[1]"),
        (-1.0, "[-1]"),
        (1.5, "[1.5]"),
        (-1.5, "[-1.5]"),
        (0.1, "[0.1]"),
        (0.30000000000000004, "[0.30000000000000004]"),
        (0.3333333333333333, "[0.3333333333333333]"),
        (100.0, "[100]"),
        (1e20, "[100000000000000000000]"),
        (1e21, "[1e+21]"),
        (123456789012345680000.0, "[123456789012345680000]"),
        (1.5e-7, "[1.5e-7]"),
        (1e-7, "[1e-7]"),
        (0.000001, "[0.000001]"),
        (0.0000015, "[0.0000015]"),
        (0.00001, "[0.00001]"),
        (5e-324, "[5e-324]"),
        (2.2250738585072014e-308, "[2.2250738585072014e-308]"),
        (1.7976931348623157e308, "[1.7976931348623157e+308]"),
        (9007199254740992.0, "[9007199254740992]"),
        (9007199254740994.0, "[9007199254740994]"),
        (-9007199254740992.0, "[-9007199254740992]"),
        (1152921504606846976.0, "[1152921504606847000]"),
        (18446744073709551616.0, "[18446744073709552000]"),
        (1e300, "[1e+300]"),
        (4.35, "[4.35]"),
        (123.456, "[123.456]"),
        (123456789000000.0, "[123456789000000]"),
        (1.25e21, "[1.25e+21]"),
        (-1.25e-10, "[-1.25e-10]"),
        (std::f64::consts::PI, "[3.141592653589793]"),
        (1e16, "[10000000000000000]"),
        (0.0012345678901234567, "[0.0012345678901234567]"),
        (5e-7, "[5e-7]"),
    ];
    // Two 16-digit strings round-trip here (…002.2 and …002.3, the value is …002.25):
    // ECMAScript takes the closer one, ties to even (Rust's shortest mode picks …002.3).
    let tie = f64::from_bits(0xc306_27b6_1226_27d2);
    assert_eq!(header(tie), "[-779514053707002.2]");
    for &(x, expected) in cases {
        assert_eq!(header(x), expected, "{x:e}");
        assert_eq!(PartitionKey::number(x).unwrap().to_header_value(), expected);
    }
}

#[test]
fn integers_are_exact_or_rejected() {
    let max = MAX_EXACT_INTEGER as i64;
    assert_eq!(header(42i32), "[42]");
    assert_eq!(header(i32::MIN), "[-2147483648]");
    assert_eq!(header(u32::MAX), "[4294967295]");
    assert_eq!(header(max), "[9007199254740992]");
    assert_eq!(header(-max), "[-9007199254740992]");
    assert_eq!(header(MAX_EXACT_INTEGER), "[9007199254740992]");
    assert_eq!(
        PartitionKey::try_from(max + 1),
        Err(PartitionKeyError::InexactInteger {
            value: i128::from(max + 1)
        })
    );
    assert_eq!(
        PartitionKey::try_from(-max - 1),
        Err(PartitionKeyError::InexactInteger {
            value: i128::from(-max - 1)
        })
    );
    assert!(matches!(
        PartitionKey::try_from(u64::MAX),
        Err(PartitionKeyError::InexactInteger { .. })
    ));
    assert!(matches!(
        PartitionKeyValue::try_from(i64::MIN),
        Err(PartitionKeyError::InexactInteger { .. })
    ));
}

#[test]
fn special_values_and_hierarchical_keys() {
    assert_eq!(PartitionKey::null().to_header_value(), "[null]");
    assert_eq!(PartitionKey::undefined().to_header_value(), "[{}]");
    assert_eq!(header(true), "[true]");
    assert_eq!(header(false), "[false]");
    assert_eq!(header(("a", "b", 3)), r#"["a","b",3]"#);
    assert_eq!(header(("tenant", false)), r#"["tenant",false]"#);
    let hier = PartitionKey::hierarchical([
        PartitionKeyValue::from("a"),
        PartitionKeyValue::Undefined,
        PartitionKeyValue::Null,
    ])
    .unwrap();
    // JS sends {} for an undefined component (Python raises TypeError).
    assert_eq!(hier.to_header_value(), r#"["a",{},null]"#);
    assert_eq!(hier.components().len(), 3);
    assert_eq!(hier.components()[1], PartitionKeyValue::Undefined);
    assert_eq!(
        PartitionKey::hierarchical([PartitionKeyValue::Null]).unwrap(),
        PartitionKey::null()
    );
}

#[test]
fn invalid_keys_are_rejected() {
    let four = ["a", "b", "c", "d"].map(PartitionKeyValue::from);
    assert_eq!(
        PartitionKey::hierarchical(four),
        Err(PartitionKeyError::TooManyComponents { count: 4 })
    );
    assert_eq!(
        PartitionKey::hierarchical(Vec::new()),
        Err(PartitionKeyError::NoComponents)
    );
    for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(
            PartitionKey::try_from(x),
            Err(PartitionKeyError::NonFiniteNumber { .. })
        ));
        assert!(PartitionKeyValue::try_from(x).is_err());
        assert!(PartitionKey::number(x).is_err());
        // A hand-built variant is re-checked by every PartitionKey constructor.
        assert!(PartitionKey::new(PartitionKeyValue::Number(x)).is_err());
        assert!(PartitionKey::hierarchical([PartitionKeyValue::Number(x)]).is_err());
        assert!(PartitionKey::try_from(("a", PartitionKeyValue::Number(x))).is_err());
    }
    let err = PartitionKey::try_from(f64::NAN).unwrap_err().to_string();
    assert!(err.contains("not finite"), "{err}");
    let err = PartitionKey::hierarchical(["a", "b", "c", "d"].map(PartitionKeyValue::from))
        .unwrap_err()
        .to_string();
    assert!(err.contains("at most 3"), "{err}");
}
