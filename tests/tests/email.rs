//! Official email, with real `lienthong` processes and the real Postfix and Dovecot on
//! loopback (`tests/mail/setup-mail.sh`): a document mailed to a unit with no node, its
//! delivery report and read receipt on the unit's timeline; a bounce for an address with no
//! mailbox; a unit's mail with attachments in the inbox; a stranger's mail and a malformed
//! one set aside; a node killed between the server's acceptance and its record sends the
//! mail once; the same over STARTTLS with SMTP AUTH and IMAPS, and no mail at all when the
//! server's certificate is not trusted.

use std::path::PathBuf;
use std::time::Duration;

use lienthong_protocol::edxml;
use lienthong_tests::browser::{browse, start_tag};
use lienthong_tests::mail::{MailServer, Mailbox, parse};
use lienthong_tests::{
    Federation, ProcessNode, configure_section, lienthong, sample_document, wait_for,
};
use mail_parser::MimeHeaders as _;
use serde_json::Value;

const AGENCY: &str = "000.00.01.H10";
const UNIT: &str = "000.00.31.H10";
const DEADLINE: Duration = Duration::from_secs(60);
/// `[email]`'s default folders (`Lienthong/Handled`, `Lienthong/Review`) as Dovecot names
/// them, with its `.` hierarchy delimiter.
const HANDLED: &str = "Lienthong.Handled";
const REVIEW: &str = "Lienthong.Review";

/// How an [`Agency`]'s node reaches the loopback mail server.
#[derive(Clone, Copy)]
enum Transport {
    /// `127.0.0.1`, no TLS, no log-in.
    Plain,
    /// `localhost`: STARTTLS then SMTP AUTH on 2587, IMAPS on 1993, trusting `ca_file`
    /// (`None`: the public roots). The agency's address is one Postfix takes mail from only
    /// after a log-in.
    Tls { ca_file: Option<&'static str> },
}

/// An agency's node whose `[email]` is its mailbox on the loopback mail server, and the
/// federation that lists `unit_address` as the email unit [`UNIT`].
struct Agency {
    federation: Federation,
    dir: PathBuf,
    mailbox: Mailbox,
}

impl Agency {
    fn new(mail: &MailServer, unit_address: &str) -> anyhow::Result<Agency> {
        Agency::with(mail, unit_address, Transport::Plain)
    }

    fn with(mail: &MailServer, unit_address: &str, transport: Transport) -> anyhow::Result<Agency> {
        let federation = Federation::new("Thư công vụ")?;
        let dir = federation.init(AGENCY, "Sở Tư pháp tỉnh Bình Thuận")?;
        let mailbox = match transport {
            Transport::Plain => mail.mailbox("agency"),
            Transport::Tls { .. } => mail.login_only_mailbox("agency"),
        };
        let password = dir.join("email.secret");
        std::fs::write(&password, format!("{}\n", MailServer::PASSWORD))?;
        std::fs::set_permissions(
            &password,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )?;
        let servers = match transport {
            Transport::Plain => [
                ("smtp_host", "\"127.0.0.1\"".to_owned()),
                ("smtp_security", "\"none\"".to_owned()),
                ("smtp_auth", "false".to_owned()),
                ("imap_host", "\"127.0.0.1\"".to_owned()),
                ("imap_port", "1143".to_owned()),
                ("imap_security", "\"none\"".to_owned()),
                ("ca_file", "\"\"".to_owned()),
            ],
            Transport::Tls { ca_file } => [
                ("smtp_host", "\"localhost\"".to_owned()),
                ("smtp_security", "\"starttls\"".to_owned()),
                ("smtp_auth", "true".to_owned()),
                ("imap_host", "\"localhost\"".to_owned()),
                ("imap_port", "1993".to_owned()),
                ("imap_security", "\"tls\"".to_owned()),
                ("ca_file", format!("{:?}", ca_file.unwrap_or_default())),
            ],
        };
        for (key, value) in [
            ("enabled", "true".to_owned()),
            ("address", format!("{:?}", mailbox.address)),
            ("smtp_port", "2587".to_owned()),
            ("poll_interval", "\"300ms\"".to_owned()),
        ]
        .into_iter()
        .chain(servers)
        {
            configure_section(&dir, "email", key, &value)?;
        }
        federation.admit(&dir)?;
        list_unit(&federation, unit_address)?;
        Ok(Agency {
            federation,
            dir,
            mailbox,
        })
    }

    fn start(&self, env: &[(&str, &str)]) -> anyhow::Result<ProcessNode> {
        let node = ProcessNode::start_with_env(&self.dir, env)?;
        self.federation.wait_roster(&[&node])?;
        Ok(node)
    }
}

fn list_unit(federation: &Federation, address: &str) -> anyhow::Result<()> {
    let dir = federation.dir();
    let printed = lienthong(&[
        "federation",
        "list-email-unit",
        "--dir",
        dir.to_str().expect("UTF-8"),
        "--organ-id",
        UNIT,
        "--name",
        "Phòng Tư pháp huyện Tuy Phong",
        "--address",
        address,
    ])?;
    assert!(
        printed.contains(&format!("listed {UNIT} as reached by email at {address}")),
        "{printed}"
    );
    Ok(())
}

/// The unit's recipient status in the package's status.
fn unit_status(node: &ProcessNode, package: &str) -> Option<Value> {
    node.get_json(&format!("/api/v1/packages/{package}/status"))
        .ok()?["recipients"]
        .as_array()?
        .iter()
        .find(|r| r["organ_id"] == UNIT)
        .cloned()
}

/// Waits until the unit's timeline holds the mail report `report`.
fn wait_report(node: &ProcessNode, package: &str, report: &str) -> anyhow::Result<Value> {
    wait_for(&format!("the mail report {report}"), DEADLINE, || {
        unit_status(node, package)?["mail_reports"]
            .as_array()?
            .iter()
            .find(|r| r["report"] == report)
            .cloned()
    })
    .map_err(|e| {
        anyhow::anyhow!(
            "{e}\n--- node log ---\n{}",
            lienthong_tests::tail(&node.log_text())
        )
    })
}

fn the_copy(unit: &Mailbox, package: &str) -> anyhow::Result<Vec<u8>> {
    unit.wait_message("INBOX", "the document's mail", DEADLINE, |m| {
        m.message_id().is_some_and(|id| id.starts_with(package))
    })
}

#[test]
fn a_document_mailed_to_a_unit_carries_its_files_and_its_delivery_report_and_read_receipt_join_the_timeline()
-> anyhow::Result<()> {
    let mail = MailServer::require()?;
    let unit = mail.mailbox("unit");
    let agency = Agency::new(&mail, &unit.address)?;
    let node = agency.start(&[])?;

    let document = sample_document(AGENCY, UNIT);
    let package = node.submit(&document)?;
    node.wait_state(&package, UNIT, "handed_to_mail_server", DEADLINE)?;

    // The unit's mailbox: one message, the edXML attached byte for byte, its files decoded.
    let raw = the_copy(&unit, &package)?;
    let message = parse(&raw).expect("the mail parses");
    let parsed = edxml::read(document.clone())?;
    let sent = parsed.message.as_document().expect("a document");
    let code = sent.code.as_ref().expect("số và ký hiệu");
    let subject = message.subject().unwrap_or_default().to_owned();
    assert!(
        subject.contains(&format!("{}/{}", code.number, code.notation)),
        "{subject}"
    );
    let body = message.body_text(0).unwrap_or_default().into_owned();
    assert!(body.contains("Kính gửi"), "{body}");
    assert!(
        message
            .header_raw("Disposition-Notification-To")
            .is_some_and(|to| to.contains(&agency.mailbox.address)),
        "a read receipt is asked for"
    );
    let files = sent.attachments.len();
    let attached: Vec<(String, Vec<u8>)> = message
        .attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or_default().to_owned(),
                a.contents().to_vec(),
            )
        })
        .collect();
    assert_eq!(
        attached.len(),
        files + 1,
        "each file, then the edXML: {:?}",
        attached.iter().map(|a| &a.0).collect::<Vec<_>>()
    );
    let edxml_copy = attached
        .iter()
        .find(|(name, _)| name.ends_with(".edxml"))
        .expect("the edXML attached");
    assert_eq!(
        edxml_copy.1, document,
        "the edXML reaches the unit byte for byte"
    );

    // Postfix's delivery report, then the unit's read receipt, on the timeline: their word.
    let delivered = wait_report(&node, &package, "delivered_to_mailbox")?;
    assert_eq!(delivered["reported_by"], "mail_server");
    unit.send_read_receipt(&raw)?;
    let opened = wait_report(&node, &package, "opened")?;
    assert_eq!(opened["reported_by"], "mail_client");
    // Units on official email get documents, not status messages: refused, naming it.
    let status_message = String::from_utf8(lienthong_tests::sample("status_acceptance_03.edxml"))?
        .replace("000.00.00.H41", AGENCY)
        .replace("000.00.00.G22", UNIT);
    let (code, body) = node.post("/api/v1/packages", status_message.as_bytes())?;
    let answer = String::from_utf8_lossy(&body);
    assert_eq!(code, 422, "{answer}");
    assert!(
        answer.contains("status_to_email_unit") && answer.contains(UNIT),
        "{answer}"
    );
    let status = unit_status(&node, &package).expect("status");
    assert_eq!(status["path"], "email");
    assert_eq!(status["state"], "handed_to_mail_server");
    assert!(
        status["receipts"].as_array().is_none_or(Vec::is_empty),
        "no signed receipt: {status}"
    );

    // Everything the node read is moved to its handled folder, never deleted: its own copy,
    // the report and the receipt; the inbox is left empty.
    let handled = wait_for("the agency's inbox emptied", DEADLINE, || {
        let inbox = agency.mailbox.messages("INBOX").ok()?;
        let handled = agency.mailbox.messages(HANDLED).ok()?;
        (inbox.is_empty() && handled.len() >= 3).then_some(handled)
    })?;
    let kinds: Vec<String> = handled
        .iter()
        .filter_map(|raw| {
            parse(raw).and_then(|m| {
                m.content_type()
                    .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or_default()))
            })
        })
        .collect();
    assert!(
        kinds
            .iter()
            .filter(|k| k.as_str() == "multipart/report")
            .count()
            >= 2,
        "{kinds:?}"
    );
    assert_eq!(unit.count_with_message_id("INBOX", &message_id(&raw))?, 1);
    Ok(())
}

#[test]
fn over_starttls_with_a_log_in_and_imaps_a_unit_gets_the_document_once_and_its_delivery_report_comes_back()
-> anyhow::Result<()> {
    let mail = MailServer::require()?;
    let unit = mail.mailbox("unit");
    let agency = Agency::with(
        &mail,
        &unit.address,
        Transport::Tls {
            ca_file: Some(MailServer::CA_FILE),
        },
    )?;
    // The control: the server takes nothing from the agency's address without a log-in, so
    // the node's mail below reaching the unit proves that it logged in.
    let refused = agency
        .mailbox
        .send_raw(
            &unit.address,
            &agency
                .mailbox
                .compose(&unit.address, "không đăng nhập", "", &[]),
        )
        .expect_err("the agency's address needs a log-in");
    assert!(
        format!("{refused:#}").contains("not logged in"),
        "{refused:#}"
    );

    let node = agency.start(&[])?;
    let package = node.submit(&sample_document(AGENCY, UNIT))?;
    node.wait_state(&package, UNIT, "handed_to_mail_server", DEADLINE)?;
    let raw = the_copy(&unit, &package)?;
    // Postfix's delivery report reaches the node only through its IMAPS session.
    let delivered = wait_report(&node, &package, "delivered_to_mailbox")?;
    assert_eq!(delivered["reported_by"], "mail_server");
    assert_eq!(unit.count_with_message_id("INBOX", &message_id(&raw))?, 1);
    Ok(())
}

#[test]
fn a_mail_server_whose_certificate_is_not_trusted_gets_no_mail_and_the_error_names_the_certificate()
-> anyhow::Result<()> {
    let mail = MailServer::require()?;
    let unit = mail.mailbox("unit");
    // No ca_file: the public roots, which do not hold the test CA.
    let agency = Agency::with(&mail, &unit.address, Transport::Tls { ca_file: None })?;
    let node = agency.start(&[])?;
    let package = node.submit(&sample_document(AGENCY, UNIT))?;
    let error = wait_for("the unit's delivery error", DEADLINE, || {
        unit_status(&node, &package)?["last_error"]
            .as_str()
            .map(str::to_owned)
    })?;
    assert!(
        error.to_lowercase().contains("certificate"),
        "the error names the certificate problem: {error}"
    );
    let status = unit_status(&node, &package).expect("status");
    assert_ne!(status["state"], "handed_to_mail_server", "{status}");
    assert!(
        unit.messages("INBOX")?.is_empty(),
        "nothing reached the unit"
    );
    Ok(())
}

#[test]
fn a_mail_to_an_address_with_no_mailbox_bounces_onto_the_units_timeline() -> anyhow::Result<()> {
    let mail = MailServer::require()?;
    let nowhere = mail.unknown_address("unit");
    let agency = Agency::new(&mail, &nowhere)?;
    let node = agency.start(&[])?;
    let package = node.submit(&sample_document(AGENCY, UNIT))?;
    let bounced = wait_report(&node, &package, "bounced")?;
    assert_eq!(bounced["reported_by"], "mail_server");
    let detail = bounced["detail"].as_str().unwrap_or_default();
    assert!(detail.starts_with("5."), "the server's status: {detail}");
    assert!(
        detail.to_lowercase().contains("unknown"),
        "the server's reason: {detail}"
    );
    // At once in the stuck list, with the server's reason: nobody need wait the deadline.
    let stuck = node.get_json("/api/v1/stuck")?;
    let entry = stuck
        .as_array()
        .and_then(|all| all.iter().find(|s| s["recipient"] == UNIT).cloned())
        .expect("the bounced unit is stuck");
    assert_eq!(entry["reason"], "mail_bounced", "{entry}");
    assert_eq!(entry["path"], "email", "{entry}");
    assert_eq!(entry["detail"], detail, "{entry}");
    Ok(())
}

#[test]
fn a_units_mail_becomes_an_inbox_document_and_a_strangers_or_a_malformed_one_is_set_aside()
-> anyhow::Result<()> {
    let mail = MailServer::require()?;
    let unit = mail.mailbox("unit");
    let agency = Agency::new(&mail, &unit.address)?;
    let node = agency.start(&[])?;

    let scan = b"%PDF-1.4 quyet dinh 12/QD-UBND".to_vec();
    let sheet = vec![0xd0, 0xcf, 0x11, 0xe0, 1, 2, 3];
    let letter = unit.compose(
        &agency.mailbox.address,
        "Báo cáo tình hình tiếp nhận hồ sơ quý IV",
        "Kính gửi Sở Tư pháp, phòng gửi báo cáo kèm theo.",
        &[
            ("Quyết định số 12.pdf", "application/pdf", &scan),
            ("bảng tổng hợp.xls", "application/vnd.ms-excel", &sheet),
        ],
    );
    unit.send_raw(&agency.mailbox.address, &letter)?;
    let entry = wait_for("the unit's mail in the inbox", DEADLINE, || {
        node.inbox().ok()?.into_iter().find(|e| e["from"] == UNIT)
    })?;
    assert_eq!(entry["via"], "email");
    assert_eq!(entry["mail_from"], unit.address.as_str());
    let (code, content) = node.get(&format!(
        "/api/v1/packages/{}",
        entry["package_id"].as_str().expect("id")
    ))?;
    assert_eq!(code, 200);
    let document = edxml::read(content)?;
    let document = document.message.as_document().expect("a document").clone();
    assert!(
        document
            .subject
            .as_deref()
            .is_some_and(|s| s.contains("tình hình tiếp nhận")),
        "{:?}",
        document.subject
    );
    let names: Vec<String> = document
        .attachments
        .iter()
        .filter_map(|a| a.attachment_name.clone())
        .collect();
    for name in ["Quyết định số 12.pdf", "bảng tổng hợp.xls", "thu-goc.eml"] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    // The original is kept byte for byte: the one the node moved to its handled folder.
    let handled =
        agency
            .mailbox
            .wait_message(HANDLED, "the unit's mail handled", DEADLINE, |m| {
                m.subject()
                    .is_some_and(|s| s.contains("tình hình tiếp nhận"))
            })?;
    let original = document
        .attachments
        .iter()
        .find(|a| a.attachment_name.as_deref() == Some("thu-goc.eml"))
        .expect("the original attached");
    assert_eq!(attachment_bytes(original), handled);

    // A stranger's mail and a malformed one: set aside, moved, listed with why.
    let stranger = mail.mailbox("stranger");
    stranger.send_raw(
        &agency.mailbox.address,
        &stranger.compose(&agency.mailbox.address, "Xin việc", "CV kèm theo", &[]),
    )?;
    // From the unit, but its scanned file's base64 does not decode: not taken half-read.
    let broken = format!(
        "From: {unit}\r\nTo: {agency}\r\nSubject: hong\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\n\
         xem tep\r\n--x\r\nContent-Type: application/pdf; name=\"so-12.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n!!!! not base64 ####\r\n--x--\r\n",
        unit = unit.address,
        agency = agency.mailbox.address
    );
    unit.send_raw(&agency.mailbox.address, broken.as_bytes())?;
    let review = wait_for("both set aside", DEADLINE, || {
        let list = node
            .get_json("/api/v1/email/review")
            .ok()?
            .as_array()?
            .clone();
        (list.len() >= 2).then_some(list)
    })
    .map_err(|e| {
        anyhow::anyhow!(
            "{e}\n--- node log ---\n{}",
            lienthong_tests::tail(&node.log_text())
        )
    })?;
    let stranger_entry = review
        .iter()
        .find(|r| r["from"] == stranger.address.as_str())
        .expect("the stranger's mail listed");
    assert!(
        stranger_entry["reason"]
            .as_str()
            .unwrap_or_default()
            .contains(&stranger.address),
        "{stranger_entry}"
    );
    let broken_entry = review
        .iter()
        .find(|r| r["from"] != stranger.address.as_str())
        .expect("the malformed mail listed");
    let why = broken_entry["reason"].as_str().unwrap_or_default();
    assert!(
        why.contains("so-12.pdf"),
        "the reason names the part: {why}"
    );
    wait_for("both moved to the review folder", DEADLINE, || {
        (agency.mailbox.messages(REVIEW).ok()?.len() == 2).then_some(())
    })?;
    // The dashboard shows both: the unit's document marked unsigned, the mail to look at.
    let token = std::fs::read_to_string(node.dir().join("api.token"))?;
    let url = format!("http://{}/#token={}", node.info().api_addr, token.trim());
    let profile = agency.federation.dir().with_file_name("browser-email");
    let dom = browse(&url, &profile, None)?;
    let panel = start_tag(&dom, "section", &[("id", "mail-review-panel")])?;
    assert!(
        !panel.has_class("hidden"),
        "the mail to look at is shown: {dom}"
    );
    assert!(
        dom.contains("Thư cần xem xét") && dom.contains(&stranger.address),
        "{dom}"
    );
    assert!(dom.contains("qua thư điện tử, không có chữ ký"), "{dom}");
    if let Ok(shot) = std::env::var("LIENTHONG_EMAIL_SCREENSHOT") {
        browse(&url, &profile, Some(std::path::Path::new(&shot)))?;
    }
    assert_eq!(
        node.inbox()?.iter().filter(|e| e["via"] == "email").count(),
        1,
        "nothing set aside reaches QLVB"
    );
    Ok(())
}

#[test]
fn a_node_killed_after_the_server_took_the_mail_and_before_recording_it_mails_the_unit_once()
-> anyhow::Result<()> {
    let mail = MailServer::require()?;
    let unit = mail.mailbox("unit");
    let agency = Agency::new(&mail, &unit.address)?;
    let mut node = agency.start(&[("LIENTHONG_CRASH_AT", "email_after_send_before_record")])?;
    let document = sample_document(AGENCY, UNIT);
    let (code, body) = node.post("/api/v1/packages", &document)?;
    assert_eq!(code, 202, "{}", String::from_utf8_lossy(&body));
    let package = serde_json::from_slice::<Value>(&body)?["package_id"]
        .as_str()
        .expect("id")
        .to_owned();
    wait_for("the node to abort at the crash point", DEADLINE, || {
        node.exited()
    })?;
    drop(node);

    let node = agency.start(&[])?;
    node.wait_state(&package, UNIT, "handed_to_mail_server", DEADLINE)?;
    assert!(
        node.log_text()
            .contains("the agency's own copy shows the mail server took it"),
        "settled by the agency's own copy, not by sending again"
    );
    // The delivery report comes once the unit's copy is in its mailbox: by then any second
    // send would have been made; there is one copy.
    wait_report(&node, &package, "delivered_to_mailbox")?;
    let raw = the_copy(&unit, &package)?;
    assert_eq!(unit.count_with_message_id("INBOX", &message_id(&raw))?, 1);
    Ok(())
}

fn message_id(raw: &[u8]) -> String {
    parse(raw)
        .and_then(|m| m.message_id().map(str::to_owned))
        .expect("a Message-ID")
}

/// An edXML attachment's bytes, decoded.
fn attachment_bytes(attachment: &edxml::Attachment) -> Vec<u8> {
    attachment.content.decode().expect("the attachment decodes")
}

#[test]
fn a_mail_larger_than_any_package_is_set_aside_unread_and_the_next_one_is_taken()
-> anyhow::Result<()> {
    let mail = MailServer::require()?;
    let unit = mail.mailbox("unit");
    let agency = Agency::new(&mail, &unit.address)?;
    configure_section(&agency.dir, "limits", "max_package_size", "\"64KiB\"")?;
    let node = agency.start(&[])?;

    let scan = vec![b'x'; 200 * 1024];
    let big = unit.compose(
        &agency.mailbox.address,
        "Hồ sơ quét quá lớn",
        "Kèm bản quét.",
        &[("ban-quet.pdf", "application/pdf", &scan)],
    );
    unit.send_raw(&agency.mailbox.address, &big)?;
    let small = unit.compose(&agency.mailbox.address, "Báo cáo ngắn", "Nội dung.", &[]);
    unit.send_raw(&agency.mailbox.address, &small)?;

    let review = wait_for("the large mail set aside", DEADLINE, || {
        let list = node
            .get_json("/api/v1/email/review")
            .ok()?
            .as_array()?
            .clone();
        list.into_iter().find(|r| {
            r["reason"]
                .as_str()
                .is_some_and(|w| w.contains("max_package_size"))
        })
    })?;
    assert!(
        review["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("not fetched"),
        "{review}"
    );
    wait_for("the small mail in the inbox", DEADLINE, || {
        node.inbox()
            .ok()?
            .into_iter()
            .find(|e| e["from"] == UNIT && e["via"] == "email")
    })?;
    wait_for("the large mail in the review folder", DEADLINE, || {
        (agency.mailbox.messages(REVIEW).ok()?.len() == 1).then_some(())
    })?;
    assert_eq!(node.inbox()?.len(), 1, "only the small mail reaches QLVB");
    Ok(())
}
