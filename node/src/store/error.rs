//! What can go wrong in the store.
//!
//! Every error says which tree, key or package it is about, so an operator reading one log
//! line knows where to look. The storage engine's own errors stay behind
//! [`BackendError`], so callers never depend on which engine the store uses.

use std::path::PathBuf;

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::{EnvelopeError, PackageId};

pub use super::engine::BackendError;

/// An error from a [`Store`](super::Store) operation.
///
/// Whatever the variant, an operation that returns an error has not acknowledged anything:
/// the caller must not tell the local API or a peer "accepted".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store directory could not be opened or created: permissions, another process
    /// holding it open, or the engine's own files unreadable.
    #[error("cannot open the store at {path}")]
    Open {
        /// The store directory.
        path: PathBuf,
        /// What the engine or the file system said.
        #[source]
        source: BackendError,
    },
    /// The store was written by a newer lienthong whose schema this code does not know;
    /// reading it would misread the data. Upgrade lienthong, or restore a backup.
    #[error(
        "store schema version {found} is newer than version {supported}, the newest this lienthong reads"
    )]
    SchemaTooNew {
        /// The version recorded in the store.
        found: u32,
        /// The version this code writes.
        supported: u32,
    },
    /// The store's schema version is older than any this code can migrate from.
    #[error("store schema version {found} cannot be migrated to version {supported}")]
    SchemaUnsupported {
        /// The version recorded in the store.
        found: u32,
        /// The version this code writes.
        supported: u32,
    },
    /// A lookup or scan failed inside the storage engine (an I/O error, usually).
    #[error("reading tree {tree} failed")]
    Read {
        /// The tree read, or `*` for the whole store.
        tree: &'static str,
        /// What the engine said.
        #[source]
        source: BackendError,
    },
    /// A write transaction failed inside the storage engine, or was refused because an
    /// earlier one failed. The engine may have applied it in memory, but it will not
    /// survive a restart; do not acknowledge. The store now refuses every write (see
    /// [`BackendError::is_failed_earlier`]) until it is reopened.
    #[error("{op} transaction failed")]
    Transaction {
        /// The operation: `submit`, `ack` …
        op: &'static str,
        /// What the engine said.
        #[source]
        source: BackendError,
    },
    /// Making committed writes durable failed (an fsync error, a full disk), or was refused
    /// because an earlier write failed. The change may or may not survive a crash, so it
    /// must not be acknowledged. The store now refuses every write until it is reopened;
    /// after the restart, repeating the same call is safe: it stores the change again, or
    /// answers `AlreadyStored`, `Duplicate` or `AlreadyAcked` if it had reached the disk.
    #[error("making the store durable failed")]
    Sync {
        /// What the engine or the file system said.
        #[source]
        source: BackendError,
    },
    /// A stored key or value does not read back: disk corruption, a bug, or a value written
    /// by a newer version of lienthong.
    #[error("corrupt value in tree {tree} at key {key}")]
    Corrupt {
        /// The tree.
        tree: &'static str,
        /// The key, in hex.
        key: String,
        /// What is wrong with it.
        #[source]
        problem: Corruption,
    },
    /// A record could not be encoded for storage (a bug: records always encode).
    #[error("encoding {what} failed")]
    Encode {
        /// Which record.
        what: &'static str,
        /// What postcard said.
        #[source]
        source: postcard::Error,
    },
    /// `update_outbox` or `record_receipt` named an outbox entry that does not exist. The
    /// store only creates outbox entries in `submit`; nothing was written.
    #[error("no outbox entry for package {package_id} and recipient {recipient}")]
    UnknownOutboxEntry {
        /// The package.
        package_id: PackageId,
        /// The recipient.
        recipient: OrganId,
    },
    /// The axis bridge named an arrival it never recorded as seen; nothing was written.
    #[error("no arrival from the axis with DocId {doc_id}")]
    UnknownAxisArrival {
        /// The axis's DocId.
        doc_id: String,
    },
    /// A backup could not be written (its path exists already: a backup never overwrites
    /// one; or a file could not be written or synced), or a backup does not match its
    /// manifest. Nothing of the store itself was changed.
    #[error("backup {path}: {message}")]
    Backup {
        /// The backup directory.
        path: PathBuf,
        /// What went wrong, and what to do.
        message: String,
    },
    /// A large package's own file (see `package_files.rs`) could not be written, synced or
    /// read: a full disk, permissions, a file removed by hand. A failed write changed
    /// nothing and leaves the store writable; repeat the call once the cause is fixed.
    #[error("package file {path}")]
    PackageFile {
        /// The file, or the directory of package files.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// The records passed to one call disagree with each other; nothing was written.
    #[error("inconsistent input for package {package_id}")]
    InvalidInput {
        /// The package the call was about.
        package_id: PackageId,
        /// What disagrees.
        #[source]
        problem: InputProblem,
    },
    /// A call made through [`Store::call`](super::Store::call) did not return: it panicked,
    /// or the runtime was shutting down. Whether it wrote anything is unknown, as after a
    /// crash; what it wrote is durable and whole.
    #[error("the store call did not finish")]
    Task(#[source] crate::tasks::TaskFailed),
}

/// Why a stored key or value does not read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// The value is empty: it has no version marker.
    #[error("value is empty, without a version marker")]
    Empty,
    /// The version marker is not one this code knows; either garbage or a value written by
    /// a newer version.
    #[error("version marker {marker} is unknown to this lienthong")]
    UnknownVersion {
        /// The marker byte found.
        marker: u8,
    },
    /// The value has a known marker but its body does not decode.
    #[error("value does not decode")]
    Undecodable {
        /// What postcard said.
        #[source]
        source: postcard::Error,
    },
    /// The value decodes but bytes are left over.
    #[error("{count} bytes follow the value")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// A fixed-width value or key has the wrong length.
    #[error("{found} bytes where {expected} were expected")]
    Length {
        /// The width expected.
        expected: usize,
        /// The width found.
        found: usize,
    },
    /// Stored envelope bytes no longer read as a signed package or receipt.
    #[error("stored envelope does not read back")]
    Envelope {
        /// What the envelope reader said.
        #[source]
        source: EnvelopeError,
    },
    /// A large package's file holds other bytes than its reference in the store says.
    #[error("{problem}")]
    PackageFile {
        /// What differs, naming the file.
        problem: String,
    },
    /// An evidence leaf's bytes do not read as a leaf.
    #[error("evidence leaf does not read back")]
    Leaf {
        /// What the leaf reader said.
        #[source]
        source: super::evidence_leaf::LeafError,
    },
    /// An index or reference names a record that is not there.
    #[error("{what} is missing")]
    Missing {
        /// The record that should exist.
        what: &'static str,
    },
}

/// How the records passed to one call disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputProblem {
    /// A record is about a different package than the one passed with it.
    #[error("the {record} is for package {found}")]
    PackageIdMismatch {
        /// Which record: `"metadata"`, `"outbox entry"`, `"inbox entry"`, `"receipt"`.
        record: &'static str,
        /// The package id it carries.
        found: PackageId,
    },
    /// An outbox entry names an agency the package is not addressed to.
    #[error("{recipient} is not a recipient of the package")]
    NotARecipient {
        /// The agency.
        recipient: OrganId,
    },
    /// Two outbox entries name the same recipient.
    #[error("recipient {recipient} has more than one outbox entry")]
    DuplicateRecipient {
        /// The agency.
        recipient: OrganId,
    },
    /// The document id is longer than any receipt could carry.
    #[error("document id is {len} bytes, longer than the {max} allowed")]
    DocumentIdTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A receipt's outbox update is for another recipient than the receipt.
    #[error("the outbox update is for {found}, the receipt for {expected}")]
    RecipientMismatch {
        /// The receipt's recipient.
        expected: OrganId,
        /// The outbox entry's recipient.
        found: OrganId,
    },
    /// A package to replace is not stored.
    #[error("no such package is stored")]
    UnknownPackage,
}
