//! The JSON description of an edXML message: what `edxml check --json` prints for each file
//! and what `edxml write` builds a file from, with the same names both ways, so a script can
//! read a document, change a field and write it again.
//!
//! One flat object per message. Names are the edXML element names in snake_case; values are
//! as on the wire (`priority` 3, `status_code` "05"), except dates, which are ISO 8601
//! (`2026-11-02`, and `2026-11-02T08:15:30` for timestamps, local time as edXML has no zone).
//! The summary keys `edxml check` has always printed (`kind` to `attachments_bytes`) are always
//! there; any other top-level key is left out when the message has no such value. Objects
//! inside lists and agencies always have all their keys, `null` when absent.
//!
//! The names are a contract with scripts: they are listed in [`super::JSON_HELP`] and
//! `docs/edxml-cli.md`, and a change to one is a change to both.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which message kind: `edoc` or `status`, as the axis names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    Edoc,
    Status,
}

/// One message. For `edxml write`, a key that does not apply to the kind is refused, a
/// summary key is checked against the detailed ones, and the keys of `edxml check`'s own
/// report (`file`, `ok`, `warnings`, `error…`) are accepted and ignored, so that a report
/// can be written back as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Description {
    // ---- the summary keys, always printed -----------------------------------------------
    pub(crate) kind: Option<Kind>,
    /// `From/OrganId`.
    pub(crate) from: Option<String>,
    /// Every `To/OrganId` of a document; for a status message its `ResponseFor/OrganId`.
    #[serde(default)]
    pub(crate) to: Vec<String>,
    /// A document's `DocumentId`; for a status message its `ResponseFor/DocumentId`.
    pub(crate) document_id: Option<String>,
    /// `Bussiness/BussinessDocType` 0–3 (documents; 0 when there is no `Bussiness`).
    pub(crate) business_doc_type: Option<u8>,
    /// `StatusCode` as written, e.g. `"05"` (status messages).
    pub(crate) status_code: Option<String>,
    /// How many attachments.
    pub(crate) attachments: Option<usize>,
    /// Their total size once decoded from base64.
    pub(crate) attachments_bytes: Option<u64>,

    // ---- both kinds ---------------------------------------------------------------------
    /// `From`, every part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) from_organization: Option<Agency>,
    /// `ResponseFor`: the documents a document replies to; for a status message, exactly
    /// the one it is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) response_for: Vec<ResponseForItem>,

    // ---- documents ----------------------------------------------------------------------
    /// Every `To`, every part, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) to_organizations: Vec<Agency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) code_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) code_notation: Option<String>,
    /// `PromulgationInfo/Place`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) promulgation_place: Option<String>,
    /// `PromulgationInfo/PromulgationDate`, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) promulgation_date: Option<String>,
    /// `DocumentType/Type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) document_type: Option<String>,
    /// `DocumentType/TypeDetail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) document_type_detail: Option<String>,
    /// `DocumentType/TypeName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) document_type_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) content: Option<String>,
    /// `SignerInfo/Competence`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) signer_competence: Option<String>,
    /// `SignerInfo/Position`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) signer_position: Option<String>,
    /// `SignerInfo/FullName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) signer_full_name: Option<String>,
    /// `DueDate`, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) due_date: Option<String>,
    /// `ToPlaces/Place`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) to_places: Vec<String>,
    /// `OtherInfo/Priority` 0–4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) priority: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sphere_of_promulgation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) typer_notation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) promulgation_amount: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) page_amount: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) direction: Option<bool>,
    /// `OtherInfo/Appendixes/Appendix`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) appendixes: Vec<String>,
    /// `OtherInfo/ReplyFors/ReplyFor`, each as its text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) reply_fors: Vec<String>,
    /// `OtherInfo/ReferenceCodes/ReferenceCode`, each as its text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) reference_codes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) steering_type: Option<u8>,
    /// `ResponseForTask`, one object per element.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) response_for_tasks: Vec<TaskItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) application_type: Option<String>,
    /// `TraceHeaderList/TraceHeader`, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) trace: Vec<TraceItem>,
    /// `Bussiness/DocumentId`: the document a revoke, update or replace acts on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) business_document_id: Option<String>,
    /// `Bussiness/BussinessDocReason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) business_reason: Option<String>,
    /// `Bussiness/Paper`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) business_paper: Option<u32>,
    /// `Bussiness/BussinessDocumentInfo/DocumentInfo` (0/1 on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) business_document_info_changed: Option<bool>,
    /// `Bussiness/BussinessDocumentInfo/DocumentReceiver` (0/1 on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) business_receivers_changed: Option<bool>,
    /// `Bussiness/BussinessDocumentInfo/ReceiverList/Receiver`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) business_receivers: Vec<ReceiverItem>,
    /// `Bussiness/ReplacementInfoList/ReplacementInfo`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) business_replacements: Vec<ReplacementItem>,
    /// `Bussiness/StaffInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) business_staff: Option<StaffItem>,
    /// The producer's `Signature` element, byte for byte (lienthong does not verify it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) signature: Option<String>,
    /// `edXMLManifest/Reference`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) references: Vec<ReferenceItem>,
    /// Each attachment's `AttachmentName`, `null` for one without.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) attachment_names: Vec<Option<String>>,
    /// `AttachmentEncoded/Attachment`, every part.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) attachment_files: Vec<AttachmentItem>,

    // ---- status messages ----------------------------------------------------------------
    /// `StaffInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) staff: Option<StaffItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    /// `Timestamp`, `YYYY-MM-DDTHH:MM:SS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) timestamp: Option<String>,

    // ---- `edxml check`'s report keys: accepted and ignored by `edxml write` -------------
    #[serde(default, skip_serializing)]
    pub(crate) file: Option<Value>,
    #[serde(default, skip_serializing)]
    pub(crate) ok: Option<Value>,
    #[serde(default, skip_serializing)]
    pub(crate) warnings: Option<Value>,
    #[serde(default, skip_serializing)]
    pub(crate) error: Option<Value>,
    #[serde(default, skip_serializing)]
    pub(crate) error_line: Option<Value>,
    #[serde(default, skip_serializing)]
    pub(crate) error_column: Option<Value>,
    #[serde(default, skip_serializing)]
    pub(crate) error_path: Option<Value>,
}

/// An agency as `From` and `To` describe it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Agency {
    pub(crate) organ_id: String,
    #[serde(default)]
    pub(crate) organization_in_charge: Option<String>,
    #[serde(default)]
    pub(crate) organ_name: Option<String>,
    #[serde(default)]
    pub(crate) organ_add: Option<String>,
    #[serde(default)]
    pub(crate) email: Option<String>,
    #[serde(default)]
    pub(crate) telephone: Option<String>,
    #[serde(default)]
    pub(crate) fax: Option<String>,
    #[serde(default)]
    pub(crate) website: Option<String>,
}

/// `ResponseFor`: the agency that issued the referred document, and the document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResponseForItem {
    pub(crate) organ_id: String,
    /// Number and notation in one string, e.g. `7816/VPCP-TTĐT`.
    #[serde(default)]
    pub(crate) code: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub(crate) promulgation_date: Option<String>,
    #[serde(default)]
    pub(crate) document_id: Option<String>,
}

/// `ResponseForTask`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaskItem {
    /// `TaskCode`.
    pub(crate) task_code: String,
}

/// `TraceHeader`: one hop.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TraceItem {
    #[serde(default)]
    pub(crate) organ_id: Option<String>,
    /// `YYYY-MM-DDTHH:MM:SS`.
    #[serde(default)]
    pub(crate) timestamp: Option<String>,
}

/// `Receiver`: an agency an update adds (`receiver_type` 1) or removes (0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReceiverItem {
    pub(crate) organ_id: String,
    pub(crate) receiver_type: u8,
}

/// `ReplacementInfo`: the replaced document, and for which recipients.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplacementItem {
    pub(crate) document_id: String,
    #[serde(default)]
    pub(crate) organ_ids: Vec<String>,
}

/// `StaffInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StaffItem {
    #[serde(default)]
    pub(crate) department: Option<String>,
    #[serde(default)]
    pub(crate) staff: Option<String>,
    #[serde(default)]
    pub(crate) email: Option<String>,
    #[serde(default)]
    pub(crate) mobile: Option<String>,
}

/// `edXMLManifest/Reference`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReferenceItem {
    #[serde(default)]
    pub(crate) content_id: Option<String>,
    #[serde(default)]
    pub(crate) content_type: Option<String>,
    #[serde(default)]
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) attachment_name: Option<String>,
}

/// `AttachmentEncoded/Attachment`. `edxml check` prints the size and SHA-256 of the decoded
/// content, and the base64 text itself with `--content`; `edxml write` takes the content as
/// `content_base64` (the `ContentTransferEncoded` text) or `content_file` (a file whose bytes
/// are encoded, normally a zip archive holding the document), and checks `bytes` and
/// `sha256` when they are given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttachmentItem {
    #[serde(default)]
    pub(crate) content_id: Option<String>,
    #[serde(default)]
    pub(crate) attachment_name: Option<String>,
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// Normally `application/zip`: the content is a zip archive.
    #[serde(default)]
    pub(crate) content_type: Option<String>,
    /// `MimeType`: the type of the file inside the archive.
    #[serde(default)]
    pub(crate) mime_type: Option<String>,
    /// `FieldName`.
    #[serde(default)]
    pub(crate) field_name: Option<String>,
    /// Size of the content once decoded.
    #[serde(default)]
    pub(crate) bytes: Option<u64>,
    /// SHA-256 of the decoded content, lowercase hex.
    #[serde(default)]
    pub(crate) sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) content_base64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) content_file: Option<PathBuf>,
}

impl Description {
    /// The summary of a file that could not be read: every summary key there, empty.
    pub(crate) fn unread() -> Self {
        Description {
            attachments: Some(0),
            attachments_bytes: Some(0),
            ..Description::default()
        }
    }
}
