//! Packages sent and received over a period, with what became of them: the records a
//! report (`crate::ops::report`) counts.
//!
//! Both reads walk a time index (`outgoing_by_time`, `inbox_by_time`) over the period only,
//! so a quarter's report costs that quarter's packages, not the whole history. Receipts come
//! back as [`ReceiptFact`]s: who, which code, when; the signatures were checked when the
//! receipts were recorded and are checked again as they are read.

use std::ops::Range;

use lienthong_protocol::envelope::{PackageId, SignedReceipt, Timestamp};
use lienthong_protocol::{OrganId, StatusCode};

use super::keys::{self, Tree};
use super::outgoing::{dangling, index_target};
use super::records::{InboxEntry, OutboxEntry, OutgoingPackage};
use super::{Store, StoreError};

/// One receipt, reduced to what a report counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptFact {
    /// The recipient the receipt is about: for every code but 13, the agency that made it.
    pub recipient: OrganId,
    /// The agency that signed it: the recipient, or the sender for 13.
    pub issuer: OrganId,
    /// The status code.
    pub code: StatusCode,
    /// When the issuer made the statement, by its clock.
    pub issued_at: Timestamp,
}

impl From<&SignedReceipt> for ReceiptFact {
    fn from(receipt: &SignedReceipt) -> Self {
        ReceiptFact {
            recipient: receipt.recipient().clone(),
            issuer: receipt.issuer().clone(),
            code: receipt.code(),
            issued_at: receipt.issued_at(),
        }
    }
}

/// A package this node sent, with each recipient's outbox entry and every receipt recorded
/// about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentPackage {
    /// What was sent, when.
    pub package: OutgoingPackage,
    /// One entry per recipient, ordered by recipient id.
    pub outbox: Vec<OutboxEntry>,
    /// The receipts recorded about it, in the order recorded.
    pub receipts: Vec<ReceiptFact>,
}

/// A package this node received, with the receipts its own agency issued about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedPackage {
    /// What arrived, from whom, when.
    pub entry: InboxEntry,
    /// The receipts this agency issued about it (its 01, then the statuses its QLVB
    /// posted), in the order recorded.
    pub receipts: Vec<ReceiptFact>,
}

impl Store {
    /// Every package this node sent (documents and status messages) with `submitted_at`
    /// in `period` (start included, end excluded), oldest first.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when an index entry points at nothing or a record does not
    /// decode; [`StoreError::Read`].
    pub fn sent_between(&self, period: Range<Timestamp>) -> Result<Vec<SentPackage>, StoreError> {
        self.ids_between(Tree::OutgoingByTime, &period)?
            .into_iter()
            .map(|(key, id)| {
                let package = self
                    .outgoing(&id)?
                    .ok_or_else(|| dangling(Tree::OutgoingByTime, &key, "outgoing package"))?;
                let mut receipts: Vec<ReceiptFact> =
                    self.receipts(&id)?.iter().map(ReceiptFact::from).collect();
                let outbox = self.outbox(&id)?;
                for entry in &outbox {
                    receipts.extend(self.axis_facts(&id, &entry.recipient)?);
                }
                Ok(SentPackage {
                    package,
                    outbox,
                    receipts,
                })
            })
            .collect()
    }

    /// The statuses an agency reached through the axis sent back about `id` (01 to 16,
    /// carried by the axis), as facts of that agency: the axis's word, no signature
    /// behind them, but the only word there is of an agency not yet on lienthong.
    fn axis_facts(
        &self,
        id: &PackageId,
        recipient: &OrganId,
    ) -> Result<Vec<ReceiptFact>, StoreError> {
        let Some(send) = self.axis_send(id, recipient)? else {
            return Ok(Vec::new());
        };
        Ok(send
            .reports
            .iter()
            .filter_map(|report| {
                let code = report.code()?;
                Some(ReceiptFact {
                    recipient: recipient.clone(),
                    issuer: recipient.clone(),
                    code,
                    issued_at: report.learned_at,
                })
            })
            .collect())
    }

    /// Every package this node received with `received_at` in `period` (start included,
    /// end excluded), oldest first, each with the receipts `agency` (this node's agency)
    /// issued about it. Receipts by others about the same package (a sender's 13, another
    /// recipient's statuses seen by a monitoring node) are left out.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when an index entry points at nothing or a record does not
    /// decode; [`StoreError::Read`].
    pub fn received_between(
        &self,
        period: Range<Timestamp>,
        agency: &OrganId,
    ) -> Result<Vec<ReceivedPackage>, StoreError> {
        self.ids_between(Tree::InboxByTime, &period)?
            .into_iter()
            .map(|(key, id)| {
                let entry = self
                    .inbox_entry(&id)?
                    .ok_or_else(|| dangling(Tree::InboxByTime, &key, "inbox entry"))?;
                let receipts = self
                    .receipts(&id)?
                    .iter()
                    .filter(|receipt| receipt.issuer() == agency)
                    .map(ReceiptFact::from)
                    .collect();
                Ok(ReceivedPackage { entry, receipts })
            })
            .collect()
    }

    /// The keys and package ids of a time index (`time ‖ package id`) within `period`.
    fn ids_between(
        &self,
        tree: Tree,
        period: &Range<Timestamp>,
    ) -> Result<Vec<(Vec<u8>, PackageId)>, StoreError> {
        let lowest = PackageId::from_bytes([0; 32]);
        let start = keys::by_time(period.start, &lowest);
        let end = keys::by_time(period.end, &lowest);
        let mut found = Vec::new();
        for item in self.db().range_from(tree, &start) {
            let (key, _) = item?;
            if key[..] >= end[..] {
                break;
            }
            let id = index_target(tree, &key)?;
            found.push((key.to_vec(), id));
        }
        Ok(found)
    }
}
