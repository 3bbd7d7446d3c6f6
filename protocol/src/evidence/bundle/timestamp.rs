//! RFC 3161 timestamp tokens in a bundle.
//!
//! A token over the checkpoint (`META-INF/lienthong/timestamps/<size>.tsr`) says, on a
//! TSA's word, that the checkpoint, and so every fact it covers, existed at a time. The
//! token is checked with [`crate::tlog::timestamp::verify_token`] against the TSA
//! certificate the verifier trusts, never against the certificate the token carries: a
//! token anyone could have made with a certificate of their own proves nothing. A bundle
//! that holds a token is refused when no certificate is given to check it, rather than
//! shown as timestamped unchecked.

use std::time::UNIX_EPOCH;

use serde::Serialize;

use super::error::BundleError;
use super::layout::Entry;
use crate::envelope::Timestamp;
use crate::tlog::timestamp::{TsaCertificate, verify_token};

/// A verified timestamp over the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimestampStatement {
    /// The TSA's name, from its certificate.
    pub tsa: String,
    /// The time the token gives.
    pub time: Timestamp,
}

/// Verifies the RFC 3161 token over the checkpoint note of `size`, when the bundle holds
/// one, against `tsa_certificate` (PEM or DER). No token: no timestamp (an empty list).
///
/// # Errors
/// [`BundleError::Timestamp`], naming the token's file: no certificate was given, the
/// certificate is not a TSA's, or the token does not verify against it over this note.
pub(super) fn verify_timestamp(
    size: u64,
    token: Option<&[u8]>,
    checkpoint_note: &[u8],
    tsa_certificate: Option<&[u8]>,
) -> Result<Vec<TimestampStatement>, BundleError> {
    let Some(token) = token else {
        return Ok(Vec::new());
    };
    let refused = |problem: String| BundleError::Timestamp {
        file: Entry::Timestamp(size).name(),
        problem,
    };
    let certificate = tsa_certificate.ok_or_else(|| {
        refused(
            "the bundle holds a timestamp token: give the TSA's certificate (--tsa-cert) to check it"
                .into(),
        )
    })?;
    let certificate = if certificate.starts_with(b"-----BEGIN") {
        TsaCertificate::from_pem(certificate)
    } else {
        TsaCertificate::from_der(certificate)
    }
    .map_err(|e| refused(format!("the TSA certificate given: {e}")))?;
    let info =
        verify_token(token, checkpoint_note, &certificate).map_err(|e| refused(e.to_string()))?;
    let millis = info
        .gen_time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Ok(vec![TimestampStatement {
        tsa: info.tsa,
        time: Timestamp::from_millis(millis),
    }])
}
