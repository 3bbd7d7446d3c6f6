//! The relay's signed "I hold package P for recipient R since T".

use std::fmt;

use bytes::Bytes;

use crate::envelope::{PackageId, Timestamp};
use crate::keys::{AgencyKey, PublicKey, Signature};
use crate::organ_id::OrganId;

use super::encoding::{self, PREFIX_LEN, Prefix, Reader, Writer};
use super::error::{SealError, SealField, SealKind, SealLimit, SealSection};
use super::{HOLD_DOMAIN, MAX_HOLD_BODY_LEN, SealedPackage};

/// What a relay states when it takes a sealed package into a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldFields {
    /// The package held (the id in the sealed header).
    pub package_id: PackageId,
    /// Its sender.
    pub sender: OrganId,
    /// The recipient it is held for.
    pub recipient: OrganId,
    /// The relay holding it; the signer must speak for this agency (the roster decides).
    pub relay: OrganId,
    /// Since when, by the relay's clock.
    pub held_at: Timestamp,
}

impl HoldFields {
    /// The statement a relay makes about `sealed`, held since `held_at`.
    pub fn for_sealed(sealed: &SealedPackage, relay: OrganId, held_at: Timestamp) -> Self {
        HoldFields {
            package_id: sealed.id(),
            sender: sealed.sender().clone(),
            recipient: sealed.recipient().clone(),
            relay,
            held_at,
        }
    }
}

/// A relay's signed statement that it holds a package for a recipient.
///
/// It tells the sender that it may stop trying the recipient directly and where the package
/// waits. It is **not** a receipt: nothing in it comes from the recipient, so the package
/// is not delivered until the recipient's own receipt 01 arrives (through the relay or
/// directly). Like the envelopes, it only exists verified; whether the signer speaks for
/// [`relay`](Self::relay), and whether that agency is one of the recipient's relays, is for
/// the node to check against the roster.
#[derive(Clone)]
pub struct SignedHold {
    signer: PublicKey,
    signature: Signature,
    fields: HoldFields,
    /// The whole wire encoding.
    wire: Bytes,
    /// The signed body, a slice of `wire`.
    body: Bytes,
}

impl SignedHold {
    /// Signs `fields` with the relay's `key`.
    ///
    /// # Errors
    /// None in practice: every field is bounded, so the body always fits. The `Result` keeps
    /// the signature of the other `sign`s.
    pub fn sign(key: &AgencyKey, fields: HoldFields) -> Result<Self, SealError> {
        let body = encode_body(&fields);
        let signature = key.sign(&body);
        let signer = key.public_key();
        let wire = encoding::assemble(SealKind::Hold, &signer, &signature, &body, &[])?;
        Ok(SignedHold {
            signer,
            signature,
            fields,
            body: wire.slice(PREFIX_LEN..),
            wire,
        })
    }

    /// Reads and verifies a hold acknowledgement: sizes first, then the signer key and the
    /// signature over the body (`verify_strict`), and only then the body's fields, strictly.
    ///
    /// # Errors
    /// A [`SealError`] naming the first check that failed.
    pub fn from_wire(wire: Bytes) -> Result<Self, SealError> {
        let prefix = Prefix::read(&wire, SealKind::Hold)?;
        if prefix.signed_len > MAX_HOLD_BODY_LEN {
            return Err(SealError::TooLarge {
                limit: SealLimit::HoldBody,
                found: prefix.signed_len as u64,
                max: MAX_HOLD_BODY_LEN as u64,
            });
        }
        let body_end = PREFIX_LEN + prefix.signed_len;
        if wire.len() < body_end {
            return Err(SealError::Truncated {
                section: SealSection::HoldWire,
                offset: wire.len(),
                field: SealField::SignedBytes,
            });
        }
        if wire.len() > body_end {
            return Err(SealError::TrailingBytes {
                section: SealSection::HoldWire,
                count: wire.len() - body_end,
            });
        }
        let body = wire.slice(PREFIX_LEN..);
        let signer = prefix.verify(&body, SealKind::Hold)?;
        let fields = decode_body(&body)?;
        Ok(SignedHold {
            signer,
            signature: prefix.signature,
            fields,
            wire,
            body,
        })
    }

    /// The wire encoding:
    /// `"LTHD" ‖ version ‖ signer (32) ‖ signature (64) ‖ body length (u32 BE) ‖ body`.
    pub fn to_wire(&self) -> Bytes {
        self.wire.clone()
    }

    /// The statement.
    pub fn fields(&self) -> &HoldFields {
        &self.fields
    }

    /// The package held.
    pub fn package_id(&self) -> PackageId {
        self.fields.package_id
    }

    /// The package's sender.
    pub fn sender(&self) -> &OrganId {
        &self.fields.sender
    }

    /// The recipient it is held for.
    pub fn recipient(&self) -> &OrganId {
        &self.fields.recipient
    }

    /// The relay holding it.
    pub fn relay(&self) -> &OrganId {
        &self.fields.relay
    }

    /// Since when.
    pub fn held_at(&self) -> Timestamp {
        self.fields.held_at
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

/// Equal when the wire encodings are equal.
impl PartialEq for SignedHold {
    fn eq(&self, other: &Self) -> bool {
        self.wire == other.wire
    }
}

impl Eq for SignedHold {}

impl fmt::Debug for SignedHold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedHold")
            .field("fields", &self.fields)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

/// Body layout, after the domain:
/// `package id (32) ‖ sender ‖ recipient ‖ relay ‖ held at (u64 millis)`.
fn encode_body(fields: &HoldFields) -> Vec<u8> {
    let mut w = Writer::with_capacity(MAX_HOLD_BODY_LEN);
    w.short_field(HOLD_DOMAIN.as_bytes());
    w.raw(fields.package_id.as_bytes());
    w.organ_id(&fields.sender);
    w.organ_id(&fields.recipient);
    w.organ_id(&fields.relay);
    w.u64(fields.held_at.as_millis());
    w.into_vec()
}

fn decode_body(body: &[u8]) -> Result<HoldFields, SealError> {
    let mut reader = Reader::new(body, SealSection::HoldBody);
    reader.domain(HOLD_DOMAIN, SealKind::Hold)?;
    let package_id = PackageId::from_bytes(reader.array(SealField::PackageId)?);
    let sender = reader.organ_id(SealField::Sender)?;
    let recipient = reader.organ_id(SealField::Recipient)?;
    let relay = reader.organ_id(SealField::Relay)?;
    let held_at = Timestamp::from_millis(reader.u64(SealField::HeldAt)?);
    reader.finish()?;
    Ok(HoldFields {
        package_id,
        sender,
        recipient,
        relay,
        held_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> OrganId {
        OrganId::parse(s).expect("valid id")
    }

    fn fields() -> HoldFields {
        HoldFields {
            package_id: PackageId::from_bytes([9; 32]),
            sender: id("000.00.00.G22"),
            recipient: id("000.00.00.H53"),
            relay: id("000.00.99.H53"),
            held_at: Timestamp::from_millis(1_795_239_540_123),
        }
    }

    fn key() -> AgencyKey {
        AgencyKey::from_bytes(&[31; 32])
    }

    #[test]
    fn round_trips() {
        let hold = SignedHold::sign(&key(), fields()).expect("signs");
        let read = SignedHold::from_wire(hold.to_wire()).expect("reads");
        assert_eq!(read, hold);
        assert_eq!(read.fields(), &fields());
        assert_eq!(read.signer(), &key().public_key());
        assert!(read.to_wire().starts_with(b"LTHD\x01"));
        assert!(read.to_wire().len() <= super::super::MAX_HOLD_LEN);
    }

    #[test]
    fn a_body_signed_under_another_domain_is_refused() {
        let mut body = encode_body(&fields());
        body[4..8].copy_from_slice(b"LIEN");
        let signature = key().sign(&body);
        let wire = encoding::assemble(SealKind::Hold, &key().public_key(), &signature, &body, &[])
            .expect("assembles");
        assert_eq!(
            SignedHold::from_wire(wire),
            Err(SealError::WrongDomain {
                what: SealKind::Hold,
                expected: HOLD_DOMAIN
            })
        );
    }

    #[test]
    fn trailing_bytes_in_a_signed_body_are_refused() {
        let mut body = encode_body(&fields());
        body.push(0);
        let signature = key().sign(&body);
        let wire = encoding::assemble(SealKind::Hold, &key().public_key(), &signature, &body, &[])
            .expect("assembles");
        assert_eq!(
            SignedHold::from_wire(wire),
            Err(SealError::TrailingBytes {
                section: SealSection::HoldBody,
                count: 1
            })
        );
    }
}
