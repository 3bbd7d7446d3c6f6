//! Writes that concurrent callers share: one transaction and one flush per batch.
//!
//! # Why
//!
//! A node's busiest writes come in bursts of many small, independent ones: QLVB submitting
//! documents, a recipient accepting the packages a sender pushes to it (up to
//! `delivery.concurrency` at once), and that sender recording the receipts 01 that come
//! back. Each in its own transaction queues behind sled 0.34's process-wide transaction
//! lock, seals sled's log buffer and hands it to sled's I/O threads: profiled on two nodes
//! delivering 10 KB documents, those transactions and sled's threads took well over half of
//! both nodes' CPU. Sharing them ([`Batcher`], "Batching transactions too" in
//! `group_commit.rs`) turns a burst of N transactions into a few.
//!
//! # How
//!
//! A kind of write implements [`SharedWrite`]: what it does inside a transaction, given
//! the store's counters. [`Store::write_shared`] queues it on that kind's batcher; the
//! leading caller applies everything queued in one transaction, each caller then waits for
//! the one flush that covers the batch. Writes of one batch see each other's changes, in
//! arrival order, as they would one after the other.
//!
//! When the shared transaction fails (one write refused, say), each write of the batch is
//! tried again alone, so that one refused write does not refuse the others.

use super::engine::{Tx, TxError};
use super::error::StoreError;
use super::group_commit::Batcher;
use super::records::StoreCounts;
use super::{Store, load_counts, save_counts};

/// One write of a kind whose concurrent callers share transactions.
pub(super) trait SharedWrite: Send {
    /// What the write tells its caller.
    type Output: Send;
    /// Names the transaction in errors.
    const WHAT: &'static str;
    /// Inside the shared transaction: this write, after those before it in the batch.
    /// `counts` are the store's counters, saved once for the whole batch.
    fn apply(&self, tx: &Tx<'_>, counts: &mut StoreCounts) -> Result<Self::Output, TxError>;
}

/// What a batch did with one write: its output and the group-commit ticket that makes it
/// durable, or why it was refused (nothing of it stored then).
pub(super) type Written<O> = Result<(O, u64), StoreError>;

/// The batcher of one kind of write.
pub(super) type WriteBatcher<W> = Batcher<W, Written<<W as SharedWrite>::Output>>;

impl Store {
    /// Applies the write `prepare` makes, sharing a transaction and a flush with concurrent
    /// callers of the same `batcher`. Durable on return.
    ///
    /// `prepare` runs once, or twice if the batch that held the write panicked before
    /// storing anything: the write is then applied alone.
    ///
    /// # Errors
    /// `prepare`'s error; the write's own refusal; an engine or [`StoreError::Sync`] error:
    /// do not acknowledge.
    pub(super) fn write_shared<W: SharedWrite>(
        &self,
        batcher: &WriteBatcher<W>,
        prepare: impl Fn() -> Result<W, StoreError>,
    ) -> Result<W::Output, StoreError> {
        let written = match batcher.run(prepare()?, |batch| self.write_batch(batch)) {
            Some(written) => written,
            None => self.write_alone(prepare()?),
        };
        let (output, ticket) = written?;
        // Everyone in the batch shares its ticket, so one flush serves them all; the next
        // batch commits meanwhile.
        self.inner.commit.wait(ticket, || self.db().flush())?;
        Ok(output)
    }

    /// A batch in one transaction, not yet durable; each result carries the ticket to
    /// wait for. If the shared transaction fails, each write is tried alone.
    fn write_batch<W: SharedWrite>(&self, batch: Vec<W>) -> Vec<Written<W::Output>> {
        if batch.len() == 1 {
            return batch.into_iter().map(|one| self.write_alone(one)).collect();
        }
        match self.write_together(&batch) {
            Ok(outputs) => {
                let ticket = self.inner.commit.ticket();
                outputs
                    .into_iter()
                    .map(|output| Ok((output, ticket)))
                    .collect()
            }
            Err(_) => batch
                .into_iter()
                .map(|write| self.write_alone(write))
                .collect(),
        }
    }

    /// One write in its own transaction.
    fn write_alone<W: SharedWrite>(&self, write: W) -> Written<W::Output> {
        let output = self.with_counts(W::WHAT, |tx, counts| write.apply(tx, counts))?;
        Ok((output, self.inner.commit.ticket()))
    }

    /// The writes in one transaction, in order; not yet durable.
    fn write_together<W: SharedWrite>(&self, batch: &[W]) -> Result<Vec<W::Output>, StoreError> {
        self.with_counts(W::WHAT, |tx, counts| {
            batch.iter().map(|write| write.apply(tx, counts)).collect()
        })
    }

    /// `body` in a transaction, with the store's counters loaded before and saved after.
    pub(super) fn with_counts<T>(
        &self,
        what: &'static str,
        body: impl Fn(&Tx<'_>, &mut StoreCounts) -> Result<T, TxError>,
    ) -> Result<T, StoreError> {
        self.db().transaction(what, |tx| {
            let mut counts = load_counts(tx)?;
            let output = body(tx, &mut counts)?;
            save_counts(tx, &counts)?;
            Ok(output)
        })
    }
}
