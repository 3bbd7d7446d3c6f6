//! The place of RFC 3161 timestamp tokens in a bundle.
//!
//! A token over the checkpoint (`META-INF/lienthong/timestamps/<size>.tsr`) would say, on a
//! TSA's word, that the checkpoint, and so every fact it covers, existed at a time. Tokens
//! are being built separately; until they are wired, a bundle holds none, and a bundle
//! that does hold one is refused rather than shown as timestamped unchecked.

use serde::Serialize;

use super::error::BundleError;
use super::layout::Entry;
use crate::envelope::Timestamp;

/// A verified timestamp over the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimestampStatement {
    /// The TSA's name, from its certificate.
    pub tsa: String,
    /// The time the token gives.
    pub time: Timestamp,
}

/// **The timestamp hook.** Verifies the RFC 3161 token over the checkpoint note of
/// `size`, when the bundle holds one, against the TSA certificate the verifier was given.
///
/// Not implemented yet: `None` (no token) answers "no timestamp in this bundle" (an empty
/// list); a token is refused, since it cannot be checked here.
///
/// # Errors
/// [`BundleError::Timestamp`] for any token, until this is wired.
pub(super) fn verify_timestamp(
    size: u64,
    token: Option<&[u8]>,
    _checkpoint_note: &[u8],
    _tsa_certificate: Option<&[u8]>,
) -> Result<Vec<TimestampStatement>, BundleError> {
    match token {
        None => Ok(Vec::new()),
        Some(_) => Err(BundleError::Timestamp {
            file: Entry::Timestamp(size).name(),
            problem: "this lienthong cannot verify timestamp tokens yet".into(),
        }),
    }
}
