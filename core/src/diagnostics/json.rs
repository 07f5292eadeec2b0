//! A small JSON writer for diagnostics: compact, or pretty with serde_json's layout (two-space
//! indent, `"key": value`, `{}`/`[]` when empty). Escapes strings as serde_json does and can cut
//! a string to a bounded escaped length (marked with `...`).

use std::fmt::Write as _;

/// Writes JSON into a `String`. Callers pair every `begin_*` with its `end_*`; the writer tracks
/// commas and indentation.
#[derive(Debug)]
pub(crate) struct JsonWriter<'a> {
    out: &'a mut String,
    pretty: bool,
    depth: usize,
    /// Bit `d` set: the container at depth `d` already has an element (a comma is due).
    has_items: u128,
}

impl<'a> JsonWriter<'a> {
    pub fn new(out: &'a mut String, pretty: bool) -> Self {
        JsonWriter {
            out,
            pretty,
            depth: 0,
            has_items: 0,
        }
    }

    fn bit(&self) -> u128 {
        1u128 << self.depth.min(127)
    }

    /// Comma and newline before an element of the current container.
    fn item_prefix(&mut self) {
        if self.depth == 0 {
            return;
        }
        if self.has_items & self.bit() != 0 {
            self.out.push(',');
        }
        self.has_items |= self.bit();
        if self.pretty {
            self.newline();
        }
    }

    fn newline(&mut self) {
        self.out.push('\n');
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn open(&mut self, c: char) {
        self.out.push(c);
        self.depth += 1;
        self.has_items &= !self.bit();
    }

    fn close(&mut self, c: char) {
        let had_items = self.has_items & self.bit() != 0;
        self.has_items &= !self.bit();
        self.depth = self.depth.saturating_sub(1);
        if had_items && self.pretty {
            self.newline();
        }
        self.out.push(c);
    }

    /// Starts an object (as a value: after `key`, as an array element, or at the top).
    pub fn begin_object(&mut self) {
        self.open('{');
    }

    /// Ends the current object.
    pub fn end_object(&mut self) {
        self.close('}');
    }

    /// Starts an array (as a value).
    pub fn begin_array(&mut self) {
        self.open('[');
    }

    /// Ends the current array.
    pub fn end_array(&mut self) {
        self.close(']');
    }

    /// Starts the next element of the current array; write the value right after.
    pub fn element(&mut self) {
        self.item_prefix();
    }

    /// Writes `"name": ` in the current object; write the value right after.
    pub fn key(&mut self, name: &str) {
        self.item_prefix();
        write_escaped(self.out, name);
        self.out.push(':');
        if self.pretty {
            self.out.push(' ');
        }
    }

    /// A string value.
    pub fn str(&mut self, s: &str) {
        write_escaped(self.out, s);
    }

    /// A string value cut so that its escaped form (quotes included) takes at most `max` bytes.
    pub fn str_limited(&mut self, s: &str, max: usize) {
        write_escaped_limited(self.out, s, max);
    }

    /// A literal (`true`, `false`, `null`) written as is.
    pub fn raw(&mut self, literal: &str) {
        self.out.push_str(literal);
    }

    /// An unsigned integer value.
    pub fn u64(&mut self, n: u64) {
        let _ = write!(self.out, "{n}");
    }

    /// A float in the seed's style (`1.0`, `0.5`, `1e-7`); `null` when not finite.
    pub fn f64(&mut self, x: f64) {
        write_f64(self.out, x);
    }

    /// `"name": "value"`.
    pub fn field_str(&mut self, name: &str, value: &str) {
        self.key(name);
        self.str(value);
    }

    /// `"name": n`.
    pub fn field_u64(&mut self, name: &str, value: u64) {
        self.key(name);
        self.u64(value);
    }

    /// `"name": x`.
    pub fn field_f64(&mut self, name: &str, value: f64) {
        self.key(name);
        self.f64(value);
    }
}

/// Writes `x` as a JSON number: Rust's shortest round-trip form, which prints integral values
/// with `.0` as serde_json does. Non-finite values (impossible from parsed headers, but sums can
/// overflow) become `null`.
pub(crate) fn write_f64(out: &mut String, x: f64) {
    if x.is_finite() {
        let _ = write!(out, "{x:?}");
    } else {
        out.push_str("null");
    }
}

fn escape_of(c: char) -> Option<&'static str> {
    Some(match c {
        '"' => "\\\"",
        '\\' => "\\\\",
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        '\u{08}' => "\\b",
        '\u{0c}' => "\\f",
        _ => return None,
    })
}

/// Length of `c` once escaped.
fn escaped_len(c: char) -> usize {
    match escape_of(c) {
        Some(e) => e.len(),
        None if (c as u32) < 0x20 => 6,
        None => c.len_utf8(),
    }
}

fn push_escaped_char(out: &mut String, c: char) {
    match escape_of(c) {
        Some(e) => out.push_str(e),
        None if (c as u32) < 0x20 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        None => out.push(c),
    }
}

/// Writes `s` as a quoted JSON string.
pub(crate) fn write_escaped(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if (c as u32) < 0x20 || c == '"' || c == '\\' {
            out.push_str(&s[start..i]);
            push_escaped_char(out, c);
            start = i + c.len_utf8();
        }
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// The marker appended to a cut string.
const ELLIPSIS: &str = "...";

/// Writes `s` quoted, cut at a character boundary so the whole escaped string, quotes and the
/// `...` marker included, takes at most `max` bytes (`max` below 5 is treated as 5).
pub(crate) fn write_escaped_limited(out: &mut String, s: &str, max: usize) {
    let full: usize = s.chars().map(escaped_len).sum::<usize>() + 2;
    if full <= max {
        write_escaped(out, s);
        return;
    }
    let budget = max.max(2 + ELLIPSIS.len()) - 2 - ELLIPSIS.len();
    out.push('"');
    let mut used = 0;
    for c in s.chars() {
        let n = escaped_len(c);
        if used + n > budget {
            break;
        }
        used += n;
        push_escaped_char(out, c);
    }
    out.push_str(ELLIPSIS);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_serde_json() {
        for s in [
            "plain",
            "q\"b\\s",
            "line\nbreak\ttab\r",
            "\u{1}\u{1f}\u{7f}",
            "ünï€😀",
        ] {
            let mut out = String::new();
            write_escaped(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }

    #[test]
    fn floats_print_like_the_seed() {
        for (x, want) in [(1.0, "1.0"), (11.0, "11.0"), (0.5, "0.5"), (2.37, "2.37")] {
            let mut out = String::new();
            write_f64(&mut out, x);
            assert_eq!(out, want);
            assert_eq!(out, serde_json::to_string(&x).unwrap());
        }
        let mut out = String::new();
        write_f64(&mut out, f64::NAN);
        assert_eq!(out, "null");
    }

    #[test]
    fn limited_strings_fit_and_stay_valid() {
        let s = "a\u{1}é\"😀".repeat(50);
        for max in [0, 5, 6, 7, 20, 33, 100, 1000] {
            let mut out = String::new();
            write_escaped_limited(&mut out, &s, max);
            assert!(out.len() <= max.max(5), "{max}: {out}");
            let back: String = serde_json::from_str(&out).unwrap();
            assert!(back.ends_with("...") || back == s);
        }
    }

    #[test]
    fn pretty_matches_serde_json_layout() {
        let mut out = String::new();
        let mut w = JsonWriter::new(&mut out, true);
        w.begin_object();
        w.field_str("a", "x");
        w.key("b");
        w.begin_array();
        w.element();
        w.begin_object();
        w.field_u64("n", 1);
        w.end_object();
        w.element();
        w.u64(2);
        w.end_array();
        w.key("c");
        w.begin_array();
        w.end_array();
        w.key("d");
        w.begin_object();
        w.end_object();
        w.end_object();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(out, serde_json::to_string_pretty(&v).unwrap());
    }
}
