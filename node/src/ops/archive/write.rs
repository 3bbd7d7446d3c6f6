//! Writing a period's archive, from the running node or a stopped node's store (both an
//! [`EvidenceSource`]): every package's evidence bundle (the
//! export of `evidence/bundle.rs`), the checkpoints over the period's facts, the roster in
//! force and the manifest, in a staging directory beside the new one, synced, then renamed
//! into place, so that an archive directory either is complete or does not exist.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lienthong_protocol::envelope::PackageId;
use serde::{Deserialize, Serialize};
use tracing::info;

use super::manifest::{self, Counts, FileEntry, Manifest, NotBundled};
use super::{BUNDLES, CHECKPOINTS, Period, ROSTER};
use crate::context::NodeContext;
use crate::evidence::bundle::{self, ExportError};
use crate::evidence::source::{EvidenceSource, Live};
use crate::evidence::{EvidenceError, EvidenceHandle};
use crate::store::StoreError;

/// A finished archive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Written {
    /// The archive directory.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

/// Why no archive was written. Nothing is left behind: the staging directory is removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// The daemon writes the archive, from its own working directory.
    #[error("the archive path must be absolute, not {0}")]
    NotAbsolute(PathBuf),
    /// An archive never overwrites anything.
    #[error("{0} exists already; an archive never overwrites anything: give a new path")]
    Exists(PathBuf),
    /// The directory it goes in does not exist.
    #[error("{0} does not exist: create the directory the archive goes in first")]
    NoParent(PathBuf),
    /// The stopped node's config, key or roster could not be read.
    #[error("{0}")]
    Node(String),
    /// The node holds no roster, so no bundle could prove its keys.
    #[error("this node holds no roster yet")]
    NoRoster,
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No checkpoint could be signed over the period's last fact.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    /// A package's bundle could not be made.
    #[error("the evidence bundle of package {package}: {source}")]
    Export {
        /// The package.
        package: PackageId,
        /// Why (boxed: it is large, and rare).
        #[source]
        source: Box<ExportError>,
    },
    /// A file could not be written.
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
}

impl ArchiveError {
    /// Whether the disk was full where the archive is written.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, ArchiveError::Io { source, .. } if source.kind() == io::ErrorKind::StorageFull)
    }
}

/// Writes the archive of `period` to the new directory `dest`; see the module docs. A
/// package is in the period by its submission time when this node sent it, by its arrival
/// time when it received it.
///
/// # Errors
/// [`ArchiveError`]; `dest` is not created.
pub async fn write(
    ctx: &Arc<NodeContext>,
    evidence: &EvidenceHandle,
    period: Period,
    dest: &Path,
) -> Result<Written, ArchiveError> {
    let retention = ctx.config.archive.retention;
    write_from(&Live { ctx, evidence }, retention, period, dest).await
}

/// [`write`] from `source`: the running node, or a stopped node's store (`stopped.rs`).
/// `retention` is `[archive] retention`.
///
/// # Errors
/// [`ArchiveError`]; `dest` is not created.
pub async fn write_from(
    source: &impl EvidenceSource,
    retention: Duration,
    period: Period,
    dest: &Path,
) -> Result<Written, ArchiveError> {
    if !dest.is_absolute() {
        return Err(ArchiveError::NotAbsolute(dest.to_owned()));
    }
    if fs::symlink_metadata(dest).is_ok() {
        return Err(ArchiveError::Exists(dest.to_owned()));
    }
    let parent = dest.parent().unwrap_or(Path::new("/")).to_owned();
    if !parent.is_dir() {
        return Err(ArchiveError::NoParent(parent));
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = parent.join(format!(
        ".{name}.partial-{}-{}",
        std::process::id(),
        crate::clock::now().as_millis()
    ));
    fs::create_dir(&staging).map_err(io_error("creating", &staging))?;
    let result = match fill(source, retention, period, &staging).await {
        Ok(manifest) => {
            let (from, to, dir) = (staging.clone(), dest.to_owned(), parent.clone());
            crate::tasks::blocking(move || {
                finish(&from, &to, &dir, manifest).map(|manifest| Written { path: to, manifest })
            })
            .await
            .unwrap_or_else(|e| {
                Err(ArchiveError::Io {
                    what: "finishing",
                    path: staging.clone(),
                    source: io::Error::other(e),
                })
            })
        }
        Err(error) => Err(error),
    };
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    let written = result?;
    info!(
        path = %dest.display(),
        period = %period,
        bundles = written.manifest.counts.bundles,
        checkpoints = written.manifest.counts.checkpoints,
        "archive written"
    );
    Ok(written)
}

/// Writes the bundles, checkpoints and roster into `staging`; answers the manifest without
/// its own file yet.
async fn fill(
    source: &impl EvidenceSource,
    retention: Duration,
    period: Period,
    staging: &Path,
) -> Result<Manifest, ArchiveError> {
    let roster = source.roster_wire().ok_or(ArchiveError::NoRoster)?;
    let range = period.range();
    let agency = source.organ_id().clone();
    let (sent, received) = {
        let (range, agency) = (range.clone(), agency.clone());
        source
            .store()
            .call(move |store| {
                let sent: Vec<PackageId> = store
                    .sent_between(range.clone())?
                    .into_iter()
                    .map(|p| p.package.package_id)
                    .collect();
                let received: Vec<PackageId> = store
                    .received_between(range, &agency)?
                    .into_iter()
                    .map(|p| p.entry.package_id)
                    .collect();
                Ok((sent, received))
            })
            .await?
    };
    let mut counts = Counts {
        sent: sent.len() as u64,
        received: received.len() as u64,
        ..Counts::default()
    };
    // A package sent to this node's own agency is both: one bundle.
    let packages: BTreeMap<String, PackageId> = sent
        .into_iter()
        .chain(received)
        .map(|id| (id.to_string(), id))
        .collect();
    let mut files = Vec::new();
    let mut not_bundled = Vec::new();
    let bundles = staging.join(BUNDLES);
    make_dir(&bundles)?;
    for (text, id) in packages {
        match bundle::export_from(source, id).await {
            Ok(bytes) => {
                let path = format!("{BUNDLES}/{text}.asice");
                files.push(put(staging, path, bytes).await?);
                counts.bundles += 1;
            }
            // Sent before the log began (schema 6): there is no proof to give.
            Err(error @ ExportError::NotLogged(_)) => not_bundled.push(NotBundled {
                package: text,
                reason: error.to_string(),
            }),
            Err(source) => {
                return Err(ArchiveError::Export {
                    package: id,
                    source: Box::new(source),
                });
            }
        }
    }
    make_dir(&staging.join(CHECKPOINTS))?;
    for file in checkpoints(source, range).await? {
        if file.0.ends_with(".note") {
            counts.checkpoints += 1;
        }
        files.push(put(staging, file.0, file.1).await?);
    }
    files.push(put(staging, ROSTER.to_owned(), roster.to_vec()).await?);
    let now = crate::clock::now();
    Ok(Manifest {
        format: manifest::FORMAT,
        period,
        from: period.range().start.to_string(),
        until: period.range().end.to_string(),
        agency,
        created_at: now.to_string(),
        lienthong_version: env!("CARGO_PKG_VERSION").to_owned(),
        keep_until: period.keep_until(retention).to_string(),
        counts,
        not_bundled,
        files,
    })
}

/// The checkpoint files of the period: every checkpoint over its facts and the first that
/// covers its last fact (signed now when none does yet), each as `<size>.note` (the note as
/// signed), `<size>.cosignatures` (the witnesses' lines, when any) and `<size>.tsr` (the
/// RFC 3161 token over the note, when held).
async fn checkpoints(
    source: &impl EvidenceSource,
    range: std::ops::Range<lienthong_protocol::envelope::Timestamp>,
) -> Result<Vec<(String, Vec<u8>)>, ArchiveError> {
    let store = source.store();
    let Some((first, last)) = store
        .call(move |store| store.evidence_indexes_between(range))
        .await?
    else {
        return Ok(Vec::new());
    };
    let mut sizes = store
        .call(move |store| store.checkpoint_sizes_over(first, last))
        .await?;
    if sizes.last().is_none_or(|&size| size <= last) {
        sizes.push(source.sign_checkpoint().await?);
    }
    store
        .call(move |store| {
            let mut files = Vec::new();
            for size in sizes {
                let Some(note) = store.checkpoint_at(size)? else {
                    continue;
                };
                files.push((format!("{CHECKPOINTS}/{size}.note"), note.to_vec()));
                let lines: Vec<String> = store
                    .cosignatures(size)?
                    .into_iter()
                    .map(|(_, line)| line + "\n")
                    .collect();
                if !lines.is_empty() {
                    files.push((
                        format!("{CHECKPOINTS}/{size}.cosignatures"),
                        lines.concat().into_bytes(),
                    ));
                }
                if let Some(token) = store.timestamp_at(size)? {
                    files.push((format!("{CHECKPOINTS}/{size}.tsr"), token.to_vec()));
                }
            }
            Ok(files)
        })
        .await
        .map_err(ArchiveError::from)
}

/// Writes `bytes` at `path` in `staging`, synced; answers its manifest entry.
async fn put(staging: &Path, path: String, bytes: Vec<u8>) -> Result<FileEntry, ArchiveError> {
    let file = staging.join(&path);
    crate::tasks::blocking(move || {
        let entry = FileEntry::of(path, &bytes);
        let mut out = File::create_new(&file).map_err(io_error("creating", &file))?;
        out.write_all(&bytes)
            .and_then(|()| out.sync_all())
            .map_err(io_error("writing", &file))?;
        Ok(entry)
    })
    .await
    .map_err(|e| ArchiveError::Io {
        what: "writing",
        path: staging.to_owned(),
        source: io::Error::other(e),
    })?
}

/// Writes the manifest, syncs the directories and renames `staging` to `dest`.
fn finish(
    staging: &Path,
    dest: &Path,
    parent: &Path,
    manifest: Manifest,
) -> Result<Manifest, ArchiveError> {
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| ArchiveError::Io {
        what: "encoding the manifest of",
        path: staging.to_owned(),
        source: io::Error::other(e),
    })?;
    let path = staging.join(manifest::MANIFEST);
    let mut out = File::create_new(&path).map_err(io_error("creating", &path))?;
    out.write_all(&bytes)
        .and_then(|()| out.sync_all())
        .map_err(io_error("writing", &path))?;
    for dir in [staging.join(BUNDLES), staging.join(CHECKPOINTS)] {
        sync_dir(&dir)?;
    }
    sync_dir(staging)?;
    // Checked again: a directory may have appeared while the archive was written.
    if fs::symlink_metadata(dest).is_ok() {
        return Err(ArchiveError::Exists(dest.to_owned()));
    }
    fs::rename(staging, dest).map_err(io_error("renaming into place", dest))?;
    sync_dir(parent)?;
    Ok(manifest)
}

fn make_dir(dir: &Path) -> Result<(), ArchiveError> {
    fs::create_dir(dir).map_err(io_error("creating", dir))
}

fn sync_dir(dir: &Path) -> Result<(), ArchiveError> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io_error("syncing", dir))
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ArchiveError {
    let path = path.to_owned();
    move |source| ArchiveError::Io { what, path, source }
}
