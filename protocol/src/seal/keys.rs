//! An agency's X25519 encryption key: what packages held at a relay are sealed to.
//!
//! The secret is not a second key file: [`EncryptionSecret::derive`] computes it from the
//! agency's ed25519 secret with HKDF-SHA256 under its own domain ([`X25519_DERIVE_INFO`]), so
//! the two uses of one seed never meet, and rotating the agency key rotates this one too.
//! The public half, [`EncryptionKey`], is published in the roster
//! ([`AgencyRecord::encryption_key`](crate::roster::AgencyRecord::encryption_key)).
//!
//! As for signing keys (see [`keys`](crate::keys)): the secret has a redacted `Debug`, is
//! zeroized on drop, and is neither `Clone` nor `Serialize`; an [`EncryptionKey`] is checked
//! once when built (canonical encoding, not one of the small-order points that would make
//! every shared secret zero).

use std::fmt;
use std::str::FromStr;

use hkdf::Hkdf;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;
use x25519_dalek::{PublicKey as X25519Public, SharedSecret, StaticSecret};
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::keys::{AgencyKey, KeyError, ShortHex, decode_hex, write_hex};

/// Length of an X25519 key in bytes.
pub const ENCRYPTION_KEY_LEN: usize = 32;

/// HKDF `info` of the encryption secret derived from an agency's signing secret.
pub const X25519_DERIVE_INFO: &str = "lienthong/x25519/v1";

/// The u-coordinates of the points of small order on Curve25519 and its twist, in canonical
/// form (libsodium's list, less the non-canonical encodings, which are refused anyway).
/// X25519 with any of them gives the all-zero secret, whatever the scalar.
const SMALL_ORDER: [[u8; ENCRYPTION_KEY_LEN]; 5] = [
    // 0 (order 2)
    [0; 32],
    // 1 (order 4)
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    // 325606250916557431795983626356110631294008115727848805560023387167927233504 (order 8)
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ],
    // 39382357235489614581723060781553021112529911719440698176882885853963445705823 (order 8)
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
        0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
        0x11, 0x57,
    ],
    // p - 1 (order 4, on the twist)
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// Whether `bytes` is the canonical (little-endian, below 2^255 − 19) encoding of a field
/// element. X25519 itself ignores the top bit and reduces larger values, which would give one
/// key several encodings.
fn is_canonical(bytes: &[u8; ENCRYPTION_KEY_LEN]) -> bool {
    if bytes[31] & 0x80 != 0 {
        return false;
    }
    // Only values from p = 2^255 - 19 = 0x7fff…ffed up to 2^255 - 1 remain to be refused.
    let top = bytes[31] == 0x7f && bytes[1..31].iter().all(|b| *b == 0xff);
    !(top && bytes[0] >= 0xed)
}

/// An agency's X25519 public key, the one packages held at a relay are sealed to.
///
/// Always canonical and never of small order: checked once by
/// [`EncryptionKey::from_bytes`], so that sealing to it always gives a secret only the
/// agency can compute.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EncryptionKey([u8; ENCRYPTION_KEY_LEN]);

impl EncryptionKey {
    /// The key with these bytes.
    ///
    /// # Errors
    /// [`KeyError::InvalidPoint`] when the bytes are not a canonical field element (top bit
    /// set, or at least 2^255 − 19), [`KeyError::WeakKey`] when the point has small order.
    pub fn from_bytes(bytes: &[u8; ENCRYPTION_KEY_LEN]) -> Result<Self, KeyError> {
        if !is_canonical(bytes) {
            return Err(KeyError::InvalidPoint);
        }
        if SMALL_ORDER.contains(bytes) {
            return Err(KeyError::WeakKey);
        }
        Ok(EncryptionKey(*bytes))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; ENCRYPTION_KEY_LEN] {
        &self.0
    }

    /// The first 8 hex digits, for log fields.
    pub fn fmt_short(&self) -> impl fmt::Display + use<> {
        ShortHex::of(&self.0)
    }

    pub(super) fn to_x25519(self) -> X25519Public {
        X25519Public::from(self.0)
    }
}

impl fmt::Display for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionKey({})", self.fmt_short())
    }
}

impl FromStr for EncryptionKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = decode_hex::<ENCRYPTION_KEY_LEN>(s).ok_or(KeyError::NotHex {
            what: "encryption key",
            digits: 2 * ENCRYPTION_KEY_LEN,
        })?;
        EncryptionKey::from_bytes(&bytes)
    }
}

impl Serialize for EncryptionKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EncryptionKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An agency's X25519 secret, derived from its signing key; opens what is sealed to
/// [`EncryptionSecret::public`].
///
/// Redacted `Debug` (the public key only), wiped on drop, no `Clone`, no `Serialize`: derive
/// it again from the [`AgencyKey`] where it is needed.
pub struct EncryptionSecret {
    /// `StaticSecret` zeroizes itself on drop.
    secret: StaticSecret,
    public: EncryptionKey,
}

// The secret wipes itself on drop; the public key is public.
impl ZeroizeOnDrop for EncryptionSecret {}

impl EncryptionSecret {
    /// The encryption secret of `agency`: HKDF-SHA256 with no salt, the 32-byte ed25519
    /// secret as input keying material and [`X25519_DERIVE_INFO`] as info, taken as an X25519
    /// scalar (clamped by X25519).
    ///
    /// Deterministic, so a node needs no second key file; a rotated agency key gives a new
    /// encryption key. The ed25519 scalar is SHA-512 of the same seed, so the two keys are
    /// independent.
    pub fn derive(agency: &AgencyKey) -> EncryptionSecret {
        let seed = agency.to_bytes();
        let okm = hkdf_sha256(None, seed.as_ref(), X25519_DERIVE_INFO.as_bytes());
        let secret = StaticSecret::from(*okm);
        let public = EncryptionKey(X25519Public::from(&secret).to_bytes());
        EncryptionSecret { secret, public }
    }

    /// The public key to publish in the roster.
    pub fn public(&self) -> EncryptionKey {
        self.public
    }

    /// X25519 of this secret and `theirs`.
    pub(super) fn agree(&self, theirs: &EncryptionKey) -> SharedSecret {
        self.secret.diffie_hellman(&theirs.to_x25519())
    }
}

impl fmt::Debug for EncryptionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionSecret({})", self.public.fmt_short())
    }
}

/// 32 bytes of HKDF-SHA256 output, wiped when dropped.
pub(super) fn hkdf_sha256(salt: Option<&[u8]>, ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let hkdf = Hkdf::<Sha256>::new(salt, ikm);
    let mut okm = Zeroizing::new([0u8; 32]);
    // HKDF-SHA256 refuses only outputs longer than 255 × 32 bytes.
    #[allow(clippy::unreachable)]
    if hkdf.expand(info, okm.as_mut()).is_err() {
        unreachable!("HKDF-SHA256 expands to 32 bytes");
    }
    okm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_is_deterministic_and_differs_per_agency() {
        let a = AgencyKey::from_bytes(&[1; 32]);
        let b = AgencyKey::from_bytes(&[2; 32]);
        let first = EncryptionSecret::derive(&a);
        assert_eq!(first.public(), EncryptionSecret::derive(&a).public());
        assert_ne!(first.public(), EncryptionSecret::derive(&b).public());
        // Not the ed25519 key, nor its bytes reused.
        assert_ne!(first.public().as_bytes(), a.public_key().as_bytes());
        assert_eq!(
            EncryptionKey::from_bytes(first.public().as_bytes()),
            Ok(first.public())
        );
    }

    #[test]
    fn both_sides_agree() {
        let a = EncryptionSecret::derive(&AgencyKey::from_bytes(&[3; 32]));
        let b = EncryptionSecret::derive(&AgencyKey::from_bytes(&[4; 32]));
        assert_eq!(
            a.agree(&b.public()).as_bytes(),
            b.agree(&a.public()).as_bytes()
        );
    }

    #[test]
    fn small_order_points_are_refused_and_really_are_small_order() {
        // A clamped scalar is a multiple of 8, so it sends every small-order point to zero.
        let scalar = [0x5a; 32];
        for point in SMALL_ORDER {
            assert_eq!(x25519_dalek::x25519(scalar, point), [0; 32], "{point:02x?}");
            assert_eq!(EncryptionKey::from_bytes(&point), Err(KeyError::WeakKey));
        }
        let fine = EncryptionSecret::derive(&AgencyKey::from_bytes(&[5; 32])).public();
        assert_ne!(x25519_dalek::x25519(scalar, *fine.as_bytes()), [0; 32]);
    }

    #[test]
    fn non_canonical_encodings_are_refused() {
        let mut p = [0xff; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        // p itself, p + 1 (both reduce to small-order points) and 2^255 - 1.
        for low in [0xed, 0xee, 0xff] {
            p[0] = low;
            assert_eq!(EncryptionKey::from_bytes(&p), Err(KeyError::InvalidPoint));
        }
        let mut high_bit = *EncryptionSecret::derive(&AgencyKey::from_bytes(&[6; 32]))
            .public()
            .as_bytes();
        high_bit[31] |= 0x80;
        assert_eq!(
            EncryptionKey::from_bytes(&high_bit),
            Err(KeyError::InvalidPoint)
        );
        // p - 20 is canonical (and of large order).
        p[0] = 0xd9;
        assert!(EncryptionKey::from_bytes(&p).is_ok());
    }

    #[test]
    fn text_and_serde_round_trip() {
        let key = EncryptionSecret::derive(&AgencyKey::from_bytes(&[7; 32])).public();
        let text = key.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text.parse::<EncryptionKey>(), Ok(key));
        assert_eq!(key.fmt_short().to_string(), text[..8]);
        let json = serde_json::to_string(&key).expect("serialises");
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(
            serde_json::from_str::<EncryptionKey>(&json).expect("reads back"),
            key
        );
        assert_eq!(
            "zz".parse::<EncryptionKey>(),
            Err(KeyError::NotHex {
                what: "encryption key",
                digits: 64
            })
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = EncryptionSecret::derive(&AgencyKey::from_bytes(&[8; 32]));
        let debug = format!("{secret:?}");
        assert_eq!(
            debug,
            format!("EncryptionSecret({})", &secret.public().to_string()[..8])
        );
        let bytes = hex::encode(secret.secret.as_bytes());
        assert!(!debug.contains(&bytes[..8]));
    }
}
