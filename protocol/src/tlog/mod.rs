//! The pure half of lienthong's transparency log: Merkle tree hashing and proofs, the
//! checkpoints a node signs over its log, and the decision a witness makes before it
//! cosigns one.
//!
//! Signed packages and receipts prove what each party said, but not that a party kept
//! everything it said: a node could delete a package it received and deny it later. Every
//! fact a node signs or accepts becomes a leaf of an append-only Merkle tree (RFC 6962 /
//! RFC 9162), the node signs checkpoints of that tree, and witnesses cosign a checkpoint
//! only after a consistency proof shows it extends the last one they cosigned. A rewritten
//! history then cannot get new cosignatures, and an inclusion proof to a cosigned
//! checkpoint shows a fact was in the log that others saw.
//!
//! The formats are the C2SP ones the wider transparency ecosystem uses, so that existing
//! witnesses and tools can read our checkpoints: [`Checkpoint`] is
//! [tlog-checkpoint](https://c2sp.org/tlog-checkpoint), [`Note`] is
//! [signed-note](https://c2sp.org/signed-note) with Ed25519 signatures, and
//! [`cosign`] / [`verify_cosignature`] are
//! [tlog-cosignature](https://c2sp.org/tlog-cosignature) v1.
//!
//! Nothing here stores or sends anything: the node keeps the leaves, the [`CompactTree`]
//! frontier and each witness's last [`TreeHead`] per origin, and moves notes over the
//! network.
//!
//! # Layout
//!
//! - `hash`: leaf and node hashes and the root of a list of leaves ([`root`]).
//! - `proof`: inclusion and consistency proofs, made from the leaf hashes and checked with
//!   RFC 9162's algorithms ([`ProofError`] says what did not hold).
//! - `compact`: [`CompactTree`], the right frontier of a growing tree, for the current root
//!   in O(log n) per appended leaf.
//! - `checkpoint`: the checkpoint body (origin, size, root hash, extension lines).
//! - `note`: signed notes, key ids and verifier keys.
//! - `cosignature`: the witness's timestamped cosignature.
//! - `witness`: [`Witness`]: refuse a rollback or a fork, otherwise cosign.
//! - [`timestamp`]: RFC 3161 trusted timestamps over signed checkpoint notes: the request,
//!   the token out of the answer, and [`timestamp::verify_token`].

mod checkpoint;
mod compact;
mod cosignature;
mod hash;
mod note;
mod proof;
pub mod timestamp;
mod witness;

pub use checkpoint::{Checkpoint, CheckpointError, CheckpointLine};
pub use compact::{CompactTree, CompactTreeError};
pub use cosignature::{
    COSIGNATURE_HEADER, CosignatureError, MAX_COSIGNATURE_TIME, cosign, cosigned_message,
    find_cosignature, verify_cosignature,
};
pub use hash::{empty_root, leaf_hash, node_hash, root};
pub use note::{
    KeyId, MAX_NOTE_BYTES, MAX_SIGNATURES, Note, NoteError, NoteSignature, SignatureType, Verifier,
    key_id, sign_note,
};
pub use proof::{
    ProofError, consistency_proof, inclusion_proof, verify_consistency, verify_inclusion,
};
pub use witness::{
    Cosigned, Fork, ForkKind, KnownLog, OpenedCheckpoint, Refusal, TreeHead, Witness,
};

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree's root.
pub type Hash = [u8; HASH_LEN];

/// Bytes in a [`Hash`](type@Hash).
pub const HASH_LEN: usize = 32;

/// How a run of hashes at the end of a message is not exactly the `count` it declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashRunError {
    /// Fewer bytes than `count` hashes.
    Truncated,
    /// This many bytes after the last hash.
    Trailing(usize),
}

/// Reads exactly `count` hashes that end a message (a consistency proof on the wire):
/// the one reading of that layout for every decoder that carries one.
///
/// # Errors
/// [`HashRunError`] when `bytes` holds fewer or more than `count` hashes.
pub fn hashes_exact(bytes: &[u8], count: usize) -> Result<Vec<Hash>, HashRunError> {
    let len = count.saturating_mul(HASH_LEN);
    if bytes.len() < len {
        return Err(HashRunError::Truncated);
    }
    if bytes.len() > len {
        return Err(HashRunError::Trailing(bytes.len() - len));
    }
    Ok(bytes
        .chunks_exact(HASH_LEN)
        .map(|chunk| {
            let mut hash = [0; HASH_LEN];
            hash.copy_from_slice(chunk);
            hash
        })
        .collect())
}
