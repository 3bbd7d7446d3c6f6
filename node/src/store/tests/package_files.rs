//! Large packages in files of their own: stored once, read back and checked, swept when
//! nothing references them, carried by backups; a relay's large sealed packages the same
//! way, removed once released.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::store::package_files::{FILES_DIR, INLINE_LIMIT};
use crate::store::{
    BackupSummary, HoldOutcome, IncomingOutcome, MailboxEntry, STORE_DIR, StoreError,
    SubmitOutcome, verify_copy,
};

/// Content padding that puts a package above the inline limit.
const LARGE: usize = INLINE_LIMIT + 4096;

/// The package files in the store at `dir`, sorted.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = match fs::read_dir(dir.join(FILES_DIR)) {
        Ok(entries) => entries.map(|e| e.expect("lists").path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// Backs the store up and checks that the copy holds one package file and matches its
/// manifest; the copy's store directory and the manifest.
fn backup_with_one_file(fx: &Fixture) -> (PathBuf, BackupSummary) {
    let backup = fx.dir.path().join("backup");
    let summary = fx.store.backup(&backup).expect("backs up");
    let copy = backup.join(STORE_DIR);
    assert_eq!(files_in(&copy).len(), 1);
    verify_copy(&copy, &summary).expect("the copy matches");
    (copy, summary)
}

fn submit(fx: &Fixture, package: &SignedPackage) -> SubmitOutcome {
    fx.store
        .submit(
            package,
            &meta(package, None, ts(0)),
            &entries(package, DeliveryState::Queued),
        )
        .expect("submits")
}

#[test]
fn a_large_package_is_written_to_one_file_and_a_small_one_is_not() {
    let fx = Fixture::new();
    let small = signed_package(&fx.key, 1, 0);
    assert_eq!(submit(&fx, &small), SubmitOutcome::Stored);
    assert!(files_in(fx.dir.path()).is_empty());

    let large = signed_package(&fx.key, 2, LARGE);
    assert_eq!(submit(&fx, &large), SubmitOutcome::Stored);
    // A resend finds it stored and writes no second file.
    assert_eq!(submit(&fx, &large), SubmitOutcome::AlreadyStored);
    let files = files_in(fx.dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        fs::metadata(&files[0]).expect("stat").len(),
        large.to_wire().len() as u64
    );
    assert!(fx.store.size_on_disk().expect("size") > large.to_wire().len() as u64);

    let fx = fx.reopen();
    assert_eq!(
        fx.store.package(&large.id()).expect("reads"),
        Some(large.clone())
    );
    assert_eq!(
        fx.store.package_to_send(&large.id()).expect("reads"),
        Some(large.clone())
    );
    assert_eq!(
        fx.store.package_wire(&large.id()).expect("reads"),
        Some(large.to_wire())
    );
    assert_eq!(fx.store.package(&small.id()).expect("reads"), Some(small));
    assert_eq!(
        files_in(fx.dir.path()),
        files,
        "the sweep keeps a referenced file"
    );
}

#[test]
fn a_large_incoming_package_is_accepted_once_into_one_file() {
    let fx = Fixture::new();
    let package = signed_package(&fx.key, 1, LARGE);
    let receipt = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 10);
    let outcome = fx
        .store
        .accept_incoming(&package, &inbox_entry(&package, 10), &receipt)
        .expect("accepts");
    assert_eq!(outcome, IncomingOutcome::Stored);
    let outcome = fx
        .store
        .accept_incoming(&package, &inbox_entry(&package, 20), &receipt)
        .expect("accepts");
    assert_eq!(outcome, IncomingOutcome::Duplicate(receipt));
    assert_eq!(files_in(fx.dir.path()).len(), 1);
    assert_eq!(
        fx.store.package(&package.id()).expect("reads"),
        Some(package)
    );
}

/// What a crash between a file's write and its transaction leaves, and a replaced
/// package's old file: both are removed when the store opens, the referenced one stays.
#[test]
fn files_nothing_references_are_swept_when_the_store_opens() {
    let fx = Fixture::new();
    let kept = signed_package(&fx.key, 1, LARGE);
    assert_eq!(submit(&fx, &kept), SubmitOutcome::Stored);
    let referenced = files_in(fx.dir.path());

    // Signed again after a key rotation: same id, a new file; the old one stays while the
    // store is open, since a backup under way may be copying it.
    let rotated = signed_package(&AgencyKey::generate().expect("key"), 1, LARGE);
    assert_eq!(rotated.id(), kept.id());
    assert_ne!(rotated.to_wire(), kept.to_wire());
    fx.store.replace_package(&rotated).expect("replaces");
    assert_eq!(files_in(fx.dir.path()).len(), 2);
    assert_eq!(
        fx.store.package(&kept.id()).expect("reads"),
        Some(rotated.clone())
    );

    // A file whose transaction never committed, and a file of an operator's.
    let stray = fx.dir.path().join(FILES_DIR).join(format!(
        "{}.00000000000000ff",
        hex::encode(signed_package(&fx.key, 9, 0).id().as_bytes())
    ));
    fs::write(&stray, b"half a package").expect("writes");
    let note = fx.dir.path().join(FILES_DIR).join("NOTE.txt");
    fs::write(&note, b"kept").expect("writes");

    let fx = fx.reopen();
    let left = files_in(fx.dir.path());
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.contains(&note));
    assert!(!left.contains(&stray));
    assert!(!left.contains(&referenced[0]), "the replaced file is swept");
    assert_eq!(fx.store.package(&kept.id()).expect("reads"), Some(rotated));
}

#[test]
fn a_changed_or_missing_file_is_an_error_naming_the_package() {
    let fx = Fixture::new();
    let package = signed_package(&fx.key, 1, LARGE);
    assert_eq!(submit(&fx, &package), SubmitOutcome::Stored);
    let file = files_in(fx.dir.path()).remove(0);

    let mut bytes = fs::read(&file).expect("reads");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    fs::write(&file, &bytes).expect("changes it");
    for read in [Store::package, Store::package_to_send] {
        match read(&fx.store, &package.id()) {
            Err(StoreError::Corrupt { tree, key, problem }) => {
                assert_eq!(tree, "packages");
                assert_eq!(key, hex::encode(package.id().as_bytes()));
                assert!(problem.to_string().contains("checksum"), "{problem}");
            }
            other => panic!("a changed file read as {other:?}"),
        }
    }

    fs::remove_file(&file).expect("removes it");
    match fx.store.package(&package.id()) {
        Err(StoreError::PackageFile { path, .. }) => assert_eq!(path, file),
        other => panic!("a missing file read as {other:?}"),
    }
}

#[test]
fn a_backup_carries_the_files_and_its_check_finds_one_missing() {
    let fx = Fixture::new();
    let large = signed_package(&fx.key, 1, LARGE);
    assert_eq!(submit(&fx, &large), SubmitOutcome::Stored);
    assert_eq!(
        submit(&fx, &signed_package(&fx.key, 2, 0)),
        SubmitOutcome::Stored
    );
    let (copy, summary) = backup_with_one_file(&fx);
    {
        let restored = Store::open(&copy).expect("opens the copy");
        assert_eq!(
            restored.package(&large.id()).expect("reads"),
            Some(large.clone())
        );
    }

    fs::remove_file(files_in(&copy).remove(0)).expect("removes the copy's file");
    let error = verify_copy(&copy, &summary).expect_err("a file is missing");
    let text = error.to_string();
    assert!(text.contains(&format!("package {}", large.id())), "{text}");
}

fn mailbox_entry(package: &SignedPackage, recipient: &str, size: usize) -> MailboxEntry {
    MailboxEntry {
        package_id: package.id(),
        sender: organ(SENDER),
        recipient: organ(recipient),
        held_at: ts(5),
        size: size as u64,
        hold: vec![1; 8],
    }
}

/// A relay holds a large sealed package in a file per member, survives a restart with it,
/// and removes each member's file once that member's receipt releases it.
#[test]
fn a_relay_holds_a_large_sealed_package_in_a_file_until_it_is_released() {
    let fx = Fixture::new();
    let package = signed_package(&fx.key, 1, 0);
    let sealed = vec![0xa7; LARGE];
    for recipient in RECIPIENTS {
        let entry = mailbox_entry(&package, recipient, sealed.len());
        assert_eq!(
            fx.store.hold(&entry, &sealed).expect("holds"),
            HoldOutcome::Held
        );
        // A second deposit finds it held and writes no second file.
        assert!(matches!(
            fx.store.hold(&entry, &sealed).expect("holds"),
            HoldOutcome::AlreadyHeld(_)
        ));
    }
    assert_eq!(files_in(fx.dir.path()).len(), 2);

    let fx = fx.reopen();
    assert_eq!(
        files_in(fx.dir.path()).len(),
        2,
        "the sweep keeps held files"
    );
    let held = fx.store.mailbox(&organ(RECIPIENTS[0]), 10).expect("lists");
    assert_eq!(held.len(), 1);
    assert_eq!(&held[0].sealed[..], &sealed[..]);

    let receipt = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 6);
    assert!(fx.store.release(&receipt).expect("releases"));
    assert_eq!(
        files_in(fx.dir.path()).len(),
        1,
        "the released file is removed"
    );
    let held = fx.store.mailbox(&organ(RECIPIENTS[1]), 10).expect("lists");
    assert_eq!(&held[0].sealed[..], &sealed[..]);
}

/// A member's file released while a backup copies files stays until the copy is done, so
/// the backup, whose trees still hold it, has it too.
#[test]
fn a_backup_has_every_mailbox_file_its_trees_reference() {
    let fx = Fixture::new();
    let package = signed_package(&fx.key, 1, 0);
    let sealed = vec![0x3c; LARGE];
    let entry = mailbox_entry(&package, RECIPIENTS[0], sealed.len());
    assert_eq!(
        fx.store.hold(&entry, &sealed).expect("holds"),
        HoldOutcome::Held
    );
    let held = fx.store.inner.removals.hold();
    let receipt = fx.receipt(&package, RECIPIENTS[0], StatusCode::Arrived, 6);
    assert!(fx.store.release(&receipt).expect("releases"));
    assert_eq!(
        files_in(fx.dir.path()).len(),
        1,
        "held back while files are copied"
    );
    drop(held);
    assert!(files_in(fx.dir.path()).is_empty());

    assert_eq!(
        fx.store.hold(&entry, &sealed).expect("holds again"),
        HoldOutcome::Held
    );
    let (copy, _) = backup_with_one_file(&fx);
    let restored = Store::open(&copy).expect("opens the copy");
    let held = restored.mailbox(&organ(RECIPIENTS[0]), 10).expect("lists");
    assert_eq!(&held[0].sealed[..], &sealed[..]);
}
