//! A JSON description as a message: what `edxml write` writes.
//!
//! Strict, like the writer: a key that does not apply to the message kind, an empty text, a
//! date not in ISO form, an agency id that is not one, or a summary key that disagrees with
//! the detailed keys is refused, naming the key. Nothing is guessed, so what `edxml check
//! --json` prints for the written file is the description given.

mod parts;
mod values;

use bytes::Bytes;
use lienthong_protocol::edxml::{
    Code, Document, DocumentType, Message, OtherInfo, Priority, PromulgationInfo, RawSignature,
    Reference, ResponseFor, ResponseForTask, SignerInfo, Status, StatusCode, TraceHeader,
};

use super::description::{Description, Kind};
use parts::{
    attachment, business, check_attachment_summary, recipients, response_for, sender, staff,
};
use values::{date_time, opt_date, organ_id, required, text, texts};

/// Why a description cannot be written: which key (a JSON path such as
/// `attachment_files[1].sha256`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub(crate) struct DescriptionError {
    pub(crate) key: String,
    pub(crate) reason: String,
}

pub(super) fn err(key: impl Into<String>, reason: impl Into<String>) -> DescriptionError {
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

#[cfg(test)]
mod tests {
    use super::*;

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
