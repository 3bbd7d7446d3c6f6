//! Passing a store-backed queue on to one agency, a batch at a time: a relay pushing the
//! packages it holds for a member, a relay forwarding receipts, a node handing over the
//! receipts it signs. The queue is in the store, so a crash repeats work and never loses
//! it; the batches bound memory, the items in flight let the addressee's store commit
//! them together, and one unreachable addressee costs one attempt per pass.

use std::future::Future;

use futures::StreamExt as _;

/// How one item of a queue fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Passed {
    /// Taken: it leaves the queue.
    Yes,
    /// Refused for now; it stays, and the others are tried.
    Kept,
    /// The addressee cannot be reached or the store failed: stop for this pass.
    Stop,
}

/// The shape of one kind of queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Drain {
    /// Items read from the store at a time.
    pub(crate) batch: usize,
    /// Items passed on at once.
    pub(crate) in_flight: usize,
    /// Most batches in one pass, whatever the queue holds.
    pub(crate) max_batches: usize,
}

impl Drain {
    /// Passes a queue on until it is empty or the addressee stops taking: `read(batch)`
    /// gives the next batch (`None`: it could not be read), `pass` one item's key and how
    /// it fared, `settle` records a batch's outcomes (`false`: it could not). A batch with
    /// an item that says [`Passed::Stop`], or none taken, ends the pass.
    pub(crate) async fn run<T, K, R, RF, P, PF, S, SF>(self, mut read: R, pass: P, mut settle: S)
    where
        R: FnMut(usize) -> RF,
        RF: Future<Output = Option<Vec<T>>>,
        P: FnMut(T) -> PF,
        PF: Future<Output = (K, Passed)>,
        S: FnMut(Vec<(K, Passed)>) -> SF,
        SF: Future<Output = bool>,
    {
        let mut pass = pass;
        for _ in 0..self.max_batches {
            let Some(batch) = read(self.batch).await else {
                return;
            };
            if batch.is_empty() {
                return;
            }
            let outcomes: Vec<(K, Passed)> = futures::stream::iter(batch)
                .map(&mut pass)
                .buffer_unordered(self.in_flight)
                .collect()
                .await;
            let stop = outcomes.iter().any(|(_, p)| *p == Passed::Stop)
                || !outcomes.iter().any(|(_, p)| *p == Passed::Yes);
            if !settle(outcomes).await || stop {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    const SHAPE: Drain = Drain {
        batch: 2,
        in_flight: 2,
        max_batches: 10,
    };

    #[tokio::test]
    async fn a_queue_is_drained_batch_by_batch_until_empty() {
        let queue = Mutex::new((0..5).collect::<Vec<u32>>());
        let settled = Mutex::new(Vec::new());
        SHAPE
            .run(
                |n| {
                    let mut q = queue.lock().expect("lock");
                    let take = n.min(q.len());
                    let batch: Vec<u32> = q.drain(..take).collect();
                    async move { Some(batch) }
                },
                |item| async move { (item, Passed::Yes) },
                |outcomes| {
                    settled.lock().expect("lock").push(outcomes.len());
                    async { true }
                },
            )
            .await;
        assert_eq!(*settled.lock().expect("lock"), vec![2, 2, 1]);
    }

    #[tokio::test]
    async fn an_unreachable_addressee_or_a_batch_with_nothing_taken_ends_the_pass() {
        for fate in [Passed::Stop, Passed::Kept] {
            let reads = Mutex::new(0);
            SHAPE
                .run(
                    |_| {
                        *reads.lock().expect("lock") += 1;
                        async { Some(vec![1u32, 2]) }
                    },
                    |item| async move { (item, fate) },
                    |_| async { true },
                )
                .await;
            assert_eq!(*reads.lock().expect("lock"), 1, "{fate:?}");
        }
    }
}
