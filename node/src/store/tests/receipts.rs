//! Recording receipts.

use super::*;
use crate::store::{InputProblem, RecordOutcome, StoreError};

/// The outbox entry of `package` for the first recipient.
fn entry_of(fx: &Fixture, package: &SignedPackage) -> OutboxEntry {
    fx.store
        .outbox(&package.id())
        .expect("reads")
        .into_iter()
        .find(|e| e.recipient == organ(RECIPIENTS[0]))
        .expect("entry exists")
}

#[test]
fn receipt_with_outbox_update_is_atomic_and_idempotent() {
    let fx = Fixture::new();
    let package = fx.submit(1, None);
    let receipt = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 5);
    let mut delivered = outbox_entry(package.id(), organ(RECIPIENTS[0]), DeliveryState::Delivered);
    delivered.delivered_at = Some(ts(5));

    assert_eq!(
        fx.store
            .record_receipt(&receipt, Some(&delivered))
            .expect("records"),
        RecordOutcome::New
    );
    assert_eq!(entry_of(&fx, &package), delivered);
    let counts = fx.store.counts().expect("counts");
    assert_eq!((counts.receipts, counts.pending_outbox), (1, 1));

    // A replay carrying a stale update: nothing changes, not even the outbox.
    let stale = outbox_entry(package.id(), organ(RECIPIENTS[0]), DeliveryState::Queued);
    assert_eq!(
        fx.store
            .record_receipt(&receipt, Some(&stale))
            .expect("records"),
        RecordOutcome::Duplicate
    );
    assert_eq!(entry_of(&fx, &package), delivered);
    assert_eq!(fx.store.counts().expect("counts"), counts);

    // The same receipt again by gossip, with nothing to move: a duplicate, and still
    // synced before the answer, so the recording it found is durable.
    let syncs = fx.store.sync_stats().syncs;
    assert_eq!(
        fx.store.record_receipt(&receipt, None).expect("records"),
        RecordOutcome::Duplicate
    );
    assert_eq!(fx.store.sync_stats().syncs, syncs + 1);
    assert_eq!(entry_of(&fx, &package), delivered);
    assert_eq!(fx.store.counts().expect("counts"), counts);
    assert_eq!(fx.store.receipts(&package.id()).expect("lists"), [receipt]);
}

#[test]
fn a_known_receipt_still_ends_a_delivery_made_pending_again_meanwhile() {
    // The receipt 01 arrived by one path while the delivery engine, on another, was
    // rescheduling the entry; its next attempt is answered with the same receipt.
    let fx = Fixture::new();
    let package = fx.submit(1, None);
    let receipt = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 5);
    assert_eq!(
        fx.store.record_receipt(&receipt, None).expect("records"),
        RecordOutcome::New
    );
    let mut delivered = outbox_entry(package.id(), organ(RECIPIENTS[0]), DeliveryState::Delivered);
    delivered.delivered_at = Some(ts(6));
    assert_eq!(
        fx.store
            .record_receipt(&receipt, Some(&delivered))
            .expect("records"),
        RecordOutcome::Duplicate
    );
    let entry = entry_of(&fx, &package);
    assert_eq!(entry, delivered);
    assert_eq!(fx.store.counts().expect("counts").pending_outbox, 1);
    assert_eq!(
        fx.store.receipts(&package.id()).expect("lists"),
        std::slice::from_ref(&receipt)
    );

    // Once ended, a replay with another delivery time changes nothing.
    let mut later = delivered.clone();
    later.delivered_at = Some(ts(9));
    assert_eq!(
        fx.store
            .record_receipt(&receipt, Some(&later))
            .expect("records"),
        RecordOutcome::Duplicate
    );
    let entry = entry_of(&fx, &package);
    assert_eq!(entry, delivered);
}

#[test]
fn a_failing_outbox_update_leaves_no_receipt_behind() {
    let fx = Fixture::new();
    // Never submitted: the update names no entry, so the receipt must not be stored either.
    let package = fx.package(1);
    let receipt = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 5);
    let update = outbox_entry(package.id(), organ(RECIPIENTS[0]), DeliveryState::Delivered);
    assert!(matches!(
        fx.store.record_receipt(&receipt, Some(&update)),
        Err(StoreError::UnknownOutboxEntry { .. })
    ));
    assert_eq!(fx.store.receipts(&package.id()).expect("lists"), []);
    assert_eq!(fx.store.counts().expect("counts").receipts, 0);
    // And since nothing was recorded, the same receipt is still new afterwards.
    assert_eq!(
        fx.store.record_receipt(&receipt, None).expect("records"),
        RecordOutcome::New
    );
}

#[test]
fn receipts_list_in_the_order_recorded() {
    let fx = Fixture::new();
    let package = fx.submit(1, None);
    // Issued in the opposite order to their recording: recording order wins.
    let receipts = [
        fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 30),
        fx.receipt(&package, RECIPIENTS[1], StatusCode::Arrived, 20),
        fx.receipt(&package, RECIPIENTS[0], StatusCode::Accepted, 10),
    ];
    for receipt in &receipts {
        assert_eq!(
            fx.store.record_receipt(receipt, None).expect("records"),
            RecordOutcome::New
        );
    }
    // Another package's receipts stay apart.
    let other = fx.submit(2, None);
    let unrelated = fx.receipt(&other, RECIPIENTS[0], StatusCode::Arrived, 1);
    assert_eq!(
        fx.store.record_receipt(&unrelated, None).expect("records"),
        RecordOutcome::New
    );
    assert_eq!(fx.store.receipts(&package.id()).expect("lists"), receipts);
    assert_eq!(fx.store.receipts(&other.id()).expect("lists"), [unrelated]);
    assert_eq!(fx.store.counts().expect("counts").receipts, 4);
}

#[test]
fn an_update_for_another_recipient_is_refused() {
    let fx = Fixture::new();
    let package = fx.submit(1, None);
    let receipt = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 5);
    let wrong = outbox_entry(package.id(), organ(RECIPIENTS[1]), DeliveryState::Delivered);
    match fx.store.record_receipt(&receipt, Some(&wrong)) {
        Err(StoreError::InvalidInput {
            problem: InputProblem::RecipientMismatch { expected, found },
            ..
        }) => {
            assert_eq!(expected, organ(RECIPIENTS[0]));
            assert_eq!(found, organ(RECIPIENTS[1]));
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert_eq!(fx.store.receipts(&package.id()).expect("lists"), []);
}

#[test]
fn a_batch_of_receipts_is_recorded_once_each_with_one_sync() {
    let fx = Fixture::new();
    let package = fx.submit(1, None);
    let first = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 5);
    assert_eq!(
        fx.store.record_receipt(&first, None).expect("records"),
        RecordOutcome::New
    );
    let batch = [
        first.clone(),
        fx.receipt(&package, RECIPIENTS[1], StatusCode::Arrived, 6),
        fx.receipt(&package, RECIPIENTS[0], StatusCode::Accepted, 7),
    ];
    let syncs = fx.store.sync_stats().syncs;
    assert_eq!(
        fx.store.record_receipts(&batch).expect("records"),
        [
            RecordOutcome::Duplicate,
            RecordOutcome::New,
            RecordOutcome::New
        ]
    );
    assert_eq!(fx.store.sync_stats().syncs, syncs + 1);
    assert_eq!(fx.store.receipts(&package.id()).expect("lists"), batch);
    assert_eq!(fx.store.counts().expect("counts").receipts, 3);
    // Again: nothing new, nothing counted twice.
    assert_eq!(
        fx.store.record_receipts(&batch).expect("records"),
        [RecordOutcome::Duplicate; 3]
    );
    assert_eq!(fx.store.counts().expect("counts").receipts, 3);
    assert_eq!(fx.store.record_receipts(&[]).expect("records"), []);
}

#[test]
fn a_sync_cursor_is_kept_without_a_flush_of_its_own_and_survives_reopening() {
    let fx = Fixture::new();
    let peer = organ(RECIPIENTS[1]);
    assert_eq!(fx.store.sync_cursor(&peer).expect("reads"), 0, "none yet");
    let before = fx.store.sync_stats();
    fx.store.set_sync_cursor(&peer, 41).expect("writes");
    fx.store.set_sync_cursor(&peer, 42).expect("moves");
    assert_eq!(fx.store.sync_cursor(&peer).expect("reads"), 42);
    assert_eq!(
        fx.store.sync_stats(),
        before,
        "a cursor asks for no flush: losing one only repeats a catch-up"
    );
    // The next durable write carries it to disk with everything else.
    fx.submit(1, None);
    let fx = fx.reopen();
    assert_eq!(fx.store.sync_cursor(&peer).expect("reads"), 42);
}
