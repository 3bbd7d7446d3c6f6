//! Agency keys: the ed25519 signing key an agency holds, the public key others check its
//! signatures with, and the signatures themselves.
//!
//! These are thin newtypes over `ed25519_dalek` so that the rest of the workspace never names
//! it, and so that three rules hold everywhere by construction:
//!
//! - the secret has a redacted `Debug`, is zeroized on drop and is not `Serialize`, so it
//!   cannot reach a log line or a JSON answer by accident;
//! - a [`PublicKey`] is always a valid, non-weak curve point, checked once when it is built;
//! - verification is always `verify_strict`: the lax check accepts some signatures that
//!   more than one byte string satisfies, which would give one package several valid wire
//!   forms. [`verify_batch`] checks many at once with exactly the same outcome.
//!
//! Keys name *crypto*; the agency they belong to is an [`OrganId`](crate::OrganId), and which
//! keys speak for which agency is the roster's business, not this module's.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{ZeroizeOnDrop, Zeroizing};

mod batch;

pub use batch::verify_batch;

/// Length of an agency's secret key (the ed25519 seed) in bytes.
pub const SECRET_KEY_LEN: usize = 32;
/// Length of a public key in bytes.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of a signature in bytes.
pub const SIGNATURE_LEN: usize = 64;

/// Why bytes or text are not a key or a signature, or a key could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not the expected number of hexadecimal digits. The text itself is not
    /// repeated, because for a key file it is the secret.
    #[error("{what} is not {digits} hexadecimal digits")]
    NotHex {
        /// What was being parsed: `"secret key"`, `"public key"` or `"signature"`.
        what: &'static str,
        /// How many digits were expected.
        digits: usize,
    },
    /// The 32 bytes do not decode to a point on the curve.
    #[error("public key is not a point on the curve")]
    InvalidPoint,
    /// The point has small order: signatures under it say nothing about who made them.
    #[error("public key is a weak (small-order) point")]
    WeakKey,
    /// The operating system could not provide randomness for a new key.
    #[error("could not read randomness from the operating system")]
    Randomness {
        /// What the OS said.
        #[source]
        source: getrandom::Error,
    },
}

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The signature was not made by this key over these bytes, or is not in canonical form.
    #[error("signature does not verify")]
    BadSignature,
}

/// An agency's secret signing key.
///
/// Whoever holds it speaks for the agency, so it is deliberately awkward to leak: `Debug`
/// shows only the public key, the bytes are wiped on drop, there is no `Serialize` and no
/// `Clone` (share it behind an `Arc`), and [`AgencyKey::to_bytes`] / [`AgencyKey::to_text`]
/// hand the secret back in [`Zeroizing`] wrappers.
pub struct AgencyKey {
    /// `SigningKey` zeroizes its secret scalar and seed in its own `Drop`.
    key: SigningKey,
}

// The only field wipes itself on drop.
impl ZeroizeOnDrop for AgencyKey {}

impl AgencyKey {
    /// A new key from the operating system's randomness.
    ///
    /// The 32-byte seed is read with `getrandom` and fed to `SigningKey::from_bytes`, so that
    /// we do not tie ourselves to whichever `rand_core` version ed25519-dalek uses.
    ///
    /// # Errors
    /// [`KeyError::Randomness`] when the OS cannot provide randomness.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = Zeroizing::new([0u8; SECRET_KEY_LEN]);
        getrandom::fill(seed.as_mut()).map_err(|source| KeyError::Randomness { source })?;
        Ok(Self::from_bytes(&seed))
    }

    /// The key with this secret (seed). Every 32-byte string is a valid secret.
    pub fn from_bytes(secret: &[u8; SECRET_KEY_LEN]) -> Self {
        AgencyKey {
            key: SigningKey::from_bytes(secret),
        }
    }

    /// The secret, for writing to a key file; wiped when the wrapper is dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; SECRET_KEY_LEN]> {
        Zeroizing::new(self.key.to_bytes())
    }

    /// The public half, to publish in the roster and to put in envelopes.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.key.verifying_key())
    }

    /// Signs `msg` as it is. Callers sign domain-separated bytes (see
    /// [`envelope`](crate::envelope)), never bare payloads.
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.key.sign(msg).to_bytes())
    }

    /// The key file contents: the 32 secret bytes as 64 lowercase hex digits and a newline.
    pub fn to_text(&self) -> Zeroizing<String> {
        let secret = self.to_bytes();
        let mut text = Zeroizing::new(String::with_capacity(2 * SECRET_KEY_LEN + 1));
        for byte in secret.iter() {
            text.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            text.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
        }
        text.push('\n');
        text
    }

    /// Reads a key file's contents: 64 hex digits, surrounding whitespace ignored (editors
    /// add newlines).
    ///
    /// # Errors
    /// [`KeyError::NotHex`] when the text is anything else; the error does not repeat it.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let mut secret = Zeroizing::new([0u8; SECRET_KEY_LEN]);
        hex::decode_to_slice(text.trim(), secret.as_mut()).map_err(|_| KeyError::NotHex {
            what: "secret key",
            digits: 2 * SECRET_KEY_LEN,
        })?;
        Ok(Self::from_bytes(&secret))
    }
}

impl fmt::Debug for AgencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgencyKey({})", self.public_key().fmt_short())
    }
}

/// An agency's public key: a valid, non-weak ed25519 point.
///
/// Equality, order and hashing are on the 32 encoded bytes, which is how the roster and the
/// envelopes carry it. The decompressed point is kept alongside so that checking many
/// signatures under one key does not decompress it each time.
#[derive(Clone, Copy)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The key with these bytes.
    ///
    /// # Errors
    /// [`KeyError::InvalidPoint`] when the bytes are not a curve point, [`KeyError::WeakKey`]
    /// when the point has small order.
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_LEN]) -> Result<Self, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::InvalidPoint)?;
        if key.is_weak() {
            return Err(KeyError::WeakKey);
        }
        Ok(PublicKey(key))
    }

    /// The 32 encoded bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        self.0.as_bytes()
    }

    /// Checks that `signature` was made over `msg` with the matching secret key, using
    /// `verify_strict` (canonical `s`, no small-order `R`).
    ///
    /// # Errors
    /// [`VerifyError::BadSignature`] when it was not.
    pub fn verify(&self, msg: &[u8], signature: &Signature) -> Result<(), VerifyError> {
        let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0
            .verify_strict(msg, &signature)
            .map_err(|_| VerifyError::BadSignature)
    }

    /// The first 8 hex digits, for log fields (`key = %key.fmt_short()`).
    pub fn fmt_short(&self) -> impl fmt::Display + use<> {
        ShortHex::of(self.as_bytes())
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for PublicKey {}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, self.as_bytes())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fmt_short())
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = decode_hex::<PUBLIC_KEY_LEN>(s).ok_or(KeyError::NotHex {
            what: "public key",
            digits: 2 * PUBLIC_KEY_LEN,
        })?;
        PublicKey::from_bytes(&bytes)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An ed25519 signature, kept as its 64 bytes. Whether it is well formed is only decided
/// when it is verified.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; SIGNATURE_LEN]);

impl Signature {
    /// The signature with these bytes (not checked until verified).
    pub fn from_bytes(bytes: &[u8; SIGNATURE_LEN]) -> Self {
        Signature(*bytes)
    }

    /// The 64 bytes.
    pub fn as_bytes(&self) -> &[u8; SIGNATURE_LEN] {
        &self.0
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", ShortHex::of(&self.0))
    }
}

impl FromStr for Signature {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decode_hex::<SIGNATURE_LEN>(s)
            .map(Signature)
            .ok_or(KeyError::NotHex {
                what: "signature",
                digits: 2 * SIGNATURE_LEN,
            })
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Writes `bytes` as lowercase hex without allocating.
pub(crate) fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    use fmt::Write as _;
    for byte in bytes {
        f.write_char(char::from(HEX_DIGITS[usize::from(byte >> 4)]))?;
        f.write_char(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]))?;
    }
    Ok(())
}

/// Exactly `2 * N` hex digits (either case) as `N` bytes; `None` for anything else.
pub(crate) fn decode_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// The first four bytes of a key or hash, shown as 8 hex digits in logs.
#[derive(Clone, Copy)]
pub(crate) struct ShortHex([u8; 4]);

impl ShortHex {
    pub(crate) fn of(bytes: &[u8]) -> Self {
        let mut short = [0u8; 4];
        for (to, from) in short.iter_mut().zip(bytes) {
            *to = *from;
        }
        ShortHex(short)
    }
}

impl fmt::Display for ShortHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> AgencyKey {
        AgencyKey::from_bytes(&[seed; SECRET_KEY_LEN])
    }

    #[test]
    fn signs_and_verifies() {
        let key = key(7);
        let signature = key.sign(b"edxml bytes");
        assert_eq!(key.public_key().verify(b"edxml bytes", &signature), Ok(()));
        assert_eq!(
            key.public_key().verify(b"edxml bytez", &signature),
            Err(VerifyError::BadSignature)
        );
        let other = AgencyKey::generate().expect("os randomness");
        assert_ne!(other.public_key(), key.public_key());
        assert_eq!(
            other.public_key().verify(b"edxml bytes", &signature),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn key_file_text_round_trips_and_tolerates_whitespace() {
        let key = key(0xab);
        let text = key.to_text();
        assert_eq!(text.len(), 65);
        assert!(text.ends_with('\n'));
        assert_eq!(&text[..8], "abababab");
        let back =
            AgencyKey::from_text(&format!("  {}\r\n", text.as_str())).expect("own text reads back");
        assert_eq!(*back.to_bytes(), *key.to_bytes());
    }

    #[test]
    fn bad_key_file_text_does_not_echo_the_secret() {
        let almost = format!("{}zz", "ab".repeat(31));
        let err = AgencyKey::from_text(&almost).expect_err("not hex");
        assert_eq!(
            err,
            KeyError::NotHex {
                what: "secret key",
                digits: 64
            }
        );
        assert!(!err.to_string().contains("abab"));
        assert!(AgencyKey::from_text(&"ab".repeat(33)).is_err());
        assert!(AgencyKey::from_text("").is_err());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = key(0x11);
        let debug = format!("{key:?}");
        assert_eq!(
            debug,
            format!("AgencyKey({})", &key.public_key().to_string()[..8])
        );
        assert!(!debug.contains("1111"));
    }

    #[test]
    fn public_key_text_round_trips() {
        let public = key(3).public_key();
        let text = public.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text, text.to_lowercase());
        assert_eq!(text.parse::<PublicKey>(), Ok(public));
        assert_eq!(public.fmt_short().to_string(), text[..8]);
        let json = serde_json::to_string(&public).expect("serialises");
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(
            serde_json::from_str::<PublicKey>(&json).expect("reads back"),
            public
        );
        assert!(matches!(
            text[..63].parse::<PublicKey>(),
            Err(KeyError::NotHex { .. })
        ));
    }

    #[test]
    fn rejects_weak_keys() {
        // The identity point (y = 1) and the point of order 2 (y = -1) have small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_bytes(&identity), Err(KeyError::WeakKey));
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        assert_eq!(PublicKey::from_bytes(&minus_one), Err(KeyError::WeakKey));
    }

    #[test]
    fn rejects_bytes_that_are_not_a_point() {
        // About half of all y coordinates have no x on the curve; y = 2 is one of them.
        let mut y2 = [0u8; 32];
        y2[0] = 2;
        assert_eq!(PublicKey::from_bytes(&y2), Err(KeyError::InvalidPoint));
    }

    #[test]
    fn signature_text_round_trips() {
        let signature = key(9).sign(b"x");
        let text = signature.to_string();
        assert_eq!(text.len(), 128);
        assert_eq!(text.parse::<Signature>(), Ok(signature));
        let json = serde_json::to_string(&signature).expect("serialises");
        assert_eq!(
            serde_json::from_str::<Signature>(&json).expect("reads back"),
            signature
        );
        assert!("00".parse::<Signature>().is_err());
    }

    #[test]
    fn rejects_non_canonical_signatures() {
        // s + l, where l is the group order, stands for the same scalar; accepting it would
        // give one signed package a second valid wire form.
        let key = key(5);
        let signature = key.sign(b"m");
        let mut bytes = *signature.as_bytes();
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (s, l) in bytes[32..].iter_mut().zip(L) {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
        let malleated = Signature::from_bytes(&bytes);
        assert_eq!(
            key.public_key().verify(b"m", &malleated),
            Err(VerifyError::BadSignature)
        );
    }
}
