//! The node's data directory: where each file lives, and how files are written so that a
//! crash never leaves a half-written one.
//!
//! ```text
//! DIR/config.toml     settings (lienthong init)
//! DIR/agency.key      the agency's ed25519 secret key, mode 0600
//! DIR/api.token       the bearer token of the local API, mode 0600
//! DIR/identity.json   public: id, name, key, peer id (what an authority needs to admit it)
//! DIR/root.pub        the federation root authority's key (lienthong federation admit)
//! DIR/roster.bin      the roster as an authority installed it (lienthong federation admit)
//! DIR/roster.current  the node's own merged roster (from authorities, gossip and peers)
//! DIR/agency.key.next a key prepared for rotation (lienthong key rotate), mode 0600
//! DIR/store/          the durable store
//! DIR/daemon.json     written by a running daemon: peer id, bound addresses, API address
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// Paths inside one node's data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.toml`.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// `agency.key`.
    pub fn agency_key(&self) -> PathBuf {
        self.root.join("agency.key")
    }

    /// `api.token`.
    pub fn api_token(&self) -> PathBuf {
        self.root.join("api.token")
    }

    /// `identity.json`.
    pub fn identity(&self) -> PathBuf {
        self.root.join("identity.json")
    }

    /// `root.pub`.
    pub fn root_key(&self) -> PathBuf {
        self.root.join("root.pub")
    }

    /// `roster.bin`.
    pub fn roster(&self) -> PathBuf {
        self.root.join("roster.bin")
    }

    /// `roster.current`: the node's merged roster, written by the node itself.
    pub fn current_roster(&self) -> PathBuf {
        self.root.join("roster.current")
    }

    /// `agency.key.next`: a key prepared for rotation (`lienthong key rotate`).
    pub fn next_agency_key(&self) -> PathBuf {
        self.root.join("agency.key.next")
    }

    /// `agency.key.old`: the key before the last rotation, kept for the operator.
    pub fn old_agency_key(&self) -> PathBuf {
        self.root.join("agency.key.old")
    }

    /// `store/`.
    pub fn store(&self) -> PathBuf {
        self.root.join("store")
    }

    /// `daemon.json`.
    pub fn daemon(&self) -> PathBuf {
        self.root.join("daemon.json")
    }
}

/// Writes a file so that readers see either the old content or the new, never a mix, and
/// the new content is on disk when this returns: a temporary file in the same directory
/// (created with `mode`, so a secret is never readable by others even for a moment),
/// written and synced, then renamed over the target, then the directory synced.
///
/// # Errors
/// Any I/O error; the target is unchanged then.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        // An existing temporary file keeps its old mode; set it explicitly.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates a new secret file (mode 0600); fails if it exists, so a key is never overwritten.
///
/// # Errors
/// `AlreadyExists` when the file exists, or any other I/O error.
pub fn create_secret(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The bytes of an optional file the config names (a CA certificate file): `None` when
/// the config leaves the path empty.
///
/// # Errors
/// When the named file cannot be read.
pub fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    if path.as_os_str().is_empty() {
        return Ok(None);
    }
    fs::read(path).map(Some)
}

/// Reads a secret file, refusing one that others can read: a key that leaked to other
/// users of the server is not a key the agency controls.
///
/// # Errors
/// `PermissionDenied` naming the mode when group or others have access, or any I/O error.
pub fn read_secret(path: &Path) -> io::Result<String> {
    let mode = fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is readable by other users (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            ),
        ));
    }
    fs::read_to_string(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_keeps_the_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("roster.bin");
        write_atomic(&path, b"one", 0o644).expect("first");
        write_atomic(&path, b"two", 0o600).expect("second");
        assert_eq!(fs::read(&path).expect("read"), b"two");
        assert_eq!(
            fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::read_dir(dir.path()).expect("list").count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn secrets_are_created_once_and_guarded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("agency.key");
        create_secret(&path, b"secret").expect("create");
        assert_eq!(
            create_secret(&path, b"other").expect_err("exists").kind(),
            io::ErrorKind::AlreadyExists
        );
        assert_eq!(read_secret(&path).expect("read"), "secret");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = read_secret(&path).expect_err("too open");
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}
