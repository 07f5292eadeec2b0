//! The id and partition key of an item: captured while it is serialized ([`super::capture`]),
//! or read back from its bytes in one pass that builds nothing but the values wanted.

use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::Value;

use crate::diagnostics::CosmosDiagnostics;
use crate::error::CosmosError;
use crate::models::{PartitionKey, PartitionKeyDefinition};

/// The top-level names an item's keys need: `id`, then each key path's first property; and
/// each path's segments.
pub(super) fn wanted(definition: &PartitionKeyDefinition) -> (Vec<&str>, Vec<Vec<&str>>) {
    let paths: Vec<Vec<&str>> = definition
        .paths
        .iter()
        .map(|p| crate::backup::path_segments(p).collect())
        .collect();
    let mut names: Vec<&str> = Vec::with_capacity(1 + paths.len());
    names.push("id");
    names.extend(paths.iter().filter_map(|segs| segs.first().copied()));
    (names, paths)
}

fn bad(m: String) -> CosmosError {
    CosmosError::serialization(m, Arc::new(CosmosDiagnostics::empty()))
}

/// The id and partition key of the item in `body`, read without building the document: one
/// pass over the top-level fields that keeps only `id` and the key path's first property (as
/// raw JSON slices of `body`) and skips the others without allocating.
pub fn item_keys(
    body: &[u8],
    definition: &PartitionKeyDefinition,
    given: Option<PartitionKey>,
) -> Result<(String, PartitionKey), CosmosError> {
    let (names, paths) = wanted(definition);
    let top =
        pick_fields(body, &names).ok_or_else(|| bad("the item is not a JSON object".into()))?;
    keys_from_top(
        |i| top.get(i).copied().flatten().map(|r| r.get().as_bytes()),
        &names,
        &paths,
        definition,
        given,
    )
}

/// The id and partition key from the JSON of the wanted top-level properties (`top(i)` is the
/// value of `names[i]`, if the item has it). A key that is given must be the item's.
pub(super) fn keys_from_top<'t>(
    top: impl Fn(usize) -> Option<&'t [u8]>,
    names: &[&str],
    paths: &[Vec<&str>],
    definition: &PartitionKeyDefinition,
    given: Option<PartitionKey>,
) -> Result<(String, PartitionKey), CosmosError> {
    let id = top(0)
        .and_then(|r| serde_json::from_slice::<String>(r).ok())
        .ok_or_else(|| bad("the item has no string `id` field, which Cosmos DB requires".into()))?;
    let mut parts = Vec::with_capacity(paths.len());
    for (path, segs) in definition.paths.iter().zip(paths) {
        let first = segs
            .first()
            .and_then(|first| names.iter().position(|n| n == first))
            .and_then(&top);
        let mut at: Option<&[u8]> = first;
        for seg in segs.iter().skip(1) {
            at = at.and_then(|r| pick_fields(r, &[seg])?[0].map(|v| v.get().as_bytes()));
        }
        let value = at
            .map(serde_json::from_slice::<Value>)
            .transpose()
            .ok()
            .flatten();
        let component = crate::backup::key_component(value.as_ref()).ok_or_else(|| {
            bad(format!(
                "the item's partition key at {path} is not a string, number, boolean or null"
            ))
        })?;
        parts.push(component);
    }
    let own = PartitionKey::hierarchical(parts)
        .map_err(|e| bad(format!("the item's partition key is not usable: {e}")))?;
    Ok((id, given_or_own(given, own, definition)?))
}

/// The key to send: `given` when it is the item's own key, else an error naming both; the
/// item's own when none is given.
pub(super) fn given_or_own(
    given: Option<PartitionKey>,
    own: PartitionKey,
    definition: &PartitionKeyDefinition,
) -> Result<PartitionKey, CosmosError> {
    match given {
        Some(g) if g.to_header_value() != own.to_header_value() => Err(bad(format!(
            "the partition key given ({}) is not the item's ({} at {:?})",
            g.to_header_value(),
            own.to_header_value(),
            definition.paths
        ))),
        Some(g) => Ok(g),
        None => Ok(own),
    }
}

/// The values of the top-level properties `names` of the JSON object `raw` (the last one when
/// a name repeats), as slices of `raw`; `None` when `raw` is not a JSON object. Other
/// properties are skipped without being built or copied.
fn pick_fields<'de>(raw: &'de [u8], names: &[&str]) -> Option<Vec<Option<&'de RawValue>>> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let picked = serde::de::DeserializeSeed::deserialize(Pick { names }, &mut de).ok()?;
    de.end().ok()?;
    Some(picked)
}

/// [`pick_fields`]'s visitor.
struct Pick<'n> {
    names: &'n [&'n str],
}

impl<'de> serde::de::DeserializeSeed<'de> for Pick<'_> {
    type Value = Vec<Option<&'de RawValue>>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Pick<'_> {
    type Value = Vec<Option<&'de RawValue>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = vec![None; self.names.len()];
        while let Some(slot) = map.next_key_seed(KeyIndex { names: self.names })? {
            match slot {
                Some(i) => out[i] = Some(map.next_value::<&'de RawValue>()?),
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// A property name, as its index in the wanted names (`None`: not wanted), compared without
/// copying the name.
struct KeyIndex<'n> {
    names: &'n [&'n str],
}

impl<'de> serde::de::DeserializeSeed<'de> for KeyIndex<'_> {
    type Value = Option<usize>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl serde::de::Visitor<'_> for KeyIndex<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a property name")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.names.iter().position(|n| *n == v))
    }
}
