//! Versioned value encoding, after garage's `Migrate` (`src/util/migrate.rs`).
//!
//! Every value starts with a version marker byte, so that a future schema can still read
//! what an older one wrote, and an older binary refuses (rather than misreads) what a newer
//! one wrote:
//!
//! - **records** ([`Versioned`] types): marker, then the postcard encoding of the record.
//!   postcard is compact and not self-describing: fields are read by position, and enum
//!   variants by index. So a record's shape is frozen once released: a new shape is a new
//!   type with the next marker, whose `Previous` is the old shape and whose `migrate`
//!   converts it. Reading walks back the chain until a marker matches, then migrates
//!   forward.
//! - **blobs** (package and receipt wire bytes, fixed-width references): marker
//!   [`BLOB_V1`], then the bytes as they are. Envelopes carry their own magic and version,
//!   so wrapping them in postcard would only add a copy.
//!
//! Marker 0 is never written; it stands for "before the first version" ([`Initial`]).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::{Corruption, StoreError};
use super::keys::{self, Tree};

/// Marker of a raw blob value.
pub(super) const BLOB_V1: u8 = 1;

/// A record stored as marker ‖ postcard, with a chain of earlier shapes it migrates from.
///
/// A record's first shape uses `Previous = Initial`. To change the shape: rename the old
/// type (e.g. `OutboxEntryV1`, kept private), give the new one `VERSION` one higher and
/// `Previous = OutboxEntryV1`, and write `migrate`.
pub(super) trait Versioned: Serialize + DeserializeOwned {
    /// This shape's marker byte; each shape in a chain has a higher marker than its
    /// `Previous`.
    const VERSION: u8;
    /// The shape this one replaced.
    type Previous: Versioned;
    /// Converts a value of the previous shape.
    fn migrate(previous: Self::Previous) -> Self;
}

/// The end of every migration chain: there is no shape before the first, and no value of
/// this type exists.
#[derive(Debug)]
pub(super) enum Initial {}

impl Versioned for Initial {
    const VERSION: u8 = 0;
    type Previous = Initial;
    fn migrate(previous: Initial) -> Initial {
        previous
    }
}

impl Serialize for Initial {
    fn serialize<S: Serializer>(&self, _serializer: S) -> Result<S::Ok, S::Error> {
        match *self {}
    }
}

impl<'de> Deserialize<'de> for Initial {
    fn deserialize<D: Deserializer<'de>>(_deserializer: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(
            "no value predates the first version",
        ))
    }
}

/// `T::VERSION ‖ postcard(value)`.
pub(super) fn encode<T: Versioned>(value: &T) -> Result<Vec<u8>, postcard::Error> {
    postcard::to_extend(value, vec![T::VERSION])
}

/// Reads a value written by [`encode`] for `T` or any earlier shape in its chain.
pub(super) fn decode<T: Versioned>(bytes: &[u8]) -> Result<T, Corruption> {
    let (&marker, body) = bytes.split_first().ok_or(Corruption::Empty)?;
    decode_marked(marker, body)
}

fn decode_marked<T: Versioned>(marker: u8, body: &[u8]) -> Result<T, Corruption> {
    // Walked back past the first shape, or a marker from a newer version of the code.
    if T::VERSION == 0 || marker > T::VERSION {
        return Err(Corruption::UnknownVersion { marker });
    }
    if marker < T::VERSION {
        return decode_marked::<T::Previous>(marker, body).map(T::migrate);
    }
    let (value, rest) =
        postcard::take_from_bytes(body).map_err(|source| Corruption::Undecodable { source })?;
    if !rest.is_empty() {
        return Err(Corruption::TrailingBytes { count: rest.len() });
    }
    Ok(value)
}

/// `BLOB_V1 ‖ bytes`.
pub(super) fn encode_blob(bytes: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(1 + bytes.len());
    value.push(BLOB_V1);
    value.extend_from_slice(bytes);
    value
}

/// Checks a blob's marker; the blob's bytes start at offset 1.
pub(super) fn check_blob(value: &[u8]) -> Result<(), Corruption> {
    match value.first() {
        None => Err(Corruption::Empty),
        Some(&BLOB_V1) => Ok(()),
        Some(&marker) => Err(Corruption::UnknownVersion { marker }),
    }
}

/// Encodes a record, naming it in the error.
pub(super) fn write<T: Versioned>(what: &'static str, value: &T) -> Result<Vec<u8>, StoreError> {
    encode(value).map_err(|source| StoreError::Encode { what, source })
}

/// Decodes a record read from `tree` at `key`, with both in the error.
pub(super) fn read<T: Versioned>(tree: Tree, key: &[u8], value: &[u8]) -> Result<T, StoreError> {
    decode(value).map_err(|problem| corrupt(tree, key, problem))
}

/// A [`StoreError::Corrupt`] for `tree` and `key`.
pub(super) fn corrupt(tree: Tree, key: &[u8], problem: Corruption) -> StoreError {
    StoreError::Corrupt {
        tree: tree.name(),
        key: keys::display(key),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct ShapeOne {
        count: u32,
    }

    impl Versioned for ShapeOne {
        const VERSION: u8 = 1;
        type Previous = Initial;
        fn migrate(previous: Initial) -> Self {
            match previous {}
        }
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct ShapeTwo {
        count: u64,
        label: Option<String>,
    }

    impl Versioned for ShapeTwo {
        const VERSION: u8 = 2;
        type Previous = ShapeOne;
        fn migrate(previous: ShapeOne) -> Self {
            ShapeTwo {
                count: u64::from(previous.count),
                label: None,
            }
        }
    }

    #[test]
    fn round_trips_with_a_marker() {
        let bytes = encode(&ShapeTwo {
            count: 7,
            label: Some("x".into()),
        })
        .expect("encodes");
        assert_eq!(bytes[0], 2);
        let read: ShapeTwo = decode(&bytes).expect("decodes");
        assert_eq!(read.label.as_deref(), Some("x"));
    }

    #[test]
    fn migrates_an_older_shape() {
        let old = encode(&ShapeOne { count: 41 }).expect("encodes");
        let read: ShapeTwo = decode(&old).expect("migrates");
        assert_eq!(
            read,
            ShapeTwo {
                count: 41,
                label: None
            }
        );
    }

    #[test]
    fn refuses_a_newer_shape_and_garbage() {
        let new = encode(&ShapeTwo {
            count: 1,
            label: None,
        })
        .expect("encodes");
        assert!(matches!(
            decode::<ShapeOne>(&new),
            Err(Corruption::UnknownVersion { marker: 2 })
        ));
        assert!(matches!(decode::<ShapeOne>(&[]), Err(Corruption::Empty)));
        assert!(matches!(
            decode::<ShapeTwo>(&[0, 1]),
            Err(Corruption::UnknownVersion { marker: 0 })
        ));
        assert!(matches!(
            decode::<ShapeOne>(&[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(Corruption::Undecodable { .. })
        ));
        assert!(matches!(
            decode::<ShapeOne>(&[1, 3, 9]),
            Err(Corruption::TrailingBytes { count: 1 })
        ));
    }

    #[test]
    fn blobs_carry_a_marker() {
        let value = encode_blob(b"LTPK");
        assert_eq!(value, b"\x01LTPK");
        assert!(check_blob(&value).is_ok());
        assert!(matches!(check_blob(&[]), Err(Corruption::Empty)));
        assert!(matches!(
            check_blob(b"\x07LTPK"),
            Err(Corruption::UnknownVersion { marker: 7 })
        ));
    }
}
