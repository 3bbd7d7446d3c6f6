//! The sealed package: a signed package encrypted to one recipient, under an outer header
//! its sender signs and a relay can check without reading the content.

use std::fmt;

use bytes::Bytes;
use chacha20poly1305::{AeadInOut, ChaCha20Poly1305, Key, KeyInit, Nonce, Tag};
use x25519_dalek::{PublicKey as X25519Public, SharedSecret, StaticSecret};
use zeroize::Zeroizing;

use crate::envelope::{EnvelopeLimits, PackageId, SignedPackage, Timestamp};
use crate::keys::{AgencyKey, PublicKey, Signature};
use crate::organ_id::OrganId;

use super::encoding::{self, PREFIX_LEN, Prefix, Reader, Writer};
use super::error::{SealError, SealField, SealKind, SealLimit, SealSection};
use super::keys::{EncryptionKey, EncryptionSecret, hkdf_sha256};
use super::{CIPHERTEXT_FIELDS_LEN, MAX_SEALED_HEADER_LEN, SEAL_KDF_INFO, SEALED_DOMAIN, TAG_LEN};

/// Most plaintext ChaCha20-Poly1305 takes under one nonce: 2^32 − 1 blocks of 64 bytes
/// (the first block keys Poly1305).
const MAX_AEAD_PLAINTEXT: u64 = ((1 << 32) - 1) * 64;

/// The outer header of a sealed package: what a relay needs to route and hold it, and all
/// it learns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedFields {
    /// The id of the package inside.
    pub package_id: PackageId,
    /// The package's sender; the signer of the header must speak for it (the node checks
    /// that against the roster).
    pub sender: OrganId,
    /// The one recipient this copy is sealed to.
    pub recipient: OrganId,
    /// When the sender made the package (the inner package's time).
    pub created_at: Timestamp,
    /// The sender's ephemeral X25519 public key for this copy: canonical and not of small
    /// order (checked when read).
    pub ephemeral: [u8; 32],
    /// Length of the ciphertext (the package's wire bytes plus the 16-byte tag).
    pub ciphertext_len: u64,
    /// SHA-256 of the ciphertext.
    pub ciphertext_sha256: [u8; 32],
}

/// A [`SignedPackage`] encrypted to one of its recipients, with a signed outer header.
///
/// Like the envelopes, it only exists verified: [`SealedPackage::from_wire`] checks the
/// sender's signature over the header and the ciphertext against the header's hash. That
/// is everything a relay can check. Only the recipient's [`EncryptionSecret`] opens it, and
/// [`SealedPackage::open`] then checks that the package inside is the one the header
/// describes, so that a header cannot be put around another package.
#[derive(Clone)]
pub struct SealedPackage {
    signer: PublicKey,
    signature: Signature,
    fields: SealedFields,
    /// The whole wire encoding, kept so that holding and forwarding copy nothing.
    wire: Bytes,
    /// The signed header, a slice of `wire`.
    header: Bytes,
    /// The ciphertext and its tag, a slice of `wire`.
    ciphertext: Bytes,
}

/// The outer fields the sender chooses; the rest are computed while sealing.
#[derive(Debug, Clone)]
struct Outer {
    package_id: PackageId,
    sender: OrganId,
    recipient: OrganId,
    created_at: Timestamp,
}

impl SealedPackage {
    /// Seals `package` for `recipient`, one of its recipients, to `recipient_key`, the
    /// recipient's roster encryption key, and signs the outer header with `sender_key`, the
    /// key that signed the package.
    ///
    /// # Errors
    /// [`SealError::NotTheSigner`], [`SealError::NotARecipient`], [`SealError::TooLarge`]
    /// when the package is larger than `limits` allow (so that no relay would refuse it),
    /// [`SealError::Randomness`] when the OS gives no randomness.
    pub fn seal(
        sender_key: &AgencyKey,
        package: &SignedPackage,
        recipient: &OrganId,
        recipient_key: &EncryptionKey,
        limits: &EnvelopeLimits,
    ) -> Result<Self, SealError> {
        if package.signer() != &sender_key.public_key() {
            return Err(SealError::NotTheSigner);
        }
        if !package.recipients().contains(recipient) {
            return Err(SealError::NotARecipient {
                recipient: recipient.clone(),
            });
        }
        let plaintext = package.to_wire();
        let max = limits.max_package_len();
        if plaintext.len() as u64 > max {
            return Err(SealError::TooLarge {
                limit: SealLimit::Package,
                found: plaintext.len() as u64,
                max,
            });
        }
        let outer = Outer {
            package_id: package.id(),
            sender: package.sender().clone(),
            recipient: recipient.clone(),
            created_at: package.created_at(),
        };
        seal_parts(sender_key, &outer, &plaintext, recipient_key)
    }

    /// Reads and verifies a sealed package: everything a relay can check.
    ///
    /// In order: the sizes (header at most [`MAX_SEALED_HEADER_LEN`], ciphertext at most
    /// [`SealedPackage::max_ciphertext_len`]), the signer key and the signature over the
    /// header (`verify_strict`), the domain, the ciphertext's length and SHA-256 against the
    /// header, and only then the other header fields, strictly (canonical agency ids, a
    /// usable ephemeral key, no trailing bytes). The ciphertext stays a zero-copy slice of
    /// `wire`.
    ///
    /// # Errors
    /// A [`SealError`] naming the first check that failed.
    pub fn from_wire(wire: Bytes, limits: &EnvelopeLimits) -> Result<Self, SealError> {
        let prefix = Prefix::read(&wire, SealKind::Sealed)?;
        if prefix.signed_len > MAX_SEALED_HEADER_LEN {
            return Err(SealError::TooLarge {
                limit: SealLimit::SealedHeader,
                found: prefix.signed_len as u64,
                max: MAX_SEALED_HEADER_LEN as u64,
            });
        }
        let header_end = PREFIX_LEN + prefix.signed_len;
        if wire.len() < header_end {
            return Err(SealError::Truncated {
                section: SealSection::SealedWire,
                offset: wire.len(),
                field: SealField::SignedBytes,
            });
        }
        let ciphertext_len = (wire.len() - header_end) as u64;
        let max = Self::max_ciphertext_len(limits);
        if ciphertext_len > max {
            return Err(SealError::TooLarge {
                limit: SealLimit::Ciphertext,
                found: ciphertext_len,
                max,
            });
        }

        let header = wire.slice(PREFIX_LEN..header_end);
        let signer = prefix.verify(&header, SealKind::Sealed)?;
        let ciphertext = wire.slice(header_end..);
        let fields = decode_header(&header, &ciphertext)?;
        Ok(SealedPackage {
            signer,
            signature: prefix.signature,
            fields,
            wire,
            header,
            ciphertext,
        })
    }

    /// Decrypts with the recipient's `secret` and returns the package inside, verified by
    /// [`SignedPackage::from_wire`] under `limits`, after checking that it is the package the
    /// outer header describes: same id, sender, creation time and signer, and the header's
    /// recipient among its recipients.
    ///
    /// # Errors
    /// [`SealError::Decrypt`] when this secret is not the one it was sealed to (or the
    /// ciphertext was altered), [`SealError::Inner`] when the plaintext is not a valid
    /// package, [`SealError::Mismatch`] / [`SealError::RecipientNotInPackage`] when the
    /// header was not made for it.
    pub fn open(
        &self,
        secret: &EncryptionSecret,
        limits: &EnvelopeLimits,
    ) -> Result<SignedPackage, SealError> {
        let ephemeral = EncryptionKey::from_bytes(&self.fields.ephemeral).map_err(|source| {
            SealError::InvalidEphemeral {
                offset: self.header.len() - CIPHERTEXT_FIELDS_LEN - 32,
                source,
            }
        })?;
        let shared = secret.agree(&ephemeral);
        if !shared.was_contributory() {
            return Err(SealError::NonContributory {
                side: "the ephemeral",
            });
        }
        let cipher = aead(&shared, &ephemeral, &secret.public());
        let aad = &self.header[..self.header.len() - CIPHERTEXT_FIELDS_LEN];
        // `from_wire` made sure the ciphertext holds more than a tag.
        let (body, tag) = self.ciphertext.split_at(self.ciphertext.len() - TAG_LEN);
        let tag = <&Tag>::try_from(tag).map_err(|_| SealError::Decrypt)?;
        let mut plaintext = body.to_vec();
        cipher
            .decrypt_inout_detached(&Nonce::default(), aad, plaintext.as_mut_slice().into(), tag)
            .map_err(|_| SealError::Decrypt)?;
        let package =
            SignedPackage::from_wire(Bytes::from(plaintext), limits).map_err(SealError::Inner)?;

        let mismatch = |field| Err(SealError::Mismatch { field });
        if package.id() != self.fields.package_id {
            return mismatch(SealField::PackageId);
        }
        if package.sender() != &self.fields.sender {
            return mismatch(SealField::Sender);
        }
        if package.created_at() != self.fields.created_at {
            return mismatch(SealField::CreatedAt);
        }
        if package.signer() != &self.signer {
            return mismatch(SealField::Signer);
        }
        if !package.recipients().contains(&self.fields.recipient) {
            return Err(SealError::RecipientNotInPackage {
                recipient: self.fields.recipient.clone(),
            });
        }
        Ok(package)
    }

    /// Largest ciphertext a package within `limits` seals to: its largest wire encoding plus
    /// the tag.
    pub fn max_ciphertext_len(limits: &EnvelopeLimits) -> u64 {
        limits.max_package_len().saturating_add(TAG_LEN as u64)
    }

    /// Longest sealed wire encoding within `limits`; a transport or a relay's store can cap
    /// its reads here.
    pub fn max_wire_len(limits: &EnvelopeLimits) -> u64 {
        ((PREFIX_LEN + MAX_SEALED_HEADER_LEN) as u64)
            .saturating_add(Self::max_ciphertext_len(limits))
    }

    /// The outer header, as signed (and checked).
    pub fn fields(&self) -> &SealedFields {
        &self.fields
    }

    /// The id of the package inside.
    pub fn id(&self) -> PackageId {
        self.fields.package_id
    }

    /// The sending agency, as signed in the outer header.
    pub fn sender(&self) -> &OrganId {
        &self.fields.sender
    }

    /// The recipient this copy is sealed to.
    pub fn recipient(&self) -> &OrganId {
        &self.fields.recipient
    }

    /// When the sender made the package.
    pub fn created_at(&self) -> Timestamp {
        self.fields.created_at
    }

    /// The key that signed the outer header (and, once opened, the package).
    pub fn signer(&self) -> &PublicKey {
        &self.signer
    }

    /// The signature over [`header_bytes`](Self::header_bytes).
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The signed outer header.
    pub fn header_bytes(&self) -> &Bytes {
        &self.header
    }

    /// The wire encoding:
    /// `"LTSP" ‖ version ‖ signer (32) ‖ signature (64) ‖ header length (u32 BE) ‖ header ‖
    /// ciphertext`. Cheap: the encoding is kept, not rebuilt.
    pub fn to_wire(&self) -> Bytes {
        self.wire.clone()
    }
}

/// Equal when the wire encodings are equal.
impl PartialEq for SealedPackage {
    fn eq(&self, other: &Self) -> bool {
        self.wire == other.wire
    }
}

impl Eq for SealedPackage {}

impl fmt::Debug for SealedPackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedPackage")
            .field("id", &self.fields.package_id)
            .field("sender", &self.fields.sender)
            .field("recipient", &self.fields.recipient)
            .field("created_at", &self.fields.created_at)
            .field("ciphertext_len", &self.fields.ciphertext_len)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

/// The AEAD keyed with HKDF-SHA256(shared, salt = ephemeral ‖ recipient, info =
/// [`SEAL_KDF_INFO`]). The salt binds the key to both public keys, so the same shared secret
/// reached through another encoding or another recipient gives another key.
fn aead(
    shared: &SharedSecret,
    ephemeral: &EncryptionKey,
    recipient: &EncryptionKey,
) -> ChaCha20Poly1305 {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral.as_bytes());
    salt[32..].copy_from_slice(recipient.as_bytes());
    let okm = hkdf_sha256(Some(&salt), shared.as_bytes(), SEAL_KDF_INFO.as_bytes());
    let key: &Key = (&*okm).into();
    ChaCha20Poly1305::new(key)
}

/// Encrypts `plaintext` to `recipient_key` under a header made of `outer`, and signs it.
/// The wire buffer is laid out first and the plaintext encrypted in place, so the content
/// is copied once.
///
/// [`SealedPackage::seal`] checks that `outer` describes `plaintext`; tests call this
/// directly to build headers that lie.
fn seal_parts(
    sender_key: &AgencyKey,
    outer: &Outer,
    plaintext: &[u8],
    recipient_key: &EncryptionKey,
) -> Result<SealedPackage, SealError> {
    if plaintext.len() as u64 > MAX_AEAD_PLAINTEXT {
        return Err(SealError::TooLarge {
            limit: SealLimit::Package,
            found: plaintext.len() as u64,
            max: MAX_AEAD_PLAINTEXT,
        });
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(|source| SealError::Randomness { source })?;
    let ephemeral_secret = StaticSecret::from(*seed);
    let ephemeral_public = X25519Public::from(&ephemeral_secret).to_bytes();
    let shared = ephemeral_secret.diffie_hellman(&recipient_key.to_x25519());
    drop(ephemeral_secret);
    if !shared.was_contributory() {
        return Err(SealError::NonContributory {
            side: "the recipient's",
        });
    }
    // The public key of a clamped scalar is canonical and of large order.
    let ephemeral = EncryptionKey::from_bytes(&ephemeral_public)
        .map_err(|source| SealError::InvalidEphemeral { offset: 0, source })?;
    let cipher = aead(&shared, &ephemeral, recipient_key);

    let mut w = Writer::with_capacity(MAX_SEALED_HEADER_LEN);
    w.short_field(SEALED_DOMAIN.as_bytes());
    w.raw(outer.package_id.as_bytes());
    w.organ_id(&outer.sender);
    w.organ_id(&outer.recipient);
    w.u64(outer.created_at.as_millis());
    w.raw(ephemeral.as_bytes());
    let aad = w.into_vec();
    let header_len = aad.len() + CIPHERTEXT_FIELDS_LEN;

    let ciphertext_len = plaintext.len() + TAG_LEN;
    let header_at = PREFIX_LEN;
    let ciphertext_at = header_at + header_len;
    let signer = sender_key.public_key();
    let mut wire = Vec::with_capacity(ciphertext_at + ciphertext_len);
    // Prefix with a blank signature, header with blank ciphertext fields, then the
    // plaintext, which is encrypted where it lies.
    wire.extend_from_slice(super::SEALED_MAGIC);
    wire.push(crate::envelope::WIRE_VERSION);
    wire.extend_from_slice(signer.as_bytes());
    wire.extend_from_slice(&[0; crate::keys::SIGNATURE_LEN]);
    wire.extend_from_slice(&(header_len as u32).to_be_bytes());
    wire.extend_from_slice(&aad);
    wire.extend_from_slice(&[0; CIPHERTEXT_FIELDS_LEN]);
    wire.extend_from_slice(plaintext);
    let tag = cipher
        .encrypt_inout_detached(
            &Nonce::default(),
            &aad,
            wire[ciphertext_at..].as_mut().into(),
        )
        .map_err(|_| SealError::TooLarge {
            limit: SealLimit::Package,
            found: plaintext.len() as u64,
            max: MAX_AEAD_PLAINTEXT,
        })?;
    wire.extend_from_slice(&tag);

    let ciphertext_sha256 = encoding::sha256(&wire[ciphertext_at..]);
    let fields_at = ciphertext_at - CIPHERTEXT_FIELDS_LEN;
    wire[fields_at..fields_at + 8].copy_from_slice(&(ciphertext_len as u64).to_be_bytes());
    wire[fields_at + 8..ciphertext_at].copy_from_slice(&ciphertext_sha256);
    let signature = sender_key.sign(&wire[header_at..ciphertext_at]);
    let signature_at = 4 + 1 + crate::keys::PUBLIC_KEY_LEN;
    wire[signature_at..signature_at + crate::keys::SIGNATURE_LEN]
        .copy_from_slice(signature.as_bytes());

    let wire = Bytes::from(wire);
    Ok(SealedPackage {
        signer,
        signature,
        fields: SealedFields {
            package_id: outer.package_id,
            sender: outer.sender.clone(),
            recipient: outer.recipient.clone(),
            created_at: outer.created_at,
            ephemeral: *ephemeral.as_bytes(),
            ciphertext_len: ciphertext_len as u64,
            ciphertext_sha256,
        },
        header: wire.slice(header_at..ciphertext_at),
        ciphertext: wire.slice(ciphertext_at..),
        wire,
    })
}

/// Decodes a verified header: the domain, then the ciphertext fields (fixed width at the
/// end of the header) against `ciphertext`, then the rest, strictly.
fn decode_header(header: &[u8], ciphertext: &[u8]) -> Result<SealedFields, SealError> {
    let mut reader = Reader::new(header, SealSection::SealedHeader);
    reader.domain(SEALED_DOMAIN, SealKind::Sealed)?;
    let tail_at = header
        .len()
        .checked_sub(CIPHERTEXT_FIELDS_LEN)
        .filter(|at| *at >= reader.position())
        .ok_or(SealError::Truncated {
            section: SealSection::SealedHeader,
            offset: header.len(),
            field: SealField::CiphertextSha256,
        })?;

    let mut tail = Reader::new(&header[tail_at..], SealSection::SealedHeader);
    let declared_len = tail.u64(SealField::CiphertextLength)?;
    let ciphertext_sha256 = tail.array::<32>(SealField::CiphertextSha256)?;
    let actual_len = ciphertext.len() as u64;
    if declared_len != actual_len {
        return Err(SealError::CiphertextLengthMismatch {
            declared: declared_len,
            actual: actual_len,
        });
    }
    if actual_len <= TAG_LEN as u64 {
        return Err(SealError::CiphertextTooShort { found: actual_len });
    }
    if encoding::sha256(ciphertext) != ciphertext_sha256 {
        return Err(SealError::CiphertextHashMismatch);
    }

    // Offsets in errors count from the start of the header, as for the other fields.
    let mut reader = Reader::new(&header[..tail_at], SealSection::SealedHeader);
    reader.domain(SEALED_DOMAIN, SealKind::Sealed)?;
    let package_id = PackageId::from_bytes(reader.array(SealField::PackageId)?);
    let sender = reader.organ_id(SealField::Sender)?;
    let recipient = reader.organ_id(SealField::Recipient)?;
    let created_at = Timestamp::from_millis(reader.u64(SealField::CreatedAt)?);
    let ephemeral_at = reader.position();
    let ephemeral = reader.array::<32>(SealField::Ephemeral)?;
    EncryptionKey::from_bytes(&ephemeral).map_err(|source| SealError::InvalidEphemeral {
        offset: ephemeral_at,
        source,
    })?;
    reader.finish()?;
    Ok(SealedFields {
        package_id,
        sender,
        recipient,
        created_at,
        ephemeral,
        ciphertext_len: declared_len,
        ciphertext_sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MessageKind;
    use crate::envelope::PackageFields;

    fn id(s: &str) -> OrganId {
        OrganId::parse(s).expect("valid id")
    }

    fn sender_key() -> AgencyKey {
        AgencyKey::from_bytes(&[21; 32])
    }

    fn recipient_secret() -> EncryptionSecret {
        EncryptionSecret::derive(&AgencyKey::from_bytes(&[22; 32]))
    }

    fn package(recipients: &[&str], created_at: u64) -> SignedPackage {
        SignedPackage::sign(
            &sender_key(),
            PackageFields {
                sender: id("000.00.00.G22"),
                recipients: recipients.iter().map(|r| id(r)).collect(),
                kind: MessageKind::Edoc,
                created_at: Timestamp::from_millis(created_at),
            },
            Bytes::from_static(b"<edXML>noi dung mat</edXML>"),
            &EnvelopeLimits::default(),
        )
        .expect("signs")
    }

    fn outer_of(package: &SignedPackage, recipient: &str) -> Outer {
        Outer {
            package_id: package.id(),
            sender: package.sender().clone(),
            recipient: id(recipient),
            created_at: package.created_at(),
        }
    }

    /// Seals `package` under a header that says `outer`, and reads it back as a relay would.
    fn seal_lying(outer: &Outer, package: &SignedPackage) -> SealedPackage {
        let sealed = seal_parts(
            &sender_key(),
            outer,
            &package.to_wire(),
            &recipient_secret().public(),
        )
        .expect("seals");
        SealedPackage::from_wire(sealed.to_wire(), &EnvelopeLimits::default())
            .expect("a relay cannot tell")
    }

    #[test]
    fn an_honest_header_opens() {
        let p = package(&["000.00.00.H53"], 1_700_000_000_000);
        let sealed = seal_lying(&outer_of(&p, "000.00.00.H53"), &p);
        assert_eq!(
            sealed.open(&recipient_secret(), &EnvelopeLimits::default()),
            Ok(p)
        );
    }

    #[test]
    fn a_header_naming_another_recipient_does_not_open() {
        let p = package(&["000.00.00.H53"], 1_700_000_000_000);
        let sealed = seal_lying(&outer_of(&p, "000.00.00.H41"), &p);
        assert_eq!(
            sealed.open(&recipient_secret(), &EnvelopeLimits::default()),
            Err(SealError::RecipientNotInPackage {
                recipient: id("000.00.00.H41")
            })
        );
    }

    #[test]
    fn a_header_describing_another_package_does_not_open() {
        let limits = EnvelopeLimits::default();
        let p = package(&["000.00.00.H53"], 1_700_000_000_000);
        let other = package(&["000.00.00.H53"], 1_700_000_000_001);

        let mut outer = outer_of(&p, "000.00.00.H53");
        outer.package_id = other.id();
        assert_eq!(
            seal_lying(&outer, &p).open(&recipient_secret(), &limits),
            Err(SealError::Mismatch {
                field: SealField::PackageId
            })
        );

        let mut outer = outer_of(&p, "000.00.00.H53");
        outer.sender = id("000.00.00.G09");
        assert_eq!(
            seal_lying(&outer, &p).open(&recipient_secret(), &limits),
            Err(SealError::Mismatch {
                field: SealField::Sender
            })
        );

        let mut outer = outer_of(&p, "000.00.00.H53");
        outer.created_at = other.created_at();
        assert_eq!(
            seal_lying(&outer, &p).open(&recipient_secret(), &limits),
            Err(SealError::Mismatch {
                field: SealField::CreatedAt
            })
        );
    }

    #[test]
    fn a_package_signed_by_someone_else_does_not_open() {
        // Another agency re-wraps a package it received, keeping every outer field.
        let p = package(&["000.00.00.H53"], 1_700_000_000_000);
        let rewrapper = AgencyKey::from_bytes(&[23; 32]);
        let sealed = seal_parts(
            &rewrapper,
            &outer_of(&p, "000.00.00.H53"),
            &p.to_wire(),
            &recipient_secret().public(),
        )
        .expect("seals");
        assert_eq!(
            sealed.open(&recipient_secret(), &EnvelopeLimits::default()),
            Err(SealError::Mismatch {
                field: SealField::Signer
            })
        );
    }

    #[test]
    fn plaintext_that_is_not_a_package_is_an_inner_error() {
        let p = package(&["000.00.00.H53"], 1_700_000_000_000);
        let sealed = seal_parts(
            &sender_key(),
            &outer_of(&p, "000.00.00.H53"),
            b"not a package",
            &recipient_secret().public(),
        )
        .expect("seals");
        assert!(matches!(
            sealed.open(&recipient_secret(), &EnvelopeLimits::default()),
            Err(SealError::Inner(_))
        ));
    }

    #[test]
    fn the_header_is_laid_out_as_documented() {
        let p = package(&["000.00.00.H53"], 1_700_000_000_000);
        let sealed = seal_lying(&outer_of(&p, "000.00.00.H53"), &p);
        let header = sealed.header_bytes();
        let mut expected = Writer::default();
        expected.short_field(SEALED_DOMAIN.as_bytes());
        expected.raw(p.id().as_bytes());
        expected.organ_id(p.sender());
        expected.organ_id(&id("000.00.00.H53"));
        expected.u64(1_700_000_000_000);
        expected.raw(&sealed.fields().ephemeral);
        expected.u64(p.to_wire().len() as u64 + TAG_LEN as u64);
        expected.raw(&sealed.fields().ciphertext_sha256);
        assert_eq!(&header[..], &expected.into_vec()[..]);
        assert!(sealed.to_wire().starts_with(b"LTSP\x01"));
        assert_eq!(
            sealed.to_wire().len(),
            PREFIX_LEN + header.len() + p.to_wire().len() + TAG_LEN
        );
    }

    #[test]
    fn a_resigned_header_with_a_bad_ephemeral_is_refused_by_the_relay() {
        let p = package(&["000.00.00.H53"], 1_700_000_000_000);
        let sealed = seal_lying(&outer_of(&p, "000.00.00.H53"), &p);
        let mut header = sealed.header_bytes().to_vec();
        let ephemeral_at = header.len() - CIPHERTEXT_FIELDS_LEN - 32;
        header[ephemeral_at..ephemeral_at + 32].copy_from_slice(&[0; 32]);
        let signature = sender_key().sign(&header);
        let wire = encoding::assemble(
            SealKind::Sealed,
            &sender_key().public_key(),
            &signature,
            &header,
            &sealed.to_wire()[PREFIX_LEN + header.len()..],
        )
        .expect("assembles");
        assert!(matches!(
            SealedPackage::from_wire(wire, &EnvelopeLimits::default()),
            Err(SealError::InvalidEphemeral { offset, .. }) if offset == ephemeral_at
        ));
    }
}
