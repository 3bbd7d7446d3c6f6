//! The evidence log: one leaf per fact, appended with the fact, and a frontier that
//! survives reopening.

use std::collections::HashSet;

use lienthong_protocol::tlog;

use super::concurrency::all_at_once;
use super::*;
use crate::store::keys::{self, Tree};
use crate::store::{
    EvidenceLeaf, Fact, HoldOutcome, IncomingOutcome, MailboxEntry, RecordOutcome, StoredLeaf,
};

fn leaves(store: &Store) -> Vec<StoredLeaf> {
    store.evidence_leaves(0, usize::MAX).expect("reads leaves")
}

fn facts(store: &Store) -> Vec<Fact> {
    leaves(store)
        .iter()
        .map(|leaf| leaf.leaf().expect("decodes").fact)
        .collect()
}

/// The frontier agrees with the leaves: same size, same root as computed from scratch.
fn assert_frontier_matches_leaves(store: &Store) {
    let tree = store.evidence_tree().expect("reads the frontier");
    let stored = leaves(store);
    assert_eq!(tree.size(), stored.len() as u64);
    let hashes: Vec<_> = stored.iter().map(|leaf| leaf.hash).collect();
    for leaf in &stored {
        assert_eq!(
            leaf.hash,
            tlog::leaf_hash(&leaf.data),
            "leaf {}",
            leaf.index
        );
    }
    assert_eq!(tree.root(), tlog::root(&hashes));
    assert_eq!(
        store.evidence_hashes(0..tree.size()).expect("hashes"),
        hashes
    );
}

#[test]
fn every_fact_gets_one_leaf_in_order() {
    let fx = Fixture::new();
    assert_eq!(fx.store.evidence_size().unwrap(), 0);
    let sent = fx.submit(1, Some("doc"));
    // Submitting it again is no new fact.
    let again = fx
        .store
        .submit(
            &sent,
            &meta(&sent, Some("doc"), ts(1)),
            &entries(&sent, DeliveryState::Queued),
        )
        .unwrap();
    assert_eq!(again, crate::store::SubmitOutcome::AlreadyStored);

    let arrived = fx.package(2);
    let receipt01 = fx.receipt(&arrived, RECIPIENTS[0], StatusCode::Arrived, 2);
    let outcome = fx
        .store
        .accept_incoming(&arrived, &inbox_entry(&arrived, 2), &receipt01)
        .unwrap();
    assert_eq!(outcome, IncomingOutcome::Stored);
    let duplicate = fx
        .store
        .accept_incoming(&arrived, &inbox_entry(&arrived, 3), &receipt01)
        .unwrap();
    assert!(matches!(duplicate, IncomingOutcome::Duplicate(_)));

    let answer = fx.receipt(&sent, RECIPIENTS[0], StatusCode::Arrived, 4);
    assert_eq!(
        fx.store.record_receipt(&answer, None).unwrap(),
        RecordOutcome::New
    );
    assert_eq!(
        fx.store.record_receipt(&answer, None).unwrap(),
        RecordOutcome::Duplicate
    );
    fx.store
        .record_hold(&sent.id(), &organ(RECIPIENTS[1]), b"hold")
        .unwrap();
    fx.store
        .record_hold(&sent.id(), &organ(RECIPIENTS[1]), b"hold")
        .unwrap();
    assert_eq!(
        fx.store.log_roster(3, [3; 32], ts(5)).unwrap(),
        Some(5),
        "the sixth leaf"
    );
    assert_eq!(fx.store.log_roster(3, [3; 32], ts(6)).unwrap(), None);
    assert_eq!(fx.store.log_roster(2, [2; 32], ts(6)).unwrap(), None);

    let facts = facts(&fx.store);
    assert_eq!(
        facts,
        vec![
            Fact::PackageSubmitted {
                package: sent.id(),
                content_sha256: *sent.content_sha256(),
            },
            Fact::PackageReceived {
                package: arrived.id(),
                content_sha256: *arrived.content_sha256(),
            },
            Fact::ReceiptSigned {
                receipt: receipt01.id(),
                package: arrived.id(),
            },
            Fact::ReceiptRecorded {
                receipt: answer.id(),
                package: sent.id(),
            },
            Fact::HoldRecorded {
                package: sent.id(),
                hold_sha256: crate::store::evidence::sha256(b"hold"),
                recipient: organ(RECIPIENTS[1]),
            },
            Fact::RosterTaken {
                serial: 3,
                roster_sha256: [3; 32],
            },
        ]
    );
    let submitted = fx.store.evidence_leaf(0).unwrap().expect("leaf 0");
    assert_eq!(
        submitted.leaf().unwrap(),
        EvidenceLeaf::new(
            ts(1),
            Fact::PackageSubmitted {
                package: sent.id(),
                content_sha256: *sent.content_sha256(),
            }
        )
    );
    assert_eq!(fx.store.evidence_leaf(6).unwrap(), None);
    assert_frontier_matches_leaves(&fx.store);
}

#[test]
fn the_frontier_survives_reopening_and_the_log_goes_on() {
    let fx = Fixture::new();
    for n in 0..5 {
        fx.submit(n, None);
    }
    let before = fx.store.evidence_tree().unwrap();
    let fx = fx.reopen();
    assert_eq!(fx.store.evidence_tree().unwrap(), before);
    for n in 5..13 {
        fx.submit(n, None);
    }
    assert_eq!(fx.store.evidence_size().unwrap(), 13);
    assert_frontier_matches_leaves(&fx.store);

    // The tree after reopening extends the one before it.
    let hashes = fx.store.evidence_hashes(0..13).unwrap();
    let proof = tlog::consistency_proof(&hashes, 5).unwrap();
    tlog::verify_consistency(
        5,
        13,
        &before.root(),
        &fx.store.evidence_tree().unwrap().root(),
        &proof,
    )
    .expect("consistent");
}

#[test]
fn a_group_commit_gives_each_fact_its_own_index() {
    let fx = Fixture::new();
    let key = AgencyKey::generate().unwrap();
    let packages: Vec<SignedPackage> = (0..24).map(|n| signed_package(&key, n, 0)).collect();
    let store = &fx.store;
    all_at_once(packages.clone(), |package| {
        store
            .submit(
                &package,
                &meta(&package, None, package.created_at()),
                &entries(&package, DeliveryState::Queued),
            )
            .expect("submits")
    });
    let logged: HashSet<PackageId> = facts(store)
        .iter()
        .filter_map(|fact| fact.package().copied())
        .collect();
    assert_eq!(store.evidence_size().unwrap(), 24);
    assert_eq!(
        logged,
        packages
            .iter()
            .map(SignedPackage::id)
            .collect::<HashSet<_>>()
    );
    assert_frontier_matches_leaves(store);
}

#[test]
fn checkpoints_are_kept_by_size_and_the_latest_is_found() {
    let fx = Fixture::new();
    assert_eq!(fx.store.latest_checkpoint().unwrap(), None);
    fx.store.record_checkpoint(2, b"note at 2").unwrap();
    fx.store.record_checkpoint(300, b"note at 300").unwrap();
    fx.store.record_checkpoint(17, b"note at 17").unwrap();
    let fx = fx.reopen();
    let (size, note) = fx.store.latest_checkpoint().unwrap().expect("one");
    assert_eq!((size, &note[..]), (300, &b"note at 300"[..]));
    assert_eq!(
        fx.store.checkpoint_at(17).unwrap().as_deref(),
        Some(&b"note at 17"[..])
    );
    assert_eq!(fx.store.checkpoint_at(18).unwrap(), None);
}

#[test]
fn checkpoints_above_a_leaf_come_newest_first() {
    let fx = Fixture::new();
    for size in [2, 5, 9, 14] {
        fx.store.record_checkpoint(size, b"note").unwrap();
    }
    assert_eq!(fx.store.checkpoint_sizes_above(4, 64).unwrap(), [14, 9, 5]);
    assert_eq!(fx.store.checkpoint_sizes_above(4, 2).unwrap(), [14, 9]);
    assert!(fx.store.checkpoint_sizes_above(14, 64).unwrap().is_empty());
}

#[test]
fn the_leaves_about_a_package_are_found_in_order() {
    let fx = Fixture::new();
    let first = fx.submit(1, Some("doc 1"));
    let second = fx.submit(2, Some("doc 2"));
    let about = fx.store.evidence_leaves_about(&first.id()).unwrap();
    assert!(!about.is_empty());
    for leaf in &about {
        assert_eq!(leaf.leaf().unwrap().fact.package(), Some(&first.id()));
    }
    assert!(about.windows(2).all(|w| w[0].index < w[1].index));
    let other = fx.store.evidence_leaves_about(&second.id()).unwrap();
    assert!(other.iter().all(|l| !about.contains(l)));
}

#[test]
fn hashes_past_the_end_are_refused() {
    let fx = Fixture::new();
    fx.submit(1, None);
    assert!(fx.store.evidence_hashes(0..2).is_err());
    assert_eq!(
        fx.store.evidence_hashes(1..1).unwrap(),
        Vec::<[u8; 32]>::new()
    );
}

#[test]
fn a_schema_5_store_starts_its_log_with_what_it_held() {
    let fx = Fixture::new();
    fx.submit(1, None);
    fx.submit(2, None);
    // Back to schema 5: no log.
    fx.store
        .db()
        .put_raw(Tree::Meta, keys::SCHEMA_VERSION, &5u32.to_be_bytes())
        .unwrap();
    fx.store.db().clear_raw(Tree::EvidenceLeaves).unwrap();
    fx.store
        .db()
        .remove_raw(Tree::Meta, crate::store::evidence::EVIDENCE_TREE)
        .unwrap();
    let fx = fx.reopen();
    assert_eq!(
        facts(&fx.store),
        vec![Fact::LogStarted {
            outgoing: 2,
            inbox: 0,
            receipts: 0
        }]
    );
    fx.submit(3, None);
    assert_eq!(fx.store.evidence_size().unwrap(), 2);
    assert_frontier_matches_leaves(&fx.store);
}

#[test]
fn a_relay_logs_what_it_holds_once() {
    let fx = Fixture::new();
    let entry = MailboxEntry {
        package_id: PackageId::from_bytes([4; 32]),
        sender: organ(SENDER),
        recipient: organ(RECIPIENTS[0]),
        held_at: ts(9),
        size: 6,
        hold: vec![1; 8],
    };
    assert_eq!(fx.store.hold(&entry, b"sealed").unwrap(), HoldOutcome::Held);
    assert!(matches!(
        fx.store.hold(&entry, b"sealed").unwrap(),
        HoldOutcome::AlreadyHeld(_)
    ));
    assert_eq!(
        facts(&fx.store),
        vec![Fact::PackageHeld {
            package: entry.package_id,
            sealed_sha256: crate::store::evidence::sha256(b"sealed"),
            recipient: entry.recipient.clone(),
        }]
    );
}
