//! A JSON description as a message: what `edxml write` writes.
//!
//! Strict, like the writer: a key that does not apply to the message kind, an empty text, a
//! date not in ISO form, an agency id that is not one, or a summary key that disagrees with
//! the detailed keys is refused, naming the key. Nothing is guessed, so what `edxml check
//! --json` prints for the written file is the description given.

use bytes::Bytes;
use lienthong_protocol::OrganId;
use lienthong_protocol::edxml::{
    Attachment, Base64Content, Business, BusinessDocType, BusinessDocumentInfo, Code, Document,
    DocumentType, EdxmlDate, EdxmlDateTime, Message, Organization, OtherInfo, Priority,
    PromulgationInfo, RawSignature, Receiver, ReceiverType, Reference, ReplacementInfo,
    ResponseFor, ResponseForTask, SignerInfo, StaffInfo, Status, StatusCode, TraceHeader,
};
use sha2::Digest as _;

use super::description::{Agency, AttachmentItem, Description, Kind, ResponseForItem, StaffItem};

/// Why a description cannot be written: which key (a JSON path such as
/// `attachment_files[1].sha256`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub(crate) struct DescriptionError {
    pub(crate) key: String,
    pub(crate) reason: String,
}

fn err(key: impl Into<String>, reason: impl Into<String>) -> DescriptionError {
    DescriptionError {
        key: key.into(),
        reason: reason.into(),
    }
}

/// Builds the message a description describes.
///
/// # Errors
/// [`DescriptionError`] naming the first key that is missing, malformed, does not apply to
/// the kind, or disagrees with another.
pub(crate) fn build(d: Description) -> Result<Message, DescriptionError> {
    match d.kind {
        Some(Kind::Edoc) => document(d).map(|doc| Message::Document(Box::new(doc))),
        Some(Kind::Status) => status(d).map(|s| Message::Status(Box::new(s))),
        None => Err(err("kind", "missing: \"edoc\" or \"status\"")),
    }
}

fn document(d: Description) -> Result<Document, DescriptionError> {
    for (key, present) in [
        ("status_code", d.status_code.is_some()),
        ("staff", d.staff.is_some()),
        ("description", d.description.is_some()),
        ("timestamp", d.timestamp.is_some()),
    ] {
        if present {
            return Err(err(key, "applies to status messages only"));
        }
    }
    let business_fields = d.business_fields();
    let from = sender(d.from.as_deref(), d.from_organization)?;
    let to = recipients(&d.to, d.to_organizations)?;
    let mut doc = Document::new(from, to);
    doc.document_id = text("document_id", d.document_id)?;
    doc.code = match (
        text("code_number", d.code_number)?,
        text("code_notation", d.code_notation)?,
    ) {
        (Some(number), Some(notation)) => Some(Code { number, notation }),
        (None, None) => None,
        (Some(_), None) => return Err(err("code_notation", "missing beside code_number")),
        (None, Some(_)) => return Err(err("code_number", "missing beside code_notation")),
    };
    let place = text("promulgation_place", d.promulgation_place)?;
    let date = opt_date("promulgation_date", d.promulgation_date.as_deref())?;
    doc.promulgation =
        (place.is_some() || date.is_some()).then_some(PromulgationInfo { place, date });
    let document_type = DocumentType {
        kind: text("document_type", d.document_type)?,
        detail: text("document_type_detail", d.document_type_detail)?,
        name: text("document_type_name", d.document_type_name)?,
    };
    doc.document_type = (document_type != DocumentType::default()).then_some(document_type);
    doc.subject = text("subject", d.subject)?;
    doc.content = text("content", d.content)?;
    let signer = SignerInfo {
        competence: text("signer_competence", d.signer_competence)?,
        position: text("signer_position", d.signer_position)?,
        full_name: text("signer_full_name", d.signer_full_name)?,
    };
    doc.signer = (signer != SignerInfo::default()).then_some(signer);
    doc.due_date = opt_date("due_date", d.due_date.as_deref())?;
    doc.to_places = texts("to_places", d.to_places)?;
    let other = OtherInfo {
        priority: d
            .priority
            .map(|p| {
                Priority::from_code(p).ok_or_else(|| err("priority", format!("{p} is not 0-4")))
            })
            .transpose()?,
        sphere_of_promulgation: text("sphere_of_promulgation", d.sphere_of_promulgation)?,
        typer_notation: text("typer_notation", d.typer_notation)?,
        promulgation_amount: d.promulgation_amount,
        page_amount: d.page_amount,
        direction: d.direction,
        appendixes: texts("appendixes", d.appendixes)?,
        reply_fors: texts("reply_fors", d.reply_fors)?,
        reference_codes: texts("reference_codes", d.reference_codes)?,
    };
    doc.other_info = (other != OtherInfo::default()).then_some(other);
    doc.response_for = d
        .response_for
        .into_iter()
        .enumerate()
        .map(|(i, r)| response_for(&format!("response_for[{i}]"), r))
        .collect::<Result<_, _>>()?;
    doc.steering_type = d.steering_type;
    doc.response_for_tasks = d
        .response_for_tasks
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let key = format!("response_for_tasks[{i}].task_code");
            Ok(ResponseForTask {
                task_code: required(&key, t.task_code)?,
            })
        })
        .collect::<Result<_, _>>()?;
    doc.application_type = text("application_type", d.application_type)?;
    doc.trace = d
        .trace
        .into_iter()
        .enumerate()
        .map(|(i, hop)| {
            let key = format!("trace[{i}]");
            if hop.organ_id.is_none() && hop.timestamp.is_none() {
                return Err(err(key, "needs organ_id or timestamp"));
            }
            Ok(TraceHeader {
                organ_id: hop
                    .organ_id
                    .map(|id| organ_id(&format!("{key}.organ_id"), &id))
                    .transpose()?,
                timestamp: hop
                    .timestamp
                    .map(|t| date_time(&format!("{key}.timestamp"), &t))
                    .transpose()?,
            })
        })
        .collect::<Result<_, _>>()?;
    doc.business = business(&business_fields)?;
    doc.signature =
        text("signature", d.signature)?.map(|s| RawSignature(Bytes::from(s.into_bytes())));
    doc.references = d
        .references
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let key = |part: &str| format!("references[{i}].{part}");
            Ok(Reference {
                content_id: text(&key("content_id"), r.content_id)?,
                content_type: text(&key("content_type"), r.content_type)?,
                description: text(&key("description"), r.description)?,
                attachment_name: text(&key("attachment_name"), r.attachment_name)?,
            })
        })
        .collect::<Result<_, _>>()?;
    doc.attachments = d
        .attachment_files
        .into_iter()
        .enumerate()
        .map(|(i, a)| attachment(&format!("attachment_files[{i}]"), a))
        .collect::<Result<_, _>>()?;
    check_attachment_summary(
        &doc,
        d.attachments,
        d.attachments_bytes,
        &d.attachment_names,
    )?;
    Ok(doc)
}

/// The business keys, moved out of the description so the block is built in one place.
#[derive(Debug, Default)]
struct BusinessFields {
    doc_type: Option<u8>,
    document_id: Option<String>,
    reason: Option<String>,
    paper: Option<u32>,
    document_info_changed: Option<bool>,
    receivers_changed: Option<bool>,
    receivers: Vec<super::description::ReceiverItem>,
    replacements: Vec<super::description::ReplacementItem>,
    staff: Option<StaffItem>,
}

impl Description {
    fn business_fields(&self) -> BusinessFields {
        BusinessFields {
            doc_type: self.business_doc_type,
            document_id: self.business_document_id.clone(),
            reason: self.business_reason.clone(),
            paper: self.business_paper,
            document_info_changed: self.business_document_info_changed,
            receivers_changed: self.business_receivers_changed,
            receivers: self.business_receivers.clone(),
            replacements: self.business_replacements.clone(),
            staff: self.business_staff.clone(),
        }
    }
}

/// `Bussiness` is written when any business key is given: `edxml check` prints
/// `business_doc_type` 0 for a document without one, and writing that back as a block of
/// type 0 says the same.
fn business(b: &BusinessFields) -> Result<Option<Business>, DescriptionError> {
    let any_info = b.document_info_changed.is_some()
        || b.receivers_changed.is_some()
        || !b.receivers.is_empty();
    let any = b.doc_type.is_some()
        || b.document_id.is_some()
        || b.reason.is_some()
        || b.paper.is_some()
        || any_info
        || !b.replacements.is_empty()
        || b.staff.is_some();
    if !any {
        return Ok(None);
    }
    let doc_type = match b.doc_type {
        None => BusinessDocType::New,
        Some(t) => BusinessDocType::from_code(t).ok_or_else(|| {
            err(
                "business_doc_type",
                format!("{t} is not 0 (new), 1 (revoke), 2 (update) or 3 (replace)"),
            )
        })?,
    };
    let mut business = Business::new(doc_type);
    business.document_id = text("business_document_id", b.document_id.clone())?;
    business.reason = text("business_reason", b.reason.clone())?;
    business.paper = b.paper;
    if any_info {
        let receivers = b
            .receivers
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let key = format!("business_receivers[{i}]");
                Ok(Receiver {
                    organ_id: organ_id(&format!("{key}.organ_id"), &r.organ_id)?,
                    receiver_type: match r.receiver_type {
                        0 => ReceiverType::Removed,
                        1 => ReceiverType::Added,
                        n => {
                            return Err(err(
                                format!("{key}.receiver_type"),
                                format!("{n} is not 0 (removed) or 1 (added)"),
                            ));
                        }
                    },
                })
            })
            .collect::<Result<_, _>>()?;
        business.document_info = Some(BusinessDocumentInfo {
            document_info_changed: b.document_info_changed,
            receivers_changed: b.receivers_changed,
            receivers,
        });
    }
    business.replacements = b
        .replacements
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let key = format!("business_replacements[{i}]");
            Ok(ReplacementInfo {
                document_id: required(&format!("{key}.document_id"), r.document_id.clone())?,
                organ_ids: r
                    .organ_ids
                    .iter()
                    .enumerate()
                    .map(|(j, id)| organ_id(&format!("{key}.organ_ids[{j}]"), id))
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect::<Result<_, _>>()?;
    business.staff = b
        .staff
        .clone()
        .map(|s| staff("business_staff", s))
        .transpose()?;
    Ok(Some(business))
}

fn status(d: Description) -> Result<Status, DescriptionError> {
    if let Some(key) = d.document_only_key() {
        return Err(err(key, "applies to documents only"));
    }
    for (key, n) in [
        ("attachments", d.attachments.unwrap_or(0) as u64),
        ("attachments_bytes", d.attachments_bytes.unwrap_or(0)),
    ] {
        if n != 0 {
            return Err(err(key, "a status message has no attachments"));
        }
    }
    let from = sender(d.from.as_deref(), d.from_organization)?;
    let mut target = match d.response_for.len() {
        0 => {
            let [to] = d.to.as_slice() else {
                return Err(err(
                    "response_for",
                    "missing: the document the status is about (or `to` with one agency and `document_id`)",
                ));
            };
            ResponseFor {
                organ_id: organ_id("to[0]", to)?,
                code: None,
                promulgation_date: None,
                document_id: None,
            }
        }
        1 => {
            let item = d.response_for.into_iter().next().unwrap_or_default();
            let target = response_for("response_for[0]", item)?;
            if !d.to.is_empty() && d.to != [target.organ_id.to_string()] {
                return Err(err(
                    "to",
                    format!(
                        "a status message goes to its response_for agency, {}",
                        target.organ_id
                    ),
                ));
            }
            target
        }
        n => {
            return Err(err(
                "response_for",
                format!("a status message is about one document, not {n}"),
            ));
        }
    };
    let document_id = text("document_id", d.document_id)?;
    match (&target.document_id, document_id) {
        (_, None) => {}
        (None, Some(id)) => target.document_id = Some(id),
        (Some(a), Some(b)) if *a == b => {}
        (Some(a), Some(b)) => {
            return Err(err(
                "document_id",
                format!("{b:?} differs from response_for[0].document_id {a:?}"),
            ));
        }
    }
    if target.document_id.is_none() {
        return Err(err(
            "document_id",
            "missing: a status message names its document (response_for[0].document_id)",
        ));
    }
    let Some(code) = d.status_code else {
        return Err(err("status_code", "missing: 01-06, 13, 15 or 16"));
    };
    let number = (code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit()))
        .then(|| code.parse::<u8>().ok())
        .flatten();
    let code = number
        .and_then(|n| StatusCode::from_number(n).ok())
        .ok_or_else(|| {
            err(
                "status_code",
                format!("{code:?} is not one of 01-06, 13, 15, 16"),
            )
        })?;
    Ok(Status {
        from,
        response_for: target,
        staff: d.staff.map(|s| staff("staff", s)).transpose()?,
        code,
        description: text("description", d.description)?,
        timestamp: d
            .timestamp
            .map(|t| date_time("timestamp", &t))
            .transpose()?,
    })
}

impl Description {
    /// The first key given that only a document has.
    fn document_only_key(&self) -> Option<&'static str> {
        [
            ("to_organizations", !self.to_organizations.is_empty()),
            ("code_number", self.code_number.is_some()),
            ("code_notation", self.code_notation.is_some()),
            ("promulgation_place", self.promulgation_place.is_some()),
            ("promulgation_date", self.promulgation_date.is_some()),
            ("document_type", self.document_type.is_some()),
            ("document_type_detail", self.document_type_detail.is_some()),
            ("document_type_name", self.document_type_name.is_some()),
            ("subject", self.subject.is_some()),
            ("content", self.content.is_some()),
            ("signer_competence", self.signer_competence.is_some()),
            ("signer_position", self.signer_position.is_some()),
            ("signer_full_name", self.signer_full_name.is_some()),
            ("due_date", self.due_date.is_some()),
            ("to_places", !self.to_places.is_empty()),
            ("priority", self.priority.is_some()),
            (
                "sphere_of_promulgation",
                self.sphere_of_promulgation.is_some(),
            ),
            ("typer_notation", self.typer_notation.is_some()),
            ("promulgation_amount", self.promulgation_amount.is_some()),
            ("page_amount", self.page_amount.is_some()),
            ("direction", self.direction.is_some()),
            ("appendixes", !self.appendixes.is_empty()),
            ("reply_fors", !self.reply_fors.is_empty()),
            ("reference_codes", !self.reference_codes.is_empty()),
            ("steering_type", self.steering_type.is_some()),
            ("response_for_tasks", !self.response_for_tasks.is_empty()),
            ("application_type", self.application_type.is_some()),
            ("trace", !self.trace.is_empty()),
            ("business_doc_type", self.business_doc_type.is_some()),
            ("business_document_id", self.business_document_id.is_some()),
            ("business_reason", self.business_reason.is_some()),
            ("business_paper", self.business_paper.is_some()),
            (
                "business_document_info_changed",
                self.business_document_info_changed.is_some(),
            ),
            (
                "business_receivers_changed",
                self.business_receivers_changed.is_some(),
            ),
            ("business_receivers", !self.business_receivers.is_empty()),
            (
                "business_replacements",
                !self.business_replacements.is_empty(),
            ),
            ("business_staff", self.business_staff.is_some()),
            ("signature", self.signature.is_some()),
            ("references", !self.references.is_empty()),
            ("attachment_names", !self.attachment_names.is_empty()),
            ("attachment_files", !self.attachment_files.is_empty()),
        ]
        .into_iter()
        .find_map(|(key, present)| present.then_some(key))
    }
}

/// `From`: from `from_organization`, or `from` alone; both must then name the same agency.
fn sender(from: Option<&str>, detail: Option<Agency>) -> Result<Organization, DescriptionError> {
    match (from, detail) {
        (None, None) => Err(err("from", "missing: the sending agency's id")),
        (Some(id), None) => Ok(Organization::new(organ_id("from", id)?)),
        (from, Some(agency)) => {
            if let Some(id) = from
                && id != agency.organ_id
            {
                return Err(err(
                    "from",
                    format!(
                        "{id:?} differs from from_organization.organ_id {:?}",
                        agency.organ_id
                    ),
                ));
            }
            organization("from_organization", agency)
        }
    }
}

/// `To`: from `to_organizations`, or `to` alone; both must then list the same agencies.
fn recipients(to: &[String], detail: Vec<Agency>) -> Result<Vec<Organization>, DescriptionError> {
    let list: Vec<Organization> = if detail.is_empty() {
        to.iter()
            .enumerate()
            .map(|(i, id)| Ok(Organization::new(organ_id(&format!("to[{i}]"), id)?)))
            .collect::<Result<_, _>>()?
    } else {
        let ids: Vec<&str> = detail.iter().map(|a| a.organ_id.as_str()).collect();
        if !to.is_empty() && to != ids.as_slice() {
            return Err(err(
                "to",
                format!("{to:?} differs from the organ_id of to_organizations {ids:?}"),
            ));
        }
        detail
            .into_iter()
            .enumerate()
            .map(|(i, a)| organization(&format!("to_organizations[{i}]"), a))
            .collect::<Result<_, _>>()?
    };
    if list.is_empty() {
        return Err(err("to", "a document needs at least one recipient"));
    }
    for (i, o) in list.iter().enumerate() {
        if list[..i]
            .iter()
            .any(|earlier| earlier.organ_id == o.organ_id)
        {
            return Err(err(
                format!("to[{i}]"),
                format!("{} is listed twice", o.organ_id),
            ));
        }
    }
    Ok(list)
}

fn organization(key: &str, a: Agency) -> Result<Organization, DescriptionError> {
    let part = |name: &str| format!("{key}.{name}");
    Ok(Organization {
        organ_id: organ_id(&part("organ_id"), &a.organ_id)?,
        organization_in_charge: text(&part("organization_in_charge"), a.organization_in_charge)?,
        organ_name: text(&part("organ_name"), a.organ_name)?,
        organ_add: text(&part("organ_add"), a.organ_add)?,
        email: text(&part("email"), a.email)?,
        telephone: text(&part("telephone"), a.telephone)?,
        fax: text(&part("fax"), a.fax)?,
        website: text(&part("website"), a.website)?,
    })
}

fn response_for(key: &str, r: ResponseForItem) -> Result<ResponseFor, DescriptionError> {
    let part = |name: &str| format!("{key}.{name}");
    Ok(ResponseFor {
        organ_id: organ_id(&part("organ_id"), &r.organ_id)?,
        code: text(&part("code"), r.code)?,
        promulgation_date: opt_date(&part("promulgation_date"), r.promulgation_date.as_deref())?,
        document_id: text(&part("document_id"), r.document_id)?,
    })
}

fn staff(key: &str, s: StaffItem) -> Result<StaffInfo, DescriptionError> {
    let part = |name: &str| format!("{key}.{name}");
    let staff = StaffInfo {
        department: text(&part("department"), s.department)?,
        staff: text(&part("staff"), s.staff)?,
        email: text(&part("email"), s.email)?,
        mobile: text(&part("mobile"), s.mobile)?,
    };
    if staff.is_empty() {
        return Err(err(key, "every part is empty; leave the key out"));
    }
    Ok(staff)
}

fn attachment(key: &str, a: AttachmentItem) -> Result<Attachment, DescriptionError> {
    let part = |name: &str| format!("{key}.{name}");
    let content = match (a.content_base64, a.content_file) {
        (Some(_), Some(_)) => {
            return Err(err(
                part("content_file"),
                "give content_base64 or content_file, not both",
            ));
        }
        (Some(text), None) => {
            let text = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
            if text.is_empty() {
                return Err(err(part("content_base64"), "empty"));
            }
            Base64Content::from_encoded(Bytes::from(text.to_owned()))
                .map_err(|e| err(part("content_base64"), e.to_string()))?
        }
        (None, Some(path)) => {
            let bytes = std::fs::read(&path).map_err(|e| {
                err(
                    part("content_file"),
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            Base64Content::encode(&bytes)
        }
        (None, None) => {
            return Err(err(
                key,
                "needs its content: content_base64 (`edxml check --json --content` prints it) or content_file",
            ));
        }
    };
    let decoded = content
        .decode()
        .map_err(|e| err(part("content_base64"), e.to_string()))?;
    if let Some(bytes) = a.bytes
        && bytes != decoded.len() as u64
    {
        return Err(err(
            part("bytes"),
            format!(
                "is {bytes}, but the content decodes to {} bytes",
                decoded.len()
            ),
        ));
    }
    if let Some(sha256) = &a.sha256 {
        let actual = hex::encode(sha2::Sha256::digest(&decoded));
        if !sha256.eq_ignore_ascii_case(&actual) {
            return Err(err(
                part("sha256"),
                format!("is {sha256}, but the content's is {actual}"),
            ));
        }
    }
    Ok(Attachment {
        content_id: text(&part("content_id"), a.content_id)?,
        attachment_name: text(&part("attachment_name"), a.attachment_name)?,
        description: text(&part("description"), a.description)?,
        content_type: text(&part("content_type"), a.content_type)?,
        mime_type: text(&part("mime_type"), a.mime_type)?,
        field_name: text(&part("field_name"), a.field_name)?,
        content,
    })
}

/// `attachments`, `attachments_bytes` and `attachment_names` say what `attachment_files`
/// holds; given, they must agree with it.
fn check_attachment_summary(
    doc: &Document,
    count: Option<usize>,
    bytes: Option<u64>,
    names: &[Option<String>],
) -> Result<(), DescriptionError> {
    let files = doc.attachments.len();
    if let Some(count) = count
        && count != files
    {
        return Err(err(
            "attachments",
            format!("is {count}, but attachment_files has {files}"),
        ));
    }
    let total = doc.attachments_decoded_len();
    if let Some(bytes) = bytes
        && bytes != total
    {
        return Err(err(
            "attachments_bytes",
            format!("is {bytes}, but the attachment files decode to {total} bytes"),
        ));
    }
    let actual: Vec<Option<String>> = doc
        .attachments
        .iter()
        .map(|a| a.attachment_name.clone())
        .collect();
    if !names.is_empty() && names != actual.as_slice() {
        return Err(err(
            "attachment_names",
            format!("{names:?} differs from the attachment_name of attachment_files {actual:?}"),
        ));
    }
    Ok(())
}

// ---- values -------------------------------------------------------------------------------

/// Optional text: present means non-empty and carriable by XML.
fn text(key: &str, value: Option<String>) -> Result<Option<String>, DescriptionError> {
    value.map(|v| required(key, v)).transpose()
}

fn required(key: &str, value: String) -> Result<String, DescriptionError> {
    if value.is_empty() {
        return Err(err(key, "empty; leave the key out"));
    }
    if let Some(c) = value.chars().find(|c| {
        (c.is_control() && !matches!(*c, '\n' | '\t' | '\r'))
            || matches!(*c, '\u{FFFE}' | '\u{FFFF}')
    }) {
        return Err(err(
            key,
            format!("holds the character {c:?}, which XML cannot carry"),
        ));
    }
    Ok(value)
}

fn texts(key: &str, values: Vec<String>) -> Result<Vec<String>, DescriptionError> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| required(&format!("{key}[{i}]"), v))
        .collect()
}

fn organ_id(key: &str, text: &str) -> Result<OrganId, DescriptionError> {
    OrganId::parse(text).map_err(|e| err(key, format!("{text:?} is not an agency id: {e}")))
}

fn opt_date(key: &str, text: Option<&str>) -> Result<Option<EdxmlDate>, DescriptionError> {
    text.map(|t| date(key, t)).transpose()
}

/// `YYYY-MM-DD`, exactly.
fn date(key: &str, text: &str) -> Result<EdxmlDate, DescriptionError> {
    let bad = || err(key, format!("{text:?} is not a date YYYY-MM-DD"));
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let year = digits(text.get(0..4)).ok_or_else(bad)?;
    let month = digits(text.get(5..7)).ok_or_else(bad)?;
    let day = digits(text.get(8..10)).ok_or_else(bad)?;
    EdxmlDate::new(year, month, day)
        .ok_or_else(|| err(key, format!("{text:?} is not a day of the calendar")))
}

/// `YYYY-MM-DDTHH:MM:SS`, exactly: local time, as edXML carries no zone.
fn date_time(key: &str, text: &str) -> Result<EdxmlDateTime, DescriptionError> {
    let bad = || {
        err(
            key,
            format!("{text:?} is not a timestamp YYYY-MM-DDTHH:MM:SS"),
        )
    };
    let b = text.as_bytes();
    if b.len() != 19 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let day = date(key, text.get(..10).unwrap_or_default()).map_err(|_| bad())?;
    let hour = digits(text.get(11..13)).ok_or_else(bad)?;
    let minute = digits(text.get(14..16)).ok_or_else(bad)?;
    let second = digits(text.get(17..19)).ok_or_else(bad)?;
    EdxmlDateTime::new(day, hour, minute, second)
        .ok_or_else(|| err(key, format!("{text:?} is not a time of day")))
}

/// A number written with ASCII digits only (no sign, no space).
fn digits<T: std::str::FromStr>(text: Option<&str>) -> Option<T> {
    let text = text?;
    text.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso_and_real_days() {
        assert_eq!(
            date("d", "2024-02-29").map(|d| d.to_string()),
            Ok("2024/02/29".to_owned())
        );
        for bad in [
            "2026-02-29",
            "2026/02/28",
            "26-02-28",
            "2026-2-28",
            "+026-02-28",
            "2026-02-2 ",
            "2é6-02-28",
            "2026-02-2é",
            "",
        ] {
            let e = date("promulgation_date", bad).expect_err(bad);
            assert_eq!(e.key, "promulgation_date", "{bad}");
        }
        assert_eq!(
            date_time("t", "2015-09-20T11:08:36").map(|t| t.to_string()),
            Ok("2015/09/20 11:08:36".to_owned())
        );
        for bad in [
            "2015-09-20 11:08:36",
            "2015-09-20T24:00:00",
            "2015-09-20T11:08",
            "2015-09-20T11:08:36Z",
            "2015-09-20T11:0é:36",
            "2015-09-2éT11:08:36",
        ] {
            assert!(date_time("t", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn texts_must_be_carriable_by_xml() {
        assert_eq!(text("k", None), Ok(None));
        assert_eq!(text("k", Some(" a\r\n".into())), Ok(Some(" a\r\n".into())));
        assert_eq!(
            text("k", Some(String::new())).map_err(|e| e.key),
            Err("k".into())
        );
        let e = text("subject", Some("chuông \u{7}".into())).expect_err("bell");
        assert!(
            e.to_string().starts_with("subject: holds the character"),
            "{e}"
        );
    }

    #[test]
    fn a_status_can_be_named_by_to_and_document_id_alone() {
        let d: Description = serde_json::from_str(
            r#"{"kind":"status","from":"000.00.00.H41","to":["000.00.00.G22"],
                "document_id":"000.00.00.G22,2015/09/30,7816/VPCP-TTĐT","status_code":"05"}"#,
        )
        .expect("json");
        let Ok(Message::Status(s)) = build(d) else {
            panic!("a status message")
        };
        assert_eq!(s.response_for.organ_id.as_str(), "000.00.00.G22");
        assert_eq!(s.code, StatusCode::Processing);
        assert_eq!(
            s.response_for.document_id.as_deref(),
            Some("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT")
        );
    }
}
