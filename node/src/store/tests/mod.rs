//! Store tests, on real sled files in temporary directories.

use bytes::Bytes;
use tempfile::TempDir;

use lienthong_protocol::envelope::{
    EnvelopeLimits, PackageFields, PackageId, ReceiptFields, SignedPackage, SignedReceipt,
    Timestamp,
};
use lienthong_protocol::{AgencyKey, MessageKind, OrganId, StatusCode};

use super::{DeliveryState, InboxEntry, OutboxEntry, OutgoingPackage, Store};

mod concurrency;
mod crash;
mod durability;
mod evidence;
mod feed;
mod history;
mod incoming;
mod mailbox;
mod outgoing;
mod package_files;
mod receipts;

/// The sending agency of every test package.
const SENDER: &str = "000.00.00.G22";
/// The recipients of every test package.
const RECIPIENTS: [&str; 2] = ["000.00.00.H53", "000.00.00.H41"];

/// A store in a fresh temporary directory, and a key to sign with.
struct Fixture {
    dir: TempDir,
    store: Store,
    key: AgencyKey,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = Store::open(dir.path()).expect("opens a new store");
        Fixture {
            dir,
            store,
            key: AgencyKey::generate().expect("generates a key"),
        }
    }

    /// Closes the store and opens it again from disk.
    fn reopen(self) -> Fixture {
        let Fixture { dir, store, key } = self;
        drop(store);
        let store = Store::open(dir.path()).expect("reopens");
        Fixture { dir, store, key }
    }

    /// Package number `n`: distinct content and creation time, so a distinct id.
    fn package(&self, n: u64) -> SignedPackage {
        signed_package(&self.key, n, 0)
    }

    /// Submits package `n` with every recipient queued; returns it.
    fn submit(&self, n: u64, document_id: Option<&str>) -> SignedPackage {
        let package = self.package(n);
        let outcome = self
            .store
            .submit(
                &package,
                &meta(&package, document_id, ts(n)),
                &entries(&package, DeliveryState::Queued),
            )
            .expect("submits");
        assert_eq!(outcome, super::SubmitOutcome::Stored);
        package
    }

    /// A receipt by `recipient` about `package`.
    fn receipt(
        &self,
        package: &SignedPackage,
        recipient: &str,
        code: StatusCode,
        issued_at: u64,
    ) -> SignedReceipt {
        signed_receipt(&self.key, package.id(), organ(recipient), code, issued_at)
    }
}

pub(super) fn organ(text: &str) -> OrganId {
    OrganId::parse(text).expect("valid agency id")
}

pub(super) fn ts(millis: u64) -> Timestamp {
    Timestamp::from_millis(1_795_239_540_000 + millis)
}

/// Package `n` from [`SENDER`] to [`RECIPIENTS`], with `padding` extra content bytes.
fn signed_package(key: &AgencyKey, n: u64, padding: usize) -> SignedPackage {
    let mut content = format!("<edXML><n>{n}</n></edXML>").into_bytes();
    content.resize(content.len() + padding, b' ');
    SignedPackage::sign(
        key,
        PackageFields {
            sender: organ(SENDER),
            recipients: RECIPIENTS.iter().map(|r| organ(r)).collect(),
            kind: MessageKind::Edoc,
            created_at: ts(n),
        },
        Bytes::from(content),
        &EnvelopeLimits::default(),
    )
    .expect("signs a package")
}

fn signed_receipt(
    key: &AgencyKey,
    package_id: PackageId,
    recipient: OrganId,
    code: StatusCode,
    issued_at: u64,
) -> SignedReceipt {
    SignedReceipt::sign(
        key,
        ReceiptFields {
            package_id,
            sender: organ(SENDER),
            recipient,
            document_id: Some("000.00.00.G22,2026/11/21,1/VPCP".into()),
            code,
            issued_at: ts(issued_at),
            description: None,
        },
        &EnvelopeLimits::default(),
    )
    .expect("signs a receipt")
}

fn meta(
    package: &SignedPackage,
    document_id: Option<&str>,
    submitted_at: Timestamp,
) -> OutgoingPackage {
    OutgoingPackage {
        package_id: package.id(),
        kind: package.kind(),
        document_id: document_id.map(str::to_owned),
        recipients: package.recipients().to_vec(),
        submitted_at,
        subject: Some("Về việc thử nghiệm".into()),
    }
}

fn entries(package: &SignedPackage, state: DeliveryState) -> Vec<OutboxEntry> {
    package
        .recipients()
        .iter()
        .map(|recipient| outbox_entry(package.id(), recipient.clone(), state))
        .collect()
}

fn outbox_entry(package_id: PackageId, recipient: OrganId, state: DeliveryState) -> OutboxEntry {
    OutboxEntry {
        package_id,
        recipient,
        state,
        attempts: 0,
        next_attempt_at: ts(0),
        last_error: None,
        queued_at: ts(0),
        deadline: ts(3_600_000),
        delivered_at: None,
    }
}

fn inbox_entry(package: &SignedPackage, received_at: u64) -> InboxEntry {
    InboxEntry {
        package_id: package.id(),
        from: package.sender().clone(),
        kind: package.kind(),
        document_id: None,
        received_at: ts(received_at),
        acked_at: None,
    }
}
