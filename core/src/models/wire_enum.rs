//! String enums of the container model: known values plus a catch-all, read in any case.
//!
//! The service adds values over time (vector index types, data types) and has written some in
//! more than one case (the .NET SDK's `IndexingPolicy` writes `IndexingMode` with
//! `StringEnumConverter`, giving `"Consistent"`, while the service and the other SDKs write
//! `"consistent"`; the .NET `Documents` reader parses it with `ignoreCase: true`). A container
//! read must never fail on such a value: container reads feed partition routing and a
//! read-modify-replace must not lose a setting. So every enum here reads its known values in any
//! ASCII case, keeps an unknown value verbatim in `Other`, and writes the canonical spelling.

/// Declares a wire enum: the listed variants with their canonical wire spelling, plus
/// `Other(String)`, with `as_str`, `from_wire`, `Display`, `Serialize` and `Deserialize`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of Sextant does not know, kept exactly as the service sent
            /// it, so a read-modify-replace sends it back unchanged.
            Other(String),
        }

        impl $name {
            /// The value as written on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Other(value) => value,
                }
            }

            /// Reads a wire value, ignoring ASCII case; an unknown value becomes `Other`.
            pub fn from_wire(value: &str) -> Self {
                $(
                    if value.eq_ignore_ascii_case($wire) {
                        return $name::$variant;
                    }
                )+
                $name::Other(value.to_owned())
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                Ok($name::from_wire(&value))
            }
        }
    };
}

pub(crate) use wire_enum;
