//! What QLVB has still to collect through the axis-compatible API: receipts addressed to
//! this agency, until QLVB acknowledges them (`updateStatus done`).
//!
//! # How it stays cheap
//!
//! The feed rides on the receipt log (`receipt_log.rs`), which already lists every receipt
//! in recording order. On top of it the store keeps, per agency (a node serves one, but a
//! feed must never be moved by a listing for another), a **low-water mark**, a log position
//! at or below which every receipt is either collected or not addressed to the agency, and
//! the positions **above** the mark that its QLVB collected (`feed_collected`). Listing reads
//! the log from the mark on; every call that meets a settled stretch right after the mark
//! moves the mark over it and forgets the collected positions it passes. So as long as QLVB
//! keeps up, both the scan and the tree stay as short as what is pending.
//!
//! # Why the mark may be computed outside a transaction
//!
//! Everything the mark passes over is settled for good: the log only grows, and a reader
//! that has seen position `n` has seen every position below it (sled commits transactions
//! one at a time, see `receipt_log.rs`); a receipt's addressee never changes; a collected
//! position stays collected. A mark computed from a read is therefore still right when it is
//! written, and the write only ever raises it.

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::{EnvelopeLimits, ReceiptId, SignedReceipt, Timestamp};
use tracing::debug;

use super::error::StoreError;
use super::keys::{self, Tree};
use super::outgoing::{dangling, index_target};
use super::receipt_log::{read_position, read_u64};
use super::receipts::{receipt_at, receipt_key};
use super::records::InboxEntry;
use super::{Store, mailbox::addressee};

/// A receipt QLVB has still to collect, and its place in the receipt log.
#[derive(Debug, Clone)]
pub struct FeedItem {
    /// Its position in the receipt log: the order QLVB sees the items in.
    pub position: u64,
    /// The receipt.
    pub receipt: SignedReceipt,
}

/// One listing of the feed.
#[derive(Debug, Clone)]
pub struct FeedPage {
    /// Receipts addressed to the agency and not collected, in log order.
    pub items: Vec<FeedItem>,
    /// Whether the log goes on past what was read (a limit was reached).
    pub more: bool,
}

/// What [`Store::collect_receipt`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum CollectOutcome {
    /// The receipt is now collected.
    Collected,
    /// It had been collected before; nothing changed.
    AlreadyCollected,
    /// The receipt exists but is addressed to another agency; nothing changed.
    NotAddressed,
    /// No receipt with this id was recorded.
    Unknown,
}

impl Store {
    /// The receipts addressed to `agency` that QLVB has not collected, oldest first: at most
    /// `limit` of them, reading at most `scan_limit` log entries; `more` then says that
    /// there may be others.
    ///
    /// When the log right after the low-water mark is settled (collected, or addressed to
    /// someone else), the mark moves over it, durably, so the next listing starts past it.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`], or an engine or [`StoreError::Sync`]
    /// error while moving the mark.
    pub fn uncollected_receipts(
        &self,
        agency: &OrganId,
        limit: usize,
        scan_limit: usize,
    ) -> Result<FeedPage, StoreError> {
        let scan = self.scan_feed(agency, limit, scan_limit)?;
        self.raise_low_water(agency, scan.settled_to, &scan.settled_collected)?;
        Ok(FeedPage {
            items: scan.items,
            more: scan.more,
        })
    }

    /// The receipt recorded under `id`, and its log position.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn receipt_by_id(&self, id: &ReceiptId) -> Result<Option<FeedItem>, StoreError> {
        let Some(reference) = self.db().get(Tree::ReceiptIds, id.as_bytes())? else {
            return Ok(None);
        };
        let key = receipt_key(Tree::ReceiptIds, id.as_bytes(), &reference)?;
        let receipt = receipt_at(self.db(), &key, &EnvelopeLimits::default())?
            .ok_or_else(|| dangling(Tree::ReceiptIds, id.as_bytes(), "receipt"))?;
        Ok(Some(FeedItem {
            position: keys::log_position(&key),
            receipt,
        }))
    }

    /// Whether QLVB has collected the receipt at log `position`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn is_collected(&self, agency: &OrganId, position: u64) -> Result<bool, StoreError> {
        Ok(position <= self.low_water(agency)?
            || self
                .db()
                .get(Tree::FeedCollected, &keys::feed_collected(agency, position))?
                .is_some())
    }

    /// Marks the receipt `id`, addressed to `agency`, as collected by QLVB, durably: it is
    /// not listed by [`Store::uncollected_receipts`] any more. Idempotent.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], or an engine or [`StoreError::Sync`] error: do not tell
    /// QLVB the acknowledgement was taken.
    pub fn collect_receipt(
        &self,
        agency: &OrganId,
        id: &ReceiptId,
    ) -> Result<CollectOutcome, StoreError> {
        let Some(item) = self.receipt_by_id(id)? else {
            return Ok(CollectOutcome::Unknown);
        };
        if addressee(&item.receipt) != agency {
            return Ok(CollectOutcome::NotAddressed);
        }
        let position = keys::feed_collected(agency, item.position);
        let mark_key = keys::feed_low_water(agency);
        let outcome = self.db().transaction("collect receipt", |tx| {
            let mark = match tx.get(Tree::Meta, &mark_key)? {
                Some(value) => read_mark(&mark_key, &value)?,
                None => 0,
            };
            if item.position <= mark || tx.get(Tree::FeedCollected, &position)?.is_some() {
                return Ok(CollectOutcome::AlreadyCollected);
            }
            tx.insert(Tree::FeedCollected, &position, &[])?;
            Ok(CollectOutcome::Collected)
        })?;
        // Also for an earlier collection: its answer may rest on a write not yet synced.
        self.sync()?;
        debug!(receipt = %id.fmt_short(), ?outcome, "receipt collected");
        // Move the mark over what is now settled; a few entries in the usual case.
        let scan = self.scan_feed(agency, 0, COLLECT_SCAN_LIMIT)?;
        self.raise_low_water(agency, scan.settled_to, &scan.settled_collected)?;
        Ok(outcome)
    }

    /// Inbox entries (acknowledged or not) received at or after `since`, oldest first, at
    /// most `limit`: where a status message sent along with a receipt is looked for.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn inbox_received_since(
        &self,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<InboxEntry>, StoreError> {
        let start = keys::by_time(since, &lienthong_protocol::PackageId::from_bytes([0; 32]));
        let mut entries = Vec::new();
        for item in self.db().range_from(Tree::InboxByTime, &start).take(limit) {
            let (key, _) = item?;
            let id = index_target(Tree::InboxByTime, &key)?;
            let entry = self
                .inbox_entry(&id)?
                .ok_or_else(|| dangling(Tree::InboxByTime, &key, "inbox entry"))?;
            entries.push(entry);
        }
        Ok(entries)
    }

    /// The agency's low-water mark; 0 when it was never moved.
    fn low_water(&self, agency: &OrganId) -> Result<u64, StoreError> {
        let key = keys::feed_low_water(agency);
        match self.db().get(Tree::Meta, &key)? {
            Some(value) => read_mark(&key, &value),
            None => Ok(0),
        }
    }

    /// Reads the log from the mark on: the items to list, and how far the log is settled.
    fn scan_feed(
        &self,
        agency: &OrganId,
        limit: usize,
        scan_limit: usize,
    ) -> Result<FeedScan, StoreError> {
        let limits = EnvelopeLimits::default();
        let mark = self.low_water(agency)?;
        let mut scan = FeedScan {
            items: Vec::new(),
            more: false,
            settled_to: mark,
            settled_collected: Vec::new(),
        };
        let mut settling = true;
        let start = mark.saturating_add(1).to_be_bytes();
        for (scanned, entry) in self.db().range_from(Tree::ReceiptLog, &start).enumerate() {
            if scanned >= scan_limit || (!settling && scan.items.len() >= limit) {
                scan.more = true;
                break;
            }
            let (key, value) = entry?;
            let position = read_position(&key)?;
            let receipt_key = receipt_key(Tree::ReceiptLog, &key, &value)?;
            let receipt = receipt_at(self.db(), &receipt_key, &limits)?
                .ok_or_else(|| dangling(Tree::ReceiptLog, &key, "receipt"))?;
            let pending = if addressee(&receipt) != agency {
                false
            } else if self
                .db()
                .get(Tree::FeedCollected, &keys::feed_collected(agency, position))?
                .is_some()
            {
                if settling {
                    scan.settled_collected.push(position);
                }
                false
            } else {
                true
            };
            if pending {
                settling = false;
                if scan.items.len() < limit {
                    scan.items.push(FeedItem { position, receipt });
                }
            } else if settling {
                scan.settled_to = position;
            }
        }
        Ok(scan)
    }

    /// Raises the mark to `to` (never lowers it) and forgets the collected positions it
    /// passed. Durable on return; does nothing when the mark is already there.
    fn raise_low_water(&self, agency: &OrganId, to: u64, passed: &[u64]) -> Result<(), StoreError> {
        if to <= self.low_water(agency)? {
            return Ok(());
        }
        let mark_key = keys::feed_low_water(agency);
        self.db().transaction("raise feed low-water mark", |tx| {
            let current = match tx.get(Tree::Meta, &mark_key)? {
                Some(value) => read_mark(&mark_key, &value)?,
                None => 0,
            };
            if to > current {
                tx.insert(Tree::Meta, &mark_key, &to.to_be_bytes())?;
            }
            for position in passed.iter().filter(|p| **p <= to) {
                tx.remove(
                    Tree::FeedCollected,
                    &keys::feed_collected(agency, *position),
                )?;
            }
            Ok(())
        })?;
        self.sync()?;
        debug!(
            mark = to,
            forgotten = passed.len(),
            "feed low-water mark raised"
        );
        Ok(())
    }
}

/// Log entries one collection reads while moving the mark; what is left is moved over by
/// the next listing or collection.
const COLLECT_SCAN_LIMIT: usize = 4096;

/// What one read of the log found.
struct FeedScan {
    items: Vec<FeedItem>,
    more: bool,
    /// The last position of the settled stretch right after the mark.
    settled_to: u64,
    /// Collected positions inside that stretch.
    settled_collected: Vec<u64>,
}

fn read_mark(key: &[u8], value: &[u8]) -> Result<u64, StoreError> {
    read_u64(Tree::Meta, key, value)
}
