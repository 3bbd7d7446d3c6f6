//! The request a node sends its TSA, and the token taken out of the answer.

use cmpv2::status::PkiStatus;
use der::asn1::{Any, Int, OctetString};
use der::oid::db::rfc5912::ID_SHA_256;
use der::{Decode, Encode};
use sha2::{Digest as _, Sha256};
use x509_cert::spki::AlgorithmIdentifier;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion};

use super::tst_info::TstInfo;
use super::verify::{open, tst_info};
use super::{TimestampError, check_len};

/// Bytes of nonce: 64 bits, as OpenSSL's own `openssl ts -query` sends.
const NONCE_LEN: usize = 8;

/// A `TimeStampReq` over one note, and what its answer must repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampRequest {
    pub(super) der: Vec<u8>,
    pub(super) nonce: Vec<u8>,
    pub(super) imprint: [u8; 32],
}

impl TimestampRequest {
    /// A request over the exact bytes of `note`: its SHA-256 imprint, a fresh random nonce,
    /// and `certReq` so that the token carries the TSA's certificate.
    ///
    /// # Errors
    ///
    /// [`TimestampError::Random`] when the system has no randomness.
    pub fn new(note: &[u8]) -> Result<Self, TimestampError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| TimestampError::Random(e.to_string()))?;
        Self::with_nonce(note, nonce)
    }

    /// A request with a given nonce, for tests and fuzzing. The nonce is made a positive,
    /// minimally encoded integer (its top bits adjusted) before use.
    ///
    /// # Errors
    ///
    /// [`TimestampError::Malformed`] never in practice: the request is built from valid parts.
    pub fn with_nonce(note: &[u8], mut nonce: [u8; NONCE_LEN]) -> Result<Self, TimestampError> {
        // Positive and minimal: the first byte is 0x40..=0x7f.
        nonce[0] = (nonce[0] & 0x7f) | 0x40;
        let imprint: [u8; 32] = Sha256::digest(note).into();
        let request = TimeStampReq {
            version: TspVersion::V1,
            message_imprint: sha256_imprint(&imprint)?,
            req_policy: None,
            nonce: Some(Int::new(&nonce).map_err(TimestampError::malformed("nonce"))?),
            cert_req: true,
            extensions: None,
        };
        let der = request
            .to_der()
            .map_err(TimestampError::malformed("TimeStampReq"))?;
        Ok(Self {
            der,
            nonce: nonce.to_vec(),
            imprint,
        })
    }

    /// The DER bytes to send (`application/timestamp-query`).
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// The nonce's integer bytes.
    pub fn nonce(&self) -> &[u8] {
        &self.nonce
    }
}

fn sha256_imprint(hash: &[u8; 32]) -> Result<MessageImprint, TimestampError> {
    Ok(MessageImprint {
        hash_algorithm: AlgorithmIdentifier {
            oid: ID_SHA_256,
            parameters: Some(Any::null()),
        },
        hashed_message: OctetString::new(hash.as_slice())
            .map_err(TimestampError::malformed("message imprint"))?,
    })
}

/// The token in a TSA's answer to `request`, as DER bytes to keep: the response's status
/// must be granted, and the token's nonce and imprint the request's.
///
/// This does not verify the signature: call [`verify_token`](super::verify_token) with
/// the TSA's certificate before keeping the token.
///
/// # Errors
///
/// [`TimestampError::Refused`] with the TSA's status, [`TimestampError::NoToken`],
/// [`TimestampError::NonceMismatch`], [`TimestampError::ImprintMismatch`], or a
/// decoding error.
pub fn read_response(
    response: &[u8],
    request: &TimestampRequest,
) -> Result<Vec<u8>, TimestampError> {
    check_len("timestamp response", response)?;
    let response =
        TimeStampResp::from_der(response).map_err(TimestampError::malformed("TimeStampResp"))?;
    match response.status.status {
        PkiStatus::Accepted | PkiStatus::GrantedWithMods => {}
        status => {
            let text = response.status.status_string.map(|texts| {
                texts
                    .iter()
                    .map(|t| t.as_str().to_owned())
                    .collect::<Vec<_>>()
                    .join("; ")
            });
            return Err(TimestampError::Refused {
                status: status as u8,
                text,
            });
        }
    }
    let token = response.time_stamp_token.ok_or(TimestampError::NoToken)?;
    let token = token
        .to_der()
        .map_err(TimestampError::malformed("TimeStampToken"))?;
    let info: TstInfo = tst_info(&open(&token)?.0)?;
    if info.nonce.as_ref().map(Int::as_bytes) != Some(request.nonce.as_slice()) {
        return Err(TimestampError::NonceMismatch);
    }
    super::verify::check_imprint(&info, &request.imprint)?;
    Ok(token)
}
