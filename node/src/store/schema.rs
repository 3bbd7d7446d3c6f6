//! The schema version: created with the store, checked on every open, and the hook where
//! future versions migrate older stores.
//!
//! The version is a bare `u32` (big-endian) under `meta/schema_version`, outside the
//! versioned value encoding, because every version of the code must be able to read it.

use tracing::info;

use super::encoding::{self, corrupt};
use super::engine::Db;
use super::error::{Corruption, StoreError};
use super::keys::{self, Tree};
use super::records::StoreCounts;

/// The schema this code writes.
///
/// - 1: packages, outbox, inbox, receipts.
/// - 2: adds a relay's mailbox and forward queue and a sender's holds (new, empty trees:
///   nothing to convert, but a version 1 binary must not open a store whose mailbox it
///   would ignore).
/// - 3: adds the receipt log, receipts still to hand over, peers' cursors, document
///   references, links and the index of rejected outbox entries; the migration fills the
///   log, the references and the rejected index from what the store holds.
/// - 4: adds what QLVB has collected through the axis-compatible API (the feed's low-water
///   mark and `feed_collected`); the migration starts the mark at the beginning of the
///   receipt log, so the receipts a store already holds for its agency are offered to QLVB.
/// - 5: keeps large packages' bytes in files beside the engine's (`package_files.rs`).
///   Nothing to convert: packages stored inline stay readable. But a version 4 binary must
///   not open a store whose `packages` tree references files it would not back up.
/// - 6: adds the evidence log and its checkpoints (`evidence.rs`); the migration starts
///   the log of a store that holds facts with one leaf counting them (`migrate_6.rs`).
pub(super) const CURRENT: u32 = 6;

/// Brings the store in `db` to [`CURRENT`]: initialises a new store, refuses a newer one,
/// migrates an older one. Durable when it returns.
///
/// # Errors
/// [`StoreError::SchemaTooNew`], [`StoreError::SchemaUnsupported`], or
/// [`StoreError::Corrupt`] when the version is unreadable or missing from a store that
/// holds data.
pub(super) fn prepare(db: &Db) -> Result<(), StoreError> {
    match read_version(db)? {
        None => initialise(db),
        Some(CURRENT) => Ok(()),
        Some(found) if found > CURRENT => Err(StoreError::SchemaTooNew {
            found,
            supported: CURRENT,
        }),
        Some(found) => migrate(db, found),
    }
}

fn read_version(db: &Db) -> Result<Option<u32>, StoreError> {
    let Some(value) = db.get(Tree::Meta, keys::SCHEMA_VERSION)? else {
        return Ok(None);
    };
    let bytes: [u8; 4] = value[..].try_into().map_err(|_| {
        corrupt(
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

/// Writes the version and zeroed counters into a new store. A store that holds records but
/// no version was not written by lienthong (or lost its `meta` tree): refuse it rather than
/// guess.
fn initialise(db: &Db) -> Result<(), StoreError> {
    for tree in Tree::ALL {
        if !db.is_empty(tree)? {
            return Err(corrupt(
                Tree::Meta,
                keys::SCHEMA_VERSION,
                Corruption::Missing {
                    what: "schema version of a store that holds data",
                },
            ));
        }
    }
    let counts = encoding::write("counts", &StoreCounts::default())?;
    db.transaction("initialise", |tx| {
        tx.insert(Tree::Meta, keys::SCHEMA_VERSION, &CURRENT.to_be_bytes())?;
        tx.insert(Tree::Meta, keys::COUNTS, &counts)?;
        Ok(())
    })?;
    db.flush()?;
    info!(version = CURRENT, "new store initialised");
    Ok(())
}

/// Upgrades a store from schema `found` to [`CURRENT`], one [`step`] at a time.
fn migrate(db: &Db, found: u32) -> Result<(), StoreError> {
    let mut version = found;
    while version < CURRENT {
        let Some(next) = step(db, version)? else {
            return Err(StoreError::SchemaUnsupported {
                found,
                supported: CURRENT,
            });
        };
        info!(from = version, to = next, "store schema migrated");
        version = next;
    }
    db.flush()
}

/// Upgrades a store at schema `from` by one version and returns the new version, or `None`
/// when no migration starts at `from`.
///
/// Each step runs in one transaction that also writes its new version number, so that an
/// interrupted migration resumes at the step where it stopped.
fn step(db: &Db, from: u32) -> Result<Option<u32>, StoreError> {
    match from {
        1 => {
            // Version 2 only added trees, which opening created empty.
            db.transaction("migrate 1 to 2", |tx| {
                tx.insert(Tree::Meta, keys::SCHEMA_VERSION, &2u32.to_be_bytes())
            })?;
            Ok(Some(2))
        }
        2 => {
            super::migrate_3::run(db)?;
            Ok(Some(3))
        }
        3 => {
            super::migrate_4::run(db)?;
            Ok(Some(4))
        }
        4 => {
            // Version 5 only added package files, which the first large package creates.
            db.transaction("migrate 4 to 5", |tx| {
                tx.insert(Tree::Meta, keys::SCHEMA_VERSION, &5u32.to_be_bytes())
            })?;
            Ok(Some(5))
        }
        5 => {
            super::migrate_6::run(db)?;
            Ok(Some(6))
        }
        _ => Ok(None),
    }
}
