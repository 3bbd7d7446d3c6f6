//! The byte encoding of sealed packages and hold acknowledgements: the rules every signed
//! object shares (`crate::encoding`), with errors that name this module's sections and
//! fields.

use bytes::Bytes;

use crate::encoding::Format;
use crate::envelope::FieldProblem;
use crate::keys::{KeyError, PublicKey, Signature};

use super::error::{SealError, SealField, SealKind, SealLimit, SealSection};
use super::{HOLD_MAGIC, SEALED_MAGIC};

pub(super) use crate::encoding::{FIELD_PREFIX_LEN, PREFIX_LEN, sha256};
#[cfg(test)]
use crate::organ_id::OrganId;

/// Sealed packages and holds, as a family of signed objects.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seal;

/// The fixed-size start of a sealed package or hold, read but not yet checked.
pub(super) type Prefix = crate::encoding::Prefix<Seal>;
/// Builds signed bytes. Every field written here is bounded (domains, agency ids, fixed
/// widths), so nothing can overflow a length prefix.
pub(super) type Writer = crate::encoding::Writer<Seal>;
/// Reads signed bytes, or the wire prefix, without ever reading past the end.
pub(super) type Reader<'a> = crate::encoding::Reader<'a, Seal>;

/// Lays out a whole sealed package or hold: prefix, signed bytes, then `rest` (the
/// ciphertext; empty for a hold). The caller has bounded `signed` far below `u32::MAX`.
pub(super) fn assemble(
    kind: SealKind,
    signer: &PublicKey,
    signature: &Signature,
    signed: &[u8],
    rest: &[u8],
) -> Result<Bytes, SealError> {
    crate::encoding::assemble::<Seal>(kind, signer, signature, signed, rest)
}

impl Format for Seal {
    type Kind = SealKind;
    type Section = SealSection;
    type Field = SealField;
    type Error = SealError;

    const MAGIC: SealField = SealField::Magic;
    const VERSION: SealField = SealField::Version;
    const SIGNER: SealField = SealField::Signer;
    const SIGNATURE: SealField = SealField::Signature;
    const SIGNED_LENGTH: SealField = SealField::SignedLength;
    const DOMAIN: SealField = SealField::Domain;

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

    fn bad_magic(what: SealKind) -> SealError {
        SealError::BadMagic { what }
    }

    fn unsupported_version(what: SealKind, found: u8) -> SealError {
        SealError::UnsupportedVersion { what, found }
    }

    fn truncated(section: SealSection, offset: usize, field: SealField) -> SealError {
        SealError::Truncated {
            section,
            offset,
            field,
        }
    }

    fn invalid(
        section: SealSection,
        field: SealField,
        offset: usize,
        problem: FieldProblem,
    ) -> SealError {
        SealError::InvalidField {
            section,
            field,
            offset,
            problem,
        }
    }

    fn trailing(section: SealSection, count: usize) -> SealError {
        SealError::TrailingBytes { section, count }
    }

    fn wrong_domain(what: SealKind, expected: &'static str) -> SealError {
        SealError::WrongDomain { what, expected }
    }

    fn signed_too_large(kind: SealKind, found: u64) -> SealError {
        SealError::TooLarge {
            limit: match kind {
                SealKind::Sealed => SealLimit::SealedHeader,
                SealKind::Hold => SealLimit::HoldBody,
            },
            found,
            max: u64::from(u32::MAX),
        }
    }

    /// Seal fields are domains, agency ids and fixed widths, written with
    /// [`Writer::short_field`]; a longer one would be a header over its limit.
    fn field_too_large(found: u64) -> SealError {
        SealError::TooLarge {
            limit: SealLimit::SealedHeader,
            found,
            max: u64::from(u32::MAX),
        }
    }

    fn invalid_signer(what: SealKind, source: KeyError) -> SealError {
        SealError::InvalidSigner { what, source }
    }

    fn bad_signature(what: SealKind) -> SealError {
        SealError::BadSignature { what }
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
