//! What survives reopening, schema versions, corrupt values and the counters.

use super::*;
use crate::store::keys::{self, Tree};
use crate::store::{AckOutcome, Corruption, IncomingOutcome, RecordOutcome, StoreError, schema};

#[test]
fn everything_written_is_still_there_after_reopening() {
    let fx = Fixture::new();
    let sent = fx.submit(1, Some("doc-1"));
    let receipt = fx.receipt(&sent, RECIPIENTS[0], StatusCode::Arrived, 2);
    let mut delivered = outbox_entry(sent.id(), organ(RECIPIENTS[0]), DeliveryState::Delivered);
    delivered.delivered_at = Some(ts(2));
    assert_eq!(
        fx.store
            .record_receipt(&receipt, Some(&delivered))
            .expect("records"),
        RecordOutcome::New
    );
    let received = fx.package(10);
    let arrival = fx.receipt(&received, RECIPIENTS[0], StatusCode::Arrived, 11);
    assert_eq!(
        fx.store
            .accept_incoming(&received, &inbox_entry(&received, 11), &arrival)
            .expect("accepts"),
        IncomingOutcome::Stored
    );
    let also_received = fx.package(20);
    let also_arrival = fx.receipt(&also_received, RECIPIENTS[0], StatusCode::Arrived, 21);
    assert_eq!(
        fx.store
            .accept_incoming(
                &also_received,
                &inbox_entry(&also_received, 21),
                &also_arrival
            )
            .expect("accepts"),
        IncomingOutcome::Stored
    );
    assert_eq!(
        fx.store.ack(&also_received.id(), ts(22)).expect("acks"),
        AckOutcome::Acked
    );
    let counts = fx.store.counts().expect("counts");
    let outbox = fx.store.outbox(&sent.id()).expect("reads");

    let fx = fx.reopen();
    let store = &fx.store;
    assert_eq!(store.counts().expect("counts"), counts);
    assert_eq!(
        store.package(&sent.id()).expect("reads"),
        Some(sent.clone())
    );
    assert_eq!(
        store.outgoing(&sent.id()).expect("reads"),
        Some(meta(&sent, Some("doc-1"), ts(1)))
    );
    assert_eq!(store.outbox(&sent.id()).expect("reads"), outbox);
    assert_eq!(store.pending_outbox().expect("lists").len(), 1);
    assert_eq!(
        store.receipts(&sent.id()).expect("lists"),
        std::slice::from_ref(&receipt)
    );
    assert_eq!(
        store
            .packages_for_document(&organ(SENDER), "doc-1")
            .expect("lists"),
        [sent.id()]
    );
    assert_eq!(
        store.package(&received.id()).expect("reads"),
        Some(received.clone())
    );
    let unacked: Vec<_> = store
        .inbox(false)
        .expect("lists")
        .into_iter()
        .map(|e| e.package_id)
        .collect();
    assert_eq!(unacked, [received.id()]);
    assert_eq!(
        store
            .inbox_entry(&also_received.id())
            .expect("reads")
            .and_then(|e| e.acked_at),
        Some(ts(22))
    );
    // Idempotence holds across the restart too.
    let resend_arrival = fx.receipt(&received, RECIPIENTS[0], StatusCode::Arrived, 30);
    assert_eq!(
        store
            .accept_incoming(&received, &inbox_entry(&received, 30), &resend_arrival)
            .expect("accepts"),
        IncomingOutcome::Duplicate(arrival)
    );
    assert_eq!(
        store.record_receipt(&receipt, None).expect("records"),
        RecordOutcome::Duplicate
    );
    // Sequence numbers keep growing after a restart, so the order recorded holds.
    let later = fx.receipt(&sent, RECIPIENTS[1], StatusCode::Arrived, 1);
    assert_eq!(
        store.record_receipt(&later, None).expect("records"),
        RecordOutcome::New
    );
    assert_eq!(store.receipts(&sent.id()).expect("lists"), [receipt, later]);
}

#[test]
fn a_package_too_large_for_the_log_survives_reopening() {
    let fx = Fixture::new();
    // 2 MiB: past sled's log segment, and past the inline limit, so it goes to a file of
    // its own (see `package_files.rs`).
    let package = signed_package(&fx.key, 1, 2 << 20);
    let outcome = fx
        .store
        .submit(
            &package,
            &meta(&package, None, ts(1)),
            &entries(&package, DeliveryState::Queued),
        )
        .expect("submits");
    assert_eq!(outcome, crate::store::SubmitOutcome::Stored);
    let files = std::fs::read_dir(fx.dir.path().join(crate::store::package_files::FILES_DIR))
        .expect("the store made a directory of package files")
        .count();
    assert_eq!(files, 1, "the package went to a file of its own");
    let fx = fx.reopen();
    assert_eq!(
        fx.store.package(&package.id()).expect("reads"),
        Some(package)
    );
}

#[test]
fn a_new_store_gets_the_current_schema_version() {
    let fx = Fixture::new();
    let version = fx
        .store
        .db()
        .get(Tree::Meta, keys::SCHEMA_VERSION)
        .expect("reads")
        .expect("version is set");
    assert_eq!(&*version, &6u32.to_be_bytes());
    assert_eq!(schema::CURRENT, 6);
    // And it stays so across reopening.
    let fx = fx.reopen();
    assert_eq!(fx.store.counts().expect("counts"), Default::default());
}

#[test]
fn a_store_from_a_newer_version_is_refused() {
    let fx = Fixture::new();
    fx.store
        .db()
        .put_raw(Tree::Meta, keys::SCHEMA_VERSION, &7u32.to_be_bytes())
        .expect("plants version 7");
    let dir = fx.dir;
    drop(fx.store);
    match Store::open(dir.path()) {
        Err(
            error @ StoreError::SchemaTooNew {
                found: 7,
                supported: 6,
            },
        ) => assert_eq!(
            error.to_string(),
            "store schema version 7 is newer than version 6, the newest this lienthong reads"
        ),
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn a_version_without_a_migration_is_refused() {
    let fx = Fixture::new();
    fx.store
        .db()
        .put_raw(Tree::Meta, keys::SCHEMA_VERSION, &0u32.to_be_bytes())
        .expect("plants version 0");
    let dir = fx.dir;
    drop(fx.store);
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::SchemaUnsupported {
            found: 0,
            supported: 6
        })
    ));
}

#[test]
fn a_version_1_store_is_migrated_with_its_data() {
    let fx = Fixture::new();
    let package = fx.submit(1, Some("1/VPCP"));
    let receipt = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 5);
    let _ = fx.store.record_receipt(&receipt, None).expect("records");
    let mut refused = fx.store.outbox(&package.id()).expect("reads")[1].clone();
    refused.state = DeliveryState::Rejected;
    let _ = fx.store.update_outbox(&refused).expect("updates");
    // What a version 1 or 2 store holds: none of version 3's trees.
    for tree in [Tree::ReceiptLog, Tree::OutboxRejected] {
        let keys: Vec<_> = fx
            .store
            .db()
            .iter(tree)
            .map(|item| item.expect("reads").0.to_vec())
            .collect();
        assert!(!keys.is_empty(), "{tree:?} was written");
        fx.store
            .db()
            .transaction("clear", |tx| {
                for key in &keys {
                    tx.remove(tree, key)?;
                }
                Ok(())
            })
            .expect("clears");
    }
    fx.store
        .db()
        .put_raw(Tree::Meta, keys::SCHEMA_VERSION, &1u32.to_be_bytes())
        .expect("plants version 1");
    let fx = fx.reopen();
    let version = fx
        .store
        .db()
        .get(Tree::Meta, keys::SCHEMA_VERSION)
        .expect("reads")
        .expect("version is set");
    assert_eq!(&*version, &schema::CURRENT.to_be_bytes());
    assert_eq!(
        fx.store.package(&package.id()).expect("reads"),
        Some(package)
    );
    assert_eq!(fx.store.relay_counts().expect("counts"), Default::default());
    // Version 3's trees are rebuilt from the data.
    let page = fx
        .store
        .receipts_since(0, |_| true, 10, 100)
        .expect("reads the log");
    assert_eq!(page.receipts.len(), 1);
    assert_eq!(page.receipts[0].id(), receipt.id());
    assert_eq!(fx.store.rejected_outbox().expect("reads"), vec![refused]);
}

/// The problem of a [`StoreError::Corrupt`] in `tree`; panics on anything else.
fn corruption<T>(result: Result<T, StoreError>, expected_tree: &str) -> Corruption {
    match result {
        Err(StoreError::Corrupt { tree, key, problem }) => {
            assert_eq!(tree, expected_tree);
            assert!(!key.is_empty());
            problem
        }
        Err(other) => panic!("expected Corrupt, got {other}"),
        Ok(_) => panic!("expected Corrupt, got a value"),
    }
}

#[test]
fn corrupt_values_are_errors_not_panics() {
    let fx = Fixture::new();
    let package = fx.submit(1, None);
    let id = package.id();
    let db = fx.store.db();

    db.put_raw(Tree::Outgoing, id.as_bytes(), b"\x01\xff\xff\xff")
        .expect("plants garbage");
    assert!(matches!(
        corruption(fx.store.outgoing(&id), "outgoing"),
        Corruption::Undecodable { .. }
    ));
    assert!(matches!(
        corruption(fx.store.list_outgoing(10), "outgoing"),
        Corruption::Undecodable { .. }
    ));

    db.put_raw(Tree::Outgoing, id.as_bytes(), b"\x09future")
        .expect("plants a newer marker");
    assert!(matches!(
        corruption(fx.store.outgoing(&id), "outgoing"),
        Corruption::UnknownVersion { marker: 9 }
    ));

    db.put_raw(Tree::Packages, id.as_bytes(), b"\x01LTPK garbage")
        .expect("plants garbage");
    assert!(matches!(
        corruption(fx.store.package(&id), "packages"),
        Corruption::Envelope { .. }
    ));
    db.put_raw(Tree::Packages, id.as_bytes(), b"")
        .expect("plants nothing");
    assert!(matches!(
        corruption(fx.store.package_wire(&id), "packages"),
        Corruption::Empty
    ));

    // An index pointing at nothing.
    let stranger = keys::outbox(&PackageId::from_bytes([1; 32]), &organ("000.00.00.H99"));
    db.put_raw(Tree::OutboxPending, &stranger, b"")
        .expect("plants a dangling index entry");
    assert!(matches!(
        corruption(fx.store.pending_outbox(), "outbox_pending"),
        Corruption::Missing { .. }
    ));

    // An update of a corrupt entry is refused, not applied over it.
    let key = keys::outbox(&id, &organ(RECIPIENTS[0]));
    db.put_raw(Tree::Outbox, &key, b"\x01")
        .expect("plants a truncated entry");
    let update = outbox_entry(id, organ(RECIPIENTS[0]), DeliveryState::Delivered);
    assert!(matches!(
        corruption(fx.store.update_outbox(&update), "outbox"),
        Corruption::Undecodable { .. }
    ));
    assert_eq!(
        &*db.get(Tree::Outbox, &key)
            .expect("reads")
            .expect("still there"),
        b"\x01"
    );
}

#[test]
fn counters_match_the_trees() {
    let fx = Fixture::new();
    for n in 0..5 {
        let package = fx.submit(n, None);
        if n % 2 == 0 {
            let receipt = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, n);
            let mut update =
                outbox_entry(package.id(), organ(RECIPIENTS[0]), DeliveryState::Delivered);
            update.delivered_at = Some(ts(n));
            let _ = fx
                .store
                .record_receipt(&receipt, Some(&update))
                .expect("records");
        }
        let incoming = fx.package(100 + n);
        let arrival = fx.receipt(&incoming, RECIPIENTS[0], StatusCode::Arrived, n);
        let _ = fx
            .store
            .accept_incoming(&incoming, &inbox_entry(&incoming, n), &arrival)
            .expect("accepts");
        if n % 3 == 0 {
            let _ = fx.store.ack(&incoming.id(), ts(n)).expect("acks");
        }
    }
    let db = fx.store.db();
    let counts = fx.store.counts().expect("counts");
    assert_eq!(counts.outgoing as usize, db.len(Tree::Outgoing));
    assert_eq!(counts.pending_outbox as usize, db.len(Tree::OutboxPending));
    assert_eq!(counts.inbox_unacked as usize, db.len(Tree::InboxUnacked));
    assert_eq!(counts.receipts as usize, db.len(Tree::Receipts));
    assert_eq!(
        (
            counts.outgoing,
            counts.pending_outbox,
            counts.inbox_unacked,
            counts.receipts
        ),
        (5, 7, 3, 8)
    );
    assert!(fx.store.size_on_disk().expect("sizes") > 0);
}
