//! Why a sealed package or a hold acknowledgement was refused, or could not be made or
//! opened, precisely enough to find the byte that is wrong.

use std::fmt;

use crate::envelope::{EnvelopeError, FieldProblem};
use crate::keys::KeyError;
use crate::organ_id::OrganId;

/// Why a [`SealedPackage`](super::SealedPackage) or [`SignedHold`](super::SignedHold) could
/// not be made, read or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The input does not start with the magic of what is being read (`LTSP`, `LTHD`).
    #[error("not a {what}: the input does not start with {:?}", what.magic_str())]
    BadMagic {
        /// What was being read.
        what: SealKind,
    },
    /// The version byte is one this code does not read.
    #[error(
        "{what} wire version {found} is not supported (only version {})",
        crate::envelope::WIRE_VERSION
    )]
    UnsupportedVersion {
        /// What was being read.
        what: SealKind,
        /// The version byte found.
        found: u8,
    },
    /// The input ends before a field it declares.
    #[error("{section} truncated at byte {offset} while reading {field}")]
    Truncated {
        /// Which byte string ended early.
        section: SealSection,
        /// Its length: where it ended, counted from its start.
        offset: usize,
        /// The field being read.
        field: SealField,
    },
    /// A size is over its limit (derived from the
    /// [`EnvelopeLimits`](crate::EnvelopeLimits), or fixed by the format).
    #[error("{limit} is {found}, more than the limit of {max}")]
    TooLarge {
        /// Which size.
        limit: SealLimit,
        /// The size found.
        found: u64,
        /// The limit it exceeds.
        max: u64,
    },
    /// The signer field is not a usable ed25519 public key.
    #[error("{what} signer is not a usable public key")]
    InvalidSigner {
        /// What was being read.
        what: SealKind,
        /// Why the key was refused.
        #[source]
        source: KeyError,
    },
    /// The signature was not made by the signer's key over the signed bytes.
    #[error("{what} signature does not verify")]
    BadSignature {
        /// What was being read.
        what: SealKind,
    },
    /// The signature verifies, but over bytes signed for another purpose.
    #[error("{what} was signed for another purpose: its domain is not {expected:?}")]
    WrongDomain {
        /// What was being read.
        what: SealKind,
        /// The domain it should have.
        expected: &'static str,
    },
    /// The ciphertext is not as long as the signed header says.
    #[error("sealed package ciphertext is {actual} bytes but its header says {declared}")]
    CiphertextLengthMismatch {
        /// Length in the header.
        declared: u64,
        /// Length of the ciphertext received.
        actual: u64,
    },
    /// The ciphertext is too short to hold even the authentication tag and one byte.
    #[error("sealed package ciphertext is {found} bytes, too short to hold a package")]
    CiphertextTooShort {
        /// Its length.
        found: u64,
    },
    /// The ciphertext's SHA-256 differs from the one in the signed header.
    #[error("sealed package ciphertext does not match the sha-256 in its header")]
    CiphertextHashMismatch,
    /// A field was read but its value is not acceptable.
    #[error("{section} has an invalid {field} at byte {offset}")]
    InvalidField {
        /// Where the field is.
        section: SealSection,
        /// The field.
        field: SealField,
        /// Where the field's value starts, counted from the start of `section`.
        offset: usize,
        /// What is wrong with it.
        #[source]
        problem: FieldProblem,
    },
    /// The ephemeral X25519 key in a sealed header is not a canonical encoding, or is a
    /// small-order point that would make the shared secret public.
    #[error("sealed header has an unusable ephemeral key at byte {offset}")]
    InvalidEphemeral {
        /// Where the key starts in the sealed header.
        offset: usize,
        /// Why it was refused.
        #[source]
        source: KeyError,
    },
    /// Bytes remain after the last field.
    #[error("{section} has {count} unexpected bytes after its last field")]
    TrailingBytes {
        /// Where.
        section: SealSection,
        /// How many bytes are left over.
        count: usize,
    },
    /// Sealing: the key given as the sender's did not sign the package.
    #[error("the package was not signed by the sealing key")]
    NotTheSigner,
    /// Sealing: the package is not addressed to the agency it is being sealed for.
    #[error("{recipient} is not among the package's recipients")]
    NotARecipient {
        /// The agency the package was to be sealed for.
        recipient: OrganId,
    },
    /// Sealing: the operating system could not provide the ephemeral key.
    #[error("could not read randomness from the operating system")]
    Randomness {
        /// What the OS said.
        #[source]
        source: getrandom::Error,
    },
    /// The key agreement gave the all-zero secret: one side's key has small order.
    #[error("key agreement with {side} key is not contributory")]
    NonContributory {
        /// `"the recipient's"` when sealing, `"the ephemeral"` when opening.
        side: &'static str,
    },
    /// Opening: the ciphertext does not decrypt under this secret: it was sealed to another
    /// key, or it (or its header) was altered after sealing.
    #[error("sealed package does not decrypt with this key")]
    Decrypt,
    /// Opening: the decrypted bytes are not a valid signed package.
    #[error("the package inside the seal does not verify")]
    Inner(#[source] EnvelopeError),
    /// Opening: the package inside differs from what the outer header says about it, so the
    /// header was not made for it (a re-wrapped package).
    #[error("the package inside has a different {field} than its sealed header")]
    Mismatch {
        /// The field that differs: package id, sender, creation time or signer.
        field: SealField,
    },
    /// Opening: the outer header names a recipient the package inside is not addressed to.
    #[error("the sealed header's recipient {recipient} is not among the package's recipients")]
    RecipientNotInPackage {
        /// The recipient in the outer header.
        recipient: OrganId,
    },
}

/// What a [`SealError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SealKind {
    /// A [`SealedPackage`](super::SealedPackage).
    Sealed,
    /// A [`SignedHold`](super::SignedHold).
    Hold,
}

impl SealKind {
    fn magic_str(self) -> &'static str {
        match self {
            SealKind::Sealed => "LTSP",
            SealKind::Hold => "LTHD",
        }
    }
}

impl fmt::Display for SealKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SealKind::Sealed => "sealed package",
            SealKind::Hold => "hold acknowledgement",
        })
    }
}

/// A byte string an offset in a [`SealError`] counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SealSection {
    /// A sealed package's whole wire encoding.
    SealedWire,
    /// A sealed package's signed header.
    SealedHeader,
    /// A hold acknowledgement's whole wire encoding.
    HoldWire,
    /// A hold acknowledgement's signed body.
    HoldBody,
}

impl fmt::Display for SealSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SealSection::SealedWire => "sealed package",
            SealSection::SealedHeader => "sealed header",
            SealSection::HoldWire => "hold acknowledgement",
            SealSection::HoldBody => "hold body",
        })
    }
}

/// A field of the sealed or hold wire encoding, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SealField {
    /// The four magic bytes.
    Magic,
    /// The wire version byte.
    Version,
    /// The signer's public key.
    Signer,
    /// The signature.
    Signature,
    /// The length of the signed bytes.
    SignedLength,
    /// The signed bytes as a whole.
    SignedBytes,
    /// The signing domain.
    Domain,
    /// The id of the package sealed or held.
    PackageId,
    /// The package's sender.
    Sender,
    /// The recipient the package is sealed or held for.
    Recipient,
    /// When the package was made.
    CreatedAt,
    /// The sender's ephemeral X25519 key.
    Ephemeral,
    /// The ciphertext's length, in the header.
    CiphertextLength,
    /// The ciphertext's SHA-256, in the header.
    CiphertextSha256,
    /// The relay holding a package.
    Relay,
    /// Since when the relay holds it.
    HeldAt,
}

impl fmt::Display for SealField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SealField::Magic => "magic",
            SealField::Version => "version",
            SealField::Signer => "signer",
            SealField::Signature => "signature",
            SealField::SignedLength => "signed length",
            SealField::SignedBytes => "signed bytes",
            SealField::Domain => "domain",
            SealField::PackageId => "package id",
            SealField::Sender => "sender",
            SealField::Recipient => "recipient",
            SealField::CreatedAt => "creation time",
            SealField::Ephemeral => "ephemeral key",
            SealField::CiphertextLength => "ciphertext length",
            SealField::CiphertextSha256 => "ciphertext sha-256",
            SealField::Relay => "relay",
            SealField::HeldAt => "hold time",
        })
    }
}

/// Which size was over its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SealLimit {
    /// A sealed package's signed header, in bytes.
    SealedHeader,
    /// A sealed package's ciphertext, in bytes (the largest package wire plus the tag).
    Ciphertext,
    /// The package being sealed, in bytes of its wire encoding.
    Package,
    /// A hold acknowledgement's signed body, in bytes.
    HoldBody,
}

impl fmt::Display for SealLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SealLimit::SealedHeader => "sealed header length in bytes",
            SealLimit::Ciphertext => "sealed ciphertext length in bytes",
            SealLimit::Package => "package wire length in bytes",
            SealLimit::HoldBody => "hold body length in bytes",
        })
    }
}
