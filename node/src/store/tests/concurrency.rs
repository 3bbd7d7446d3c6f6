//! Concurrent writers and group commit.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use super::*;
use crate::store::SubmitOutcome;

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

/// Submits every batch, one thread per batch, all starting together.
fn submit_concurrently(store: &Store, batches: Vec<Vec<SignedPackage>>) {
    let start = Arc::new(Barrier::new(batches.len()));
    let handles: Vec<_> = batches
        .into_iter()
        .map(|batch| {
            let store = store.clone();
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
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
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("writer thread");
    }
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
