//! The document message (`messagetype=edoc`).

use serde::Serialize;

use super::{Attachment, EdxmlDate, EdxmlDateTime, Organization, RawSignature, Reference};
use super::{ResponseFor, StaffInfo};
use crate::OrganId;

/// A document: the `MessageHeader`, the `TraceHeaderList`, the manifest, the attachments and
/// the producer's signature, in the order the axis SDK writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    /// `From`: the issuing agency.
    pub from: Organization,
    /// `To`: one entry per recipient, at least one.
    pub to: Vec<Organization>,
    /// `DocumentId`, e.g. `000.00.00.G22,2015/09/30,7816/VPCP-TTĐT` or a UUID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
    /// `Code`: số and ký hiệu.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
    /// `PromulgationInfo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promulgation: Option<PromulgationInfo>,
    /// `DocumentType`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_type: Option<DocumentType>,
    /// `Subject` (trích yếu).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `Content` (summary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// `SignerInfo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<SignerInfo>,
    /// `DueDate`: when an answer is due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date: Option<EdxmlDate>,
    /// `ToPlaces/Place`: "nơi nhận", not the direct recipients.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to_places: Vec<String>,
    /// `OtherInfo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_info: Option<OtherInfo>,
    /// `ResponseFor`: the documents this one replies to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response_for: Vec<ResponseFor>,
    /// `SteeringType`: 1 not a directive, 2 directive, 3 report on a directive (some
    /// senders write 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steering_type: Option<u8>,
    /// `ResponseForTask`: the tasks (nhiệm vụ) this document reports on. The official Java
    /// library writes them for QLVB systems that link documents to tracked tasks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response_for_tasks: Vec<ResponseForTask>,
    /// `ApplicationType`: an extension of the official Java library, kept as text because no
    /// source says what its values mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_type: Option<String>,
    /// `TraceHeaderList/TraceHeader`: the hop trace, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<TraceHeader>,
    /// `TraceHeaderList/Bussiness`: what the document does (new, revoke, update, replace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business: Option<Business>,
    /// The producer's `Signature` (XML-DSig) or `DigitalSignature`, kept byte for byte.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<RawSignature>,
    /// `edXMLBody/edXMLManifest/Reference`: one per attached file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    /// `AttachmentEncoded/Attachment`: the files themselves.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

impl Document {
    /// A document from one agency to others with nothing else filled in; the writer and
    /// tests build on it.
    pub fn new(from: Organization, to: Vec<Organization>) -> Self {
        Document {
            from,
            to,
            document_id: None,
            code: None,
            promulgation: None,
            document_type: None,
            subject: None,
            content: None,
            signer: None,
            due_date: None,
            to_places: Vec::new(),
            other_info: None,
            response_for: Vec::new(),
            steering_type: None,
            response_for_tasks: Vec::new(),
            application_type: None,
            trace: Vec::new(),
            business: None,
            signature: None,
            references: Vec::new(),
            attachments: Vec::new(),
        }
    }

    /// The business action; a document without `Bussiness` is a new document.
    pub fn business_doc_type(&self) -> BusinessDocType {
        self.business
            .as_ref()
            .map_or(BusinessDocType::New, |b| b.doc_type)
    }

    /// The priority; absent means normal (`Thường`).
    pub fn priority(&self) -> Priority {
        self.other_info
            .as_ref()
            .and_then(|o| o.priority)
            .unwrap_or(Priority::Normal)
    }

    /// Total size of the attachments once decoded, computed without decoding them.
    pub fn attachments_decoded_len(&self) -> u64 {
        self.attachments
            .iter()
            .map(|a| a.content.decoded_len())
            .sum()
    }

    /// The document id, or the form the axis SDK derives when a producer left it out:
    /// `<From OrganId>,<yyyy/MM/dd>,<CodeNumber>/<CodeNotation>`.
    pub fn document_id_or_derived(&self) -> Option<String> {
        if let Some(id) = &self.document_id {
            return Some(id.clone());
        }
        let code = self.code.as_ref()?;
        let date = self.promulgation.as_ref()?.date?;
        Some(format!(
            "{},{},{}/{}",
            self.from.organ_id, date, code.number, code.notation
        ))
    }
}

/// `Code`: the document's number (số) and notation (ký hiệu).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Code {
    /// `CodeNumber`, e.g. `7816`.
    pub number: String,
    /// `CodeNotation`, e.g. `VPCP-TTĐT`.
    pub notation: String,
}

/// `PromulgationInfo`: where and when the document was issued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PromulgationInfo {
    /// `Place`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// `PromulgationDate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<EdxmlDate>,
}

/// `DocumentType`. The numeric meaning of `Type` and `TypeDetail` differs between producers
/// (`1/0/Công văn`, `1/-/Thông tư`, `18` for Công văn in one SDK), so they are kept as text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DocumentType {
    /// `Type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `TypeDetail`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// `TypeName`, e.g. `Công văn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `SignerInfo`: who signed the paper original.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SignerInfo {
    /// `Competence`: TL., KT., Quyền…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub competence: Option<String>,
    /// `Position`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// `FullName`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
}

/// `OtherInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OtherInfo {
    /// `Priority` (độ khẩn).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// `SphereOfPromulgation`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sphere_of_promulgation: Option<String>,
    /// `TyperNotation`: initials of the typist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typer_notation: Option<String>,
    /// `PromulgationAmount`: number of copies issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promulgation_amount: Option<u32>,
    /// `PageAmount`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_amount: Option<u32>,
    /// `Direction`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<bool>,
    /// `Appendixes/Appendix`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub appendixes: Vec<String>,
    /// `ReplyFors/ReplyFor`: what the document replies to, as the official Java library
    /// writes it. Each item is kept as its text: no source describes its parts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reply_fors: Vec<String>,
    /// `ReferenceCodes/ReferenceCode`: codes of documents this one refers to (văn bản
    /// dẫn chiếu), as the official Java library writes them; each item kept as its text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reference_codes: Vec<String>,
}

/// `ResponseForTask`: a task (nhiệm vụ) the document reports on, named by its `TaskCode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseForTask {
    /// `TaskCode`: the task's code in the issuing system.
    pub task_code: String,
}

/// Document priority (độ khẩn). Higher priorities get shorter deadlines for receipt 01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// 0 Thường.
    Normal,
    /// 1 Khẩn.
    Urgent,
    /// 2 Thượng khẩn.
    VeryUrgent,
    /// 3 Hỏa tốc.
    Flash,
    /// 4 Hỏa tốc hẹn giờ.
    ScheduledFlash,
}

impl Priority {
    /// From the wire value 0–4.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Priority::Normal,
            1 => Priority::Urgent,
            2 => Priority::VeryUrgent,
            3 => Priority::Flash,
            4 => Priority::ScheduledFlash,
            _ => return None,
        })
    }

    /// The wire value 0–4.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// `TraceHeader`: one hop of the trace. Axis-returned files carry entries with only a
/// timestamp, so both parts are optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TraceHeader {
    /// `OrganId` of the hop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organ_id: Option<OrganId>,
    /// `Timestamp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<EdxmlDateTime>,
}

/// `Bussiness` (wire spelling): the business action the document performs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Business {
    /// `BussinessDocType`.
    pub doc_type: BusinessDocType,
    /// `DocumentId`: for revoke, update and replace, the document acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
    /// `BussinessDocReason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `Paper`: 0/1, whether a paper copy is also sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paper: Option<u32>,
    /// `BussinessDocumentInfo`: what an update changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_info: Option<BusinessDocumentInfo>,
    /// `ReplacementInfoList/ReplacementInfo`: what a replacement replaces.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replacements: Vec<ReplacementInfo>,
    /// `StaffInfo`: the clerk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<StaffInfo>,
}

impl Business {
    /// A business block with only its type.
    pub fn new(doc_type: BusinessDocType) -> Self {
        Business {
            doc_type,
            document_id: None,
            reason: None,
            paper: None,
            document_info: None,
            replacements: Vec::new(),
            staff: None,
        }
    }
}

/// `BussinessDocType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BusinessDocType {
    /// 0 Văn bản mới.
    New,
    /// 1 Thu hồi.
    Revoke,
    /// 2 Cập nhật.
    Update,
    /// 3 Thay thế.
    Replace,
}

impl BusinessDocType {
    /// From the wire value 0–3.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => BusinessDocType::New,
            1 => BusinessDocType::Revoke,
            2 => BusinessDocType::Update,
            3 => BusinessDocType::Replace,
            _ => return None,
        })
    }

    /// The wire value 0–3.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// `BussinessDocumentInfo`: for an update, whether the metadata and the recipient list
/// changed, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BusinessDocumentInfo {
    /// `DocumentInfo`: 1 when the document's metadata changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_info_changed: Option<bool>,
    /// `DocumentReceiver`: 1 when the recipient list changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receivers_changed: Option<bool>,
    /// `ReceiverList/Receiver`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub receivers: Vec<Receiver>,
}

/// `Receiver`: a recipient added to or removed from the list by an update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receiver {
    /// `OrganId`.
    pub organ_id: OrganId,
    /// `ReceiverType`.
    pub receiver_type: ReceiverType,
}

/// `ReceiverType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiverType {
    /// 0: removed from the recipients.
    Removed,
    /// 1: newly added.
    Added,
}

/// `ReplacementInfo`: the document replaced, and for which recipients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplacementInfo {
    /// `DocumentId` of the replaced document.
    pub document_id: String,
    /// `OrganIdList/OrganId`.
    pub organ_ids: Vec<OrganId>,
}
