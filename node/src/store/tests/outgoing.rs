//! Submitting packages and the outbox.

use super::*;
use crate::store::{InputProblem, OutboxUpdate, StoreCounts, StoreError, SubmitOutcome};

#[test]
fn submit_then_reads_back_package_metadata_and_outbox() {
    let fx = Fixture::new();
    let package = fx.submit(1, Some("doc-1"));
    let id = package.id();

    assert_eq!(fx.store.package(&id).expect("reads"), Some(package.clone()));
    assert_eq!(
        fx.store.package_wire(&id).expect("reads"),
        Some(package.to_wire())
    );
    assert_eq!(
        fx.store.outgoing(&id).expect("reads"),
        Some(meta(&package, Some("doc-1"), ts(1)))
    );
    let mut expected = entries(&package, DeliveryState::Queued);
    expected.sort_by(|a, b| a.recipient.cmp(&b.recipient));
    assert_eq!(fx.store.outbox(&id).expect("reads"), expected);
    assert_eq!(
        fx.store.counts().expect("counts"),
        StoreCounts {
            outgoing: 1,
            pending_outbox: 2,
            inbox_unacked: 0,
            receipts: 0
        }
    );

    let unknown = PackageId::from_bytes([0; 32]);
    assert_eq!(fx.store.package(&unknown).expect("reads"), None);
    assert_eq!(fx.store.outgoing(&unknown).expect("reads"), None);
    assert!(fx.store.outbox(&unknown).expect("reads").is_empty());
}

#[test]
fn second_submit_is_already_stored_and_changes_nothing() {
    let fx = Fixture::new();
    let package = fx.submit(1, Some("doc-1"));
    let before = fx.store.counts().expect("counts");

    // Different metadata and entries: still the same package id, so nothing changes.
    let mut other_meta = meta(&package, Some("doc-2"), ts(99));
    other_meta.subject = None;
    let outcome = fx
        .store
        .submit(
            &package,
            &other_meta,
            &entries(&package, DeliveryState::Sending),
        )
        .expect("submits");
    assert_eq!(outcome, SubmitOutcome::AlreadyStored);

    assert_eq!(fx.store.counts().expect("counts"), before);
    assert_eq!(
        fx.store.outgoing(&package.id()).expect("reads"),
        Some(meta(&package, Some("doc-1"), ts(1)))
    );
    let outbox = fx.store.outbox(&package.id()).expect("reads");
    assert_eq!(outbox.len(), 2);
    assert!(outbox.iter().all(|e| e.state == DeliveryState::Queued));
    assert_eq!(fx.store.list_outgoing(10).expect("lists").len(), 1);
    assert_eq!(
        fx.store
            .packages_for_document(&organ(SENDER), "doc-1")
            .expect("lists"),
        [package.id()]
    );
    assert!(
        fx.store
            .packages_for_document(&organ(SENDER), "doc-2")
            .expect("lists")
            .is_empty()
    );
}

/// A QLVB that lost the answer submits the same bytes again; the node signs them anew, at
/// another time, so under another package id. The store keeps the first: one package per
/// content and sender, found again by its content, with or without a document id.
#[test]
fn the_same_content_signed_again_is_the_package_stored_first() {
    let fx = Fixture::new();
    let first = fx.submit(1, None);
    let again = SignedPackage::sign(
        &fx.key,
        PackageFields {
            created_at: ts(50),
            ..first.fields().clone()
        },
        first.content().clone(),
        &EnvelopeLimits::default(),
    )
    .expect("signs");
    assert_ne!(again.id(), first.id());
    let before = fx.store.counts().expect("counts");

    let outcome = fx
        .store
        .submit(
            &again,
            &meta(&again, None, ts(50)),
            &entries(&again, DeliveryState::Queued),
        )
        .expect("submits");

    assert_eq!(outcome, SubmitOutcome::SameContent(first.id()));
    assert_eq!(fx.store.counts().expect("counts"), before);
    assert_eq!(fx.store.outgoing(&again.id()).expect("reads"), None);
    assert_eq!(fx.store.package(&again.id()).expect("reads"), None);
    assert_eq!(
        fx.store
            .sent_with_content(&organ(SENDER), first.content_sha256())
            .expect("reads"),
        Some(first.id())
    );
    assert_eq!(
        fx.store
            .sent_with_content(&organ("000.00.00.H53"), first.content_sha256())
            .expect("reads"),
        None,
        "content is indexed per sender"
    );
    let with_id = fx.submit(2, Some("7816/VPCP-TTĐT"));
    assert_eq!(
        fx.store
            .sent_with_content(&organ(SENDER), with_id.content_sha256())
            .expect("reads"),
        Some(with_id.id()),
        "a package with a document id is found by its content too"
    );
    let fx = fx.reopen();
    assert_eq!(
        fx.store
            .sent_with_content(&organ(SENDER), first.content_sha256())
            .expect("reads"),
        Some(first.id()),
        "durable"
    );
}

#[test]
fn pending_outbox_lists_only_queued_sending_and_held_entries() {
    let fx = Fixture::new();
    let states = [
        DeliveryState::Queued,
        DeliveryState::Sending,
        DeliveryState::HeldAtRelay,
        DeliveryState::Delivered,
        DeliveryState::Rejected,
    ];
    let mut expected_pending = Vec::new();
    for (n, state) in (0..).zip(states) {
        let package = fx.package(n);
        let mut entries = entries(&package, DeliveryState::Queued);
        entries.truncate(1);
        entries[0].state = state;
        if state.is_pending() {
            expected_pending.push(entries[0].clone());
        }
        let outcome = fx
            .store
            .submit(&package, &meta(&package, None, ts(n)), &entries)
            .expect("submits");
        assert_eq!(outcome, SubmitOutcome::Stored);
    }
    let sort = |entries: &mut Vec<OutboxEntry>| entries.sort_by_key(|e| e.package_id);
    let mut pending = fx.store.pending_outbox().expect("lists");
    sort(&mut pending);
    sort(&mut expected_pending);
    assert_eq!(pending, expected_pending);
    assert_eq!(fx.store.counts().expect("counts").pending_outbox, 3);

    // Ending a delivery takes its entry out of the list.
    let mut delivered = expected_pending[0].clone();
    delivered.state = DeliveryState::Delivered;
    delivered.delivered_at = Some(ts(5));
    assert_eq!(
        fx.store.update_outbox(&delivered).expect("updates"),
        OutboxUpdate::Applied
    );
    let pending = fx.store.pending_outbox().expect("lists");
    assert_eq!(pending.len(), 2);
    assert!(!pending.contains(&expected_pending[0]));
    assert_eq!(fx.store.counts().expect("counts").pending_outbox, 2);

    // An entry that has ended is never made pending again: a late "retry later" from an
    // attempt that started before the receipt arrived keeps the stored entry.
    for ended in [delivered.clone(), {
        let refused = fx
            .store
            .outbox(&fx.package(4).id())
            .expect("reads")
            .remove(0);
        assert_eq!(refused.state, DeliveryState::Rejected);
        refused
    }] {
        let mut requeued = ended.clone();
        requeued.state = DeliveryState::Queued;
        requeued.attempts = 3;
        requeued.delivered_at = None;
        assert_eq!(
            fx.store.update_outbox(&requeued).expect("updates"),
            OutboxUpdate::KeptFinal
        );
        let stored = fx
            .store
            .outbox(&ended.package_id)
            .expect("reads")
            .into_iter()
            .find(|e| e.recipient == ended.recipient)
            .expect("entry");
        assert_eq!(stored, ended);
    }
    assert_eq!(fx.store.pending_outbox().expect("lists").len(), 2);
    assert_eq!(fx.store.counts().expect("counts").pending_outbox, 2);
}

#[test]
fn update_of_an_unknown_outbox_entry_fails_and_writes_nothing() {
    let fx = Fixture::new();
    let package = fx.submit(1, None);
    let before = fx.store.counts().expect("counts");

    let stranger = outbox_entry(
        package.id(),
        organ("000.00.00.H99"),
        DeliveryState::Delivered,
    );
    match fx.store.update_outbox(&stranger) {
        Err(StoreError::UnknownOutboxEntry {
            package_id,
            recipient,
        }) => {
            assert_eq!(package_id, package.id());
            assert_eq!(recipient, organ("000.00.00.H99"));
        }
        other => panic!("expected UnknownOutboxEntry, got {other:?}"),
    }
    let unsent = outbox_entry(
        PackageId::from_bytes([3; 32]),
        organ(RECIPIENTS[0]),
        DeliveryState::Queued,
    );
    assert!(matches!(
        fx.store.update_outbox(&unsent),
        Err(StoreError::UnknownOutboxEntry { .. })
    ));

    assert_eq!(fx.store.counts().expect("counts"), before);
    assert_eq!(fx.store.outbox(&package.id()).expect("reads").len(), 2);
    assert!(
        fx.store
            .outbox(&unsent.package_id)
            .expect("reads")
            .is_empty()
    );
}

#[test]
fn list_outgoing_is_newest_first_and_limited() {
    let fx = Fixture::new();
    // Submitted out of time order: the listing follows `submitted_at`.
    for n in [3, 1, 4, 2] {
        fx.submit(n, None);
    }
    let listed: Vec<_> = fx
        .store
        .list_outgoing(3)
        .expect("lists")
        .into_iter()
        .map(|p| p.submitted_at)
        .collect();
    assert_eq!(listed, [ts(4), ts(3), ts(2)]);
    assert_eq!(fx.store.list_outgoing(0).expect("lists"), []);
    assert_eq!(fx.store.list_outgoing(100).expect("lists").len(), 4);
}

#[test]
fn packages_for_document_lists_the_original_and_resends_in_order() {
    let fx = Fixture::new();
    let resend = fx.submit(7, Some("7816/VPCP-TTĐT"));
    let original = fx.submit(2, Some("7816/VPCP-TTĐT"));
    fx.submit(3, Some("7816/VPCP"));
    fx.submit(4, None);
    assert_eq!(
        fx.store
            .packages_for_document(&organ(SENDER), "7816/VPCP-TTĐT")
            .expect("lists"),
        [original.id(), resend.id()]
    );
    assert!(
        fx.store
            .packages_for_document(&organ("000.00.00.H53"), "7816/VPCP-TTĐT")
            .expect("lists")
            .is_empty()
    );
    assert!(
        fx.store
            .packages_for_document(&organ(SENDER), &"x".repeat(70_000))
            .expect("lists")
            .is_empty()
    );
}

#[test]
fn inconsistent_submissions_are_refused_and_write_nothing() {
    let fx = Fixture::new();
    let package = fx.package(1);
    let other = fx.package(2);
    let good_meta = meta(&package, None, ts(1));
    let good_entries = entries(&package, DeliveryState::Queued);

    let problem = |result: Result<SubmitOutcome, StoreError>| match result {
        Err(StoreError::InvalidInput {
            package_id,
            problem,
        }) => {
            assert_eq!(package_id, package.id());
            problem
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    };

    let wrong_meta = meta(&other, None, ts(1));
    assert_eq!(
        problem(fx.store.submit(&package, &wrong_meta, &good_entries)),
        InputProblem::PackageIdMismatch {
            record: "metadata",
            found: other.id()
        }
    );
    let foreign = entries(&other, DeliveryState::Queued);
    assert!(matches!(
        problem(fx.store.submit(&package, &good_meta, &foreign)),
        InputProblem::PackageIdMismatch {
            record: "outbox entry",
            ..
        }
    ));
    let stranger = [outbox_entry(
        package.id(),
        organ("000.00.00.H99"),
        DeliveryState::Queued,
    )];
    assert_eq!(
        problem(fx.store.submit(&package, &good_meta, &stranger)),
        InputProblem::NotARecipient {
            recipient: organ("000.00.00.H99")
        }
    );
    let twice = [good_entries[0].clone(), good_entries[0].clone()];
    assert!(matches!(
        problem(fx.store.submit(&package, &good_meta, &twice)),
        InputProblem::DuplicateRecipient { .. }
    ));
    let long_id = meta(&package, Some(&"x".repeat(257)), ts(1));
    assert_eq!(
        problem(fx.store.submit(&package, &long_id, &good_entries)),
        InputProblem::DocumentIdTooLong { len: 257, max: 256 }
    );

    assert_eq!(fx.store.counts().expect("counts"), StoreCounts::default());
    assert_eq!(fx.store.package(&package.id()).expect("reads"), None);
    assert_eq!(
        fx.store.sync_stats().syncs,
        0,
        "refused input is never synced"
    );
}
