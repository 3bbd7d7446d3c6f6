//! Package bytes, sent or received: kept in the `packages` tree when small, in a file of
//! their own when large (see `package_files.rs`), and read back from either.

use bytes::Bytes;
use tracing::debug;

use lienthong_protocol::envelope::{EnvelopeError, EnvelopeLimits, PackageId, SignedPackage};

use super::Store;
use super::encoding::{self, corrupt};
use super::engine::{Db, Value};
use super::error::{Corruption, InputProblem, StoreError};
use super::keys::Tree;
use super::package_files::{FileRef, INLINE_LIMIT, ReadFailure, Stored};

/// A package's `packages` value, ready for a transaction; its file, when large, is already
/// durable. Hand it back to [`Store::release`] once the transaction is done.
pub(super) struct StagedPackage {
    /// What the transaction stores under the package id; shared, not copied, by a
    /// submission's retries.
    pub(super) value: Bytes,
    file: Option<FileRef>,
}

impl Store {
    /// Prepares `package`'s bytes for a transaction that stores them unless the package is
    /// stored already: a large package is written to its file first, unless it is already
    /// stored (a resend, or a package both sent and received here).
    ///
    /// # Errors
    /// [`StoreError::PackageFile`] when the file cannot be written; nothing changed.
    pub(super) fn stage(&self, package: &SignedPackage) -> Result<StagedPackage, StoreError> {
        let id = package.id();
        self.stage_bytes(&id, &package.to_wire(), || {
            Ok(self.db().get(Tree::Packages, id.as_bytes())?.is_some())
        })
    }

    /// Prepares package `id`'s bytes (its wire bytes, or sealed for a relay's member) for a
    /// transaction: in a file when large, unless `stored_already` (asked of large ones
    /// only, so that small ones cost no extra lookup) says the transaction will find them
    /// stored and keep what is there.
    ///
    /// # Errors
    /// [`StoreError::PackageFile`] when the file cannot be written; nothing changed. An
    /// error of `stored_already`.
    pub(super) fn stage_bytes(
        &self,
        id: &PackageId,
        bytes: &[u8],
        stored_already: impl FnOnce() -> Result<bool, StoreError>,
    ) -> Result<StagedPackage, StoreError> {
        if bytes.len() <= INLINE_LIMIT || stored_already()? {
            return Ok(StagedPackage {
                value: encoding::encode_blob(bytes).into(),
                file: None,
            });
        }
        let file = self.inner.files.write(id, bytes)?;
        Ok(StagedPackage {
            value: file.encode().into(),
            file: Some(file),
        })
    }

    /// Removes a staged file that its transaction did not reference (it failed, or found
    /// the package stored already). Files a transaction did reference stay until a start
    /// of the node finds them unreferenced, or, in a relay's mailbox, until released.
    pub(super) fn unstage(&self, id: &PackageId, staged: &StagedPackage) {
        let Some(file) = staged.file else {
            return;
        };
        // When it cannot tell, it keeps the file; the next start decides.
        if !file_referenced(self.db(), id, file.generation).unwrap_or(true) {
            self.inner.files.remove(id, file.generation);
        }
    }

    /// The bytes a `packages` or `mailbox_sealed` value holds or references, for package
    /// `id`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `tree` and `key` when the value does not read or the
    /// file holds other bytes than recorded; [`StoreError::PackageFile`] when the file
    /// cannot be read.
    pub(super) fn stored_bytes(
        &self,
        tree: Tree,
        key: &[u8],
        id: &PackageId,
        value: Value,
    ) -> Result<Bytes, StoreError> {
        let file = match Stored::decode(&value) {
            Ok(Stored::Inline(_)) => None,
            Ok(Stored::File(file)) => Some(file),
            Err(problem) => return Err(corrupt(tree, key, problem)),
        };
        let Some(file) = file else {
            return Ok(value.into_bytes_from(1));
        };
        match self.inner.files.read(id, &file) {
            Ok(bytes) => Ok(bytes),
            Err(ReadFailure::Io(error)) => Err(error),
            Err(ReadFailure::Corrupt(problem)) => Err(corrupt(tree, key, problem)),
        }
    }

    /// The package with this id, sent or received, read back and verified.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the stored bytes no longer read as a package under
    /// the default [`EnvelopeLimits`]; [`StoreError::Read`]; [`StoreError::PackageFile`]
    /// when a large package's file cannot be read.
    pub fn package(&self, id: &PackageId) -> Result<Option<SignedPackage>, StoreError> {
        self.read_package(id, SignedPackage::from_wire)
    }

    /// A package this node sent, read back without checking its signature and content hash
    /// again ([`SignedPackage::from_stored`]): it was signed here before it was stored, and
    /// each delivery attempt reads it. Every other check of [`package`](Self::package)
    /// still runs, and a large package's file is checked against its checksum.
    ///
    /// # Errors
    /// As [`package`](Self::package).
    pub fn package_to_send(&self, id: &PackageId) -> Result<Option<SignedPackage>, StoreError> {
        self.read_package(id, SignedPackage::from_stored)
    }

    fn read_package(
        &self,
        id: &PackageId,
        read: fn(Bytes, &EnvelopeLimits) -> Result<SignedPackage, EnvelopeError>,
    ) -> Result<Option<SignedPackage>, StoreError> {
        let Some(wire) = self.package_wire(id)? else {
            return Ok(None);
        };
        read(wire, &EnvelopeLimits::default())
            .map(Some)
            .map_err(|source| {
                corrupt(
                    Tree::Packages,
                    id.as_bytes(),
                    Corruption::Envelope { source },
                )
            })
    }

    /// The package's wire bytes as stored, without reading them (e.g. to send them on).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the value's version marker is wrong or a large
    /// package's file holds other bytes than recorded; [`StoreError::Read`];
    /// [`StoreError::PackageFile`] when that file cannot be read.
    pub fn package_wire(&self, id: &PackageId) -> Result<Option<Bytes>, StoreError> {
        let Some(value) = self.db().get(Tree::Packages, id.as_bytes())? else {
            return Ok(None);
        };
        self.stored_bytes(Tree::Packages, id.as_bytes(), id, value)
            .map(Some)
    }

    /// Replaces a stored package with the same package signed again (after this agency's
    /// key rotation). The id covers everything but the signer, so it is unchanged and
    /// recipients that already hold the package answer idempotently. Durable on return.
    /// A large package's old file stays until the node's next start.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] when no package with this id is stored; nothing is
    /// written then. [`StoreError::PackageFile`] when a large package's new file cannot
    /// be written; nothing changed.
    pub fn replace_package(&self, package: &SignedPackage) -> Result<(), StoreError> {
        let id = package.id();
        let staged = self.stage_bytes(&id, &package.to_wire(), || Ok(false))?;
        let result = self
            .db()
            .transaction("replace package", |tx| {
                if tx.get(Tree::Packages, id.as_bytes())?.is_none() {
                    return Err(StoreError::InvalidInput {
                        package_id: id,
                        problem: InputProblem::UnknownPackage,
                    }
                    .into());
                }
                tx.insert(Tree::Packages, id.as_bytes(), &staged.value)
            })
            .and_then(|()| self.sync());
        self.unstage(&id, &staged);
        result?;
        debug!(package = %id.fmt_short(), "package signed again");
        Ok(())
    }
}

/// Whether a committed `packages` or `mailbox_sealed` value references package `id`'s file
/// of this generation. A value that does not read counts as a reference: the sweep never
/// removes what it cannot rule out.
///
/// # Errors
/// Read errors of the trees.
pub(super) fn file_referenced(
    db: &Db,
    id: &PackageId,
    generation: u64,
) -> Result<bool, StoreError> {
    let references = |value: &[u8]| match Stored::decode(value) {
        Ok(Stored::File(file)) => file.generation == generation,
        Ok(Stored::Inline(_)) => false,
        Err(_) => true,
    };
    if let Some(value) = db.get(Tree::Packages, id.as_bytes())?
        && references(&value)
    {
        return Ok(true);
    }
    // The mailbox holds a package once per member it is for (`mailbox_ids` is keyed by
    // package id, then member).
    for item in db.scan_prefix(Tree::MailboxIds, id.as_bytes()) {
        let (_, key) = item?;
        if encoding::check_blob(&key).is_err() {
            return Ok(true);
        }
        if let Some(value) = db.get(Tree::MailboxSealed, &key[1..])?
            && references(&value)
        {
            return Ok(true);
        }
    }
    Ok(false)
}
