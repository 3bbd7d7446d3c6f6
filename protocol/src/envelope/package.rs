//! The signed package: the envelope around one edXML message's exact bytes.

use std::collections::HashSet;
use std::fmt;

use bytes::Bytes;

use crate::MessageKind;
use crate::keys::{AgencyKey, PublicKey, Signature};
use crate::organ_id::OrganId;

use super::encoding::{self, FIELD_PREFIX_LEN, PREFIX_LEN, Prefix, Reader, Writer};
use super::error::{EnvelopeError, EnvelopeKind, Field, FieldProblem, Limit, Section};
use super::{EnvelopeLimits, PACKAGE_DOMAIN, PackageId, Timestamp};

/// What the sender decides about a package. The rest of the signed header (the content's
/// length and SHA-256) is computed from the content by [`SignedPackage::sign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFields {
    /// The agency sending the package; the signer's key must belong to it (the roster
    /// decides that, not this crate).
    pub sender: OrganId,
    /// The agencies it is addressed to: at least one, no agency twice, in the sender's order.
    pub recipients: Vec<OrganId>,
    /// Whether the content is a document or a status message, so that a node can route it
    /// without parsing the edXML.
    pub kind: MessageKind,
    /// When the sender made the package, by its own clock.
    pub created_at: Timestamp,
}

/// An edXML message's exact bytes with a signed header naming sender, recipients, kind,
/// time and the content's SHA-256.
///
/// The signature covers the header, and the header holds the content hash, so the signature
/// commits to the content without an ed25519 pass over megabytes. The edXML itself is never
/// re-serialised: what the sender's QLVB produced is what the recipient's QLVB gets.
///
/// A `SignedPackage` only exists verified: [`SignedPackage::from_wire`] checks the signature,
/// the content and every field before returning one ([`SignedPackage::from_stored`] reads
/// back one so checked before). It does *not* know whether the signer speaks for
/// [`sender`](Self::sender); the node checks that against the roster.
#[derive(Clone)]
pub struct SignedPackage {
    id: PackageId,
    signer: PublicKey,
    signature: Signature,
    fields: PackageFields,
    content_sha256: [u8; 32],
    /// The whole wire encoding, kept so that sending the package again copies nothing.
    wire: Bytes,
    /// The signed header, a slice of `wire`.
    header: Bytes,
    /// The content, a slice of `wire`.
    content: Bytes,
}

/// What reading a package checks: everything ([`SignedPackage::from_wire`]), or all but
/// the signature and content hash ([`SignedPackage::from_stored`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Signature,
    Structure,
}

impl SignedPackage {
    /// Signs `content` with `key` under `fields`.
    ///
    /// The same `limits` a peer applies in [`SignedPackage::from_wire`] are applied here,
    /// so a node never produces a package its peers would refuse. The content is copied once,
    /// into the wire encoding.
    ///
    /// # Errors
    /// [`EnvelopeError::NoRecipients`], [`EnvelopeError::DuplicateRecipient`], or
    /// [`EnvelopeError::TooLarge`] for too many recipients or too much content.
    pub fn sign(
        key: &AgencyKey,
        fields: PackageFields,
        content: Bytes,
        limits: &EnvelopeLimits,
    ) -> Result<Self, EnvelopeError> {
        check_recipients(&fields.recipients, limits)?;
        let content_len = content.len() as u64;
        if content_len > limits.max_content_len {
            return Err(EnvelopeError::TooLarge {
                limit: Limit::ContentLength,
                found: content_len,
                max: limits.max_content_len,
            });
        }
        let content_sha256 = encoding::sha256(&content);
        let header = encode_header(&fields, content_len, &content_sha256)?;
        let signature = key.sign(&header);
        let signer = key.public_key();
        let wire = encoding::assemble(
            EnvelopeKind::Package,
            &signer,
            &signature,
            &header,
            &content,
        )?;
        let header_end = PREFIX_LEN + header.len();
        Ok(SignedPackage {
            id: PackageId::from_bytes(encoding::sha256(&header)),
            signer,
            signature,
            fields,
            content_sha256,
            header: wire.slice(PREFIX_LEN..header_end),
            content: wire.slice(header_end..),
            wire,
        })
    }

    /// Reads and verifies a package.
    ///
    /// In order: sizes against `limits` (before any hashing or allocation), the signer key,
    /// the signature over the header bytes (`verify_strict`), the domain, the content's
    /// length and SHA-256 against the header, and only then the remaining header fields,
    /// strictly (canonical agency ids, known kind, unique recipients, no trailing bytes).
    /// Nothing of the header is interpreted before its signature has verified. The content
    /// stays a zero-copy slice of `wire`.
    ///
    /// # Errors
    /// An [`EnvelopeError`] naming the first check that failed.
    pub fn from_wire(wire: Bytes, limits: &EnvelopeLimits) -> Result<Self, EnvelopeError> {
        Self::read(wire, limits, Check::Signature)
    }

    /// A package read back from one's own store, where it was put only after
    /// [`from_wire`](Self::from_wire) or [`sign`](Self::sign) checked it: every check of
    /// `from_wire` but the signature and the content's SHA-256, which cost a sender more
    /// than the rest of a delivery attempt (a 20 MB attachment takes 10 ms to hash). The
    /// recipient checks both anyway. Never use it for a package from the wire.
    ///
    /// # Errors
    /// As [`from_wire`](Self::from_wire), except a bad signature or content hash.
    pub fn from_stored(wire: Bytes, limits: &EnvelopeLimits) -> Result<Self, EnvelopeError> {
        Self::read(wire, limits, Check::Structure)
    }

    fn read(wire: Bytes, limits: &EnvelopeLimits, check: Check) -> Result<Self, EnvelopeError> {
        let prefix = Prefix::read(&wire, EnvelopeKind::Package)?;
        let max_header = limits.max_package_header_len();
        if prefix.signed_len > max_header {
            return Err(EnvelopeError::TooLarge {
                limit: Limit::PackageHeader,
                found: prefix.signed_len as u64,
                max: max_header as u64,
            });
        }
        let header_end = PREFIX_LEN.saturating_add(prefix.signed_len);
        if wire.len() < header_end {
            return Err(EnvelopeError::Truncated {
                section: Section::PackageWire,
                offset: wire.len(),
                field: Field::SignedBytes,
            });
        }
        let content_len = (wire.len() - header_end) as u64;
        if content_len > limits.max_content_len {
            return Err(EnvelopeError::TooLarge {
                limit: Limit::ContentLength,
                found: content_len,
                max: limits.max_content_len,
            });
        }

        let signer = PublicKey::from_bytes(&prefix.signer).map_err(|source| {
            EnvelopeError::InvalidSigner {
                envelope: EnvelopeKind::Package,
                source,
            }
        })?;
        let header = wire.slice(PREFIX_LEN..header_end);
        if check == Check::Signature {
            signer
                .verify(&header, &prefix.signature)
                .map_err(|_| EnvelopeError::BadSignature {
                    envelope: EnvelopeKind::Package,
                })?;
        }

        let content = wire.slice(header_end..);
        let mut reader = Reader::new(&header, Section::PackageHeader);
        reader.domain(PACKAGE_DOMAIN, EnvelopeKind::Package)?;
        let declared_len = reader.u64(Field::ContentLength)?;
        if declared_len != content_len {
            return Err(EnvelopeError::ContentLengthMismatch {
                declared: declared_len,
                actual: content_len,
            });
        }
        let content_sha256 = reader.array::<32>(Field::ContentSha256)?;
        if check == Check::Signature && encoding::sha256(&content) != content_sha256 {
            return Err(EnvelopeError::ContentHashMismatch);
        }
        let fields = decode_fields(&mut reader, limits)?;
        reader.finish()?;

        Ok(SignedPackage {
            id: PackageId::from_bytes(encoding::sha256(&header)),
            signer,
            signature: prefix.signature,
            fields,
            content_sha256,
            wire,
            header,
            content,
        })
    }

    /// The wire encoding:
    /// `"LTPK" ‖ version ‖ signer (32) ‖ signature (64) ‖ header length (u32 BE) ‖ header ‖ content`.
    /// Cheap: the encoding is kept, not rebuilt.
    pub fn to_wire(&self) -> Bytes {
        self.wire.clone()
    }

    /// The package id: SHA-256 of the signed header.
    pub fn id(&self) -> PackageId {
        self.id
    }

    /// The sending agency, as signed.
    pub fn sender(&self) -> &OrganId {
        &self.fields.sender
    }

    /// The recipients, as signed, in the sender's order.
    pub fn recipients(&self) -> &[OrganId] {
        &self.fields.recipients
    }

    /// Whether the content is a document or a status message.
    pub fn kind(&self) -> MessageKind {
        self.fields.kind
    }

    /// When the sender made the package.
    pub fn created_at(&self) -> Timestamp {
        self.fields.created_at
    }

    /// All the sender-chosen fields at once.
    pub fn fields(&self) -> &PackageFields {
        &self.fields
    }

    /// SHA-256 of the content, as signed (and checked).
    pub fn content_sha256(&self) -> &[u8; 32] {
        &self.content_sha256
    }

    /// The exact edXML bytes.
    pub fn content(&self) -> &Bytes {
        &self.content
    }

    /// The key that signed the package.
    pub fn signer(&self) -> &PublicKey {
        &self.signer
    }

    /// The signature over [`header_bytes`](Self::header_bytes).
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The signed header, e.g. to store apart from the content.
    pub fn header_bytes(&self) -> &Bytes {
        &self.header
    }
}

/// Equal when the wire encodings are equal: same header, signer, signature and content.
impl PartialEq for SignedPackage {
    fn eq(&self, other: &Self) -> bool {
        self.wire == other.wire
    }
}

impl Eq for SignedPackage {}

impl fmt::Debug for SignedPackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedPackage")
            .field("id", &self.id)
            .field("sender", &self.fields.sender)
            .field("recipients", &self.fields.recipients.len())
            .field("kind", &self.fields.kind)
            .field("created_at", &self.fields.created_at)
            .field("content_len", &self.content.len())
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

/// Header layout, after the domain:
/// `content length (u64) ‖ content sha-256 (32) ‖ sender ‖ recipient count (u32) ‖
/// recipients ‖ kind (u8) ‖ created at (u64 millis)`.
/// The content checks come first so that a reader can do them before decoding the rest.
fn encode_header(
    fields: &PackageFields,
    content_len: u64,
    content_sha256: &[u8; 32],
) -> Result<Vec<u8>, EnvelopeError> {
    let ids_len: usize = fields
        .recipients
        .iter()
        .map(|r| FIELD_PREFIX_LEN + r.as_str().len())
        .sum();
    let mut w = Writer::with_capacity(PACKAGE_DOMAIN.len() + 128 + ids_len);
    w.field(PACKAGE_DOMAIN.as_bytes())?;
    w.u64(content_len);
    w.raw(content_sha256);
    w.field(fields.sender.as_str().as_bytes())?;
    let count = u32::try_from(fields.recipients.len()).map_err(|_| EnvelopeError::TooLarge {
        limit: Limit::Recipients,
        found: fields.recipients.len() as u64,
        max: u64::from(u32::MAX),
    })?;
    w.u32(count);
    for recipient in &fields.recipients {
        w.field(recipient.as_str().as_bytes())?;
    }
    w.u8(kind_byte(fields.kind));
    w.u64(fields.created_at.as_millis());
    Ok(w.into_vec())
}

/// Decodes the header after the content checks.
fn decode_fields(
    reader: &mut Reader<'_>,
    limits: &EnvelopeLimits,
) -> Result<PackageFields, EnvelopeError> {
    let sender = reader.organ_id(Field::Sender)?;
    let count = reader.u32(Field::RecipientCount)?;
    if count == 0 {
        return Err(EnvelopeError::NoRecipients);
    }
    if count as usize > limits.max_recipients {
        return Err(EnvelopeError::TooLarge {
            limit: Limit::Recipients,
            found: u64::from(count),
            max: limits.max_recipients as u64,
        });
    }
    // Each recipient takes at least a length prefix, so never reserve more than the rest
    // of the header could hold, whatever the count says.
    let capacity = (count as usize).min(reader.remaining() / FIELD_PREFIX_LEN);
    let mut recipients = Vec::with_capacity(capacity);
    for index in 0..count {
        recipients.push(reader.organ_id(Field::RecipientAt(index))?);
    }
    check_unique(&recipients)?;
    let kind_at = reader.position();
    let kind = match reader.u8(Field::Kind)? {
        1 => MessageKind::Edoc,
        2 => MessageKind::Status,
        other => {
            return Err(reader.invalid(Field::Kind, kind_at, FieldProblem::UnknownKind(other)));
        }
    };
    let created_at = Timestamp::from_millis(reader.u64(Field::CreatedAt)?);
    Ok(PackageFields {
        sender,
        recipients,
        kind,
        created_at,
    })
}

fn kind_byte(kind: MessageKind) -> u8 {
    match kind {
        MessageKind::Edoc => 1,
        MessageKind::Status => 2,
    }
}

fn check_recipients(recipients: &[OrganId], limits: &EnvelopeLimits) -> Result<(), EnvelopeError> {
    if recipients.is_empty() {
        return Err(EnvelopeError::NoRecipients);
    }
    if recipients.len() > limits.max_recipients {
        return Err(EnvelopeError::TooLarge {
            limit: Limit::Recipients,
            found: recipients.len() as u64,
            max: limits.max_recipients as u64,
        });
    }
    check_unique(recipients)
}

fn check_unique(recipients: &[OrganId]) -> Result<(), EnvelopeError> {
    let mut seen = HashSet::with_capacity(recipients.len());
    match recipients.iter().find(|r| !seen.insert(*r)) {
        Some(recipient) => Err(EnvelopeError::DuplicateRecipient {
            recipient: recipient.clone(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> OrganId {
        OrganId::parse(s).expect("valid id")
    }

    fn key() -> AgencyKey {
        AgencyKey::from_bytes(&[42; 32])
    }

    fn fields() -> PackageFields {
        PackageFields {
            sender: id("000.00.00.G22"),
            recipients: vec![id("000.00.00.H53"), id("000.00.00.H41")],
            kind: MessageKind::Edoc,
            created_at: Timestamp::from_millis(1_795_239_540_123),
        }
    }

    fn content() -> Bytes {
        Bytes::from_static(b"<edXML>...</edXML>")
    }

    #[test]
    fn round_trips_and_keeps_the_content_zero_copy() {
        let limits = EnvelopeLimits::default();
        let package = SignedPackage::sign(&key(), fields(), content(), &limits).expect("signs");
        assert_eq!(package.content(), &content());
        assert_eq!(package.signer(), &key().public_key());
        let wire = package.to_wire();
        assert!(wire.starts_with(b"LTPK\x01"));
        let read = SignedPackage::from_wire(wire.clone(), &limits).expect("reads");
        assert_eq!(read, package);
        assert_eq!(read.id(), package.id());
        assert_eq!(read.fields(), &fields());
        assert_eq!(read.content_sha256(), &encoding::sha256(&content()));
        // The content is a view into the wire buffer, not a copy.
        let wire_range = wire.as_ptr_range();
        assert!(wire_range.contains(&read.content().as_ptr()));
        assert_eq!(
            read.header_bytes().len() + read.content().len() + PREFIX_LEN,
            wire.len()
        );
    }

    #[test]
    fn id_is_the_hash_of_the_signed_header_and_stable_across_resends() {
        let limits = EnvelopeLimits::default();
        let a = SignedPackage::sign(&key(), fields(), content(), &limits).expect("signs");
        let b = SignedPackage::sign(&key(), fields(), content(), &limits).expect("signs");
        assert_eq!(a.id(), b.id());
        assert_eq!(a.id().as_bytes(), &encoding::sha256(a.header_bytes()));
        let mut later = fields();
        later.created_at = Timestamp::from_millis(later.created_at.as_millis() + 1);
        let c = SignedPackage::sign(&key(), later, content(), &limits).expect("signs");
        assert_ne!(a.id(), c.id());
    }

    #[test]
    fn header_starts_with_the_domain_then_the_content_checks() {
        let limits = EnvelopeLimits::default();
        let package = SignedPackage::sign(&key(), fields(), content(), &limits).expect("signs");
        let header = package.header_bytes();
        let domain_end = FIELD_PREFIX_LEN + PACKAGE_DOMAIN.len();
        assert_eq!(&header[..4], &(PACKAGE_DOMAIN.len() as u32).to_be_bytes());
        assert_eq!(&header[4..domain_end], PACKAGE_DOMAIN.as_bytes());
        assert_eq!(
            &header[domain_end..domain_end + 8],
            &(content().len() as u64).to_be_bytes()
        );
        assert_eq!(
            &header[domain_end + 8..domain_end + 40],
            &encoding::sha256(&content())
        );
    }

    #[test]
    fn sign_refuses_bad_recipient_lists_and_large_content() {
        let limits = EnvelopeLimits::default();
        let mut none = fields();
        none.recipients.clear();
        assert_eq!(
            SignedPackage::sign(&key(), none, content(), &limits).err(),
            Some(EnvelopeError::NoRecipients)
        );
        let mut twice = fields();
        twice.recipients.push(id("000.00.00.H53"));
        assert_eq!(
            SignedPackage::sign(&key(), twice, content(), &limits).err(),
            Some(EnvelopeError::DuplicateRecipient {
                recipient: id("000.00.00.H53")
            })
        );
        let small = EnvelopeLimits {
            max_content_len: 4,
            max_recipients: 1,
            ..limits
        };
        assert!(matches!(
            SignedPackage::sign(&key(), fields(), content(), &small),
            Err(EnvelopeError::TooLarge {
                limit: Limit::Recipients,
                found: 2,
                max: 1
            })
        ));
        let mut one = fields();
        one.recipients.truncate(1);
        assert!(matches!(
            SignedPackage::sign(&key(), one, content(), &small),
            Err(EnvelopeError::TooLarge {
                limit: Limit::ContentLength,
                max: 4,
                ..
            })
        ));
    }

    #[test]
    fn reader_applies_its_own_limits_before_verifying() {
        let package = SignedPackage::sign(&key(), fields(), content(), &EnvelopeLimits::default())
            .expect("signs");
        let strict = EnvelopeLimits {
            max_content_len: 4,
            ..EnvelopeLimits::default()
        };
        assert!(matches!(
            SignedPackage::from_wire(package.to_wire(), &strict),
            Err(EnvelopeError::TooLarge {
                limit: Limit::ContentLength,
                ..
            })
        ));
        let one = EnvelopeLimits {
            max_recipients: 1,
            ..EnvelopeLimits::default()
        };
        // The header is small enough for the one-recipient bound, so the count is what fails.
        assert!(matches!(
            SignedPackage::from_wire(package.to_wire(), &one),
            Err(EnvelopeError::TooLarge {
                limit: Limit::Recipients,
                found: 2,
                max: 1
            })
        ));
    }

    #[test]
    fn debug_does_not_dump_the_content() {
        let package = SignedPackage::sign(&key(), fields(), content(), &EnvelopeLimits::default())
            .expect("signs");
        let debug = format!("{package:?}");
        assert!(debug.contains("content_len: 18"));
        assert!(!debug.contains("edXML"));
    }
}
