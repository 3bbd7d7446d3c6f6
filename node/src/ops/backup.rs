//! Backing up and restoring a whole node: its store and the files of its data directory.
//!
//! A node backup is a directory laid out like a data directory, so that restoring it gives
//! the node back whole, keys and roster included:
//!
//! ```text
//! BACKUP/manifest.json   the store copy's manifest (schema, counts, time, version)
//! BACKUP/store/          the store copy (see `store::backup`)
//! BACKUP/config.toml     and identity.json, root.pub, roster.bin, roster.current
//! BACKUP/agency.key      and api.token, agency.key.next, agency.key.old, axis.secret:
//!                        mode 0600
//! ```
//!
//! The backup directory itself is mode 0700: it holds the agency key. Keep it where only
//! the node's operators can read it.
//!
//! A restore never destroys the data it replaces before it has finished: it copies the
//! backup into a staging directory beside the store, checks the copy against the manifest,
//! then moves the current store and files into `before-restore-TIME/` and the staged ones
//! into place.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tracing::info;

use crate::data_dir::DataDir;
use crate::store::{self, BackupSummary, STORE_DIR, Store, StoreError};

/// A file of the data directory that a backup carries.
struct NodeFile {
    path: fn(&DataDir) -> PathBuf,
    /// Copied with mode 0600 whatever its mode was.
    secret: bool,
    /// A backup without it cannot give a node back.
    required: bool,
}

/// The axis SDK's shared secret, under its default name.
fn axis_secret(data: &DataDir) -> PathBuf {
    data.root().join(crate::config::AXIS_SECRET_FILE)
}

/// Every data directory file a backup carries (the store aside; `daemon.json` belongs to
/// a running daemon and is never carried).
const NODE_FILES: [NodeFile; 10] = [
    NodeFile {
        path: DataDir::config,
        secret: false,
        required: true,
    },
    NodeFile {
        path: DataDir::agency_key,
        secret: true,
        required: true,
    },
    NodeFile {
        path: DataDir::api_token,
        secret: true,
        required: false,
    },
    NodeFile {
        path: DataDir::identity,
        secret: false,
        required: false,
    },
    NodeFile {
        path: DataDir::root_key,
        secret: false,
        required: false,
    },
    NodeFile {
        path: DataDir::roster,
        secret: false,
        required: false,
    },
    NodeFile {
        path: DataDir::current_roster,
        secret: false,
        required: false,
    },
    NodeFile {
        path: DataDir::next_agency_key,
        secret: true,
        required: false,
    },
    NodeFile {
        path: DataDir::old_agency_key,
        secret: true,
        required: false,
    },
    NodeFile {
        path: axis_secret,
        secret: true,
        required: false,
    },
];

/// A finished node backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeBackup {
    /// The backup directory.
    pub path: PathBuf,
    /// The store copy's manifest.
    pub store: BackupSummary,
    /// The data directory files copied, by name.
    pub files: Vec<String>,
}

/// A finished restore.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    /// The backup restored.
    pub from: PathBuf,
    /// Its store's manifest.
    pub store: BackupSummary,
    /// The data directory files put in place, by name.
    pub files: Vec<String>,
    /// Where the store and files the restore replaced are kept; `None` when the data
    /// directory held none of them.
    pub kept: Option<PathBuf>,
}

/// Why a backup or restore did not happen. Nothing was changed in the data directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The daemon writes the backup, from its own working directory: a relative path
    /// would land somewhere the operator does not expect.
    #[error("the backup path must be absolute, not {0}")]
    NotAbsolute(PathBuf),
    /// A backup never overwrites anything.
    #[error("{0} exists already; a backup never overwrites anything: give a new path")]
    Exists(PathBuf),
    /// Copying or checking the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be read, written or moved.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
    /// The backup lacks something a node needs.
    #[error("{path} is not a complete node backup: {missing} is missing")]
    Incomplete {
        /// The backup directory.
        path: PathBuf,
        /// What is missing.
        missing: String,
    },
    /// The store to replace is open in another process.
    #[error(
        "the store in {path} is in use; stop the node before restoring (systemctl stop lienthong): {source}"
    )]
    InUse {
        /// The store directory.
        path: PathBuf,
        /// What opening it said.
        #[source]
        source: StoreError,
    },
}

/// Backs up the node of `data` to the new directory `dest`: through `store` when the node
/// runs (the daemon passes its open store), else by opening the stopped node's store.
///
/// # Errors
/// [`BackupError`]; `dest` is removed again on error.
pub fn backup(
    data: &DataDir,
    store: Option<&Store>,
    dest: &Path,
) -> Result<NodeBackup, BackupError> {
    if !dest.is_absolute() {
        return Err(BackupError::NotAbsolute(dest.to_owned()));
    }
    if fs::symlink_metadata(dest).is_ok() {
        return Err(BackupError::Exists(dest.to_owned()));
    }
    let summary = match store {
        Some(store) => store.backup(dest)?,
        None => store::backup_stopped(&data.store(), dest)?,
    };
    match copy_node_files(data.root(), dest) {
        Ok(files) => {
            info!(path = %dest.display(), files = files.len(), "node backed up");
            Ok(NodeBackup {
                path: dest.to_owned(),
                store: summary,
                files,
            })
        }
        Err(error) => {
            // The whole directory is this backup's: the store copy created it.
            let _ = fs::remove_dir_all(dest);
            Err(error)
        }
    }
}

/// Restores the node of `data` from the backup directory `backup`. The node must be
/// stopped. The replaced store and files are kept (see [`Restored::kept`]).
///
/// # Errors
/// [`BackupError`]: an incomplete or newer backup, a store in use, a copy that does not
/// match its manifest (the data directory is then unchanged), or an I/O error.
pub fn restore(backup: &Path, data: &DataDir) -> Result<Restored, BackupError> {
    let manifest = store::read_manifest(backup)?;
    check_complete(backup)?;
    let live = data.store();
    if let Err(error @ StoreError::Open { .. }) = store::inspect(&live) {
        return Err(BackupError::InUse {
            path: live,
            source: error,
        });
    }
    let root = data.root();
    fs::create_dir_all(root).map_err(io_error("creating", root))?;
    let stamp = crate::clock::now()
        .to_string()
        .replace([':', '-'], "")
        .replace('.', "-");
    let staging = root.join(format!(".restore-{stamp}"));
    fs::create_dir(&staging).map_err(io_error("creating", &staging))?;
    let staged = stage(backup, &staging, &manifest);
    let files = match staged {
        Ok(files) => files,
        Err(error) => {
            // Only the staging directory was written: remove it, the node is as it was.
            let _ = fs::remove_dir_all(&staging);
            return Err(error);
        }
    };
    let aside = root.join(format!("before-restore-{stamp}"));
    fs::create_dir(&aside).map_err(io_error("creating", &aside))?;
    let mut kept = false;
    let mut moves: Vec<(PathBuf, PathBuf)> = Vec::new();
    if fs::symlink_metadata(&live).is_ok() {
        moves.push((live.clone(), aside.join(STORE_DIR)));
    }
    for name in &files {
        let current = root.join(name);
        if fs::symlink_metadata(&current).is_ok() {
            moves.push((current, aside.join(name)));
        }
    }
    for (from, to) in &moves {
        fs::rename(from, to).map_err(io_error("moving aside", from))?;
        kept = true;
    }
    for name in &files {
        let from = staging.join(name);
        fs::rename(&from, root.join(name)).map_err(io_error("putting in place", &from))?;
    }
    let staged_store = staging.join(STORE_DIR);
    fs::rename(&staged_store, &live).map_err(io_error("putting in place", &staged_store))?;
    sync_dir(&aside).map_err(io_error("syncing", &aside))?;
    sync_dir(root).map_err(io_error("syncing", root))?;
    fs::remove_dir(&staging).map_err(io_error("removing", &staging))?;
    if !kept {
        fs::remove_dir(&aside).map_err(io_error("removing", &aside))?;
    }
    info!(
        from = %backup.display(),
        to = %root.display(),
        schema = manifest.schema_version,
        kept = kept.then(|| aside.display().to_string()),
        "node restored"
    );
    Ok(Restored {
        from: backup.to_owned(),
        store: manifest,
        files,
        kept: kept.then_some(aside),
    })
}

/// Copies the backup's store and files into `staging` and checks the store copy against
/// the manifest; returns the names of the files staged.
fn stage(
    backup: &Path,
    staging: &Path,
    manifest: &BackupSummary,
) -> Result<Vec<String>, BackupError> {
    let store_copy = staging.join(STORE_DIR);
    copy_dir(&backup.join(STORE_DIR), &store_copy)?;
    let files = copy_node_files(backup, staging)?;
    store::verify_copy(&store_copy, manifest)?;
    sync_dir(staging).map_err(io_error("syncing", staging))?;
    Ok(files)
}

/// Whether `backup` is a complete node backup: its manifest reads, and it has its store
/// and the files a node cannot start without. Cheap: the store copy is not opened.
pub fn is_complete(backup: &Path) -> bool {
    store::read_manifest(backup).is_ok() && check_complete(backup).is_ok()
}

/// The backup has its store and the files a node cannot start without.
fn check_complete(backup: &Path) -> Result<(), BackupError> {
    let incomplete = |missing: String| BackupError::Incomplete {
        path: backup.to_owned(),
        missing,
    };
    if !backup.join(STORE_DIR).join("db").is_file() {
        return Err(incomplete(format!("{STORE_DIR}/")));
    }
    let layout = DataDir::new(backup);
    for file in NODE_FILES.iter().filter(|f| f.required) {
        let path = (file.path)(&layout);
        if !path.is_file() {
            return Err(incomplete(file_name(&path)));
        }
    }
    Ok(())
}

/// Copies the data directory files present in `from` to `to`, each synced, secrets with
/// mode 0600; returns their names.
fn copy_node_files(from: &Path, to: &Path) -> Result<Vec<String>, BackupError> {
    let (source, target) = (DataDir::new(from), DataDir::new(to));
    let mut copied = Vec::new();
    for file in &NODE_FILES {
        let src = (file.path)(&source);
        let Ok(meta) = fs::metadata(&src) else {
            continue;
        };
        let mode = if file.secret {
            0o600
        } else {
            meta.permissions().mode() & 0o777
        };
        let bytes = fs::read(&src).map_err(io_error("reading", &src))?;
        let dst = (file.path)(&target);
        crate::data_dir::write_atomic(&dst, &bytes, mode).map_err(io_error("writing", &dst))?;
        copied.push(file_name(&src));
    }
    Ok(copied)
}

/// Copies a directory tree (a store: files and the `blobs` directory), syncing every file
/// and directory. `to` must not exist.
fn copy_dir(from: &Path, to: &Path) -> Result<(), BackupError> {
    fs::create_dir(to).map_err(io_error("creating", to))?;
    for entry in fs::read_dir(from).map_err(io_error("reading", from))? {
        let entry = entry.map_err(io_error("reading", from))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(io_error("reading", &src))?;
        if kind.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            fs::copy(&src, &dst).map_err(io_error("copying", &src))?;
            File::open(&dst)
                .and_then(|f| f.sync_all())
                .map_err(io_error("syncing", &dst))?;
        }
    }
    sync_dir(to).map_err(io_error("syncing", to))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> BackupError {
    let path = path.to_owned();
    move |source| BackupError::Io { what, path, source }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::MANIFEST_FILE;

    /// A data directory as `lienthong init` makes it, with a store holding nothing.
    pub(crate) fn node() -> (tempfile::TempDir, DataDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = DataDir::new(dir.path().join("node"));
        crate::init::init(
            data.root(),
            &crate::init::InitOptions {
                organ_id: "000.00.01.H53".parse().expect("id"),
                name: "Sở Nội vụ".to_owned(),
                listen: vec!["/ip4/127.0.0.1/tcp/0".to_owned()],
                api: None,
                role: lienthong_protocol::roster::Role::Agency,
                mdns: false,
            },
        )
        .expect("init");
        drop(Store::open(&data.store()).expect("store"));
        (dir, data)
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn a_stopped_node_is_backed_up_with_its_files_and_secrets_stay_private() {
        let (dir, data) = node();
        let dest = dir.path().join("backups/one");
        let backup = backup(&data, None, &dest).expect("backup");
        assert!(
            backup.files.contains(&"config.toml".to_owned()),
            "{backup:?}"
        );
        assert!(
            backup.files.contains(&"agency.key".to_owned()),
            "{backup:?}"
        );
        assert_eq!(mode(&dest), 0o700);
        assert_eq!(mode(&dest.join("agency.key")), 0o600);
        assert_eq!(mode(&dest.join("api.token")), 0o600);
        assert_eq!(
            fs::read(dest.join("config.toml")).expect("copy"),
            fs::read(data.config()).expect("original")
        );
        assert!(dest.join(MANIFEST_FILE).is_file());
    }

    #[test]
    fn a_backup_refuses_a_relative_or_existing_path() {
        let (dir, data) = node();
        let err = backup(&data, None, Path::new("relative/dir")).expect_err("relative");
        assert!(matches!(err, BackupError::NotAbsolute(_)), "{err}");
        let existing = dir.path().join("existing");
        fs::create_dir(&existing).expect("mkdir");
        fs::write(existing.join("keep"), b"mine").expect("write");
        let err = backup(&data, None, &existing).expect_err("exists");
        assert!(err.to_string().contains("never overwrites"), "{err}");
        assert_eq!(fs::read(existing.join("keep")).expect("kept"), b"mine");
    }

    #[test]
    fn a_restore_keeps_what_it_replaced_and_refuses_a_store_in_use() {
        let (dir, data) = node();
        let dest = dir.path().join("backup");
        backup(&data, None, &dest).expect("backup");
        // The node's files change after the backup.
        fs::write(data.root().join("config.toml"), b"# edited\n").expect("edit");

        let held = Store::open(&data.store()).expect("the node runs");
        let err = restore(&dest, &data).expect_err("in use");
        assert!(matches!(err, BackupError::InUse { .. }), "{err}");
        drop(held);

        let restored = restore(&dest, &data).expect("restore");
        let kept = restored.kept.expect("replaced data is kept");
        assert_eq!(
            fs::read(kept.join("config.toml")).expect("kept"),
            b"# edited\n"
        );
        assert!(kept.join(STORE_DIR).join("db").is_file());
        assert_eq!(
            fs::read(data.config()).expect("restored"),
            fs::read(dest.join("config.toml")).expect("backup")
        );
        assert_eq!(mode(&data.agency_key()), 0o600);
        Store::open(&data.store()).expect("the restored store opens");
        assert!(
            fs::read_dir(data.root()).expect("list").all(|e| !e
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .starts_with(".restore")),
            "no staging directory is left"
        );
    }

    #[test]
    fn a_backup_that_does_not_match_its_manifest_changes_nothing() {
        let (dir, data) = node();
        let dest = dir.path().join("backup");
        backup(&data, None, &dest).expect("backup");
        let manifest = dest.join(MANIFEST_FILE);
        let text = fs::read_to_string(&manifest).expect("manifest");
        let tampered = text.replacen("\"entries\": ", "\"entries\": 1000", 1);
        fs::write(&manifest, tampered).expect("tamper");
        let before = fs::read(data.config()).expect("config");

        let err = restore(&dest, &data).expect_err("mismatch");
        assert!(
            err.to_string().contains("does not match its manifest"),
            "{err}"
        );
        assert_eq!(fs::read(data.config()).expect("config"), before);
        let names: Vec<String> = fs::read_dir(data.root())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| !n.starts_with(".restore") && !n.starts_with("before-restore")),
            "{names:?}"
        );
    }

    #[test]
    fn an_unfinished_backup_is_refused() {
        let (dir, data) = node();
        let dest = dir.path().join("backup");
        backup(&data, None, &dest).expect("backup");
        fs::remove_file(dest.join(MANIFEST_FILE)).expect("remove");
        let err = restore(&dest, &data).expect_err("unfinished");
        assert!(err.to_string().contains("unfinished"), "{err}");
        backup(&data, None, &dir.path().join("second")).expect("backup");
        fs::remove_file(dir.path().join("second/agency.key")).expect("remove");
        let err = restore(&dir.path().join("second"), &data).expect_err("incomplete");
        assert!(err.to_string().contains("agency.key is missing"), "{err}");
    }
}
