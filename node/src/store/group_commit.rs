//! Group commit: concurrent writers share fsyncs.
//!
//! # Why
//!
//! A transaction commits into sled's in-memory log in microseconds; making it durable takes
//! an fsync, which costs a millisecond or more on a real disk. If every writer flushed on
//! its own, a node would acknowledge at most one change per fsync, and a burst (a provincial
//! office sending the same document to a hundred units, or a relay draining a mailbox)
//! would queue flush behind flush. But one flush makes durable *everything committed before
//! it started*, so every writer whose commit finished by then can ride on it.
//!
//! # How
//!
//! A generation counter under a `Mutex`, with a `Condvar`:
//!
//! 1. After its transaction commits, a writer takes a ticket: the next generation.
//! 2. If a finished flush already covers the ticket, the write is durable: return.
//! 3. Else if no flush is running, the writer becomes the flusher: it notes the newest
//!    generation handed out, flushes without holding the lock, then marks that generation
//!    durable and wakes everyone.
//! 4. Else it waits for the running flush to finish and looks again. The running flush
//!    may have started before this ticket was taken; then the writer flushes next, and
//!    carries along everyone who arrived meanwhile.
//!
//! Every ticket up to the flusher's snapshot belongs to a commit that completed before the
//! flush began, so the flush covers it. A failed flush marks nothing durable: the flusher
//! gets the error, and each waiter flushes again itself, so every caller either sees a
//! successful flush that covers its write, or an error. The caller must then not
//! acknowledge (see [`StoreError::Sync`](super::StoreError::Sync)).
//!
//! This is independent of sled: the flush is a closure, so it is tested here with fakes.
//!
//! # Batching transactions too
//!
//! Sharing the fsync is not enough with sled 0.34: every transaction also seals and writes
//! sled's log buffer (twice, with a `sync_file_range` each) and holds sled's process-wide
//! write lock, so writers that each run their own transaction still queue one behind the
//! other. [`Batcher`] lets concurrent writers of the same kind (submissions from QLVB,
//! packages accepted from a peer, receipts recorded; see `shared_write.rs`)
//! share one transaction as well: the first caller leads, takes every item queued so far,
//! applies them together (one transaction, one sync), and hands each caller its result;
//! callers arriving meanwhile queue for the next batch.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use serde::Serialize;

use super::shared_write::WriteBatcher;

/// How many syncs were asked for and how many flushes it took: with group commit under
/// concurrent writers, `flushes` stays well below `syncs`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncStats {
    /// Durable writes acknowledged or attempted: one per mutating store call.
    pub syncs: u64,
    /// Flushes (fsync rounds) started.
    pub flushes: u64,
}

/// Shares flushes between concurrent writers; see the module docs.
#[derive(Debug, Default)]
pub(super) struct GroupCommit {
    state: Mutex<State>,
    flushed: Condvar,
    /// Submissions from QLVB (`outgoing.rs`), applied in shared transactions
    /// (`shared_write.rs`).
    pub(super) submissions: WriteBatcher<super::outgoing::Submission>,
    /// Packages accepted from peers (`incoming.rs`).
    pub(super) acceptances: WriteBatcher<super::incoming::Acceptance>,
    /// Receipts recorded with the outbox entries they move (`receipts.rs`).
    pub(super) receipts: WriteBatcher<super::receipts::ReceiptRecord>,
}

#[derive(Debug, Default)]
struct State {
    /// The last ticket handed out.
    issued: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    /// Whether a flush is running.
    flushing: bool,
    stats: SyncStats,
}

impl GroupCommit {
    /// Returns once every write committed before this call is durable, flushing with
    /// `flush` if no finished flush covers it yet.
    ///
    /// # Errors
    /// The error of this caller's own flush. Errors of other callers' flushes are not
    /// shared: a waiter whose flusher failed flushes again itself.
    pub(super) fn sync<E>(&self, flush: impl FnMut() -> Result<(), E>) -> Result<(), E> {
        let ticket = self.ticket();
        self.wait(ticket, flush)
    }

    /// A ticket for every write committed before this call: what [`wait`](Self::wait)
    /// makes durable. Writes committed together (a batch) share one ticket, so that
    /// their callers share the flush too.
    pub(super) fn ticket(&self) -> u64 {
        let mut state = self.lock();
        state.issued += 1;
        state.issued
    }

    /// Returns once `ticket` is durable, flushing with `flush` if no finished flush
    /// covers it yet. As [`sync`](Self::sync) for errors.
    pub(super) fn wait<E>(
        &self,
        ticket: u64,
        mut flush: impl FnMut() -> Result<(), E>,
    ) -> Result<(), E> {
        let mut state = self.lock();
        state.stats.syncs += 1;
        loop {
            if state.durable >= ticket {
                return Ok(());
            }
            if state.flushing {
                state = self
                    .flushed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.flushing = true;
            state.stats.flushes += 1;
            let target = state.issued;
            drop(state);

            let unwinding = ResetIfUnwinding(self);
            let result = flush();
            drop(unwinding);

            state = self.lock();
            state.flushing = false;
            if result.is_ok() {
                state.durable = state.durable.max(target);
            }
            self.flushed.notify_all();
            result?;
        }
    }

    /// The counters so far.
    pub(super) fn stats(&self) -> SyncStats {
        self.lock().stats
    }

    /// The state is a few counters, consistent whenever the lock is free, so a panic
    /// elsewhere while holding it does not make it unusable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs concurrent callers' items in shared batches; see "Batching transactions too".
pub(super) struct Batcher<T, R> {
    state: Mutex<BatchState<T, R>>,
    finished: Condvar,
}

struct BatchState<T, R> {
    /// Items waiting for the next batch, with their callers' tickets.
    queue: Vec<(u64, T)>,
    /// Results of finished batches, until their callers take them. `None`: the batch
    /// that held the item panicked.
    results: HashMap<u64, Option<R>>,
    /// The last ticket handed out.
    issued: u64,
    /// Whether a caller is applying a batch.
    leading: bool,
}

impl<T, R> std::fmt::Debug for Batcher<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl<T, R> Default for Batcher<T, R> {
    fn default() -> Self {
        Batcher {
            state: Mutex::new(BatchState {
                queue: Vec::new(),
                results: HashMap::new(),
                issued: 0,
                leading: false,
            }),
            finished: Condvar::new(),
        }
    }
}

impl<T, R> Batcher<T, R> {
    /// Queues `item` and returns its result once a batch that holds it has been applied,
    /// by this caller with `apply` or by another one with theirs. `apply` gets the items
    /// in arrival order and must return one result per item, in the same order.
    ///
    /// `None` when the batch that held the item panicked: the item was not applied by
    /// it, and the caller may apply it alone.
    pub(super) fn run(&self, item: T, apply: impl FnOnce(Vec<T>) -> Vec<R>) -> Option<R> {
        let mut state = self.lock();
        state.issued += 1;
        let ticket = state.issued;
        state.queue.push((ticket, item));
        let mut apply = Some(apply);
        loop {
            if let Some(result) = state.results.remove(&ticket) {
                return result;
            }
            // Only a caller whose item is still queued leads, so `apply` is still there.
            if state.leading || apply.is_none() {
                state = self
                    .finished
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.leading = true;
            let batch = std::mem::take(&mut state.queue);
            drop(state);

            let tickets: Vec<u64> = batch.iter().map(|(ticket, _)| *ticket).collect();
            let mut unwinding = LoseIfUnwinding {
                batcher: self,
                tickets: &tickets,
            };
            let apply = apply.take().expect("a leader applies once");
            let results = apply(batch.into_iter().map(|(_, item)| item).collect());
            unwinding.tickets = &[];
            drop(unwinding);

            state = self.lock();
            state.leading = false;
            debug_assert_eq!(results.len(), tickets.len());
            for (ticket, result) in tickets.iter().zip(results) {
                state.results.insert(*ticket, Some(result));
            }
            self.finished.notify_all();
        }
    }

    /// The state stays consistent whenever the lock is free.
    fn lock(&self) -> MutexGuard<'_, BatchState<T, R>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// If a batch panics, tells its callers (`None`) and lets the next caller lead, instead
/// of leaving them waiting forever.
struct LoseIfUnwinding<'a, T, R> {
    batcher: &'a Batcher<T, R>,
    tickets: &'a [u64],
}

impl<T, R> Drop for LoseIfUnwinding<'_, T, R> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut state = self.batcher.lock();
            state.leading = false;
            for ticket in self.tickets {
                state.results.insert(*ticket, None);
            }
            self.batcher.finished.notify_all();
        }
    }
}

/// If the flush panics, lets the next writer flush instead of waiting forever.
struct ResetIfUnwinding<'a>(&'a GroupCommit);

impl Drop for ResetIfUnwinding<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().flushing = false;
            self.0.flushed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Barrier};
    use std::thread;
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_lone_writer_flushes_once_per_sync() {
        let commit = GroupCommit::default();
        for _ in 0..3 {
            commit.sync(|| Ok::<_, ()>(())).expect("flushes");
        }
        assert_eq!(
            commit.stats(),
            SyncStats {
                syncs: 3,
                flushes: 3
            }
        );
    }

    #[test]
    fn flush_errors_reach_the_caller_and_mark_nothing_durable() {
        let commit = GroupCommit::default();
        assert_eq!(commit.sync(|| Err("disk full")), Err("disk full"));
        // The failed generation was not marked durable: the next caller flushes again.
        let flushed = AtomicU64::new(0);
        commit
            .sync(|| {
                flushed.fetch_add(1, Ordering::SeqCst);
                Ok::<_, &str>(())
            })
            .expect("flushes");
        assert_eq!(flushed.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn concurrent_writers_share_flushes() {
        const THREADS: u64 = 8;
        const WRITES: u64 = 50;
        let commit = Arc::new(GroupCommit::default());
        let start = Arc::new(Barrier::new(THREADS as usize));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let commit = Arc::clone(&commit);
                let start = Arc::clone(&start);
                thread::spawn(move || {
                    start.wait();
                    for _ in 0..WRITES {
                        commit
                            .sync(|| {
                                // A slow "fsync", so that writers pile up behind it.
                                thread::sleep(Duration::from_millis(2));
                                Ok::<_, ()>(())
                            })
                            .expect("flushes");
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("writer thread");
        }
        let stats = commit.stats();
        assert_eq!(stats.syncs, THREADS * WRITES);
        assert!(stats.flushes < stats.syncs / 2, "{stats:?}");
    }

    #[test]
    fn concurrent_items_share_batches_and_each_gets_its_own_result() {
        const THREADS: u64 = 8;
        const ITEMS: u64 = 50;
        let batcher = Arc::new(Batcher::<u64, u64>::default());
        let batches = Arc::new(AtomicU64::new(0));
        let start = Arc::new(Barrier::new(THREADS as usize));
        let handles: Vec<_> = (0..THREADS)
            .map(|thread| {
                let (batcher, batches, start) = (batcher.clone(), batches.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    for n in 0..ITEMS {
                        let item = thread * 1000 + n;
                        let result = batcher.run(item, |items| {
                            batches.fetch_add(1, Ordering::SeqCst);
                            // A slow apply, so that callers pile up behind it.
                            thread::sleep(Duration::from_millis(2));
                            items.iter().map(|i| i * 2).collect()
                        });
                        assert_eq!(result, Some(item * 2));
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("caller thread");
        }
        let batches = batches.load(Ordering::SeqCst);
        assert!(batches < THREADS * ITEMS / 2, "{batches} batches");
    }

    #[test]
    fn a_panicking_batch_does_not_block_later_callers() {
        let batcher = Arc::new(Batcher::<u32, u32>::default());
        let panicker = Arc::clone(&batcher);
        let outcome =
            thread::spawn(move || panicker.run(1, |_| -> Vec<u32> { panic!("apply") })).join();
        assert!(outcome.is_err());
        assert_eq!(batcher.run(2, |items| items), Some(2));
    }

    #[test]
    fn a_panicking_flush_does_not_block_later_writers() {
        let commit = Arc::new(GroupCommit::default());
        let panicker = Arc::clone(&commit);
        let outcome =
            thread::spawn(move || panicker.sync(|| -> Result<(), ()> { panic!("flush") })).join();
        assert!(outcome.is_err());
        commit
            .sync(|| Ok::<_, ()>(()))
            .expect("flushes after the panic");
    }
}
