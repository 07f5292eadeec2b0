//! `partition_key`: [`PartitionKey`] values, their header JSON, and effective partition keys.

use serde_json::Value;

use super::{ensure, ByteReader, Violation};
use sextant_core::models::{
    PartitionKey, PartitionKeyDefinition, PartitionKeyKind, PartitionKeyValue,
};
use sextant_core::partition::{
    effective_partition_key, epk_range_for_prefix, EffectivePartitionKey,
};
use sextant_core::replay::parse_partition_key;

const T: &str = "partition_key";

/// Numbers worth hitting on purpose (the rest come from raw bits).
const NUMBERS: [f64; 16] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.1,
    1e21,
    1e-7,
    123456789012345680000.0,
    9007199254740992.0,
    9007199254740993.0,
    -9007199254740994.0,
    5e-324,
    f64::MAX,
    f64::MIN_POSITIVE,
    1.5e300,
    0.000001,
];
/// Strings worth hitting on purpose (escapes, astral chars, V1 truncation at 100 UTF-16 units).
const STRINGS: [&str; 8] = [
    "",
    "\"\\\u{8}\u{c}\n\r\t\u{0}\u{1f}\u{7f}",
    "\u{80}\u{ff}\u{100}\u{fffd}\u{ffff}",
    "\u{1F600}",
    "é",
    "{}",
    "null",
    "[\"a\"]",
];

/// Decodes 0–4 components (strings, numbers, booleans, null, undefined). When they form a
/// key: the header is a valid header value, equals `Display`, and is JSON that parses back to
/// the same components (numbers exactly, by their shortest text); effective partition keys for
/// Hash v1/v2, MultiHash, Range and invalid definitions never panic and, when computed, are
/// valid EPKs of the expected length; the replay's header parser gives the key back exactly.
pub fn partition_key(data: &[u8]) -> Result<(), Violation> {
    let mut r = ByteReader::new(data);
    let count = r.below(5);
    let mut values = Vec::with_capacity(count);
    for _ in 0..count {
        values.push(component(&mut r));
    }
    let pk = match PartitionKey::hierarchical(values.clone()) {
        Ok(pk) => pk,
        Err(_) => {
            let legit = count == 0
                || count > 3
                || values
                    .iter()
                    .any(|v| matches!(v, PartitionKeyValue::Number(n) if !n.is_finite()));
            ensure!(T, legit, "{values:?} rejected");
            return Ok(());
        }
    };
    for v in pk.components() {
        if let PartitionKeyValue::Number(n) = v {
            check_number(*n)?;
        }
    }
    check_header(&pk)?;
    check_replay_parse(&pk)?;
    check_epks(&pk)?;
    Ok(())
}

fn component(r: &mut ByteReader<'_>) -> PartitionKeyValue {
    match r.below(8) {
        0 => PartitionKeyValue::String(r.string(255)),
        1 => {
            PartitionKeyValue::String(r.pick(&STRINGS).unwrap_or_default().repeat(1 + r.below(60)))
        }
        2 => PartitionKeyValue::Number(f64::from_bits(r.u64())),
        3 => PartitionKeyValue::Number(r.pick(&NUMBERS).unwrap_or_default()),
        4 => PartitionKeyValue::Number(f64::from(r.u32() as i32)),
        5 => PartitionKeyValue::Bool(r.bool()),
        6 => PartitionKeyValue::Null,
        _ => PartitionKeyValue::Undefined,
    }
}

fn check_header(pk: &PartitionKey) -> Result<(), Violation> {
    let header = pk.to_header_value();
    ensure!(
        T,
        header == pk.to_string(),
        "Display differs from the header value"
    );
    ensure!(
        T,
        http::HeaderValue::from_str(&header).is_ok(),
        "{header:?} is not a valid header value"
    );
    let parsed: Value = match serde_json::from_str(&header) {
        Ok(v) => v,
        Err(e) => return Err(Violation::new(T, format!("{header:?} is not JSON: {e}"))),
    };
    let Some(items) = parsed.as_array() else {
        return Err(Violation::new(T, format!("{header:?} is not a JSON array")));
    };
    ensure!(
        T,
        items.len() == pk.components().len(),
        "{header:?} has {} items for {} components",
        items.len(),
        pk.components().len()
    );
    for (item, value) in items.iter().zip(pk.components()) {
        let same = match (value, item) {
            (PartitionKeyValue::String(s), Value::String(t)) => s == t,
            // Structure only (within 2 ulps): exactness is checked on the number's own text in
            // `check_number` and through the replay parser in `check_replay_parse`.
            (PartitionKeyValue::Number(n), Value::Number(m)) => m
                .as_f64()
                .is_some_and(|m| m == *n || ulps_apart(m, *n) <= 2),
            (PartitionKeyValue::Bool(b), Value::Bool(c)) => b == c,
            (PartitionKeyValue::Null, Value::Null) => true,
            (PartitionKeyValue::Undefined, Value::Object(o)) => o.is_empty(),
            _ => false,
        };
        ensure!(T, same, "{value:?} is written as {item} in {header:?}");
    }
    Ok(())
}

/// How many representable doubles lie between `a` and `b` (`u64::MAX` across signs).
fn ulps_apart(a: f64, b: f64) -> u64 {
    if a.is_sign_negative() != b.is_sign_negative() {
        return u64::MAX;
    }
    a.to_bits().abs_diff(b.to_bits())
}

/// The number's text alone must be a JSON number that reads back to exactly the same bits.
fn check_number(n: f64) -> Result<(), Violation> {
    let Ok(pk) = PartitionKey::number(n) else {
        return Ok(());
    };
    let header = pk.to_header_value();
    let text = header
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or_default();
    ensure!(
        T,
        serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_number()),
        "{n:?} is written as {text:?}, not a JSON number"
    );
    let back = text.parse::<f64>();
    ensure!(
        T,
        back.as_ref().is_ok_and(|b| b.to_bits() == n.to_bits()),
        "{n:?} (bits {:#x}) is written as {text:?}, which reads back as {back:?}",
        n.to_bits()
    );
    Ok(())
}

/// Replay rebuilds recorded operations from their header ([`parse_partition_key`]): it must
/// give back the same key, numbers bit for bit (else the replayed EPK and header differ).
fn check_replay_parse(pk: &PartitionKey) -> Result<(), Violation> {
    let header = pk.to_header_value();
    let back = match parse_partition_key(&header) {
        Ok(back) => back,
        Err(e) => {
            return Err(Violation::new(
                T,
                format!("replay cannot parse {header:?}: {e}"),
            ))
        }
    };
    let same = back.components().len() == pk.components().len()
        && back
            .components()
            .iter()
            .zip(pk.components())
            .all(|(a, b)| match (a, b) {
                (PartitionKeyValue::Number(x), PartitionKeyValue::Number(y)) => {
                    x.to_bits() == y.to_bits()
                }
                _ => a == b,
            });
    ensure!(T, same, "replay parses {header:?} as {back:?}, not {pk:?}");
    Ok(())
}

fn definitions() -> Vec<PartitionKeyDefinition> {
    let def = |paths: &[&str], kind, version| PartitionKeyDefinition {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        kind,
        version,
        ..PartitionKeyDefinition::hash("/pk")
    };
    vec![
        def(&["/a"], PartitionKeyKind::Hash, Some(1)),
        def(&["/a"], PartitionKeyKind::Hash, Some(2)),
        def(&["/a"], PartitionKeyKind::Hash, None),
        def(&["/a"], PartitionKeyKind::Hash, Some(3)),
        def(&["/a", "/b"], PartitionKeyKind::Hash, Some(2)),
        def(&["/a"], PartitionKeyKind::MultiHash, Some(2)),
        def(&["/a", "/b"], PartitionKeyKind::MultiHash, Some(2)),
        def(&["/a", "/b", "/c"], PartitionKeyKind::MultiHash, Some(2)),
        def(&["/a", "/b", "/c"], PartitionKeyKind::MultiHash, Some(1)),
        def(&["/a"], PartitionKeyKind::Range, None),
        def(&["/a", "/b", "/c"], PartitionKeyKind::Range, None),
        def(&[], PartitionKeyKind::Hash, Some(2)),
        def(&[], PartitionKeyKind::MultiHash, Some(2)),
    ]
}

fn check_epks(pk: &PartitionKey) -> Result<(), Violation> {
    let n = pk.components().len();
    for def in definitions() {
        if let Ok(epk) = effective_partition_key(pk, &def) {
            let text = epk.as_str();
            ensure!(
                T,
                EffectivePartitionKey::from_hex(text.to_owned()).is_ok(),
                "the EPK of {pk} under {def:?} is not a valid EPK: {text:?} ({:?})",
                EffectivePartitionKey::from_hex(text.to_owned())
            );
            let expected = match (def.kind, def.version) {
                (PartitionKeyKind::Hash, Some(2)) => Some(32),
                (PartitionKeyKind::MultiHash, _) => Some(32 * n),
                _ => None,
            };
            if let Some(len) = expected {
                ensure!(
                    T,
                    text.len() == len,
                    "the EPK of {pk} under {def:?} has {} digits, expected {len}",
                    text.len()
                );
            }
            if def.kind == PartitionKeyKind::MultiHash {
                if let Ok(range) = epk_range_for_prefix(pk, &def) {
                    ensure!(
                        T,
                        range.min_inclusive() == &epk && range.contains(&epk),
                        "the prefix range of full key {pk} does not start at its EPK"
                    );
                }
            }
        }
        if def.kind == PartitionKeyKind::MultiHash {
            if let Ok(range) = epk_range_for_prefix(pk, &def) {
                ensure!(
                    T,
                    range.contains(range.min_inclusive()),
                    "the prefix range of {pk} under {def:?} is empty"
                );
            }
        }
    }
    Ok(())
}
