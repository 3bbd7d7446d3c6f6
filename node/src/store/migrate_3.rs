//! Schema 2 → 3: fills the trees version 3 added from what a version 2 store holds.
//!
//! - `receipt_log`: every receipt, at the sequence number its `receipts` key already has.
//! - `references`: every sent and received package's document references, read from its
//!   edXML. A package whose content no longer parses is left out of the index (it was
//!   accepted under an older reader); a status message then cannot be matched to it by
//!   reference, which the API reports as "no such document".
//! - `outbox_rejected`: every outbox entry in state `rejected`.
//!
//! Links between packages are not rebuilt: they need the target's package id resolved at
//! the time the changing package arrived.
//!
//! One transaction per record, then the version in its own: an interrupted migration runs
//! again from the start, and every write in it is idempotent.

use lienthong_protocol::edxml::{self, Message};
use lienthong_protocol::envelope::{EnvelopeLimits, SignedPackage};
use tracing::{info, warn};

use super::encoding;
use super::engine::Db;
use super::error::StoreError;
use super::keys::{self, Tree};
use super::outgoing::index_target;
use super::records::{DeliveryState, OutboxEntry};

pub(super) fn run(db: &Db) -> Result<(), StoreError> {
    let mut logged = 0u64;
    for item in db.iter(Tree::Receipts) {
        let (key, _) = item?;
        let key: [u8; keys::RECEIPT_KEY_LEN] = match key[..].try_into() {
            Ok(key) => key,
            Err(_) => continue,
        };
        let reference = encoding::encode_blob(&key);
        db.transaction("migrate 2 to 3: receipt log", |tx| {
            tx.insert(
                Tree::ReceiptLog,
                &keys::log_position(&key).to_be_bytes(),
                &reference,
            )
        })?;
        logged += 1;
    }

    let mut indexed = 0u64;
    for tree in [Tree::Outgoing, Tree::Inbox] {
        for item in db.iter(tree) {
            let (key, _) = item?;
            let id = index_target(tree, &key)?;
            let Some(value) = db.get(Tree::Packages, id.as_bytes())? else {
                continue;
            };
            if encoding::check_blob(&value).is_err() {
                continue;
            }
            let Ok(package) =
                SignedPackage::from_wire(value.into_bytes_from(1), &EnvelopeLimits::default())
            else {
                warn!(package = %id.fmt_short(), "stored package does not read; not indexed");
                continue;
            };
            let references = match edxml::read(package.content().clone()) {
                Ok(parsed) => match parsed.message {
                    Message::Document(document) => edxml::document_references(&document),
                    Message::Status(_) => continue,
                },
                Err(error) => {
                    warn!(package = %id.fmt_short(), %error, "stored edXML does not read; not indexed");
                    continue;
                }
            };
            db.transaction("migrate 2 to 3: references", |tx| {
                for reference in &references {
                    tx.insert(
                        Tree::References,
                        &keys::reference(package.sender(), reference.as_str(), &id),
                        &[],
                    )?;
                }
                Ok(())
            })?;
            indexed += 1;
        }
    }

    let mut rejected = 0u64;
    for item in db.iter(Tree::Outbox) {
        let (key, value) = item?;
        let entry: OutboxEntry = encoding::read(Tree::Outbox, &key, &value)?;
        if entry.state == DeliveryState::Rejected {
            db.transaction("migrate 2 to 3: rejected", |tx| {
                tx.insert(Tree::OutboxRejected, &key, &[])
            })?;
            rejected += 1;
        }
    }

    db.transaction("migrate 2 to 3", |tx| {
        tx.insert(Tree::Meta, keys::SCHEMA_VERSION, &3u32.to_be_bytes())
    })?;
    info!(
        logged,
        indexed, rejected, "receipt log, references and rejected index built"
    );
    Ok(())
}
