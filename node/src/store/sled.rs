//! The sled adapter: the only file that names `sled::`.
//!
//! The rest of the store sees [`Db`], [`Tx`], [`Value`] and [`Scan`], so replacing sled
//! (garage moved from it to LMDB for its 1.0) means rewriting this file, not the store.
//!
//! # Durability beyond `sled::Db::flush`
//!
//! sled 0.34.7's `flush` writes its log with `sync_file_range(2)` on Linux, which pushes the
//! data pages to the device but neither commits file metadata (the log's new length) nor
//! flushes the device's write cache, and it writes values too large for a log segment to
//! separate files under `blobs/` without syncing them or their directory. Packages with
//! attachments easily pass that size. So after sled's flush, [`Db::flush`] also fsyncs the
//! log file, every blob file it has not synced before, and the `blobs` directory when it
//! gained files. The layout (`db`, `blobs/`) is sled 0.34's; the version is pinned.
//!
//! # Fail-stop
//!
//! When a write or a flush fails (a full disk, an I/O error), sled 0.34 may already have
//! applied the transaction in memory, so reads can show a change that will not survive a
//! restart, and its final flush on drop then waits forever for the log write that failed
//! (seen on a full tmpfs). So the first such failure marks the database failed: every later
//! transaction and flush is refused, whatever state sled is in, so nothing can be
//! acknowledged on top of a change that is not on disk; and dropping it skips sled's final
//! flush, leaving the files as the last successful flush left them. Reopening (a restart)
//! recovers from the log. The failure is kept with its cause ([`Failure`]), so that the node
//! can say why it refuses writes and tell when the cause has passed.
//!
//! # Pausing writers for a backup
//!
//! sled has no snapshot across trees, so a backup (`backup.rs`) copies every tree while no
//! transaction runs: each transaction holds [`Db`]'s writer lock shared, and
//! [`Db::pause_writers`] takes it exclusively. Reads never take it, so readers go on
//! during a backup; writers wait until the copy is taken.
//!
//! # Generated ids survive a copy
//!
//! sled's id generator ([`Tx::generate_id`], the receipts' sequence numbers) lives in sled's
//! own metadata, not in a tree, so a copy of the trees would start it again at zero and
//! hand out numbers the original already used. A copy therefore records a floor (the next
//! id of the original) in sled's default tree, which the store never uses otherwise
//! ([`Db::set_id_floor`]), and every id is sled's counter plus that floor.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock, RwLockWriteGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sled::Transactional;
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use tracing::{error, warn};

use super::error::StoreError;
use super::keys::Tree;

/// sled 0.34's log file, inside the store directory.
const LOG_FILE: &str = "db";
/// sled 0.34's directory for values too large for the log.
const BLOB_DIR: &str = "blobs";
/// Key of the id floor in sled's default tree (a bare `u64`, big-endian); see "Generated
/// ids survive a copy".
const ID_FLOOR: &[u8] = b"lienthong_id_floor";

/// An error from the storage engine or the file system under it. Opaque, so that callers
/// never depend on which engine the store uses; [`io_kind`](Self::io_kind) tells an I/O
/// failure (such as a full disk) apart.
pub struct BackendError(BackendErrorKind);

enum BackendErrorKind {
    Engine(sled::Error),
    Io(io::Error),
    /// An earlier write or flush failed; see "Fail-stop" in the module docs.
    FailedEarlier(Arc<Failure>),
}

/// Why the store stopped taking writes: the first write or flush that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The operation that failed: `submit`, `flush` …
    pub op: String,
    /// What the engine or the file system said.
    pub cause: String,
    /// The cause, as far as it tells whether it can pass.
    pub kind: FailureKind,
    /// When it failed.
    pub at: std::time::SystemTime,
}

/// What made a write fail, as far as the node can tell when it has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The disk is full: it passes when space is freed.
    NoSpace,
    /// The process ran out of file descriptors: it passes when some are released.
    TooManyOpenFiles,
    /// Anything else (an I/O error of the device, a bug): nothing here tells when it passes.
    Other,
}

impl FailureKind {
    /// The kind of `error`'s I/O cause.
    fn of(error: &io::Error) -> FailureKind {
        const EMFILE: i32 = 24;
        const ENFILE: i32 = 23;
        const ENOSPC: i32 = 28;
        const EDQUOT: i32 = 122;
        match error.raw_os_error() {
            Some(ENOSPC | EDQUOT) => FailureKind::NoSpace,
            Some(EMFILE | ENFILE) => FailureKind::TooManyOpenFiles,
            _ if error.kind() == io::ErrorKind::StorageFull => FailureKind::NoSpace,
            _ => FailureKind::Other,
        }
    }
}

impl BackendError {
    /// The kind of the underlying I/O error, if it was one: `StorageFull` for a full disk.
    /// For a refusal after an earlier failure, that failure's: `StorageFull` while the
    /// disk that filled is the reason.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match &self.0 {
            BackendErrorKind::Engine(sled::Error::Io(error)) | BackendErrorKind::Io(error) => {
                Some(error.kind())
            }
            BackendErrorKind::FailedEarlier(failure) => match failure.kind {
                FailureKind::NoSpace => Some(io::ErrorKind::StorageFull),
                FailureKind::TooManyOpenFiles | FailureKind::Other => None,
            },
            BackendErrorKind::Engine(_) => None,
        }
    }

    /// Whether the store refused because an earlier write or flush failed: reopening it
    /// (restarting the node, once the cause is fixed) is the way out.
    pub fn is_failed_earlier(&self) -> bool {
        matches!(self.0, BackendErrorKind::FailedEarlier(_))
    }

    /// The failure a refusal is due to, or what this error would make of the store.
    fn failure_kind(&self) -> FailureKind {
        match &self.0 {
            BackendErrorKind::Engine(sled::Error::Io(error)) | BackendErrorKind::Io(error) => {
                FailureKind::of(error)
            }
            BackendErrorKind::FailedEarlier(failure) => failure.kind,
            BackendErrorKind::Engine(_) => FailureKind::Other,
        }
    }

    fn engine(error: sled::Error) -> Self {
        BackendError(BackendErrorKind::Engine(error))
    }

    fn io(error: io::Error) -> Self {
        BackendError(BackendErrorKind::Io(error))
    }
}

impl fmt::Debug for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            BackendErrorKind::Engine(error) => fmt::Debug::fmt(error, f),
            BackendErrorKind::Io(error) => fmt::Debug::fmt(error, f),
            BackendErrorKind::FailedEarlier(failure) => {
                write!(f, "FailedEarlier({failure:?})")
            }
        }
    }
}

/// Transparent: shows the underlying error's message.
impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            BackendErrorKind::Engine(error) => fmt::Display::fmt(error, f),
            BackendErrorKind::Io(error) => fmt::Display::fmt(error, f),
            BackendErrorKind::FailedEarlier(failure) => write!(
                f,
                "the store takes no writes since {} failed ({}); it is reopened once that has passed",
                failure.op, failure.cause
            ),
        }
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            BackendErrorKind::Engine(error) => error.source(),
            BackendErrorKind::Io(error) => error.source(),
            BackendErrorKind::FailedEarlier(_) => None,
        }
    }
}

/// The open database: one sled tree per [`Tree`].
pub(super) struct Db {
    path: PathBuf,
    db: sled::Db,
    /// Indexed by [`Tree::index`].
    trees: Vec<sled::Tree>,
    /// Only the group-commit flusher takes this, so it is never contended.
    files: Mutex<SyncedFiles>,
    /// Set by the first failed write or flush; see "Fail-stop".
    failure: OnceLock<Arc<Failure>>,
    /// Held shared by every transaction, exclusively while a backup copies the trees.
    writers: RwLock<()>,
    /// Added to every id sled generates; see "Generated ids survive a copy".
    id_floor: u64,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Db {
    /// Opens or creates the database in `dir`, with every tree.
    pub(super) fn open(dir: &Path) -> Result<Db, StoreError> {
        Db::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// [`Db::open`], keeping at most about `cache_bytes` of the database's pages in
    /// memory; see [`DEFAULT_CACHE_BYTES`].
    pub(super) fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<Db, StoreError> {
        let open_error = |source| StoreError::Open {
            path: dir.to_owned(),
            source,
        };
        let db = open_when_unlocked(dir, cache_bytes)
            .map_err(|e| open_error(BackendError::engine(e)))?;
        let trees = Tree::ALL
            .iter()
            .map(|tree| db.open_tree(tree.name()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| open_error(BackendError::engine(e)))?;
        let id_floor = read_id_floor(&db).map_err(open_error)?;
        let files = SyncedFiles::open(dir).map_err(|e| open_error(BackendError::io(e)))?;
        Ok(Db {
            path: dir.to_owned(),
            db,
            trees,
            files: Mutex::new(files),
            failure: OnceLock::new(),
            writers: RwLock::new(()),
            id_floor,
        })
    }

    /// The directory the database is in.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Stops every transaction until the returned guard is dropped: transactions under way
    /// finish first, new ones wait. Reads go on. For taking a consistent copy.
    pub(super) fn pause_writers(&self) -> WritersPaused<'_> {
        WritersPaused {
            _guard: self.writers.write().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// A number larger than any id this database handed out before (see
    /// [`Tx::generate_id`]); what a copy of it records with [`Db::set_id_floor`].
    pub(super) fn next_id(&self) -> Result<u64, StoreError> {
        self.db
            .generate_id()
            .map(|id| id.saturating_add(self.id_floor))
            .map_err(|e| StoreError::Read {
                tree: "*",
                source: BackendError::engine(e),
            })
    }

    /// Makes every id this database generates from its next opening on larger than
    /// `floor`. For a fresh copy, with the original's [`Db::next_id`]; durable at the next
    /// flush.
    pub(super) fn set_id_floor(&self, floor: u64) -> Result<(), StoreError> {
        self.db
            .insert(ID_FLOOR, &floor.to_be_bytes())
            .map(drop)
            .map_err(|e| StoreError::Transaction {
                op: "set id floor",
                source: BackendError::engine(e),
            })
    }

    /// The value at `key`.
    pub(super) fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Value>, StoreError> {
        self.tree(tree)
            .get(key)
            .map(|value| value.map(Value))
            .map_err(|e| read_error(tree, e))
    }

    /// Every entry whose key starts with `prefix`, in key order (reversible).
    pub(super) fn scan_prefix(&self, tree: Tree, prefix: &[u8]) -> Scan {
        Scan {
            tree,
            iter: self.tree(tree).scan_prefix(prefix),
        }
    }

    /// Every entry from `from` on, in key order.
    pub(super) fn range_from(&self, tree: Tree, from: &[u8]) -> Scan {
        Scan {
            tree,
            iter: self.tree(tree).range(from.to_vec()..),
        }
    }

    /// Every entry, in key order (reversible).
    pub(super) fn iter(&self, tree: Tree) -> Scan {
        Scan {
            tree,
            iter: self.tree(tree).iter(),
        }
    }

    /// Whether the tree holds nothing.
    pub(super) fn is_empty(&self, tree: Tree) -> Result<bool, StoreError> {
        self.tree(tree)
            .first()
            .map(|first| first.is_none())
            .map_err(|e| read_error(tree, e))
    }

    /// Runs `body` as one atomic transaction over every tree.
    ///
    /// sled runs transactions one at a time (it takes a process-wide write lock around the
    /// closure), so reads inside see a stable state and read-modify-writes are safe. The
    /// closure may still be retried, so it must only act through `Tx`. Committed is not
    /// durable: the caller syncs.
    pub(super) fn transaction<T>(
        &self,
        op: &'static str,
        body: impl Fn(&Tx<'_>) -> Result<T, TxError>,
    ) -> Result<T, StoreError> {
        self.refuse_if_failed(op)?;
        let _writing = self.writers.read().unwrap_or_else(PoisonError::into_inner);
        let id_floor = self.id_floor;
        let result = self
            .trees
            .as_slice()
            .transaction(|trees: &Vec<TransactionalTree>| {
                body(&Tx { trees, id_floor }).map_err(|error| match error.0 {
                    TxErrorKind::Abort(error) => ConflictableTransactionError::Abort(error),
                    TxErrorKind::Engine(error) => error.into(),
                })
            });
        result.map_err(|error| match error {
            TransactionError::Abort(error) => error,
            TransactionError::Storage(source) => {
                let source = BackendError::engine(source);
                self.fail(op, &source);
                StoreError::Transaction { op, source }
            }
        })
    }

    /// Writes one key outside any transaction, without flushing: for a hint whose loss in a
    /// crash only costs work done again (how far a peer's log was read), never for a fact
    /// anyone was told. A transaction takes sled 0.34's process-wide lock exclusively,
    /// while a single insert shares it; so a hint written once per catch-up does not hold
    /// up every other writer (and, in a simulation, every other node's store). It reaches
    /// the disk with the next flush. It waits for a backup like any writer and, like one,
    /// is refused once the store has failed.
    pub(super) fn write_hint(
        &self,
        tree: Tree,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), StoreError> {
        let op = "write hint";
        self.refuse_if_failed(op)?;
        let _writing = self.writers.read().unwrap_or_else(PoisonError::into_inner);
        self.tree(tree)
            .insert(key, value)
            .map(drop)
            .map_err(|source| {
                let source = BackendError::engine(source);
                self.fail(op, &source);
                StoreError::Transaction { op, source }
            })
    }

    /// Makes everything committed so far durable: sled's flush, then the fsyncs it leaves
    /// out (see the module docs). Called by one thread at a time, through group commit.
    pub(super) fn flush(&self) -> Result<(), StoreError> {
        if let Some(failure) = self.failure.get() {
            return Err(StoreError::Sync {
                source: BackendError(BackendErrorKind::FailedEarlier(failure.clone())),
            });
        }
        let result = match self.db.flush() {
            Ok(_) => self
                .files
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .sync()
                .map_err(BackendError::io),
            Err(error) => Err(BackendError::engine(error)),
        };
        result.map_err(|source| {
            self.fail("flush", &source);
            StoreError::Sync { source }
        })
    }

    /// Whether an earlier write or flush failed.
    pub(super) fn has_failed(&self) -> bool {
        self.failure.get().is_some()
    }

    /// The failure that stopped writes, if one did.
    pub(super) fn failure(&self) -> Option<Arc<Failure>> {
        self.failure.get().cloned()
    }

    /// Refuses write `op` once an earlier write or flush failed; see "Fail-stop".
    fn refuse_if_failed(&self, op: &'static str) -> Result<(), StoreError> {
        if let Some(failure) = self.failure.get() {
            return Err(StoreError::Transaction {
                op,
                source: BackendError(BackendErrorKind::FailedEarlier(failure.clone())),
            });
        }
        Ok(())
    }

    /// Marks the database failed; see "Fail-stop".
    fn fail(&self, op: &str, cause: &BackendError) {
        let failure = Failure {
            op: op.to_owned(),
            cause: cause.to_string(),
            kind: cause.failure_kind(),
            at: std::time::SystemTime::now(),
        };
        if self.failure.set(Arc::new(failure)).is_ok() {
            error!(
                path = %self.path.display(),
                op,
                %cause,
                "store write failed; refusing further writes until the cause has passed and the store is reopened"
            );
        }
    }

    /// Bytes the store takes on disk, as sled counts them.
    pub(super) fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(|e| StoreError::Read {
            tree: "*",
            source: BackendError::engine(e),
        })
    }

    /// Writes raw bytes outside any transaction and flushes, bypassing every check: for
    /// tests that plant corrupt values or old schema versions.
    #[cfg(test)]
    pub(super) fn put_raw(&self, tree: Tree, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.tree(tree)
            .insert(key, value)
            .map_err(|e| read_error(tree, e))?;
        self.flush()
    }

    /// Removes one key outside any transaction and flushes: for tests that take a store
    /// back to an older shape.
    #[cfg(test)]
    pub(super) fn remove_raw(&self, tree: Tree, key: &[u8]) -> Result<(), StoreError> {
        self.tree(tree)
            .remove(key)
            .map_err(|e| read_error(tree, e))?;
        self.flush()
    }

    /// Empties a tree outside any transaction and flushes: for tests that take a store
    /// back to an older shape.
    #[cfg(test)]
    pub(super) fn clear_raw(&self, tree: Tree) -> Result<(), StoreError> {
        self.tree(tree).clear().map_err(|e| read_error(tree, e))?;
        self.flush()
    }

    /// Entries in a tree, by scanning its keys: for index trees without a counter, and for
    /// tests that check the counters.
    pub(super) fn len(&self, tree: Tree) -> usize {
        self.tree(tree).len()
    }

    fn tree(&self, tree: Tree) -> &sled::Tree {
        &self.trees[tree.index()]
    }
}

impl Drop for Db {
    /// After a failure, keeps sled's handles alive forever instead of letting them run
    /// their final flush, which would hang (see "Fail-stop"). The process keeps the file
    /// lock until it exits.
    fn drop(&mut self) {
        if self.has_failed() {
            warn!(
                path = %self.path.display(),
                "closing a failed store without its final flush"
            );
            std::mem::forget(self.db.clone());
            for tree in &self.trees {
                std::mem::forget(tree.clone());
            }
        }
    }
}

/// Holds off every transaction while it lives; see [`Db::pause_writers`].
pub(super) struct WritersPaused<'a> {
    _guard: RwLockWriteGuard<'a, ()>,
}

/// The id floor a copy recorded; 0 for a database that is no copy.
fn read_id_floor(db: &sled::Db) -> Result<u64, BackendError> {
    let Some(value) = db.get(ID_FLOOR).map_err(BackendError::engine)? else {
        return Ok(0);
    };
    let bytes: [u8; 8] = value[..].try_into().map_err(|_| {
        BackendError::io(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the id floor is {} bytes, not 8", value.len()),
        ))
    })?;
    Ok(u64::from_be_bytes(bytes))
}

/// How long [`open_when_unlocked`] waits for a just-closed database's lock.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// How often sled's own background thread wakes, in ms (sled's default is 500).
///
/// Every change the store acknowledges is flushed by the store itself before the answer
/// (`group_commit.rs`), so that thread adds no durability; it is kept because it is also
/// where sled 0.34 cleans its log segments (`attempt_gc`), which it does until no segment
/// is left to clean on each wake. But each wake ends with an fsync of the log even when
/// nothing was written: at 500 ms an idle node fsyncs twice a second for ever, and the
/// thousand stores of a national simulation made 2,000 fsyncs and 2,000 thread wake-ups a
/// second between them while the nodes had almost nothing to write.
const BACKGROUND_FLUSH_EVERY_MS: u64 = 10_000;

/// The memory the database keeps its pages in, unless the node is configured otherwise
/// (`[limits] store_cache`).
///
/// sled 0.34's own default is 1 GiB, and it fills it: every value written stays cached, so
/// a node's memory grew by about 12 KB for every small document it stored, to a gigabyte
/// (measured: 55 to 103 MB over 4,000 documents of 6 KB). With the cache bounded, what is
/// not cached is read back from the log, which the operating system caches in turn.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Opens sled, waiting up to [`LOCK_WAIT`] while its file lock is held.
///
/// sled's I/O threads let go of the file a moment after the last handle is dropped, so
/// reopening at once, as a node restarted in the same process does, can find the lock
/// still held: under CPU contention a quarter of immediate reopens did. A lock held by
/// another process is reported after the wait.
fn open_when_unlocked(dir: &Path, cache_bytes: u64) -> sled::Result<sled::Db> {
    let deadline = Instant::now() + LOCK_WAIT;
    let mut pause = Duration::from_millis(1);
    loop {
        match sled::Config::new()
            .path(dir)
            .flush_every_ms(Some(BACKGROUND_FLUSH_EVERY_MS))
            .cache_capacity(cache_bytes)
            .open()
        {
            Err(error) if is_lock_held(&error) && Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            result => return result,
        }
    }
}

/// Whether sled failed to open because another handle holds the file lock. sled 0.34 says
/// so only in the message (`config.rs`, `try_lock`).
fn is_lock_held(error: &sled::Error) -> bool {
    matches!(error, sled::Error::Io(io) if io.to_string().starts_with("could not acquire lock"))
}

fn read_error(tree: Tree, error: sled::Error) -> StoreError {
    StoreError::Read {
        tree: tree.name(),
        source: BackendError::engine(error),
    }
}

/// A value read from the database, sharing sled's buffer.
pub(super) struct Value(sled::IVec);

impl Value {
    /// The bytes from `offset` on, without copying.
    pub(super) fn into_bytes_from(self, offset: usize) -> Bytes {
        Bytes::from_owner(self.0).slice(offset..)
    }
}

impl Deref for Value {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// An iterator over `(key, value)` entries of one tree.
pub(super) struct Scan {
    tree: Tree,
    iter: sled::Iter,
}

impl Scan {
    fn wrap(
        &self,
        item: sled::Result<(sled::IVec, sled::IVec)>,
    ) -> Result<(Value, Value), StoreError> {
        item.map(|(key, value)| (Value(key), Value(value)))
            .map_err(|e| read_error(self.tree, e))
    }
}

impl Iterator for Scan {
    type Item = Result<(Value, Value), StoreError>;
    fn next(&mut self) -> Option<Self::Item> {
        let item = self.iter.next()?;
        Some(self.wrap(item))
    }
}

impl DoubleEndedIterator for Scan {
    fn next_back(&mut self) -> Option<Self::Item> {
        let item = self.iter.next_back()?;
        Some(self.wrap(item))
    }
}

/// The view of every tree inside a transaction.
pub(super) struct Tx<'a> {
    trees: &'a [TransactionalTree],
    id_floor: u64,
}

impl Tx<'_> {
    /// The value at `key`, as the transaction sees it.
    pub(super) fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Value>, TxError> {
        Ok(self.tree(tree).get(key)?.map(Value))
    }

    /// Sets `key` to `value`.
    pub(super) fn insert(&self, tree: Tree, key: &[u8], value: &[u8]) -> Result<(), TxError> {
        self.tree(tree).insert(key, value)?;
        Ok(())
    }

    /// Removes `key`.
    pub(super) fn remove(&self, tree: Tree, key: &[u8]) -> Result<(), TxError> {
        self.tree(tree).remove(key)?;
        Ok(())
    }

    /// A number larger than any this database handed out before, even across restarts
    /// and in a restored backup. Not contiguous: a retried transaction skips numbers.
    pub(super) fn generate_id(&self) -> Result<u64, TxError> {
        self.trees[0]
            .generate_id()
            .map(|id| id.saturating_add(self.id_floor))
            .map_err(|e| TxError(TxErrorKind::Engine(e.into())))
    }

    fn tree(&self, tree: Tree) -> &TransactionalTree {
        &self.trees[tree.index()]
    }
}

/// Why a transaction body stopped: a store error (which aborts it, writing nothing) or an
/// engine error.
pub(super) struct TxError(TxErrorKind);

enum TxErrorKind {
    Abort(StoreError),
    Engine(UnabortableTransactionError),
}

impl From<StoreError> for TxError {
    fn from(error: StoreError) -> Self {
        TxError(TxErrorKind::Abort(error))
    }
}

impl From<UnabortableTransactionError> for TxError {
    fn from(error: UnabortableTransactionError) -> Self {
        TxError(TxErrorKind::Engine(error))
    }
}

/// The files sled leaves unsynced, and which blob files we already synced.
struct SyncedFiles {
    log: File,
    blob_dir: PathBuf,
    synced_blobs: HashSet<OsString>,
}

impl SyncedFiles {
    /// Opens the log for fsyncing and syncs what exists already, including the store
    /// directory's entries (`db`, `conf`, `blobs`) and the directory's own entry in its
    /// parent, in case sled just created them.
    fn open(dir: &Path) -> io::Result<SyncedFiles> {
        let mut files = SyncedFiles {
            log: File::open(dir.join(LOG_FILE))?,
            blob_dir: dir.join(BLOB_DIR),
            synced_blobs: HashSet::new(),
        };
        files.sync()?;
        sync_dir(dir)?;
        match dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent)?,
            _ => {}
        }
        Ok(files)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.log.sync_all()?;
        self.sync_new_blobs()
    }

    /// Fsyncs blob files not synced yet, then their directory. Blob files are only ever
    /// created whole and removed, never rewritten, so a name synced once stays synced.
    fn sync_new_blobs(&mut self) -> io::Result<()> {
        let entries = match std::fs::read_dir(&self.blob_dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error),
        };
        let mut present = HashSet::with_capacity(self.synced_blobs.len());
        let mut added = false;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            if !self.synced_blobs.contains(&name) {
                match File::open(entry.path()) {
                    Ok(file) => file.sync_all()?,
                    // Collected by sled since the listing: nothing to make durable.
                    Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                    Err(error) => return Err(error),
                }
                added = true;
            }
            present.insert(name);
        }
        if added {
            sync_dir(&self.blob_dir)?;
        }
        // Forget blobs sled has collected, so the set does not grow forever.
        self.synced_blobs = present;
        Ok(())
    }
}

/// Fsyncs a directory, so that the files created in it survive a crash.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
