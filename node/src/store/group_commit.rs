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

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use serde::Serialize;

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
    pub(super) fn sync<E>(&self, mut flush: impl FnMut() -> Result<(), E>) -> Result<(), E> {
        let mut state = self.lock();
        state.issued += 1;
        state.stats.syncs += 1;
        let ticket = state.issued;
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
