//! Large packages' wire bytes in files of their own, beside the engine's.
//!
//! # Why
//!
//! sled writes a large value into its log more than once: the insert, then the
//! consolidation of the page that holds it (profiled on a 27 MB package: half the node's
//! CPU was the kernel copying those two writes). Agencies send scanned originals of tens of
//! megabytes, so a package above [`INLINE_LIMIT`] goes to a file written once, and the
//! `packages` tree holds a small reference to it ([`FileRef`]): garage keeps its data blocks
//! out of its metadata engine the same way. Small packages stay in the tree, where one
//! group-committed transaction is cheaper than a file and its syncs.
//!
//! # Crash safety
//!
//! A file is written under a name no other write uses (`<package id>.<generation>`), synced,
//! and its directory synced, before the transaction that references it commits. So a
//! committed reference always finds its file. A crash between the two leaves a file nothing
//! references; so does a transaction that found the package stored already, or a replaced
//! package's old file. [`PackageFiles::sweep`] removes those when the store opens. Files are
//! never changed once written.
//!
//! A relay's mailbox keeps large sealed packages the same way, and removes each file once
//! the transaction that released it is durable ([`Removals`]); while a backup copies files,
//! removals wait for it, so a backup never misses a file its trees reference.
//!
//! Writing the file touches nothing the engine holds, so a full disk at that point refuses
//! the call with [`StoreError::PackageFile`] and leaves the store writable.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use tracing::{info, warn};

use lienthong_protocol::envelope::PackageId;

use super::direct_write;
use super::encoding::BLOB_V1;
use super::error::{Corruption, StoreError};

/// Packages larger than this many wire bytes are kept in files.
pub(super) const INLINE_LIMIT: usize = 128 * 1024;

/// The directory, inside the store's, that holds the files.
pub(super) const FILES_DIR: &str = "package-files";

/// Marker of a `packages` value that references a file.
pub(super) const FILE_V1: u8 = 2;

/// Width of an encoded [`FileRef`]: marker, generation, length, CRC-32.
const FILE_REF_LEN: usize = 1 + 8 + 8 + 4;

/// Where a package's bytes are, as the `packages` tree says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stored<'a> {
    /// In the value itself, after its marker.
    Inline(&'a [u8]),
    /// In a file.
    File(FileRef),
}

impl<'a> Stored<'a> {
    /// Reads a `packages` value.
    pub(super) fn decode(value: &'a [u8]) -> Result<Stored<'a>, Corruption> {
        match value.first() {
            None => Err(Corruption::Empty),
            Some(&BLOB_V1) => Ok(Stored::Inline(&value[1..])),
            Some(&FILE_V1) => FileRef::decode(value).map(Stored::File),
            Some(&marker) => Err(Corruption::UnknownVersion { marker }),
        }
    }
}

/// A reference to a package file: which one, and what it must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileRef {
    /// Tells this write's file from any other of the same package (a package signed again
    /// after a key rotation keeps its id).
    pub(super) generation: u64,
    /// The file's length in bytes.
    pub(super) len: u64,
    /// CRC-32 of the file's bytes: a sender reads its own package without checking the
    /// signature again, so a bit flipped on disk is caught here rather than by the
    /// recipient.
    pub(super) crc: u32,
}

impl FileRef {
    /// `FILE_V1 ‖ generation ‖ len ‖ crc`, big-endian.
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut value = Vec::with_capacity(FILE_REF_LEN);
        value.push(FILE_V1);
        value.extend_from_slice(&self.generation.to_be_bytes());
        value.extend_from_slice(&self.len.to_be_bytes());
        value.extend_from_slice(&self.crc.to_be_bytes());
        value
    }

    fn decode(value: &[u8]) -> Result<FileRef, Corruption> {
        if value.len() != FILE_REF_LEN {
            return Err(Corruption::Length {
                expected: FILE_REF_LEN,
                found: value.len(),
            });
        }
        let u64_at = |at: usize| {
            let mut bytes = [0; 8];
            bytes.copy_from_slice(&value[at..at + 8]);
            u64::from_be_bytes(bytes)
        };
        let mut crc = [0; 4];
        crc.copy_from_slice(&value[17..21]);
        Ok(FileRef {
            generation: u64_at(1),
            len: u64_at(9),
            crc: u32::from_be_bytes(crc),
        })
    }
}

/// The package files of one store directory. A path, cheap to make wherever one is needed.
#[derive(Debug, Clone)]
pub(super) struct PackageFiles {
    dir: PathBuf,
}

impl PackageFiles {
    /// The files of the store in `store_dir`; nothing is created yet.
    pub(super) fn of(store_dir: &Path) -> PackageFiles {
        PackageFiles {
            dir: store_dir.join(FILES_DIR),
        }
    }

    /// The file a reference names.
    pub(super) fn path(&self, id: &PackageId, generation: u64) -> PathBuf {
        self.dir.join(file_name(id, generation))
    }

    /// Writes `bytes` to a new file for package `id` and makes it durable, file and
    /// directory entry both. On error the file is removed again.
    ///
    /// # Errors
    /// [`StoreError::PackageFile`]: the directory or the file could not be created,
    /// written or synced (a full disk, permissions). Nothing else was touched.
    pub(super) fn write(&self, id: &PackageId, bytes: &[u8]) -> Result<FileRef, StoreError> {
        let file_ref = FileRef {
            generation: rand::random(),
            len: bytes.len() as u64,
            crc: crc32fast::hash(bytes),
        };
        let path = self.path(id, file_ref.generation);
        let result = (|| {
            fs::create_dir_all(&self.dir)?;
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)?;
            direct_write::write_synced(&mut file, bytes)?;
            File::open(&self.dir)?.sync_all()
        })();
        result.map(|()| file_ref).map_err(|source| {
            let _ = fs::remove_file(&path);
            StoreError::PackageFile { path, source }
        })
    }

    /// Reads the file `file_ref` names and checks its length and checksum.
    ///
    /// # Errors
    /// [`StoreError::PackageFile`] when it cannot be read (missing, permissions);
    /// [`Corruption::PackageFile`] (the caller names the tree and key) when it holds other
    /// bytes than the reference says.
    pub(super) fn read(&self, id: &PackageId, file_ref: &FileRef) -> Result<Bytes, ReadFailure> {
        let path = self.path(id, file_ref.generation);
        let bytes = fs::read(&path).map_err(|source| {
            ReadFailure::Io(StoreError::PackageFile {
                path: path.clone(),
                source,
            })
        })?;
        let problem = if bytes.len() as u64 != file_ref.len {
            Some(format!(
                "{} holds {} bytes, the store says {}",
                path.display(),
                bytes.len(),
                file_ref.len
            ))
        } else if crc32fast::hash(&bytes) != file_ref.crc {
            Some(format!(
                "{} does not match its checksum: its bytes changed on disk",
                path.display()
            ))
        } else {
            None
        };
        match problem {
            Some(problem) => Err(ReadFailure::Corrupt(Corruption::PackageFile { problem })),
            None => Ok(Bytes::from(bytes)),
        }
    }

    /// Removes the file of an unreferenced write; a failure only leaves it for the next
    /// [`sweep`](Self::sweep).
    pub(super) fn remove(&self, id: &PackageId, generation: u64) {
        let path = self.path(id, generation);
        if let Err(error) = fs::remove_file(&path)
            && error.kind() != io::ErrorKind::NotFound
        {
            warn!(path = %path.display(), %error, "unreferenced package file left for the next start");
        }
    }

    /// Removes every package file `referenced` does not claim, and returns how many. Files
    /// whose names this module does not write are left alone.
    ///
    /// # Errors
    /// [`StoreError::PackageFile`] when the directory cannot be listed or a file removed;
    /// an error of `referenced`.
    pub(super) fn sweep(
        &self,
        referenced: impl Fn(&PackageId, u64) -> Result<bool, StoreError>,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.entries()? {
            let entry = entry.map_err(|e| self.failed(e))?;
            let Some((id, generation)) = entry.file_name().to_str().and_then(parse_name) else {
                continue;
            };
            if !referenced(&id, generation)? {
                fs::remove_file(entry.path()).map_err(|e| self.failed(e))?;
                removed += 1;
            }
        }
        if removed > 0 {
            info!(
                removed,
                "package files no transaction referenced were removed"
            );
        }
        Ok(removed)
    }

    /// Bytes the files take.
    ///
    /// # Errors
    /// [`StoreError::PackageFile`] when the directory cannot be listed.
    pub(super) fn size(&self) -> Result<u64, StoreError> {
        let mut total = 0;
        for entry in self.entries()? {
            total += entry
                .and_then(|e| e.metadata())
                .map_err(|e| self.failed(e))?
                .len();
        }
        Ok(total)
    }

    /// The directory's entries; none before the first large package made it.
    fn entries(&self) -> Result<impl Iterator<Item = io::Result<fs::DirEntry>>, StoreError> {
        match fs::read_dir(&self.dir) {
            Ok(entries) => Ok(Some(entries).into_iter().flatten()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None.into_iter().flatten()),
            Err(error) => Err(self.failed(error)),
        }
    }

    fn failed(&self, source: io::Error) -> StoreError {
        StoreError::PackageFile {
            path: self.dir.clone(),
            source,
        }
    }
}

/// Removals of files whose references are gone, held back while a backup copies files.
#[derive(Debug)]
pub(super) struct Removals {
    files: PackageFiles,
    state: Mutex<RemovalState>,
}

#[derive(Debug, Default)]
struct RemovalState {
    /// Backups copying files now.
    copying: usize,
    /// Files to remove once they are done.
    deferred: Vec<(PackageId, u64)>,
}

impl Removals {
    pub(super) fn new(files: PackageFiles) -> Removals {
        Removals {
            files,
            state: Mutex::default(),
        }
    }

    /// Removes a file no committed transaction references any more, now or, while a
    /// backup copies files, once it is done. A crash before then leaves it to the sweep.
    pub(super) fn remove(&self, id: &PackageId, generation: u64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.copying > 0 {
            state.deferred.push((*id, generation));
        } else {
            drop(state);
            self.files.remove(id, generation);
        }
    }

    /// Holds removals back until the returned guard is dropped. Take it before writers
    /// resume after a backup's copy of the trees.
    pub(super) fn hold(&self) -> RemovalsHeld<'_> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .copying += 1;
        RemovalsHeld { removals: self }
    }
}

/// Removals wait while this lives; see [`Removals::hold`].
pub(super) struct RemovalsHeld<'a> {
    removals: &'a Removals,
}

impl Drop for RemovalsHeld<'_> {
    fn drop(&mut self) {
        let deferred = {
            let mut state = self
                .removals
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            state.copying -= 1;
            if state.copying > 0 {
                return;
            }
            std::mem::take(&mut state.deferred)
        };
        for (id, generation) in deferred {
            self.removals.files.remove(&id, generation);
        }
    }
}

/// Why [`PackageFiles::read`] failed: the file could not be read, or it reads wrong.
#[derive(Debug)]
pub(super) enum ReadFailure {
    Io(StoreError),
    Corrupt(Corruption),
}

fn file_name(id: &PackageId, generation: u64) -> String {
    format!("{}.{generation:016x}", hex::encode(id.as_bytes()))
}

fn parse_name(name: &str) -> Option<(PackageId, u64)> {
    let (id, generation) = name.split_once('.')?;
    if generation.len() != 16 {
        return None;
    }
    let bytes: [u8; 32] = hex::decode(id).ok()?.try_into().ok()?;
    Some((
        PackageId::from_bytes(bytes),
        u64::from_str_radix(generation, 16).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip_and_refuse_a_wrong_width() {
        let file_ref = FileRef {
            generation: 0x0102_0304_0506_0708,
            len: 27_000_000,
            crc: 0xdead_beef,
        };
        let value = file_ref.encode();
        assert_eq!(
            Stored::decode(&value).expect("reads"),
            Stored::File(file_ref)
        );
        assert!(matches!(
            Stored::decode(&value[..10]),
            Err(Corruption::Length {
                expected: FILE_REF_LEN,
                found: 10
            })
        ));
        assert_eq!(
            Stored::decode(b"\x01LTPK").expect("reads"),
            Stored::Inline(b"LTPK")
        );
        assert!(matches!(
            Stored::decode(b"\x09"),
            Err(Corruption::UnknownVersion { marker: 9 })
        ));
    }

    #[test]
    fn names_round_trip_and_foreign_names_are_not_ours() {
        let id = PackageId::from_bytes([7; 32]);
        let name = file_name(&id, 42);
        assert_eq!(parse_name(&name), Some((id, 42)));
        assert_eq!(parse_name("notes.txt"), None);
        assert_eq!(parse_name(&format!("{}.2a", hex::encode([7; 32]))), None);
        assert_eq!(parse_name(&format!("{}.{:016x}", "zz", 1)), None);
    }

    #[test]
    fn a_file_reads_back_and_a_changed_one_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = PackageFiles::of(dir.path());
        let id = PackageId::from_bytes([1; 32]);
        let bytes = vec![0x5a; 300_000];
        let file_ref = files.write(&id, &bytes).expect("writes");
        assert_eq!(&files.read(&id, &file_ref).expect("reads")[..], &bytes[..]);

        let path = files.path(&id, file_ref.generation);
        let mut changed = bytes.clone();
        changed[123_456] ^= 1;
        fs::write(&path, &changed).expect("changes it");
        assert!(matches!(
            files.read(&id, &file_ref),
            Err(ReadFailure::Corrupt(Corruption::PackageFile { problem })) if problem.contains("checksum")
        ));
        fs::write(&path, &bytes[..10]).expect("truncates it");
        assert!(matches!(
            files.read(&id, &file_ref),
            Err(ReadFailure::Corrupt(Corruption::PackageFile { problem })) if problem.contains("holds 10 bytes")
        ));
        fs::remove_file(&path).expect("removes it");
        assert!(matches!(
            files.read(&id, &file_ref),
            Err(ReadFailure::Io(StoreError::PackageFile { .. }))
        ));
    }

    #[test]
    fn removals_wait_while_a_backup_copies_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = PackageFiles::of(dir.path());
        let removals = Removals::new(files.clone());
        let id = PackageId::from_bytes([3; 32]);
        let first = files.write(&id, b"first").expect("writes");
        let second = files.write(&id, b"second").expect("writes");

        let held = removals.hold();
        let also_held = removals.hold();
        removals.remove(&id, first.generation);
        assert!(files.path(&id, first.generation).exists());
        drop(held);
        assert!(
            files.path(&id, first.generation).exists(),
            "one backup still copies"
        );
        drop(also_held);
        assert!(!files.path(&id, first.generation).exists());

        removals.remove(&id, second.generation);
        assert!(!files.path(&id, second.generation).exists());
    }

    #[test]
    fn a_sweep_removes_only_unreferenced_files_of_ours() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = PackageFiles::of(dir.path());
        let kept = files
            .write(&PackageId::from_bytes([1; 32]), b"kept")
            .expect("writes");
        let orphan = files
            .write(&PackageId::from_bytes([2; 32]), b"orphan")
            .expect("writes");
        let foreign = dir.path().join(FILES_DIR).join("README");
        fs::write(&foreign, "an operator's note").expect("writes");

        let removed = files
            .sweep(|id, generation| {
                Ok(*id == PackageId::from_bytes([1; 32]) && generation == kept.generation)
            })
            .expect("sweeps");
        assert_eq!(removed, 1);
        assert!(
            files
                .path(&PackageId::from_bytes([1; 32]), kept.generation)
                .exists()
        );
        assert!(
            !files
                .path(&PackageId::from_bytes([2; 32]), orphan.generation)
                .exists()
        );
        assert!(foreign.exists());
    }
}
