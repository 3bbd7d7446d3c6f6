//! The byte encoding of packages and receipts: the rules every signed object shares
//! (`crate::encoding`), with errors that name this module's sections and fields.

use bytes::Bytes;

use crate::encoding::Format;
use crate::keys::{KeyError, PublicKey, Signature};

use super::error::{EnvelopeError, EnvelopeKind, Field, FieldProblem, Limit, Section};
use super::{PACKAGE_MAGIC, RECEIPT_MAGIC};

pub(super) use crate::encoding::{FIELD_PREFIX_LEN, PREFIX_LEN, sha256};
#[cfg(test)]
use crate::organ_id::OrganId;

/// Packages and receipts, as a family of signed objects.
#[derive(Debug, Clone, Copy)]
pub(super) struct Envelope;

/// The fixed-size start of an envelope, read but not yet checked.
pub(super) type Prefix = crate::encoding::Prefix<Envelope>;
/// Builds signed bytes.
pub(super) type Writer = crate::encoding::Writer<Envelope>;
/// Reads signed bytes, or the wire prefix, without ever reading past the end.
pub(super) type Reader<'a> = crate::encoding::Reader<'a, Envelope>;

/// Lays out a whole envelope: prefix, signed bytes, then `content` (empty for receipts).
pub(super) fn assemble(
    kind: EnvelopeKind,
    signer: &PublicKey,
    signature: &Signature,
    signed: &[u8],
    content: &[u8],
) -> Result<Bytes, EnvelopeError> {
    crate::encoding::assemble::<Envelope>(kind, signer, signature, signed, content)
}

impl Format for Envelope {
    type Kind = EnvelopeKind;
    type Section = Section;
    type Field = Field;
    type Error = EnvelopeError;

    const MAGIC: Field = Field::Magic;
    const VERSION: Field = Field::Version;
    const SIGNER: Field = Field::Signer;
    const SIGNATURE: Field = Field::Signature;
    const SIGNED_LENGTH: Field = Field::SignedLength;
    const DOMAIN: Field = Field::Domain;

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

    fn bad_magic(envelope: EnvelopeKind) -> EnvelopeError {
        EnvelopeError::BadMagic { envelope }
    }

    fn unsupported_version(envelope: EnvelopeKind, found: u8) -> EnvelopeError {
        EnvelopeError::UnsupportedVersion { envelope, found }
    }

    fn truncated(section: Section, offset: usize, field: Field) -> EnvelopeError {
        EnvelopeError::Truncated {
            section,
            offset,
            field,
        }
    }

    fn invalid(
        section: Section,
        field: Field,
        offset: usize,
        problem: FieldProblem,
    ) -> EnvelopeError {
        EnvelopeError::InvalidField {
            section,
            field,
            offset,
            problem,
        }
    }

    fn trailing(section: Section, count: usize) -> EnvelopeError {
        EnvelopeError::TrailingBytes { section, count }
    }

    fn wrong_domain(envelope: EnvelopeKind, expected: &'static str) -> EnvelopeError {
        EnvelopeError::WrongDomain { envelope, expected }
    }

    fn signed_too_large(kind: EnvelopeKind, found: u64) -> EnvelopeError {
        EnvelopeError::TooLarge {
            limit: match kind {
                EnvelopeKind::Package => Limit::PackageHeader,
                EnvelopeKind::Receipt => Limit::ReceiptBody,
            },
            found,
            max: u64::from(u32::MAX),
        }
    }

    fn field_too_large(found: u64) -> EnvelopeError {
        EnvelopeError::TooLarge {
            limit: Limit::FieldLength,
            found,
            max: u64::from(u32::MAX),
        }
    }

    fn invalid_signer(envelope: EnvelopeKind, source: KeyError) -> EnvelopeError {
        EnvelopeError::InvalidSigner { envelope, source }
    }

    fn bad_signature(envelope: EnvelopeKind) -> EnvelopeError {
        EnvelopeError::BadSignature { envelope }
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
