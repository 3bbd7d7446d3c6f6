//! Concurrent writers and group commit.

use std::sync::Barrier;
use std::thread;
use std::time::Instant;

use super::*;
use crate::store::{IncomingOutcome, RecordOutcome, StoreError, SubmitOutcome, SyncStats};

/// Signs `count` packages per thread before any timing starts, so that the measurements
/// and the flush counts are about the store, not ed25519.
fn presigned(threads: u64, count: u64) -> Vec<Vec<SignedPackage>> {
    let key = AgencyKey::generate().expect("generates a key");
    (0..threads)
        .map(|thread| {
            (0..count)
                .map(|n| signed_package(&key, thread * 1_000_000 + n, 1024))
                .collect()
        })
        .collect()
}

/// Syncs asked for and flushes made since `before`.
fn syncs_and_flushes_since(store: &Store, before: SyncStats) -> (u64, u64) {
    let now = store.sync_stats();
    (now.syncs - before.syncs, now.flushes - before.flushes)
}

/// Runs `work` on each item, one thread per item, all starting together, so that their
/// writes meet in the store; returns the results in the items' order.
pub(super) fn all_at_once<W: Send, T: Send>(items: Vec<W>, work: impl Fn(W) -> T + Sync) -> Vec<T> {
    let start = Barrier::new(items.len());
    thread::scope(|scope| {
        let handles: Vec<_> = items
            .into_iter()
            .map(|item| {
                let (start, work) = (&start, &work);
                scope.spawn(move || {
                    start.wait();
                    work(item)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("worker thread"))
            .collect()
    })
}

/// Submits every batch, one thread per batch, all starting together.
fn submit_concurrently(store: &Store, batches: Vec<Vec<SignedPackage>>) {
    all_at_once(batches, |batch| {
        for package in batch {
            let outcome = store
                .submit(
                    &package,
                    &meta(&package, Some("bulk"), package.created_at()),
                    &entries(&package, DeliveryState::Queued),
                )
                .expect("submits");
            assert_eq!(outcome, SubmitOutcome::Stored);
        }
    });
}

#[test]
fn concurrent_submits_all_land_and_share_flushes() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 200;
    let fx = Fixture::new();
    submit_concurrently(&fx.store, presigned(THREADS, PER_THREAD));

    let writes = THREADS * PER_THREAD;
    let counts = fx.store.counts().expect("counts");
    assert_eq!(counts.outgoing, writes);
    assert_eq!(counts.pending_outbox, writes * RECIPIENTS.len() as u64);
    assert_eq!(
        fx.store
            .packages_for_document(&organ(SENDER), "bulk")
            .expect("lists")
            .len() as u64,
        writes
    );
    let stats = fx.store.sync_stats();
    assert_eq!(stats.syncs, writes);
    assert!(
        stats.flushes < writes / 2,
        "group commit should share flushes: {stats:?}"
    );
}

/// Durable submits per second with one writer and with eight, on this machine's disk.
/// Run with `cargo test --release -p lienthong-node store::tests::concurrency::throughput
/// -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check: timings are never asserted"]
fn throughput() {
    const TOTAL: u64 = 2000;
    for threads in [1, 8] {
        let fx = Fixture::new();
        let batches = presigned(threads, TOTAL / threads);
        let started = Instant::now();
        submit_concurrently(&fx.store, batches);
        let elapsed = started.elapsed();
        let stats = fx.store.sync_stats();
        println!(
            "{threads} thread(s): {TOTAL} durable submits in {:.2} s = {:.0}/s, {} flushes ({:.1} submits per flush)",
            elapsed.as_secs_f64(),
            TOTAL as f64 / elapsed.as_secs_f64(),
            stats.flushes,
            stats.syncs as f64 / stats.flushes.max(1) as f64,
        );
    }
}

#[test]
fn concurrent_receipts_settle_their_deliveries_and_a_refused_one_harms_no_other() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 25;
    let fx = Fixture::new();
    let recipient = organ(RECIPIENTS[0]);
    // Per thread: receipts 01 for submitted packages, each moving its entry to delivered,
    // and, for thread 0, one for a package never submitted, whose update names no entry.
    let mut work: Vec<Vec<(SignedReceipt, OutboxEntry, bool)>> = Vec::new();
    for thread in 0..THREADS {
        let mut items = Vec::new();
        for n in 0..PER_THREAD {
            let package = fx.submit(thread * 1000 + n + 1, None);
            let receipt = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 5);
            let delivered = outbox_entry(package.id(), recipient.clone(), DeliveryState::Delivered);
            items.push((receipt, delivered, true));
        }
        if thread == 0 {
            let stray = fx.package(999_999);
            let receipt = fx.receipt(&stray, RECIPIENTS[0], StatusCode::Arrived, 5);
            let update = outbox_entry(stray.id(), recipient.clone(), DeliveryState::Delivered);
            items.insert(PER_THREAD as usize / 2, (receipt, update, false));
        }
        work.push(items);
    }
    let before = fx.store.counts().expect("counts");
    let syncs_before = fx.store.sync_stats();

    all_at_once(work, |items| {
        for (receipt, update, exists) in items {
            let recorded = fx.store.record_receipt(&receipt, Some(&update));
            if exists {
                assert_eq!(recorded.expect("records"), RecordOutcome::New);
            } else {
                assert!(
                    matches!(recorded, Err(StoreError::UnknownOutboxEntry { .. })),
                    "{recorded:?}"
                );
            }
        }
    });

    let settled = THREADS * PER_THREAD;
    let after = fx.store.counts().expect("counts");
    assert_eq!(after.receipts, before.receipts + settled);
    assert_eq!(after.pending_outbox, before.pending_outbox - settled);
    let (syncs, flushes) = syncs_and_flushes_since(&fx.store, syncs_before);
    assert_eq!(
        syncs, settled,
        "one sync per recording that was not refused"
    );
    assert!(
        flushes < syncs / 2,
        "recordings should share flushes: {syncs} syncs, {flushes} flushes"
    );
}

#[test]
fn concurrent_acceptances_store_each_package_once_and_share_flushes() {
    const THREADS: u64 = 8;
    const PACKAGES: u64 = 100;
    let fx = Fixture::new();
    // Every thread accepts every package, each with a receipt of its own, as resends from
    // a sender that timed out would arrive: exactly one acceptance per package stores it,
    // and every other one answers with that acceptance's receipt, whether it ran in an
    // earlier transaction or earlier in the same shared one.
    let packages: Vec<SignedPackage> = (0..PACKAGES).map(|n| fx.package(n)).collect();
    let work: Vec<Vec<(SignedPackage, SignedReceipt, InboxEntry)>> = (0..THREADS)
        .map(|thread| {
            packages
                .iter()
                .map(|package| {
                    let at = 10 + thread;
                    let receipt = fx.receipt(package, RECIPIENTS[0], StatusCode::Arrived, at);
                    (package.clone(), receipt, inbox_entry(package, at))
                })
                .collect()
        })
        .collect();
    let syncs_before = fx.store.sync_stats();

    let answers: Vec<_> = all_at_once(work, |items| {
        items
            .into_iter()
            .map(|(package, receipt, entry)| {
                let outcome = fx
                    .store
                    .accept_incoming(&package, &entry, &receipt)
                    .expect("accepts");
                (package.id(), receipt, outcome)
            })
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();

    for package in &packages {
        let id = package.id();
        let stored: Vec<&SignedReceipt> = answers
            .iter()
            .filter(|(of, _, outcome)| *of == id && *outcome == IncomingOutcome::Stored)
            .map(|(_, receipt, _)| receipt)
            .collect();
        assert_eq!(stored.len(), 1, "{id} stored once");
        let kept = stored[0];
        for (_, _, outcome) in answers.iter().filter(|(of, _, _)| *of == id) {
            match outcome {
                IncomingOutcome::Stored => {}
                IncomingOutcome::Duplicate(receipt) => assert_eq!(receipt, kept),
            }
        }
        assert_eq!(
            fx.store.receipts(&id).expect("lists"),
            std::slice::from_ref(kept)
        );
        assert_eq!(
            fx.store.package(&id).expect("reads").as_ref(),
            Some(package)
        );
    }
    let counts = fx.store.counts().expect("counts");
    assert_eq!(
        (counts.inbox_unacked, counts.receipts),
        (PACKAGES, PACKAGES)
    );
    assert_eq!(fx.store.inbox(true).expect("lists").len() as u64, PACKAGES);
    let (syncs, flushes) = syncs_and_flushes_since(&fx.store, syncs_before);
    assert_eq!(syncs, THREADS * PACKAGES);
    assert!(
        flushes < syncs / 2,
        "acceptances should share flushes: {syncs} syncs, {flushes} flushes"
    );
}

#[test]
fn one_receipt_recorded_by_several_threads_at_once_is_new_exactly_once() {
    const THREADS: usize = 8;
    const PACKAGES: u64 = 50;
    let fx = Fixture::new();
    let recipient = organ(RECIPIENTS[0]);
    // The receipt 01 of each package reaches the sender by several paths at once (the
    // delivery's answer, gossip, a catch-up): one recording is new, the others are
    // duplicates, and the delivery ends once.
    let work: Vec<(SignedReceipt, OutboxEntry)> = (0..PACKAGES)
        .map(|n| {
            let package = fx.submit(n + 1, None);
            let receipt = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 5);
            let delivered = outbox_entry(package.id(), recipient.clone(), DeliveryState::Delivered);
            (receipt, delivered)
        })
        .collect();
    let before = fx.store.counts().expect("counts");
    let outcomes = all_at_once(vec![(); THREADS], |()| {
        work.iter()
            .map(|(receipt, delivered)| {
                fx.store
                    .record_receipt(receipt, Some(delivered))
                    .expect("records")
            })
            .collect::<Vec<_>>()
    });
    for (n, (receipt, _)) in work.iter().enumerate() {
        let new = outcomes
            .iter()
            .filter(|thread| thread[n] == RecordOutcome::New)
            .count();
        assert_eq!(new, 1, "receipt {} recorded as new once", receipt.id());
        assert_eq!(
            fx.store.receipts(&receipt.package_id()).expect("lists"),
            std::slice::from_ref(receipt)
        );
    }
    let after = fx.store.counts().expect("counts");
    assert_eq!(after.receipts, before.receipts + PACKAGES);
    assert_eq!(after.pending_outbox, before.pending_outbox - PACKAGES);
}
