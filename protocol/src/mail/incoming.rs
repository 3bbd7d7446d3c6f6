//! A mail a unit sends the agency, and the edXML document QLVB receives for it.

use mail_parser::{Encoding, MessagePart, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use super::MailError;
use super::report::parse_message;
use super::text::{one_line, truncate_chars, vietnam_date, vietnam_date_time, xml_text};
use crate::edxml::{
    Attachment, Base64Content, Business, BusinessDocType, Document, Message, Organization,
    PromulgationInfo, Reference, TraceHeader,
};
use crate::envelope::Timestamp;

/// An ordinary mail, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMail {
    /// The `From` address.
    pub from_address: String,
    /// The `From` display name, when there is one.
    pub from_name: Option<String>,
    /// The `To` addresses.
    pub to: Vec<String>,
    /// `Subject`, decoded; empty when the mail has none.
    pub subject: String,
    /// `Date`, when present and after 1970.
    pub date: Option<Timestamp>,
    /// `Message-ID` without angle brackets.
    pub message_id: Option<String>,
    /// The text body (an HTML-only mail's text as `mail-parser` renders it), with `\n`
    /// line ends; empty when there is none.
    pub body_text: String,
    /// The attachments, in order.
    pub attachments: Vec<MailAttachment>,
    /// SHA-256 of the raw message: names the document when the mail has no `Message-ID`.
    pub raw_sha256: [u8; 32],
}

/// One attached file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    /// The file name (`filename`, RFC 2231 and RFC 2047 decoded, or the `name` of the
    /// content type); a part with neither gets `tep-dinh-kem-<n>.<ext>` (see [`read_mail`]).
    pub name: String,
    /// `type/subtype` in lower case, `application/octet-stream` when absent.
    pub content_type: String,
    /// The decoded content.
    pub bytes: Vec<u8>,
}

/// A mail's sender address and subject, as far as its headers read, even when the rest of
/// it does not: what a person needs to find a mail set aside for them.
pub fn headline(raw: &[u8]) -> (Option<String>, String) {
    let Ok(message) = parse_message(raw) else {
        return (None, String::new());
    };
    let from = message
        .from()
        .and_then(|f| f.first())
        .and_then(|a| a.address.as_deref())
        .map(|a| one_line(a.trim()));
    (from, message.subject().map(one_line).unwrap_or_default())
}

/// Reads an ordinary mail.
///
/// An attachment without a file name is named `tep-dinh-kem-<n>.<ext>` ("attached file
/// n", counted from 1 among the attachments, the extension from the content type or `bin`)
/// rather than refused: units forward messages and paste images, and the file matters
/// more than its name.
///
/// # Errors
/// [`MailError::TooLarge`] above `max_size` bytes (checked before parsing);
/// [`MailError::NotAMessage`] when no header can be read; [`MailError::NoFromAddress`];
/// [`MailError::PartNotDecoded`] when an attachment's base64 or quoted-printable is broken.
pub fn read_mail(raw: &[u8], max_size: usize) -> Result<IncomingMail, MailError> {
    if raw.len() > max_size {
        return Err(MailError::TooLarge {
            size: raw.len(),
            max: max_size,
        });
    }
    let message = parse_message(raw)?;
    let from = message
        .from()
        .and_then(|f| {
            f.iter()
                .find(|a| a.address.as_deref().is_some_and(is_address))
        })
        .ok_or(MailError::NoFromAddress)?;
    let from_address = from
        .address
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let from_name = from.name.as_deref().map(one_line).filter(|n| !n.is_empty());
    let to = message
        .to()
        .map(|to| {
            to.iter()
                .filter_map(|a| a.address.as_deref())
                .filter(|a| is_address(a))
                .map(|a| a.trim().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let subject = message.subject().map(one_line).unwrap_or_default();
    let date = message
        .date()
        .and_then(|d| u64::try_from(d.to_timestamp()).ok())
        .and_then(|secs| secs.checked_mul(1000))
        .map(Timestamp::from_millis);
    let message_id = message
        .message_id()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty());
    let body_text = message
        .body_text(0)
        .map(|t| xml_text(&t))
        .unwrap_or_default();

    let mut attachments = Vec::new();
    for (i, &part_id) in message.attachments.iter().enumerate() {
        let part_index = part_id as usize;
        let Some(part) = message.parts.get(part_index) else {
            continue;
        };
        let named = part
            .attachment_name()
            .map(one_line)
            .filter(|n| !n.is_empty());
        if part.is_encoding_problem {
            return Err(MailError::PartNotDecoded {
                part: part_index,
                name: named.unwrap_or_else(|| "(no name)".to_owned()),
            });
        }
        let content_type = content_type_of(part);
        let name = named
            .unwrap_or_else(|| format!("tep-dinh-kem-{}.{}", i + 1, extension_for(&content_type)));
        let bytes = match (&part.body, part.encoding) {
            // A forwarded message not transfer-encoded: mail-parser's nested message keeps
            // the whole outer message as its raw bytes, so take the part's own span.
            (PartType::Message(_), Encoding::None) => raw
                .get(part.offset_body as usize..part.offset_end as usize)
                .unwrap_or_default()
                .to_vec(),
            (PartType::Message(nested), _) => nested.raw_message().to_vec(),
            _ => part.contents().to_vec(),
        };
        attachments.push(MailAttachment {
            name,
            content_type,
            bytes,
        });
    }
    Ok(IncomingMail {
        from_address,
        from_name,
        to,
        subject,
        date,
        message_id,
        body_text,
        attachments,
        raw_sha256: Sha256::digest(raw).into(),
    })
}

fn is_address(address: &str) -> bool {
    let address = address.trim();
    matches!(address.rsplit_once('@'), Some((l, d)) if !l.is_empty() && !d.is_empty())
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn content_type_of(part: &MessagePart<'_>) -> String {
    part.content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_owned(),
        })
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| t.contains('/') && t.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| "application/octet-stream".to_owned())
}

fn extension_for(content_type: &str) -> &'static str {
    match content_type {
        "application/pdf" => "pdf",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/zip" => "zip",
        "application/xml" | "text/xml" => "xml",
        "text/plain" => "txt",
        "text/html" => "html",
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "message/rfc822" => "eml",
        _ => "bin",
    }
}

/// QCVN 102 validators cap `Content` at 500 characters; a longer body goes in whole as a
/// text attachment, and `Content` holds its start.
const CONTENT_MAX_CHARS: usize = 500;

/// The name of the attachment holding a body longer than [`CONTENT_MAX_CHARS`].
const BODY_FILE_NAME: &str = "noi-dung-thu.txt";

/// The subject of a mail that has none.
const NO_SUBJECT: &str = "(Thư không có tiêu đề)";

/// The edXML document (`messagetype=edoc`) the agency's QLVB receives for `mail`.
///
/// - `From` is the unit, `To` the agency, as the caller found them in the roster; the
///   unit's `Email` is filled from the mail when the roster has none.
/// - `DocumentId` is a UUID (version 8, RFC 9562) derived from SHA-256 of the mail's
///   `Message-ID`, or of the raw message when it has none: the same mail always gets the
///   same id, so a mail fetched twice is one document.
/// - `Subject` (trích yếu) is the mail's subject; `PromulgationDate` the mail's `Date` (or
///   `received_at`) in Vietnam time; `Content` the text body (its first 500 characters, the
///   whole body then attached as `noi-dung-thu.txt`).
/// - Each attachment goes in as it is, base64 of the file (not zipped), with its name and
///   content type in both `Reference` and `Attachment`; empty files are left out (edXML
///   cannot carry empty content).
/// - A `TraceHeader` names the unit at `received_at`, and `Bussiness` says new document
///   received by email.
///
/// Deterministic: the same inputs give the same bytes.
///
/// # Errors
/// [`MailError::Edxml`] when the writer refuses a value (it should not: every text is made
/// XML-safe first).
pub fn document_from_mail(
    mail: &IncomingMail,
    from: Organization,
    to: Organization,
    received_at: Timestamp,
) -> Result<Vec<u8>, MailError> {
    let mut from = from;
    if from.email.is_none() {
        from.email = Some(one_line(&mail.from_address)).filter(|e| !e.is_empty());
    }
    let unit = from.organ_id.clone();
    let mut doc = Document::new(from, vec![to]);
    doc.document_id = Some(document_id(mail));
    doc.subject = Some(one_line(&mail.subject))
        .filter(|s| !s.is_empty())
        .or_else(|| Some(NO_SUBJECT.to_owned()));
    doc.promulgation =
        vietnam_date(mail.date.unwrap_or(received_at)).map(|date| PromulgationInfo {
            place: None,
            date: Some(date),
        });
    let body = xml_text(&mail.body_text);
    let body = body.trim_start();
    let mut files: Vec<(String, String, &[u8])> = mail
        .attachments
        .iter()
        .filter(|a| !a.bytes.is_empty())
        .map(|a| (a.name.clone(), a.content_type.clone(), a.bytes.as_slice()))
        .collect();
    if !body.is_empty() {
        doc.content = Some(truncate_chars(body, CONTENT_MAX_CHARS));
        if body.chars().count() > CONTENT_MAX_CHARS {
            files.push((
                BODY_FILE_NAME.to_owned(),
                "text/plain; charset=utf-8".to_owned(),
                body.as_bytes(),
            ));
        }
    }
    doc.trace = vec![TraceHeader {
        organ_id: Some(unit),
        timestamp: vietnam_date_time(received_at),
    }];
    let mut business = Business::new(BusinessDocType::New);
    business.reason = Some("Văn bản nhận qua thư điện tử công vụ".to_owned());
    doc.business = Some(business);
    for (i, (name, content_type, bytes)) in files.into_iter().enumerate() {
        let content_id = format!("cid:{}", i + 1);
        let name = xml_name(&name, i + 1);
        doc.references.push(Reference {
            content_id: Some(content_id.clone()),
            content_type: Some(content_type.clone()),
            description: Some(name.clone()),
            attachment_name: Some(name.clone()),
        });
        doc.attachments.push(Attachment {
            content_id: Some(content_id),
            attachment_name: Some(name.clone()),
            description: Some(name),
            content_type: Some(content_type),
            mime_type: None,
            field_name: None,
            content: Base64Content::encode(bytes),
        });
    }
    Ok(crate::edxml::write(&Message::Document(Box::new(doc)))?)
}

/// A file name XML can carry on one line; `tep-dinh-kem-<n>` when nothing is left.
fn xml_name(name: &str, index: usize) -> String {
    let name = one_line(&xml_text(name));
    if name.is_empty() {
        format!("tep-dinh-kem-{index}")
    } else {
        name
    }
}

/// A UUID (RFC 9562 version 8, custom) from SHA-256 of the mail's `Message-ID`, or of the
/// raw message when it has none.
fn document_id(mail: &IncomingMail) -> String {
    let mut hasher = Sha256::new();
    match &mail.message_id {
        Some(id) => {
            hasher.update(b"lienthong mail document id\0message-id\0");
            hasher.update(id.as_bytes());
        }
        None => {
            hasher.update(b"lienthong mail document id\0raw-sha256\0");
            hasher.update(mail.raw_sha256);
        }
    }
    let digest = hasher.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests;
