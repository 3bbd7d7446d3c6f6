//! The sending side: packages this node submitted, and their outbox.

use std::collections::HashSet;

use bytes::Bytes;
use tracing::debug;

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::{MAX_DOCUMENT_ID_LEN, PackageId, SignedPackage, SignedReceipt};

use super::Store;
use super::encoding::{self, corrupt};
use super::engine::{Tx, TxError};
use super::error::{Corruption, InputProblem, StoreError};
use super::evidence::{self, ReceiptOrigin};
use super::evidence_leaf::{EvidenceLeaf, Fact};
use super::keys::{self, Tree};
use super::packages::StagedPackage;
use super::receipt_log::queue_delivery;
use super::receipts::insert_receipt;
use super::records::{DeliveryState, OutboxEntry, OutgoingPackage, StoreCounts};
use super::references::{PackageIndex, insert_index};
use super::shared_write::SharedWrite;

/// What [`Store::submit`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum SubmitOutcome {
    /// The package, its metadata and its outbox are now stored.
    Stored,
    /// A package with this id was submitted before; nothing changed.
    AlreadyStored,
    /// The sender's package with the same edXML bytes is stored under this other id (a
    /// resubmission that raced the first); nothing changed. Answer with that package.
    SameContent(PackageId),
}

impl Store {
    /// Stores a package this node sends: its wire bytes, its metadata, one outbox entry per
    /// recipient, its entry in the `(sender, content) → package` index and, when the
    /// metadata has a document id, one in the `(sender, document id) → packages` index.
    /// All in one transaction, durable on return.
    ///
    /// Idempotent on the package id: a second submit of the same id changes nothing (even
    /// if its metadata or entries differ) and answers [`SubmitOutcome::AlreadyStored`].
    /// Idempotent on the content too: a package whose sender has already stored one with
    /// the same edXML bytes changes nothing and answers [`SubmitOutcome::SameContent`].
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] when `meta` or an entry is for another package, an
    /// entry names an agency the package is not addressed to or names one twice, or the
    /// document id is longer than [`MAX_DOCUMENT_ID_LEN`]; nothing is written. Otherwise
    /// an engine or [`StoreError::Sync`] error: do not acknowledge.
    pub fn submit(
        &self,
        package: &SignedPackage,
        meta: &OutgoingPackage,
        entries: &[OutboxEntry],
    ) -> Result<SubmitOutcome, StoreError> {
        self.submit_indexed(package, meta, entries, &PackageIndex::default(), None)
    }

    /// [`Store::submit`], also indexing the package under its document references and
    /// links (`index`) and, for a status message, recording `issued`, the receipt this
    /// agency signs for it, and queueing that receipt for its addressee: all in the same
    /// transaction, so a status QLVB was told is accepted always has its receipt.
    ///
    /// # Errors
    /// As [`Store::submit`].
    pub fn submit_indexed(
        &self,
        package: &SignedPackage,
        meta: &OutgoingPackage,
        entries: &[OutboxEntry],
        index: &PackageIndex,
        issued: Option<&SignedReceipt>,
    ) -> Result<SubmitOutcome, StoreError> {
        check_submission(package, meta, entries)?;
        let staged = self.stage(package)?;
        let result = self.submit_staged(package, &staged, meta, entries, index, issued);
        self.unstage(&package.id(), &staged);
        result
    }

    fn submit_staged(
        &self,
        package: &SignedPackage,
        staged: &StagedPackage,
        meta: &OutgoingPackage,
        entries: &[OutboxEntry],
        index: &PackageIndex,
        issued: Option<&SignedReceipt>,
    ) -> Result<SubmitOutcome, StoreError> {
        // Concurrent submissions share one transaction and one sync (`shared_write.rs`).
        let outcome = self.write_shared(&self.inner.commit.submissions, || {
            Submission::prepare(package, staged.value.clone(), meta, entries, index, issued)
        })?;
        debug!(package = %package.id().fmt_short(), recipients = entries.len(), ?outcome, "package submitted");
        Ok(outcome)
    }

    /// Metadata of a package this node sent.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn outgoing(&self, id: &PackageId) -> Result<Option<OutgoingPackage>, StoreError> {
        self.db()
            .get(Tree::Outgoing, id.as_bytes())?
            .map(|value| encoding::read(Tree::Outgoing, id.as_bytes(), &value))
            .transpose()
    }

    /// Up to `limit` packages this node sent, newest submission first.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn list_outgoing(&self, limit: usize) -> Result<Vec<OutgoingPackage>, StoreError> {
        let mut packages = Vec::with_capacity(limit.min(1024));
        for item in self.db().iter(Tree::OutgoingByTime).rev().take(limit) {
            let (key, _) = item?;
            let id = index_target(Tree::OutgoingByTime, &key)?;
            let package = self
                .outgoing(&id)?
                .ok_or_else(|| dangling(Tree::OutgoingByTime, &key, "outgoing package"))?;
            packages.push(package);
        }
        Ok(packages)
    }

    /// Every outbox entry of one package: one per recipient, ordered by recipient id.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn outbox(&self, id: &PackageId) -> Result<Vec<OutboxEntry>, StoreError> {
        self.db()
            .scan_prefix(Tree::Outbox, id.as_bytes())
            .map(|item| {
                let (key, value) = item?;
                encoding::read(Tree::Outbox, &key, &value)
            })
            .collect()
    }

    /// The outbox entry of one recipient of one package: what a delivery attempt reads,
    /// one lookup instead of a scan of every recipient's.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn outbox_entry(
        &self,
        id: &PackageId,
        recipient: &OrganId,
    ) -> Result<Option<OutboxEntry>, StoreError> {
        let key = keys::outbox(id, recipient);
        self.db()
            .get(Tree::Outbox, &key)?
            .map(|value| encoding::read(Tree::Outbox, &key, &value))
            .transpose()
    }

    /// Every outbox entry still queued, sending or held at a relay: what a restarted node
    /// must resume. Read from an index, so it costs what is pending, not the whole history.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn pending_outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut entries = Vec::new();
        for item in self.db().iter(Tree::OutboxPending) {
            let (key, _) = item?;
            let value = self
                .db()
                .get(Tree::Outbox, &key)?
                .ok_or_else(|| dangling(Tree::OutboxPending, &key, "outbox entry"))?;
            entries.push(encoding::read(Tree::Outbox, &key, &value)?);
        }
        Ok(entries)
    }

    /// Every outbox entry refused by its recipient (receipt 02), from an index.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn rejected_outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut entries = Vec::new();
        for item in self.db().iter(Tree::OutboxRejected) {
            let (key, _) = item?;
            let value = self
                .db()
                .get(Tree::Outbox, &key)?
                .ok_or_else(|| dangling(Tree::OutboxRejected, &key, "outbox entry"))?;
            entries.push(encoding::read(Tree::Outbox, &key, &value)?);
        }
        Ok(entries)
    }

    /// Replaces the outbox entry for `(entry.package_id, entry.recipient)`, durably, unless
    /// the stored entry is already delivered or rejected and the update would make it
    /// pending again.
    ///
    /// The delivery engine writes what it read before an attempt that can take seconds;
    /// meanwhile the recipient's receipt 01 (or 02) may have arrived by another path and
    /// ended the delivery. A late "retry later" must not undo that, or the entry would be
    /// retried for ever against a receipt already recorded.
    ///
    /// # Errors
    /// [`StoreError::UnknownOutboxEntry`] when there is no such entry: outbox entries are
    /// only created by [`Store::submit`], never by an update. Nothing is written then.
    pub fn update_outbox(&self, entry: &OutboxEntry) -> Result<OutboxUpdate, StoreError> {
        let value = encoding::write("outbox entry", entry)?;
        let outcome = self.with_counts("update outbox", |tx, counts| {
            replace_outbox_entry(tx, entry, &value, counts, Replace::Any)
        })?;
        self.sync()?;
        debug!(
            package = %entry.package_id.fmt_short(),
            recipient = %entry.recipient,
            state = ?entry.state,
            ?outcome,
            "outbox entry updated"
        );
        Ok(outcome)
    }

    /// The package `sender` sent with exactly the edXML bytes whose SHA-256 is `sha256`,
    /// if it was submitted since content was indexed (older packages are found by
    /// [`Store::packages_for_document`] only).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn sent_with_content(
        &self,
        sender: &OrganId,
        sha256: &[u8; 32],
    ) -> Result<Option<PackageId>, StoreError> {
        let key = keys::content(sender, sha256);
        self.db()
            .get(Tree::Documents, &key)?
            .map(|value| content_target(&key, &value))
            .transpose()
    }

    /// The packages `sender` sent for the edXML document `document_id`, oldest submission
    /// first: the original and any resends.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn packages_for_document(
        &self,
        sender: &OrganId,
        document_id: &str,
    ) -> Result<Vec<PackageId>, StoreError> {
        let prefix = keys::document_prefix(sender, document_id);
        self.db()
            .scan_prefix(Tree::Documents, &prefix)
            .map(|item| {
                let (key, _) = item?;
                index_target(Tree::Documents, &key)
            })
            .collect()
    }
}

/// A submission ready for a shared transaction: everything encoded up front, since the
/// transaction body may run more than once.
pub(super) struct Submission {
    id: PackageId,
    sender: OrganId,
    /// The `packages` value (see `packages.rs`).
    wire: Bytes,
    meta_value: Vec<u8>,
    by_time: [u8; 40],
    /// Key, value, and whether the entry is pending.
    outbox: Vec<(Vec<u8>, Vec<u8>, bool)>,
    pending: u64,
    /// `documents`: the key of this sender's package with these bytes.
    content_key: Vec<u8>,
    document_key: Option<Vec<u8>>,
    index: PackageIndex,
    issued: Option<(SignedReceipt, Vec<u8>)>,
    /// The package's evidence leaf.
    leaf: EvidenceLeaf,
}

impl Submission {
    fn prepare(
        package: &SignedPackage,
        wire: Bytes,
        meta: &OutgoingPackage,
        entries: &[OutboxEntry],
        index: &PackageIndex,
        issued: Option<&SignedReceipt>,
    ) -> Result<Submission, StoreError> {
        let id = package.id();
        let outbox = entries
            .iter()
            .map(|entry| {
                let key = keys::outbox(&id, &entry.recipient);
                let value = encoding::write("outbox entry", entry)?;
                Ok((key, value, entry.state.is_pending()))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Submission {
            id,
            sender: package.sender().clone(),
            wire,
            meta_value: encoding::write("outgoing package", meta)?,
            by_time: keys::by_time(meta.submitted_at, &id),
            pending: outbox.iter().filter(|(_, _, pending)| *pending).count() as u64,
            outbox,
            content_key: keys::content(package.sender(), package.content_sha256()),
            document_key: meta
                .document_id
                .as_deref()
                .map(|document| keys::document(package.sender(), document, meta.submitted_at, &id)),
            index: index.clone(),
            issued: issued
                .map(|receipt| (receipt.clone(), encoding::encode_blob(&receipt.to_wire()))),
            leaf: EvidenceLeaf::new(
                meta.submitted_at,
                Fact::PackageSubmitted {
                    package: id,
                    content_sha256: *package.content_sha256(),
                },
            ),
        })
    }
}

impl SharedWrite for Submission {
    type Output = SubmitOutcome;
    const WHAT: &'static str = "submit";

    /// Stores this submission unless its package id is stored already, counting it in
    /// `counts`.
    fn apply(&self, tx: &Tx<'_>, counts: &mut StoreCounts) -> Result<SubmitOutcome, TxError> {
        let id = self.id.as_bytes();
        if tx.get(Tree::Outgoing, id)?.is_some() {
            return Ok(SubmitOutcome::AlreadyStored);
        }
        if let Some(value) = tx.get(Tree::Documents, &self.content_key)? {
            let stored = content_target(&self.content_key, &value)?;
            return Ok(SubmitOutcome::SameContent(stored));
        }
        // The same package may already be here as an incoming one: same id, same bytes
        // that matter. Keep what is there.
        if tx.get(Tree::Packages, id)?.is_none() {
            tx.insert(Tree::Packages, id, &self.wire)?;
        }
        tx.insert(Tree::Outgoing, id, &self.meta_value)?;
        tx.insert(Tree::OutgoingByTime, &self.by_time, &[])?;
        for (key, value, is_pending) in &self.outbox {
            tx.insert(Tree::Outbox, key, value)?;
            if *is_pending {
                tx.insert(Tree::OutboxPending, key, &[])?;
            }
        }
        tx.insert(
            Tree::Documents,
            &self.content_key,
            &encoding::encode_blob(id),
        )?;
        if let Some(key) = &self.document_key {
            tx.insert(Tree::Documents, key, &[])?;
        }
        insert_index(tx, &self.sender, &self.id, &self.index)?;
        counts.outgoing += 1;
        counts.pending_outbox += self.pending;
        evidence::append(tx, &self.leaf)?;
        if let Some((receipt, value)) = &self.issued {
            let key = insert_receipt(
                tx,
                receipt,
                value,
                counts,
                ReceiptOrigin::SignedHere,
                self.leaf.at,
            )?;
            queue_delivery(tx, receipt, &key)?;
        }
        Ok(SubmitOutcome::Stored)
    }
}

/// What [`Store::update_outbox`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum OutboxUpdate {
    /// The entry is now as given.
    Applied,
    /// The stored entry had already ended (delivered or rejected) and the update would have
    /// made it pending again: the stored entry was kept.
    KeptFinal,
}

/// Which stored outbox entries [`replace_outbox_entry`] may replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Replace {
    /// Any, except that an entry that has ended is never made pending again.
    Any,
    /// Only a pending one: for a receipt recorded before, whose first recording already
    /// moved the entry if it could.
    PendingOnly,
}

/// Inside a transaction: replaces an existing outbox entry (already encoded as `value`) and
/// keeps the pending index and counter in step. Aborts with
/// [`StoreError::UnknownOutboxEntry`] when there is none. An entry that has ended
/// (delivered or rejected) is never made pending again ([`OutboxUpdate::KeptFinal`]).
pub(super) fn replace_outbox_entry(
    tx: &Tx<'_>,
    entry: &OutboxEntry,
    value: &[u8],
    counts: &mut StoreCounts,
    replace: Replace,
) -> Result<OutboxUpdate, TxError> {
    let key = keys::outbox(&entry.package_id, &entry.recipient);
    let Some(old) = tx.get(Tree::Outbox, &key)? else {
        return Err(StoreError::UnknownOutboxEntry {
            package_id: entry.package_id,
            recipient: entry.recipient.clone(),
        }
        .into());
    };
    let old: OutboxEntry = encoding::read(Tree::Outbox, &key, &old)?;
    if !old.state.is_pending() && (entry.state.is_pending() || replace == Replace::PendingOnly) {
        return Ok(OutboxUpdate::KeptFinal);
    }
    tx.insert(Tree::Outbox, &key, value)?;
    match (
        old.state == DeliveryState::Rejected,
        entry.state == DeliveryState::Rejected,
    ) {
        (false, true) => tx.insert(Tree::OutboxRejected, &key, &[])?,
        (true, false) => tx.remove(Tree::OutboxRejected, &key)?,
        (true, true) | (false, false) => {}
    }
    match (old.state.is_pending(), entry.state.is_pending()) {
        (false, true) => {
            tx.insert(Tree::OutboxPending, &key, &[])?;
            counts.pending_outbox += 1;
        }
        (true, false) => {
            tx.remove(Tree::OutboxPending, &key)?;
            counts.pending_outbox = counts.pending_outbox.saturating_sub(1);
        }
        (true, true) | (false, false) => {}
    }
    Ok(OutboxUpdate::Applied)
}

/// Checks that a submission's parts are about the same package and its recipients.
fn check_submission(
    package: &SignedPackage,
    meta: &OutgoingPackage,
    entries: &[OutboxEntry],
) -> Result<(), StoreError> {
    let id = package.id();
    let invalid = |problem| StoreError::InvalidInput {
        package_id: id,
        problem,
    };
    if meta.package_id != id {
        return Err(invalid(InputProblem::PackageIdMismatch {
            record: "metadata",
            found: meta.package_id,
        }));
    }
    if let Some(document_id) = &meta.document_id
        && !keys::document_id_fits(document_id)
    {
        return Err(invalid(InputProblem::DocumentIdTooLong {
            len: document_id.len(),
            max: MAX_DOCUMENT_ID_LEN,
        }));
    }
    let addressed: HashSet<&OrganId> = package.recipients().iter().collect();
    let mut seen = HashSet::with_capacity(entries.len());
    for entry in entries {
        if entry.package_id != id {
            return Err(invalid(InputProblem::PackageIdMismatch {
                record: "outbox entry",
                found: entry.package_id,
            }));
        }
        if !addressed.contains(&entry.recipient) {
            return Err(invalid(InputProblem::NotARecipient {
                recipient: entry.recipient.clone(),
            }));
        }
        if !seen.insert(&entry.recipient) {
            return Err(invalid(InputProblem::DuplicateRecipient {
                recipient: entry.recipient.clone(),
            }));
        }
    }
    Ok(())
}

/// The package id an index key ends with.
pub(super) fn index_target(tree: Tree, key: &[u8]) -> Result<PackageId, StoreError> {
    keys::trailing_package_id(key).ok_or_else(|| {
        corrupt(
            tree,
            key,
            Corruption::Length {
                expected: 32,
                found: key.len(),
            },
        )
    })
}

/// The package id a content key's value holds (a blob of 32 bytes).
fn content_target(key: &[u8], value: &[u8]) -> Result<PackageId, StoreError> {
    encoding::check_blob(value).map_err(|problem| corrupt(Tree::Documents, key, problem))?;
    let bytes: [u8; 32] = value[1..].try_into().map_err(|_| {
        corrupt(
            Tree::Documents,
            key,
            Corruption::Length {
                expected: 32,
                found: value.len() - 1,
            },
        )
    })?;
    Ok(PackageId::from_bytes(bytes))
}

/// An index entry whose record is missing.
pub(super) fn dangling(tree: Tree, key: &[u8], what: &'static str) -> StoreError {
    corrupt(tree, key, Corruption::Missing { what })
}
