//! Online backup: a consistent copy of every tree while the node runs.
//!
//! # Why writers pause
//!
//! sled has no snapshot across trees, and a copy taken tree by tree while transactions run
//! could hold a package without its outbox entries, or a receipt without its log entry. So
//! [`Store::backup`] pauses writers (see "Pausing writers for a backup" in `sled.rs`) while it
//! copies every tree into a fresh database, then lets them go before it flushes the copy.
//! Readers are never paused: the dashboard, the inbox and the status API answer throughout.
//! Writers (a submission from QLVB, a package or receipt from a peer) wait, and answer late
//! rather than fail; peers retry a delivery that times out.
//!
//! Writers wait as long as the trees take to copy. Large packages' files (see
//! `package_files.rs`) are copied after writers resume (`backup_files.rs` says why that is
//! safe), so what counts is the number of records and the bytes of small packages. Measured
//! with `writers_wait_while_a_realistic_store_is_copied` (release build, `--ignored`) on a
//! 2-core server with the store in the page cache, writers waited 0.07 s for 2,000
//! documents of 500 KB with their receipts (1.0 GB; 4.0 s when those packages were in the
//! trees), 0.4 s for 8,000 of them (4.1 GB; was 15.4 s), and 6.0 s for 50,000 documents of
//! 20 KB (1.1 GB, 400,000 entries, all in the trees): about 250 MB/s. A node that keeps
//! years of small documents holds gigabytes of them, so its writers wait minutes: back it
//! up outside office hours.
//!
//! # What a backup is
//!
//! A directory, never an existing one:
//!
//! ```text
//! BACKUP/store/          a sled database holding every tree, opened like any store,
//!                        with its large packages' files (`store/package-files/`),
//!                        copied after writers resume
//! BACKUP/manifest.json   BackupSummary: schema version, counts, entries and bytes per
//!                        tree, time, lienthong version; written last, so a backup that
//!                        has it is complete
//! ```
//!
//! A restore checks the copy against the manifest ([`verify_copy`]) before it puts it in
//! place. A backup records the schema its store had; a newer lienthong migrates it when it
//! opens the restored store, an older one refuses it.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use lienthong_protocol::envelope::Timestamp;
use serde::{Deserialize, Serialize};
use tracing::info;

use super::backup_files;
use super::encoding;
use super::engine::Db;
use super::error::{Corruption, StoreError};
use super::keys::{self, Tree};
use super::package_files::{PackageFiles, Removals};
use super::records::StoreCounts;
use super::{Store, schema};

/// The schema version this lienthong writes. A store or backup with an older one is
/// migrated when opened; one with a newer one is refused.
pub const SCHEMA_VERSION: u32 = schema::CURRENT;

/// The manifest inside a backup directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The store copy inside a backup directory.
pub const STORE_DIR: &str = "store";

/// Entries copied per transaction into the backup; bounds the memory a transaction holds.
const CHUNK_ENTRIES: usize = 512;
/// Bytes copied per transaction into the backup, whichever bound comes first.
const CHUNK_BYTES: usize = 16 << 20;

/// What a backup holds, as its `manifest.json` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSummary {
    /// The store's schema version when it was copied.
    pub schema_version: u32,
    /// The store's record counters.
    pub counts: StoreCounts,
    /// Entries and bytes (keys and values) of every tree, by tree name.
    pub trees: BTreeMap<String, TreeSummary>,
    /// Entries in all trees.
    pub entries: u64,
    /// Bytes of keys and values in all trees.
    pub bytes: u64,
    /// When the copy was taken (RFC 3339, UTC).
    #[serde(with = "rfc3339")]
    pub created_at: Timestamp,
    /// The lienthong that took it.
    pub lienthong_version: String,
    /// How long writers were held off while the trees were copied (0 for a stopped node).
    pub writers_paused_ms: u64,
}

/// One tree in a [`BackupSummary`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeSummary {
    /// Its entries.
    pub entries: u64,
    /// Bytes of its keys and values.
    pub bytes: u64,
}

/// What [`inspect`] finds in a store at rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    /// The schema version recorded; `None` in a store not initialised yet.
    pub schema_version: Option<u32>,
    /// The record counters, when they read.
    pub counts: Option<StoreCounts>,
    /// Bytes on disk.
    pub size_on_disk: u64,
}

impl Store {
    /// Writes a consistent copy of every tree to a new directory `dest`, with its
    /// manifest, while the node keeps running. Writers wait while the trees are copied;
    /// readers do not (see the module docs).
    ///
    /// # Errors
    /// [`StoreError::Backup`] when `dest` exists (a backup never overwrites a path) or
    /// cannot be written; a read error of this store. `dest` is removed again on error.
    pub fn backup(&self, dest: &Path) -> Result<BackupSummary, StoreError> {
        take_backup(self.db(), dest, Some(&self.inner.removals))
    }
}

/// Backs up the store in `dir` of a node that is stopped, as [`Store::backup`] does,
/// without migrating it: the backup keeps the schema the store has.
///
/// # Errors
/// [`StoreError::Open`] when another process (a running node) holds the store, or as
/// [`Store::backup`].
pub fn backup_stopped(dir: &Path, dest: &Path) -> Result<BackupSummary, StoreError> {
    let db = open_existing(dir)?;
    take_backup(&db, dest, None)
}

/// Reads a store's schema version and counters without migrating or changing it; `None`
/// when `dir` holds no store.
///
/// # Errors
/// [`StoreError::Open`] when another process (a running node) holds it, or a read error.
pub fn inspect(dir: &Path) -> Result<Option<StoreInfo>, StoreError> {
    if !holds_store(dir) {
        return Ok(None);
    }
    let db = Db::open(dir)?;
    let schema_version = read_schema(&db)?;
    let counts = read_counts(&db).ok();
    Ok(Some(StoreInfo {
        schema_version,
        counts,
        size_on_disk: db.size_on_disk()? + PackageFiles::of(dir).size()?,
    }))
}

/// Reads a backup's manifest and checks that this lienthong can use it.
///
/// # Errors
/// [`StoreError::Backup`] when the manifest is missing (an unfinished backup), unreadable,
/// or from a newer schema than [`SCHEMA_VERSION`].
pub fn read_manifest(backup: &Path) -> Result<BackupSummary, StoreError> {
    let path = backup.join(MANIFEST_FILE);
    let text = fs::read(&path).map_err(|e| {
        backup_error(
            backup,
            format!(
                "cannot read {}: {e}; a backup without its manifest is unfinished",
                path.display()
            ),
        )
    })?;
    let manifest: BackupSummary = serde_json::from_slice(&text)
        .map_err(|e| backup_error(backup, format!("{} is not a manifest: {e}", path.display())))?;
    if manifest.schema_version > SCHEMA_VERSION {
        return Err(backup_error(
            backup,
            format!(
                "it holds store schema {}, newer than schema {SCHEMA_VERSION} of this lienthong {}; restore it with lienthong {} or newer",
                manifest.schema_version,
                env!("CARGO_PKG_VERSION"),
                manifest.lienthong_version
            ),
        ));
    }
    Ok(manifest)
}

/// Checks a copy of a backup's store (in `dir`) against the backup's manifest: schema
/// version, counters, and entries and bytes of every tree; and every large package's file
/// against its length and checksum. Migrates nothing.
///
/// # Errors
/// [`StoreError::Backup`] naming the first difference, or an open or read error.
pub fn verify_copy(dir: &Path, manifest: &BackupSummary) -> Result<(), StoreError> {
    let db = open_existing(dir)?;
    let mismatch = |what: String| backup_error(dir, format!("does not match its manifest: {what}"));
    let schema_version = read_schema(&db)?;
    if schema_version != Some(manifest.schema_version) {
        return Err(mismatch(format!(
            "schema version {schema_version:?}, the manifest says {}",
            manifest.schema_version
        )));
    }
    let counts = read_counts(&db)?;
    if counts != manifest.counts {
        return Err(mismatch(format!(
            "counters {counts:?}, the manifest says {:?}",
            manifest.counts
        )));
    }
    for tree in Tree::ALL {
        let found = summarise(&db, tree)?;
        let expected = manifest.trees.get(tree.name()).copied().unwrap_or_default();
        if found != expected {
            return Err(mismatch(format!(
                "tree {} holds {} entries of {} bytes, the manifest says {} of {}",
                tree.name(),
                found.entries,
                found.bytes,
                expected.entries,
                expected.bytes
            )));
        }
    }
    if let Some(problem) = backup_files::check(&db, dir)? {
        return Err(mismatch(problem));
    }
    Ok(())
}

/// Copies `db` into `dest`. Online (with the running store's `removals`), writers wait
/// while the trees are copied and file removals while the files are.
fn take_backup(
    db: &Db,
    dest: &Path,
    removals: Option<&Removals>,
) -> Result<BackupSummary, StoreError> {
    if db.has_failed() {
        // Memory may hold a change the disk does not: copying it would back up a state
        // that never was durable.
        return Err(backup_error(
            dest,
            "the store refuses writes since one failed (a full disk?); restart the node once the cause is fixed, then back up".to_owned(),
        ));
    }
    claim(dest)?;
    let result = write_backup(db, dest, removals);
    if result.is_err() {
        // The directory is ours: `claim` created it.
        let _ = fs::remove_dir_all(dest);
    }
    result
}

fn write_backup(
    db: &Db,
    dest: &Path,
    removals: Option<&Removals>,
) -> Result<BackupSummary, StoreError> {
    let online = removals.is_some();
    let io_error = |what: &str, e: io::Error| backup_error(dest, format!("{what}: {e}"));
    let copy = Db::open(&dest.join(STORE_DIR))?;
    let started = Instant::now();
    let paused = online.then(|| db.pause_writers());
    let schema_version = read_schema(db)?.ok_or_else(|| {
        backup_error(
            db.path(),
            "the store has no schema version: it was never opened by lienthong".to_owned(),
        )
    })?;
    let counts = read_counts(db)?;
    let id_floor = db.next_id()?;
    let mut trees = BTreeMap::new();
    for tree in Tree::ALL {
        trees.insert(tree.name().to_owned(), copy_tree(db, &copy, tree)?);
    }
    // Before writers resume, so that no file the copied trees reference is removed before
    // it is copied.
    let removals_held = removals.map(Removals::hold);
    drop(paused);
    let writers_paused = if online {
        started.elapsed()
    } else {
        Duration::ZERO
    };
    copy.set_id_floor(id_floor)?;
    copy.flush()?;
    let files = backup_files::copy(&copy, db.path(), &dest.join(STORE_DIR))?;
    drop(removals_held);
    drop(copy);
    sync_dir(&dest.join(STORE_DIR)).map_err(|e| io_error("syncing the store copy", e))?;

    let summary = BackupSummary {
        schema_version,
        counts,
        entries: trees.values().map(|t| t.entries).sum(),
        bytes: trees.values().map(|t| t.bytes).sum(),
        trees,
        created_at: crate::clock::now(),
        lienthong_version: env!("CARGO_PKG_VERSION").to_owned(),
        writers_paused_ms: u64::try_from(writers_paused.as_millis()).unwrap_or(u64::MAX),
    };
    let json = serde_json::to_vec_pretty(&summary)
        .map_err(|e| backup_error(dest, format!("encoding the manifest: {e}")))?;
    crate::data_dir::write_atomic(&dest.join(MANIFEST_FILE), &json, 0o600)
        .map_err(|e| io_error("writing the manifest", e))?;
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent).map_err(|e| io_error("syncing the backup's parent directory", e))?;
    }
    info!(
        path = %dest.display(),
        schema = schema_version,
        entries = summary.entries,
        bytes = summary.bytes,
        writers_paused_ms = summary.writers_paused_ms,
        package_files = files.files,
        package_file_bytes = files.bytes,
        took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "store backed up"
    );
    Ok(summary)
}

/// Copies one tree, in chunks, and counts what it copied.
fn copy_tree(from: &Db, to: &Db, tree: Tree) -> Result<TreeSummary, StoreError> {
    let mut summary = TreeSummary::default();
    let mut chunk = Vec::with_capacity(CHUNK_ENTRIES);
    let mut chunk_bytes = 0;
    let mut entries = from.iter(tree).peekable();
    while let Some(entry) = entries.next() {
        let (key, value) = entry?;
        chunk_bytes += key.len() + value.len();
        summary.entries += 1;
        summary.bytes += u64::try_from(key.len() + value.len()).unwrap_or(u64::MAX);
        chunk.push((key, value));
        if chunk.len() >= CHUNK_ENTRIES || chunk_bytes >= CHUNK_BYTES || entries.peek().is_none() {
            to.transaction("backup copy", |tx| {
                for (key, value) in &chunk {
                    tx.insert(tree, key, value)?;
                }
                Ok(())
            })?;
            chunk.clear();
            chunk_bytes = 0;
        }
    }
    Ok(summary)
}

/// Entries and bytes of one tree.
fn summarise(db: &Db, tree: Tree) -> Result<TreeSummary, StoreError> {
    let mut summary = TreeSummary::default();
    for entry in db.iter(tree) {
        let (key, value) = entry?;
        summary.entries += 1;
        summary.bytes += u64::try_from(key.len() + value.len()).unwrap_or(u64::MAX);
    }
    Ok(summary)
}

/// Creates `dest` (mode 0700: the backup will hold keys), failing if anything is there.
fn claim(dest: &Path) -> Result<(), StoreError> {
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .map_err(|e| backup_error(dest, format!("cannot create {}: {e}", parent.display())))?;
    }
    fs::DirBuilder::new()
        .mode(0o700)
        .create(dest)
        .map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => backup_error(
                dest,
                "exists already; a backup never overwrites anything: give a new path".to_owned(),
            ),
            _ => backup_error(dest, format!("cannot create it: {e}")),
        })
}

/// Opens a store directory that must exist, without creating one.
fn open_existing(dir: &Path) -> Result<Db, StoreError> {
    if !holds_store(dir) {
        return Err(backup_error(dir, "holds no lienthong store".to_owned()));
    }
    Db::open(dir)
}

/// Whether `dir` holds a sled database (its log file).
fn holds_store(dir: &Path) -> bool {
    dir.join("db").is_file()
}

fn read_schema(db: &Db) -> Result<Option<u32>, StoreError> {
    let Some(value) = db.get(Tree::Meta, keys::SCHEMA_VERSION)? else {
        return Ok(None);
    };
    let bytes: [u8; 4] = value[..].try_into().map_err(|_| {
        encoding::corrupt(
            Tree::Meta,
            keys::SCHEMA_VERSION,
            Corruption::Length {
                expected: 4,
                found: value.len(),
            },
        )
    })?;
    Ok(Some(u32::from_be_bytes(bytes)))
}

fn read_counts(db: &Db) -> Result<StoreCounts, StoreError> {
    let value = db.get(Tree::Meta, keys::COUNTS)?.ok_or_else(|| {
        encoding::corrupt(
            Tree::Meta,
            keys::COUNTS,
            Corruption::Missing {
                what: "record counters",
            },
        )
    })?;
    encoding::read(Tree::Meta, keys::COUNTS, &value)
}

fn backup_error(path: &Path, message: String) -> StoreError {
    StoreError::Backup {
        path: path.to_owned(),
        message,
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The manifest's time as RFC 3339, readable by people and scripts.
mod rfc3339 {
    use lienthong_protocol::envelope::Timestamp;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(time: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(time)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use bytes::Bytes;
    use lienthong_protocol::envelope::{
        EnvelopeLimits, PackageFields, ReceiptFields, SignedPackage, SignedReceipt,
    };
    use lienthong_protocol::{AgencyKey, MessageKind, StatusCode};

    use super::*;
    use crate::store::tests::{organ, ts};
    use crate::store::{DeliveryState, InboxEntry, OutboxEntry, OutgoingPackage};

    const SENDER: &str = "000.00.00.G22";
    const RECIPIENT: &str = "000.00.00.H53";

    /// Package `n` with `padding` bytes of content beyond its number.
    fn package(key: &AgencyKey, n: u64, padding: usize) -> SignedPackage {
        let mut content = format!("<edXML><n>{n}</n></edXML>").into_bytes();
        content.resize(content.len() + padding, b' ');
        SignedPackage::sign(
            key,
            PackageFields {
                sender: organ(SENDER),
                recipients: vec![organ(RECIPIENT)],
                kind: MessageKind::Edoc,
                created_at: ts(n),
            },
            Bytes::from(content),
            &EnvelopeLimits::default(),
        )
        .expect("signs a package")
    }

    fn receipt(
        key: &AgencyKey,
        package: &SignedPackage,
        code: StatusCode,
        n: u64,
    ) -> SignedReceipt {
        SignedReceipt::sign(
            key,
            ReceiptFields {
                package_id: package.id(),
                sender: organ(SENDER),
                recipient: organ(RECIPIENT),
                document_id: None,
                code,
                issued_at: ts(n),
                description: None,
            },
            &EnvelopeLimits::default(),
        )
        .expect("signs a receipt")
    }

    /// Sends package `n`, and records its recipient's receipt 01.
    fn exchange(store: &Store, key: &AgencyKey, n: u64, padding: usize) {
        let package = package(key, n, padding);
        let meta = OutgoingPackage {
            package_id: package.id(),
            kind: package.kind(),
            document_id: Some(format!("{n}/VPCP")),
            recipients: package.recipients().to_vec(),
            submitted_at: ts(n),
            subject: Some("Về việc sao lưu".into()),
        };
        let mut entry = OutboxEntry {
            package_id: package.id(),
            recipient: organ(RECIPIENT),
            state: DeliveryState::Queued,
            attempts: 0,
            next_attempt_at: ts(n),
            last_error: None,
            queued_at: ts(n),
            deadline: ts(n + 3_600_000),
            delivered_at: None,
        };
        let submitted = store
            .submit(&package, &meta, std::slice::from_ref(&entry))
            .expect("submits");
        assert_eq!(submitted, crate::store::SubmitOutcome::Stored);
        entry.state = DeliveryState::Delivered;
        entry.delivered_at = Some(ts(n + 1));
        let recorded = store
            .record_receipt(
                &receipt(key, &package, StatusCode::Arrived, n),
                Some(&entry),
            )
            .expect("records");
        assert_eq!(recorded, crate::store::RecordOutcome::New);
    }

    /// Receives package `n` from another agency, answering with receipt 01.
    fn arrival(store: &Store, key: &AgencyKey, n: u64) {
        let package = package(key, n, 0);
        let entry = InboxEntry {
            package_id: package.id(),
            from: package.sender().clone(),
            kind: package.kind(),
            document_id: None,
            received_at: ts(n),
            acked_at: None,
        };
        let accepted = store
            .accept_incoming(
                &package,
                &entry,
                &receipt(key, &package, StatusCode::Arrived, n),
            )
            .expect("accepts");
        assert!(matches!(accepted, crate::store::IncomingOutcome::Stored));
    }

    /// Every entry of a tree, keys and values.
    fn entries(db: &Db, tree: Tree) -> Vec<(Vec<u8>, Vec<u8>)> {
        db.iter(tree)
            .map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec())).expect("reads"))
            .collect()
    }

    #[test]
    fn a_backup_copies_every_tree_and_its_counts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("store")).expect("opens");
        let key = AgencyKey::generate().expect("key");
        for n in 0..20 {
            exchange(&store, &key, n, 100 * 1024 * usize::from(n % 4 == 0));
            arrival(&store, &key, 1000 + n);
        }
        // Every tree holds something, also those no call above fills, and any tree added
        // later: the backup must not depend on knowing which trees there are.
        for tree in Tree::ALL {
            store
                .db()
                .put_raw(tree, b"\xffbackup-probe", tree.name().as_bytes())
                .expect("plants");
        }

        let dest = dir.path().join("backups/first");
        let summary = store.backup(&dest).expect("backs up");
        assert_eq!(summary.schema_version, SCHEMA_VERSION);
        assert_eq!(summary.counts, store.counts().expect("counts"));
        assert_eq!(summary.lienthong_version, env!("CARGO_PKG_VERSION"));
        assert_eq!(read_manifest(&dest).expect("manifest"), summary);
        assert_eq!(summary.trees.len(), Tree::ALL.len());

        let copy = Db::open(&dest.join(STORE_DIR)).expect("opens the copy");
        for tree in Tree::ALL {
            let original = entries(store.db(), tree);
            assert!(!original.is_empty(), "{tree:?}");
            assert_eq!(entries(&copy, tree), original, "{tree:?}");
            assert_eq!(
                summary.trees[tree.name()].entries,
                original.len() as u64,
                "{tree:?}"
            );
        }
        drop(copy);
        verify_copy(&dest.join(STORE_DIR), &summary).expect("matches its manifest");
        let restored = Store::open(&dest.join(STORE_DIR)).expect("opens as a store");
        assert_eq!(restored.counts().expect("counts"), summary.counts);
    }

    #[test]
    fn receipts_recorded_in_a_restored_copy_come_after_the_original_s() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store");
        // Every restart moves sled's id counter far ahead: a node that ran for a while
        // hands out numbers a fresh copy would reach only after as many restarts.
        for _ in 0..3 {
            drop(Store::open(&path).expect("opens"));
        }
        let store = Store::open(&path).expect("opens");
        let key = AgencyKey::generate().expect("key");
        for n in 0..5 {
            exchange(&store, &key, n, 0);
        }
        let last = |db: &Db| {
            db.iter(Tree::ReceiptLog)
                .next_back()
                .expect("a receipt")
                .expect("reads")
                .0
                .to_vec()
        };
        let original_last = last(store.db());
        let dest = dir.path().join("backup");
        store.backup(&dest).expect("backs up");
        drop(store);

        let copy = Store::open(&dest.join(STORE_DIR)).expect("opens the copy");
        exchange(&copy, &key, 100, 0);
        assert!(
            last(copy.db()) > original_last,
            "a new receipt's log position is past every one the original gave out"
        );
        assert_eq!(
            copy.db().len(Tree::ReceiptLog),
            6,
            "no receipt was overwritten"
        );
    }

    #[test]
    fn a_backup_never_overwrites_and_leaves_nothing_behind_on_failure() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("store")).expect("opens");
        let taken = dir.path().join("taken");
        fs::create_dir(&taken).expect("mkdir");
        let err = store.backup(&taken).expect_err("exists");
        assert!(err.to_string().contains("never overwrites"), "{err}");
        assert_eq!(fs::read_dir(&taken).expect("list").count(), 0, "untouched");

        let err = backup_stopped(&dir.path().join("nothing"), &dir.path().join("b"))
            .expect_err("no store there");
        assert!(
            err.to_string().contains("holds no lienthong store"),
            "{err}"
        );
        assert!(!dir.path().join("b").exists());
    }

    #[test]
    fn a_copy_that_differs_from_its_manifest_is_refused_naming_the_tree() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("store")).expect("opens");
        let key = AgencyKey::generate().expect("key");
        exchange(&store, &key, 1, 0);
        let dest = dir.path().join("backup");
        let summary = store.backup(&dest).expect("backs up");
        {
            let copy = Db::open(&dest.join(STORE_DIR)).expect("opens");
            copy.put_raw(Tree::Holds, b"extra", b"\x00")
                .expect("plants");
        }
        let err = verify_copy(&dest.join(STORE_DIR), &summary).expect_err("differs");
        assert!(err.to_string().contains("tree holds"), "{err}");

        let mut newer = summary;
        newer.schema_version = SCHEMA_VERSION + 1;
        fs::write(
            dest.join(MANIFEST_FILE),
            serde_json::to_vec(&newer).expect("json"),
        )
        .expect("write");
        let err = read_manifest(&dest).expect_err("newer");
        assert!(err.to_string().contains("newer than schema"), "{err}");
    }

    #[test]
    fn a_stopped_store_is_inspected_and_backed_up_without_migrating() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store");
        assert_eq!(inspect(&path).expect("nothing there"), None);
        let store = Store::open(&path).expect("opens");
        exchange(&store, &AgencyKey::generate().expect("key"), 1, 0);
        let counts = store.counts().expect("counts");
        drop(store);
        let info = inspect(&path).expect("inspects").expect("a store");
        assert_eq!(info.schema_version, Some(SCHEMA_VERSION));
        assert_eq!(info.counts, Some(counts));
        let summary = backup_stopped(&path, &dir.path().join("b")).expect("backs up");
        assert_eq!(summary.writers_paused_ms, 0);
        assert_eq!(summary.counts, counts);
    }

    /// How long writers wait while a store of realistic size is copied. Not a check, a
    /// measurement for the operations guide:
    /// `cargo test -p lienthong-node --release --lib writers_wait -- --ignored --nocapture`,
    /// with `LIENTHONG_BACKUP_PACKAGES` (2,000) packages of `LIENTHONG_BACKUP_PACKAGE_KB`
    /// (500) KB, each with its receipt.
    #[test]
    #[ignore = "a measurement: fills a store of about 1 GB"]
    fn writers_wait_while_a_realistic_store_is_copied() {
        let packages: u64 = std::env::var("LIENTHONG_BACKUP_PACKAGES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2_000);
        let size: usize = std::env::var("LIENTHONG_BACKUP_PACKAGE_KB")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(500);
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("store")).expect("opens");
        let key = AgencyKey::generate().expect("key");
        for n in 0..packages {
            exchange(&store, &key, n, size * 1024);
        }
        let started = Instant::now();
        let summary = store.backup(&dir.path().join("backup")).expect("backs up");
        println!(
            "{packages} packages, {} entries, {} MB: writers paused {} ms, backup took {} ms",
            summary.entries,
            summary.bytes / 1_000_000,
            summary.writers_paused_ms,
            started.elapsed().as_millis()
        );
    }
}
