//! Sealed packages and relay mailboxes: what a provincial relay holds for an agency it can
//! reach and the sender cannot, without being able to read it.
//!
//! - [`EncryptionKey`] / [`EncryptionSecret`]: an agency's X25519 key pair, derived from its
//!   signing key and published in the roster.
//! - [`SealedPackage`]: a [`SignedPackage`](crate::SignedPackage) encrypted to one recipient,
//!   under an outer header the sender signs. A relay verifies the header and the ciphertext's
//!   hash, learns who sends what to whom and when (it must, to route), and nothing of the
//!   content; only the recipient can [`open`](SealedPackage::open) it.
//! - [`SignedHold`]: the relay's signed "I hold package P for recipient R since T". It is
//!   not a receipt: nothing in it comes from the recipient, and the package stays undelivered
//!   until the recipient's own receipt 01 comes back.
//!
//! # Construction
//!
//! Sealing is ECIES over X25519: a fresh ephemeral secret `e` (32 bytes from `getrandom`),
//! `shared = X25519(e, recipient key)`, AEAD key `= HKDF-SHA256(ikm = shared, salt =
//! ephemeral public ‖ recipient key, info = "lienthong/seal/v1")`, and ChaCha20-Poly1305 with
//! a zero nonce (each key seals exactly one message). The plaintext is the inner package's
//! exact wire bytes. The associated data is the signed outer header up to and including the
//! ephemeral key, i.e. everything but the ciphertext's length and SHA-256, which are
//! functions of the ciphertext itself and follow it in the header.
//!
//! # Wire forms
//!
//! Both start like the envelopes: `magic (4) ‖ version (1) ‖ signer (32) ‖ signature (64) ‖
//! signed length (u32 BE) ‖ signed bytes`; a sealed package then has its ciphertext to the
//! end. Signed bytes use the envelopes' encoding (u32-prefixed text, big-endian integers):
//!
//! - sealed header: `"lienthong/sealed/v1" ‖ package id (32) ‖ sender ‖ recipient ‖
//!   created at (u64 ms) ‖ ephemeral (32) ‖ ciphertext length (u64) ‖ ciphertext sha-256 (32)`;
//! - hold body: `"lienthong/held/v1" ‖ package id (32) ‖ sender ‖ recipient ‖ relay ‖
//!   held at (u64 ms)`.

mod encoding;
mod error;
mod hold;
mod keys;
mod sealed;

pub use error::{SealError, SealField, SealKind, SealLimit, SealSection};
pub use hold::{HoldFields, SignedHold};
pub use keys::{ENCRYPTION_KEY_LEN, EncryptionKey, EncryptionSecret, X25519_DERIVE_INFO};
pub use sealed::{SealedFields, SealedPackage};

use crate::organ_id::MAX_ORGAN_ID_LEN;

/// Signing domain of sealed package headers.
pub const SEALED_DOMAIN: &str = "lienthong/sealed/v1";
/// Signing domain of hold acknowledgements.
pub const HOLD_DOMAIN: &str = "lienthong/held/v1";
/// HKDF `info` of the AEAD key of a sealed package.
pub const SEAL_KDF_INFO: &str = "lienthong/seal/v1";
/// First four bytes of a sealed package's wire encoding.
pub const SEALED_MAGIC: &[u8; 4] = b"LTSP";
/// First four bytes of a hold acknowledgement's wire encoding.
pub const HOLD_MAGIC: &[u8; 4] = b"LTHD";
/// Bytes the AEAD adds to the plaintext (the Poly1305 tag).
pub const TAG_LEN: usize = 16;

/// Bytes of one agency id field: length prefix and the longest id.
const ORGAN_ID_FIELD: usize = encoding::FIELD_PREFIX_LEN + MAX_ORGAN_ID_LEN;

/// Bytes of the two ciphertext fields that end a sealed header.
const CIPHERTEXT_FIELDS_LEN: usize = 8 + 32;

/// Longest signed sealed header: every field is fixed or an agency id.
pub const MAX_SEALED_HEADER_LEN: usize = encoding::FIELD_PREFIX_LEN
    + SEALED_DOMAIN.len()
    + 32 // package id
    + 2 * ORGAN_ID_FIELD // sender, recipient
    + 8 // created at
    + ENCRYPTION_KEY_LEN // ephemeral
    + CIPHERTEXT_FIELDS_LEN;

/// Longest signed hold body.
pub const MAX_HOLD_BODY_LEN: usize = encoding::FIELD_PREFIX_LEN
    + HOLD_DOMAIN.len()
    + 32 // package id
    + 3 * ORGAN_ID_FIELD // sender, recipient, relay
    + 8; // held at

/// Longest hold acknowledgement wire encoding.
pub const MAX_HOLD_LEN: usize = encoding::PREFIX_LEN + MAX_HOLD_BODY_LEN;
