//! Partition key values and the `x-ms-documentdb-partitionkey` header (PROTOCOL.md §2, §3).
//!
//! The header is a JSON array serialized exactly as the JS SDK does
//! (`JSON.stringify`, then every character from U+007F up escaped as lower-case `\uXXXX`):
//! numbers use the shortest ECMAScript form (`1.0` → `1`, `1e21` → `1e+21`), except `-0.0`,
//! which keeps its sign so the header and the effective partition key agree (see `write_js_number`).
//! The Python SDK writes the same JSON values with Python float formatting (`1.0`, `1e-07`);
//! both SDKs agree on strings, booleans, null and integers up to 2^53.

use std::fmt::{self, Write as _};

/// Most components a (hierarchical) partition key can have.
pub const MAX_COMPONENTS: usize = 3;

/// Largest integer magnitude converted exactly to a JSON number (2^53): every integer up to it
/// is an exact `f64`; beyond it JavaScript (and the service's hash) would round.
pub const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// One component of a partition key.
///
/// Build numbers with the `TryFrom` conversions (they reject NaN, infinities and integers that
/// are not exact `f64`s); a [`PartitionKey`] re-checks every component it is built from.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PartitionKeyValue {
    /// A JSON string.
    String(String),
    /// A JSON number (finite).
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
    /// JSON `null`.
    Null,
    /// The value is absent from the item (serialized as `{}`).
    Undefined,
}

/// Why a partition key or a partition key value could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PartitionKeyError {
    /// A partition key needs at least one component.
    #[error("a partition key needs at least one component")]
    NoComponents,
    /// Hierarchical partition keys have at most [`MAX_COMPONENTS`] components.
    #[error("a partition key has at most 3 components, got {count}")]
    TooManyComponents {
        /// How many components were given.
        count: usize,
    },
    /// NaN and infinities are not JSON numbers.
    #[error("partition key number {value} is not finite")]
    NonFiniteNumber {
        /// The rejected value.
        value: f64,
    },
    /// An integer whose magnitude exceeds 2^53 has no exact `f64`/JSON-number form.
    #[error("integer partition key {value} is beyond ±2^53 and cannot be represented exactly")]
    InexactInteger {
        /// The rejected value.
        value: i128,
    },
}

/// A partition key: one value, or 2–3 values for a hierarchical (MultiHash) key.
#[derive(Clone)]
pub struct PartitionKey {
    components: Components,
}

/// A key's components: a single one inline (nearly every key, and no allocation for the list),
/// a hierarchical key's in a `Vec`. A key with one component is always `One`.
#[derive(Clone)]
enum Components {
    One([PartitionKeyValue; 1]),
    Many(Vec<PartitionKeyValue>),
}

impl fmt::Debug for PartitionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartitionKey")
            .field("components", &self.components())
            .finish()
    }
}

impl PartialEq for PartitionKey {
    fn eq(&self, other: &Self) -> bool {
        self.components() == other.components()
    }
}

impl PartitionKey {
    /// A single-component key. Fails only for a non-finite number.
    pub fn new(value: PartitionKeyValue) -> Result<PartitionKey, PartitionKeyError> {
        check(&value)?;
        Ok(PartitionKey::single(value))
    }

    /// A hierarchical key of 1 to [`MAX_COMPONENTS`] components, outermost first.
    pub fn hierarchical(
        values: impl IntoIterator<Item = PartitionKeyValue>,
    ) -> Result<PartitionKey, PartitionKeyError> {
        let mut components = Vec::with_capacity(MAX_COMPONENTS);
        for (count, value) in values.into_iter().enumerate() {
            if count == MAX_COMPONENTS {
                return Err(PartitionKeyError::TooManyComponents { count: count + 1 });
            }
            check(&value)?;
            components.push(value);
        }
        if components.len() == 1 {
            if let Some(value) = components.pop() {
                return Ok(PartitionKey::single(value));
            }
        }
        if components.is_empty() {
            return Err(PartitionKeyError::NoComponents);
        }
        Ok(PartitionKey {
            components: Components::Many(components),
        })
    }

    /// A single-component numeric key; rejects NaN and infinities.
    pub fn number(value: f64) -> Result<PartitionKey, PartitionKeyError> {
        PartitionKey::new(PartitionKeyValue::try_from(value)?)
    }

    /// The JSON `null` key: `[null]`.
    pub fn null() -> PartitionKey {
        PartitionKey::single(PartitionKeyValue::Null)
    }

    /// The key of items that lack the partition key property: `[{}]`.
    pub fn undefined() -> PartitionKey {
        PartitionKey::single(PartitionKeyValue::Undefined)
    }

    /// The components, outermost first (1 to [`MAX_COMPONENTS`]).
    pub fn components(&self) -> &[PartitionKeyValue] {
        match &self.components {
            Components::One(one) => one,
            Components::Many(many) => many,
        }
    }

    /// The `x-ms-documentdb-partitionkey` header value, e.g. `["a","b",3]`.
    pub fn to_header_value(&self) -> String {
        // An exactly sized buffer: a header value takes the string's buffer as it is only when
        // it has no spare capacity (else it allocates again). The usual key, one string with
        // nothing to escape, is copied straight into it. Other short keys are written on the
        // stack and copied once; longer ones are measured first.
        if let Some(s) = self.plain_single_string() {
            let mut out = String::with_capacity(s.len() + 4);
            out.push_str("[\"");
            out.push_str(s);
            out.push_str("\"]");
            return out;
        }
        let mut short = StackStr::<128>::default();
        if self.write_json(&mut short).is_ok() {
            return short.as_str().to_owned();
        }
        let mut len = LenCounter(0);
        let _ = self.write_json(&mut len);
        let mut out = String::with_capacity(len.0);
        self.write_header_value(&mut out);
        out
    }

    /// The key's one string component when it has nothing to escape (the header value is then
    /// `["` + the string + `"]`).
    pub(crate) fn plain_single_string(&self) -> Option<&str> {
        match self.components() {
            [PartitionKeyValue::String(s)] if s.bytes().all(is_plain_json_byte) => Some(s),
            _ => None,
        }
    }

    /// Appends the `x-ms-documentdb-partitionkey` header value to `out`.
    pub fn write_header_value(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = self.write_json(out);
    }

    fn single(value: PartitionKeyValue) -> PartitionKey {
        PartitionKey {
            components: Components::One([value]),
        }
    }

    fn write_json<W: fmt::Write>(&self, w: &mut W) -> fmt::Result {
        w.write_char('[')?;
        for (i, value) in self.components().iter().enumerate() {
            if i > 0 {
                w.write_char(',')?;
            }
            match value {
                PartitionKeyValue::String(s) => write_json_string(w, s)?,
                PartitionKeyValue::Number(n) => write_js_number(w, *n)?,
                PartitionKeyValue::Bool(b) => w.write_str(if *b { "true" } else { "false" })?,
                PartitionKeyValue::Null => w.write_str("null")?,
                PartitionKeyValue::Undefined => w.write_str("{}")?,
            }
        }
        w.write_char(']')
    }
}

impl fmt::Display for PartitionKey {
    /// Formats the header value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_json(f)
    }
}

fn check(value: &PartitionKeyValue) -> Result<(), PartitionKeyError> {
    match value {
        PartitionKeyValue::Number(n) if !n.is_finite() => {
            Err(PartitionKeyError::NonFiniteNumber { value: *n })
        }
        _ => Ok(()),
    }
}

fn exact_integer(value: i128) -> Result<PartitionKeyValue, PartitionKeyError> {
    if value.unsigned_abs() > u128::from(MAX_EXACT_INTEGER) {
        return Err(PartitionKeyError::InexactInteger { value });
    }
    // Exact: |value| <= 2^53.
    Ok(PartitionKeyValue::Number(value as f64))
}

impl From<&str> for PartitionKeyValue {
    fn from(v: &str) -> Self {
        PartitionKeyValue::String(v.to_owned())
    }
}
impl From<String> for PartitionKeyValue {
    fn from(v: String) -> Self {
        PartitionKeyValue::String(v)
    }
}
impl From<bool> for PartitionKeyValue {
    fn from(v: bool) -> Self {
        PartitionKeyValue::Bool(v)
    }
}
impl From<i32> for PartitionKeyValue {
    fn from(v: i32) -> Self {
        PartitionKeyValue::Number(f64::from(v))
    }
}
impl From<u32> for PartitionKeyValue {
    fn from(v: u32) -> Self {
        PartitionKeyValue::Number(f64::from(v))
    }
}
impl TryFrom<f64> for PartitionKeyValue {
    type Error = PartitionKeyError;
    /// Rejects NaN and infinities.
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        let value = PartitionKeyValue::Number(v);
        check(&value)?;
        Ok(value)
    }
}
impl TryFrom<i64> for PartitionKeyValue {
    type Error = PartitionKeyError;
    /// Rejects integers beyond ±2^53 (not exact as JSON numbers).
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        exact_integer(i128::from(v))
    }
}
impl TryFrom<u64> for PartitionKeyValue {
    type Error = PartitionKeyError;
    /// Rejects integers above 2^53 (not exact as JSON numbers).
    fn try_from(v: u64) -> Result<Self, Self::Error> {
        exact_integer(i128::from(v))
    }
}

/// Infallible single-component keys.
macro_rules! key_from {
    ($($t:ty),*) => {$(
        impl From<$t> for PartitionKey {
            fn from(v: $t) -> Self {
                PartitionKey::single(PartitionKeyValue::from(v))
            }
        }
    )*};
}
key_from!(&str, String, bool, i32, u32);

/// Fallible single-component numeric keys.
macro_rules! key_try_from {
    ($($t:ty),*) => {$(
        impl TryFrom<$t> for PartitionKey {
            type Error = PartitionKeyError;
            fn try_from(v: $t) -> Result<Self, Self::Error> {
                PartitionKey::new(PartitionKeyValue::try_from(v)?)
            }
        }
    )*};
}
key_try_from!(f64, i64, u64);

impl TryFrom<PartitionKeyValue> for PartitionKey {
    type Error = PartitionKeyError;
    fn try_from(v: PartitionKeyValue) -> Result<Self, Self::Error> {
        PartitionKey::new(v)
    }
}
impl<A: Into<PartitionKeyValue>, B: Into<PartitionKeyValue>> TryFrom<(A, B)> for PartitionKey {
    type Error = PartitionKeyError;
    fn try_from((a, b): (A, B)) -> Result<Self, Self::Error> {
        PartitionKey::hierarchical([a.into(), b.into()])
    }
}
impl<A, B, C> TryFrom<(A, B, C)> for PartitionKey
where
    A: Into<PartitionKeyValue>,
    B: Into<PartitionKeyValue>,
    C: Into<PartitionKeyValue>,
{
    type Error = PartitionKeyError;
    fn try_from((a, b, c): (A, B, C)) -> Result<Self, Self::Error> {
        PartitionKey::hierarchical([a.into(), b.into(), c.into()])
    }
}

/// A byte that the header's JSON string carries as it is: printable ASCII other than `"` and
/// `\`. Everything else is escaped by [`write_json_string`].
fn is_plain_json_byte(b: u8) -> bool {
    matches!(b, b' '..=b'~') && b != b'"' && b != b'\\'
}

/// Writes `s` as a JSON string: `JSON.stringify` escapes (`\"`, `\\`, `\b \f \n \r \t`,
/// `\u00XX` for other controls) plus every char from U+007F up as lower-case `\uXXXX`
/// (astral chars as a UTF-16 surrogate pair), as the JS and Python SDKs send it.
fn write_json_string<W: fmt::Write>(w: &mut W, s: &str) -> fmt::Result {
    w.write_char('"')?;
    let mut rest = s;
    loop {
        // The longest prefix that is written as it is, in one piece (every byte before the cut
        // is ASCII, so the cut is a character boundary).
        let plain = rest
            .bytes()
            .position(|b| !is_plain_json_byte(b))
            .unwrap_or(rest.len());
        w.write_str(rest.get(..plain).unwrap_or_default())?;
        let mut tail = rest.get(plain..).unwrap_or_default().chars();
        let Some(c) = tail.next() else { break };
        match c {
            '"' => w.write_str("\\\"")?,
            '\\' => w.write_str("\\\\")?,
            '\u{8}' => w.write_str("\\b")?,
            '\u{c}' => w.write_str("\\f")?,
            '\n' => w.write_str("\\n")?,
            '\r' => w.write_str("\\r")?,
            '\t' => w.write_str("\\t")?,
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(w, "\\u{unit:04x}")?;
                }
            }
        }
        rest = tail.as_str();
    }
    w.write_char('"')
}

/// Writes a finite `f64` as ECMAScript `Number.prototype.toString` does (which is what
/// `JSON.stringify` uses). Non-finite values (unreachable through the checked constructors)
/// are written as `null`, like `JSON.stringify`.
fn write_js_number<W: fmt::Write>(w: &mut W, x: f64) -> fmt::Result {
    if !x.is_finite() {
        return w.write_str("null");
    }
    if x == 0.0 {
        // -0.0 keeps its sign: .NET (the reference) and both SDKs hash -0.0 by its own bits
        // (vector pk-024), so the header must say -0.0 for the service to place the item where
        // the client routes it. JS's JSON.stringify prints "0" here; Python prints "-0.0".
        return w.write_str(if x.is_sign_negative() { "-0.0" } else { "0" });
    }
    if x.fract() == 0.0 && x.abs() <= MAX_EXACT_INTEGER as f64 {
        return write!(w, "{}", x as i64); // exact
    }
    // Shortest round-trip digits from Rust: "d[.ddd]e<exp>". When several k-digit strings
    // round-trip, ECMAScript wants the one closest to x (ties to even), which Rust's shortest
    // mode does not promise; the correctly rounded k-digit string is that one if it round-trips.
    let mut sci = StackStr::<32>::default();
    write!(sci, "{:e}", x.abs())?;
    // "d.ddde…" has its 'e' at index k + 1 for k > 1 digits; "de…" at index 1.
    let digit_count = sci.as_str().find('e').map_or(0, |e| e - usize::from(e > 1));
    let mut closest = StackStr::<32>::default();
    write!(closest, "{:.*e}", digit_count.saturating_sub(1), x.abs())?;
    if closest.as_str().parse::<f64>() == Ok(x.abs()) {
        sci = closest;
    }
    let (mantissa, exp) = sci.as_str().split_once('e').ok_or(fmt::Error)?;
    let exp: i32 = exp.parse().map_err(|_| fmt::Error)?;
    let (first, rest) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = DigitStr { first, rest };
    let k = digits.len() as i32;
    let n = exp + 1; // value = 0.d1d2..dk × 10^n

    if x < 0.0 {
        w.write_char('-')?;
    }
    if k <= n && n <= 21 {
        digits.write_range(w, 0, k)?;
        (0..n - k).try_for_each(|_| w.write_char('0'))
    } else if 0 < n && n <= 21 {
        digits.write_range(w, 0, n)?;
        w.write_char('.')?;
        digits.write_range(w, n, k)
    } else if -6 < n && n <= 0 {
        w.write_str("0.")?;
        (0..-n).try_for_each(|_| w.write_char('0'))?;
        digits.write_range(w, 0, k)
    } else {
        digits.write_range(w, 0, 1)?;
        if k > 1 {
            w.write_char('.')?;
            digits.write_range(w, 1, k)?;
        }
        let e = n - 1;
        write!(w, "e{}{}", if e < 0 { '-' } else { '+' }, e.unsigned_abs())
    }
}

/// The significant digits `first` + `rest` of a `{:e}` mantissa, indexable without joining.
struct DigitStr<'a> {
    first: &'a str,
    rest: &'a str,
}

impl DigitStr<'_> {
    fn len(&self) -> usize {
        self.first.len() + self.rest.len()
    }

    /// Writes digits `from..to` (0-based over all digits; all ASCII).
    fn write_range<W: fmt::Write>(&self, w: &mut W, from: i32, to: i32) -> fmt::Result {
        let all = self.first.bytes().chain(self.rest.bytes());
        let (from, to) = (from.max(0) as usize, to.max(0) as usize);
        all.skip(from)
            .take(to.saturating_sub(from))
            .try_for_each(|b| w.write_char(char::from(b)))
    }
}

/// A fixed-capacity string on the stack: for formatting one `f64` without allocating (the
/// longest `{:e}` output of an `f64` is 17 digits, a point, `e-324`: 24 bytes; 32 are used) and
/// for writing a short partition key's header value once before copying it.
struct StackStr<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Default for StackStr<N> {
    fn default() -> Self {
        StackStr {
            buf: [0; N],
            len: 0,
        }
    }
}

impl<const N: usize> StackStr<N> {
    fn as_str(&self) -> &str {
        std::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

impl<const N: usize> fmt::Write for StackStr<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A `fmt::Write` that only counts the bytes written.
struct LenCounter(usize);

impl fmt::Write for LenCounter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A single-component key keeps its component inline; however it is built, equal keys
    /// compare equal and print the same.
    #[test]
    fn single_and_hierarchical_keys_read_the_same_however_built() {
        let a = PartitionKey::from("p");
        let b = PartitionKey::hierarchical([PartitionKeyValue::from("p")]).unwrap();
        assert!(matches!(a.components, Components::One(_)));
        assert!(matches!(b.components, Components::One(_)));
        assert_eq!(a, b);
        assert_eq!(a.components(), [PartitionKeyValue::from("p")]);
        assert_eq!(
            format!("{a:?}"),
            r#"PartitionKey { components: [String("p")] }"#
        );
        assert_eq!(a.to_header_value(), r#"["p"]"#);

        let h = PartitionKey::hierarchical([
            PartitionKeyValue::from("t"),
            PartitionKeyValue::from(2),
            PartitionKeyValue::Null,
        ])
        .unwrap();
        assert_eq!(h.components().len(), 3);
        assert_eq!(h.to_header_value(), r#"["t",2,null]"#);
        assert_ne!(h, a);
        assert_eq!(
            PartitionKey::hierarchical([]).unwrap_err(),
            PartitionKeyError::NoComponents
        );
    }
}
