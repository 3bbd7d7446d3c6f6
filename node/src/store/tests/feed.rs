//! The axis feed: receipts addressed to the agency until QLVB collects them, the low-water
//! mark, and the migration from schema 3.

use super::*;
use crate::store::keys::{self, Tree};
use crate::store::{CollectOutcome, RecordOutcome};

/// Records `receipt`; it must be new.
fn record(fx: &Fixture, receipt: &SignedReceipt) {
    assert_eq!(
        fx.store.record_receipt(receipt, None).expect("records"),
        RecordOutcome::New
    );
}

/// The ids of the receipts the feed lists for the sender.
fn listed(fx: &Fixture) -> Vec<lienthong_protocol::ReceiptId> {
    fx.store
        .uncollected_receipts(&organ(SENDER), 100, 10_000)
        .expect("lists")
        .items
        .iter()
        .map(|item| item.receipt.id())
        .collect()
}

fn low_water(fx: &Fixture) -> u64 {
    fx.store
        .db()
        .get(Tree::Meta, &keys::feed_low_water(&organ(SENDER)))
        .expect("reads")
        .map_or(0, |v| {
            u64::from_be_bytes(v[..].try_into().expect("8 bytes"))
        })
}

#[test]
fn receipts_addressed_to_the_agency_are_listed_until_collected() {
    let fx = Fixture::new();
    let package = fx.submit(1, None);
    let arrived = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 1);
    let accepted = fx.receipt(&package, RECIPIENTS[0], StatusCode::Accepted, 2);
    // A take-back request is addressed to the recipient, not to the sender.
    let take_back = fx.receipt(&package, RECIPIENTS[1], StatusCode::TakeBackRequested, 3);
    for receipt in [&arrived, &take_back, &accepted] {
        record(&fx, receipt);
    }
    assert_eq!(listed(&fx), [arrived.id(), accepted.id()]);

    let sender = organ(SENDER);
    assert_eq!(
        fx.store
            .collect_receipt(&sender, &accepted.id())
            .expect("collects"),
        CollectOutcome::Collected
    );
    assert_eq!(listed(&fx), [arrived.id()]);
    assert_eq!(
        fx.store
            .collect_receipt(&sender, &accepted.id())
            .expect("collects"),
        CollectOutcome::AlreadyCollected
    );
    assert_eq!(
        fx.store
            .collect_receipt(&sender, &take_back.id())
            .expect("answers"),
        CollectOutcome::NotAddressed
    );
    assert_eq!(
        fx.store
            .collect_receipt(&sender, &lienthong_protocol::ReceiptId::from_bytes([9; 32]))
            .expect("answers"),
        CollectOutcome::Unknown
    );
    // The recipient's node sees the take-back request in its own feed.
    let recipient_feed = fx
        .store
        .uncollected_receipts(&organ(RECIPIENTS[1]), 100, 10_000)
        .expect("lists");
    assert_eq!(recipient_feed.items.len(), 1);
    assert_eq!(recipient_feed.items[0].receipt.id(), take_back.id());

    // Collections survive reopening.
    let fx = fx.reopen();
    assert_eq!(listed(&fx), [arrived.id()]);
    let position = fx
        .store
        .receipt_by_id(&accepted.id())
        .expect("reads")
        .expect("known")
        .position;
    assert!(
        fx.store
            .is_collected(&organ(SENDER), position)
            .expect("reads")
    );
}

#[test]
fn the_low_water_mark_passes_what_is_settled_and_forgets_it() {
    let fx = Fixture::new();
    let sender = organ(SENDER);
    let package = fx.submit(1, None);
    let receipts: Vec<SignedReceipt> = [
        StatusCode::Arrived,
        StatusCode::Accepted,
        StatusCode::Assigned,
    ]
    .into_iter()
    .enumerate()
    .map(|(n, code)| fx.receipt(&package, RECIPIENTS[0], code, n as u64))
    .collect();
    for receipt in &receipts {
        record(&fx, receipt);
    }
    // Collected out of order: the first one still holds the mark back.
    for receipt in &receipts[1..] {
        assert_eq!(
            fx.store
                .collect_receipt(&sender, &receipt.id())
                .expect("collects"),
            CollectOutcome::Collected
        );
    }
    assert_eq!(low_water(&fx), 0);
    assert_eq!(fx.store.db().len(Tree::FeedCollected), 2);
    assert_eq!(listed(&fx), [receipts[0].id()]);

    assert_eq!(
        fx.store
            .collect_receipt(&sender, &receipts[0].id())
            .expect("collects"),
        CollectOutcome::Collected
    );
    let end = fx.store.receipt_log_end().expect("reads");
    assert_eq!(low_water(&fx), end, "the mark moved over everything");
    assert_eq!(
        fx.store.db().len(Tree::FeedCollected),
        0,
        "nothing left to remember"
    );
    assert!(listed(&fx).is_empty());
    // Below the mark, a collection is still answered, and idempotent.
    assert_eq!(
        fx.store
            .collect_receipt(&sender, &receipts[1].id())
            .expect("answers"),
        CollectOutcome::AlreadyCollected
    );

    // Receipts for other agencies only move the mark when the feed is listed.
    let other = fx.receipt(&package, RECIPIENTS[1], StatusCode::TakeBackRequested, 9);
    record(&fx, &other);
    assert!(listed(&fx).is_empty());
    assert_eq!(low_water(&fx), fx.store.receipt_log_end().expect("reads"));
}

#[test]
fn a_listing_stops_at_its_limits_and_says_so() {
    let fx = Fixture::new();
    let package = fx.submit(1, None);
    let first = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 1);
    let second = fx.receipt(&package, RECIPIENTS[1], StatusCode::Arrived, 2);
    record(&fx, &first);
    record(&fx, &second);
    let page = fx
        .store
        .uncollected_receipts(&organ(SENDER), 1, 10_000)
        .expect("lists");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].receipt.id(), first.id());
    assert!(page.more);
    let page = fx
        .store
        .uncollected_receipts(&organ(SENDER), 10, 1)
        .expect("lists");
    assert_eq!(page.items.len(), 1);
    assert!(page.more, "the scan limit was reached");
    let page = fx
        .store
        .uncollected_receipts(&organ(SENDER), 10, 10)
        .expect("lists");
    assert_eq!(page.items.len(), 2);
    assert!(!page.more);
}

#[test]
fn a_schema_3_store_is_migrated_with_its_receipts_listed() {
    let fx = Fixture::new();
    let package = fx.submit(1, None);
    let arrived = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 1);
    let accepted = fx.receipt(&package, RECIPIENTS[1], StatusCode::Accepted, 2);
    record(&fx, &arrived);
    record(&fx, &accepted);
    // What a version 3 store holds: no feed state at all.
    assert!(
        fx.store
            .db()
            .get(Tree::Meta, &keys::feed_low_water(&organ(SENDER)))
            .expect("reads")
            .is_none()
    );
    assert!(fx.store.db().is_empty(Tree::FeedCollected).expect("reads"));
    fx.store
        .db()
        .put_raw(Tree::Meta, keys::SCHEMA_VERSION, &3u32.to_be_bytes())
        .expect("plants version 3");

    let fx = fx.reopen();
    let version = fx
        .store
        .db()
        .get(Tree::Meta, keys::SCHEMA_VERSION)
        .expect("reads")
        .expect("version is set");
    assert_eq!(&*version, &crate::store::SCHEMA_VERSION.to_be_bytes());
    assert_eq!(low_water(&fx), 0);
    assert_eq!(listed(&fx), [arrived.id(), accepted.id()]);

    // A migrated store opens as it is, its collections kept.
    assert_eq!(
        fx.store
            .collect_receipt(&organ(SENDER), &arrived.id())
            .expect("collects"),
        CollectOutcome::Collected
    );
    let fx = fx.reopen();
    assert_eq!(listed(&fx), [accepted.id()]);
}

#[test]
fn inbox_entries_are_found_from_a_time_on() {
    let fx = Fixture::new();
    let early = fx.package(1);
    let late = fx.package(2);
    for (package, at) in [(&early, 10), (&late, 20)] {
        let receipt = fx.receipt(package, RECIPIENTS[0], StatusCode::Arrived, at);
        let _ = fx
            .store
            .accept_incoming(package, &inbox_entry(package, at), &receipt)
            .expect("accepts");
    }
    let found: Vec<_> = fx
        .store
        .inbox_received_since(ts(15), 10)
        .expect("reads")
        .into_iter()
        .map(|e| e.package_id)
        .collect();
    assert_eq!(found, [late.id()]);
    assert_eq!(
        fx.store
            .inbox_received_since(ts(0), 1)
            .expect("reads")
            .len(),
        1
    );
}
