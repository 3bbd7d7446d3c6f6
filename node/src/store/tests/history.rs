//! Packages sent and received over a period, for reports.

use super::*;
use crate::store::ReceiptFact;

fn fact(receipt: &SignedReceipt) -> ReceiptFact {
    ReceiptFact {
        recipient: receipt.recipient().clone(),
        issuer: receipt.issuer().clone(),
        code: receipt.code(),
        issued_at: receipt.issued_at(),
    }
}

#[test]
fn sent_between_reads_the_period_only_with_outbox_and_receipts() {
    let fx = Fixture::new();
    let first = fx.submit(1, Some("doc-1"));
    let second = fx.submit(2, Some("doc-2"));
    let third = fx.submit(3, None);
    let arrived = fx.receipt(&second, RECIPIENTS[0], StatusCode::Arrived, 20);
    let mut delivered = outbox_entry(second.id(), organ(RECIPIENTS[0]), DeliveryState::Delivered);
    delivered.delivered_at = Some(ts(20));
    let _ = fx
        .store
        .record_receipt(&arrived, Some(&delivered))
        .expect("records");
    let completed = fx.receipt(&second, RECIPIENTS[0], StatusCode::Completed, 30);
    let _ = fx.store.record_receipt(&completed, None).expect("records");

    // The start is included, the end is not.
    let found = fx.store.sent_between(ts(2)..ts(3)).expect("reads");
    assert_eq!(found.len(), 1);
    let only = &found[0];
    assert_eq!(only.package, meta(&second, Some("doc-2"), ts(2)));
    let mut outbox = fx.store.outbox(&second.id()).expect("reads");
    outbox.sort_by(|a, b| a.recipient.cmp(&b.recipient));
    assert_eq!(only.outbox, outbox);
    assert!(only.outbox.contains(&delivered));
    assert_eq!(only.receipts, [fact(&arrived), fact(&completed)]);

    let all: Vec<PackageId> = fx
        .store
        .sent_between(ts(0)..ts(4))
        .expect("reads")
        .iter()
        .map(|s| s.package.package_id)
        .collect();
    assert_eq!(all, [first.id(), second.id(), third.id()], "oldest first");
    assert!(
        fx.store
            .sent_between(ts(4)..ts(99))
            .expect("reads")
            .is_empty()
    );
    assert!(
        fx.store
            .sent_between(ts(2)..ts(2))
            .expect("reads")
            .is_empty()
    );
}

#[test]
fn received_between_keeps_only_this_agency_s_receipts() {
    let fx = Fixture::new();
    let ours = organ(RECIPIENTS[0]);
    let early = fx.package(1);
    let late = fx.package(2);
    let early_01 = fx.receipt(&early, RECIPIENTS[0], StatusCode::Arrived, 10);
    let late_01 = fx.receipt(&late, RECIPIENTS[0], StatusCode::Arrived, 50);
    let _ = fx
        .store
        .accept_incoming(&early, &inbox_entry(&early, 10), &early_01)
        .expect("accepts");
    let _ = fx
        .store
        .accept_incoming(&late, &inbox_entry(&late, 50), &late_01)
        .expect("accepts");
    // This agency's QLVB finished the early one; the other recipient's status about it
    // (as a monitoring node keeps it) is not this agency's.
    let done = fx.receipt(&early, RECIPIENTS[0], StatusCode::Completed, 40);
    let theirs = fx.receipt(&early, RECIPIENTS[1], StatusCode::Accepted, 41);
    let _ = fx.store.record_receipt(&done, None).expect("records");
    let _ = fx.store.record_receipt(&theirs, None).expect("records");

    let found = fx
        .store
        .received_between(ts(0)..ts(50), &ours)
        .expect("reads");
    assert_eq!(found.len(), 1, "the late one is at the end, excluded");
    assert_eq!(found[0].entry, inbox_entry(&early, 10));
    assert_eq!(found[0].receipts, [fact(&early_01), fact(&done)]);

    let both = fx
        .store
        .received_between(ts(0)..ts(51), &ours)
        .expect("reads");
    assert_eq!(both.len(), 2);
    assert_eq!(both[1].receipts, [fact(&late_01)]);

    // Nothing sent from here: no outgoing records in the same period.
    assert!(
        fx.store
            .sent_between(ts(0)..ts(51))
            .expect("reads")
            .is_empty()
    );
}

#[test]
fn history_survives_a_reopen() {
    let fx = Fixture::new();
    let package = fx.submit(7, Some("doc-7"));
    let fx = fx.reopen();
    let found = fx.store.sent_between(ts(7)..ts(8)).expect("reads");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].package.package_id, package.id());
    assert_eq!(found[0].outbox.len(), 2);
}
