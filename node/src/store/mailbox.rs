//! A relay's side: sealed packages held for its members (the mailbox), and receipts
//! waiting to be forwarded to the senders that could not reach those members.
//!
//! What a relay holds is sealed to the recipient, so the store keeps the sealed wire bytes
//! as they came, with the few header fields the relay routes by ([`MailboxEntry`]), and the
//! signed "held at relay" acknowledgement it answered with, so that a sender that deposits
//! the same package again gets the same answer.
//!
//! A held package leaves the mailbox only when the recipient's own signed receipt for it
//! has been verified ([`Store::release`]); the receipt then waits in the forward queue, in
//! the same transaction, until the sender has taken it ([`Store::forwarded`]). So at every
//! moment either the package is held, or the receipt that proves its delivery is.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tracing::debug;

use lienthong_protocol::envelope::{EnvelopeLimits, PackageId, SignedReceipt, Timestamp};
use lienthong_protocol::{OrganId, StatusCode};

use super::Store;
use super::encoding::{self, Initial, Versioned, corrupt};
use super::engine::{Tx, TxError};
use super::error::{Corruption, StoreError};
use super::evidence;
use super::evidence_leaf::{EvidenceLeaf, Fact};
use super::keys::{self, Tree};
use super::package_files::Stored;
use super::packages::StagedPackage;

/// One sealed package a relay holds for a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxEntry {
    /// The package inside the seal.
    pub package_id: PackageId,
    /// The agency that sent and sealed it.
    pub sender: OrganId,
    /// The member it is sealed to.
    pub recipient: OrganId,
    /// When this relay took it.
    pub held_at: Timestamp,
    /// Size of the sealed bytes.
    pub size: u64,
    /// The signed "held at relay" acknowledgement this relay answered with (wire bytes).
    pub hold: Vec<u8>,
}

/// A held package with its sealed bytes.
#[derive(Debug, Clone)]
pub struct HeldPackage {
    /// What the relay knows about it.
    pub entry: MailboxEntry,
    /// The sealed wire bytes, as the sender sent them.
    pub sealed: Bytes,
}

/// What [`Store::hold`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum HoldOutcome {
    /// The package is now held.
    Held,
    /// It was held already; nothing changed. Carries the entry stored first, whose `hold`
    /// is the answer to give again.
    AlreadyHeld(MailboxEntry),
}

/// A relay's totals, for its status page and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayCounts {
    /// Packages held.
    pub held: u64,
    /// Bytes of sealed packages held.
    pub held_bytes: u64,
    /// Receipts waiting to be forwarded to their senders.
    pub forward: u64,
}

/// How many packages a relay holds for one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailboxSummary {
    /// The member.
    pub recipient: OrganId,
    /// Packages held.
    pub held: u64,
    /// Their sealed bytes.
    pub bytes: u64,
    /// When the oldest was taken.
    pub oldest: Timestamp,
}

macro_rules! first_shape {
    ($($record:ty),+) => {
        $(
            impl Versioned for $record {
                const VERSION: u8 = 1;
                type Previous = Initial;
                fn migrate(previous: Initial) -> Self {
                    match previous {}
                }
            }
        )+
    };
}

first_shape!(MailboxEntry, RelayCounts);

impl Store {
    /// Holds a sealed package for `entry.recipient`, durably, with the acknowledgement to
    /// answer the sender with.
    ///
    /// Idempotent on (package, recipient): a second deposit changes nothing and answers
    /// [`HoldOutcome::AlreadyHeld`] with the first entry. Sealed packages over 128 KB are
    /// kept in files of their own (see `package_files.rs`), removed once released.
    ///
    /// # Errors
    /// An engine or [`StoreError::Sync`] error: nothing may be acknowledged then.
    /// [`StoreError::PackageFile`] when a large package's file cannot be written: nothing
    /// changed.
    pub fn hold(&self, entry: &MailboxEntry, sealed: &[u8]) -> Result<HoldOutcome, StoreError> {
        let id_key = keys::outbox(&entry.package_id, &entry.recipient);
        let staged = self.stage_bytes(&entry.package_id, sealed, || {
            Ok(self.db().get(Tree::MailboxIds, &id_key)?.is_some())
        })?;
        let result = self.hold_staged(entry, &id_key, &staged, evidence::sha256(sealed));
        self.unstage(&entry.package_id, &staged);
        result
    }

    fn hold_staged(
        &self,
        entry: &MailboxEntry,
        id_key: &[u8],
        staged: &StagedPackage,
        sealed_sha256: [u8; 32],
    ) -> Result<HoldOutcome, StoreError> {
        let key = keys::mailbox(&entry.recipient, entry.held_at, &entry.package_id);
        let entry_value = encoding::write("mailbox entry", entry)?;
        let leaf = EvidenceLeaf::new(
            entry.held_at,
            Fact::PackageHeld {
                package: entry.package_id,
                sealed_sha256,
                recipient: entry.recipient.clone(),
            },
        );
        let key_value = encoding::encode_blob(&key);
        let outcome = self.db().transaction("hold", |tx| {
            if let Some(existing) = tx.get(Tree::MailboxIds, id_key)? {
                let existing_key = blob_bytes(Tree::MailboxIds, id_key, &existing)?;
                let value = tx.get(Tree::Mailbox, existing_key)?.ok_or_else(|| {
                    corrupt(
                        Tree::MailboxIds,
                        id_key,
                        Corruption::Missing {
                            what: "mailbox entry",
                        },
                    )
                })?;
                let first = encoding::read(Tree::Mailbox, existing_key, &value)?;
                return Ok(HoldOutcome::AlreadyHeld(first));
            }
            tx.insert(Tree::Mailbox, &key, &entry_value)?;
            tx.insert(Tree::MailboxSealed, &key, &staged.value)?;
            tx.insert(Tree::MailboxIds, id_key, &key_value)?;
            let mut counts = load_relay_counts(tx)?;
            counts.held += 1;
            counts.held_bytes += entry.size;
            save_relay_counts(tx, &counts)?;
            evidence::append(tx, &leaf)?;
            Ok(HoldOutcome::Held)
        })?;
        self.sync()?;
        debug!(
            package = %entry.package_id.fmt_short(),
            recipient = %entry.recipient,
            held = matches!(outcome, HoldOutcome::Held),
            "sealed package held"
        );
        Ok(outcome)
    }

    /// Up to `limit` packages held for `recipient`, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn mailbox(
        &self,
        recipient: &OrganId,
        limit: usize,
    ) -> Result<Vec<HeldPackage>, StoreError> {
        let prefix = keys::mailbox_prefix(recipient);
        let mut held = Vec::new();
        for item in self.db().scan_prefix(Tree::Mailbox, &prefix).take(limit) {
            let (key, value) = item?;
            let entry: MailboxEntry = encoding::read(Tree::Mailbox, &key, &value)?;
            let sealed = self.db().get(Tree::MailboxSealed, &key)?.ok_or_else(|| {
                corrupt(
                    Tree::Mailbox,
                    &key,
                    Corruption::Missing {
                        what: "sealed bytes of a mailbox entry",
                    },
                )
            })?;
            let sealed = self.stored_bytes(Tree::MailboxSealed, &key, &entry.package_id, sealed)?;
            held.push(HeldPackage { entry, sealed });
        }
        Ok(held)
    }

    /// The held package `package_id` for `recipient`, if held.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn held(
        &self,
        package_id: &PackageId,
        recipient: &OrganId,
    ) -> Result<Option<MailboxEntry>, StoreError> {
        let id_key = keys::outbox(package_id, recipient);
        let Some(reference) = self.db().get(Tree::MailboxIds, &id_key)? else {
            return Ok(None);
        };
        let key = blob_bytes(Tree::MailboxIds, &id_key, &reference)?;
        let Some(value) = self.db().get(Tree::Mailbox, key)? else {
            return Err(corrupt(
                Tree::MailboxIds,
                &id_key,
                Corruption::Missing {
                    what: "mailbox entry",
                },
            ));
        };
        encoding::read(Tree::Mailbox, key, &value).map(Some)
    }

    /// How many packages are held for `recipient`, and their sealed bytes: what its quota
    /// is checked against. Reads the small records only.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn mailbox_usage(&self, recipient: &OrganId) -> Result<(u64, u64), StoreError> {
        let prefix = keys::mailbox_prefix(recipient);
        let mut usage = (0, 0);
        for item in self.db().scan_prefix(Tree::Mailbox, &prefix) {
            let (key, value) = item?;
            let entry: MailboxEntry = encoding::read(Tree::Mailbox, &key, &value)?;
            usage.0 += 1;
            usage.1 += entry.size;
        }
        Ok(usage)
    }

    /// Per member: how many packages are held, their bytes and the oldest. One scan of the
    /// mailbox index (small records only, no sealed bytes).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn mailbox_summary(&self) -> Result<Vec<MailboxSummary>, StoreError> {
        let mut summary: Vec<MailboxSummary> = Vec::new();
        for item in self.db().iter(Tree::Mailbox) {
            let (key, value) = item?;
            let entry: MailboxEntry = encoding::read(Tree::Mailbox, &key, &value)?;
            match summary.last_mut() {
                Some(last) if last.recipient == entry.recipient => {
                    last.held += 1;
                    last.bytes += entry.size;
                    last.oldest = last.oldest.min(entry.held_at);
                }
                _ => summary.push(MailboxSummary {
                    recipient: entry.recipient,
                    held: 1,
                    bytes: entry.size,
                    oldest: entry.held_at,
                }),
            }
        }
        Ok(summary)
    }

    /// Takes `package_id` out of `recipient`'s mailbox now that `receipt` (the recipient's
    /// verified answer: 01 or 02) proves it was delivered, and queues the receipt for its
    /// sender, in one transaction. Returns whether the package was held.
    ///
    /// A receipt for a package that is not (or no longer) held is still queued, so a
    /// receipt that reaches the relay by another way is forwarded too.
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors.
    pub fn release(&self, receipt: &SignedReceipt) -> Result<bool, StoreError> {
        let package_id = receipt.package_id();
        let recipient = receipt.recipient().clone();
        let id_key = keys::outbox(&package_id, &recipient);
        let forward_key = keys::forward(addressee(receipt), &receipt.id());
        let receipt_value = encoding::encode_blob(&receipt.to_wire());
        let (released, file) = self.db().transaction("release", |tx| {
            let mut counts = load_relay_counts(tx)?;
            let mut released = false;
            let mut file = None;
            if let Some(reference) = tx.get(Tree::MailboxIds, &id_key)? {
                let key = blob_bytes(Tree::MailboxIds, &id_key, &reference)?.to_vec();
                if let Some(value) = tx.get(Tree::Mailbox, &key)? {
                    let entry: MailboxEntry = encoding::read(Tree::Mailbox, &key, &value)?;
                    counts.held = counts.held.saturating_sub(1);
                    counts.held_bytes = counts.held_bytes.saturating_sub(entry.size);
                }
                if let Some(sealed) = tx.get(Tree::MailboxSealed, &key)?
                    && let Ok(Stored::File(stored)) = Stored::decode(&sealed)
                {
                    file = Some(stored.generation);
                }
                tx.remove(Tree::Mailbox, &key)?;
                tx.remove(Tree::MailboxSealed, &key)?;
                tx.remove(Tree::MailboxIds, &id_key)?;
                released = true;
            }
            if tx.get(Tree::Forward, &forward_key)?.is_none() {
                tx.insert(Tree::Forward, &forward_key, &receipt_value)?;
                counts.forward += 1;
            }
            save_relay_counts(tx, &counts)?;
            Ok((released, file))
        })?;
        self.sync()?;
        if let Some(generation) = file {
            self.inner.removals.remove(&package_id, generation);
        }
        debug!(
            package = %package_id.fmt_short(),
            %recipient,
            code = %receipt.code(),
            released,
            "receipt queued for the sender"
        );
        Ok(released)
    }

    /// Queues a receipt for its sender without touching the mailbox: a member's later
    /// receipt (03–06, …) for a sender it cannot reach. Idempotent on the receipt id.
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors.
    pub fn queue_forward(&self, receipt: &SignedReceipt) -> Result<(), StoreError> {
        let forward_key = keys::forward(addressee(receipt), &receipt.id());
        let receipt_value = encoding::encode_blob(&receipt.to_wire());
        self.db().transaction("queue forward", |tx| {
            if tx.get(Tree::Forward, &forward_key)?.is_none() {
                tx.insert(Tree::Forward, &forward_key, &receipt_value)?;
                let mut counts = load_relay_counts(tx)?;
                counts.forward += 1;
                save_relay_counts(tx, &counts)?;
            }
            Ok(())
        })?;
        self.sync()
    }

    /// The agencies receipts wait for, each once.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when a key does not start with an agency id;
    /// [`StoreError::Read`].
    pub fn forward_destinations(&self) -> Result<Vec<OrganId>, StoreError> {
        let mut destinations: Vec<OrganId> = Vec::new();
        let mut skip_to: Option<Vec<u8>> = None;
        // One key per destination: after reading one, jump past its prefix.
        loop {
            let mut scan = match &skip_to {
                None => self.db().iter(Tree::Forward),
                Some(from) => self.db().range_from(Tree::Forward, from),
            };
            let Some(item) = scan.next() else {
                return Ok(destinations);
            };
            let (key, _) = item?;
            let organ = keys::agency_of(&key).ok_or_else(|| {
                corrupt(
                    Tree::Forward,
                    &key,
                    Corruption::Missing {
                        what: "the agency a forwarded receipt is for",
                    },
                )
            })?;
            skip_to = Some(keys::after_prefix(&keys::mailbox_prefix(&organ)));
            destinations.push(organ);
        }
    }

    /// Up to `limit` receipts waiting for `to`, in key order.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when one no longer reads as a receipt; [`StoreError::Read`].
    pub fn forward_queue_for(
        &self,
        to: &OrganId,
        limit: usize,
    ) -> Result<Vec<SignedReceipt>, StoreError> {
        let limits = EnvelopeLimits::default();
        self.db()
            .scan_prefix(Tree::Forward, &keys::mailbox_prefix(to))
            .take(limit)
            .map(|item| {
                let (key, value) = item?;
                encoding::check_blob(&value).map_err(|p| corrupt(Tree::Forward, &key, p))?;
                SignedReceipt::from_wire(value.into_bytes_from(1), &limits)
                    .map_err(|e| corrupt(Tree::Forward, &key, Corruption::Envelope { source: e }))
            })
            .collect()
    }

    /// Drops a forwarded receipt from the queue once its sender has taken it.
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors.
    pub fn forwarded(&self, receipt: &SignedReceipt) -> Result<(), StoreError> {
        let forward_key = keys::forward(addressee(receipt), &receipt.id());
        self.db().transaction("forwarded", |tx| {
            if tx.get(Tree::Forward, &forward_key)?.is_some() {
                tx.remove(Tree::Forward, &forward_key)?;
                let mut counts = load_relay_counts(tx)?;
                counts.forward = counts.forward.saturating_sub(1);
                save_relay_counts(tx, &counts)?;
            }
            Ok(())
        })?;
        self.sync()
    }

    /// The relay's totals. One lookup.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn relay_counts(&self) -> Result<RelayCounts, StoreError> {
        match self.db().get(Tree::Meta, keys::RELAY_COUNTS)? {
            Some(value) => encoding::read(Tree::Meta, keys::RELAY_COUNTS, &value),
            None => Ok(RelayCounts::default()),
        }
    }

    /// Records the signed "held at relay" acknowledgement a relay gave for one of this
    /// node's packages, so the status can say where and since when it is held.
    ///
    /// # Errors
    /// Engine and [`StoreError::Sync`] errors.
    pub fn record_hold(
        &self,
        package_id: &PackageId,
        recipient: &OrganId,
        hold: &[u8],
    ) -> Result<(), StoreError> {
        let key = keys::outbox(package_id, recipient);
        let value = encoding::encode_blob(hold);
        let leaf = EvidenceLeaf::new(
            crate::clock::now(),
            Fact::HoldRecorded {
                package: *package_id,
                hold_sha256: evidence::sha256(hold),
                recipient: recipient.clone(),
            },
        );
        self.db().transaction("record hold", |tx| {
            // The same hold recorded again is no new fact.
            if tx.get(Tree::Holds, &key)?.is_some_and(|old| *old == *value) {
                return Ok(());
            }
            tx.insert(Tree::Holds, &key, &value)?;
            evidence::append(tx, &leaf).map(drop)
        })?;
        self.sync()
    }

    /// The acknowledgement recorded by [`Store::record_hold`], as wire bytes.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn hold_of(
        &self,
        package_id: &PackageId,
        recipient: &OrganId,
    ) -> Result<Option<Bytes>, StoreError> {
        let key = keys::outbox(package_id, recipient);
        let Some(value) = self.db().get(Tree::Holds, &key)? else {
            return Ok(None);
        };
        encoding::check_blob(&value).map_err(|p| corrupt(Tree::Holds, &key, p))?;
        Ok(Some(value.into_bytes_from(1)))
    }
}

/// The agency a receipt is for: the package's sender, except for a take-back request
/// (13), which the sender makes to the recipient.
pub fn addressee(receipt: &SignedReceipt) -> &OrganId {
    if receipt.code() == StatusCode::TakeBackRequested {
        receipt.recipient()
    } else {
        receipt.sender()
    }
}

/// The bytes of a blob value read inside a transaction.
fn blob_bytes<'v>(tree: Tree, key: &[u8], value: &'v [u8]) -> Result<&'v [u8], StoreError> {
    encoding::check_blob(value).map_err(|p| corrupt(tree, key, p))?;
    Ok(&value[1..])
}

fn load_relay_counts(tx: &Tx<'_>) -> Result<RelayCounts, TxError> {
    match tx.get(Tree::Meta, keys::RELAY_COUNTS)? {
        Some(value) => Ok(encoding::read(Tree::Meta, keys::RELAY_COUNTS, &value)?),
        None => Ok(RelayCounts::default()),
    }
}

fn save_relay_counts(tx: &Tx<'_>, counts: &RelayCounts) -> Result<(), TxError> {
    tx.insert(
        Tree::Meta,
        keys::RELAY_COUNTS,
        &encoding::write("relay counts", counts)?,
    )
}
