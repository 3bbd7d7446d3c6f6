//! Why an envelope was refused, precisely enough that the operator of the sending node can
//! find the byte that is wrong.

use std::fmt;

use crate::edxml::UnknownStatusCode;
use crate::keys::KeyError;
use crate::organ_id::{OrganId, OrganIdError};

/// Why a package or receipt could not be signed or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The input does not start with the magic of the envelope being read (`LTPK`, `LTRC`).
    #[error("not a {envelope}: the input does not start with {:?}", envelope.magic_str())]
    BadMagic {
        /// What was being read.
        envelope: EnvelopeKind,
    },
    /// The version byte is one this code does not read.
    #[error(
        "{envelope} wire version {found} is not supported (only version {})",
        super::WIRE_VERSION
    )]
    UnsupportedVersion {
        /// What was being read.
        envelope: EnvelopeKind,
        /// The version byte found.
        found: u8,
    },
    /// The input ends before a field it declares.
    #[error("{section} truncated at byte {offset} while reading {field}")]
    Truncated {
        /// Which byte string ended early.
        section: Section,
        /// Its length: where it ended, counted from its start.
        offset: usize,
        /// The field being read.
        field: Field,
    },
    /// A size is over one of the [`EnvelopeLimits`](super::EnvelopeLimits) (or over what the
    /// wire format can carry).
    #[error("{limit} is {found}, more than the limit of {max}")]
    TooLarge {
        /// Which size.
        limit: Limit,
        /// The size found.
        found: u64,
        /// The limit it exceeds.
        max: u64,
    },
    /// The signer field is not a usable public key (not a curve point, or a weak one).
    #[error("{envelope} signer is not a usable public key")]
    InvalidSigner {
        /// What was being read.
        envelope: EnvelopeKind,
        /// Why the key was refused.
        #[source]
        source: KeyError,
    },
    /// The signature was not made by the signer's key over the signed bytes.
    #[error("{envelope} signature does not verify")]
    BadSignature {
        /// What was being read.
        envelope: EnvelopeKind,
    },
    /// The signature verifies, but over bytes signed for another purpose (e.g. a package
    /// header presented as a receipt).
    #[error("{envelope} was signed for another purpose: its domain is not {expected:?}")]
    WrongDomain {
        /// What was being read.
        envelope: EnvelopeKind,
        /// The domain it should have.
        expected: &'static str,
    },
    /// The content is not as long as the signed header says.
    #[error("package content is {actual} bytes but its header says {declared}")]
    ContentLengthMismatch {
        /// Length in the header.
        declared: u64,
        /// Length of the content received.
        actual: u64,
    },
    /// The content's SHA-256 differs from the one in the signed header.
    #[error("package content does not match the sha-256 in its header")]
    ContentHashMismatch,
    /// A field was read but its value is not acceptable.
    #[error("{section} has an invalid {field} at byte {offset}")]
    InvalidField {
        /// Where the field is.
        section: Section,
        /// The field.
        field: Field,
        /// Where the field's value starts, counted from the start of `section`.
        offset: usize,
        /// What is wrong with it.
        #[source]
        problem: FieldProblem,
    },
    /// An agency appears twice among a package's recipients.
    #[error("recipient {recipient} is listed twice")]
    DuplicateRecipient {
        /// The repeated agency.
        recipient: OrganId,
    },
    /// A package has no recipients.
    #[error("package has no recipients")]
    NoRecipients,
    /// Bytes remain after the last field.
    #[error("{section} has {count} unexpected bytes after its last field")]
    TrailingBytes {
        /// Where.
        section: Section,
        /// How many bytes are left over.
        count: usize,
    },
}

/// Which kind of envelope an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnvelopeKind {
    /// A [`SignedPackage`](super::SignedPackage).
    Package,
    /// A [`SignedReceipt`](super::SignedReceipt).
    Receipt,
}

impl EnvelopeKind {
    fn magic_str(self) -> &'static str {
        match self {
            EnvelopeKind::Package => "LTPK",
            EnvelopeKind::Receipt => "LTRC",
        }
    }
}

impl fmt::Display for EnvelopeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EnvelopeKind::Package => "package",
            EnvelopeKind::Receipt => "receipt",
        })
    }
}

/// A byte string an offset in an error counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// A package's whole wire encoding.
    PackageWire,
    /// A package's signed header.
    PackageHeader,
    /// A receipt's whole wire encoding.
    ReceiptWire,
    /// A receipt's signed bytes.
    ReceiptBody,
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Section::PackageWire => "package",
            Section::PackageHeader => "package header",
            Section::ReceiptWire => "receipt",
            Section::ReceiptBody => "receipt body",
        })
    }
}

/// A field of the wire encoding, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
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
    /// The signed bytes (package header or receipt body) as a whole.
    SignedBytes,
    /// The signing domain.
    Domain,
    /// The package content's length, in the header.
    ContentLength,
    /// The package content's SHA-256, in the header.
    ContentSha256,
    /// The sending agency.
    Sender,
    /// How many recipients a package has.
    RecipientCount,
    /// One of a package's recipients, by index from 0.
    RecipientAt(u32),
    /// The recipient a receipt is about.
    Recipient,
    /// The message kind of a package.
    Kind,
    /// When a package was made.
    CreatedAt,
    /// The package a receipt is about.
    PackageId,
    /// The edXML DocumentId in a receipt.
    DocumentId,
    /// The status code in a receipt.
    Code,
    /// When a receipt was issued.
    IssuedAt,
    /// A receipt's description.
    Description,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Magic => "magic",
            Field::Version => "version",
            Field::Signer => "signer",
            Field::Signature => "signature",
            Field::SignedLength => "signed length",
            Field::SignedBytes => "signed bytes",
            Field::Domain => "domain",
            Field::ContentLength => "content length",
            Field::ContentSha256 => "content sha-256",
            Field::Sender => "sender",
            Field::RecipientCount => "recipient count",
            Field::RecipientAt(index) => return write!(f, "recipient {index}"),
            Field::Recipient => "recipient",
            Field::Kind => "kind",
            Field::CreatedAt => "creation time",
            Field::PackageId => "package id",
            Field::DocumentId => "document id",
            Field::Code => "status code",
            Field::IssuedAt => "issue time",
            Field::Description => "description",
        })
    }
}

/// Which size was over its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// A package's content, in bytes.
    ContentLength,
    /// A package's recipient count.
    Recipients,
    /// A package's signed header, in bytes.
    PackageHeader,
    /// A receipt's signed bytes, in bytes.
    ReceiptBody,
    /// A receipt's description, in characters.
    Description,
    /// A receipt's document id, in bytes.
    DocumentId,
    /// One length-prefixed field, in bytes (the prefix is a `u32`).
    FieldLength,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::ContentLength => "package content length in bytes",
            Limit::Recipients => "recipient count",
            Limit::PackageHeader => "package header length in bytes",
            Limit::ReceiptBody => "receipt body length in bytes",
            Limit::Description => "description length in characters",
            Limit::DocumentId => "document id length in bytes",
            Limit::FieldLength => "field length in bytes",
        })
    }
}

/// What is wrong with a field's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldProblem {
    /// A text field is not UTF-8.
    #[error("text is not utf-8")]
    NotUtf8,
    /// An agency id field holds something that is not an agency id.
    #[error("not an agency id")]
    OrganId(#[source] OrganIdError),
    /// An agency id has surrounding whitespace: it would parse, but then the same package
    /// could be signed in two byte forms.
    #[error("agency id is not in canonical form")]
    NotCanonical,
    /// The kind byte is neither 1 (edoc) nor 2 (status).
    #[error("message kind {0} is unknown")]
    UnknownKind(u8),
    /// The status code is outside the QCVN 102 table.
    #[error("unknown status code")]
    UnknownStatusCode(#[source] UnknownStatusCode),
    /// An optional field's presence byte is neither 0 nor 1.
    #[error("presence byte is {0}, not 0 or 1")]
    BadPresence(u8),
}
