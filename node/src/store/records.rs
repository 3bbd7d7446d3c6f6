//! The records the store keeps about packages, and that the delivery engine and the HTTP
//! API read.
//!
//! They are plain serde structs: JSON for the API, postcard (behind a version marker, see
//! `encoding.rs`) on disk. On disk, fields are stored by position and enum variants by
//! index, so a released record's shape does not change in place: add a new shape with a
//! migration instead, and never reorder [`DeliveryState`].

use serde::{Deserialize, Serialize};

use lienthong_protocol::envelope::{PackageId, Timestamp};
use lienthong_protocol::{MessageKind, OrganId};

use super::encoding::{Initial, Versioned};

/// Where one recipient's copy of an outgoing package stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Queued,
    /// An attempt is under way.
    Sending,
    /// Deposited in the recipient's relay mailbox; the recipient's own receipt 01 is still
    /// due.
    HeldAtRelay,
    /// The recipient's receipt 01 arrived and verified.
    Delivered,
    /// The recipient refused the package (receipt 02).
    Rejected,
    /// Handed to the national axis, whose DocId is recorded (`axis_sends`): the recipient
    /// is not a member, so no signed receipt will come; what the axis reports of it is
    /// followed instead.
    HandedToAxis,
    /// Taken by the agency's mail server for an email unit (`mail_sends`): the unit runs
    /// no node, so no signed receipt will come; what mail servers and the unit's mail
    /// client report of it is followed instead.
    HandedToMailServer,
}

impl DeliveryState {
    /// The name the API, the CLI and reports use: `queued`, `sending`, `held_at_relay`,
    /// `delivered`, `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sending => "sending",
            DeliveryState::HeldAtRelay => "held_at_relay",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Rejected => "rejected",
            DeliveryState::HandedToAxis => "handed_to_axis",
            DeliveryState::HandedToMailServer => "handed_to_mail_server",
        }
    }

    /// Whether the delivery engine still has work to do: queued, sending or held at a
    /// relay. A restarted node resumes exactly these.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            DeliveryState::Queued | DeliveryState::Sending | DeliveryState::HeldAtRelay
        )
    }
}

/// One recipient of one outgoing package: the delivery engine's state for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The package.
    pub package_id: PackageId,
    /// The recipient agency.
    pub recipient: OrganId,
    /// Where delivery stands.
    pub state: DeliveryState,
    /// Delivery attempts made so far.
    pub attempts: u32,
    /// When to try next.
    pub next_attempt_at: Timestamp,
    /// Why the last attempt failed, for operators.
    pub last_error: Option<String>,
    /// When the package was queued for this recipient.
    pub queued_at: Timestamp,
    /// When receipt 01 is due; past it, the recipient is reported as stuck.
    pub deadline: Timestamp,
    /// When receipt 01 arrived.
    pub delivered_at: Option<Timestamp>,
}

/// Metadata of a package this node sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingPackage {
    /// The package.
    pub package_id: PackageId,
    /// Document or status message.
    #[serde(with = "MessageKindDef")]
    pub kind: MessageKind,
    /// The edXML `DocumentId`, when the content has one.
    pub document_id: Option<String>,
    /// The recipients, in the sender's order.
    pub recipients: Vec<OrganId>,
    /// When QLVB submitted it.
    pub submitted_at: Timestamp,
    /// The document's subject (trích yếu), for listings.
    pub subject: Option<String>,
}

/// A package this node received and accepted, waiting for (or fetched by) QLVB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxEntry {
    /// The package.
    pub package_id: PackageId,
    /// The sending agency.
    pub from: OrganId,
    /// Document or status message.
    #[serde(with = "MessageKindDef")]
    pub kind: MessageKind,
    /// The edXML `DocumentId`, when the content has one.
    pub document_id: Option<String>,
    /// When this node accepted it.
    pub received_at: Timestamp,
    /// When QLVB acknowledged it; `None` while it is still pending.
    pub acked_at: Option<Timestamp>,
}

/// How many records of each kind the store holds, for the dashboard and metrics.
///
/// Kept as counters updated in the same transaction as the records, so reading them costs
/// one lookup rather than a scan of every tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreCounts {
    /// Packages this node sent.
    pub outgoing: u64,
    /// Outbox entries queued, sending or held at a relay.
    pub pending_outbox: u64,
    /// Received packages QLVB has not acknowledged yet.
    pub inbox_unacked: u64,
    /// Receipts recorded, including this node's own receipts 01.
    pub receipts: u64,
}

/// serde for [`MessageKind`], which the protocol crate only serialises: `"edoc"` and
/// `"status"` in JSON (as the protocol writes them), the variant index in postcard.
#[derive(Serialize, Deserialize)]
#[serde(remote = "MessageKind", rename_all = "snake_case")]
enum MessageKindDef {
    Edoc,
    Status,
}

macro_rules! first_shape {
    ($($record:ty),+) => {
        $(
            impl Versioned for $record {
                const VERSION: u8 = 1;
                type Previous = Initial;
                fn migrate(previous: Initial) -> Self {
                    match previous {}
                }
            }
        )+
    };
}

first_shape!(OutboxEntry, OutgoingPackage, InboxEntry, StoreCounts);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::encoding;

    #[test]
    fn kind_is_a_name_in_json_and_round_trips_on_disk() {
        let entry = InboxEntry {
            package_id: PackageId::from_bytes([1; 32]),
            from: OrganId::parse("000.00.00.G22").expect("valid id"),
            kind: MessageKind::Status,
            document_id: None,
            received_at: Timestamp::from_millis(5),
            acked_at: None,
        };
        let json = serde_json::to_value(&entry).expect("serialises");
        assert_eq!(json["kind"], "status");
        let back: InboxEntry = serde_json::from_value(json).expect("deserialises");
        assert_eq!(back, entry);
        let stored = encoding::encode(&entry).expect("encodes");
        assert_eq!(encoding::decode::<InboxEntry>(&stored).ok(), Some(entry));
    }

    #[test]
    fn pending_states() {
        use DeliveryState::*;
        let pending: Vec<_> = [Queued, Sending, HeldAtRelay, Delivered, Rejected]
            .into_iter()
            .filter(|s| s.is_pending())
            .collect();
        assert_eq!(pending, [Queued, Sending, HeldAtRelay]);
    }
}
