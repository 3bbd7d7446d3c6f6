//! Tree names and key layouts.
//!
//! Keys are binary and, where they sort, fixed-width and big-endian, so that sled's byte
//! order is the order we want: by package id, or by time then package id. Variable-length
//! parts (an agency id, a document id) only ever come last or behind a length prefix, so no
//! key is a prefix of another by accident.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `meta` | `"schema_version"` | `u32` BE, bare (every version of the code must read it) |
//! | `meta` | `"counts"` | [`StoreCounts`](super::StoreCounts) |
//! | `packages` | package id (32) | blob: the package's wire bytes; or, above 128 KB, a reference to the file that holds them (schema 5, `package_files.rs`) |
//! | `outgoing` | package id (32) | [`OutgoingPackage`](super::OutgoingPackage) |
//! | `outgoing_by_time` | submitted at (u64 BE ms) ‖ package id (32) | empty |
//! | `outbox` | package id (32) ‖ recipient agency id | [`OutboxEntry`](super::OutboxEntry) |
//! | `outbox_pending` | same as `outbox`, for entries still to deliver | empty |
//! | `documents` | sender len (u8) ‖ sender ‖ document id len (u16 BE) ‖ document id ‖ submitted at (u64 BE) ‖ package id (32) | empty |
//! | `documents` | sender len (u8) ‖ sender ‖ `FF FE` ‖ SHA-256 of the edXML bytes (32) | blob: the package id (32) that sender sent with exactly these bytes (packages submitted since lienthong indexed content; no migration) |
//! | `inbox` | package id (32) | [`InboxEntry`](super::InboxEntry) |
//! | `inbox_by_time` | received at (u64 BE ms) ‖ package id (32) | empty |
//! | `inbox_unacked` | same as `inbox_by_time`, for entries QLVB has not acknowledged | empty |
//! | `arrivals` | package id (32) | blob: receipt key (40) of this node's receipt 01 |
//! | `receipts` | package id (32) ‖ sequence (u64 BE) | blob: the receipt's wire bytes |
//! | `receipt_ids` | receipt id (32) | blob: receipt key (40) |
//! | `meta` | `"relay_counts"` | [`RelayCounts`](super::RelayCounts) (schema 2) |
//! | `mailbox` | recipient len (u8) ‖ recipient ‖ held at (u64 BE ms) ‖ package id (32) | [`MailboxEntry`](super::MailboxEntry) |
//! | `mailbox_sealed` | same as `mailbox` | blob: the sealed package's wire bytes |
//! | `mailbox_ids` | package id (32) ‖ recipient | blob: the `mailbox` key |
//! | `forward` | sender len (u8) ‖ sender ‖ receipt id (32) | blob: the receipt's wire bytes |
//! | `holds` | package id (32) ‖ recipient | blob: a relay's signed "held" acknowledgement |
//! | `references` | sender len (u8) ‖ sender ‖ reference len (u16 BE) ‖ reference ‖ package id (32) | empty (schema 3) |
//! | `receipt_log` | position (u64 BE): the sequence in the receipt's `receipts` key, plus one | blob: receipt key (40) (schema 3) |
//! | `receipt_out` | addressee len (u8) ‖ addressee ‖ receipt id (32) | blob: receipt key (40) (schema 3) |
//! | `sync_cursors` | agency id | `u64` BE, bare: that agency's log position this node has read up to (schema 3) |
//! | `links` | `>` ‖ package (32) ‖ package it changes (32), and `<` ‖ changed ‖ changing | `[BussinessDocType]` (schema 3) |
//! | `outbox_rejected` | same as `outbox`, for entries refused with receipt 02 | empty (schema 3) |
//! | `meta` | `"feed_low_water:"` ‖ agency id | `u64` BE, bare: the `receipt_log` position up to which every receipt is collected by that agency's QLVB or not addressed to it (schema 4) |
//! | `feed_collected` | agency len (u8) ‖ agency ‖ `receipt_log` position (u64 BE) above the agency's low-water mark | empty: its QLVB collected that receipt through the axis-compatible API (schema 4) |
//! | `axis_sends` | same as `outbox`, for recipients routed through the axis | [`AxisSend`](super::AxisSend): when the last sendEdoc started, the axis's DocId |
//! | `axis_directory` | the agency's code on the axis | [`AxisAgency`](super::AxisAgency) |
//! | `meta` | `"axis_directory_at"` | `u64` BE ms, bare: the directory's last refresh |
//! | `axis_arrivals` | the axis's DocId of a document or status addressed to this agency | [`AxisArrival`](super::AxisArrival): first seen, the package it became, `done` said |
//! | `axis_arrival_ids` | package id (32) | blob: the axis's DocId it arrived under |
//! | `meta` | `"evidence_tree"` | the evidence log's frontier (`evidence.rs`, schema 6) |
//! | `meta` | `"evidence_roster"` | `u64` BE, bare: the last roster serial logged as evidence |
//! | `evidence_leaves` | leaf index (u64 BE) | blob: leaf hash (32) ‖ leaf bytes (`evidence_leaf.rs`) (schema 6) |
//! | `checkpoints` | tree size (u64 BE) | blob: the checkpoint note this node signed at that size (schema 6) |
//! | `witnessed` | a log's origin (`lienthong/<organ_id>`) | [`WitnessedLog`](super::WitnessedLog): on a witness, the head last cosigned and any fork seen (schema 6) |
//! | `cosignatures` | checkpoint size (u64 BE) ‖ witness agency id | blob: the witness's cosignature line of this node's checkpoint at that size, verified (`cosignatures.rs`) |
//! | `meta` | `"witness_size:"` ‖ witness agency id | `u64` BE, bare: the size of the last checkpoint that witness cosigned for this node |
//! | `heads` | a member's log origin (`lienthong/<organ_id>`) | [`HeldHead`](super::HeldHead): the latest checkpoint of that log verified from gossip or catch-up, and the first fork seen (`heads.rs`) |
//! | `mail_sends` | same as `outbox`, for email units | [`MailSend`](super::MailSend): when the last SMTP transaction started, when the server took it, what came back (`mail.rs`) |
//! | `mail_arrivals` | package id (32) | [`MailArrival`](super::MailArrival): the inbox package came by email, from this address |
//! | `mail_review` | SHA-256 of the mail (32) | [`MailReview`](super::MailReview): a mail set aside for a person, and why |
//! | `timestamps` | checkpoint size (u64 BE) | blob: an RFC 3161 timestamp token (DER) over this node's checkpoint note at that size, verified (`timestamps.rs`) |
//!
//! Values are versioned (see `encoding.rs`): records are a marker byte then postcard, blobs a
//! marker byte then raw bytes. Index trees hold empty values: everything is in the key.

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::{MAX_DOCUMENT_ID_LEN, PackageId, ReceiptId, Timestamp};

/// One sled tree. The discriminant is the position in [`Tree::ALL`], which is how the
/// adapter finds a tree inside a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tree {
    Meta,
    Packages,
    Outgoing,
    OutgoingByTime,
    Outbox,
    OutboxPending,
    Documents,
    Inbox,
    InboxByTime,
    InboxUnacked,
    Arrivals,
    Receipts,
    ReceiptIds,
    Mailbox,
    MailboxSealed,
    MailboxIds,
    Forward,
    Holds,
    References,
    ReceiptLog,
    ReceiptOut,
    SyncCursors,
    Links,
    OutboxRejected,
    FeedCollected,
    AxisSends,
    AxisDirectory,
    AxisArrivals,
    AxisArrivalIds,
    EvidenceLeaves,
    Checkpoints,
    Witnessed,
    Cosignatures,
    Timestamps,
    Heads,
    MailSends,
    MailArrivals,
    MailReview,
}

impl Tree {
    /// Every tree, in discriminant order.
    pub(super) const ALL: [Tree; 38] = [
        Tree::Meta,
        Tree::Packages,
        Tree::Outgoing,
        Tree::OutgoingByTime,
        Tree::Outbox,
        Tree::OutboxPending,
        Tree::Documents,
        Tree::Inbox,
        Tree::InboxByTime,
        Tree::InboxUnacked,
        Tree::Arrivals,
        Tree::Receipts,
        Tree::ReceiptIds,
        Tree::Mailbox,
        Tree::MailboxSealed,
        Tree::MailboxIds,
        Tree::Forward,
        Tree::Holds,
        Tree::References,
        Tree::ReceiptLog,
        Tree::ReceiptOut,
        Tree::SyncCursors,
        Tree::Links,
        Tree::OutboxRejected,
        Tree::FeedCollected,
        Tree::AxisSends,
        Tree::AxisDirectory,
        Tree::AxisArrivals,
        Tree::AxisArrivalIds,
        Tree::EvidenceLeaves,
        Tree::Checkpoints,
        Tree::Witnessed,
        Tree::Cosignatures,
        Tree::Timestamps,
        Tree::Heads,
        Tree::MailSends,
        Tree::MailArrivals,
        Tree::MailReview,
    ];

    /// The tree's name on disk; also used in error messages.
    pub(super) const fn name(self) -> &'static str {
        match self {
            Tree::Meta => "meta",
            Tree::Packages => "packages",
            Tree::Outgoing => "outgoing",
            Tree::OutgoingByTime => "outgoing_by_time",
            Tree::Outbox => "outbox",
            Tree::OutboxPending => "outbox_pending",
            Tree::Documents => "documents",
            Tree::Inbox => "inbox",
            Tree::InboxByTime => "inbox_by_time",
            Tree::InboxUnacked => "inbox_unacked",
            Tree::Arrivals => "arrivals",
            Tree::Receipts => "receipts",
            Tree::ReceiptIds => "receipt_ids",
            Tree::Mailbox => "mailbox",
            Tree::MailboxSealed => "mailbox_sealed",
            Tree::MailboxIds => "mailbox_ids",
            Tree::Forward => "forward",
            Tree::Holds => "holds",
            Tree::References => "references",
            Tree::ReceiptLog => "receipt_log",
            Tree::ReceiptOut => "receipt_out",
            Tree::SyncCursors => "sync_cursors",
            Tree::Links => "links",
            Tree::OutboxRejected => "outbox_rejected",
            Tree::FeedCollected => "feed_collected",
            Tree::AxisSends => "axis_sends",
            Tree::AxisDirectory => "axis_directory",
            Tree::AxisArrivals => "axis_arrivals",
            Tree::AxisArrivalIds => "axis_arrival_ids",
            Tree::EvidenceLeaves => "evidence_leaves",
            Tree::Checkpoints => "checkpoints",
            Tree::Witnessed => "witnessed",
            Tree::Cosignatures => "cosignatures",
            Tree::Timestamps => "timestamps",
            Tree::Heads => "heads",
            Tree::MailSends => "mail_sends",
            Tree::MailArrivals => "mail_arrivals",
            Tree::MailReview => "mail_review",
        }
    }

    /// Position in [`Tree::ALL`].
    pub(super) const fn index(self) -> usize {
        self as usize
    }
}

/// `meta` key of the schema version.
pub(super) const SCHEMA_VERSION: &[u8] = b"schema_version";
/// `meta` key of the record counters.
pub(super) const COUNTS: &[u8] = b"counts";

/// `meta` key of a relay's counters.
pub(super) const RELAY_COUNTS: &[u8] = b"relay_counts";

/// `meta`: one agency's low-water mark of the axis feed (see `feed.rs`).
pub(super) fn feed_low_water(agency: &OrganId) -> Vec<u8> {
    let mut key = b"feed_low_water:".to_vec();
    key.extend_from_slice(agency.as_str().as_bytes());
    key
}

/// `feed_collected`: the agency, then the collected receipt's log position.
pub(super) fn feed_collected(agency: &OrganId, position: u64) -> Vec<u8> {
    let mut key = agency_prefix(agency);
    key.extend_from_slice(&position.to_be_bytes());
    key
}

/// Length of a key in `receipts`: package id ‖ sequence.
pub(super) const RECEIPT_KEY_LEN: usize = 32 + 8;

/// `outbox` and `outbox_pending`: package id ‖ recipient. The package id is fixed-width, so
/// a prefix scan on it finds exactly that package's recipients.
pub(super) fn outbox(package_id: &PackageId, recipient: &OrganId) -> Vec<u8> {
    let mut key = Vec::with_capacity(32 + recipient.as_str().len());
    key.extend_from_slice(package_id.as_bytes());
    key.extend_from_slice(recipient.as_str().as_bytes());
    key
}

/// `outgoing_by_time`, `inbox_by_time`, `inbox_unacked`: time ‖ package id, so that the
/// tree iterates oldest first and ties are broken by id.
pub(super) fn by_time(at: Timestamp, package_id: &PackageId) -> [u8; 40] {
    let mut key = [0; 40];
    key[..8].copy_from_slice(&at.as_millis().to_be_bytes());
    key[8..].copy_from_slice(package_id.as_bytes());
    key
}

/// `documents` prefix for one (sender, document id). Both parts are length-prefixed, so the
/// prefix of `("a", "bc")` never matches `("ab", "c")`.
///
/// Document ids are at most [`MAX_DOCUMENT_ID_LEN`] bytes when stored (checked by
/// `submit`); a longer query id saturates the length and so matches nothing.
pub(super) fn document_prefix(sender: &OrganId, document_id: &str) -> Vec<u8> {
    let sender = sender.as_str().as_bytes();
    let document = document_id.as_bytes();
    let mut key = Vec::with_capacity(1 + sender.len() + 2 + document.len() + 40);
    // Agency ids are at most 64 bytes (`MAX_ORGAN_ID_LEN`).
    key.push(u8::try_from(sender.len()).unwrap_or(u8::MAX));
    key.extend_from_slice(sender);
    key.extend_from_slice(
        &u16::try_from(document.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    key.extend_from_slice(document);
    key
}

/// `documents`: the prefix, then submission time and package id, so the packages of one
/// document list in the order they were sent.
pub(super) fn document(
    sender: &OrganId,
    document_id: &str,
    submitted_at: Timestamp,
    package_id: &PackageId,
) -> Vec<u8> {
    let mut key = document_prefix(sender, document_id);
    key.extend_from_slice(&by_time(submitted_at, package_id));
    key
}

/// Where a document id's length stands in a `documents` key, the mark of a content key
/// ([`content`]). No stored document id is that long ([`MAX_DOCUMENT_ID_LEN`]), and the
/// prefix [`document_prefix`] makes for a query id of that length is longer than any
/// content key, so the two layouts never meet.
const CONTENT_MARK: u16 = 0xFFFE;

/// `documents`: the key of the package `sender` sent with the edXML bytes whose SHA-256 is
/// `sha256`. One key per content, without time or package id, so that a transaction can
/// look it up: the same bytes submitted twice, even at the same moment, are one package.
pub(super) fn content(sender: &OrganId, sha256: &[u8; 32]) -> Vec<u8> {
    let mut key = agency_prefix(sender);
    key.extend_from_slice(&CONTENT_MARK.to_be_bytes());
    key.extend_from_slice(sha256);
    key
}

/// An agency id behind its length, so that no agency's prefix is another's.
fn agency_prefix(organ: &OrganId) -> Vec<u8> {
    let organ = organ.as_str().as_bytes();
    let mut key = Vec::with_capacity(1 + organ.len() + 40);
    // Agency ids are at most 64 bytes (`MAX_ORGAN_ID_LEN`).
    key.push(u8::try_from(organ.len()).unwrap_or(u8::MAX));
    key.extend_from_slice(organ);
    key
}

/// The agency id an [`agency_prefix`]ed key starts with.
pub(super) fn agency_of(key: &[u8]) -> Option<OrganId> {
    let (&len, rest) = key.split_first()?;
    let id = rest.get(..usize::from(len))?;
    OrganId::parse(std::str::from_utf8(id).ok()?).ok()
}

/// The smallest key greater than every key starting with `prefix`; `prefix` itself if
/// no such key exists (all bytes `0xff`).
pub(super) fn after_prefix(prefix: &[u8]) -> Vec<u8> {
    let mut key = prefix.to_vec();
    while let Some(last) = key.pop() {
        if last < u8::MAX {
            key.push(last + 1);
            return key;
        }
    }
    prefix.to_vec()
}

/// `mailbox` and `forward` prefix of one agency's entries.
pub(super) fn mailbox_prefix(recipient: &OrganId) -> Vec<u8> {
    agency_prefix(recipient)
}

/// `mailbox`, `mailbox_sealed`: the member, then time and package id, so a member's
/// packages list oldest first.
pub(super) fn mailbox(recipient: &OrganId, held_at: Timestamp, package_id: &PackageId) -> Vec<u8> {
    let mut key = agency_prefix(recipient);
    key.extend_from_slice(&by_time(held_at, package_id));
    key
}

/// `forward`: the sender the receipt goes to, then the receipt id.
pub(super) fn forward(sender: &OrganId, receipt: &ReceiptId) -> Vec<u8> {
    let mut key = agency_prefix(sender);
    key.extend_from_slice(receipt.as_bytes());
    key
}

/// `references`: one document reference of one sender's packages; the prefix of a lookup.
pub(super) fn reference_prefix(sender: &OrganId, reference: &str) -> Vec<u8> {
    let mut key = agency_prefix(sender);
    let reference = reference.as_bytes();
    key.extend_from_slice(
        &u16::try_from(reference.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    key.extend_from_slice(reference);
    key
}

/// `references`: the prefix, then the package.
pub(super) fn reference(sender: &OrganId, reference: &str, package_id: &PackageId) -> Vec<u8> {
    let mut key = reference_prefix(sender, reference);
    key.extend_from_slice(package_id.as_bytes());
    key
}

/// `receipt_out`: the agency the receipt must reach, then the receipt id.
pub(super) fn receipt_out(addressee: &OrganId, receipt: &ReceiptId) -> Vec<u8> {
    forward(addressee, receipt)
}

/// `receipt_out` prefix of one addressee's receipts.
pub(super) fn receipt_out_prefix(addressee: &OrganId) -> Vec<u8> {
    agency_prefix(addressee)
}

/// `links`: `>` ‖ the changing package ‖ the changed one.
pub(super) fn link_from(changing: &PackageId, changed: &PackageId) -> [u8; 65] {
    link(b'>', changing, changed)
}

/// `links`: `<` ‖ the changed package ‖ the changing one.
pub(super) fn link_to(changed: &PackageId, changing: &PackageId) -> [u8; 65] {
    link(b'<', changed, changing)
}

fn link(direction: u8, first: &PackageId, second: &PackageId) -> [u8; 65] {
    let mut key = [0; 65];
    key[0] = direction;
    key[1..33].copy_from_slice(first.as_bytes());
    key[33..].copy_from_slice(second.as_bytes());
    key
}

/// The `receipt_log` position of the receipt at `key`: its sequence number plus one, so
/// that positions start at 1 and a reader's cursor of 0 means "from the start".
pub(super) fn log_position(key: &[u8; RECEIPT_KEY_LEN]) -> u64 {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&key[32..]);
    u64::from_be_bytes(bytes).saturating_add(1)
}

/// `receipts`: package id ‖ sequence, so a prefix scan lists one package's receipts in the
/// order they were recorded.
pub(super) fn receipt(package_id: &PackageId, sequence: u64) -> [u8; RECEIPT_KEY_LEN] {
    let mut key = [0; RECEIPT_KEY_LEN];
    key[..32].copy_from_slice(package_id.as_bytes());
    key[32..].copy_from_slice(&sequence.to_be_bytes());
    key
}

/// The package id in the last 32 bytes of an index key (`*_by_time`, `inbox_unacked`,
/// `documents`); `None` when the key is shorter.
pub(super) fn trailing_package_id(key: &[u8]) -> Option<PackageId> {
    let start = key.len().checked_sub(32)?;
    let bytes: [u8; 32] = key[start..].try_into().ok()?;
    Some(PackageId::from_bytes(bytes))
}

/// A key as text for error messages.
pub(super) fn display(key: &[u8]) -> String {
    hex::encode(key)
}

/// Whether a document id fits the `documents` key layout.
pub(super) fn document_id_fits(document_id: &str) -> bool {
    document_id.len() <= MAX_DOCUMENT_ID_LEN
}

#[cfg(test)]
mod tests {
    use super::*;

    fn organ(s: &str) -> OrganId {
        OrganId::parse(s).expect("valid id")
    }

    #[test]
    fn tree_discriminants_match_their_position() {
        for (position, tree) in Tree::ALL.iter().enumerate() {
            assert_eq!(tree.index(), position, "{tree:?}");
        }
    }

    #[test]
    fn time_keys_sort_by_time_then_id() {
        let low = PackageId::from_bytes([0xff; 32]);
        let high = PackageId::from_bytes([0; 32]);
        assert!(
            by_time(Timestamp::from_millis(1), &low) < by_time(Timestamp::from_millis(256), &high)
        );
        assert!(
            by_time(Timestamp::from_millis(5), &high) < by_time(Timestamp::from_millis(5), &low)
        );
    }

    #[test]
    fn agency_prefixes_read_back_and_bound_their_keys() {
        let organ = organ("000.19.01.G12");
        let key = forward(&organ, &ReceiptId::from_bytes([0xff; 32]));
        assert_eq!(agency_of(&key), Some(organ.clone()));
        let after = after_prefix(&mailbox_prefix(&organ));
        assert!(key.as_slice() < after.as_slice());
        assert!(mailbox_prefix(&organ).as_slice() < after.as_slice());
        assert_eq!(after_prefix(&[1, 0xff]), [2]);
        assert_eq!(agency_of(&[]), None);
        assert_eq!(agency_of(&[9, b'x']), None);
    }

    #[test]
    fn content_keys_never_meet_document_keys() {
        let sender = organ("000.00.00.G22");
        let sha = [7u8; 32];
        let key = content(&sender, &sha);
        let id = PackageId::from_bytes([1; 32]);
        for len in [
            0,
            1,
            32,
            MAX_DOCUMENT_ID_LEN,
            usize::from(CONTENT_MARK),
            70_000,
        ] {
            let document_id = "x".repeat(len);
            let prefix = document_prefix(&sender, &document_id);
            assert!(!key.starts_with(&prefix), "id of {len} bytes");
            let document = document(&sender, &document_id, Timestamp::from_millis(9), &id);
            assert!(!document.starts_with(&key), "id of {len} bytes");
        }
        assert_ne!(content(&organ("000.00.00.H41"), &sha), key);
    }

    #[test]
    fn document_prefixes_do_not_overlap() {
        let a = document_prefix(&organ("a.b"), "c");
        let b = document_prefix(&organ("a.b.c"), "");
        assert!(!a.starts_with(&b) && !b.starts_with(&a));
        let id = PackageId::from_bytes([7; 32]);
        let key = document(&organ("a.b"), "c", Timestamp::from_millis(9), &id);
        assert!(key.starts_with(&a));
        assert_eq!(trailing_package_id(&key), Some(id));
    }
}
