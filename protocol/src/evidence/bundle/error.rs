//! Why a bundle is refused. Every variant names the file in the bundle that failed.

use crate::envelope::EnvelopeError;
use crate::roster::RosterError;
use crate::tlog::{CosignatureError, NoteError, ProofError};

/// What failed, reading or verifying a bundle. The first failure stops verification.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bytes are not a ZIP container that can be read.
    #[error("not a readable ZIP container: {reason}")]
    NotAZip {
        /// What the ZIP reader said.
        reason: String,
    },
    /// A file, or the container, is larger than the reader takes.
    #[error("{file}: larger than {limit} bytes")]
    TooLarge {
        /// The file, or `(container)`.
        file: String,
        /// The limit.
        limit: u64,
    },
    /// The container holds more files than the reader takes.
    #[error("the container holds {found} files, more than {limit}")]
    TooManyFiles {
        /// How many.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// A file's name is not one a bundle has (a directory, a path outside the layout…).
    #[error("{file}: not a file an evidence bundle has")]
    UnexpectedFile {
        /// The name, as the container gives it.
        file: String,
    },
    /// A name appears twice.
    #[error("{file}: present twice")]
    Duplicate {
        /// The name.
        file: String,
    },
    /// A file is compressed with a method other than stored or deflate, or encrypted.
    #[error("{file}: compressed or encrypted in a way the reader does not take")]
    Unsupported {
        /// The name.
        file: String,
    },
    /// A file the bundle must hold is not there.
    #[error("{file}: missing ({why})")]
    Missing {
        /// The file.
        file: String,
        /// Why it must be there.
        why: String,
    },
    /// `mimetype` is not the first file, is compressed, or does not hold the ASiC-E type.
    #[error("mimetype: {problem}")]
    Mimetype {
        /// What is wrong.
        problem: &'static str,
    },
    /// The manifest does not read, or does not match the container.
    #[error("META-INF/manifest.xml: {problem}")]
    Manifest {
        /// What is wrong.
        problem: String,
    },
    /// A file does not read as what it should hold.
    #[error("{file}: {problem}")]
    Malformed {
        /// The file.
        file: String,
        /// What is wrong.
        problem: String,
    },
    /// A roster bundle does not verify back to the root key given.
    #[error("{file}: the roster does not verify against the root key: {source}")]
    Roster {
        /// The file.
        file: String,
        /// Why.
        source: RosterError,
    },
    /// A signed envelope (the package or a receipt) does not verify.
    #[error("{file}: {source}")]
    Envelope {
        /// The file.
        file: String,
        /// What the envelope check said.
        source: EnvelopeError,
    },
    /// The edXML bytes are not the bytes the package signs.
    #[error(
        "{file}: not the edXML bytes the signed package carries (SHA-256 {found}, signed {signed})"
    )]
    ContentMismatch {
        /// The file.
        file: String,
        /// SHA-256 of the file, hex.
        found: String,
        /// SHA-256 the package header signs, hex.
        signed: String,
    },
    /// A signer's key is not one the roster lists for the agency at the time it signed.
    #[error(
        "{file}: signed by key {key}, which no roster in the bundle lists for {organ_id} at {at}: {why}"
    )]
    KeyNotListed {
        /// The signed file.
        file: String,
        /// The agency it speaks for.
        organ_id: String,
        /// The key, short form.
        key: String,
        /// When it signed.
        at: String,
        /// What the roster says instead.
        why: String,
    },
    /// A receipt is about another package.
    #[error("{file}: the receipt is about package {found}, not {expected}")]
    OtherPackage {
        /// The file.
        file: String,
        /// The package it names.
        found: String,
        /// This bundle's package.
        expected: String,
    },
    /// A leaf does not read, or is not the fact rebuilt from the signed objects it names.
    #[error("{file}: {problem}")]
    Leaf {
        /// The leaf's file.
        file: String,
        /// What does not hold.
        problem: String,
    },
    /// A signed object in the bundle is in no fact of the exporter's log.
    #[error("{file}: no fact of the exporter's log names it")]
    NotLogged {
        /// The file.
        file: String,
    },
    /// An inclusion proof does not lead from the leaf to the checkpoint's root: the leaf
    /// or the proof was changed (or the checkpoint, which the note's signature rules out).
    #[error("{file}: does not prove {leaf} in the checkpoint: {source}")]
    Proof {
        /// The proof's file.
        file: String,
        /// The leaf's file.
        leaf: String,
        /// What the check said.
        source: ProofError,
    },
    /// The checkpoint note is not a checkpoint, or not signed by the exporter's roster key.
    #[error("{file}: {problem}")]
    Checkpoint {
        /// The note's file.
        file: String,
        /// What is wrong.
        problem: String,
    },
    /// The note's signature by the exporter does not verify.
    #[error("{file}: the exporter's signature does not verify: {source}")]
    NoteSignature {
        /// The note's file.
        file: String,
        /// What the note check said.
        source: NoteError,
    },
    /// A cosignature line names a witness the roster does not list.
    #[error("{file}: line {line} names witness {name}, which no roster in the bundle lists")]
    UnknownWitness {
        /// The cosignatures file.
        file: String,
        /// The line number (from 1).
        line: usize,
        /// The key name on the line.
        name: String,
    },
    /// A cosignature line is not the listed witness's valid cosignature of the checkpoint.
    #[error("{file}: line {line}, witness {witness}: {source}")]
    Cosignature {
        /// The cosignatures file.
        file: String,
        /// The line number (from 1).
        line: usize,
        /// The witness it names.
        witness: String,
        /// What the check said.
        source: CosignatureError,
    },
    /// A timestamp token is present, but this build cannot check it.
    #[error("{file}: {problem}")]
    Timestamp {
        /// The token's file.
        file: String,
        /// What is wrong.
        problem: String,
    },
}

impl BundleError {
    /// The file in the bundle that failed, when one did.
    pub fn file(&self) -> Option<&str> {
        match self {
            BundleError::NotAZip { .. } | BundleError::TooManyFiles { .. } => None,
            BundleError::Mimetype { .. } => Some(super::MIMETYPE_FILE),
            BundleError::Manifest { .. } => Some(super::MANIFEST_FILE),
            BundleError::TooLarge { file, .. }
            | BundleError::UnexpectedFile { file }
            | BundleError::Duplicate { file }
            | BundleError::Unsupported { file }
            | BundleError::Missing { file, .. }
            | BundleError::Malformed { file, .. }
            | BundleError::Roster { file, .. }
            | BundleError::Envelope { file, .. }
            | BundleError::ContentMismatch { file, .. }
            | BundleError::KeyNotListed { file, .. }
            | BundleError::OtherPackage { file, .. }
            | BundleError::Leaf { file, .. }
            | BundleError::NotLogged { file }
            | BundleError::Proof { file, .. }
            | BundleError::Checkpoint { file, .. }
            | BundleError::NoteSignature { file, .. }
            | BundleError::UnknownWitness { file, .. }
            | BundleError::Cosignature { file, .. }
            | BundleError::Timestamp { file, .. } => Some(file),
        }
    }
}
