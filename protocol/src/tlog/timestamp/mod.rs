//! Trusted timestamps (RFC 3161) on signed checkpoints.
//!
//! A checkpoint proves what a node's log held; a timestamp from a timestamp authority (TSA)
//! the agencies trust proves *when*, without trusting the node's clock. The node asks for
//! one token over the exact bytes of a signed checkpoint note: since the checkpoint commits
//! to every leaf before it, one token dates every fact up to that size.
//!
//! Everything here is offline and pure: [`TimestampRequest`] builds the `TimeStampReq`
//! (SHA-256 imprint of the note, a random nonce, the TSA's certificate asked for),
//! [`read_response`] takes the token out of a `TimeStampResp` after checking the status,
//! nonce and imprint, and [`verify_token`] checks a kept token against the note and the
//! TSA's certificate ([`TsaCertificate`]). Node and bundle readers call the same
//! [`verify_token`], so a token is kept only if anyone holding the TSA's certificate would
//! accept it later.
//!
//! The ASN.1 is RustCrypto's (`der`, `x509-cert`, `cms`, `x509-tsp`); nothing is encoded by
//! hand. Signatures are RSA PKCS#1 v1.5 (`rsa`, verification only) and ECDSA P-256 (`p256`),
//! over SHA-256, SHA-384 or SHA-512 signed attributes.
//!
//! What is not checked: the chain from the TSA's certificate to a root (the operator
//! configures the TSA certificate itself), revocation, and the ESS signing-certificate
//! attribute (the signer identifier must name the configured certificate instead).
//! A `genTime` with fractional seconds, which many TSAs send, is read (`tst_info.rs`).

mod request;
mod tst_info;
mod verify;

use std::time::{Duration, SystemTime};

use der::asn1::ObjectIdentifier;

pub use request::{TimestampRequest, read_response};
pub use verify::{TsaCertificate, verify_token};

/// The largest token or response read, in bytes: a token holds one signature and usually
/// the TSA's certificate, a few KiB.
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// `id-ct-TSTInfo` (RFC 3161 section 2.4.2): the content type of a timestamp token.
pub const ID_CT_TSTINFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampInfo {
    /// When the TSA says it saw the note (`genTime`).
    pub gen_time: SystemTime,
    /// The token's serial number, as lowercase hex of its DER integer bytes.
    pub serial: String,
    /// The TSA's certificate subject, as an RFC 4514 string.
    pub tsa: String,
}

impl TimestampInfo {
    /// `gen_time` as seconds since the Unix epoch.
    pub fn gen_time_unix(&self) -> u64 {
        self.gen_time
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs()
    }
}

/// Why a timestamp request, response or token was not made or not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The input is larger than [`MAX_TOKEN_BYTES`].
    #[error("{what} is {len} bytes, more than {limit}")]
    TooLarge {
        /// What was read.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes do not decode as the ASN.1 structure expected.
    #[error("{what} is not valid DER")]
    Malformed {
        /// The structure expected.
        what: &'static str,
        /// What the decoder found.
        #[source]
        source: der::Error,
    },
    /// No random bytes could be had for the nonce.
    #[error("no randomness for the nonce: {0}")]
    Random(String),
    /// The TSA did not grant the request.
    #[error("timestamp authority refused: status {status}{}", text.as_deref().map(|t| format!(": {t}")).unwrap_or_default())]
    Refused {
        /// The `PKIStatus` number (2 rejection, 3 waiting, …).
        status: u8,
        /// The TSA's status string, when it gave one.
        text: Option<String>,
    },
    /// The response was granted but carries no token.
    #[error("timestamp response carries no token")]
    NoToken,
    /// The token's nonce is not the request's.
    #[error("token nonce does not match the request's")]
    NonceMismatch,
    /// The token is not CMS `SignedData`.
    #[error("token is not CMS SignedData but {content_type}")]
    NotSignedData {
        /// The content type found.
        content_type: ObjectIdentifier,
    },
    /// The signed content is not a `TSTInfo`.
    #[error("token's signed content is {content_type}, not id-ct-TSTInfo")]
    NotTstInfo {
        /// The content type found.
        content_type: ObjectIdentifier,
    },
    /// The `SignedData` has no encapsulated content (a detached signature).
    #[error("token has no encapsulated TSTInfo")]
    NoContent,
    /// The token is not signed by exactly one signer.
    #[error("token has {count} signers, not one")]
    SignerCount {
        /// How many signers it has.
        count: usize,
    },
    /// The message imprint is not a SHA-256 hash.
    #[error("token's message imprint uses {algorithm}, not SHA-256")]
    ImprintAlgorithm {
        /// The hash algorithm found.
        algorithm: ObjectIdentifier,
    },
    /// The message imprint is not the SHA-256 of the note.
    #[error("token's message imprint is not the SHA-256 of this note")]
    ImprintMismatch,
    /// The signer has no signed attributes, which RFC 3161 requires.
    #[error("token's signer has no signed attributes")]
    NoSignedAttributes,
    /// A signed attribute is missing or is not one single value of its type.
    #[error("token's signed attribute {name} is missing or malformed")]
    Attribute {
        /// The attribute.
        name: &'static str,
    },
    /// The content-type attribute does not say `id-ct-TSTInfo`.
    #[error("token's signed content-type attribute is {content_type}, not id-ct-TSTInfo")]
    ContentTypeAttribute {
        /// The content type the attribute names.
        content_type: ObjectIdentifier,
    },
    /// The message-digest attribute is not the hash of the encapsulated `TSTInfo`.
    #[error("token's signed message digest is not the hash of its TSTInfo")]
    MessageDigestMismatch,
    /// The signer's digest algorithm is not SHA-256, SHA-384 or SHA-512.
    #[error("token's digest algorithm {algorithm} is not supported")]
    DigestAlgorithm {
        /// The algorithm found.
        algorithm: ObjectIdentifier,
    },
    /// The signature algorithm is neither RSA PKCS#1 v1.5 nor ECDSA.
    #[error("token's signature algorithm {algorithm} is not supported")]
    SignatureAlgorithm {
        /// The algorithm found.
        algorithm: ObjectIdentifier,
    },
    /// The signature algorithm does not fit the certificate's key.
    #[error("token's signature algorithm {algorithm} does not fit the TSA certificate's key")]
    KeyMismatch {
        /// The signature algorithm found.
        algorithm: ObjectIdentifier,
    },
    /// The signer identifier does not name the TSA certificate.
    #[error("token was signed by another certificate than the TSA's")]
    SignerMismatch,
    /// The token carries a certificate that is neither the TSA's nor one of the chain
    /// given with it, byte for byte: one was changed, or the chain was not given.
    #[error(
        "the token carries a certificate that is not the TSA's or its chain as given (changed, or give the chain after the TSA's certificate in the same PEM file)"
    )]
    EmbeddedCertificateMismatch,
    /// A part of the token outside its signature is not made the one way it may be.
    #[error("token is not well formed: {what}")]
    Structure {
        /// What is wrong.
        what: &'static str,
    },
    /// The signature does not verify with the certificate's key.
    #[error("token's signature does not verify with the TSA certificate's key")]
    BadSignature,
    /// The certificate is not PEM or DER X.509.
    #[error("TSA certificate is not an X.509 certificate")]
    Certificate {
        /// What the decoder found.
        #[source]
        source: der::Error,
    },
    /// The certificate lacks the critical extended key usage id-kp-timeStamping.
    #[error("TSA certificate lacks the critical extended key usage id-kp-timeStamping")]
    NotTimeStamping,
    /// The certificate's key is neither RSA nor P-256.
    #[error("TSA certificate's key {algorithm} is not supported (RSA or P-256)")]
    KeyAlgorithm {
        /// The key algorithm (or curve) found.
        algorithm: ObjectIdentifier,
    },
    /// The certificate's key does not decode.
    #[error("TSA certificate's public key is malformed")]
    BadKey,
    /// The token's time is outside the certificate's validity.
    #[error("token's time is outside the TSA certificate's validity")]
    OutsideValidity,
}

impl TimestampError {
    fn malformed(what: &'static str) -> impl FnOnce(der::Error) -> Self {
        move |source| Self::Malformed { what, source }
    }
}

fn check_len(what: &'static str, bytes: &[u8]) -> Result<(), TimestampError> {
    if bytes.len() > MAX_TOKEN_BYTES {
        return Err(TimestampError::TooLarge {
            what,
            len: bytes.len(),
            limit: MAX_TOKEN_BYTES,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
