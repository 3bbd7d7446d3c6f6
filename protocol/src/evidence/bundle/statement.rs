//! What a verified bundle says: who sent what to whom, when it arrived, what each
//! recipient answered and who signed it, which checkpoint covers it and who witnessed that.
//!
//! The statement holds facts only; the CLI words it in Vietnamese or English, and `--json`
//! prints it as it is.

use serde::Serialize;

use super::timestamp::TimestampStatement;
use crate::envelope::{PackageId, ReceiptId, Timestamp};
use crate::{MessageKind, OrganId, StatusCode};

/// Everything a bundle proved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// The package.
    pub package_id: PackageId,
    /// A document or a status message.
    pub kind: MessageKind,
    /// The edXML `DocumentId`, when there is one.
    pub document_id: Option<String>,
    /// The document's number and notation (`7816/VPCP-TTĐT`), when given.
    pub number: Option<String>,
    /// The document's subject (trích yếu), when given.
    pub subject: Option<String>,
    /// SHA-256 of the edXML bytes, hex.
    pub content_sha256: String,
    /// Who sent it, and signed the package.
    pub sender: Party,
    /// When the sender signed the package, by its clock.
    pub signed_at: Timestamp,
    /// The key that signed the package (hex).
    pub signed_with: String,
    /// Each recipient, in the sender's order, with its answers.
    pub recipients: Vec<RecipientStatement>,
    /// The node whose log the facts are in.
    pub exporter: Party,
    /// The exporter's facts about the package, in log order.
    pub facts: Vec<FactSeen>,
    /// The checkpoint the facts are proved to: its size.
    pub checkpoint_size: u64,
    /// Its root hash, hex.
    pub checkpoint_root: String,
    /// The witnesses that cosigned it.
    pub witnesses: Vec<Witnessed>,
    /// The timestamps over it (none until RFC 3161 tokens are wired).
    pub timestamps: Vec<TimestampStatement>,
    /// The serials of the root sections of the rosters that listed the keys.
    pub roster_serials: Vec<u64>,
}

/// An agency, with its name as the roster gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Party {
    /// Its id.
    pub organ_id: OrganId,
    /// Its name in the roster; `None` when no roster lists it.
    pub name: Option<String>,
}

/// One recipient and what it answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecipientStatement {
    /// The recipient.
    pub recipient: Party,
    /// When it signed that the package arrived (status 01), if the bundle holds that.
    pub arrived_at: Option<Timestamp>,
    /// Its signed statements (and the sender's take-back requests about it), oldest first.
    pub answers: Vec<Answer>,
}

/// One signed receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// The receipt's id.
    pub receipt_id: ReceiptId,
    /// The status code.
    pub code: StatusCode,
    /// Its Vietnamese label.
    pub label_vi: &'static str,
    /// When the issuer signed it, by its clock.
    pub issued_at: Timestamp,
    /// Who signed it.
    pub signed_by: Party,
    /// With which key (hex).
    pub signed_with: String,
    /// The free text the issuer gave: the reason for 02, 13 and 16, a note otherwise.
    pub description: Option<String>,
}

/// A fact of the exporter's log about the package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FactSeen {
    /// The leaf index.
    pub index: u64,
    /// `package_submitted`, `package_received`, `receipt_signed` or `receipt_recorded`.
    pub kind: &'static str,
    /// When the exporter took it, by its clock.
    pub at: Timestamp,
    /// The receipt it names, for the receipt kinds.
    pub receipt_id: Option<ReceiptId>,
}

/// A witness's verified cosignature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Witnessed {
    /// The witness.
    pub witness: Party,
    /// When it cosigned, by its clock (seconds since the epoch, as the cosignature says).
    pub cosigned_at: Timestamp,
}
