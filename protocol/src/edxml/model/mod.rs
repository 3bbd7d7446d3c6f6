//! The edXML domain model: what a document or status message says, independent of how a
//! particular producer spelled it on the wire.
//!
//! The reader fills these types leniently and the writer emits them strictly; a value the
//! writer wrote reads back equal. Optional parts are `Option` or empty `Vec`s, so a value
//! never pretends to carry something the message did not.

pub(crate) mod attachment;
mod common;
mod date;
mod document;
mod status;

pub use attachment::{Attachment, Base64Content, Base64Error, RawSignature, Reference};
pub use common::{Organization, ResponseFor, StaffInfo};
pub use date::{DateForm, EdxmlDate, EdxmlDateTime};
pub use document::{
    Business, BusinessDocType, BusinessDocumentInfo, Code, Document, DocumentType, OtherInfo,
    Priority, PromulgationInfo, Receiver, ReceiverType, ReplacementInfo, ResponseForTask,
    SignerInfo, TraceHeader,
};
pub use status::{Status, StatusCode, UnknownStatusCode};

use serde::Serialize;

use crate::OrganId;

/// One edXML message: the axis calls the two kinds `messagetype=edoc` and `messagetype=status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// A document (văn bản điện tử).
    #[serde(rename = "edoc")]
    Document(Box<Document>),
    /// A status message (gói tin trạng thái) about a document.
    Status(Box<Status>),
}

/// Which of the two message kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// `messagetype=edoc`.
    Edoc,
    /// `messagetype=status`.
    Status,
}

impl MessageKind {
    /// The name the axis API and `--json` outputs use: `edoc` or `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Edoc => "edoc",
            MessageKind::Status => "status",
        }
    }
}

impl std::fmt::Display for MessageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Message {
    /// The message kind.
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Document(_) => MessageKind::Edoc,
            Message::Status(_) => MessageKind::Status,
        }
    }

    /// The agency that wrote the message (`From/OrganId`).
    pub fn from(&self) -> &OrganId {
        match self {
            Message::Document(d) => &d.from.organ_id,
            Message::Status(s) => &s.from.organ_id,
        }
    }

    /// Where the message goes: every `To` of a document, or the `ResponseFor` agency of a
    /// status message (the original sender, or for code 13 the original recipient).
    pub fn addressees(&self) -> Vec<&OrganId> {
        match self {
            Message::Document(d) => d.to.iter().map(|o| &o.organ_id).collect(),
            Message::Status(s) => vec![&s.response_for.organ_id],
        }
    }

    /// The document id the message carries: its own for a document, the one it answers
    /// for a status message.
    pub fn document_id(&self) -> Option<&str> {
        match self {
            Message::Document(d) => d.document_id.as_deref(),
            Message::Status(s) => s.response_for.document_id.as_deref(),
        }
    }

    /// The document, if this is one.
    pub fn as_document(&self) -> Option<&Document> {
        match self {
            Message::Document(d) => Some(d),
            Message::Status(_) => None,
        }
    }

    /// The status message, if this is one.
    pub fn as_status(&self) -> Option<&Status> {
        match self {
            Message::Document(_) => None,
            Message::Status(s) => Some(s),
        }
    }
}
