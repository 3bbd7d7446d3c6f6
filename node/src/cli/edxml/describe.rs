//! A message as its JSON description: what `edxml check --json` prints.

use lienthong_protocol::edxml::{
    Attachment, Document, EdxmlDate, EdxmlDateTime, Message, Organization, ReceiverType,
    ResponseFor, StaffInfo, Status,
};
use sha2::Digest as _;

use super::description::{
    Agency, AttachmentItem, Description, Kind, ReceiverItem, ReferenceItem, ReplacementItem,
    ResponseForItem, StaffItem, TaskItem, TraceItem,
};

/// An attachment whose base64 text does not decode: offline checking decodes every one,
/// because such an attachment would fail at the recipient's QLVB.
#[derive(Debug, thiserror::Error)]
#[error("attachment {number} ({name}): {reason}")]
pub(crate) struct UndecodableAttachment {
    /// From 1, in file order.
    pub(crate) number: usize,
    pub(crate) name: String,
    pub(crate) reason: String,
}

/// Describes `message`; with `content`, each attachment's base64 text is included. An
/// attachment that does not decode is returned beside the description of everything but the
/// attachment files.
pub(crate) fn describe(
    message: &Message,
    content: bool,
) -> (Description, Option<UndecodableAttachment>) {
    match message {
        Message::Document(doc) => document(doc, content),
        Message::Status(status) => (self::status(status), None),
    }
}

fn document(doc: &Document, content: bool) -> (Description, Option<UndecodableAttachment>) {
    let other = doc.other_info.clone().unwrap_or_default();
    let business = doc.business.as_ref();
    let info = business.and_then(|b| b.document_info.clone());
    let mut d = Description {
        kind: Some(Kind::Edoc),
        from: Some(doc.from.organ_id.to_string()),
        to: doc.to.iter().map(|o| o.organ_id.to_string()).collect(),
        document_id: doc.document_id.clone(),
        business_doc_type: Some(doc.business_doc_type().code()),
        status_code: None,
        attachments: Some(doc.attachments.len()),
        attachments_bytes: Some(doc.attachments_decoded_len()),
        from_organization: Some(agency(&doc.from)),
        response_for: doc.response_for.iter().map(response_for).collect(),
        to_organizations: doc.to.iter().map(agency).collect(),
        // The reader keeps a code with one part missing as an empty string.
        code_number: doc
            .code
            .as_ref()
            .map(|c| c.number.clone())
            .filter(|n| !n.is_empty()),
        code_notation: doc
            .code
            .as_ref()
            .map(|c| c.notation.clone())
            .filter(|n| !n.is_empty()),
        promulgation_place: doc.promulgation.as_ref().and_then(|p| p.place.clone()),
        promulgation_date: doc.promulgation.as_ref().and_then(|p| p.date).map(iso_date),
        document_type: doc.document_type.as_ref().and_then(|t| t.kind.clone()),
        document_type_detail: doc.document_type.as_ref().and_then(|t| t.detail.clone()),
        document_type_name: doc.document_type.as_ref().and_then(|t| t.name.clone()),
        subject: doc.subject.clone(),
        content: doc.content.clone(),
        signer_competence: doc.signer.as_ref().and_then(|s| s.competence.clone()),
        signer_position: doc.signer.as_ref().and_then(|s| s.position.clone()),
        signer_full_name: doc.signer.as_ref().and_then(|s| s.full_name.clone()),
        due_date: doc.due_date.map(iso_date),
        to_places: doc.to_places.clone(),
        priority: other.priority.map(|p| p.code()),
        sphere_of_promulgation: other.sphere_of_promulgation,
        typer_notation: other.typer_notation,
        promulgation_amount: other.promulgation_amount,
        page_amount: other.page_amount,
        direction: other.direction,
        appendixes: other.appendixes,
        reply_fors: other.reply_fors,
        reference_codes: other.reference_codes,
        steering_type: doc.steering_type,
        response_for_tasks: doc
            .response_for_tasks
            .iter()
            .map(|t| TaskItem {
                task_code: t.task_code.clone(),
            })
            .collect(),
        application_type: doc.application_type.clone(),
        trace: doc
            .trace
            .iter()
            .map(|hop| TraceItem {
                organ_id: hop.organ_id.as_ref().map(ToString::to_string),
                timestamp: hop.timestamp.map(iso_date_time),
            })
            .collect(),
        business_document_id: business.and_then(|b| b.document_id.clone()),
        business_reason: business.and_then(|b| b.reason.clone()),
        business_paper: business.and_then(|b| b.paper),
        business_document_info_changed: info.as_ref().and_then(|i| i.document_info_changed),
        business_receivers_changed: info.as_ref().and_then(|i| i.receivers_changed),
        business_receivers: info
            .iter()
            .flat_map(|i| &i.receivers)
            .map(|r| ReceiverItem {
                organ_id: r.organ_id.to_string(),
                receiver_type: match r.receiver_type {
                    ReceiverType::Removed => 0,
                    ReceiverType::Added => 1,
                },
            })
            .collect(),
        business_replacements: business
            .iter()
            .flat_map(|b| &b.replacements)
            .map(|r| ReplacementItem {
                document_id: r.document_id.clone(),
                organ_ids: r.organ_ids.iter().map(ToString::to_string).collect(),
            })
            .collect(),
        business_staff: business.and_then(|b| b.staff.as_ref()).map(staff),
        signature: doc
            .signature
            .as_ref()
            .map(|s| String::from_utf8_lossy(s.as_bytes()).into_owned()),
        references: doc
            .references
            .iter()
            .map(|r| ReferenceItem {
                content_id: r.content_id.clone(),
                content_type: r.content_type.clone(),
                description: r.description.clone(),
                attachment_name: r.attachment_name.clone(),
            })
            .collect(),
        attachment_names: doc
            .attachments
            .iter()
            .map(|a| a.attachment_name.clone())
            .collect(),
        attachment_files: Vec::new(),
        ..Description::default()
    };
    for (i, a) in doc.attachments.iter().enumerate() {
        match attachment(a, content) {
            Ok(item) => d.attachment_files.push(item),
            Err(reason) => {
                let failure = UndecodableAttachment {
                    number: i + 1,
                    name: a
                        .attachment_name
                        .clone()
                        .unwrap_or_else(|| "(unnamed)".to_owned()),
                    reason,
                };
                d.attachment_files.clear();
                return (d, Some(failure));
            }
        }
    }
    (d, None)
}

fn attachment(a: &Attachment, content: bool) -> Result<AttachmentItem, String> {
    let decoded = a.content.decode().map_err(|e| e.to_string())?;
    Ok(AttachmentItem {
        content_id: a.content_id.clone(),
        attachment_name: a.attachment_name.clone(),
        description: a.description.clone(),
        content_type: a.content_type.clone(),
        mime_type: a.mime_type.clone(),
        field_name: a.field_name.clone(),
        bytes: Some(decoded.len() as u64),
        sha256: Some(hex::encode(sha2::Sha256::digest(&decoded))),
        content_base64: content.then(|| String::from_utf8_lossy(a.content.encoded()).into_owned()),
        content_file: None,
    })
}

fn status(s: &Status) -> Description {
    Description {
        kind: Some(Kind::Status),
        from: Some(s.from.organ_id.to_string()),
        to: vec![s.response_for.organ_id.to_string()],
        document_id: s.response_for.document_id.clone(),
        business_doc_type: None,
        status_code: Some(s.code.as_str().to_owned()),
        attachments: Some(0),
        attachments_bytes: Some(0),
        from_organization: Some(agency(&s.from)),
        response_for: vec![response_for(&s.response_for)],
        staff: s.staff.as_ref().map(staff),
        description: s.description.clone(),
        timestamp: s.timestamp.map(iso_date_time),
        ..Description::default()
    }
}

fn agency(o: &Organization) -> Agency {
    Agency {
        organ_id: o.organ_id.to_string(),
        organization_in_charge: o.organization_in_charge.clone(),
        organ_name: o.organ_name.clone(),
        organ_add: o.organ_add.clone(),
        email: o.email.clone(),
        telephone: o.telephone.clone(),
        fax: o.fax.clone(),
        website: o.website.clone(),
    }
}

fn response_for(r: &ResponseFor) -> ResponseForItem {
    ResponseForItem {
        organ_id: r.organ_id.to_string(),
        code: r.code.clone(),
        promulgation_date: r.promulgation_date.map(iso_date),
        document_id: r.document_id.clone(),
    }
}

fn staff(s: &StaffInfo) -> StaffItem {
    StaffItem {
        department: s.department.clone(),
        staff: s.staff.clone(),
        email: s.email.clone(),
        mobile: s.mobile.clone(),
    }
}

/// `YYYY-MM-DD`.
pub(crate) fn iso_date(d: EdxmlDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// `YYYY-MM-DDTHH:MM:SS`, local time: edXML timestamps carry no zone.
pub(crate) fn iso_date_time(t: EdxmlDateTime) -> String {
    let (h, m, s) = t.time();
    format!("{}T{h:02}:{m:02}:{s:02}", iso_date(t.date()))
}
