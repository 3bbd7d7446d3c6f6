//! `manifest.json`: what an archive holds, and the SHA-256 and size of every file in it, so
//! that a changed, missing or added file is found without the node.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::Path;

use lienthong_protocol::OrganId;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::Period;

/// The manifest's file name, at the archive's top.
pub const MANIFEST: &str = "manifest.json";

/// The manifest's format; a newer one is refused by an older verifier.
pub const FORMAT: u32 = 1;

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The period, e.g. `2026-Q3`.
    pub period: Period,
    /// Its first instant, RFC 3339 UTC.
    pub from: String,
    /// The instant after its last, RFC 3339 UTC.
    pub until: String,
    /// The agency whose node wrote the archive.
    pub agency: OrganId,
    /// When it was written, RFC 3339 UTC.
    pub created_at: String,
    /// The lienthong that wrote it.
    pub lienthong_version: String,
    /// Kept at least until then, RFC 3339 UTC: the period's end plus `[archive] retention`.
    pub keep_until: String,
    /// What it holds.
    pub counts: Counts,
    /// Packages of the period without a bundle, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_bundled: Vec<NotBundled>,
    /// Every file but the manifest, by path (`/`-separated, relative to the archive).
    pub files: Vec<FileEntry>,
}

/// Counts of what an archive holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Packages this node sent in the period (by submission time).
    pub sent: u64,
    /// Packages this node received in the period (by arrival time).
    pub received: u64,
    /// Evidence bundles written.
    pub bundles: u64,
    /// Checkpoint notes written.
    pub checkpoints: u64,
}

/// A package of the period with no bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotBundled {
    /// Its id.
    pub package: String,
    /// Why: the export's error.
    pub reason: String,
}

/// One file of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Its path in the archive, `/`-separated.
    pub path: String,
    /// Lowercase hex.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
}

impl FileEntry {
    /// The entry of `bytes` at `path`.
    pub fn of(path: String, bytes: &[u8]) -> FileEntry {
        FileEntry {
            path,
            sha256: hex::encode(Sha256::digest(bytes)),
            size: bytes.len() as u64,
        }
    }
}

/// A file of the archive that does not match its manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileProblem {
    /// Its path in the archive.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

/// Reads `dir/manifest.json`.
///
/// # Errors
/// A message naming the file and what is wrong with it.
pub fn read(dir: &Path) -> Result<Manifest, String> {
    let path = dir.join(MANIFEST);
    let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not an archive manifest: {e}", path.display()))?;
    if manifest.format > FORMAT {
        return Err(format!(
            "{} is of format {}, newer than this lienthong reads ({FORMAT})",
            path.display(),
            manifest.format
        ));
    }
    Ok(manifest)
}

/// Every file listed that is missing, of another size or hash, and every file present but
/// not listed (besides the manifest), in path order.
///
/// # Errors
/// An I/O error walking the directory.
pub fn check(dir: &Path, manifest: &Manifest) -> io::Result<Vec<FileProblem>> {
    let mut problems = Vec::new();
    let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    for entry in &manifest.files {
        let unsafe_path = entry
            .path
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == ".." || part.contains('\\'));
        if unsafe_path {
            problems.push(FileProblem {
                path: entry.path.clone(),
                problem: "the manifest names a path outside the archive".to_owned(),
            });
            continue;
        }
        let problem = match fs::read(dir.join(&entry.path)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Some("missing".to_owned()),
            Err(e) => Some(format!("unreadable: {e}")),
            Ok(bytes) if bytes.len() as u64 != entry.size => Some(format!(
                "{} bytes, the manifest says {}",
                bytes.len(),
                entry.size
            )),
            Ok(bytes) if hex::encode(Sha256::digest(&bytes)) != entry.sha256 => {
                Some("its SHA-256 differs from the manifest's".to_owned())
            }
            Ok(_) => None,
        };
        if let Some(problem) = problem {
            problems.push(FileProblem {
                path: entry.path.clone(),
                problem,
            });
        }
    }
    for path in files_in(dir)? {
        if path != MANIFEST && !listed.contains(path.as_str()) {
            problems.push(FileProblem {
                path,
                problem: "not in the manifest".to_owned(),
            });
        }
    }
    problems.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(problems)
}

/// The paths of every file under `dir`, `/`-separated, relative to it.
fn files_in(dir: &Path) -> io::Result<Vec<String>> {
    let mut found = Vec::new();
    let mut pending = vec![(dir.to_owned(), String::new())];
    while let Some((at, prefix)) = pending.pop() {
        for entry in fs::read_dir(&at)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{prefix}{name}");
            if entry.file_type()?.is_dir() {
                pending.push((entry.path(), format!("{path}/")));
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_changed_missing_unlisted_and_escaping_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir(dir.path().join("bundles")).expect("dir");
        fs::write(dir.path().join("bundles/a.asice"), b"a").expect("write");
        fs::write(dir.path().join("roster.bin"), b"r").expect("write");
        fs::write(dir.path().join("extra"), b"x").expect("write");
        let manifest = Manifest {
            format: FORMAT,
            period: "2026-Q3".parse().expect("period"),
            from: String::new(),
            until: String::new(),
            agency: "000.00.01.H53".parse().expect("id"),
            created_at: String::new(),
            lienthong_version: String::new(),
            keep_until: String::new(),
            counts: Counts::default(),
            not_bundled: Vec::new(),
            files: vec![
                FileEntry::of("bundles/a.asice".to_owned(), b"b"),
                FileEntry::of("roster.bin".to_owned(), b"r"),
                FileEntry::of("gone".to_owned(), b""),
                FileEntry::of("../outside".to_owned(), b""),
            ],
        };
        let found: Vec<(String, String)> = check(dir.path(), &manifest)
            .expect("check")
            .into_iter()
            .map(|p| (p.path, p.problem))
            .collect();
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["../outside", "bundles/a.asice", "extra", "gone"],
            "{found:?}"
        );
        assert!(found[1].1.contains("SHA-256"), "{found:?}");
        assert_eq!(found[2].1, "not in the manifest");
        assert_eq!(found[3].1, "missing");
    }
}
