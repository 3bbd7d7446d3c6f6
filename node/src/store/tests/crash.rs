//! The cardinal rule under a kill -9 and a full disk, with the store in a child process
//! (this same test binary, running one ignored test).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::*;
use crate::store::StoreError;

/// Set in the child processes of the crash tests: the store directory.
const CHILD_STORE: &str = "LIENTHONG_STORE_TEST_CHILD_DIR";

/// How long a crash test waits for its child's next line before giving up.
const CHILD_DEADLINE: Duration = Duration::from_secs(120);

/// Runs the ignored test `name` of this module in a child process (this same test binary)
/// on the store in `store_dir`; returns the child and its stdout lines, which end when it
/// exits.
fn spawn_child(name: &str, store_dir: &Path) -> (Child, mpsc::Receiver<String>) {
    let module = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, path)| path);
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            &format!("{module}::{name}"),
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_STORE, store_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns the child");
    let stdout = child.stdout.take().expect("piped stdout");
    let (sender, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    (child, lines)
}

/// The next line from a child, or `None` once it has exited and every line was read.
fn next_line(lines: &mpsc::Receiver<String>) -> Option<String> {
    match lines.recv_timeout(CHILD_DEADLINE) {
        Ok(line) => Some(line),
        Err(mpsc::RecvTimeoutError::Disconnected) => None,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("the child printed nothing for {CHILD_DEADLINE:?}")
        }
    }
}

/// The package id in an `acked <id>` line.
fn acked_id(line: &str) -> Option<PackageId> {
    line.strip_prefix("acked ")
        .map(|id| id.parse().expect("a package id"))
}

/// Checks, after a crash, that every acknowledged package is whole and that no package is
/// half there (the transaction was atomic across the crash).
fn check_after_crash(store: &Store, acked: &[PackageId]) {
    for id in acked {
        assert!(
            store.package(id).expect("reads").is_some(),
            "acknowledged package {id} was lost"
        );
    }
    let outgoing = store.list_outgoing(usize::MAX).expect("lists");
    assert!(outgoing.len() >= acked.len());
    assert_eq!(
        store.counts().expect("counts").outgoing,
        outgoing.len() as u64
    );
    for meta in outgoing {
        assert!(store.package(&meta.package_id).expect("reads").is_some());
        assert_eq!(
            store.outbox(&meta.package_id).expect("reads").len(),
            RECIPIENTS.len()
        );
    }
}

/// How many acknowledged submits the parent waits for before it kills the child.
const ACKS_BEFORE_KILL: usize = 150;

/// The cardinal rule, for real: a child process submits packages from four threads (one
/// of them large packages, kept in files of their own) and
/// prints each id once `submit` has returned; the parent kills it with SIGKILL mid-stream,
/// reopens the store and finds every package whose id was printed.
///
/// SIGKILL loses sled's in-process buffers but not the kernel's page cache, so this proves
/// that nothing is acknowledged before it reached the kernel (it fails when `sync` is
/// skipped), not that the fsyncs reach the platter.
#[test]
fn acked_writes_survive_kill_9() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (mut child, lines) = spawn_child("crash_child", dir.path());
    let mut acked = Vec::new();
    while acked.len() < ACKS_BEFORE_KILL {
        let Some(line) = next_line(&lines) else {
            panic!("the child stopped after {} acknowledgements", acked.len());
        };
        acked.extend(acked_id(&line));
    }
    child.kill().expect("kills the child");
    child.wait().expect("reaps the child");
    // Lines printed before the kill but not read yet were acknowledged too.
    while let Some(line) = next_line(&lines) {
        acked.extend(acked_id(&line));
    }

    let store = Store::open(dir.path()).expect("reopens after the crash");
    check_after_crash(&store, &acked);
}

/// The child side of [`acked_writes_survive_kill_9`]; does nothing when run on its own.
#[test]
#[ignore = "run by acked_writes_survive_kill_9 in a child process"]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_STORE) else {
        return;
    };
    // libtest prints "test <name> ... " without a newline before the test's own output.
    println!();
    let store = Store::open(Path::new(&dir)).expect("opens");
    let threads: Vec<_> = (0..4u64)
        .map(|thread| {
            let store = store.clone();
            thread::spawn(move || {
                let key = AgencyKey::generate().expect("generates a key");
                // One thread's packages are large, kept in files of their own.
                let padding = if thread == 3 {
                    crate::store::package_files::INLINE_LIMIT + 512
                } else {
                    512
                };
                for n in (thread << 32).. {
                    let package = signed_package(&key, n, padding);
                    let _ = store
                        .submit(
                            &package,
                            &meta(&package, Some("crash"), ts(n)),
                            &entries(&package, DeliveryState::Queued),
                        )
                        .expect("submits");
                    println!("acked {}", package.id());
                }
            })
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
}

/// Submits package `n` of `key` with `padding` extra content bytes; its id once stored.
fn submit_padded(
    store: &Store,
    key: &AgencyKey,
    n: u64,
    padding: usize,
) -> Result<PackageId, StoreError> {
    let package = signed_package(key, n, padding);
    store
        .submit(
            &package,
            &meta(&package, None, ts(n)),
            &entries(&package, DeliveryState::Queued),
        )
        .map(|_| package.id())
}

/// Set to a directory on a small file system to run [`a_full_disk_is_an_error`].
const FULL_DISK_DIR: &str = "LIENTHONG_STORE_FULL_DISK_DIR";

/// A small file system for the full-disk test: an 8 MiB tmpfs the test mounts itself
/// (this needs root, as CI has) and unmounts when done.
struct SmallDisk {
    dir: tempfile::TempDir,
    mounted: bool,
}

impl SmallDisk {
    /// A temporary directory on the small file system named by `FULL_DISK_DIR`, or on one
    /// mounted now (kept mounted while the returned disk lives).
    fn dir() -> (Option<SmallDisk>, tempfile::TempDir) {
        let (disk, base) = match std::env::var_os(FULL_DISK_DIR) {
            Some(base) => (None, std::path::PathBuf::from(base)),
            None => {
                let disk = SmallDisk::mount();
                let base = disk.dir.path().to_path_buf();
                (Some(disk), base)
            }
        };
        let dir = tempfile::tempdir_in(&base).expect("temporary directory on the small disk");
        (disk, dir)
    }

    fn mount() -> SmallDisk {
        let dir = tempfile::tempdir().expect("mount point");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
            .arg(dir.path())
            .status();
        match status {
            Ok(s) if s.success() => SmallDisk { dir, mounted: true },
            other => panic!(
                "the full-disk test needs a small file system: mounting a tmpfs failed ({other:?}). \
                 Run the tests as root, or mount one yourself and set {FULL_DISK_DIR} to it \
                 (mount -t tmpfs -o size=8m tmpfs /mnt/small)"
            ),
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        if self.mounted {
            let _ = std::process::Command::new("umount")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// On a full disk, a submit fails with an error (never a panic, never a false "stored"),
/// the store then refuses every write and closes without hanging, and once space is freed
/// everything acknowledged reads back. Runs on an 8 MiB tmpfs it mounts itself, or on the
/// small file system named by `LIENTHONG_STORE_FULL_DISK_DIR`.
#[test]
fn a_full_disk_is_an_error() {
    let (_disk, dir) = SmallDisk::dir();
    // Room to free once the disk is full, so that the store can be reopened.
    let ballast = dir.path().join("ballast");
    std::fs::write(&ballast, vec![0; 1 << 20]).expect("writes the ballast");
    let store_dir = dir.path().join("store");

    let (mut child, lines) = spawn_child("full_disk_child", &store_dir);
    let mut acked = Vec::new();
    let mut report = Vec::new();
    while let Some(line) = next_line(&lines) {
        match acked_id(&line) {
            Some(id) => acked.push(id),
            None => report.push(line),
        }
    }
    assert!(
        child.wait().expect("reaps the child").success(),
        "the child failed: {report:?}"
    );
    assert!(report.iter().any(|line| line == "closed"), "{report:?}");
    println!("{} acknowledged; {report:?}", acked.len());

    std::fs::remove_file(&ballast).expect("frees space");
    let store = Store::open(&store_dir).expect("reopens once there is space");
    check_after_crash(&store, &acked);
    let next = signed_package(&AgencyKey::generate().expect("generates a key"), 1 << 40, 0);
    let _ = store
        .submit(
            &next,
            &meta(&next, None, ts(0)),
            &entries(&next, DeliveryState::Queued),
        )
        .expect("writes again after the restart");
}

/// The child side of [`a_full_disk_is_an_error`]; does nothing when run on its own.
#[test]
#[ignore = "run by a_full_disk_is_an_error in a child process"]
fn full_disk_child() {
    let Some(dir) = std::env::var_os(CHILD_STORE) else {
        return;
    };
    // libtest prints "test <name> ... " without a newline before the test's own output.
    println!();
    let store = Store::open(Path::new(&dir)).expect("opens");
    let key = AgencyKey::generate().expect("generates a key");
    let submit = |n: u64, padding: usize| submit_padded(&store, &key, n, padding);
    let mut n = 0;
    let error = loop {
        match submit(n, 64 << 10) {
            Ok(id) => println!("acked {id}"),
            Err(error) => break error,
        }
        n += 1;
    };
    let io_kind = match &error {
        StoreError::Sync { source } | StoreError::Transaction { source, .. } => source.io_kind(),
        other => panic!("unexpected error on a full disk: {other:?}"),
    };
    println!("failed: {error} ({io_kind:?})");
    // Even a tiny write is refused now, promptly.
    match submit(n + 1, 0) {
        Err(StoreError::Sync { source } | StoreError::Transaction { source, .. })
            if source.is_failed_earlier() =>
        {
            println!("refused");
        }
        other => panic!("a write after the failure was not refused: {other:?}"),
    }
    drop(store);
    println!("closed");
}

/// A large package that does not fit on the disk is refused before the engine is touched:
/// no partial file stays, the store does not turn fail-stop, and once space is freed the
/// same open store takes writes again. Runs on the small file system of
/// [`a_full_disk_is_an_error`].
#[test]
fn a_large_package_on_a_full_disk_is_refused_and_the_store_stays_writable() {
    let (_disk, dir) = SmallDisk::dir();
    let ballast = dir.path().join("ballast");
    std::fs::write(&ballast, vec![0; 2 << 20]).expect("writes the ballast");
    let store_dir = dir.path().join("store");
    let store = Store::open(&store_dir).expect("opens");
    let key = AgencyKey::generate().expect("generates a key");
    let submit = |n: u64, padding: usize| submit_padded(&store, &key, n, padding);

    let mut acked = Vec::new();
    let error = loop {
        assert!(acked.len() < 64, "an 8 MiB disk took 64 packages of 1 MiB");
        match submit(acked.len() as u64, 1 << 20) {
            Ok(id) => acked.push(id),
            Err(error) => break error,
        }
    };
    match &error {
        StoreError::PackageFile { source, .. } => {
            assert_eq!(source.kind(), std::io::ErrorKind::StorageFull, "{error}");
        }
        other => panic!("a large package on a full disk failed with {other:?}"),
    }
    let files = std::fs::read_dir(store_dir.join(crate::store::package_files::FILES_DIR))
        .expect("lists")
        .count();
    assert_eq!(
        files,
        acked.len(),
        "the refused package left no file behind"
    );
    assert_eq!(store.counts().expect("counts").outgoing, acked.len() as u64);

    std::fs::remove_file(&ballast).expect("frees space");
    acked.push(submit(1 << 20, 1 << 20).expect("the same store writes again"));
    drop(store);
    let store = Store::open(&store_dir).expect("reopens");
    check_after_crash(&store, &acked);
}
