//! The node's durable state: a narrow, typed, synchronous API over sled.
//!
//! # The rule
//!
//! Once the local API or a peer has been told "accepted", that fact survives kill -9, a
//! restart and a full disk. So every mutating method returns only after its change is
//! durable on disk, and an error from any of them means nothing may be acknowledged. Input
//! that does not hold together is refused before anything is written.
//!
//! # What it holds
//!
//! - **Sending side**: each package this node sent ([`Store::submit`]): its wire bytes, its
//!   metadata ([`OutgoingPackage`]) and one [`OutboxEntry`] per recipient, which the
//!   delivery engine updates ([`Store::update_outbox`]) and resumes after a restart
//!   ([`Store::pending_outbox`]).
//! - **Receiving side**: each package this node accepted ([`Store::accept_incoming`]), its
//!   [`InboxEntry`] until QLVB acknowledges it ([`Store::ack`]), and the receipt 01 this node
//!   answered with.
//! - **Receipts**: every signed receipt the node recorded ([`Store::record_receipt`]),
//!   listed per package in the order recorded.
//! - **Relay**: on a relay, the sealed packages it holds for its members
//!   ([`Store::hold`], [`Store::mailbox`]) and the receipts it forwards to their senders
//!   ([`Store::release`], [`Store::forward_queue_for`]); on a sender, the relay's signed "held"
//!   acknowledgement per recipient ([`Store::record_hold`]).
//! - **Evidence**: one leaf per fact above (submitted, received, receipt signed or
//!   recorded, held, hold recorded) and per roster taken, appended in the same transaction
//!   as the fact, and the checkpoints the node signed over them ([`Store::evidence_tree`],
//!   [`Store::record_checkpoint`]).
//!
//! Every write is idempotent on a content-derived id (package id, receipt id): a resend, a
//! retried API call or a replayed gossip message finds the first write and changes nothing,
//! and the answer says so ([`SubmitOutcome::AlreadyStored`], [`IncomingOutcome::Duplicate`],
//! [`RecordOutcome::Duplicate`], [`AckOutcome::AlreadyAcked`]). Those answers are durable
//! too: a duplicate can overtake the first write before that write's fsync has finished,
//! so every mutating call syncs, whatever its outcome.
//!
//! # Synchronous on purpose
//!
//! The store blocks: on sled, and on fsync. The node calls it from async code through
//! [`Store::call`] (`spawn_blocking` underneath), never directly on a runtime thread:
//!
//! ```no_run
//! # async fn example(store: lienthong_node::store::Store, id: lienthong_protocol::PackageId)
//! # -> anyhow::Result<()> {
//! // On the blocking pool, in the caller's span.
//! let package = store.call(move |store| store.package(&id)).await?;
//! # let _ = package;
//! # Ok(())
//! # }
//! ```
//!
//! # Durability and group commit
//!
//! Each mutating method runs one sled transaction over all its trees, so its writes land
//! together or not at all, then syncs. sled's transactions are atomic but not durable
//! until a flush, and a flush costs an fsync; group commit (`group_commit.rs`) lets
//! concurrent writers share one. The sled adapter (`sled.rs`) also fsyncs the files sled's
//! own flush leaves unsynced. A failed sync is a [`StoreError::Sync`]; on a full disk that
//! (or a [`StoreError::Transaction`]) is what the caller sees, and it must not acknowledge.
//!
//! After such a failure the store is **fail-stop**: sled may hold the failed change in
//! memory, so every later write and sync is refused
//! ([`BackendError::is_failed_earlier`]) until the store is reopened, which in practice
//! means restarting the node once the disk has room. Reopening recovers from what the last
//! successful sync made durable; every call that was answered `Ok` is in it.
//!
//! # Layout
//!
//! - `mod.rs`: [`Store`], opening, counters, sync.
//! - `packages.rs`: package bytes, read back, replaced; `package_files.rs`: large
//!   packages' bytes in files of their own, outside the engine.
//! - `outgoing.rs`: submitting packages and the outbox.
//! - `incoming.rs`: accepting packages and the inbox.
//! - `receipts.rs`: recording and listing receipts.
//! - `references.rs`: finding a package by its document references; links between
//!   packages that revoke, update or replace others.
//! - `receipt_log.rs`: receipts in recording order ("since cursor"), receipts still to
//!   hand to their addressee, peers' cursors.
//! - `feed.rs`: the receipts QLVB has still to collect through the axis-compatible API.
//! - `axis.rs`: the axis bridge's sends (started, DocId) and the axis's directory.
//! - `axis_arrivals.rs`: what arrives from the axis (first seen, the package it became,
//!   `done` said).
//! - `mailbox.rs`: a relay's mailbox and forward queue, a sender's record of holds.
//! - `evidence.rs`: the evidence log (every fact's leaf, appended in the fact's own
//!   transaction) and the checkpoints signed over it; `evidence_leaf.rs`: a leaf's bytes.
//! - `witnessed.rs`: on a witness, the head last cosigned per log and the forks seen.
//! - `cosignatures.rs`: witnesses' cosignatures of this node's checkpoints.
//! - `timestamps.rs`: RFC 3161 timestamp tokens over this node's checkpoints.
//! - `history.rs`: packages sent and received over a period, for reports.
//! - `records.rs`: the record types.
//! - `keys.rs`: tree names and key layouts (a table of every tree is there).
//! - `encoding.rs`: versioned values (a marker byte, then postcard or raw bytes).
//! - `schema.rs`: the schema version and migrations.
//! - `backup.rs`: online backup, and checking a store or a backup at rest;
//!   `backup_files.rs`: the package files of a backup.
//! - `group_commit.rs`: sharing fsyncs between writers; `shared_write.rs`: sharing
//!   transactions between concurrent writes of one kind.
//! - `sled.rs`: the adapter, the only file that uses the sled crate.
//! - `error.rs`: [`StoreError`].

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use tracing::info;

mod axis;
mod axis_arrivals;
mod backup;
mod backup_files;
mod cosignatures;
mod direct_write;
mod encoding;
mod error;
mod evidence;
mod evidence_leaf;
mod feed;
mod group_commit;
mod heads;
mod history;
mod incoming;
mod keys;
mod mail;
mod mailbox;
mod migrate_3;
mod migrate_4;
mod migrate_6;
mod outgoing;
mod package_files;
mod packages;
mod receipt_log;
mod receipts;
mod records;
mod references;
mod schema;
mod shared_write;
mod sled;
#[cfg(test)]
mod tests;
mod timestamps;
mod witnessed;

/// The engine adapter, under a name that does not read as the sled crate.
use self::sled as engine;

pub use axis::{AxisAgency, AxisReport, AxisSend};
pub use axis_arrivals::AxisArrival;
pub use backup::{
    BackupSummary, MANIFEST_FILE, SCHEMA_VERSION, STORE_DIR, StoreInfo, TreeSummary,
    backup_stopped, inspect, read_manifest, verify_copy,
};
pub use engine::{DEFAULT_CACHE_BYTES, Failure, FailureKind};
pub use error::{BackendError, Corruption, InputProblem, StoreError};
pub use evidence::{StoredLeaf, stop_logging_for_benchmark};
pub use evidence_leaf::{EvidenceLeaf, Fact, LeafError};
pub use feed::{CollectOutcome, FeedItem, FeedPage};
pub use group_commit::SyncStats;
pub use heads::{HeadFork, HeldHead};
pub use history::{ReceiptFact, ReceivedPackage, SentPackage};
pub use incoming::{AckOutcome, IncomingOutcome};
pub use mail::{MailArrival, MailReport, MailReportKind, MailReview, MailSend};
pub use mailbox::{HeldPackage, HoldOutcome, MailboxEntry, MailboxSummary, RelayCounts, addressee};
pub use outgoing::{OutboxUpdate, SubmitOutcome};
pub use receipt_log::ReceiptPage;
pub use receipts::RecordOutcome;
pub use records::{DeliveryState, InboxEntry, OutboxEntry, OutgoingPackage, StoreCounts};
pub use references::{Link, Links, PackageIndex};
pub use witnessed::{SeenFork, WitnessedLog};

use encoding::corrupt;
use engine::{Db, Tx, TxError};
use group_commit::GroupCommit;
use keys::Tree;
use package_files::{PackageFiles, Removals};

/// The node's durable state. Cheap to clone (an `Arc`); `Send + Sync`.
///
/// Every method blocks (see the module docs: call it through `spawn_blocking`). Every
/// mutating method returns only once its change is durable.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    commit: GroupCommit,
    files: PackageFiles,
    /// A relay's mailbox files, removed once released (see `package_files.rs`).
    removals: Removals,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("db", &self.inner.db)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store in `dir`, creating it (and `dir`) if needed.
    ///
    /// A new store gets the current schema version; an existing one must have it, or be
    /// migrated to it. Package files that no committed transaction references (a crash
    /// came between a file's write and its transaction) are removed.
    ///
    /// # Errors
    /// [`StoreError::Open`] when the directory cannot be used (or another process has it
    /// open), [`StoreError::SchemaTooNew`] when a newer lienthong wrote it,
    /// [`StoreError::SchemaUnsupported`] when no migration applies,
    /// [`StoreError::PackageFile`] when the package files cannot be listed or removed.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// [`Store::open`], keeping at most about `cache_bytes` of the store's pages in memory
    /// (`[limits] store_cache`; the engine's accounting is approximate).
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        let db = Db::open_with_cache(dir, cache_bytes)?;
        schema::prepare(&db)?;
        let files = PackageFiles::of(dir);
        files.sweep(|id, generation| packages::file_referenced(&db, id, generation))?;
        info!(path = %dir.display(), "store opened");
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                commit: GroupCommit::default(),
                removals: Removals::new(files.clone()),
                files,
            }),
        })
    }

    /// How many records of each kind the store holds. One lookup: the counters are kept in
    /// the same transactions as the records.
    ///
    /// # Errors
    /// [`StoreError::Read`], or [`StoreError::Corrupt`] if the counters do not decode.
    pub fn counts(&self) -> Result<StoreCounts, StoreError> {
        let value = self
            .db()
            .get(Tree::Meta, keys::COUNTS)?
            .ok_or_else(missing_counts)?;
        encoding::read(Tree::Meta, keys::COUNTS, &value)
    }

    /// Bytes the store takes on disk.
    ///
    /// # Errors
    /// [`StoreError::Read`] if the engine cannot tell.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db().size_on_disk()? + self.inner.files.size()?)
    }

    /// How many syncs writers asked for and how many flushes served them, since this
    /// store was opened: the group-commit effect, for metrics and tests.
    pub fn sync_stats(&self) -> SyncStats {
        self.inner.commit.stats()
    }

    /// Why the store takes no writes, once a write or flush has failed (a full disk, no
    /// file descriptor left, an I/O error): every write is refused from then on, and the
    /// store must be reopened once the cause has passed. `None` while it is writable.
    pub fn failure(&self) -> Option<std::sync::Arc<Failure>> {
        self.db().failure()
    }

    /// The directory the store is in.
    pub fn path(&self) -> &Path {
        self.db().path()
    }

    fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Runs `f` with this store on the blocking pool, in the caller's span: how async code
    /// calls the store.
    ///
    /// # Errors
    /// What `f` returned, or [`StoreError::Task`] when it did not return.
    ///
    /// # Cancel safety
    /// Dropping the future does not stop `f`: a write goes through all the same.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.clone();
        crate::tasks::blocking(move || f(&store))
            .await
            .map_err(StoreError::Task)?
    }

    /// Makes everything committed so far durable: the last thing a node does when it stops.
    /// Every write was durable when it returned, so this finds nothing to do unless a
    /// write failed half-way.
    ///
    /// # Errors
    /// [`StoreError::Sync`] when the flush fails.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.sync()
    }

    /// Returns once every change committed so far is durable; see `group_commit.rs`.
    fn sync(&self) -> Result<(), StoreError> {
        self.inner.commit.sync(|| self.inner.db.flush())
    }
}

/// The record counters, read inside a transaction to be updated with it.
fn load_counts(tx: &Tx<'_>) -> Result<StoreCounts, TxError> {
    let value = tx
        .get(Tree::Meta, keys::COUNTS)?
        .ok_or_else(missing_counts)?;
    Ok(encoding::read(Tree::Meta, keys::COUNTS, &value)?)
}

fn save_counts(tx: &Tx<'_>, counts: &StoreCounts) -> Result<(), TxError> {
    tx.insert(
        Tree::Meta,
        keys::COUNTS,
        &encoding::write("counts", counts)?,
    )
}

fn missing_counts() -> StoreError {
    corrupt(
        Tree::Meta,
        keys::COUNTS,
        Corruption::Missing {
            what: "record counters",
        },
    )
}
