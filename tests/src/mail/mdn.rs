//! The read receipt a recipient's mail client sends (RFC 8098 message disposition
//! notification), built with mail-builder.

use anyhow::{Context as _, anyhow};
use mail_builder::MessageBuilder;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::MimePart;

/// A read receipt ready to send.
#[derive(Debug)]
pub struct ReadReceipt {
    /// Where it goes: the original's Disposition-Notification-To.
    pub to: String,
    /// The whole message.
    pub raw: Vec<u8>,
}

/// The read receipt that `recipient` sends for `original`: multipart/report;
/// report-type=disposition-notification, with a human-readable part and a
/// message/disposition-notification part (Reporting-UA, Original-Recipient,
/// Final-Recipient, Original-Message-ID, Disposition: manual-action/MDN-sent-manually;
/// displayed).
///
/// # Errors
/// When `original` cannot be parsed, asks for no receipt, or has no Message-ID.
pub fn read_receipt(recipient: &str, original: &[u8]) -> anyhow::Result<ReadReceipt> {
    let message = super::parse(original).context("the original message cannot be parsed")?;
    let to = disposition_notification_to(&message).ok_or_else(|| {
        anyhow!("the original message asks for no read receipt (no Disposition-Notification-To)")
    })?;
    let id = message
        .message_id()
        .ok_or_else(|| anyhow!("the original message has no Message-ID"))?;
    let subject = message.subject().unwrap_or("");
    let human = format!(
        "The message \"{subject}\" sent to {recipient} has been displayed.\r\n\
         This is no guarantee that it has been read or understood.\r\n"
    );
    let notification = format!(
        "Reporting-UA: lienthong-tests; mail harness\r\n\
         Original-Recipient: rfc822;{recipient}\r\n\
         Final-Recipient: rfc822;{recipient}\r\n\
         Original-Message-ID: <{id}>\r\n\
         Disposition: manual-action/MDN-sent-manually; displayed\r\n"
    );
    let report = MimePart::new(
        ContentType::new("multipart/report").attribute("report-type", "disposition-notification"),
        vec![
            MimePart::new("text/plain", human),
            MimePart::new(
                "message/disposition-notification",
                notification.into_bytes(),
            )
            .transfer_encoding("7bit"),
        ],
    );
    let raw = MessageBuilder::new()
        .from(recipient)
        .to(to.as_str())
        .subject(format!("Read: {subject}"))
        .in_reply_to(id)
        .header("References", Raw::new(format!("<{id}>")))
        .body(report)
        .write_to_vec()
        .expect("writing into a Vec");
    Ok(ReadReceipt { to, raw })
}

/// The address in the message's Disposition-Notification-To header, if any.
fn disposition_notification_to(message: &mail_parser::Message) -> Option<String> {
    let value = message.header("Disposition-Notification-To")?;
    if let Some(address) = value
        .as_address()
        .and_then(|list| list.first())
        .and_then(|addr| addr.address())
    {
        return Some(address.to_owned());
    }
    let text = value.as_text()?.trim();
    let text = text
        .rsplit_once('<')
        .map_or(text, |(_, rest)| rest.trim_end_matches('>'));
    (!text.is_empty()).then(|| text.to_owned())
}
