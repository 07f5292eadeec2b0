//! Effective partition keys (EPK): the hex strings the service orders documents and partition
//! key ranges by (PROTOCOL.md §3). Follows .NET `PartitionKeyInternal.GetEffectivePartitionKeyString`.

use std::fmt;

use crate::models::container_properties::{PartitionKeyDefinition, PartitionKeyKind};
use crate::models::partition_key::{PartitionKey, PartitionKeyValue};

use super::encoding::{
    push_upper_hex, truncate_v1, write_for_binary_encoding, write_for_hashing_v1,
    write_for_hashing_v2, write_number_for_binary_encoding,
};
use super::murmur3::{murmur3_x64_128, murmur3_x86_32};

/// The smallest EPK: every range set starts here.
pub const MIN_INCLUSIVE_EPK: &str = "";
/// The exclusive end of every range set; no EPK reaches it.
pub const MAX_EXCLUSIVE_EPK: &str = "FF";
/// Longest EPK string accepted by [`EffectivePartitionKey::from_hex`] (a V1 key of three long
/// strings encodes to 339 bytes, 678 hex characters).
pub const MAX_EPK_LEN: usize = 1024;

/// An effective partition key: upper-case hex, ordered as strings (ordinal), which is how the
/// service compares EPKs and range boundaries.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EffectivePartitionKey(String);

impl EffectivePartitionKey {
    /// Wraps an EPK string received from elsewhere (a range boundary, a continuation). It must be
    /// upper-case hex of even length, at most [`MAX_EPK_LEN`] characters, and below
    /// [`MAX_EXCLUSIVE_EPK`] (`"FF"`); `""` is the minimum.
    pub fn from_hex(value: impl Into<String>) -> Result<EffectivePartitionKey, EpkError> {
        let value = value.into();
        let reason = if value.len() > MAX_EPK_LEN {
            Some("longer than 1024 characters")
        } else if value.len() % 2 != 0 {
            Some("odd number of hex digits")
        } else if !value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F'))
        {
            Some("not upper-case hex")
        } else if value.as_str() >= MAX_EXCLUSIVE_EPK {
            Some("not below the maximum \"FF\"")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(EpkError::InvalidEffectivePartitionKey {
                value: value.chars().take(64).collect(),
                reason,
            }),
            None => Ok(EffectivePartitionKey(value)),
        }
    }

    /// The hex string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex string, by value.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for EffectivePartitionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EffectivePartitionKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A half-open EPK range `[min_inclusive, max_exclusive)`, e.g. the documents a hierarchical
/// key prefix covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpkRange {
    min_inclusive: EffectivePartitionKey,
    max_exclusive: String,
}

impl EpkRange {
    /// The inclusive start.
    pub fn min_inclusive(&self) -> &EffectivePartitionKey {
        &self.min_inclusive
    }

    /// The exclusive end (may be `"FF"`).
    pub fn max_exclusive(&self) -> &str {
        &self.max_exclusive
    }

    /// Whether `epk` lies in the range.
    pub fn contains(&self, epk: &EffectivePartitionKey) -> bool {
        self.min_inclusive <= *epk && epk.as_str() < self.max_exclusive.as_str()
    }
}

/// Why an effective partition key could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EpkError {
    /// The partition key definition lists no paths.
    #[error("the partition key definition has no paths")]
    NoPaths,
    /// More components than the definition has paths.
    #[error("the partition key has {components} components but the container has {paths} partition key paths")]
    TooManyComponents {
        /// Components in the key.
        components: usize,
        /// Paths in the definition.
        paths: usize,
    },
    /// Fewer components than paths for a `Hash` or `Range` container.
    #[error("the partition key has {components} components but the container has {paths} partition key paths")]
    TooFewComponents {
        /// Components in the key.
        components: usize,
        /// Paths in the definition.
        paths: usize,
    },
    /// A hierarchical prefix has no single EPK; use [`epk_range_for_prefix`].
    #[error("the partition key is a prefix ({components} of {paths} hierarchical paths) and maps to a range, not a point: use epk_range_for_prefix")]
    PartialHierarchicalKey {
        /// Components in the key.
        components: usize,
        /// Paths in the definition.
        paths: usize,
    },
    /// Prefix ranges exist only for `MultiHash` containers.
    #[error(
        "partition key prefixes need a MultiHash (hierarchical) container, this one is {kind:?}"
    )]
    NotHierarchical {
        /// The container's kind.
        kind: PartitionKeyKind,
    },
    /// A hash version other than 1 or 2.
    #[error("unsupported partition key hash version {version} (expected 1 or 2)")]
    UnsupportedVersion {
        /// The version in the definition.
        version: u8,
    },
    /// A string given as an EPK is not one.
    #[error("invalid effective partition key {value:?}: {reason}")]
    InvalidEffectivePartitionKey {
        /// The rejected value (first 64 characters).
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The effective partition key of `pk` in a container partitioned by `definition`.
///
/// * `Hash`, version 2: MurmurHash3 x64-128 (seed 0) over the V2 bytes of all components,
///   bytes reversed, top two bits cleared, upper-case hex (32 characters).
/// * `Hash`, version 1 — or no version, as .NET reads an absent version
///   (`partitionKeyDefinition.Version ?? V1`): MurmurHash3 x86-32 of the V1 bytes of the
///   truncated components, then the binary encoding of `[hash as number, truncated components…]`.
/// * `MultiHash` (any version): one V2 hash per component, concatenated. A key with fewer
///   components than paths is a prefix and is refused here with
///   [`EpkError::PartialHierarchicalKey`]; see [`epk_range_for_prefix`].
/// * `Range` (legacy): the binary encoding of the components, unhashed.
///
/// Numbers hash their IEEE-754 bits, so `-0.0` and `0.0` have different EPKs, as in .NET
/// (`BinaryWriter.Write(double)`) and both vector SDKs (vector pk-024).
pub fn effective_partition_key(
    pk: &PartitionKey,
    definition: &PartitionKeyDefinition,
) -> Result<EffectivePartitionKey, EpkError> {
    check_effective_partition_key(pk, definition)?;
    let components = pk.components();
    let epk = match definition.kind {
        PartitionKeyKind::MultiHash => multi_hash_v2(components),
        // Other versions were refused by the check.
        PartitionKeyKind::Hash => match definition.version {
            Some(2) => hash_v2(components),
            _ => hash_v1(components),
        },
        PartitionKeyKind::Range => range_encoding(components),
    };
    Ok(EffectivePartitionKey(epk))
}

/// What [`effective_partition_key`] checks, without computing the hash: `Ok` exactly when it
/// returns `Ok`. For a container with a single range, which holds every EPK.
pub(crate) fn check_effective_partition_key(
    pk: &PartitionKey,
    definition: &PartitionKeyDefinition,
) -> Result<(), EpkError> {
    let components = pk.components().len();
    let paths = definition.paths.len();
    check_component_count(components, definition)?;
    match definition.kind {
        PartitionKeyKind::MultiHash if components < paths => {
            Err(EpkError::PartialHierarchicalKey { components, paths })
        }
        PartitionKeyKind::Hash => match definition.version {
            None | Some(1) | Some(2) => Ok(()),
            Some(version) => Err(EpkError::UnsupportedVersion { version }),
        },
        _ => Ok(()),
    }
}

/// The EPK range a hierarchical key prefix covers: `[h, h + "FF")` where `h` is the
/// concatenated V2 hashes of the given components (1 to all of the container's paths; a full
/// key gives the range of EPKs that start with its own EPK). `MultiHash` containers only.
pub fn epk_range_for_prefix(
    pk: &PartitionKey,
    definition: &PartitionKeyDefinition,
) -> Result<EpkRange, EpkError> {
    if definition.kind != PartitionKeyKind::MultiHash {
        return Err(EpkError::NotHierarchical {
            kind: definition.kind,
        });
    }
    check_component_count(pk.components().len(), definition)?;
    let min = multi_hash_v2(pk.components());
    let max = format!("{min}{MAX_EXCLUSIVE_EPK}");
    Ok(EpkRange {
        min_inclusive: EffectivePartitionKey(min),
        max_exclusive: max,
    })
}

fn check_component_count(
    components: usize,
    definition: &PartitionKeyDefinition,
) -> Result<(), EpkError> {
    let paths = definition.paths.len();
    if paths == 0 {
        return Err(EpkError::NoPaths);
    }
    if components > paths {
        return Err(EpkError::TooManyComponents { components, paths });
    }
    if components < paths && definition.kind != PartitionKeyKind::MultiHash {
        return Err(EpkError::TooFewComponents { components, paths });
    }
    Ok(())
}

/// Hash (V2) of all components together.
fn hash_v2(components: &[PartitionKeyValue]) -> String {
    let mut bytes = Vec::with_capacity(64);
    for component in components {
        write_for_hashing_v2(component, &mut bytes);
    }
    let mut out = String::with_capacity(32);
    push_v2_hash(&bytes, &mut out);
    out
}

/// One V2 hash per component.
fn multi_hash_v2(components: &[PartitionKeyValue]) -> String {
    let mut out = String::with_capacity(32 * components.len() + 2);
    let mut bytes = Vec::with_capacity(64);
    for component in components {
        bytes.clear();
        write_for_hashing_v2(component, &mut bytes);
        push_v2_hash(&bytes, &mut out);
    }
    out
}

/// MurmurHash3 x64-128 (seed 0) of `bytes`; the 16 bytes reversed, the two most significant
/// bits cleared (the maximum exclusive EPK is `FF`), upper-case hex.
fn push_v2_hash(bytes: &[u8], out: &mut String) {
    let mut hash = murmur3_x64_128(bytes, 0);
    hash.reverse();
    hash[0] &= 0x3F;
    push_upper_hex(&hash, out);
}

/// .NET `GetEffectivePartitionKeyForHashPartitioning`.
fn hash_v1(components: &[PartitionKeyValue]) -> String {
    let truncated: Vec<_> = components.iter().map(truncate_v1).collect();
    let mut bytes = Vec::with_capacity(64);
    for component in &truncated {
        write_for_hashing_v1(component, &mut bytes);
    }
    let hash = murmur3_x86_32(&bytes, 0);
    let mut encoded = Vec::with_capacity(16 + bytes.len());
    write_number_for_binary_encoding(f64::from(hash), &mut encoded);
    for component in &truncated {
        write_for_binary_encoding(component, &mut encoded);
    }
    let mut out = String::with_capacity(encoded.len() * 2);
    push_upper_hex(&encoded, &mut out);
    out
}

/// .NET `ToHexEncodedBinaryString(this.Components)` for Range partitioning. .NET does not
/// truncate here, but its string encoding writes at most 101 bytes anyway; the strings are
/// encoded from their full UTF-8.
fn range_encoding(components: &[PartitionKeyValue]) -> String {
    let mut encoded = Vec::with_capacity(64);
    for component in components {
        let as_v1 = match component {
            PartitionKeyValue::String(s) => {
                super::encoding::V1Component::String(s.as_bytes().to_vec())
            }
            other => super::encoding::V1Component::Other(other),
        };
        write_for_binary_encoding(&as_v1, &mut encoded);
    }
    let mut out = String::with_capacity(encoded.len() * 2);
    push_upper_hex(&encoded, &mut out);
    out
}
