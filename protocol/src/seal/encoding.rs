//! The byte encoding of sealed packages and hold acknowledgements: the same rules as the
//! envelopes' (see `envelope/encoding.rs`), with errors that name this module's fields.
//!
//! Variable-length fields carry a `u32` big-endian length prefix, integers are big-endian at
//! their fixed width, and every read goes through [`Reader::take`], which never reads past
//! the end and reports where the input ended and which field it was reading.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::envelope::{FieldProblem, WIRE_VERSION};
use crate::keys::{PUBLIC_KEY_LEN, PublicKey, SIGNATURE_LEN, Signature};
use crate::organ_id::OrganId;

use super::error::{SealError, SealField, SealKind, SealLimit, SealSection};
use super::{HOLD_MAGIC, SEALED_MAGIC};

/// Bytes of a length prefix.
pub(super) const FIELD_PREFIX_LEN: usize = 4;

/// Bytes before the signed bytes: magic, version, signer, signature, signed length.
pub(super) const PREFIX_LEN: usize = 4 + 1 + PUBLIC_KEY_LEN + SIGNATURE_LEN + 4;

/// SHA-256 of `bytes`.
pub(super) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn magic(kind: SealKind) -> &'static [u8; 4] {
    match kind {
        SealKind::Sealed => SEALED_MAGIC,
        SealKind::Hold => HOLD_MAGIC,
    }
}

fn wire_section(kind: SealKind) -> SealSection {
    match kind {
        SealKind::Sealed => SealSection::SealedWire,
        SealKind::Hold => SealSection::HoldWire,
    }
}

/// The fixed-size start of a sealed package or hold, read but not yet checked.
#[derive(Debug)]
pub(super) struct Prefix {
    /// The signer's key bytes; not yet known to be a point.
    pub(super) signer: [u8; PUBLIC_KEY_LEN],
    /// The signature, not yet verified.
    pub(super) signature: Signature,
    /// The declared length of the signed bytes that follow.
    pub(super) signed_len: usize,
}

impl Prefix {
    /// Reads magic, version, signer, signature and signed length from the start of `wire`.
    pub(super) fn read(wire: &[u8], kind: SealKind) -> Result<Prefix, SealError> {
        let expected = magic(kind);
        let head = &wire[..wire.len().min(expected.len())];
        if !expected.starts_with(head) {
            return Err(SealError::BadMagic { what: kind });
        }
        let mut reader = Reader::new(wire, wire_section(kind));
        reader.take(expected.len(), SealField::Magic)?;
        let version = reader.u8(SealField::Version)?;
        if version != WIRE_VERSION {
            return Err(SealError::UnsupportedVersion {
                what: kind,
                found: version,
            });
        }
        let signer = reader.array(SealField::Signer)?;
        let signature = Signature::from_bytes(&reader.array(SealField::Signature)?);
        let signed_len = reader.u32(SealField::SignedLength)? as usize;
        Ok(Prefix {
            signer,
            signature,
            signed_len,
        })
    }

    /// The signer as a usable key, and the signature checked over `signed` with
    /// `verify_strict`.
    pub(super) fn verify(&self, signed: &[u8], kind: SealKind) -> Result<PublicKey, SealError> {
        let signer = PublicKey::from_bytes(&self.signer)
            .map_err(|source| SealError::InvalidSigner { what: kind, source })?;
        signer
            .verify(signed, &self.signature)
            .map_err(|_| SealError::BadSignature { what: kind })?;
        Ok(signer)
    }
}

/// Lays out a whole sealed package or hold: prefix, signed bytes, then `rest` (the
/// ciphertext; empty for a hold). The caller has bounded `signed` far below `u32::MAX`.
pub(super) fn assemble(
    kind: SealKind,
    signer: &PublicKey,
    signature: &Signature,
    signed: &[u8],
    rest: &[u8],
) -> Result<Bytes, SealError> {
    let signed_len = u32::try_from(signed.len()).map_err(|_| SealError::TooLarge {
        limit: match kind {
            SealKind::Sealed => SealLimit::SealedHeader,
            SealKind::Hold => SealLimit::HoldBody,
        },
        found: signed.len() as u64,
        max: u64::from(u32::MAX),
    })?;
    let mut wire = Vec::with_capacity(PREFIX_LEN + signed.len() + rest.len());
    wire.extend_from_slice(magic(kind));
    wire.push(WIRE_VERSION);
    wire.extend_from_slice(signer.as_bytes());
    wire.extend_from_slice(signature.as_bytes());
    wire.extend_from_slice(&signed_len.to_be_bytes());
    wire.extend_from_slice(signed);
    wire.extend_from_slice(rest);
    Ok(Bytes::from(wire))
}

/// Builds signed bytes. Every field written here is bounded (domains, agency ids, fixed
/// widths), so nothing can overflow a length prefix.
#[derive(Debug, Default)]
pub(super) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(capacity),
        }
    }

    pub(super) fn u64(&mut self, value: u64) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    /// Fixed-width bytes, no prefix.
    pub(super) fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// A length-prefixed field of at most a few hundred bytes (a domain or an agency id).
    pub(super) fn short_field(&mut self, bytes: &[u8]) {
        // Domains and agency ids are at most `MAX_ORGAN_ID_LEN` bytes.
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.raw(bytes);
    }

    pub(super) fn organ_id(&mut self, id: &OrganId) {
        self.short_field(id.as_str().as_bytes());
    }

    pub(super) fn into_vec(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads signed bytes, or the wire prefix, without ever reading past the end.
#[derive(Debug)]
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    section: SealSection,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8], section: SealSection) -> Self {
        Reader {
            bytes,
            pos: 0,
            section,
        }
    }

    /// Where the next read starts.
    pub(super) fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub(super) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The next `len` bytes, or [`SealError::Truncated`] naming `field`.
    pub(super) fn take(&mut self, len: usize, field: SealField) -> Result<&'a [u8], SealError> {
        let slice = self
            .pos
            .checked_add(len)
            .and_then(|end| self.bytes.get(self.pos..end))
            .ok_or(SealError::Truncated {
                section: self.section,
                offset: self.bytes.len(),
                field,
            })?;
        self.pos += len;
        Ok(slice)
    }

    pub(super) fn array<const N: usize>(&mut self, field: SealField) -> Result<[u8; N], SealError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub(super) fn u8(&mut self, field: SealField) -> Result<u8, SealError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(super) fn u32(&mut self, field: SealField) -> Result<u32, SealError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub(super) fn u64(&mut self, field: SealField) -> Result<u64, SealError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// A length-prefixed field.
    pub(super) fn field(&mut self, field: SealField) -> Result<&'a [u8], SealError> {
        let len = self.u32(field)? as usize;
        self.take(len, field)
    }

    /// An agency id, exactly as [`OrganId::parse`] would keep it: UTF-8, no surrounding
    /// whitespace, so each id has one encoding.
    pub(super) fn organ_id(&mut self, field: SealField) -> Result<OrganId, SealError> {
        let start = self.pos;
        let bytes = self.field(field)?;
        let text = std::str::from_utf8(bytes)
            .map_err(|_| self.invalid(field, start, FieldProblem::NotUtf8))?;
        let id = OrganId::parse(text)
            .map_err(|e| self.invalid(field, start, FieldProblem::OrganId(e)))?;
        if id.as_str() != text {
            return Err(self.invalid(field, start, FieldProblem::NotCanonical));
        }
        Ok(id)
    }

    /// Checks that the signed bytes open with `expected` as their domain.
    pub(super) fn domain(
        &mut self,
        expected: &'static str,
        what: SealKind,
    ) -> Result<(), SealError> {
        if self.field(SealField::Domain)? != expected.as_bytes() {
            return Err(SealError::WrongDomain { what, expected });
        }
        Ok(())
    }

    /// A [`SealError::InvalidField`] for a field that starts at `offset`.
    pub(super) fn invalid(
        &self,
        field: SealField,
        offset: usize,
        problem: FieldProblem,
    ) -> SealError {
        SealError::InvalidField {
            section: self.section,
            field,
            offset,
            problem,
        }
    }

    /// Succeeds only if everything was read.
    pub(super) fn finish(self) -> Result<(), SealError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(SealError::TrailingBytes {
                section: self.section,
                count,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_and_reader_agree() {
        let mut w = Writer::default();
        w.short_field(b"lienthong/test");
        w.u64(1 << 40);
        w.raw(&[7; 32]);
        w.organ_id(&OrganId::parse("000.00.00.G22").expect("valid"));
        let bytes = w.into_vec();

        let mut r = Reader::new(&bytes, SealSection::HoldBody);
        assert_eq!(r.domain("lienthong/test", SealKind::Hold), Ok(()));
        assert_eq!(r.u64(SealField::HeldAt), Ok(1 << 40));
        assert_eq!(r.array::<32>(SealField::PackageId), Ok([7; 32]));
        assert_eq!(
            r.organ_id(SealField::Relay)
                .map(|id| id.as_str().to_owned()),
            Ok("000.00.00.G22".to_owned())
        );
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn huge_length_prefix_is_truncation_not_overflow() {
        let bytes = [0xff, 0xff, 0xff, 0xff, 1, 2, 3];
        let mut r = Reader::new(&bytes, SealSection::SealedHeader);
        assert_eq!(
            r.field(SealField::Sender),
            Err(SealError::Truncated {
                section: SealSection::SealedHeader,
                offset: 7,
                field: SealField::Sender
            })
        );
    }

    #[test]
    fn rejects_non_canonical_and_invalid_ids() {
        for (value, problem) in [
            (&b" 000.00.00.G22"[..], "agency id is not in canonical form"),
            (&b"000.00/00.G22"[..], "not an agency id"),
            (&b"\xff"[..], "text is not utf-8"),
        ] {
            let mut w = Writer::default();
            w.short_field(value);
            let bytes = w.into_vec();
            let mut r = Reader::new(&bytes, SealSection::SealedHeader);
            match r.organ_id(SealField::Recipient) {
                Err(SealError::InvalidField {
                    offset: 0,
                    problem: p,
                    ..
                }) => assert_eq!(p.to_string(), problem),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn prefix_reports_magic_version_and_truncation() {
        assert_eq!(
            Prefix::read(b"LTPK", SealKind::Sealed).err(),
            Some(SealError::BadMagic {
                what: SealKind::Sealed
            })
        );
        assert_eq!(
            Prefix::read(b"LT", SealKind::Hold).err(),
            Some(SealError::Truncated {
                section: SealSection::HoldWire,
                offset: 2,
                field: SealField::Magic
            })
        );
        assert_eq!(
            Prefix::read(b"LTSP\x02", SealKind::Sealed).err(),
            Some(SealError::UnsupportedVersion {
                what: SealKind::Sealed,
                found: 2
            })
        );
        assert_eq!(
            Prefix::read(b"LTHD\x01abc", SealKind::Hold).err(),
            Some(SealError::Truncated {
                section: SealSection::HoldWire,
                offset: 8,
                field: SealField::Signer
            })
        );
    }
}
