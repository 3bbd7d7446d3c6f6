//! Accepting packages, the inbox and acknowledgements.

use super::*;
use crate::store::{AckOutcome, IncomingOutcome, InputProblem, StoreError};

#[test]
fn second_accept_is_a_duplicate_answered_with_the_first_receipt() {
    let fx = Fixture::new();
    let package = fx.package(1);
    let first = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 10);
    let outcome = fx
        .store
        .accept_incoming(&package, &inbox_entry(&package, 10), &first)
        .expect("accepts");
    assert_eq!(outcome, IncomingOutcome::Stored);

    // A resend, answered at a later time: the stored receipt comes back, not the new one.
    let second = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 20);
    assert_ne!(first.id(), second.id());
    let outcome = fx
        .store
        .accept_incoming(&package, &inbox_entry(&package, 20), &second)
        .expect("accepts");
    assert_eq!(outcome, IncomingOutcome::Duplicate(first.clone()));

    assert_eq!(fx.store.receipts(&package.id()).expect("lists"), [first]);
    assert_eq!(
        fx.store.inbox_entry(&package.id()).expect("reads"),
        Some(inbox_entry(&package, 10))
    );
    assert_eq!(fx.store.inbox(true).expect("lists").len(), 1);
    let counts = fx.store.counts().expect("counts");
    assert_eq!((counts.inbox_unacked, counts.receipts), (1, 1));
    assert_eq!(
        fx.store.package(&package.id()).expect("reads"),
        Some(package)
    );
}

#[test]
fn inbox_lists_oldest_first_and_ack_moves_through_its_states() {
    let fx = Fixture::new();
    let packages: Vec<_> = (0..3).map(|n| fx.package(n)).collect();
    // Accepted out of order: the inbox follows `received_at`.
    for (package, received_at) in packages.iter().zip([30, 10, 20]) {
        let receipt = fx.receipt(package, RECIPIENTS[0], StatusCode::Arrived, received_at);
        let outcome = fx
            .store
            .accept_incoming(package, &inbox_entry(package, received_at), &receipt)
            .expect("accepts");
        assert_eq!(outcome, IncomingOutcome::Stored);
    }
    let ids = |entries: Vec<InboxEntry>| entries.iter().map(|e| e.package_id).collect::<Vec<_>>();
    let oldest_first = [packages[1].id(), packages[2].id(), packages[0].id()];
    assert_eq!(ids(fx.store.inbox(false).expect("lists")), oldest_first);
    assert_eq!(fx.store.counts().expect("counts").inbox_unacked, 3);
    // The dashboard's view: the newest few, newest first, and how many there are in all.
    let (newest, total) = fx.store.newest_inbox(2).expect("lists");
    assert_eq!(ids(newest), [packages[0].id(), packages[2].id()]);
    assert_eq!(total, 3);

    let acked = packages[2].id();
    assert_eq!(
        fx.store.ack(&acked, ts(99)).expect("acks"),
        AckOutcome::Acked
    );
    assert_eq!(
        fx.store.ack(&acked, ts(100)).expect("acks"),
        AckOutcome::AlreadyAcked
    );
    assert_eq!(
        fx.store
            .ack(&PackageId::from_bytes([9; 32]), ts(99))
            .expect("acks"),
        AckOutcome::Unknown
    );

    assert_eq!(
        ids(fx.store.inbox(false).expect("lists")),
        [packages[1].id(), packages[0].id()]
    );
    let all = fx.store.inbox(true).expect("lists");
    assert_eq!(ids(all.clone()), oldest_first);
    assert_eq!(
        all[1].acked_at,
        Some(ts(99)),
        "the first ack's time is kept"
    );
    assert_eq!(fx.store.counts().expect("counts").inbox_unacked, 2);
}

#[test]
fn accept_refuses_records_about_another_package() {
    let fx = Fixture::new();
    let package = fx.package(1);
    let other = fx.package(2);
    let receipt = fx.receipt(&other, RECIPIENTS[0], StatusCode::Arrived, 1);
    match fx
        .store
        .accept_incoming(&package, &inbox_entry(&package, 1), &receipt)
    {
        Err(StoreError::InvalidInput {
            problem: InputProblem::PackageIdMismatch { record, found },
            ..
        }) => {
            assert_eq!(record, "receipt");
            assert_eq!(found, other.id());
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    let own = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 1);
    assert!(matches!(
        fx.store
            .accept_incoming(&package, &inbox_entry(&other, 1), &own),
        Err(StoreError::InvalidInput { .. })
    ));
    assert_eq!(fx.store.inbox(true).expect("lists"), []);
    assert_eq!(fx.store.package(&package.id()).expect("reads"), None);
    assert_eq!(fx.store.counts().expect("counts").receipts, 0);
}
