//! A backup's package files: large packages' bytes (see `package_files.rs`) copied beside
//! the store copy, and checked with it before a restore.
//!
//! The copy happens after writers resume. That is safe because files never change, and no
//! file the copied trees reference is removed meanwhile: a package's file only by the
//! sweep when the node starts, a relay's mailbox file once released, and those removals
//! wait until the backup has copied the files (`Removals` in `package_files.rs`).

use std::fs::{self, File};
use std::path::Path;

use lienthong_protocol::envelope::PackageId;

use super::encoding::corrupt;
use super::engine::Db;
use super::error::{Corruption, StoreError};
use super::keys::Tree;
use super::package_files::{FILES_DIR, FileRef, PackageFiles, ReadFailure, Stored};

/// What [`copy`] copied.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct FilesCopied {
    pub(super) files: u64,
    pub(super) bytes: u64,
}

/// Copies every package file that `copy`'s `packages` tree references, from the store in
/// `from_dir` to the copy in `to_dir`, each synced, then the directory.
///
/// # Errors
/// A read error of the copy; [`StoreError::PackageFile`] naming the file that could not be
/// copied or synced.
pub(super) fn copy(copy: &Db, from_dir: &Path, to_dir: &Path) -> Result<FilesCopied, StoreError> {
    let from = PackageFiles::of(from_dir);
    let to = PackageFiles::of(to_dir);
    let mut copied = FilesCopied::default();
    for (id, file) in referenced(copy)? {
        let target = to.path(&id, file.generation);
        let failed = |source| StoreError::PackageFile {
            path: target.clone(),
            source,
        };
        if copied.files == 0 {
            fs::create_dir_all(to_dir.join(FILES_DIR)).map_err(failed)?;
        }
        fs::copy(from.path(&id, file.generation), &target).map_err(failed)?;
        File::open(&target)
            .and_then(|f| f.sync_all())
            .map_err(failed)?;
        copied.files += 1;
        copied.bytes += file.len;
    }
    if copied.files > 0 {
        let dir = to_dir.join(FILES_DIR);
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| StoreError::PackageFile { path: dir, source })?;
    }
    Ok(copied)
}

/// Checks that every package file the store in `dir` references is there and holds the
/// bytes recorded; the first that is not, described for an operator.
///
/// # Errors
/// A read error of the store's trees.
pub(super) fn check(db: &Db, dir: &Path) -> Result<Option<String>, StoreError> {
    let files = PackageFiles::of(dir);
    for (id, file) in referenced(db)? {
        match files.read(&id, &file) {
            Ok(_) => {}
            Err(ReadFailure::Corrupt(problem)) => {
                return Ok(Some(format!("package {id}: {problem}")));
            }
            Err(ReadFailure::Io(error)) => {
                let cause = std::error::Error::source(&error)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                return Ok(Some(format!("package {id}: {error}: {cause}")));
            }
        }
    }
    Ok(None)
}

/// The package files `db`'s `packages` and `mailbox_sealed` trees reference. Values that
/// do not read are left to the readers that report them.
fn referenced(db: &Db) -> Result<Vec<(PackageId, FileRef)>, StoreError> {
    let mut files = Vec::new();
    // The package id is the whole `packages` key and the end of a `mailbox_sealed` one.
    for tree in [Tree::Packages, Tree::MailboxSealed] {
        for entry in db.iter(tree) {
            let (key, value) = entry?;
            let Ok(Stored::File(file)) = Stored::decode(&value) else {
                continue;
            };
            let id = key
                .len()
                .checked_sub(32)
                .and_then(|start| <[u8; 32]>::try_from(&key[start..]).ok())
                .ok_or_else(|| {
                    corrupt(
                        tree,
                        &key,
                        Corruption::Length {
                            expected: 32,
                            found: key.len(),
                        },
                    )
                })?;
            files.push((PackageId::from_bytes(id), file));
        }
    }
    Ok(files)
}
