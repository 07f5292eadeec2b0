//! Serializing an item to JSON bytes while keeping a copy of a few top-level properties (its
//! `id` and the first property of each partition key path), so the keys need no second pass
//! over the body.
//!
//! Only a top-level struct is watched field by field (what `#[derive(Serialize)]` types are).
//! A top-level map (`serde_json::Value`, `HashMap`, `#[serde(flatten)]`) is written through
//! untouched and reported with [`Captured::needs_scan`], for the caller to read the keys back
//! from the bytes instead.

use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::ser::{CompactFormatter, Compound};

/// What serializing captured.
#[derive(Debug, Default)]
pub(super) struct Captured {
    /// The JSON of `names[i]`, when the item has that property.
    pub values: Vec<Option<Vec<u8>>>,
    /// The item was not a struct: the keys must be read back from the bytes.
    pub needs_scan: bool,
}

/// `item` as compact JSON (the same bytes `serde_json::to_vec` writes), and the JSON of its
/// top-level properties `names`.
pub(super) fn to_vec_capturing<T: Serialize + ?Sized>(
    item: &T,
    names: &[&str],
) -> Result<(Vec<u8>, Captured), serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let mut captured = Captured {
        values: vec![None; names.len()],
        needs_scan: false,
    };
    {
        let mut ser = serde_json::Serializer::new(&mut out);
        item.serialize(Top {
            inner: &mut ser,
            names,
            captured: &mut captured,
        })?;
    }
    Ok((out, captured))
}

type Json<'s, 'o> = &'s mut serde_json::Serializer<&'o mut Vec<u8>>;
type Inner<'s, 'o> = Compound<'s, &'o mut Vec<u8>, CompactFormatter>;

/// The top-level serializer: everything goes to serde_json; a struct's fields are watched.
struct Top<'s, 'o, 'n> {
    inner: Json<'s, 'o>,
    names: &'n [&'n str],
    captured: &'s mut Captured,
}

/// A watched top-level struct.
struct TopStruct<'s, 'o, 'n> {
    inner: Inner<'s, 'o>,
    names: &'n [&'n str],
    captured: &'s mut Captured,
}

impl SerializeStruct for TopStruct<'_, '_, '_> {
    type Ok = ();
    type Error = serde_json::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        if let Some(i) = self.names.iter().position(|n| *n == key) {
            self.captured.values[i] = Some(serde_json::to_vec(value)?);
        }
        self.inner.serialize_field(key, value)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), Self::Error> {
        self.inner.skip_field(key)
    }

    fn end(self) -> Result<(), Self::Error> {
        SerializeStruct::end(self.inner)
    }
}

/// Methods that write a value that is not a struct: the keys cannot be captured.
macro_rules! unwatched {
    ($($method:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(
            fn $method(self, $($arg: $ty),*) -> Result<$ret, Self::Error> {
                self.captured.needs_scan = true;
                self.inner.$method($($arg),*)
            }
        )*
    };
}

impl<'s, 'o, 'n> Serializer for Top<'s, 'o, 'n> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Inner<'s, 'o>;
    type SerializeTuple = Inner<'s, 'o>;
    type SerializeTupleStruct = Inner<'s, 'o>;
    type SerializeTupleVariant = Inner<'s, 'o>;
    type SerializeMap = Inner<'s, 'o>;
    type SerializeStruct = TopStruct<'s, 'o, 'n>;
    type SerializeStructVariant = Inner<'s, 'o>;

    unwatched! {
        serialize_bool(v: bool) -> ();
        serialize_i8(v: i8) -> ();
        serialize_i16(v: i16) -> ();
        serialize_i32(v: i32) -> ();
        serialize_i64(v: i64) -> ();
        serialize_i128(v: i128) -> ();
        serialize_u8(v: u8) -> ();
        serialize_u16(v: u16) -> ();
        serialize_u32(v: u32) -> ();
        serialize_u64(v: u64) -> ();
        serialize_u128(v: u128) -> ();
        serialize_f32(v: f32) -> ();
        serialize_f64(v: f64) -> ();
        serialize_char(v: char) -> ();
        serialize_str(v: &str) -> ();
        serialize_bytes(v: &[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(name: &'static str) -> ();
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str) -> ();
        serialize_seq(len: Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(len: usize) -> Self::SerializeTuple;
        serialize_tuple_struct(name: &'static str, len: usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> Self::SerializeTupleVariant;
        serialize_map(len: Option<usize>) -> Self::SerializeMap;
        serialize_struct_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> Self::SerializeStructVariant;
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Self::Error> {
        // serde_json writes `Some(v)` as `v`: keep watching.
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        // serde_json writes a newtype as its content: keep watching.
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.captured.needs_scan = true;
        self.inner
            .serialize_newtype_variant(name, index, variant, value)
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, Self::Error> {
        Ok(TopStruct {
            inner: self.inner.serialize_struct(name, len)?,
            names: self.names,
            captured: self.captured,
        })
    }

    fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result<(), Self::Error> {
        self.captured.needs_scan = true;
        self.inner.collect_str(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Inner {
        tenant: String,
    }

    #[derive(Serialize)]
    struct Item {
        id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        missing: Option<u8>,
        customer: Inner,
        n: f64,
    }

    #[derive(Serialize)]
    struct Wrapper(Item);

    fn item() -> Item {
        Item {
            id: "o1".into(),
            missing: None,
            customer: Inner {
                tenant: "t\"1".into(),
            },
            n: 1.5,
        }
    }

    #[test]
    fn a_struct_is_written_as_serde_json_writes_it_and_its_fields_are_captured() {
        let names = ["id", "customer", "missing"];
        let (bytes, c) = to_vec_capturing(&item(), &names).unwrap();
        assert_eq!(bytes, serde_json::to_vec(&item()).unwrap());
        assert!(!c.needs_scan);
        assert_eq!(c.values[0].as_deref(), Some(&b"\"o1\""[..]));
        assert_eq!(c.values[1].as_deref(), Some(&br#"{"tenant":"t\"1"}"#[..]));
        assert_eq!(c.values[2], None);
        // Through a newtype and an Option, too.
        let (bytes, c) = to_vec_capturing(&Some(Wrapper(item())), &names).unwrap();
        assert_eq!(bytes, serde_json::to_vec(&item()).unwrap());
        assert!(!c.needs_scan && c.values[0].is_some());
    }

    #[test]
    fn maps_and_other_values_ask_for_a_scan() {
        let v = json!({"id": "o1"});
        let (bytes, c) = to_vec_capturing(&v, &["id"]).unwrap();
        assert_eq!(bytes, br#"{"id":"o1"}"#);
        assert!(c.needs_scan && c.values[0].is_none());
        let m: BTreeMap<&str, u8> = [("id", 1)].into();
        assert!(to_vec_capturing(&m, &["id"]).unwrap().1.needs_scan);
        assert!(to_vec_capturing(&[1, 2], &["id"]).unwrap().1.needs_scan);
    }
}
