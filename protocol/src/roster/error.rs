//! Why a roster is refused.

use crate::keys::VerifyError;

/// Why a roster could not be read or is not acceptable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RosterError {
    /// The bytes do not start with the roster magic.
    #[error("not a signed roster (bad magic)")]
    BadMagic,
    /// A wire version this code does not read.
    #[error("signed roster version {0} is not supported")]
    UnsupportedVersion(u8),
    /// The input ends early.
    #[error("signed roster truncated: {0}")]
    Truncated(&'static str),
    /// The signer is not the key this node trusts.
    #[error("roster signed by {found}, not by the pinned root authority {expected}")]
    WrongSigner {
        /// Short form of the signer's key.
        found: String,
        /// Short form of the pinned root key.
        expected: String,
    },
    /// The signer field is not a usable key.
    #[error("roster signer is not a valid key")]
    BadSignerKey,
    /// The signature does not verify.
    #[error("roster signature does not verify")]
    BadSignature(#[source] VerifyError),
    /// The signed payload is not a roster.
    #[error("roster payload is not valid JSON for a roster: {0}")]
    Payload(#[source] serde_json::Error),
    /// The roster is well-formed but says something impossible.
    #[error("roster is invalid{}: {problem}", organ_id.as_ref().map(|o| format!(" ({o})")).unwrap_or_default())]
    Invalid {
        /// The record concerned, if one.
        organ_id: Option<String>,
        /// What is wrong.
        problem: String,
    },
}
