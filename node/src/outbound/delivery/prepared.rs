//! What submit already holds, kept for the first attempt: the signed package and each
//! recipient's outbox entry, so that the attempt right after a submission does not read
//! back from the store what was written a moment before (a package of tens of megabytes,
//! once per recipient).
//!
//! Sans-IO, like the scheduler. The cache is bounded in bytes: past the bound a submission
//! is not kept and its attempts read the store, as every retry and every attempt after a
//! restart does. An entry is taken by its attempt (never read twice), and a package leaves
//! the cache with its last recipient's entry.

use std::collections::HashMap;
use std::sync::Arc;

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::{PackageId, SignedPackage};

use super::schedule::DeliveryKey;
use crate::store::OutboxEntry;

/// Bytes of package content kept at most: a burst of large documents waits for its first
/// attempts in the store, not in memory.
pub(super) const PREPARED_BYTES: usize = 128 * 1024 * 1024;

/// The cache; see the module docs.
#[derive(Debug)]
pub(super) struct Prepared {
    packages: HashMap<PackageId, Kept>,
    bytes: usize,
    limit: usize,
}

#[derive(Debug)]
struct Kept {
    package: Arc<SignedPackage>,
    entries: HashMap<OrganId, OutboxEntry>,
}

impl Prepared {
    /// An empty cache holding at most `limit` bytes of content.
    pub(super) fn new(limit: usize) -> Prepared {
        Prepared {
            packages: HashMap::new(),
            bytes: 0,
            limit,
        }
    }

    /// Keeps a submission for its first attempts, if it fits. Returns whether it was kept.
    pub(super) fn keep(&mut self, package: Arc<SignedPackage>, entries: &[OutboxEntry]) -> bool {
        let size = package.content().len();
        if entries.is_empty()
            || self.bytes.saturating_add(size) > self.limit
            || self.packages.contains_key(&package.id())
        {
            return false;
        }
        let entries = entries
            .iter()
            .filter(|e| e.package_id == package.id())
            .map(|e| (e.recipient.clone(), e.clone()))
            .collect();
        self.bytes += size;
        self.packages
            .insert(package.id(), Kept { package, entries });
        true
    }

    /// The package and the entry of `key`'s recipient, for its attempt; `None` when not
    /// kept (the attempt reads the store).
    pub(super) fn take(&mut self, key: &DeliveryKey) -> Option<(Arc<SignedPackage>, OutboxEntry)> {
        let (package_id, recipient) = key;
        let kept = self.packages.get_mut(package_id)?;
        let entry = kept.entries.remove(recipient)?;
        let package = kept.package.clone();
        if kept.entries.is_empty() {
            self.bytes -= package.content().len();
            self.packages.remove(package_id);
        }
        Some((package, entry))
    }

    /// Bytes of content kept now.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use lienthong_protocol::envelope::{EnvelopeLimits, PackageFields, Timestamp};
    use lienthong_protocol::{AgencyKey, MessageKind};

    use super::*;
    use crate::store::DeliveryState;

    fn package(size: usize, recipients: &[&str]) -> Arc<SignedPackage> {
        let key = AgencyKey::generate().expect("key");
        Arc::new(
            SignedPackage::sign(
                &key,
                PackageFields {
                    sender: "000.00.01.H53".parse().expect("id"),
                    recipients: recipients.iter().map(|r| r.parse().expect("id")).collect(),
                    kind: MessageKind::Edoc,
                    created_at: Timestamp::from_millis(1),
                },
                Bytes::from(vec![b'x'; size]),
                &EnvelopeLimits::default(),
            )
            .expect("signs"),
        )
    }

    fn entries(package: &SignedPackage) -> Vec<OutboxEntry> {
        package
            .recipients()
            .iter()
            .map(|recipient| OutboxEntry {
                package_id: package.id(),
                recipient: recipient.clone(),
                state: DeliveryState::Queued,
                attempts: 0,
                next_attempt_at: Timestamp::from_millis(1),
                last_error: None,
                queued_at: Timestamp::from_millis(1),
                deadline: Timestamp::from_millis(2),
                delivered_at: None,
            })
            .collect()
    }

    #[test]
    fn each_recipient_takes_its_entry_once_and_the_last_one_frees_the_package() {
        let mut prepared = Prepared::new(1024);
        let p = package(100, &["000.00.02.H53", "000.00.03.H53"]);
        assert!(prepared.keep(p.clone(), &entries(&p)));
        assert_eq!(prepared.bytes(), 100);
        let first = (p.id(), "000.00.02.H53".parse().expect("id"));
        let (package, entry) = prepared.take(&first).expect("kept");
        assert_eq!(package.id(), p.id());
        assert_eq!(entry.recipient, first.1);
        assert!(prepared.take(&first).is_none(), "taken once");
        assert_eq!(prepared.bytes(), 100, "the other recipient still waits");
        let second = (p.id(), "000.00.03.H53".parse().expect("id"));
        assert!(prepared.take(&second).is_some());
        assert_eq!(prepared.bytes(), 0);
    }

    #[test]
    fn a_submission_past_the_bound_is_left_to_the_store() {
        let mut prepared = Prepared::new(150);
        let a = package(100, &["000.00.02.H53"]);
        let b = package(99, &["000.00.02.H53"]);
        assert!(prepared.keep(a.clone(), &entries(&a)));
        assert!(!prepared.keep(b.clone(), &entries(&b)));
        assert!(
            prepared
                .take(&(b.id(), "000.00.02.H53".parse().expect("id")))
                .is_none()
        );
    }
}
