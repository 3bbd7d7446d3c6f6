//! Content-derived ids of packages and receipts.
//!
//! An id is the SHA-256 of the signed bytes, so it is known to anyone holding the envelope,
//! needs no coordination to assign, and a resend of the same signed envelope has the same id.
//! It does not cover the signer: a node must check that the signer speaks for the sender
//! before it treats an id as "already seen".

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::keys::{ShortHex, decode_hex, write_hex};

/// A text that is not a 64-digit hex id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{what} is not 64 hexadecimal digits")]
pub struct ParseIdError {
    /// `"package id"` or `"receipt id"`.
    pub what: &'static str,
}

macro_rules! hash_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 32]);

        impl $name {
            /// The id with these bytes, e.g. read back from storage.
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                $name(bytes)
            }

            /// The 32 bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// The first 8 hex digits, for log fields.
            pub fn fmt_short(&self) -> impl fmt::Display + use<> {
                ShortHex::of(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.fmt_short())
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                decode_hex(s).map($name).ok_or(ParseIdError { what: $what })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hash_id!(
    /// A package's id: the SHA-256 of its signed header, which commits to the content hash.
    PackageId,
    "package id"
);

hash_id!(
    /// A receipt's id: the SHA-256 of its signed bytes.
    ReceiptId,
    "receipt id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_lowercase_hex_in_text_and_json() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0xab;
        bytes[31] = 0x01;
        let id = PackageId::from_bytes(bytes);
        let text = id.to_string();
        assert_eq!(text.len(), 64);
        assert!(text.starts_with("ab000000"));
        assert!(text.ends_with("01"));
        assert_eq!(id.fmt_short().to_string(), "ab000000");
        assert_eq!(format!("{id:?}"), "PackageId(ab000000)");
        assert_eq!(text.parse::<PackageId>(), Ok(id));
        let json = serde_json::to_string(&id).expect("serialises");
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<PackageId>(&json).ok(), Some(id));
    }

    #[test]
    fn rejects_other_text() {
        assert_eq!(
            "abc".parse::<ReceiptId>(),
            Err(ParseIdError { what: "receipt id" })
        );
        assert!(format!("{}g", "0".repeat(63)).parse::<ReceiptId>().is_err());
        assert!(serde_json::from_str::<ReceiptId>("\"00\"").is_err());
    }
}
