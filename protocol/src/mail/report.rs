//! What comes back to the agency's mailbox about a mail it sent: delivery status
//! notifications (RFC 3464) and read receipts (message disposition notifications, RFC 8098).
//!
//! Both are `multipart/report` messages (RFC 6522). `mail-parser` gives the parts; the
//! report part's body is blocks of `field: value` lines separated by blank lines, which
//! are split here and read with `mail-parser`'s header parser (so folded values come back
//! unfolded).

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};

use super::MailError;

/// A report read from the agency's mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// A delivery status notification (RFC 3464): delivered, failed (a bounce), delayed...
    Delivery(DeliveryReport),
    /// A read receipt (RFC 8098).
    Disposition(DispositionReport),
}

/// `multipart/report; report-type=delivery-status` (RFC 3464).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// `Original-Envelope-Id`: the `ENVID` the node gave at `MAIL FROM`, when the MTA
    /// echoes it.
    pub envelope_id: Option<String>,
    /// The `Message-ID` of the returned message or returned headers (`message/rfc822` or
    /// `text/rfc822-headers`), without angle brackets: what the node matches on.
    pub original_message_id: Option<String>,
    /// One entry per per-recipient block, in order.
    pub recipients: Vec<RecipientStatus>,
}

/// One per-recipient block of a delivery status notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientStatus {
    /// `Final-Recipient`, the address only (`rfc822;` stripped).
    pub final_recipient: String,
    /// `Original-Recipient`, the address only.
    pub original_recipient: Option<String>,
    /// `Action`.
    pub action: DeliveryAction,
    /// `Status`, e.g. `5.1.1`.
    pub status: String,
    /// `Diagnostic-Code` without its type (`smtp;`, `X-Postfix;`), unfolded.
    pub diagnostic: Option<String>,
}

/// RFC 3464 `Action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryAction {
    /// `failed`: the message was not and will not be delivered (a bounce).
    Failed,
    /// `delayed`: not delivered yet, the MTA keeps trying.
    Delayed,
    /// `delivered`: delivered to the recipient's mailbox.
    Delivered,
    /// `relayed`: passed on to a system that does not send notifications.
    Relayed,
    /// `expanded`: delivered to an alias or list, which sent it on.
    Expanded,
}

impl DeliveryAction {
    fn parse(text: &str) -> Option<Self> {
        // RFC 3464 allows a comment after the action; Postfix writes none.
        let word = text.split(['(', ' ', '\t']).next().unwrap_or("");
        Some(match word.to_ascii_lowercase().as_str() {
            "failed" => DeliveryAction::Failed,
            "delayed" => DeliveryAction::Delayed,
            "delivered" => DeliveryAction::Delivered,
            "relayed" => DeliveryAction::Relayed,
            "expanded" => DeliveryAction::Expanded,
            _ => return None,
        })
    }
}

/// `multipart/report; report-type=disposition-notification` (RFC 8098).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispositionReport {
    /// `Original-Message-ID` (or the returned message's `Message-ID`), without brackets.
    pub original_message_id: Option<String>,
    /// `Final-Recipient`, the address only.
    pub final_recipient: Option<String>,
    /// `Disposition` as written, unfolded, e.g. `manual-action/MDN-sent-manually; displayed`.
    pub disposition: String,
    /// The disposition type is `displayed`: the recipient opened the message.
    pub displayed: bool,
}

const DSN: &str = "delivery-status report";
const MDN: &str = "disposition-notification report";

/// Reads a message from the agency's mailbox as a report.
///
/// `Ok(None)`: a well-formed message that is not a `multipart/report` of either kind (an
/// ordinary mail, or a bounce in plain text that some MTAs still send).
///
/// # Errors
/// [`MailError::NotAMessage`] when no header can be read; [`MailError::MalformedReport`]
/// when a report lacks its report part, its per-recipient block, or a required field
/// (`Final-Recipient`, `Action`, `Status`; `Disposition`), naming which.
pub fn read_report(raw: &[u8]) -> Result<Option<Report>, MailError> {
    let message = parse_message(raw)?;
    let Some(content_type) = message.content_type() else {
        return Ok(None);
    };
    let is_report = content_type.ctype().eq_ignore_ascii_case("multipart")
        && content_type
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"));
    if !is_report {
        return Ok(None);
    }
    let report_type = content_type
        .attribute("report-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    match report_type.as_str() {
        "delivery-status" => read_delivery(&message).map(|r| Some(Report::Delivery(r))),
        "disposition-notification" => {
            read_disposition(&message).map(|r| Some(Report::Disposition(r)))
        }
        _ => Ok(None),
    }
}

/// The message, or [`MailError::NotAMessage`] when `mail-parser` finds no header in it.
pub(crate) fn parse_message(raw: &[u8]) -> Result<Message<'_>, MailError> {
    let message = MessageParser::new()
        .parse(raw)
        .ok_or_else(|| MailError::NotAMessage {
            reason: "no header could be read".to_owned(),
        })?;
    if message.headers().is_empty() {
        return Err(MailError::NotAMessage {
            reason: "no header could be read".to_owned(),
        });
    }
    Ok(message)
}

fn read_delivery(message: &Message<'_>) -> Result<DeliveryReport, MailError> {
    let malformed = |reason: String| MailError::MalformedReport {
        report: DSN,
        reason,
    };
    let part = report_part(message, &["delivery-status", "global-delivery-status"])
        .ok_or_else(|| malformed("it has no message/delivery-status part".to_owned()))?;
    let blocks = field_blocks(part.contents());
    let mut blocks = blocks.iter();
    let per_message = blocks
        .next()
        .ok_or_else(|| malformed("the delivery-status part is empty".to_owned()))?;
    let envelope_id = field(per_message, "Original-Envelope-Id");
    let mut recipients = Vec::new();
    for (i, block) in blocks.enumerate() {
        let number = i + 1;
        let required = |name: &str| {
            field(block, name).ok_or_else(|| {
                malformed(format!("per-recipient block {number} has no {name} field"))
            })
        };
        let final_recipient = address_of(&required("Final-Recipient")?);
        let action_text = required("Action")?;
        let action = DeliveryAction::parse(&action_text).ok_or_else(|| {
            malformed(format!(
                "per-recipient block {number} has Action {action_text:?}, not one of failed, delayed, delivered, relayed, expanded"
            ))
        })?;
        let status = required("Status")?;
        recipients.push(RecipientStatus {
            final_recipient,
            original_recipient: field(block, "Original-Recipient").map(|a| address_of(&a)),
            action,
            status,
            diagnostic: field(block, "Diagnostic-Code").map(|d| after_type(&d)),
        });
    }
    if recipients.is_empty() {
        return Err(malformed(
            "the delivery-status part has no per-recipient block".to_owned(),
        ));
    }
    Ok(DeliveryReport {
        envelope_id,
        original_message_id: returned_message_id(message),
        recipients,
    })
}

fn read_disposition(message: &Message<'_>) -> Result<DispositionReport, MailError> {
    let malformed = |reason: String| MailError::MalformedReport {
        report: MDN,
        reason,
    };
    let part = report_part(
        message,
        &[
            "disposition-notification",
            "global-disposition-notification",
        ],
    )
    .ok_or_else(|| malformed("it has no message/disposition-notification part".to_owned()))?;
    // RFC 8098 has one block; a blank line inside it is tolerated by reading all blocks.
    let blocks = field_blocks(part.contents());
    let find = |name: &str| blocks.iter().find_map(|b| field(b, name));
    let disposition = find("Disposition")
        .ok_or_else(|| malformed("the notification has no Disposition field".to_owned()))?;
    let displayed = disposition_type(&disposition).eq_ignore_ascii_case("displayed");
    let original_message_id = find("Original-Message-ID")
        .map(|id| strip_brackets(&id))
        .filter(|id| !id.is_empty())
        .or_else(|| returned_message_id(message));
    Ok(DispositionReport {
        original_message_id,
        final_recipient: find("Final-Recipient").map(|a| address_of(&a)),
        disposition,
        displayed,
    })
}

/// The part `message/<one of subtypes>` of the report.
fn report_part<'m>(message: &'m Message<'m>, subtypes: &[&str]) -> Option<&'m MessagePart<'m>> {
    message.parts.iter().skip(1).find(|part| {
        part.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("message")
                && ct
                    .subtype()
                    .is_some_and(|s| subtypes.iter().any(|t| s.eq_ignore_ascii_case(t)))
        })
    })
}

/// The `Message-ID` of the returned message (`message/rfc822`, `message/global`) or of the
/// returned headers (`text/rfc822-headers`, `message/global-headers`).
fn returned_message_id(message: &Message<'_>) -> Option<String> {
    message.parts.iter().skip(1).find_map(|part| {
        if let PartType::Message(returned) = &part.body {
            return returned.message_id().map(strip_brackets);
        }
        let ct = part.content_type()?;
        let subtype = ct.subtype()?.to_ascii_lowercase();
        let headers = (ct.ctype().eq_ignore_ascii_case("text") && subtype == "rfc822-headers")
            || (ct.ctype().eq_ignore_ascii_case("message") && subtype == "global-headers");
        if !headers {
            return None;
        }
        MessageParser::new()
            .parse_headers(part.contents())
            .and_then(|h| h.message_id().map(strip_brackets))
    })
}

/// The blocks of `field: value` lines of a report body, split at blank lines, each as the
/// bytes `mail-parser`'s header parser reads (ending in a blank line).
fn field_blocks(body: &[u8]) -> Vec<Vec<u8>> {
    let mut blocks = Vec::new();
    let mut current = Vec::new();
    for line in body.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(|b| matches!(b, b' ' | b'\t')) {
            if !current.is_empty() {
                current.extend_from_slice(b"\r\n");
                blocks.push(std::mem::take(&mut current));
            }
        } else {
            current.extend_from_slice(line);
            current.extend_from_slice(b"\r\n");
        }
    }
    if !current.is_empty() {
        current.extend_from_slice(b"\r\n");
        blocks.push(current);
    }
    blocks
}

/// The value of field `name` in a block, unfolded and trimmed; `None` when absent or empty.
fn field(block: &[u8], name: &str) -> Option<String> {
    let headers = MessageParser::new()
        .default_header_text()
        .parse_headers(block)?;
    let value = headers
        .headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))?
        .value();
    let text = match value {
        mail_parser::HeaderValue::Text(t) => t.to_string(),
        mail_parser::HeaderValue::TextList(list) => list.join(", "),
        _ => {
            // A field mail-parser knows under another form (an id, an address): read the
            // raw value instead.
            let raw = headers.header_raw(name)?;
            raw.split_whitespace().collect::<Vec<_>>().join(" ")
        }
    };
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

/// `rfc822; box-b@lienthong.test` → `box-b@lienthong.test` (any address type is dropped).
fn address_of(value: &str) -> String {
    strip_brackets(&after_type(value))
}

/// The text after a `type;` prefix (`X-Postfix; unknown user` → `unknown user`).
fn after_type(value: &str) -> String {
    match value.split_once(';') {
        Some((kind, rest)) if !kind.trim().is_empty() && !kind.contains(' ') => {
            rest.trim().to_owned()
        }
        _ => value.trim().to_owned(),
    }
}

/// The disposition type: `displayed` in `manual-action/MDN-sent-manually; displayed` (and
/// in RFC 3798's `displayed/error`).
fn disposition_type(disposition: &str) -> &str {
    let after = disposition
        .split_once(';')
        .map_or(disposition, |(_, t)| t)
        .trim();
    after.split(['/', ' ', '\t', '(']).next().unwrap_or("")
}

fn strip_brackets(id: &str) -> String {
    let id = id.trim();
    id.strip_prefix('<')
        .and_then(|i| i.strip_suffix('>'))
        .unwrap_or(id)
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests;
