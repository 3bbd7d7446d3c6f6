//! The agency mail server the official-email path relies on, proven against the real
//! Postfix and Dovecot that `tests/mail/setup-mail.sh` runs on loopback
//! (`lienthong_tests::mail`): a mail sent with a DSN request arrives once and its sender
//! gets a "delivered" report carrying the ENVID; mail to an unknown user comes back as a
//! failed DSN; a read receipt comes back as an RFC 8098 disposition notification naming the
//! original Message-ID; handled mail can be moved to a folder over IMAP.
//!
//! Without the servers these tests fail with the harness's message on how to start them.

use std::time::Duration;

use anyhow::{Context as _, ensure};
use lettre::transport::smtp::extension::{MailParameter, RcptParameter};
use lienthong_tests::mail::{MailServer, Mailbox, block_on, parse};
use mail_parser::{Message, MimeHeaders as _};

/// Local delivery takes milliseconds; this only bounds a broken server.
const DEADLINE: Duration = Duration::from_secs(30);

/// Whether `message` is a multipart/report of `report_type`.
fn is_report(message: &Message, report_type: &str) -> bool {
    message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case(report_type))
    })
}

/// The text of the first part of `message` whose content type is `content_type`.
fn part_text(message: &Message, content_type: &str) -> Option<String> {
    message.parts.iter().find_map(|part| {
        let ct = part.content_type()?;
        let name = format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or(""));
        name.eq_ignore_ascii_case(content_type)
            .then(|| String::from_utf8_lossy(part.contents()).into_owned())
    })
}

/// The value of `field` in a report's fields (`Field: value`, case-insensitive name).
fn field<'a>(report: &'a str, field: &str) -> Option<&'a str> {
    report.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case(field)
            .then(|| value.trim())
    })
}

/// The Message-ID (without brackets) of a message this test built.
fn message_id(raw: &[u8]) -> anyhow::Result<String> {
    parse(raw)
        .and_then(|message| message.message_id().map(str::to_owned))
        .context("the composed message has a Message-ID")
}

/// Sends `raw` from `sender` to `to` asking, as the node will, for a DSN on success and
/// failure with headers only, under `envid`.
fn send_with_dsn(sender: &Mailbox, to: &str, raw: &[u8], envid: &str) -> anyhow::Result<()> {
    let other = |keyword: &str, value: &str| MailParameter::Other {
        keyword: keyword.to_owned(),
        value: Some(value.to_owned()),
    };
    sender.send_raw_with(
        to,
        raw,
        vec![other("RET", "HDRS"), other("ENVID", envid)],
        vec![
            RcptParameter::Other {
                keyword: "NOTIFY".to_owned(),
                value: Some("SUCCESS,FAILURE".to_owned()),
            },
            RcptParameter::Other {
                keyword: "ORCPT".to_owned(),
                value: Some(format!("rfc822;{to}")),
            },
        ],
    )
}

#[test]
fn a_mail_with_a_dsn_request_arrives_once_and_its_sender_gets_a_delivered_report()
-> anyhow::Result<()> {
    let server = MailServer::require()?;
    let sender = server.mailbox("dsn-sender");
    let recipient = server.mailbox("dsn-recipient");
    let raw = sender.compose(
        &recipient.address,
        "Công văn số 12/UBND",
        "Kính gửi Sở Nội vụ.",
        &[("document.edxml", "application/xml", b"<edXML/>")],
    );
    let id = message_id(&raw)?;
    let envid = format!("envid-{}", sender.address.split('@').next().unwrap_or(""));
    send_with_dsn(&sender, &recipient.address, &raw, &envid)?;

    let received = recipient.wait_message("INBOX", "the mail", DEADLINE, |m| {
        m.message_id() == Some(id.as_str())
    })?;
    let received = parse(&received).context("the received mail parses")?;
    ensure!(received.attachment_count() == 1, "the attachment arrived");

    let report = sender.wait_message("INBOX", "the delivered DSN", DEADLINE, |m| {
        is_report(m, "delivery-status")
    })?;
    let report = parse(&report).context("the DSN parses")?;
    let status = part_text(&report, "message/delivery-status")
        .context("the DSN has a message/delivery-status part")?;
    assert_eq!(
        field(&status, "Original-Envelope-Id"),
        Some(envid.as_str()),
        "{status}"
    );
    assert_eq!(field(&status, "Action"), Some("delivered"), "{status}");
    assert!(
        field(&status, "Status").is_some_and(|s| s.starts_with("2.")),
        "{status}"
    );
    assert!(
        field(&status, "Final-Recipient").is_some_and(|r| r.contains(&recipient.address)),
        "{status}"
    );
    // The DSN has arrived, so delivery is over: the mail is there once, not twice.
    assert_eq!(recipient.count_with_message_id("INBOX", &id)?, 1);
    Ok(())
}

#[test]
fn a_mail_to_an_unknown_user_is_accepted_and_then_bounced_to_its_sender() -> anyhow::Result<()> {
    let server = MailServer::require()?;
    let sender = server.mailbox("bounce-sender");
    let unknown = server.unknown_address("bounce");
    let raw = sender.compose(
        &unknown,
        "Không có hộp thư",
        "Gửi tới địa chỉ không tồn tại.",
        &[],
    );
    // Accepted at RCPT time: the bounce comes later, as a DSN.
    sender.send_raw(&unknown, &raw)?;

    let report = sender.wait_message("INBOX", "the failed DSN", DEADLINE, |m| {
        is_report(m, "delivery-status")
    })?;
    let report = parse(&report).context("the DSN parses")?;
    let status = part_text(&report, "message/delivery-status")
        .context("the DSN has a message/delivery-status part")?;
    assert_eq!(field(&status, "Action"), Some("failed"), "{status}");
    assert!(
        field(&status, "Status").is_some_and(|s| s.starts_with("5.")),
        "{status}"
    );
    assert!(
        field(&status, "Final-Recipient").is_some_and(|r| r.contains(&unknown)),
        "{status}"
    );
    assert!(
        field(&status, "Diagnostic-Code").is_some_and(|d| d.contains("User unknown")),
        "{status}"
    );
    let human = report.body_text(0).context("the DSN has a text part")?;
    assert!(
        human.contains(&unknown) && human.contains("User unknown"),
        "{human}"
    );
    Ok(())
}

#[test]
fn a_read_receipt_comes_back_as_a_disposition_notification_naming_the_original()
-> anyhow::Result<()> {
    let server = MailServer::require()?;
    let sender = server.mailbox("mdn-sender");
    let recipient = server.mailbox("mdn-recipient");
    let mut raw = format!("Disposition-Notification-To: <{}>\r\n", sender.address).into_bytes();
    raw.extend(sender.compose(&recipient.address, "Đề nghị báo đã đọc", "Nội dung.", &[]));
    let id = message_id(&raw)?;
    sender.send_raw(&recipient.address, &raw)?;

    let received =
        recipient.wait_message("INBOX", "the mail asking for a receipt", DEADLINE, |m| {
            m.message_id() == Some(id.as_str())
        })?;
    recipient.send_read_receipt(&received)?;

    let receipt = sender.wait_message("INBOX", "the read receipt", DEADLINE, |m| {
        is_report(m, "disposition-notification")
    })?;
    let receipt = parse(&receipt).context("the receipt parses")?;
    let notification = part_text(&receipt, "message/disposition-notification")
        .context("the receipt has a message/disposition-notification part")?;
    assert_eq!(
        field(&notification, "Original-Message-ID"),
        Some(format!("<{id}>").as_str()),
        "{notification}"
    );
    assert!(
        field(&notification, "Final-Recipient").is_some_and(|r| r.contains(&recipient.address)),
        "{notification}"
    );
    assert!(
        field(&notification, "Disposition").is_some_and(|d| d.ends_with("displayed")),
        "{notification}"
    );

    // A message that asks for no receipt gets none.
    let plain = sender.compose(&recipient.address, "Không cần báo", "", &[]);
    let refused = recipient.send_read_receipt(&plain).unwrap_err();
    assert!(
        refused.to_string().contains("Disposition-Notification-To"),
        "{refused:#}"
    );
    Ok(())
}

#[test]
fn handled_mail_is_moved_to_a_new_folder_not_deleted() -> anyhow::Result<()> {
    let server = MailServer::require()?;
    let sender = server.mailbox("move-sender");
    let mailbox = server.mailbox("move-agency");
    let raw = sender.compose(&mailbox.address, "Để chuyển thư mục", "", &[]);
    let id = message_id(&raw)?;
    sender.send_raw(&mailbox.address, &raw)?;
    mailbox.wait_message("INBOX", "the mail", DEADLINE, |m| {
        m.message_id() == Some(id.as_str())
    })?;
    assert_eq!(
        mailbox.messages("Handled")?.len(),
        0,
        "a folder that does not exist holds nothing"
    );

    block_on(async {
        let mut session = mailbox.imap().await?;
        session.create("Handled").await?;
        let inbox = session.select("INBOX").await?;
        ensure!(inbox.exists == 1, "the fresh mailbox holds the one mail");
        session.mv("1", "Handled").await?;
        session.logout().await?;
        Ok(())
    })?;

    assert!(
        mailbox.folders()?.iter().any(|f| f == "Handled"),
        "{:?}",
        mailbox.folders()?
    );
    assert_eq!(mailbox.count_with_message_id("Handled", &id)?, 1);
    assert_eq!(mailbox.count_with_message_id("INBOX", &id)?, 0);
    Ok(())
}
