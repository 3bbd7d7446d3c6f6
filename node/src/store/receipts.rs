//! Signed receipts: recorded once per receipt id, listed per package in the order recorded.

use tracing::debug;

use bytes::Bytes;
use lienthong_protocol::envelope::{
    EnvelopeLimits, PackageId, ReceiptFields, SignedReceipt, Timestamp,
};

use super::Store;
use super::encoding::{self, corrupt};
use super::engine::{Db, Tx, TxError, Value};
use super::error::{Corruption, InputProblem, StoreError};
use super::evidence::{self, ReceiptOrigin};
use super::keys::{self, Tree};
use super::outgoing::{Replace, replace_outbox_entry};
use super::records::{OutboxEntry, StoreCounts};
use super::shared_write::SharedWrite;

/// What [`Store::record_receipt`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum RecordOutcome {
    /// The receipt (and the outbox update, if any) is now stored.
    New,
    /// A receipt with this id was recorded before; it was not recorded again, and the
    /// outbox changed only if the update ended a delivery still pending.
    Duplicate,
}

impl Store {
    /// Records a receipt the caller has verified, and, in the same transaction, the outbox
    /// entry it moves (e.g. to `Delivered` on a receipt 01). Durable on return.
    ///
    /// Idempotent on the receipt id: a receipt seen before is not recorded again. Its
    /// `outbox_update` is still applied when it ends a delivery that is pending (a receipt
    /// 01 recorded by one path while the engine, on another, had just rescheduled the
    /// entry), never the other way: an entry that has ended is never made pending again.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] when `outbox_update` is for another package or
    /// recipient than the receipt; [`StoreError::UnknownOutboxEntry`] when it names no
    /// existing entry. Nothing is written in either case. Otherwise an engine or
    /// [`StoreError::Sync`] error.
    pub fn record_receipt(
        &self,
        receipt: &SignedReceipt,
        outbox_update: Option<&OutboxEntry>,
    ) -> Result<RecordOutcome, StoreError> {
        if let Some(update) = outbox_update {
            check_update(receipt, update)?;
        }
        // The same receipt reaches a sender by several paths (the delivery's answer, then
        // gossip and catch-ups): one it has, with nothing to move, needs no transaction,
        // only the sync that makes sure the recording it found is durable.
        if outbox_update.is_none()
            && self
                .db()
                .get(Tree::ReceiptIds, receipt.id().as_bytes())?
                .is_some()
        {
            self.sync()?;
            return Ok(RecordOutcome::Duplicate);
        }
        // A sender records the receipts 01 of every package it pushed at once: they share
        // one transaction and one sync (`shared_write.rs`).
        let outcome = self.write_shared(&self.inner.commit.receipts, || {
            ReceiptRecord::prepare(receipt, outbox_update)
        })?;
        debug!(
            receipt = %receipt.id().fmt_short(),
            package = %receipt.package_id().fmt_short(),
            code = %receipt.code(),
            ?outcome,
            "receipt recorded"
        );
        Ok(outcome)
    }

    /// Records several verified receipts that move no outbox entry (those a monitoring
    /// node keeps from a gossiped batch) in one transaction and one sync: one fsync per
    /// batch instead of one per receipt, so that a burst of gossip is taken as fast as it
    /// comes instead of overflowing the gossip queue. Durable on return; idempotent per
    /// receipt id, as [`record_receipt`](Self::record_receipt).
    ///
    /// # Errors
    /// An engine or [`StoreError::Sync`] error; then none of them is recorded.
    pub fn record_receipts(
        &self,
        receipts: &[SignedReceipt],
    ) -> Result<Vec<RecordOutcome>, StoreError> {
        if receipts.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<Vec<u8>> = receipts
            .iter()
            .map(|receipt| encoding::encode_blob(&receipt.to_wire()))
            .collect();
        let at = crate::clock::now();
        let outcomes = self.with_counts("record receipts", |tx, counts| {
            let mut outcomes = Vec::with_capacity(receipts.len());
            for (receipt, value) in receipts.iter().zip(&values) {
                if tx.get(Tree::ReceiptIds, receipt.id().as_bytes())?.is_some() {
                    outcomes.push(RecordOutcome::Duplicate);
                } else {
                    insert_receipt(tx, receipt, value, counts, ReceiptOrigin::Recorded, at)?;
                    outcomes.push(RecordOutcome::New);
                }
            }
            Ok(outcomes)
        })?;
        self.sync()?;
        debug!(receipts = receipts.len(), "receipts recorded");
        Ok(outcomes)
    }

    /// The receipts recorded about one package, in the order they were recorded, each read
    /// back and verified.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when a stored receipt no longer reads under the default
    /// [`EnvelopeLimits`]; [`StoreError::Read`].
    pub fn receipts(&self, package: &PackageId) -> Result<Vec<SignedReceipt>, StoreError> {
        let limits = EnvelopeLimits::default();
        self.db()
            .scan_prefix(Tree::Receipts, package.as_bytes())
            .map(|item| {
                let (key, value) = item?;
                read_receipt(&key, value, &limits)
            })
            .collect()
    }
}

impl Store {
    /// Every receipt statement this node holds, one package's after another (all of a
    /// package's statements come together, in the order recorded), for a monitoring node's
    /// overview of its province. Read without checking each signature again: every receipt
    /// was verified before it was recorded, and an overview reads a quarter's receipts, a
    /// few hundred thousand in a province, at once.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when a stored receipt no longer reads; [`StoreError::Read`].
    pub fn receipt_statements(
        &self,
        mut each: impl FnMut(ReceiptFields),
    ) -> Result<(), StoreError> {
        let limits = EnvelopeLimits::default();
        for item in self.db().iter(Tree::Receipts) {
            let (key, value) = item?;
            encoding::check_blob(&value)
                .map_err(|problem| corrupt(Tree::Receipts, &key, problem))?;
            let wire = value.into_bytes_from(1);
            let fields = SignedReceipt::peek_stored(&wire, &limits)
                .map_err(|source| corrupt(Tree::Receipts, &key, Corruption::Envelope { source }))?;
            each(fields);
        }
        Ok(())
    }
}

/// A verified receipt and the outbox entry it moves, ready to be applied inside a shared
/// transaction.
pub(super) struct ReceiptRecord {
    receipt: SignedReceipt,
    value: Vec<u8>,
    /// When it was recorded, for its evidence leaf.
    at: Timestamp,
    update: Option<(OutboxEntry, Vec<u8>)>,
}

impl ReceiptRecord {
    fn prepare(
        receipt: &SignedReceipt,
        outbox_update: Option<&OutboxEntry>,
    ) -> Result<ReceiptRecord, StoreError> {
        Ok(ReceiptRecord {
            receipt: receipt.clone(),
            value: encoding::encode_blob(&receipt.to_wire()),
            at: crate::clock::now(),
            update: outbox_update
                .map(|update| Ok((update.clone(), encoding::write("outbox entry", update)?)))
                .transpose()?,
        })
    }
}

impl SharedWrite for ReceiptRecord {
    type Output = RecordOutcome;
    const WHAT: &'static str = "record receipt";

    /// See [`Store::record_receipt`]: a receipt recorded before (by an earlier batch, or
    /// earlier in this one) only ends a pending delivery.
    fn apply(&self, tx: &Tx<'_>, counts: &mut StoreCounts) -> Result<RecordOutcome, TxError> {
        if tx
            .get(Tree::ReceiptIds, self.receipt.id().as_bytes())?
            .is_some()
        {
            if let Some((update, value)) = &self.update
                && !update.state.is_pending()
            {
                let _ = replace_outbox_entry(tx, update, value, counts, Replace::PendingOnly)?;
            }
            return Ok(RecordOutcome::Duplicate);
        }
        insert_receipt(
            tx,
            &self.receipt,
            &self.value,
            counts,
            ReceiptOrigin::Recorded,
            self.at,
        )?;
        if let Some((update, value)) = &self.update {
            let _ = replace_outbox_entry(tx, update, value, counts, Replace::Any)?;
        }
        Ok(RecordOutcome::New)
    }
}

/// Inside a transaction: stores a receipt (already encoded as `value`) under a fresh
/// sequence number unless its id is known, and returns its key in `receipts`. A receipt
/// stored now gets its evidence leaf, of `origin`'s kind, taken at `at`.
pub(super) fn insert_receipt(
    tx: &Tx<'_>,
    receipt: &SignedReceipt,
    value: &[u8],
    counts: &mut StoreCounts,
    origin: ReceiptOrigin,
    at: Timestamp,
) -> Result<[u8; keys::RECEIPT_KEY_LEN], TxError> {
    let id = receipt.id();
    if let Some(reference) = tx.get(Tree::ReceiptIds, id.as_bytes())? {
        return Ok(receipt_key(Tree::ReceiptIds, id.as_bytes(), &reference)?);
    }
    // sled runs transactions one at a time, so sequence numbers follow commit order.
    let key = keys::receipt(&receipt.package_id(), tx.generate_id()?);
    tx.insert(Tree::Receipts, &key, value)?;
    let reference = encoding::encode_blob(&key);
    tx.insert(Tree::ReceiptIds, id.as_bytes(), &reference)?;
    tx.insert(
        Tree::ReceiptLog,
        &keys::log_position(&key).to_be_bytes(),
        &reference,
    )?;
    counts.receipts += 1;
    evidence::append_receipt(tx, receipt, origin, at)?;
    Ok(key)
}

/// The receipt stored at `key` in `receipts`.
pub(super) fn receipt_at(
    db: &Db,
    key: &[u8],
    limits: &EnvelopeLimits,
) -> Result<Option<SignedReceipt>, StoreError> {
    db.get(Tree::Receipts, key)?
        .map(|value| read_receipt(key, value, limits))
        .transpose()
}

/// The statement of the receipt at `key` without its signature checked, and the
/// receipt's wire form: what a scan filters on before verifying, with
/// [`verify_stored`], only the receipts it keeps.
pub(super) fn statement_at(
    db: &Db,
    key: &[u8],
    limits: &EnvelopeLimits,
) -> Result<Option<(ReceiptFields, Bytes)>, StoreError> {
    let Some(value) = db.get(Tree::Receipts, key)? else {
        return Ok(None);
    };
    encoding::check_blob(&value).map_err(|problem| corrupt(Tree::Receipts, key, problem))?;
    let wire = value.into_bytes_from(1);
    let fields = SignedReceipt::peek_stored(&wire, limits)
        .map_err(|source| corrupt(Tree::Receipts, key, Corruption::Envelope { source }))?;
    Ok(Some((fields, wire)))
}

fn read_receipt(
    key: &[u8],
    value: Value,
    limits: &EnvelopeLimits,
) -> Result<SignedReceipt, StoreError> {
    encoding::check_blob(&value).map_err(|problem| corrupt(Tree::Receipts, key, problem))?;
    verify_stored(key, value.into_bytes_from(1), limits)
}

/// Reads the stored receipt `wire` (from `key`), its signature checked.
pub(super) fn verify_stored(
    key: &[u8],
    wire: Bytes,
    limits: &EnvelopeLimits,
) -> Result<SignedReceipt, StoreError> {
    SignedReceipt::from_wire(wire, limits)
        .map_err(|source| corrupt(Tree::Receipts, key, Corruption::Envelope { source }))
}

/// Reads a reference to a `receipts` key (a blob of [`keys::RECEIPT_KEY_LEN`] bytes) found
/// in `tree` at `key`.
pub(super) fn receipt_key(
    tree: Tree,
    key: &[u8],
    reference: &[u8],
) -> Result<[u8; keys::RECEIPT_KEY_LEN], StoreError> {
    encoding::check_blob(reference).map_err(|problem| corrupt(tree, key, problem))?;
    reference[1..].try_into().map_err(|_| {
        corrupt(
            tree,
            key,
            Corruption::Length {
                expected: keys::RECEIPT_KEY_LEN,
                found: reference.len() - 1,
            },
        )
    })
}

fn check_update(receipt: &SignedReceipt, update: &OutboxEntry) -> Result<(), StoreError> {
    let invalid = |problem| StoreError::InvalidInput {
        package_id: receipt.package_id(),
        problem,
    };
    if update.package_id != receipt.package_id() {
        return Err(invalid(InputProblem::PackageIdMismatch {
            record: "outbox update",
            found: update.package_id,
        }));
    }
    if update.recipient != *receipt.recipient() {
        return Err(invalid(InputProblem::RecipientMismatch {
            expected: receipt.recipient().clone(),
            found: update.recipient.clone(),
        }));
    }
    Ok(())
}
