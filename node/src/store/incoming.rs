//! The receiving side: packages this node accepted, and the inbox QLVB reads.

use bytes::Bytes;
use tracing::debug;

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::{
    EnvelopeLimits, PackageId, SignedPackage, SignedReceipt, Timestamp,
};

use super::encoding;
use super::engine::{Tx, TxError};
use super::error::{InputProblem, StoreError};
use super::evidence::{self, ReceiptOrigin};
use super::evidence_leaf::{EvidenceLeaf, Fact};
use super::keys::{self, Tree};
use super::outgoing::{dangling, index_target};
use super::packages::StagedPackage;
use super::receipts::{insert_receipt, receipt_at, receipt_key};
use super::records::{InboxEntry, StoreCounts};
use super::references::{PackageIndex, insert_index};
use super::shared_write::SharedWrite;
use super::{Store, load_counts, save_counts};

/// What [`Store::accept_incoming`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[allow(
    clippy::large_enum_variant,
    reason = "returned once per call and matched at once, never kept in bulk"
)]
pub enum IncomingOutcome {
    /// The package, its inbox entry and the receipt are now stored; answer with the
    /// receipt passed in.
    Stored,
    /// This package was accepted before; nothing changed. Answer with this receipt, the one
    /// stored then, so that the sender gets the same answer every time.
    Duplicate(SignedReceipt),
}

/// What [`Store::ack`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum AckOutcome {
    /// The entry is now acknowledged.
    Acked,
    /// The entry was acknowledged before; nothing changed.
    AlreadyAcked,
    /// No package with this id was accepted.
    Unknown,
}

/// What an acceptance found: nothing before, or a package accepted before and the key of
/// its arrival receipt.
pub(super) enum Accepted {
    New,
    Before(Vec<u8>),
}

impl Store {
    /// Accepts a package from a peer: stores its bytes, its inbox entry and `receipt`, this
    /// node's own receipt (normally code 01, "arrived") that answers the sender, in one
    /// transaction, durable on return. Only then may the receipt be sent.
    ///
    /// If the package id was accepted before, nothing changes and the receipt stored then
    /// comes back as [`IncomingOutcome::Duplicate`], so a resend gets the same answer.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] when `entry` or `receipt` is about another package;
    /// nothing is written. Otherwise an engine or [`StoreError::Sync`] error: do not answer
    /// the sender.
    pub fn accept_incoming(
        &self,
        package: &SignedPackage,
        entry: &InboxEntry,
        receipt: &SignedReceipt,
    ) -> Result<IncomingOutcome, StoreError> {
        self.accept_incoming_indexed(package, entry, receipt, &PackageIndex::default())
    }

    /// [`Store::accept_incoming`], also indexing the package under its document references
    /// and links, in the same transaction.
    ///
    /// # Errors
    /// As [`Store::accept_incoming`].
    pub fn accept_incoming_indexed(
        &self,
        package: &SignedPackage,
        entry: &InboxEntry,
        receipt: &SignedReceipt,
        index: &PackageIndex,
    ) -> Result<IncomingOutcome, StoreError> {
        let id = package.id();
        check_acceptance(&id, entry, receipt)?;

        let staged = self.stage(package)?;
        let result = self.accept_staged(package, &staged, entry, receipt, index);
        self.unstage(&id, &staged);
        result
    }

    fn accept_staged(
        &self,
        package: &SignedPackage,
        staged: &StagedPackage,
        entry: &InboxEntry,
        receipt: &SignedReceipt,
        index: &PackageIndex,
    ) -> Result<IncomingOutcome, StoreError> {
        let id = package.id();
        // A sender pushes up to `delivery.concurrency` packages at once: their acceptances
        // share one transaction and one sync (`shared_write.rs`).
        let accepted = self.write_shared(&self.inner.commit.acceptances, || {
            Acceptance::prepare(package, staged, entry, receipt, index)
        })?;

        let outcome = match accepted {
            Accepted::New => IncomingOutcome::Stored,
            Accepted::Before(reference) => {
                IncomingOutcome::Duplicate(self.arrival_receipt(&id, &reference)?)
            }
        };
        debug!(
            package = %id.fmt_short(),
            from = %entry.from,
            duplicate = matches!(outcome, IncomingOutcome::Duplicate(_)),
            "incoming package accepted"
        );
        Ok(outcome)
    }

    /// Inbox entries, oldest first: only those QLVB has not acknowledged yet, or all.
    ///
    /// Each entry is read on its own, so a concurrent [`Store::ack`] may or may not show.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn inbox(&self, include_acked: bool) -> Result<Vec<InboxEntry>, StoreError> {
        let index = if include_acked {
            Tree::InboxByTime
        } else {
            Tree::InboxUnacked
        };
        let mut entries = Vec::new();
        for item in self.db().iter(index) {
            let (key, _) = item?;
            let id = index_target(index, &key)?;
            let entry = self
                .inbox_entry(&id)?
                .ok_or_else(|| dangling(index, &key, "inbox entry"))?;
            entries.push(entry);
        }
        Ok(entries)
    }

    /// The newest `limit` received packages, newest first, with how many the inbox holds in
    /// all (acknowledged or not): what a dashboard shows without reading every entry.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn newest_inbox(&self, limit: usize) -> Result<(Vec<InboxEntry>, usize), StoreError> {
        let index = Tree::InboxByTime;
        let mut entries = Vec::with_capacity(limit.min(1024));
        for item in self.db().iter(index).rev().take(limit) {
            let (key, _) = item?;
            let id = index_target(index, &key)?;
            let entry = self
                .inbox_entry(&id)?
                .ok_or_else(|| dangling(index, &key, "inbox entry"))?;
            entries.push(entry);
        }
        // Keys only: the index's values are empty.
        Ok((entries, self.db().len(index)))
    }

    /// The inbox entry of one accepted package.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn inbox_entry(&self, id: &PackageId) -> Result<Option<InboxEntry>, StoreError> {
        self.db()
            .get(Tree::Inbox, id.as_bytes())?
            .map(|value| encoding::read(Tree::Inbox, id.as_bytes(), &value))
            .transpose()
    }

    /// Marks an accepted package as fetched and acknowledged by QLVB at `at`, durably.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], or an engine or [`StoreError::Sync`] error: do not tell
    /// QLVB the acknowledgement was taken.
    pub fn ack(&self, id: &PackageId, at: Timestamp) -> Result<AckOutcome, StoreError> {
        let outcome = self.db().transaction("ack", |tx| {
            let Some(value) = tx.get(Tree::Inbox, id.as_bytes())? else {
                return Ok(AckOutcome::Unknown);
            };
            let mut entry: InboxEntry = encoding::read(Tree::Inbox, id.as_bytes(), &value)?;
            if entry.acked_at.is_some() {
                return Ok(AckOutcome::AlreadyAcked);
            }
            entry.acked_at = Some(at);
            tx.insert(
                Tree::Inbox,
                id.as_bytes(),
                &encoding::write("inbox entry", &entry)?,
            )?;
            tx.remove(Tree::InboxUnacked, &keys::by_time(entry.received_at, id))?;
            let mut counts = load_counts(tx)?;
            counts.inbox_unacked = counts.inbox_unacked.saturating_sub(1);
            save_counts(tx, &counts)?;
            Ok(AckOutcome::Acked)
        })?;
        // An unknown id changed nothing and promises nothing; anything else may rest on
        // an earlier, not yet synced, accept or ack.
        if outcome != AckOutcome::Unknown {
            self.sync()?;
        }
        debug!(package = %id.fmt_short(), ?outcome, "inbox entry acknowledged");
        Ok(outcome)
    }

    /// Reads the receipt an arrival reference points to.
    fn arrival_receipt(
        &self,
        id: &PackageId,
        reference: &[u8],
    ) -> Result<SignedReceipt, StoreError> {
        let key = receipt_key(Tree::Arrivals, id.as_bytes(), reference)?;
        receipt_at(self.db(), &key, &EnvelopeLimits::default())?
            .ok_or_else(|| dangling(Tree::Arrivals, id.as_bytes(), "arrival receipt"))
    }
}

/// One package accepted from a peer, ready to be applied inside a shared transaction.
pub(super) struct Acceptance {
    id: PackageId,
    sender: OrganId,
    /// The `packages` value (see `packages.rs`).
    wire: Bytes,
    entry_value: Vec<u8>,
    by_time: [u8; 40],
    unacked: bool,
    index: PackageIndex,
    receipt: SignedReceipt,
    receipt_value: Vec<u8>,
    /// The package's evidence leaf.
    leaf: EvidenceLeaf,
    received_at: Timestamp,
}

impl Acceptance {
    fn prepare(
        package: &SignedPackage,
        staged: &StagedPackage,
        entry: &InboxEntry,
        receipt: &SignedReceipt,
        index: &PackageIndex,
    ) -> Result<Acceptance, StoreError> {
        let id = package.id();
        Ok(Acceptance {
            id,
            sender: package.sender().clone(),
            wire: staged.value.clone(),
            entry_value: encoding::write("inbox entry", entry)?,
            by_time: keys::by_time(entry.received_at, &id),
            unacked: entry.acked_at.is_none(),
            index: index.clone(),
            receipt: receipt.clone(),
            receipt_value: encoding::encode_blob(&receipt.to_wire()),
            leaf: EvidenceLeaf::new(
                entry.received_at,
                Fact::PackageReceived {
                    package: id,
                    content_sha256: *package.content_sha256(),
                },
            ),
            received_at: entry.received_at,
        })
    }
}

impl SharedWrite for Acceptance {
    type Output = Accepted;
    const WHAT: &'static str = "accept incoming";

    /// Stores the package, its inbox entry and its arrival receipt, unless the package was
    /// accepted before (by an earlier batch, or earlier in this one).
    fn apply(&self, tx: &Tx<'_>, counts: &mut StoreCounts) -> Result<Accepted, TxError> {
        let id = self.id.as_bytes();
        if tx.get(Tree::Inbox, id)?.is_some() {
            let reference = tx
                .get(Tree::Arrivals, id)?
                .ok_or_else(|| dangling(Tree::Arrivals, id, "arrival receipt"))?;
            return Ok(Accepted::Before(reference.to_vec()));
        }
        if tx.get(Tree::Packages, id)?.is_none() {
            tx.insert(Tree::Packages, id, &self.wire)?;
        }
        tx.insert(Tree::Inbox, id, &self.entry_value)?;
        tx.insert(Tree::InboxByTime, &self.by_time, &[])?;
        insert_index(tx, &self.sender, &self.id, &self.index)?;
        if self.unacked {
            tx.insert(Tree::InboxUnacked, &self.by_time, &[])?;
            counts.inbox_unacked += 1;
        }
        // The package's leaf, then the leaf of the receipt 01 that answers it.
        evidence::append(tx, &self.leaf)?;
        let receipt_key = insert_receipt(
            tx,
            &self.receipt,
            &self.receipt_value,
            counts,
            ReceiptOrigin::SignedHere,
            self.received_at,
        )?;
        tx.insert(Tree::Arrivals, id, &encoding::encode_blob(&receipt_key))?;
        Ok(Accepted::New)
    }
}

fn check_acceptance(
    id: &PackageId,
    entry: &InboxEntry,
    receipt: &SignedReceipt,
) -> Result<(), StoreError> {
    let mismatch = |record, found| StoreError::InvalidInput {
        package_id: *id,
        problem: InputProblem::PackageIdMismatch { record, found },
    };
    if entry.package_id != *id {
        return Err(mismatch("inbox entry", entry.package_id));
    }
    if receipt.package_id() != *id {
        return Err(mismatch("receipt", receipt.package_id()));
    }
    Ok(())
}
