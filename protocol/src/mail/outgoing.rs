//! The mail a node sends a unit that has no node: one edXML document as an official letter.

use std::borrow::Cow;

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::text::Text;
use mail_builder::mime::{BodyPart, MimePart};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use super::MailError;
use super::text::one_line;
use crate::edxml::{Attachment, Document, Priority, Reference};
use crate::envelope::Timestamp;

/// Everything [`compose`] needs for one mail. Borrowed, because the node holds the edXML
/// bytes and the parsed document already.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingMail<'a> {
    /// The exact bytes QLVB submitted; attached unchanged.
    pub edxml: &'a [u8],
    /// The document parsed from them.
    pub document: &'a Document,
    /// The agency's address (the envelope sender is the node's business).
    pub from_address: &'a str,
    /// The agency's name.
    pub from_name: &'a str,
    /// The unit's address.
    pub to_address: &'a str,
    /// The unit's name.
    pub to_name: &'a str,
    /// `Message-ID` without angle brackets, e.g. `5ff13a6c...000.00.01.H53@lienthong`.
    pub message_id: &'a str,
    /// `Date`.
    pub date: Timestamp,
    /// Where read receipts go (`Disposition-Notification-To`): the agency's mailbox.
    pub notification_to: &'a str,
    /// Extra headers the node adds (e.g. `X-Lienthong-Package`), written after the others.
    pub headers: &'a [(&'a str, String)],
}

/// Headers [`compose`] writes itself; an extra header may not repeat them.
const OWN_HEADERS: &[&str] = &[
    "message-id",
    "date",
    "from",
    "to",
    "subject",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "disposition-notification-to",
];

/// Composes the mail for `mail.document`: a `multipart/mixed` message with a Vietnamese
/// `text/plain` letter, each attached file of the document decoded, and the edXML file
/// itself (`application/xml`, byte for byte as given).
///
/// Deterministic: the MIME boundary is derived from the message id and nothing reads the
/// clock, so the same input gives the same bytes.
///
/// # Errors
/// [`MailError::InvalidField`] for an address, message id or extra header that cannot go
/// into a header; [`MailError::AttachmentNotDecoded`] for an attachment whose base64 does
/// not decode.
pub fn compose(mail: &OutgoingMail<'_>) -> Result<Vec<u8>, MailError> {
    check_address("from_address", mail.from_address)?;
    check_address("to_address", mail.to_address)?;
    check_address("notification_to", mail.notification_to)?;
    check_message_id(mail.message_id)?;
    for (name, value) in mail.headers {
        check_extra_header(name, value)?;
    }

    let doc = mail.document;
    let files = files_of(doc)?;
    let edxml_name = edxml_file_name(doc);
    let letter = letter(mail, &files, &edxml_name);

    let mut parts = Vec::with_capacity(files.len() + 2);
    parts.push(MimePart::new("text/plain", BodyPart::Text(letter.into())));
    for file in files {
        parts.push(
            MimePart::new(
                ContentType::new(file.content_type),
                BodyPart::Binary(file.bytes.into()),
            )
            .attachment(file.name),
        );
    }
    parts.push(
        MimePart::new(
            ContentType::new("application/xml"),
            BodyPart::Binary(Cow::Borrowed(mail.edxml)),
        )
        .attachment(edxml_name),
    );
    let body = MimePart::new(
        ContentType::new("multipart/mixed").attribute("boundary", boundary(mail.message_id)),
        BodyPart::Multipart(parts),
    );

    let date = i64::try_from(mail.date.as_millis() / 1000).unwrap_or(i64::MAX);
    // Names on one line: a line break in a roster name must not start a header.
    let from_name = one_line(mail.from_name);
    let to_name = one_line(mail.to_name);
    let mut builder = MessageBuilder::new()
        .message_id(MessageId::new(mail.message_id))
        .date(Date::new(date))
        .from(Address::new_address(
            non_empty(&from_name),
            mail.from_address,
        ))
        .to(Address::new_address(non_empty(&to_name), mail.to_address))
        .subject(Text::new(subject(doc, mail.from_name)))
        .header(
            "Disposition-Notification-To",
            Address::new_address(None::<&str>, mail.notification_to),
        );
    for (name, value) in mail.headers {
        builder = builder.header(*name, Text::new(value.as_str()));
    }
    let mut out = Vec::new();
    builder.body(body).serialize(&mut out);
    Ok(out)
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

/// A boundary no base64 or quoted-printable line can contain (`-` and `_` with `=`-free
/// hex), derived from the message id so that composing again gives the same bytes.
fn boundary(message_id: &str) -> String {
    let digest = Sha256::digest(format!("lienthong mail boundary\0{message_id}").as_bytes());
    format!("lienthong_{}", hex::encode(&digest[..12]))
}

/// `Số 7816/VPCP-TTĐT: <trích yếu>`; the parts the document lacks are left out.
fn subject(doc: &Document, from_name: &str) -> String {
    let code = doc
        .code
        .as_ref()
        .map(|c| format_code(&c.number, &c.notation));
    let trich_yeu = doc
        .subject
        .as_deref()
        .map(one_line)
        .filter(|s| !s.is_empty());
    match (code, trich_yeu) {
        (Some(code), Some(s)) => format!("Số {code}: {s}"),
        (Some(code), None) => format!("Số {code}"),
        (None, Some(s)) => s,
        (None, None) => format!("Văn bản điện tử của {}", one_line(from_name)),
    }
}

fn format_code(number: &str, notation: &str) -> String {
    match (number.trim(), notation.trim()) {
        ("", n) => n.to_owned(),
        (n, "") => n.to_owned(),
        (n, k) => format!("{n}/{k}"),
    }
}

/// The Vietnamese words for a priority (độ khẩn), as QCVN 102:2016 names the codes.
fn priority_words(priority: Priority) -> &'static str {
    match priority {
        Priority::Normal => "Thường",
        Priority::Urgent => "Khẩn",
        Priority::VeryUrgent => "Thượng khẩn",
        Priority::Flash => "Hỏa tốc",
        Priority::ScheduledFlash => "Hỏa tốc hẹn giờ",
    }
}

/// The letter: who it is for, what the document is, what is attached, and the request for
/// a read receipt. A field the document does not carry is left out, never printed empty.
fn letter(mail: &OutgoingMail<'_>, files: &[File], edxml_name: &str) -> String {
    let doc = mail.document;
    let mut lines: Vec<String> = Vec::new();
    let to_name = one_line(mail.to_name);
    if to_name.is_empty() {
        lines.push("Kính gửi: Quý cơ quan, đơn vị.".to_owned());
    } else {
        lines.push(format!("Kính gửi: {to_name}."));
    }
    lines.push(String::new());
    let sender = doc
        .from
        .organ_name
        .as_deref()
        .map(one_line)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| one_line(mail.from_name));
    lines.push(format!(
        "{sender} gửi Quý cơ quan, đơn vị văn bản điện tử sau:"
    ));
    lines.push(String::new());
    lines.push(format!(
        "Cơ quan ban hành: {sender} (mã định danh {})",
        doc.from.organ_id
    ));
    if let Some(code) = &doc.code {
        let code = one_line(&format_code(&code.number, &code.notation));
        if !code.is_empty() {
            lines.push(format!("Số và ký hiệu: {code}"));
        }
    }
    if let Some(date) = doc.promulgation.as_ref().and_then(|p| p.date) {
        lines.push(format!(
            "Ngày ban hành: {:02}/{:02}/{:04}",
            date.day(),
            date.month(),
            date.year()
        ));
    }
    if let Some(kind) = doc
        .document_type
        .as_ref()
        .and_then(|t| t.name.as_deref())
        .map(one_line)
        .filter(|s| !s.is_empty())
    {
        lines.push(format!("Loại văn bản: {kind}"));
    }
    if let Some(s) = doc
        .subject
        .as_deref()
        .map(one_line)
        .filter(|s| !s.is_empty())
    {
        lines.push(format!("Trích yếu: {s}"));
    }
    if let Some(priority) = doc.other_info.as_ref().and_then(|o| o.priority) {
        lines.push(format!("Độ khẩn: {}", priority_words(priority)));
    }
    if let Some(signer) = doc.signer.as_ref().and_then(signer_line) {
        lines.push(format!("Người ký: {signer}"));
    }
    if let Some(due) = doc.due_date {
        lines.push(format!(
            "Hạn xử lý: {:02}/{:02}/{:04}",
            due.day(),
            due.month(),
            due.year()
        ));
    }
    lines.push(String::new());
    lines.push("Tệp đính kèm:".to_owned());
    for file in files {
        lines.push(format!("- {}", file.name));
    }
    lines.push(format!("- {edxml_name}"));
    lines.push(String::new());
    lines.push(format!(
        "Tệp {edxml_name} là văn bản điện tử gốc (định dạng edXML theo QCVN 102:2016/BTTTT); \
         các tệp còn lại được trích ra từ văn bản điện tử đó."
    ));
    lines.push(
        "Đề nghị Quý cơ quan, đơn vị gửi xác nhận đã nhận (thông báo đã đọc) khi nhận được thư này."
            .to_owned(),
    );
    lines.push(String::new());
    lines.push(format!(
        "Thư này được gửi tự động từ hệ thống liên thông văn bản của {}.",
        one_line(mail.from_name)
    ));
    let mut text = lines.join("\r\n");
    text.push_str("\r\n");
    text
}

/// `Nguyễn Văn A (KT. Bộ trưởng, Thứ trưởng)`, from the parts the document carries.
fn signer_line(signer: &crate::edxml::SignerInfo) -> Option<String> {
    let part = |p: &Option<String>| p.as_deref().map(one_line).filter(|s| !s.is_empty());
    let role: Vec<String> = [part(&signer.competence), part(&signer.position)]
        .into_iter()
        .flatten()
        .collect();
    let role = (!role.is_empty()).then(|| role.join(", "));
    match (part(&signer.full_name), role) {
        (Some(name), Some(role)) => Some(format!("{name} ({role})")),
        (Some(name), None) => Some(name),
        (None, Some(role)) => Some(role),
        (None, None) => None,
    }
}

/// One attached file of the document, decoded.
struct File {
    name: String,
    content_type: String,
    bytes: Vec<u8>,
}

/// The document's attachments decoded, each with a file name and type.
///
/// An edXML attachment is base64 of what the producer attached: the axis SDK attaches a zip
/// archive holding the file while naming it after the file inside (`1896_QD-TTg.doc`,
/// `ContentType` `application/zip`). Those bytes are sent as they are (the unit gets the
/// same bytes QLVB holds); when they are a zip archive the name gets `.zip` so that the
/// unit's mail program opens it as what it is.
fn files_of(doc: &Document) -> Result<Vec<File>, MailError> {
    let mut files = Vec::with_capacity(doc.attachments.len());
    for (i, attachment) in doc.attachments.iter().enumerate() {
        let index = i + 1;
        let reference = reference_for(doc, attachment);
        let name = attachment
            .attachment_name
            .as_deref()
            .or(reference.and_then(|r| r.attachment_name.as_deref()))
            .map(one_line)
            .filter(|n| !n.is_empty());
        let bytes = attachment
            .content
            .decode()
            .map_err(|e| MailError::AttachmentNotDecoded {
                index,
                name: name.clone().unwrap_or_else(|| "(no name)".to_owned()),
                reason: e.to_string(),
            })?;
        let is_zip = bytes.starts_with(b"PK\x03\x04");
        let mut name = name.unwrap_or_else(|| format!("tep-dinh-kem-{index}"));
        let content_type = if is_zip {
            if !name.to_lowercase().ends_with(".zip") {
                name.push_str(".zip");
            }
            "application/zip".to_owned()
        } else {
            [
                attachment.mime_type.as_deref(),
                attachment.content_type.as_deref(),
                reference.and_then(|r| r.content_type.as_deref()),
            ]
            .into_iter()
            .flatten()
            .map(str::trim)
            .find(|t| is_mime_type(t) && !t.eq_ignore_ascii_case("application/zip"))
            .unwrap_or("application/octet-stream")
            .to_ascii_lowercase()
        };
        files.push(File {
            name,
            content_type,
            bytes,
        });
    }
    Ok(files)
}

/// The manifest entry with the attachment's content id, if any.
fn reference_for<'d>(doc: &'d Document, attachment: &Attachment) -> Option<&'d Reference> {
    let id = attachment.bare_content_id()?;
    doc.references.iter().find(|r| {
        r.content_id
            .as_deref()
            .map(|c| c.strip_prefix("cid:").unwrap_or(c))
            == Some(id)
    })
}

/// `type/subtype` made of RFC 2045 token characters.
fn is_mime_type(text: &str) -> bool {
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    matches!(text.split_once('/'), Some((a, b)) if token(a) && token(b))
}

/// `<số>-<ký hiệu>.edxml` in ASCII letters, digits and `-` (`7816-VPCP-TTDT.edxml`), or
/// `vanban.edxml` when the document has no code.
fn edxml_file_name(doc: &Document) -> String {
    let stem = doc
        .code
        .as_ref()
        .map(|c| ascii_slug(&format!("{}-{}", c.number, c.notation)))
        .unwrap_or_default();
    if stem.is_empty() {
        "vanban.edxml".to_owned()
    } else {
        format!("{stem}.edxml")
    }
}

/// Vietnamese letters without their marks (`Đ` as `D`), anything else not an ASCII letter
/// or digit as one `-`.
fn ascii_slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfd() {
        let c = match c {
            'Đ' => 'D',
            'đ' => 'd',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if unicode_normalization::char::is_combining_mark(c) {
            continue;
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').chars().take(80).collect()
}

fn check_address(field: &str, address: &str) -> Result<(), MailError> {
    let bad = |reason: &str| MailError::InvalidField {
        field: field.to_owned(),
        reason: format!("{address:?} {reason}"),
    };
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err(bad("is not an address: it has no @"));
    };
    if local.is_empty() || domain.is_empty() {
        return Err(bad("is not an address: a part around @ is empty"));
    }
    if address
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
    {
        return Err(bad(
            "is not an address: it holds white space, a control character or <>,;",
        ));
    }
    Ok(())
}

fn check_message_id(id: &str) -> Result<(), MailError> {
    let bad = |reason: &str| MailError::InvalidField {
        field: "message_id".to_owned(),
        reason: format!("{id:?} {reason}"),
    };
    if id.is_empty() {
        return Err(bad("is empty"));
    }
    if id
        .chars()
        .any(|c| !c.is_ascii_graphic() || matches!(c, '<' | '>'))
    {
        return Err(bad(
            "must be printable ASCII without white space or angle brackets",
        ));
    }
    Ok(())
}

fn check_extra_header(name: &str, value: &str) -> Result<(), MailError> {
    let bad = |reason: &str| MailError::InvalidField {
        field: format!("header {name:?}"),
        reason: reason.to_owned(),
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        return Err(bad("is not a header name (printable ASCII, no colon)"));
    }
    if OWN_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(bad("is written by compose itself"));
    }
    if value.chars().any(char::is_control) {
        return Err(bad("has a line break or control character in its value"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
