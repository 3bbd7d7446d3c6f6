//! Receipts in the order this node recorded them, for catching up ("receipts since") and
//! gossip; the receipts this agency issued that must still reach their addressee; and how
//! far this node has read each peer's log.
//!
//! A log position is the sequence number in the receipt's `receipts` key. sled runs
//! transactions one at a time, so positions grow in commit order and a reader that has seen
//! position `n` has seen everything below it.

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::{EnvelopeLimits, ReceiptFields, ReceiptId, SignedReceipt};

use super::encoding::{self, corrupt};
use super::error::{Corruption, StoreError};
use super::keys::{self, Tree};
use super::receipts::{receipt_at, receipt_key, statement_at, verify_stored};
use super::{Store, mailbox::addressee};

/// One page of the log for one agency.
#[derive(Debug, Clone)]
pub struct ReceiptPage {
    /// Receipts about packages the agency sent or received, in log order.
    pub receipts: Vec<SignedReceipt>,
    /// The position to ask from next time.
    pub next_cursor: u64,
    /// Whether the log goes on past `next_cursor`.
    pub more: bool,
}

impl Store {
    /// Receipts recorded after position `cursor`, in log order: at most `limit` of those
    /// `wanted` accepts. At most `scan_limit` log entries are read, so one call stays
    /// cheap whatever the log holds; `more` then says to ask again.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn receipts_since(
        &self,
        cursor: u64,
        wanted: impl Fn(&ReceiptFields) -> bool,
        limit: usize,
        scan_limit: usize,
    ) -> Result<ReceiptPage, StoreError> {
        let limits = EnvelopeLimits::default();
        let start = cursor.saturating_add(1).to_be_bytes();
        let mut page = ReceiptPage {
            receipts: Vec::new(),
            next_cursor: cursor,
            more: false,
        };
        for (scanned, item) in self.db().range_from(Tree::ReceiptLog, &start).enumerate() {
            let (key, value) = item?;
            if scanned >= scan_limit || page.receipts.len() >= limit {
                page.more = true;
                break;
            }
            let position = read_position(&key)?;
            let receipt_key = receipt_key(Tree::ReceiptLog, &key, &value)?;
            // What the scan passes over is not verified: only what it returns is.
            let (fields, wire) = statement_at(self.db(), &receipt_key, &limits)?
                .ok_or_else(|| super::outgoing::dangling(Tree::ReceiptLog, &key, "receipt"))?;
            page.next_cursor = position;
            if wanted(&fields) {
                page.receipts
                    .push(verify_stored(&receipt_key, wire, &limits)?);
            }
        }
        Ok(page)
    }

    /// The last position in the log, 0 when it is empty.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn receipt_log_end(&self) -> Result<u64, StoreError> {
        match self.db().iter(Tree::ReceiptLog).next_back() {
            Some(item) => read_position(&item?.0),
            None => Ok(0),
        }
    }

    /// How far this node has read `peer`'s log; 0 at first.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn sync_cursor(&self, peer: &OrganId) -> Result<u64, StoreError> {
        let key = peer.as_str().as_bytes();
        self.db()
            .get(Tree::SyncCursors, key)?
            .map_or(Ok(0), |value| read_u64(Tree::SyncCursors, key, &value))
    }

    /// Records how far this node has read `peer`'s log. The receipts read must be recorded
    /// (durably) before the cursor moves past them; the cursor itself is not flushed: one
    /// lost in a crash only makes the next catch-up read those receipts again, which are
    /// then known and change nothing. Every member is caught up with every interval, so a
    /// flush each would be an fsync per peer per interval.
    ///
    /// # Errors
    /// An engine error, or the store failed earlier.
    pub fn set_sync_cursor(&self, peer: &OrganId, cursor: u64) -> Result<(), StoreError> {
        let key = peer.as_str().as_bytes();
        self.db()
            .write_hint(Tree::SyncCursors, key, &cursor.to_be_bytes())
    }

    /// The agencies with receipts this node issued and has not yet handed over.
    ///
    /// # Errors
    /// [`StoreError::Read`].
    pub fn receipt_destinations(&self) -> Result<Vec<OrganId>, StoreError> {
        let mut destinations = Vec::new();
        let mut from = Vec::new();
        loop {
            let Some(item) = self.db().range_from(Tree::ReceiptOut, &from).next() else {
                return Ok(destinations);
            };
            let (key, _) = item?;
            let Some(agency) = keys::agency_of(&key) else {
                return Err(corrupt(
                    Tree::ReceiptOut,
                    &key,
                    Corruption::Missing {
                        what: "addressee agency id",
                    },
                ));
            };
            from = keys::after_prefix(&keys::receipt_out_prefix(&agency));
            destinations.push(agency);
        }
    }

    /// Up to `limit` receipts still to hand to `addressee`, in receipt id order.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn receipts_to_deliver(
        &self,
        addressee: &OrganId,
        limit: usize,
    ) -> Result<Vec<SignedReceipt>, StoreError> {
        let limits = EnvelopeLimits::default();
        self.db()
            .scan_prefix(Tree::ReceiptOut, &keys::receipt_out_prefix(addressee))
            .take(limit)
            .map(|item| {
                let (key, value) = item?;
                let receipt_key = receipt_key(Tree::ReceiptOut, &key, &value)?;
                receipt_at(self.db(), &receipt_key, &limits)?
                    .ok_or_else(|| super::outgoing::dangling(Tree::ReceiptOut, &key, "receipt"))
            })
            .collect()
    }

    /// Forgets receipts handed to `addressee` (it, or a relay for it, stored them).
    /// Durable on return.
    ///
    /// # Errors
    /// An engine or [`StoreError::Sync`] error.
    pub fn receipts_delivered(
        &self,
        addressee: &OrganId,
        receipts: &[ReceiptId],
    ) -> Result<(), StoreError> {
        if receipts.is_empty() {
            return Ok(());
        }
        self.db().transaction("receipts delivered", |tx| {
            for id in receipts {
                tx.remove(Tree::ReceiptOut, &keys::receipt_out(addressee, id))?;
            }
            Ok(())
        })?;
        self.sync()
    }
}

/// Inside a transaction: queues a receipt this node issued for its addressee.
pub(super) fn queue_delivery(
    tx: &super::Tx<'_>,
    receipt: &SignedReceipt,
    receipt_key: &[u8; keys::RECEIPT_KEY_LEN],
) -> Result<(), super::TxError> {
    tx.insert(
        Tree::ReceiptOut,
        &keys::receipt_out(addressee(receipt), &receipt.id()),
        &encoding::encode_blob(receipt_key),
    )
}

/// A `receipt_log` key's position.
pub(super) fn read_position(key: &[u8]) -> Result<u64, StoreError> {
    read_u64(Tree::ReceiptLog, key, key)
}

/// A big-endian `u64` stored bare (a key or a value), or a corruption naming where.
pub(super) fn read_u64(tree: Tree, key: &[u8], bytes: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = bytes.try_into().map_err(|_| {
        corrupt(
            tree,
            key,
            Corruption::Length {
                expected: 8,
                found: bytes.len(),
            },
        )
    })?;
    Ok(u64::from_be_bytes(bytes))
}
