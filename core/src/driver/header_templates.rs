//! Header templates: a request's header map cloned from a kept map of the same names, with the
//! values set by position, instead of built by one insert per header.
//!
//! `HeaderMap::insert` hashes the name (FNV over every byte; `x-ms-documentdb-partitionkey` has
//! 28 of them) and probes the table. A point read inserted nine headers: about 1.4k
//! instructions and 100 ns natively. A clone of a map that holds the same names in the same
//! order keeps their hashes and slots, so only the values are written. Same map, same order on
//! the wire (docs/PERFORMANCE.md, "Issue 9: the tenth speed session").
//!
//! The caller's contract: the names a request writes are a function of its [`Shape`] alone, in
//! a fixed order (`execution/point_headers.rs` derives both from one struct). A shape whose
//! names repeat is never kept (the map would hold fewer entries than the values written).

use http::{HeaderMap, HeaderName, HeaderValue};

/// Which optional headers a request carries, one bit each: requests of the same shape write the
/// same names in the same order.
pub(crate) type Shape = u32;

/// Shapes kept at most. A driver's point operations come in a handful of shapes (reads with and
/// without a session token, creates, upserts, replaces, deletes, patches, each with or without
/// conditions); a shape past the bound has its maps built by inserts, as before.
const MAX_SHAPES: usize = 16;

/// Room in a map built by inserts: the usual 9 to 12 headers of an attempt.
const INSERT_CAPACITY: usize = 12;

/// A kept map per shape, every value empty (no request's value, and no signature, outlives it).
#[derive(Debug, Default)]
pub(crate) struct HeaderTemplates {
    shapes: Vec<(Shape, HeaderMap)>,
}

/// Where [`HeaderTemplates::build`]'s writer puts each header, in order.
pub(crate) enum Sink<'a> {
    /// Building by inserts; `repeated` is set when a name comes twice.
    Insert {
        map: &'a mut HeaderMap,
        repeated: bool,
    },
    /// Filling a clone of the shape's template: each value goes to the next entry; `written`
    /// counts them (the template must get exactly one per entry).
    Fill {
        values: http::header::ValuesMut<'a, HeaderValue>,
        written: usize,
    },
}

impl Sink<'_> {
    /// The next header of the request.
    pub fn put(&mut self, name: HeaderName, value: HeaderValue) {
        match self {
            Sink::Insert { map, repeated } => *repeated |= map.insert(name, value).is_some(),
            Sink::Fill { values, written } => {
                if let Some(slot) = values.next() {
                    *slot = value;
                }
                *written += 1;
            }
        }
    }
}

impl HeaderTemplates {
    /// The header map `write` describes, for a request of `shape`: a clone of the shape's
    /// template filled by `write`, or, the first time a shape is seen, built by inserts (and
    /// kept as the shape's template while there is room).
    pub fn build(&mut self, shape: Shape, write: impl FnOnce(&mut Sink<'_>)) -> HeaderMap {
        if let Some((_, template)) = self.shapes.iter().find(|(s, _)| *s == shape) {
            let mut map = template.clone();
            let len = map.len();
            let mut sink = Sink::Fill {
                values: map.values_mut(),
                written: 0,
            };
            write(&mut sink);
            // The caller's contract (names a function of the shape): a miscount would leave an
            // empty value on the wire or drop one. The exhaustive test in
            // `execution/point_headers_tests.rs` holds it; this catches a new writer in tests.
            debug_assert!(matches!(sink, Sink::Fill { written, .. } if written == len));
            return map;
        }
        let mut map = HeaderMap::with_capacity(INSERT_CAPACITY);
        let mut sink = Sink::Insert {
            map: &mut map,
            repeated: false,
        };
        write(&mut sink);
        let repeated = matches!(sink, Sink::Insert { repeated: true, .. });
        if !repeated && self.shapes.len() < MAX_SHAPES {
            let mut template = HeaderMap::with_capacity(map.len());
            for name in map.keys() {
                template.insert(name.clone(), HeaderValue::from_static(""));
            }
            self.shapes.push((shape, template));
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(map: &HeaderMap) -> Vec<(String, String)> {
        map.iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("?").to_owned()))
            .collect()
    }

    /// Writes `a`, then `b` when `shape` says so, then `c`, with values from `tag`.
    fn write(shape: Shape, tag: &'static str) -> impl FnOnce(&mut Sink<'_>) {
        move |sink| {
            sink.put(
                HeaderName::from_static("x-ms-a"),
                HeaderValue::from_static(tag),
            );
            if shape & 1 != 0 {
                sink.put(http::header::ACCEPT, HeaderValue::from_static("b"));
            }
            sink.put(
                HeaderName::from_static("x-ms-c"),
                HeaderValue::from_static(tag),
            );
        }
    }

    #[test]
    fn a_filled_template_equals_the_map_built_by_inserts() {
        let mut templates = HeaderTemplates::default();
        let first = templates.build(1, write(1, "one"));
        assert_eq!(
            pairs(&first),
            [("x-ms-a", "one"), ("accept", "b"), ("x-ms-c", "one")]
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
        // The second request of the shape is a filled clone: its own values, same order.
        let second = templates.build(1, write(1, "two"));
        assert_eq!(
            pairs(&second),
            [("x-ms-a", "two"), ("accept", "b"), ("x-ms-c", "two")]
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
        // Another shape gets its own template.
        let other = templates.build(0, write(0, "three"));
        assert_eq!(pairs(&other).len(), 2);
        assert_eq!(templates.shapes.len(), 2);
        // Templates keep no request's values.
        assert!(templates
            .shapes
            .iter()
            .all(|(_, t)| t.values().all(|v| v.is_empty())));
    }

    #[test]
    fn a_shape_with_a_repeated_name_is_never_kept() {
        let mut templates = HeaderTemplates::default();
        let repeat = |sink: &mut Sink<'_>| {
            sink.put(http::header::ACCEPT, HeaderValue::from_static("1"));
            sink.put(http::header::ACCEPT, HeaderValue::from_static("2"));
        };
        let map = templates.build(7, repeat);
        assert_eq!(pairs(&map), [("accept".to_owned(), "2".to_owned())]);
        assert!(templates.shapes.is_empty());
        assert_eq!(pairs(&templates.build(7, repeat)).len(), 1);
    }

    #[test]
    fn shapes_past_the_bound_are_built_by_inserts() {
        let mut templates = HeaderTemplates::default();
        for shape in 0..(MAX_SHAPES as Shape + 4) {
            let map = templates.build(shape << 1, write(0, "v"));
            assert_eq!(pairs(&map).len(), 2);
        }
        assert_eq!(templates.shapes.len(), MAX_SHAPES);
    }
}
