//! Why a roster is refused.

use crate::keys::VerifyError;

/// Why a roster section or bundle could not be read or is not acceptable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RosterError {
    /// The bytes do not start with the expected magic.
    #[error("not a signed roster (bad magic)")]
    BadMagic,
    /// A wire version this code does not read.
    #[error("signed roster version {0} is not supported")]
    UnsupportedVersion(u8),
    /// The input ends early or has bytes after its end.
    #[error("signed roster truncated or padded: {0}")]
    Truncated(&'static str),
    /// The root section is not signed by the key this node trusts.
    #[error("roster signed by {found}, not by the pinned root authority {expected}")]
    WrongSigner {
        /// Short form of the signer's key.
        found: String,
        /// Short form of the pinned root key.
        expected: String,
    },
    /// A delegated section whose signer the root has not delegated to (or no longer does).
    #[error(
        "a section is signed by {signer}, to whom the root authority has delegated nothing valid"
    )]
    NotDelegated {
        /// Short form of the signer's key.
        signer: String,
    },
    /// A delegated section admits an agency outside its scope, or a relay without the right.
    #[error("{authority} may not admit {organ_id}: {problem}")]
    OutOfScope {
        /// The delegated authority.
        authority: String,
        /// The agency.
        organ_id: String,
        /// Why not.
        problem: String,
    },
    /// Two sections list the same agency, or one signer has two sections.
    #[error("roster conflict: {0}")]
    Conflict(String),
    /// Nothing in the offered roster is newer than what the node has.
    #[error("roster is not newer: {0}")]
    NotNewer(String),
    /// The signer field is not a usable key.
    #[error("roster signer is not a valid key")]
    BadSignerKey,
    /// The signature does not verify.
    #[error("roster signature does not verify")]
    BadSignature(#[source] VerifyError),
    /// The signed payload is not a roster section.
    #[error("roster payload is not valid JSON for a roster section: {0}")]
    Payload(#[source] serde_json::Error),
    /// A section is well-formed but says something impossible.
    #[error("roster is invalid{}: {problem}", organ_id.as_ref().map(|o| format!(" ({o})")).unwrap_or_default())]
    Invalid {
        /// The record concerned, if one.
        organ_id: Option<String>,
        /// What is wrong.
        problem: String,
    },
}
