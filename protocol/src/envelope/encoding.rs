//! The byte encoding shared by packages and receipts: the wire prefix, and a writer and a
//! bounds-checked reader for the signed fields.
//!
//! Variable-length fields (text, the domain) carry a `u32` big-endian length prefix;
//! integers are big-endian at their fixed width; an optional field is a presence byte
//! (0 for absent, 1 for present) followed by the field when present. Since the layout of each version is fixed, this gives every
//! value exactly one encoding, which is what makes "sign bytes, not trees" sound. The reader
//! never indexes past its input: every read goes through [`Reader::take`], which reports
//! where the input ended and which field it was reading.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::keys::{PUBLIC_KEY_LEN, PublicKey, SIGNATURE_LEN, Signature};
use crate::organ_id::OrganId;

use super::error::{EnvelopeError, EnvelopeKind, Field, FieldProblem, Limit, Section};
use super::{PACKAGE_MAGIC, RECEIPT_MAGIC, WIRE_VERSION};

/// Bytes of a length prefix.
pub(super) const FIELD_PREFIX_LEN: usize = 4;

/// Bytes before the signed bytes: magic, version, signer, signature, signed length.
pub(super) const PREFIX_LEN: usize = 4 + 1 + PUBLIC_KEY_LEN + SIGNATURE_LEN + 4;

/// SHA-256 of `bytes`.
pub(super) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn magic(kind: EnvelopeKind) -> &'static [u8; 4] {
    match kind {
        EnvelopeKind::Package => PACKAGE_MAGIC,
        EnvelopeKind::Receipt => RECEIPT_MAGIC,
    }
}

fn wire_section(kind: EnvelopeKind) -> Section {
    match kind {
        EnvelopeKind::Package => Section::PackageWire,
        EnvelopeKind::Receipt => Section::ReceiptWire,
    }
}

/// The fixed-size start of an envelope, read but not yet checked.
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
    pub(super) fn read(wire: &[u8], kind: EnvelopeKind) -> Result<Prefix, EnvelopeError> {
        let expected = magic(kind);
        let head = &wire[..wire.len().min(expected.len())];
        if !expected.starts_with(head) {
            return Err(EnvelopeError::BadMagic { envelope: kind });
        }
        let mut reader = Reader::new(wire, wire_section(kind));
        reader.take(expected.len(), Field::Magic)?;
        let version = reader.u8(Field::Version)?;
        if version != WIRE_VERSION {
            return Err(EnvelopeError::UnsupportedVersion {
                envelope: kind,
                found: version,
            });
        }
        let signer = reader.array(Field::Signer)?;
        let signature = Signature::from_bytes(&reader.array(Field::Signature)?);
        let signed_len = reader.u32(Field::SignedLength)? as usize;
        Ok(Prefix {
            signer,
            signature,
            signed_len,
        })
    }
}

/// Lays out a whole envelope: prefix, signed bytes, then `content` (empty for receipts).
pub(super) fn assemble(
    kind: EnvelopeKind,
    signer: &PublicKey,
    signature: &Signature,
    signed: &[u8],
    content: &[u8],
) -> Result<Bytes, EnvelopeError> {
    let signed_len = u32::try_from(signed.len()).map_err(|_| EnvelopeError::TooLarge {
        limit: match kind {
            EnvelopeKind::Package => Limit::PackageHeader,
            EnvelopeKind::Receipt => Limit::ReceiptBody,
        },
        found: signed.len() as u64,
        max: u64::from(u32::MAX),
    })?;
    let mut wire = Vec::with_capacity(PREFIX_LEN + signed.len() + content.len());
    wire.extend_from_slice(magic(kind));
    wire.push(WIRE_VERSION);
    wire.extend_from_slice(signer.as_bytes());
    wire.extend_from_slice(signature.as_bytes());
    wire.extend_from_slice(&signed_len.to_be_bytes());
    wire.extend_from_slice(signed);
    wire.extend_from_slice(content);
    Ok(Bytes::from(wire))
}

/// Builds signed bytes.
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

    pub(super) fn u8(&mut self, value: u8) {
        self.buf.push(value);
    }

    pub(super) fn u32(&mut self, value: u32) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    pub(super) fn u64(&mut self, value: u64) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    /// Fixed-width bytes, no prefix.
    pub(super) fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// A length-prefixed field.
    ///
    /// # Errors
    /// [`EnvelopeError::TooLarge`] when the value does not fit a `u32` prefix; callers check
    /// their own, smaller limits first, so this only guards against absurd configurations.
    pub(super) fn field(&mut self, bytes: &[u8]) -> Result<(), EnvelopeError> {
        let len = u32::try_from(bytes.len()).map_err(|_| EnvelopeError::TooLarge {
            limit: Limit::FieldLength,
            found: bytes.len() as u64,
            max: u64::from(u32::MAX),
        })?;
        self.u32(len);
        self.raw(bytes);
        Ok(())
    }

    /// A presence byte, then the field if present.
    pub(super) fn optional(&mut self, value: Option<&[u8]>) -> Result<(), EnvelopeError> {
        match value {
            None => {
                self.u8(0);
                Ok(())
            }
            Some(bytes) => {
                self.u8(1);
                self.field(bytes)
            }
        }
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
    section: Section,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8], section: Section) -> Self {
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

    /// The next `len` bytes, or [`EnvelopeError::Truncated`] naming `field`.
    pub(super) fn take(&mut self, len: usize, field: Field) -> Result<&'a [u8], EnvelopeError> {
        let slice = self
            .pos
            .checked_add(len)
            .and_then(|end| self.bytes.get(self.pos..end))
            .ok_or(EnvelopeError::Truncated {
                section: self.section,
                offset: self.bytes.len(),
                field,
            })?;
        self.pos += len;
        Ok(slice)
    }

    pub(super) fn array<const N: usize>(&mut self, field: Field) -> Result<[u8; N], EnvelopeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub(super) fn u8(&mut self, field: Field) -> Result<u8, EnvelopeError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(super) fn u32(&mut self, field: Field) -> Result<u32, EnvelopeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub(super) fn u64(&mut self, field: Field) -> Result<u64, EnvelopeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// A length-prefixed field.
    pub(super) fn field(&mut self, field: Field) -> Result<&'a [u8], EnvelopeError> {
        let len = self.u32(field)? as usize;
        self.take(len, field)
    }

    /// A length-prefixed UTF-8 field.
    pub(super) fn text(&mut self, field: Field) -> Result<&'a str, EnvelopeError> {
        let start = self.pos;
        let bytes = self.field(field)?;
        std::str::from_utf8(bytes).map_err(|_| self.invalid(field, start, FieldProblem::NotUtf8))
    }

    /// An optional length-prefixed UTF-8 field.
    pub(super) fn optional_text(&mut self, field: Field) -> Result<Option<&'a str>, EnvelopeError> {
        let start = self.pos;
        match self.u8(field)? {
            0 => Ok(None),
            1 => self.text(field).map(Some),
            other => Err(self.invalid(field, start, FieldProblem::BadPresence(other))),
        }
    }

    /// An agency id, exactly as [`OrganId::parse`] would keep it (no surrounding
    /// whitespace, so each id has one encoding).
    pub(super) fn organ_id(&mut self, field: Field) -> Result<OrganId, EnvelopeError> {
        let start = self.pos;
        let text = self.text(field)?;
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
        envelope: EnvelopeKind,
    ) -> Result<(), EnvelopeError> {
        if self.field(Field::Domain)? != expected.as_bytes() {
            return Err(EnvelopeError::WrongDomain { envelope, expected });
        }
        Ok(())
    }

    /// An [`EnvelopeError::InvalidField`] for a field that starts at `offset`.
    pub(super) fn invalid(
        &self,
        field: Field,
        offset: usize,
        problem: FieldProblem,
    ) -> EnvelopeError {
        EnvelopeError::InvalidField {
            section: self.section,
            field,
            offset,
            problem,
        }
    }

    /// Succeeds only if everything was read.
    pub(super) fn finish(self) -> Result<(), EnvelopeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(EnvelopeError::TrailingBytes {
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
        w.field(b"lienthong/test").expect("small");
        w.u8(7);
        w.u32(0xdead_beef);
        w.u64(1 << 40);
        w.optional(None).expect("small");
        w.optional(Some("Sở Nội vụ".as_bytes())).expect("small");
        w.field(b"000.00.00.G22").expect("small");
        let bytes = w.into_vec();

        let mut r = Reader::new(&bytes, Section::ReceiptBody);
        assert_eq!(r.field(Field::Domain).ok(), Some(&b"lienthong/test"[..]));
        assert_eq!(r.u8(Field::Kind).ok(), Some(7));
        assert_eq!(r.u32(Field::RecipientCount).ok(), Some(0xdead_beef));
        assert_eq!(r.u64(Field::IssuedAt).ok(), Some(1 << 40));
        assert_eq!(r.optional_text(Field::DocumentId).ok(), Some(None));
        assert_eq!(
            r.optional_text(Field::Description).ok(),
            Some(Some("Sở Nội vụ"))
        );
        assert_eq!(
            r.organ_id(Field::Sender).ok().as_ref().map(OrganId::as_str),
            Some("000.00.00.G22")
        );
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn truncation_names_the_field_and_the_end() {
        let mut w = Writer::default();
        w.field(b"abcdef").expect("small");
        let bytes = w.into_vec();
        let mut r = Reader::new(&bytes[..7], Section::PackageHeader);
        let err = r.text(Field::RecipientAt(2)).expect_err("truncated");
        assert_eq!(
            err.to_string(),
            "package header truncated at byte 7 while reading recipient 2"
        );
    }

    #[test]
    fn huge_length_prefix_is_truncation_not_overflow() {
        let bytes = [0xff, 0xff, 0xff, 0xff, 1, 2, 3];
        let mut r = Reader::new(&bytes, Section::ReceiptBody);
        assert!(matches!(
            r.field(Field::Description),
            Err(EnvelopeError::Truncated { offset: 7, .. })
        ));
    }

    #[test]
    fn rejects_non_canonical_and_invalid_text() {
        for (value, problem) in [
            (&b" 000.00.00.G22"[..], "agency id is not in canonical form"),
            (&b"000.00/00.G22"[..], "not an agency id"),
            (&b"\xff"[..], "text is not utf-8"),
        ] {
            let mut w = Writer::default();
            w.u8(0);
            w.field(value).expect("small");
            let bytes = w.into_vec();
            let mut r = Reader::new(&bytes, Section::ReceiptBody);
            r.u8(Field::Code).expect("one byte");
            match r.organ_id(Field::Sender) {
                Err(EnvelopeError::InvalidField {
                    offset: 1,
                    field: Field::Sender,
                    problem: p,
                    ..
                }) => assert_eq!(p.to_string(), problem),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn trailing_bytes_are_counted() {
        let bytes = [1u8, 2, 3];
        let mut r = Reader::new(&bytes, Section::ReceiptBody);
        r.u8(Field::Code).expect("one byte");
        assert_eq!(
            r.finish(),
            Err(EnvelopeError::TrailingBytes {
                section: Section::ReceiptBody,
                count: 2
            })
        );
    }

    #[test]
    fn prefix_reports_magic_version_and_truncation() {
        assert_eq!(
            Prefix::read(b"LTRC", EnvelopeKind::Package).err(),
            Some(EnvelopeError::BadMagic {
                envelope: EnvelopeKind::Package
            })
        );
        assert_eq!(
            Prefix::read(b"LT", EnvelopeKind::Package).err(),
            Some(EnvelopeError::Truncated {
                section: Section::PackageWire,
                offset: 2,
                field: Field::Magic
            })
        );
        assert_eq!(
            Prefix::read(b"LTPK\x02", EnvelopeKind::Package).err(),
            Some(EnvelopeError::UnsupportedVersion {
                envelope: EnvelopeKind::Package,
                found: 2
            })
        );
        assert_eq!(
            Prefix::read(b"LTPK\x01abc", EnvelopeKind::Package).err(),
            Some(EnvelopeError::Truncated {
                section: Section::PackageWire,
                offset: 8,
                field: Field::Signer
            })
        );
    }
}
