//! TSTInfo (RFC 3161 §2.4.2), read as the RFC has it, with a `genTime` that may carry
//! fractional seconds.
//!
//! RFC 3161 lets a TSA write `genTime` with a fraction (`YYYYMMDDhhmmss[.s...]Z`, no
//! trailing zeros), and many real authorities do so to the millisecond. `der` 0.7's
//! `GeneralizedTime`, which `x509_tsp::TstInfo` uses, takes only whole seconds, so a token
//! from such a TSA was refused as malformed. This is `x509_tsp::TstInfo` field for field
//! (the same derive, the same tags) with [`GenTime`] for that one field. Only the value of
//! a GeneralizedTime is read here; the framing stays `der`'s.

use std::time::{Duration, SystemTime};

use der::asn1::{Int, ObjectIdentifier};
use der::{DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Sequence, Tag, Writer};
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::name::GeneralName;
use x509_tsp::{Accuracy, MessageImprint, TspVersion};

/// TSTInfo; see the module docs.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct TstInfo {
    pub version: TspVersion,
    pub policy: ObjectIdentifier,
    pub message_imprint: MessageImprint,
    pub serial_number: Int,
    pub gen_time: GenTime,
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// A DER GeneralizedTime as RFC 3161 allows in `genTime`: UTC (`Z`), whole seconds, and an
/// optional fraction of up to nine digits without trailing zeros. The bytes are kept, so
/// that it encodes back exactly as read.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(super) struct GenTime {
    text: Vec<u8>,
    at: SystemTime,
}

impl GenTime {
    /// The time it names.
    pub(super) fn to_system_time(&self) -> SystemTime {
        self.at
    }

    /// Reads `YYYYMMDDhhmmss[.f…]Z`.
    fn parse(text: &[u8]) -> Option<SystemTime> {
        let (body, rest) = text.split_last()?;
        if *body != b'Z' {
            return None;
        }
        let (whole, fraction) = match rest.iter().position(|&b| b == b'.') {
            Some(dot) => (&rest[..dot], Some(&rest[dot + 1..])),
            None => (rest, None),
        };
        let number = |digits: &[u8]| -> Option<u64> {
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            digits.iter().try_fold(0u64, |n, d| {
                n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            })
        };
        if whole.len() != 14 {
            return None;
        }
        let date = der::DateTime::new(
            u16::try_from(number(&whole[..4])?).ok()?,
            u8::try_from(number(&whole[4..6])?).ok()?,
            u8::try_from(number(&whole[6..8])?).ok()?,
            u8::try_from(number(&whole[8..10])?).ok()?,
            u8::try_from(number(&whole[10..12])?).ok()?,
            u8::try_from(number(&whole[12..14])?).ok()?,
        )
        .ok()?;
        let nanos = match fraction {
            None => 0,
            // DER: a fraction has at least one digit and no trailing zero.
            Some(digits) if digits.len() > 9 || digits.last() == Some(&b'0') => return None,
            Some(digits) => {
                let value = number(digits)?;
                let scale = 10u64.pow(9 - u32::try_from(digits.len()).ok()?);
                u32::try_from(value * scale).ok()?
            }
        };
        Some(SystemTime::UNIX_EPOCH + date.unix_duration() + Duration::from_nanos(u64::from(nanos)))
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl<'a> DecodeValue<'a> for GenTime {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let text = reader.read_vec(header.length)?;
        let at = Self::parse(&text).ok_or_else(|| Tag::GeneralizedTime.value_error())?;
        Ok(GenTime { text, at })
    }
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.text.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Option<Duration> {
        GenTime::parse(text.as_bytes()).map(|t| t.duration_since(SystemTime::UNIX_EPOCH).unwrap())
    }

    #[test]
    fn reads_whole_seconds_and_fractions() {
        assert_eq!(
            at("20261207231500Z"),
            Some(Duration::from_secs(1_796_685_300))
        );
        assert_eq!(
            at("20261207231500.25Z"),
            Some(Duration::from_millis(1_796_685_300_250))
        );
        assert_eq!(
            at("20261207231500.123456789Z"),
            Some(Duration::new(1_796_685_300, 123_456_789))
        );
    }

    #[test]
    fn refuses_what_der_does_not_allow() {
        for text in [
            "20261207231500",             // no Z
            "20261207231500+0700",        // a zone other than Z
            "20261207231500.Z",           // an empty fraction
            "20261207231500.120Z",        // a trailing zero
            "20261207231500.1234567891Z", // more than nine digits
            "202612072315Z",              // no seconds
            "20261307231500Z",            // month 13
            "2026120723150aZ",            // a letter
            "20261207231500,5Z",          // a comma
        ] {
            assert_eq!(at(text), None, "{text}");
        }
    }
}
