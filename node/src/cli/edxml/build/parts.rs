//! The parts of a message built from the description: agencies, references, the business
//! block, attachments, and the summary keys checked against them.

use bytes::Bytes;
use lienthong_protocol::edxml::{
    Attachment, Base64Content, Business, BusinessDocType, BusinessDocumentInfo, Document,
    Organization, Receiver, ReceiverType, ReplacementInfo, ResponseFor, StaffInfo,
};
use sha2::Digest as _;

use super::super::description::{
    Agency, AttachmentItem, Description, ReceiverItem, ReplacementItem, ResponseForItem, StaffItem,
};
use super::values::{opt_date, organ_id, required, text};
use super::{DescriptionError, err};

/// The business keys, moved out of the description so the block is built in one place.
#[derive(Debug, Default)]
pub(super) struct BusinessFields {
    doc_type: Option<u8>,
    document_id: Option<String>,
    reason: Option<String>,
    paper: Option<u32>,
    document_info_changed: Option<bool>,
    receivers_changed: Option<bool>,
    receivers: Vec<ReceiverItem>,
    replacements: Vec<ReplacementItem>,
    staff: Option<StaffItem>,
}

impl Description {
    pub(super) fn business_fields(&self) -> BusinessFields {
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
pub(super) fn business(b: &BusinessFields) -> Result<Option<Business>, DescriptionError> {
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

/// `From`: from `from_organization`, or `from` alone; both must then name the same agency.
pub(super) fn sender(
    from: Option<&str>,
    detail: Option<Agency>,
) -> Result<Organization, DescriptionError> {
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
pub(super) fn recipients(
    to: &[String],
    detail: Vec<Agency>,
) -> Result<Vec<Organization>, DescriptionError> {
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

pub(super) fn organization(key: &str, a: Agency) -> Result<Organization, DescriptionError> {
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

pub(super) fn response_for(key: &str, r: ResponseForItem) -> Result<ResponseFor, DescriptionError> {
    let part = |name: &str| format!("{key}.{name}");
    Ok(ResponseFor {
        organ_id: organ_id(&part("organ_id"), &r.organ_id)?,
        code: text(&part("code"), r.code)?,
        promulgation_date: opt_date(&part("promulgation_date"), r.promulgation_date.as_deref())?,
        document_id: text(&part("document_id"), r.document_id)?,
    })
}

pub(super) fn staff(key: &str, s: StaffItem) -> Result<StaffInfo, DescriptionError> {
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

pub(super) fn attachment(key: &str, a: AttachmentItem) -> Result<Attachment, DescriptionError> {
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
pub(super) fn check_attachment_summary(
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
