//! The signed receipt: one agency's signed status statement about one package.

use std::fmt;

use bytes::Bytes;

use crate::StatusCode;
use crate::keys::{AgencyKey, PublicKey, Signature};
use crate::organ_id::OrganId;

use super::encoding::{self, PREFIX_LEN, Prefix, Reader, Writer};
use super::error::{EnvelopeError, EnvelopeKind, Field, FieldProblem, Limit, Section};
use super::{EnvelopeLimits, PackageId, RECEIPT_DOMAIN, ReceiptId, Timestamp};

/// Longest edXML DocumentId a receipt carries, in bytes. Real ones
/// (`000.00.00.G22,2015/09/30,7816/VPCP-TTĐT`) are under 60; this leaves room while keeping a
/// receipt small enough to gossip.
pub const MAX_DOCUMENT_ID_LEN: usize = 256;

/// What a receipt states.
///
/// It names the package by id *and* repeats its sender, the recipient concerned and the
/// edXML DocumentId, so that a gossiped receipt can be understood (and routed) by a node that
/// never saw the package. It never carries any of the document's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptFields {
    /// The package the statement is about.
    pub package_id: PackageId,
    /// The package's sender.
    pub sender: OrganId,
    /// The package recipient the statement is about.
    pub recipient: OrganId,
    /// The edXML `DocumentId` of the package's document, when known.
    pub document_id: Option<String>,
    /// The status (QCVN 102:2016 table).
    pub code: StatusCode,
    /// When the issuer made the statement, by its own clock.
    pub issued_at: Timestamp,
    /// Free text: the reason for 02, 13 and 16. At most
    /// [`EnvelopeLimits::max_description_len`] characters.
    pub description: Option<String>,
}

impl ReceiptFields {
    /// The agency whose key must have signed this statement: the recipient, except for
    /// code 13 (take-back request), which the sender makes.
    pub fn issuer(&self) -> &OrganId {
        if self.code.is_from_sender() {
            &self.sender
        } else {
            &self.recipient
        }
    }
}

/// A [`ReceiptFields`] statement with the issuer's signature over its encoding.
///
/// Like [`SignedPackage`](super::SignedPackage), it only exists verified. Whether the signer
/// speaks for [`issuer`](Self::issuer) is for the node to check against the roster.
#[derive(Clone)]
pub struct SignedReceipt {
    id: ReceiptId,
    signer: PublicKey,
    signature: Signature,
    fields: ReceiptFields,
    /// The whole wire encoding, so that forwarding copies nothing.
    wire: Bytes,
    /// The signed bytes, a slice of `wire`.
    body: Bytes,
}

impl SignedReceipt {
    /// Signs `fields` with `key`.
    ///
    /// # Errors
    /// [`EnvelopeError::TooLarge`] when the description or document id is too long.
    pub fn sign(
        key: &AgencyKey,
        fields: ReceiptFields,
        limits: &EnvelopeLimits,
    ) -> Result<Self, EnvelopeError> {
        check_lengths(&fields, limits)?;
        let body = encode_body(&fields)?;
        let signature = key.sign(&body);
        let signer = key.public_key();
        let wire = encoding::assemble(EnvelopeKind::Receipt, &signer, &signature, &body, &[])?;
        Ok(SignedReceipt {
            id: ReceiptId::from_bytes(encoding::sha256(&body)),
            signer,
            signature,
            fields,
            body: wire.slice(PREFIX_LEN..),
            wire,
        })
    }

    /// Reads and verifies a receipt: sizes first, then the signer key and the signature over
    /// the body, and only then the body's fields, strictly.
    ///
    /// # Errors
    /// An [`EnvelopeError`] naming the first check that failed.
    pub fn from_wire(wire: Bytes, limits: &EnvelopeLimits) -> Result<Self, EnvelopeError> {
        Self::parse_unverified(wire, limits)?.verify_one(limits)
    }

    /// The statement of a receipt read back from one's own store, without checking its
    /// signature: for choosing which of many stored receipts to read with
    /// [`from_wire`](Self::from_wire), so that a scan of a long receipt log verifies only
    /// what it returns. Never act on what it gives for a receipt from the wire.
    ///
    /// # Errors
    /// An [`EnvelopeError`] naming the first check that failed, as `from_wire` would,
    /// except a bad signature.
    pub fn peek_stored(
        wire: &[u8],
        limits: &EnvelopeLimits,
    ) -> Result<ReceiptFields, EnvelopeError> {
        // The signer key is not read either: decompressing it costs as much as the rest.
        let prefix = Prefix::read(wire, EnvelopeKind::Receipt)?;
        let body_end = PREFIX_LEN.saturating_add(prefix.signed_len);
        let body = wire
            .get(PREFIX_LEN..body_end)
            .ok_or(EnvelopeError::Truncated {
                section: Section::ReceiptWire,
                offset: wire.len(),
                field: Field::SignedBytes,
            })?;
        decode_body(body, limits)
    }

    /// The checks of [`from_wire`](Self::from_wire) that come before the signature: the
    /// prefix, the sizes and the signer key. Batch reading
    /// ([`receipts_from_wire`](super::receipts_from_wire)) runs these on every receipt, then
    /// verifies all signatures at once, so that it and `from_wire` cannot drift apart.
    pub(crate) fn parse_unverified(
        wire: Bytes,
        limits: &EnvelopeLimits,
    ) -> Result<UnverifiedReceipt, EnvelopeError> {
        let prefix = Prefix::read(&wire, EnvelopeKind::Receipt)?;
        let max_body = limits.max_receipt_body_len();
        if prefix.signed_len > max_body {
            return Err(EnvelopeError::TooLarge {
                limit: Limit::ReceiptBody,
                found: prefix.signed_len as u64,
                max: max_body as u64,
            });
        }
        let body_end = PREFIX_LEN.saturating_add(prefix.signed_len);
        if wire.len() < body_end {
            return Err(EnvelopeError::Truncated {
                section: Section::ReceiptWire,
                offset: wire.len(),
                field: Field::SignedBytes,
            });
        }
        if wire.len() > body_end {
            return Err(EnvelopeError::TrailingBytes {
                section: Section::ReceiptWire,
                count: wire.len() - body_end,
            });
        }

        let signer = PublicKey::from_bytes(&prefix.signer).map_err(|source| {
            EnvelopeError::InvalidSigner {
                envelope: EnvelopeKind::Receipt,
                source,
            }
        })?;
        Ok(UnverifiedReceipt {
            signer,
            signature: prefix.signature,
            body: wire.slice(PREFIX_LEN..),
            wire,
        })
    }

    /// The wire encoding:
    /// `"LTRC" ‖ version ‖ signer (32) ‖ signature (64) ‖ body length (u32 BE) ‖ body`.
    pub fn to_wire(&self) -> Bytes {
        self.wire.clone()
    }

    /// The receipt id: SHA-256 of the signed body.
    pub fn id(&self) -> ReceiptId {
        self.id
    }

    /// The statement.
    pub fn fields(&self) -> &ReceiptFields {
        &self.fields
    }

    /// The package the statement is about.
    pub fn package_id(&self) -> PackageId {
        self.fields.package_id
    }

    /// The package's sender.
    pub fn sender(&self) -> &OrganId {
        &self.fields.sender
    }

    /// The package recipient the statement is about.
    pub fn recipient(&self) -> &OrganId {
        &self.fields.recipient
    }

    /// The edXML DocumentId, when the issuer gave it.
    pub fn document_id(&self) -> Option<&str> {
        self.fields.document_id.as_deref()
    }

    /// The status.
    pub fn code(&self) -> StatusCode {
        self.fields.code
    }

    /// When the statement was made.
    pub fn issued_at(&self) -> Timestamp {
        self.fields.issued_at
    }

    /// The free-text description.
    pub fn description(&self) -> Option<&str> {
        self.fields.description.as_deref()
    }

    /// The agency whose key must have signed this; see [`ReceiptFields::issuer`].
    pub fn issuer(&self) -> &OrganId {
        self.fields.issuer()
    }

    /// The key that signed it.
    pub fn signer(&self) -> &PublicKey {
        &self.signer
    }

    /// The signature over [`body_bytes`](Self::body_bytes).
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The signed bytes.
    pub fn body_bytes(&self) -> &Bytes {
        &self.body
    }
}

/// A receipt whose prefix, sizes and signer key are checked, and whose signature is not yet:
/// the only way to a [`SignedReceipt`] from here is through a signature check, one by one
/// ([`verify_one`](Self::verify_one)) or in a batch (`receipts_from_wire`).
pub(crate) struct UnverifiedReceipt {
    signer: PublicKey,
    signature: Signature,
    wire: Bytes,
    /// The bytes the signature is over, a slice of `wire`.
    body: Bytes,
}

impl UnverifiedReceipt {
    /// The key that claims to have signed it.
    pub(super) fn signer(&self) -> &PublicKey {
        &self.signer
    }

    /// The signature, not yet verified.
    pub(super) fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The bytes the signature must be over.
    pub(super) fn body(&self) -> &[u8] {
        &self.body
    }

    /// Verifies the signature with `verify_strict`, then decodes the fields: the rest of
    /// [`SignedReceipt::from_wire`].
    pub(crate) fn verify_one(
        self,
        limits: &EnvelopeLimits,
    ) -> Result<SignedReceipt, EnvelopeError> {
        self.signer
            .verify(&self.body, &self.signature)
            .map_err(|_| EnvelopeError::BadSignature {
                envelope: EnvelopeKind::Receipt,
            })?;
        self.decode_verified(limits)
    }

    /// Decodes the fields of a receipt whose signature the caller has verified (in a batch,
    /// with the same strictness as [`verify_one`](Self::verify_one)). Only the envelope
    /// module may call it, so that a receipt is never read without its signature checked.
    pub(super) fn decode_verified(
        self,
        limits: &EnvelopeLimits,
    ) -> Result<SignedReceipt, EnvelopeError> {
        let fields = decode_body(&self.body, limits)?;
        Ok(SignedReceipt {
            id: ReceiptId::from_bytes(encoding::sha256(&self.body)),
            signer: self.signer,
            signature: self.signature,
            fields,
            wire: self.wire,
            body: self.body,
        })
    }
}

impl fmt::Debug for UnverifiedReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnverifiedReceipt")
            .field("signer", &self.signer)
            .field("len", &self.wire.len())
            .finish_non_exhaustive()
    }
}

/// Equal when the wire encodings are equal.
impl PartialEq for SignedReceipt {
    fn eq(&self, other: &Self) -> bool {
        self.wire == other.wire
    }
}

impl Eq for SignedReceipt {}

impl fmt::Debug for SignedReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedReceipt")
            .field("id", &self.id)
            .field("fields", &self.fields)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

fn check_lengths(fields: &ReceiptFields, limits: &EnvelopeLimits) -> Result<(), EnvelopeError> {
    if let Some(document_id) = &fields.document_id {
        check_document_id(document_id)?;
    }
    if let Some(description) = &fields.description {
        check_description(description, limits)?;
    }
    Ok(())
}

fn check_document_id(document_id: &str) -> Result<(), EnvelopeError> {
    if document_id.len() > MAX_DOCUMENT_ID_LEN {
        return Err(EnvelopeError::TooLarge {
            limit: Limit::DocumentId,
            found: document_id.len() as u64,
            max: MAX_DOCUMENT_ID_LEN as u64,
        });
    }
    Ok(())
}

fn check_description(description: &str, limits: &EnvelopeLimits) -> Result<(), EnvelopeError> {
    // Bytes bound characters from above, so most texts skip the count.
    if description.len() > limits.max_description_len {
        let chars = description.chars().count();
        if chars > limits.max_description_len {
            return Err(EnvelopeError::TooLarge {
                limit: Limit::Description,
                found: chars as u64,
                max: limits.max_description_len as u64,
            });
        }
    }
    Ok(())
}

/// Body layout, after the domain:
/// `package id (32) ‖ sender ‖ recipient ‖ document id? ‖ code (u8) ‖ issued at (u64 millis) ‖
/// description?`.
pub(super) fn encode_body(fields: &ReceiptFields) -> Result<Vec<u8>, EnvelopeError> {
    let mut w = Writer::with_capacity(256);
    w.field(RECEIPT_DOMAIN.as_bytes())?;
    w.raw(fields.package_id.as_bytes());
    w.field(fields.sender.as_str().as_bytes())?;
    w.field(fields.recipient.as_str().as_bytes())?;
    w.optional(fields.document_id.as_deref().map(str::as_bytes))?;
    w.u8(fields.code.number());
    w.u64(fields.issued_at.as_millis());
    w.optional(fields.description.as_deref().map(str::as_bytes))?;
    Ok(w.into_vec())
}

fn decode_body(body: &[u8], limits: &EnvelopeLimits) -> Result<ReceiptFields, EnvelopeError> {
    let mut reader = Reader::new(body, Section::ReceiptBody);
    reader.domain(RECEIPT_DOMAIN, EnvelopeKind::Receipt)?;
    let package_id = PackageId::from_bytes(reader.array(Field::PackageId)?);
    let sender = reader.organ_id(Field::Sender)?;
    let recipient = reader.organ_id(Field::Recipient)?;
    let document_id = reader.optional_text(Field::DocumentId)?;
    if let Some(document_id) = document_id {
        check_document_id(document_id)?;
    }
    let code_at = reader.position();
    let code = StatusCode::from_number(reader.u8(Field::Code)?)
        .map_err(|e| reader.invalid(Field::Code, code_at, FieldProblem::UnknownStatusCode(e)))?;
    let issued_at = Timestamp::from_millis(reader.u64(Field::IssuedAt)?);
    let description = reader.optional_text(Field::Description)?;
    if let Some(description) = description {
        check_description(description, limits)?;
    }
    reader.finish()?;
    Ok(ReceiptFields {
        package_id,
        sender,
        recipient,
        document_id: document_id.map(str::to_owned),
        code,
        issued_at,
        description: description.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> OrganId {
        OrganId::parse(s).expect("valid id")
    }

    fn fields(code: StatusCode) -> ReceiptFields {
        ReceiptFields {
            package_id: PackageId::from_bytes([7; 32]),
            sender: id("000.00.00.G22"),
            recipient: id("000.00.00.H53"),
            document_id: Some("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT".into()),
            code,
            issued_at: Timestamp::from_millis(1_795_239_540_123),
            description: Some("Đã nhận văn bản".into()),
        }
    }

    fn key() -> AgencyKey {
        AgencyKey::from_bytes(&[9; 32])
    }

    #[test]
    fn round_trips() {
        let limits = EnvelopeLimits::default();
        for code in StatusCode::ALL {
            let receipt = SignedReceipt::sign(&key(), fields(code), &limits).expect("signs");
            let read = SignedReceipt::from_wire(receipt.to_wire(), &limits).expect("reads");
            assert_eq!(read, receipt);
            assert_eq!(read.fields(), &fields(code));
            assert_eq!(read.id(), receipt.id());
            assert_eq!(read.id().as_bytes(), &encoding::sha256(read.body_bytes()));
            assert!(read.to_wire().starts_with(b"LTRC\x01"));
        }
    }

    #[test]
    fn issuer_is_the_recipient_except_for_take_back_requests() {
        for code in StatusCode::ALL {
            let expected = if code == StatusCode::TakeBackRequested {
                "000.00.00.G22"
            } else {
                "000.00.00.H53"
            };
            assert_eq!(fields(code).issuer().as_str(), expected, "{code}");
        }
    }

    #[test]
    fn description_is_bounded_in_characters() {
        let limits = EnvelopeLimits {
            max_description_len: 5,
            ..EnvelopeLimits::default()
        };
        let mut ok = fields(StatusCode::Rejected);
        ok.description = Some("Từ chố".into()); // 6 characters
        assert!(matches!(
            SignedReceipt::sign(&key(), ok.clone(), &limits),
            Err(EnvelopeError::TooLarge {
                limit: Limit::Description,
                found: 6,
                max: 5
            })
        ));
        ok.description = Some("Từ ch".into()); // 5 characters, 6 bytes
        assert!(SignedReceipt::sign(&key(), ok, &limits).is_ok());
    }

    #[test]
    fn document_id_is_bounded() {
        let mut long = fields(StatusCode::Arrived);
        long.document_id = Some("x".repeat(MAX_DOCUMENT_ID_LEN + 1));
        assert!(matches!(
            SignedReceipt::sign(&key(), long, &EnvelopeLimits::default()),
            Err(EnvelopeError::TooLarge {
                limit: Limit::DocumentId,
                ..
            })
        ));
    }

    #[test]
    fn reader_rejects_a_long_description_even_when_validly_signed() {
        let receipt = SignedReceipt::sign(
            &key(),
            fields(StatusCode::Arrived),
            &EnvelopeLimits::default(),
        )
        .expect("signs");
        let strict = EnvelopeLimits {
            max_description_len: 3,
            ..EnvelopeLimits::default()
        };
        assert!(matches!(
            SignedReceipt::from_wire(receipt.to_wire(), &strict),
            Err(EnvelopeError::TooLarge {
                limit: Limit::Description,
                ..
            })
        ));
    }

    #[test]
    fn unknown_code_after_verification_is_an_invalid_field() {
        let mut body = encode_body(&fields(StatusCode::Arrived)).expect("encodes");
        // The code byte sits just before the 8-byte time and the description.
        let code_at = body.len() - 8 - (1 + 4 + "Đã nhận văn bản".len()) - 1;
        assert_eq!(body[code_at], 1);
        body[code_at] = 14;
        let signature = key().sign(&body);
        let wire = encoding::assemble(
            EnvelopeKind::Receipt,
            &key().public_key(),
            &signature,
            &body,
            &[],
        )
        .expect("assembles");
        match SignedReceipt::from_wire(wire, &EnvelopeLimits::default()) {
            Err(EnvelopeError::InvalidField {
                section: Section::ReceiptBody,
                field: Field::Code,
                offset,
                problem: FieldProblem::UnknownStatusCode(_),
            }) => assert_eq!(offset, code_at),
            other => panic!("unexpected {other:?}"),
        }
    }
}
