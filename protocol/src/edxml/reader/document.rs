//! Conversion of a document message's header, trace, manifest and attachments.

use std::collections::HashSet;

use super::super::error::{EdxmlError, ErrorKind, WarningKind};
use super::super::model::attachment::strip_cid;
use super::super::model::{
    Attachment, Base64Content, Base64Error, Business, BusinessDocType, BusinessDocumentInfo, Code,
    Document, DocumentType, Organization, OtherInfo, Priority, PromulgationInfo, Receiver,
    ReceiverType, Reference, ReplacementInfo, ResponseForTask, SignerInfo, TraceHeader,
};
use super::common::{organization, response_for, staff_info};
use super::context::{Ctx, shorten};
use super::tree::Element;

/// A document's `MessageHeader`. The trace, signature, manifest and attachments are filled
/// in by the caller from the other parts of the envelope.
pub(crate) fn message_header<'a>(
    ctx: &mut Ctx<'a>,
    el: Element<'a>,
) -> Result<Document, EdxmlError> {
    ctx.enter(el);
    let mut from = None;
    let mut to = Vec::new();
    let mut seen_to = HashSet::new();
    // `from` and `to` are filled in once every child has been seen.
    let mut doc = Document::new(Organization::new(crate::OrganId::placeholder()), Vec::new());
    for child in el.children() {
        match child.name() {
            "From" => {
                if from.is_some() {
                    return Err(ctx.error(ErrorKind::Duplicate("From"), child));
                }
                from = Some(organization(ctx, child)?);
            }
            "To" => {
                let recipient = organization(ctx, child)?;
                if seen_to.insert(recipient.organ_id.clone()) {
                    to.push(recipient);
                } else {
                    ctx.warn(
                        WarningKind::DuplicateRecipient(recipient.organ_id.to_string()),
                        child,
                    );
                }
            }
            "DocumentId" => ctx.set_text(&mut doc.document_id, child, "DocumentId"),
            "Code" => once(ctx, &mut doc.code, child, "Code", code),
            "PromulgationInfo" => once(
                ctx,
                &mut doc.promulgation,
                child,
                "PromulgationInfo",
                promulgation,
            ),
            "DocumentType" => once(
                ctx,
                &mut doc.document_type,
                child,
                "DocumentType",
                document_type,
            ),
            "Subject" => ctx.set_text(&mut doc.subject, child, "Subject"),
            "Content" => ctx.set_text(&mut doc.content, child, "Content"),
            "SignerInfo" => once(ctx, &mut doc.signer, child, "SignerInfo", signer_info),
            "DueDate" => {
                if doc.due_date.is_some() {
                    ctx.warn(WarningKind::DuplicateIgnored("DueDate"), child);
                } else {
                    doc.due_date = ctx.optional_date(child, "DueDate");
                }
            }
            "ToPlaces" => doc.to_places.extend(to_places(ctx, child)),
            "OtherInfo" => once(ctx, &mut doc.other_info, child, "OtherInfo", other_info),
            "ResponseFor" => doc.response_for.extend(response_for(ctx, child, false)?),
            "SteeringType" => {
                if doc.steering_type.is_some() {
                    ctx.warn(WarningKind::DuplicateIgnored("SteeringType"), child);
                } else {
                    doc.steering_type = ctx.optional_number(child, "SteeringType");
                }
            }
            "ResponseForTask" => doc.response_for_tasks.extend(response_for_task(ctx, child)),
            "ApplicationType" => ctx.set_text(&mut doc.application_type, child, "ApplicationType"),
            _ => ctx.unknown(child),
        }
    }
    let Some(from) = from else {
        return Err(ctx.error_here(ErrorKind::Missing("From"), el.offset()));
    };
    if to.is_empty() {
        return Err(ctx.error_here(ErrorKind::Missing("To"), el.offset()));
    }
    for (present, name) in [
        (doc.document_id.is_some(), "DocumentId"),
        (doc.code.is_some(), "Code"),
        (doc.subject.is_some(), "Subject"),
    ] {
        if !present {
            ctx.warn_here(WarningKind::MissingRecommended(name), el.offset());
        }
    }
    doc.from = from;
    doc.to = to;
    ctx.leave();
    Ok(doc)
}

/// Reads a singleton optional block with `read`, warning on repeats.
fn once<'a, T>(
    ctx: &mut Ctx<'a>,
    slot: &mut Option<T>,
    el: Element<'a>,
    name: &'static str,
    read: fn(&mut Ctx<'a>, Element<'a>) -> Option<T>,
) {
    if slot.is_some() {
        ctx.warn(WarningKind::DuplicateIgnored(name), el);
        return;
    }
    *slot = read(ctx, el);
}

fn code<'a>(ctx: &mut Ctx<'a>, el: Element<'a>) -> Option<Code> {
    ctx.enter(el);
    let (mut number, mut notation) = (None, None);
    for child in el.children() {
        match child.name() {
            "CodeNumber" => ctx.set_text(&mut number, child, "CodeNumber"),
            "CodeNotation" => ctx.set_text(&mut notation, child, "CodeNotation"),
            _ => ctx.unknown(child),
        }
    }
    let result = match (number, notation) {
        (Some(number), Some(notation)) => Some(Code { number, notation }),
        (None, None) => {
            ctx.warn_here(WarningKind::EmptyOptional("Code".to_owned()), el.offset());
            None
        }
        (Some(number), None) => {
            ctx.warn_here(WarningKind::MissingRecommended("CodeNotation"), el.offset());
            Some(Code {
                number,
                notation: String::new(),
            })
        }
        (None, Some(notation)) => {
            ctx.warn_here(WarningKind::MissingRecommended("CodeNumber"), el.offset());
            Some(Code {
                number: String::new(),
                notation,
            })
        }
    };
    ctx.leave();
    result
}

fn promulgation<'a>(ctx: &mut Ctx<'a>, el: Element<'a>) -> Option<PromulgationInfo> {
    ctx.enter(el);
    let mut info = PromulgationInfo::default();
    for child in el.children() {
        match child.name() {
            "Place" => ctx.set_text(&mut info.place, child, "Place"),
            "PromulgationDate" => {
                if info.date.is_none() {
                    info.date = ctx.optional_date(child, "PromulgationDate");
                }
            }
            _ => ctx.unknown(child),
        }
    }
    ctx.leave();
    (info != PromulgationInfo::default()).then_some(info)
}

fn document_type<'a>(ctx: &mut Ctx<'a>, el: Element<'a>) -> Option<DocumentType> {
    ctx.enter(el);
    let mut t = DocumentType::default();
    for child in el.children() {
        match child.name() {
            "Type" => ctx.set_text(&mut t.kind, child, "Type"),
            "TypeDetail" => ctx.set_text(&mut t.detail, child, "TypeDetail"),
            "TypeName" => ctx.set_text(&mut t.name, child, "TypeName"),
            _ => ctx.unknown(child),
        }
    }
    ctx.leave();
    (t != DocumentType::default()).then_some(t)
}

fn signer_info<'a>(ctx: &mut Ctx<'a>, el: Element<'a>) -> Option<SignerInfo> {
    ctx.enter(el);
    let mut s = SignerInfo::default();
    for child in el.children() {
        match child.name() {
            "Competence" => ctx.set_text(&mut s.competence, child, "Competence"),
            "Position" => ctx.set_text(&mut s.position, child, "Position"),
            "FullName" => ctx.set_text(&mut s.full_name, child, "FullName"),
            _ => ctx.unknown(child),
        }
    }
    ctx.leave();
    (s != SignerInfo::default()).then_some(s)
}

fn to_places<'a>(ctx: &mut Ctx<'a>, el: Element<'a>) -> Vec<String> {
    text_list(ctx, el, "Place")
}

/// A list block (`ToPlaces`, `Appendixes`, `ReplyFors`, `ReferenceCodes`): the text of each
/// `item` child, empty items dropped with a warning. Items are text: an element inside one
/// (a structure no source describes) is reported as unknown, not silently dropped.
fn text_list<'a>(ctx: &mut Ctx<'a>, el: Element<'a>, item: &str) -> Vec<String> {
    ctx.enter(el);
    let mut items = Vec::new();
    for child in el.children() {
        if child.name() != item {
            ctx.unknown(child);
            continue;
        }
        if child.children().next().is_some() {
            ctx.enter(child);
            for inner in child.children() {
                ctx.unknown(inner);
            }
            ctx.leave();
        }
        items.extend(ctx.optional_text(child));
    }
    ctx.leave();
    items
}

/// `ResponseForTask`: `TaskCode` is what makes it; without one it is dropped with a warning.
fn response_for_task<'a>(ctx: &mut Ctx<'a>, el: Element<'a>) -> Option<ResponseForTask> {
    ctx.enter(el);
    let mut task_code = None;
    for child in el.children() {
        match child.name() {
            "TaskCode" => ctx.set_text(&mut task_code, child, "TaskCode"),
            _ => ctx.unknown(child),
        }
    }
    if task_code.is_none() {
        ctx.warn_here(WarningKind::MissingRecommended("TaskCode"), el.offset());
    }
    ctx.leave();
    task_code.map(|task_code| ResponseForTask { task_code })
}

fn other_info<'a>(ctx: &mut Ctx<'a>, el: Element<'a>) -> Option<OtherInfo> {
    ctx.enter(el);
    let mut o = OtherInfo::default();
    for child in el.children() {
        match child.name() {
            "Priority" => {
                if let Some(n) = ctx.optional_number::<u8>(child, "Priority") {
                    match Priority::from_code(n) {
                        Some(p) => o.priority = Some(p),
                        None => ctx.invalid_optional(
                            child,
                            "Priority",
                            &n.to_string(),
                            "priority is 0-4".to_owned(),
                        ),
                    }
                }
            }
            "SphereOfPromulgation" => {
                ctx.set_text(&mut o.sphere_of_promulgation, child, "SphereOfPromulgation")
            }
            "TyperNotation" => ctx.set_text(&mut o.typer_notation, child, "TyperNotation"),
            "PromulgationAmount" => {
                o.promulgation_amount = ctx.optional_number(child, "PromulgationAmount")
            }
            "PageAmount" => o.page_amount = ctx.optional_number(child, "PageAmount"),
            "Direction" => o.direction = ctx.optional_flag(child, "Direction"),
            "Appendixes" => o.appendixes.extend(text_list(ctx, child, "Appendix")),
            "ReplyFors" => o.reply_fors.extend(text_list(ctx, child, "ReplyFor")),
            "ReferenceCodes" => o
                .reference_codes
                .extend(text_list(ctx, child, "ReferenceCode")),
            _ => ctx.unknown(child),
        }
    }
    ctx.leave();
    (o != OtherInfo::default()).then_some(o)
}

/// `TraceHeaderList`: the hop trace and the business block, in either order.
pub(crate) fn trace_header_list<'a>(
    ctx: &mut Ctx<'a>,
    el: Element<'a>,
    doc: &mut Document,
) -> Result<(), EdxmlError> {
    ctx.enter(el);
    for child in el.children() {
        match child.name() {
            "TraceHeader" => {
                ctx.enter(child);
                let mut hop = TraceHeader::default();
                for part in child.children() {
                    match part.name() {
                        "OrganId" => hop.organ_id = ctx.optional_organ_id(part, "OrganId"),
                        "Timestamp" => hop.timestamp = ctx.optional_date_time(part, "Timestamp"),
                        _ => ctx.unknown(part),
                    }
                }
                ctx.leave();
                if hop == TraceHeader::default() {
                    ctx.warn(WarningKind::EmptyOptional("TraceHeader".to_owned()), child);
                } else {
                    doc.trace.push(hop);
                }
            }
            "Bussiness" | "Business" => {
                spelling(ctx, child, "Bussiness");
                if doc.business.is_some() {
                    ctx.warn(WarningKind::DuplicateIgnored("Bussiness"), child);
                } else {
                    doc.business = Some(business(ctx, child)?);
                }
            }
            _ => ctx.unknown(child),
        }
    }
    ctx.leave();
    Ok(())
}

fn spelling<'a>(ctx: &mut Ctx<'a>, el: Element<'a>, wire: &str) {
    if el.name() != wire {
        ctx.warn(WarningKind::BusinessSpelling(el.name().to_owned()), el);
    }
}

fn business<'a>(ctx: &mut Ctx<'a>, el: Element<'a>) -> Result<Business, EdxmlError> {
    ctx.enter(el);
    let mut b = Business::new(BusinessDocType::New);
    let mut doc_type_seen = false;
    for child in el.children() {
        match child.name() {
            "DocumentId" => ctx.set_text(&mut b.document_id, child, "DocumentId"),
            "BussinessDocType" | "BusinessDocType" => {
                spelling(ctx, child, "BussinessDocType");
                let text = ctx.required_text(child, "BussinessDocType")?;
                let parsed = text.parse::<u8>().ok().and_then(BusinessDocType::from_code);
                let Some(doc_type) = parsed else {
                    return Err(ctx.error(
                        ErrorKind::Invalid {
                            element: "BussinessDocType",
                            value: shorten(&text),
                            reason: "expected 0 (new), 1 (revoke), 2 (update) or 3 (replace)"
                                .to_owned(),
                        },
                        child,
                    ));
                };
                b.doc_type = doc_type;
                doc_type_seen = true;
            }
            "BussinessDocReason" | "BusinessDocReason" => {
                spelling(ctx, child, "BussinessDocReason");
                ctx.set_text(&mut b.reason, child, "BussinessDocReason");
            }
            "Paper" => b.paper = ctx.optional_number(child, "Paper"),
            "BussinessDocumentInfo" | "BusinessDocumentInfo" => {
                spelling(ctx, child, "BussinessDocumentInfo");
                b.document_info = Some(business_document_info(ctx, child)?);
            }
            "ReplacementInfoList" => b.replacements.extend(replacement_info_list(ctx, child)?),
            "StaffInfo" => b.staff = staff_info(ctx, child),
            _ => ctx.unknown(child),
        }
    }
    if !doc_type_seen {
        ctx.warn_here(
            WarningKind::MissingRecommended("BussinessDocType"),
            el.offset(),
        );
    }
    ctx.leave();
    Ok(b)
}

fn business_document_info<'a>(
    ctx: &mut Ctx<'a>,
    el: Element<'a>,
) -> Result<BusinessDocumentInfo, EdxmlError> {
    ctx.enter(el);
    let mut info = BusinessDocumentInfo::default();
    for child in el.children() {
        match child.name() {
            "DocumentInfo" => info.document_info_changed = ctx.optional_flag(child, "DocumentInfo"),
            "DocumentReceiver" => {
                info.receivers_changed = ctx.optional_flag(child, "DocumentReceiver")
            }
            "ReceiverList" => {
                ctx.enter(child);
                for receiver in child.children() {
                    match receiver.name() {
                        "Receiver" => info.receivers.push(self::receiver(ctx, receiver)?),
                        _ => ctx.unknown(receiver),
                    }
                }
                ctx.leave();
            }
            _ => ctx.unknown(child),
        }
    }
    ctx.leave();
    Ok(info)
}

fn receiver<'a>(ctx: &mut Ctx<'a>, el: Element<'a>) -> Result<Receiver, EdxmlError> {
    ctx.enter(el);
    let mut organ_id = None;
    let mut receiver_type = None;
    for child in el.children() {
        match child.name() {
            "OrganId" => organ_id = Some(ctx.organ_id(child, "OrganId")?),
            "ReceiverType" => {
                let text = ctx.required_text(child, "ReceiverType")?;
                receiver_type = Some(match text.as_str() {
                    "0" => ReceiverType::Removed,
                    "1" => ReceiverType::Added,
                    _ => {
                        return Err(ctx.error(
                            ErrorKind::Invalid {
                                element: "ReceiverType",
                                value: shorten(&text),
                                reason: "expected 0 (removed) or 1 (added)".to_owned(),
                            },
                            child,
                        ));
                    }
                });
            }
            _ => ctx.unknown(child),
        }
    }
    let Some(organ_id) = organ_id else {
        return Err(ctx.error_here(ErrorKind::Missing("OrganId"), el.offset()));
    };
    let Some(receiver_type) = receiver_type else {
        return Err(ctx.error_here(ErrorKind::Missing("ReceiverType"), el.offset()));
    };
    ctx.leave();
    Ok(Receiver {
        organ_id,
        receiver_type,
    })
}

fn replacement_info_list<'a>(
    ctx: &mut Ctx<'a>,
    el: Element<'a>,
) -> Result<Vec<ReplacementInfo>, EdxmlError> {
    ctx.enter(el);
    let mut list = Vec::new();
    for info in el.children() {
        if info.name() != "ReplacementInfo" {
            ctx.unknown(info);
            continue;
        }
        ctx.enter(info);
        let mut document_id = None;
        let mut organ_ids = Vec::new();
        for child in info.children() {
            match child.name() {
                "DocumentId" => {
                    if document_id.is_some() {
                        ctx.warn(WarningKind::DuplicateIgnored("DocumentId"), child);
                    } else {
                        document_id = Some(ctx.required_text(child, "DocumentId")?);
                    }
                }
                "OrganIdList" => {
                    ctx.enter(child);
                    for id in child.children() {
                        match id.name() {
                            "OrganId" => organ_ids.push(ctx.organ_id(id, "OrganId")?),
                            _ => ctx.unknown(id),
                        }
                    }
                    ctx.leave();
                }
                _ => ctx.unknown(child),
            }
        }
        let Some(document_id) = document_id else {
            return Err(ctx.error_here(ErrorKind::Missing("DocumentId"), info.offset()));
        };
        ctx.leave();
        list.push(ReplacementInfo {
            document_id,
            organ_ids,
        });
    }
    ctx.leave();
    Ok(list)
}

/// `edXMLBody`: the manifest.
pub(crate) fn body<'a>(
    ctx: &mut Ctx<'a>,
    el: Element<'a>,
    doc: &mut Document,
) -> Result<(), EdxmlError> {
    ctx.enter(el);
    for child in el.children() {
        match child.name() {
            "edXMLManifest" => {
                ctx.enter(child);
                for reference in child.children() {
                    match reference.name() {
                        "Reference" => doc.references.push(self::reference(ctx, reference)),
                        _ => ctx.unknown(reference),
                    }
                }
                ctx.leave();
            }
            "AttachmentEncoded" => {
                ctx.warn(
                    WarningKind::Misplaced {
                        element: "AttachmentEncoded",
                        parent: el.name().to_owned(),
                    },
                    child,
                );
                attachments(ctx, child, doc)?;
            }
            _ => ctx.unknown(child),
        }
    }
    ctx.leave();
    Ok(())
}

fn reference<'a>(ctx: &mut Ctx<'a>, el: Element<'a>) -> Reference {
    ctx.enter(el);
    let mut r = Reference::default();
    for child in el.children() {
        match child.name() {
            "ContentId" => ctx.set_text(&mut r.content_id, child, "ContentId"),
            "ContentType" => ctx.set_text(&mut r.content_type, child, "ContentType"),
            "Description" => ctx.set_text(&mut r.description, child, "Description"),
            "AttachmentName" => ctx.set_text(&mut r.attachment_name, child, "AttachmentName"),
            _ => ctx.unknown(child),
        }
    }
    ctx.leave();
    r
}

/// `AttachmentEncoded`: the files. Content stays a slice of the input.
pub(crate) fn attachments<'a>(
    ctx: &mut Ctx<'a>,
    el: Element<'a>,
    doc: &mut Document,
) -> Result<(), EdxmlError> {
    ctx.enter(el);
    for child in el.children() {
        if child.name() != "Attachment" {
            ctx.unknown(child);
            continue;
        }
        ctx.enter(child);
        let [
            mut content_id,
            mut name,
            mut description,
            mut content_type,
            mut mime_type,
            mut field_name,
        ] = [None, None, None, None, None, None];
        let mut content = None;
        for part in child.children() {
            match part.name() {
                "ContentId" => ctx.set_text(&mut content_id, part, "ContentId"),
                "AttachmentName" => ctx.set_text(&mut name, part, "AttachmentName"),
                "Description" => ctx.set_text(&mut description, part, "Description"),
                "ContentType" => ctx.set_text(&mut content_type, part, "ContentType"),
                "MimeType" => ctx.set_text(&mut mime_type, part, "MimeType"),
                "FieldName" => ctx.set_text(&mut field_name, part, "FieldName"),
                "ContentTransferEncoded" => {
                    if content.is_some() {
                        return Err(ctx.error(ErrorKind::Duplicate("ContentTransferEncoded"), part));
                    }
                    content = Some(encoded_content(ctx, part)?);
                }
                _ => ctx.unknown(part),
            }
        }
        let Some(content) = content else {
            return Err(
                ctx.error_here(ErrorKind::Missing("ContentTransferEncoded"), child.offset())
            );
        };
        ctx.leave();
        doc.attachments.push(Attachment {
            content_id,
            attachment_name: name,
            description,
            content_type,
            mime_type,
            field_name,
            content,
        });
    }
    ctx.leave();
    Ok(())
}

fn encoded_content<'a>(ctx: &mut Ctx<'a>, el: Element<'a>) -> Result<Base64Content, EdxmlError> {
    // One unescaped piece of the input (the normal case) is sliced, not copied.
    let range = el.text_range();
    let bytes = match &range {
        Some(range) => ctx.bytes().slice(range.clone()),
        None => bytes::Bytes::copy_from_slice(el.text().as_bytes()),
    };
    let trimmed = trim_ascii_whitespace(&bytes);
    if trimmed.is_empty() {
        return Err(ctx.error(ErrorKind::EmptyRequired("ContentTransferEncoded"), el));
    }
    let leading = bytes.len() - bytes.trim_ascii_start().len();
    Base64Content::from_encoded(trimmed).map_err(|e| {
        let offset = match (&range, &e) {
            (Some(range), Base64Error::InvalidByte { offset, .. }) => {
                range.start + leading + offset
            }
            _ => el.offset(),
        };
        ctx.error_at(ErrorKind::Attachment(e), el, offset)
    })
}

fn trim_ascii_whitespace(bytes: &bytes::Bytes) -> bytes::Bytes {
    let start = bytes.len() - bytes.trim_ascii_start().len();
    let end = bytes.trim_ascii_end().len();
    if start >= end {
        return bytes::Bytes::new();
    }
    bytes.slice(start..end)
}

/// Warns about attachments without a manifest reference and references without a file.
pub(crate) fn check_manifest<'a>(ctx: &mut Ctx<'a>, root: Element<'a>, doc: &Document) {
    let referenced: HashSet<&str> = doc
        .references
        .iter()
        .filter_map(|r| r.content_id.as_deref())
        .map(strip_cid)
        .collect();
    let attached: HashSet<&str> = doc
        .attachments
        .iter()
        .filter_map(|a| a.bare_content_id())
        .collect();
    for id in attached.difference(&referenced) {
        ctx.warn_here(
            WarningKind::Manifest(format!("attachment {id} has no manifest reference")),
            root.offset(),
        );
    }
    for id in referenced.difference(&attached) {
        ctx.warn_here(
            WarningKind::Manifest(format!("manifest reference {id} has no attachment")),
            root.offset(),
        );
    }
}
