//! Watching the store for a failed write, and telling when its cause has passed.
//!
//! After a write or a flush fails, the store refuses every write (`store/sled.rs`,
//! "Fail-stop") until it is reopened: the engine may have applied the failed change in
//! memory, so nothing may be acknowledged on top of it. The engine's files cannot be
//! reopened by the same process (the failed handle keeps their lock, and is never closed so
//! that its final flush cannot hang). So the node says why it takes no writes (`/health`,
//! `/metrics`, the dashboard, `lienthong doctor`), waits here for the cause to pass, and then
//! the `lienthong` binary starts itself again in the same process (`cli/run.rs`), which
//! reopens the store from its log. Everything the node acknowledged was flushed before it
//! was acknowledged, so a restart loses none of it.
//!
//! A full disk has passed when there is room again; running out of file descriptors, when
//! descriptors open again. For any other cause (an I/O error of the device) nothing here can
//! tell, so the node exits and leaves the restart to the service manager.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info, warn};

use crate::store::{Failure, FailureKind, Store};

/// How often the store is looked at.
const POLL: Duration = Duration::from_secs(1);
/// Free space on the store's file system that counts as room again: enough for the engine
/// to write its log on reopening and for the first documents after it.
pub const ROOM_TO_REOPEN: u64 = 32 * 1024 * 1024;
/// Descriptors that must open before running out of them counts as passed: the engine's
/// files, a package file, a few connections.
const SPARE_DESCRIPTORS: usize = 64;

/// What to do about a failed store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreRecovery {
    /// The cause has passed: reopen the store (start the node again).
    Reopen(Arc<Failure>),
    /// Nothing here tells when the cause passes: stop, for the service manager to restart
    /// the node once an operator has seen to it.
    Exit(Arc<Failure>),
}

/// Waits until the store has failed, then until its cause has passed (or is one that
/// cannot be seen to pass).
pub async fn watch(store: Store) -> StoreRecovery {
    let mut ticks = tokio::time::interval(POLL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let failure = loop {
        ticks.tick().await;
        if let Some(failure) = store.failure() {
            break failure;
        }
    };
    let path = store.path().to_owned();
    match failure.kind {
        FailureKind::NoSpace => warn!(
            path = %path.display(),
            cause = %failure.cause,
            "the store takes no writes until there is room on its disk: free space there; the node reopens the store by itself once {} MiB are free",
            ROOM_TO_REOPEN >> 20
        ),
        FailureKind::TooManyOpenFiles => warn!(
            cause = %failure.cause,
            "the store takes no writes: the process ran out of file descriptors; the node reopens the store by itself once descriptors are free again"
        ),
        FailureKind::Other => {
            error!(
                path = %path.display(),
                cause = %failure.cause,
                "the store takes no writes, for a cause the node cannot see pass: stopping, so that the service manager restarts it"
            );
            return StoreRecovery::Exit(failure);
        }
    }
    loop {
        ticks.tick().await;
        if has_passed(failure.kind, &path) {
            info!(cause = %failure.cause, "the store's failure has passed: reopening it");
            return StoreRecovery::Reopen(failure);
        }
    }
}

/// Whether a failure of `kind` has passed for the store in `path`.
fn has_passed(kind: FailureKind, path: &Path) -> bool {
    match kind {
        FailureKind::NoSpace => free_space(path).is_some_and(|free| free >= ROOM_TO_REOPEN),
        FailureKind::TooManyOpenFiles => descriptors_open(SPARE_DESCRIPTORS),
        FailureKind::Other => false,
    }
}

/// Bytes an unprivileged writer may still use on the file system of `path`.
fn free_space(path: &Path) -> Option<u64> {
    let stats = nix::sys::statvfs::statvfs(path).ok()?;
    Some(
        stats
            .blocks_available()
            .saturating_mul(stats.fragment_size()),
    )
}

/// Whether `count` more descriptors can be opened now (they are closed again at once).
fn descriptors_open(count: usize) -> bool {
    let opened: Result<Vec<std::fs::File>, _> = (0..count)
        .map(|_| std::fs::File::open("/dev/null"))
        .collect();
    opened.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_room_and_descriptors_are_seen() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(free_space(dir.path()).is_some_and(|free| free > 0));
        assert!(descriptors_open(8));
        assert!(!has_passed(FailureKind::Other, dir.path()));
        assert_eq!(
            has_passed(FailureKind::NoSpace, dir.path()),
            free_space(dir.path()).is_some_and(|free| free >= ROOM_TO_REOPEN)
        );
    }
}
