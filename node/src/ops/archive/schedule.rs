//! `[archive]`'s schedule: a node backup to every destination each `backup_interval`, the
//! oldest pruned down to `backup_keep`; and, once a quarter has ended, that quarter's archive
//! to every destination, once.
//!
//! Each destination is its own: one that fails (unwritable, full, unmounted) is counted
//! and logged, and the others are written all the same. The first failure at a destination
//! is a WARN, since an operator must look; failures after it are DEBUG until it succeeds
//! again, which is an INFO. A backup or archive is written as `backup-<time>` or
//! `archive-<period>` in the destination directory (created when missing).
//!
//! Quarterly archives are idempotent across restarts: a destination that holds
//! `archive-<period>` with a manifest its files match is not written again; the staging
//! directory of one a stop interrupted is removed. The node never deletes an archive. A
//! destination belongs to one node: two nodes sharing one would prune each other's backups.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{Period, manifest};
use crate::context::NodeContext;
use crate::evidence::EvidenceHandle;
use crate::ops::backup;
use crate::ops::metrics::Destination;
use crate::tasks::{Wake, blocking};

/// How often the quarterly archives are looked at when no backups are scheduled.
const ARCHIVE_CHECK: Duration = Duration::from_secs(3600);

/// The prefix of scheduled backups' directory names.
const BACKUP_PREFIX: &str = "backup-";

/// What a round did at one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Job {
    Backup,
    Archive,
}

impl Job {
    fn name(self) -> &'static str {
        match self {
            Job::Backup => "backup",
            Job::Archive => "archive",
        }
    }
}

/// Runs until `shutdown`: one loop per `[archive] destinations` directory, side by side,
/// so that a destination that hangs (a stuck network mount) holds up none of the others.
pub(crate) async fn run(
    ctx: Arc<NodeContext>,
    evidence: EvidenceHandle,
    shutdown: CancellationToken,
) {
    let destinations = ctx.config.archive.destinations.clone();
    futures::future::join_all(
        destinations
            .into_iter()
            .map(|dest| destination(ctx.clone(), evidence.clone(), dest, shutdown.clone())),
    )
    .await;
}

/// The schedule of one destination: a backup each `backup_interval` (the first at once),
/// and the last quarter's archive until it is there.
async fn destination(
    ctx: Arc<NodeContext>,
    evidence: EvidenceHandle,
    dest: PathBuf,
    shutdown: CancellationToken,
) {
    let config = &ctx.config.archive;
    let mut wake = Wake::until(shutdown).every(config.backup_interval.unwrap_or(ARCHIVE_CHECK));
    let mut failing: HashSet<Job> = HashSet::new();
    let mut archived: Option<Period> = None;
    while wake.next().await.is_some() {
        if config.backup_interval.is_some() {
            let outcome = back_up(&ctx, &dest, config.backup_keep).await;
            report(&ctx, &mut failing, &dest, Job::Backup, outcome);
        }
        let period = Period::quarter_before(crate::clock::now());
        // A node not admitted yet has nothing to prove its keys with: not a failure.
        if archived != Some(period) && ctx.roster().is_some() {
            let outcome = archive(&ctx, &evidence, &dest, period).await;
            if outcome.is_ok() {
                archived = Some(period);
            }
            report(&ctx, &mut failing, &dest, Job::Archive, outcome);
        }
    }
}

/// Counts and logs one job's outcome at `dest`: WARN on the first failure, INFO when it
/// works again, DEBUG otherwise.
fn report(
    ctx: &NodeContext,
    failing: &mut HashSet<Job>,
    dest: &Path,
    job: Job,
    outcome: Result<String, String>,
) {
    let label = Destination {
        destination: dest.display().to_string(),
    };
    let (last_success, failures) = match job {
        Job::Backup => (
            &ctx.metrics.backup_last_success,
            &ctx.metrics.backup_failures,
        ),
        Job::Archive => (
            &ctx.metrics.archive_last_success,
            &ctx.metrics.archive_failures,
        ),
    };
    match outcome {
        Ok(written) => {
            let now = i64::try_from(crate::clock::now().as_millis() / 1000).unwrap_or(i64::MAX);
            last_success.get_or_create(&label).set(now);
            if failing.remove(&job) {
                info!(destination = %dest.display(), job = job.name(), %written, "scheduled {} works again at this destination", job.name());
            } else {
                debug!(destination = %dest.display(), job = job.name(), %written, "scheduled {} done", job.name());
            }
        }
        Err(error) => {
            failures.get_or_create(&label).inc();
            if failing.insert(job) {
                warn!(destination = %dest.display(), job = job.name(), %error, "scheduled {} failed at this destination; the other destinations are still written", job.name());
            } else {
                debug!(destination = %dest.display(), job = job.name(), %error, "scheduled {} failed again", job.name());
            }
        }
    }
}

/// Backs the node up into `dest`, then prunes the oldest backups there beyond `keep`.
async fn back_up(ctx: &Arc<NodeContext>, dest: &Path, keep: usize) -> Result<String, String> {
    let (ctx, dest) = (ctx.clone(), dest.to_owned());
    blocking(move || {
        fs::create_dir_all(&dest).map_err(|e| format!("creating {}: {e}", dest.display()))?;
        let stamp = crate::clock::now().to_string().replace([':', '-', '.'], "");
        let path = dest.join(format!("{BACKUP_PREFIX}{stamp}"));
        let written = backup::backup(ctx.keeper.data_dir(), Some(&ctx.store), &path)
            .map_err(|e| e.to_string())?;
        prune(&dest, keep).map_err(|e| format!("pruning {}: {e}", dest.display()))?;
        Ok(written.path.display().to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Removes the oldest scheduled backups in `dest` beyond the newest `keep`, but never the
/// newest complete one (when every newer one is incomplete).
fn prune(dest: &Path, keep: usize) -> std::io::Result<()> {
    let mut backups: Vec<PathBuf> = fs::read_dir(dest)?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(BACKUP_PREFIX))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    // The names hold the time they were taken: newest last.
    backups.sort();
    let Some(cut) = backups.len().checked_sub(keep) else {
        return Ok(());
    };
    let newest_complete = backups.iter().rposition(|b| backup::is_complete(b));
    for (index, old) in backups[..cut].iter().enumerate() {
        if Some(index) == newest_complete {
            continue;
        }
        fs::remove_dir_all(old)?;
        debug!(path = %old.display(), "old scheduled backup removed");
    }
    Ok(())
}

/// Writes `period`'s archive into `dest` as `archive-<period>`, unless a complete one is
/// there already.
async fn archive(
    ctx: &Arc<NodeContext>,
    evidence: &EvidenceHandle,
    dest: &Path,
    period: Period,
) -> Result<String, String> {
    let path = dest.join(format!("archive-{period}"));
    let (checked_dest, checked) = (dest.to_owned(), path.clone());
    let existing = blocking(move || {
        fs::create_dir_all(&checked_dest)
            .map_err(|e| format!("creating {}: {e}", checked_dest.display()))?;
        remove_unfinished(&checked_dest, period);
        if fs::symlink_metadata(&checked).is_err() {
            return Ok(false);
        }
        let manifest = manifest::read(&checked)?;
        let problems = manifest::check(&checked, &manifest)
            .map_err(|e| format!("reading {}: {e}", checked.display()))?;
        match problems.first() {
            None => Ok(true),
            Some(problem) => Err(format!(
                "{} exists but does not match its manifest ({}: {}); it is left as it is",
                checked.display(),
                problem.path,
                problem.problem
            )),
        }
    })
    .await
    .map_err(|e| e.to_string())??;
    if existing {
        return Ok(format!("{} (complete already)", path.display()));
    }
    super::write(ctx, evidence, period, &path)
        .await
        .map(|written| written.path.display().to_string())
        .map_err(|e| e.to_string())
}

/// Removes what an archive of `period` interrupted by a stop left in `dest`: its staging
/// directory (`write.rs` names it `.archive-<period>.partial-…`). Only this node's schedule
/// writes archives there, so none is in progress.
fn remove_unfinished(dest: &Path, period: Period) {
    let prefix = format!(".archive-{period}.partial-");
    let Ok(entries) = fs::read_dir(dest) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            match fs::remove_dir_all(entry.path()) {
                Ok(()) => debug!(path = %entry.path().display(), "unfinished archive removed"),
                Err(e) => {
                    debug!(path = %entry.path().display(), error = %e, "cannot remove an unfinished archive")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_backup(dest: &Path, name: &str) {
        fs::create_dir_all(dest.join(name)).expect("dir");
    }

    #[test]
    fn prune_never_removes_the_newest_complete_backup() {
        let (dir, data) = crate::ops::backup::tests::node();
        let dest = dir.path().join("dest");
        fs::create_dir(&dest).expect("dest");
        let complete = dest.join("backup-20261201T000000000Z");
        backup::backup(&data, None, &complete).expect("backup");
        for n in 2..=4 {
            fake_backup(&dest, &format!("backup-2026120{n}T000000000Z"));
        }
        prune(&dest, 2).expect("prune");
        assert!(complete.is_dir(), "the only complete backup was removed");
        assert!(!dest.join("backup-20261202T000000000Z").exists());
        assert!(dest.join("backup-20261204T000000000Z").is_dir());
    }

    #[test]
    fn prune_keeps_the_newest_and_leaves_other_files() {
        let dest = tempfile::tempdir().expect("tempdir");
        for n in 1..=5 {
            fake_backup(dest.path(), &format!("backup-2026120{n}T000000000Z"));
        }
        fs::create_dir(dest.path().join("archive-2026-Q3")).expect("archive");
        prune(dest.path(), 2).expect("prune");
        let mut left: Vec<String> = fs::read_dir(dest.path())
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "archive-2026-Q3",
                "backup-20261204T000000000Z",
                "backup-20261205T000000000Z"
            ]
        );
    }
}
