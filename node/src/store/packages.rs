//! Package bytes, sent or received: kept in the `packages` tree when small, in a file of
//! their own when large (see `package_files.rs`), and read back from either.

use bytes::Bytes;
use tracing::debug;

use lienthong_protocol::envelope::{EnvelopeError, EnvelopeLimits, PackageId, SignedPackage};

use super::Store;
use super::encoding::{self, corrupt};
use super::error::{Corruption, InputProblem, StoreError};
use super::keys::Tree;
use super::package_files::{FileRef, INLINE_LIMIT, ReadFailure, Stored};

/// A package's `packages` value, ready for a transaction; its file, when large, is already
/// durable. Hand it back to [`Store::release`] once the transaction is done.
pub(super) struct StagedPackage {
    /// What the transaction stores under the package id.
    pub(super) value: Vec<u8>,
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
        let wire = package.to_wire();
        if wire.len() > INLINE_LIMIT
            && self
                .db()
                .get(Tree::Packages, package.id().as_bytes())?
                .is_none()
        {
            return self.stage_file(&package.id(), &wire);
        }
        Ok(StagedPackage {
            value: encoding::encode_blob(&wire),
            file: None,
        })
    }

    fn stage_file(&self, id: &PackageId, wire: &[u8]) -> Result<StagedPackage, StoreError> {
        let file = self.inner.files.write(id, wire)?;
        Ok(StagedPackage {
            value: file.encode(),
            file: Some(file),
        })
    }

    /// Removes a staged file that its transaction did not reference (it failed, or found
    /// the package stored already). Files a transaction did reference stay until a start
    /// of the node finds them unreferenced, so that a backup under way never misses one.
    pub(super) fn unstage(&self, id: &PackageId, staged: &StagedPackage) {
        let Some(file) = staged.file else {
            return;
        };
        let referenced = match self.db().get(Tree::Packages, id.as_bytes()) {
            Ok(Some(value)) => matches!(
                Stored::decode(&value),
                Ok(Stored::File(stored)) if stored.generation == file.generation
            ),
            Ok(None) => false,
            // Cannot tell: keep it; the next start decides.
            Err(_) => true,
        };
        if !referenced {
            self.inner.files.remove(id, file.generation);
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
        let file = match Stored::decode(&value) {
            Ok(Stored::Inline(_)) => None,
            Ok(Stored::File(file)) => Some(file),
            Err(problem) => return Err(corrupt(Tree::Packages, id.as_bytes(), problem)),
        };
        let Some(file) = file else {
            return Ok(Some(value.into_bytes_from(1)));
        };
        match self.inner.files.read(id, &file) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(ReadFailure::Io(error)) => Err(error),
            Err(ReadFailure::Corrupt(problem)) => {
                Err(corrupt(Tree::Packages, id.as_bytes(), problem))
            }
        }
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
        let wire = package.to_wire();
        let staged = if wire.len() > INLINE_LIMIT {
            self.stage_file(&id, &wire)?
        } else {
            StagedPackage {
                value: encoding::encode_blob(&wire),
                file: None,
            }
        };
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
