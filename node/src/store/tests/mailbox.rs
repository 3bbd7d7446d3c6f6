//! A relay's mailbox and forward queue: held durably, idempotent, released only against
//! the recipient's receipt, which then waits for its sender.

use lienthong_protocol::StatusCode;
use lienthong_protocol::envelope::PackageId;

use super::{Fixture, RECIPIENTS, SENDER, organ, ts};
use crate::store::{HoldOutcome, MailboxEntry, RelayCounts};

fn entry(n: u8, recipient: &str, held_at: u64) -> MailboxEntry {
    MailboxEntry {
        package_id: PackageId::from_bytes([n; 32]),
        sender: organ(SENDER),
        recipient: organ(recipient),
        held_at: ts(held_at),
        size: 100 + u64::from(n),
        hold: vec![n; 8],
    }
}

#[test]
fn held_packages_survive_reopening_oldest_first_per_member() {
    let fx = Fixture::new();
    let [first_member, second_member] = RECIPIENTS;
    for (n, recipient, at) in [
        (1, first_member, 30),
        (2, first_member, 10),
        (3, second_member, 20),
    ] {
        let outcome = fx
            .store
            .hold(&entry(n, recipient, at), &[n; 64])
            .expect("holds");
        assert_eq!(outcome, HoldOutcome::Held);
    }
    let fx = fx.reopen();
    let held = fx.store.mailbox(&organ(first_member), 10).expect("lists");
    let ids: Vec<_> = held.iter().map(|h| h.entry.package_id).collect();
    assert_eq!(
        ids,
        [
            PackageId::from_bytes([2; 32]),
            PackageId::from_bytes([1; 32])
        ],
        "oldest first, only this member's"
    );
    assert_eq!(&held[0].sealed[..], &[2; 64][..]);
    assert_eq!(
        fx.store
            .mailbox(&organ(first_member), 1)
            .expect("lists")
            .len(),
        1
    );
    assert_eq!(
        fx.store.relay_counts().expect("counts"),
        RelayCounts {
            held: 3,
            held_bytes: 101 + 102 + 103,
            forward: 0
        }
    );
    let summary = fx.store.mailbox_summary().expect("summary");
    assert_eq!(summary.len(), 2);
    let first = summary
        .iter()
        .find(|s| s.recipient == organ(first_member))
        .expect("first member");
    assert_eq!((first.held, first.bytes, first.oldest), (2, 203, ts(10)));
}

#[test]
fn a_second_deposit_changes_nothing_and_gets_the_first_answer() {
    let fx = Fixture::new();
    let first = entry(1, RECIPIENTS[0], 10);
    assert_eq!(
        fx.store.hold(&first, b"sealed").expect("holds"),
        HoldOutcome::Held
    );
    let mut again = entry(1, RECIPIENTS[0], 99);
    again.hold = b"another answer".to_vec();
    assert_eq!(
        fx.store.hold(&again, b"other bytes").expect("answers"),
        HoldOutcome::AlreadyHeld(first.clone())
    );
    let held = fx.store.mailbox(&organ(RECIPIENTS[0]), 10).expect("lists");
    assert_eq!(held.len(), 1);
    assert_eq!(&held[0].sealed[..], b"sealed");
    assert_eq!(fx.store.relay_counts().expect("counts").held, 1);
    assert_eq!(
        fx.store
            .held(&first.package_id, &first.recipient)
            .expect("reads"),
        Some(first)
    );
}

#[test]
fn the_recipient_s_receipt_releases_the_package_and_waits_for_the_sender() {
    let fx = Fixture::new();
    let package = fx.package(1);
    let recipient = RECIPIENTS[0];
    let mut held = entry(0, recipient, 5);
    held.package_id = package.id();
    let _ = fx.store.hold(&held, b"sealed").expect("holds");
    let receipt = fx.receipt(&package, recipient, StatusCode::Arrived, 6);

    assert!(fx.store.release(&receipt).expect("releases"), "it was held");
    let fx = fx.reopen();
    assert!(
        fx.store
            .mailbox(&organ(recipient), 10)
            .expect("lists")
            .is_empty()
    );
    assert_eq!(
        fx.store
            .held(&package.id(), &organ(recipient))
            .expect("reads"),
        None
    );
    assert_eq!(
        fx.store
            .forward_queue_for(&organ(SENDER), 10)
            .expect("queue"),
        std::slice::from_ref(&receipt)
    );
    assert_eq!(
        fx.store.relay_counts().expect("counts"),
        RelayCounts {
            held: 0,
            held_bytes: 0,
            forward: 1
        }
    );

    // The same receipt again (a retried acknowledgement) queues nothing more.
    assert!(
        !fx.store.release(&receipt).expect("answers"),
        "no longer held"
    );
    fx.store.queue_forward(&receipt).expect("queues");
    assert_eq!(
        fx.store
            .forward_queue_for(&organ(SENDER), 10)
            .expect("queue")
            .len(),
        1
    );

    fx.store.forwarded(&receipt).expect("drops");
    fx.store.forwarded(&receipt).expect("drops again: no-op");
    let fx = fx.reopen();
    assert!(
        fx.store
            .forward_queue_for(&organ(SENDER), 10)
            .expect("queue")
            .is_empty()
    );
    assert_eq!(fx.store.relay_counts().expect("counts").forward, 0);
}

#[test]
fn a_sender_records_where_its_package_is_held() {
    let fx = Fixture::new();
    let package = fx.submit(1, None);
    let recipient = organ(RECIPIENTS[1]);
    assert_eq!(
        fx.store.hold_of(&package.id(), &recipient).expect("reads"),
        None
    );
    fx.store
        .record_hold(&package.id(), &recipient, b"signed hold")
        .expect("records");
    let fx = fx.reopen();
    assert_eq!(
        fx.store
            .hold_of(&package.id(), &recipient)
            .expect("reads")
            .as_deref(),
        Some(&b"signed hold"[..])
    );
}
