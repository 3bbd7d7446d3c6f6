//! Schema 5 → 6: the evidence log (`evidence.rs`).
//!
//! Version 6 appends a leaf for every fact in the fact's own transaction. The facts a store
//! already holds have none, and rebuilding them would rewrite history with times the node
//! never logged; so the log of an upgraded store starts with one `log started` leaf that
//! counts what came before it, and an auditor knows the log covers everything after that
//! leaf. A store that holds nothing gets no such leaf. An older binary must not open a
//! version 6 store: it would store facts without their leaves.

use tracing::info;

use super::encoding;
use super::engine::Db;
use super::error::StoreError;
use super::evidence::append;
use super::evidence_leaf::{EvidenceLeaf, Fact};
use super::keys::{self, Tree};
use super::records::StoreCounts;

pub(super) fn run(db: &Db) -> Result<(), StoreError> {
    let at = crate::clock::now();
    // Nothing else writes while a store is migrated at open.
    let inbox = db.len(Tree::Inbox) as u64;
    let started = db.transaction("migrate 5 to 6", |tx| {
        let counts: StoreCounts = match tx.get(Tree::Meta, keys::COUNTS)? {
            Some(value) => encoding::read(Tree::Meta, keys::COUNTS, &value)?,
            None => StoreCounts::default(),
        };
        let fact = Fact::LogStarted {
            outgoing: counts.outgoing,
            inbox,
            receipts: counts.receipts,
        };
        let held_anything = counts.outgoing > 0 || inbox > 0 || counts.receipts > 0;
        if held_anything {
            append(tx, &EvidenceLeaf::new(at, fact))?;
        }
        tx.insert(Tree::Meta, keys::SCHEMA_VERSION, &6u32.to_be_bytes())?;
        Ok(held_anything)
    })?;
    info!(started, "evidence log added");
    Ok(())
}
