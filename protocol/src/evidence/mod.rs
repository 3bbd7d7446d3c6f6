//! What a node's evidence log says, and the evidence bundle that carries one document's
//! share of it to someone who trusts nothing but the federation's root key.
//!
//! The Merkle machinery is generic and lives in [`crate::tlog`]; this module holds what is
//! lienthong's own: the bytes of a leaf (which fact, when, about what), the names
//! checkpoints and cosignatures go under, and the [`bundle`] format with its offline
//! verification.
//!
//! # Layout
//!
//! - `leaf`: [`EvidenceLeaf`] and [`Fact`], a leaf's canonical bytes (moved here from the
//!   node's store so a bundle verifies with this crate alone).
//! - `announcement`: [`Announcement`], a signed checkpoint with its cosignatures and a
//!   consistency proof, as gossiped and answered to a checkpoint catch-up; [`open`] checks
//!   it against the roster's keys and [`follow`] decides it against the head held.
//! - [`bundle`]: the ASiC-E container of one package's evidence, its reader (bounded
//!   against hostile input), its writer, and [`bundle::verify`].

mod announcement;
pub mod bundle;
mod leaf;

pub use announcement::{
    ANNOUNCEMENT_KIND, Announcement, AnnouncementError, COSIGNATURE_KIND, Follow, MAX_LINE_LEN,
    MAX_NOTE_LEN, MAX_PROOF_HASHES, OpenedAnnouncement, WitnessCosignature, follow, open,
    open_cosignature,
};
pub use leaf::{EvidenceLeaf, Fact, LeafError};

use crate::keys::PublicKey;
use crate::organ_id::OrganId;
use crate::tlog::{NoteError, SignatureType, Verifier};

/// Prefix of an agency log's origin line and checkpoint key name.
pub const ORIGIN_PREFIX: &str = "lienthong/";

/// Prefix of a witness's cosignature key name.
pub const WITNESS_PREFIX: &str = "lienthong-witness/";

/// The origin line of an agency's checkpoints, also the name its signature goes under:
/// `lienthong/<organ_id>`.
pub fn origin(organ_id: &OrganId) -> String {
    format!("{ORIGIN_PREFIX}{organ_id}")
}

/// The name a witness's cosignatures go under: `lienthong-witness/<organ_id>`.
pub fn witness_name(organ_id: &OrganId) -> String {
    format!("{WITNESS_PREFIX}{organ_id}")
}

/// The verifier of an agency's checkpoints, from a roster key.
///
/// # Errors
/// [`NoteError`] when the agency id cannot be a key name.
pub fn checkpoint_verifier(organ_id: &OrganId, key: PublicKey) -> Result<Verifier, NoteError> {
    Verifier::new(origin(organ_id), SignatureType::Ed25519, key)
}

/// The verifier of a witness's cosignatures, from its roster key.
///
/// # Errors
/// [`NoteError`] when the agency id cannot be a key name.
pub fn witness_verifier(organ_id: &OrganId, key: PublicKey) -> Result<Verifier, NoteError> {
    Verifier::new(witness_name(organ_id), SignatureType::CosignatureV1, key)
}
