//! The official-email formats against real inputs: a mail composed for each real document
//! sample parses back to what the document says, Postfix and Thunderbird reports read to
//! their values, and a unit's mail becomes an edXML document that reads back.

mod common;

use lienthong_protocol::Timestamp;
use lienthong_protocol::edxml::{self, Message, Organization};
use lienthong_protocol::mail::{
    self, DeliveryAction, DeliveryReport, DispositionReport, MailError, OutgoingMail,
    RecipientStatus, Report,
};
use mail_parser::{MessageParser, MimeHeaders};
use proptest::prelude::*;

/// Every sample that is a document; the status samples and the malformed `edoc.edxml` are
/// not something a node sends by mail.
fn document_samples() -> Vec<(String, Vec<u8>)> {
    let names = common::sample_names();
    let docs: Vec<(String, Vec<u8>)> = names
        .into_iter()
        .map(|n| {
            let bytes = common::sample(&n);
            (n, bytes)
        })
        .filter(|(_, bytes)| {
            matches!(
                edxml::read(bytes.clone()).map(|p| p.message),
                Ok(Message::Document(_))
            )
        })
        .collect();
    assert_eq!(docs.len(), 5, "the five document samples: {docs:?}");
    docs
}

fn outgoing<'a>(
    edxml: &'a [u8],
    document: &'a edxml::Document,
    headers: &'a [(&'a str, String)],
) -> OutgoingMail<'a> {
    OutgoingMail {
        edxml,
        document,
        from_address: "vanthu@agency-a.lienthong.test",
        from_name: "Văn phòng Chính phủ",
        to_address: "box-b@lienthong.test",
        to_name: "UBND xã Định Mỹ",
        message_id: "5ff13a6c.000.00.00.G22@lienthong",
        date: "2026-12-08T01:15:00.000Z".parse().unwrap(),
        notification_to: "vanthu@agency-a.lienthong.test",
        headers,
    }
}

#[test]
fn a_mail_for_each_real_document_parses_back_to_it() {
    for (name, bytes) in document_samples() {
        let parsed = edxml::read(bytes.clone()).unwrap();
        let doc = parsed.message.as_document().unwrap();
        let headers = [("X-Lienthong-Package", "pkg-5ff13a6c".to_owned())];
        let raw = mail::compose(&outgoing(&bytes, doc, &headers))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            raw,
            mail::compose(&outgoing(&bytes, doc, &headers)).unwrap(),
            "{name}: composing twice gives the same bytes"
        );
        let m = MessageParser::new()
            .parse(&raw)
            .unwrap_or_else(|| panic!("{name}: mail-parser reads the mail"));

        let code = doc.code.as_ref().unwrap();
        let subject = doc.subject.as_deref().unwrap();
        assert_eq!(
            m.subject(),
            Some(format!("Số {}/{}: {}", code.number, code.notation, subject).as_str()),
            "{name}"
        );
        assert_eq!(m.message_id(), Some("5ff13a6c.000.00.00.G22@lienthong"));
        assert_eq!(
            m.date().map(|d| d.to_timestamp()),
            Some(1_796_692_500),
            "{name}"
        );
        let to = m.to().and_then(|t| t.first()).unwrap();
        assert_eq!(to.address.as_deref(), Some("box-b@lienthong.test"));
        assert_eq!(to.name.as_deref(), Some("UBND xã Định Mỹ"));
        assert_eq!(
            m.header_raw("Disposition-Notification-To").map(str::trim),
            Some("<vanthu@agency-a.lienthong.test>")
        );
        assert_eq!(
            m.header_raw("X-Lienthong-Package").map(str::trim),
            Some("pkg-5ff13a6c")
        );

        let body = m.body_text(0).unwrap();
        let has = |line: &str| body.lines().any(|l| l == line);
        assert!(has("Kính gửi: UBND xã Định Mỹ."), "{name}:\n{body}");
        assert!(
            has(&format!("Số và ký hiệu: {}/{}", code.number, code.notation)),
            "{name}:\n{body}"
        );
        let date = doc.promulgation.as_ref().and_then(|p| p.date).unwrap();
        assert!(
            has(&format!(
                "Ngày ban hành: {:02}/{:02}/{}",
                date.day(),
                date.month(),
                date.year()
            )),
            "{name}:\n{body}"
        );
        assert!(has(&format!("Trích yếu: {subject}")), "{name}:\n{body}");
        if doc.other_info.as_ref().and_then(|o| o.priority).is_some() {
            assert!(body.contains("Độ khẩn: "), "{name}:\n{body}");
        }
        if let Some(full_name) = doc.signer.as_ref().and_then(|s| s.full_name.as_deref()) {
            assert!(
                body.lines()
                    .any(|l| l.starts_with("Người ký: ") && l.contains(full_name)),
                "{name}:\n{body}"
            );
        }
        assert!(body.contains("là văn bản điện tử gốc"), "{name}:\n{body}");
        assert!(body.contains("thông báo đã đọc"), "{name}:\n{body}");
        assert!(!body.contains(": \r") && !body.lines().any(|l| l.ends_with(": ")));

        let files: Vec<_> = m.attachments().collect();
        assert_eq!(files.len(), doc.attachments.len() + 1, "{name}");
        for (file, attachment) in files.iter().zip(&doc.attachments) {
            assert_eq!(
                file.contents(),
                attachment.content.decode().unwrap().as_slice(),
                "{name}"
            );
            let file_name = file.attachment_name().unwrap();
            assert!(
                file_name.starts_with(attachment.attachment_name.as_deref().unwrap()),
                "{name}: {file_name}"
            );
            assert!(
                body.lines().any(|l| l == format!("- {file_name}")),
                "{name}:\n{body}"
            );
        }
        let edxml_file = files.last().unwrap();
        assert_eq!(edxml_file.contents(), bytes.as_slice(), "{name}");
        assert!(edxml_file.is_content_type("application", "xml"));
        assert_eq!(
            edxml_file.attachment_name(),
            Some(format!("{}-VPCP-TTDT.edxml", code.number).as_str()),
            "{name}"
        );
    }
}

#[test]
fn the_zip_the_axis_sdk_attaches_goes_as_a_zip() {
    let bytes = common::sample("edoc_new.edxml");
    let parsed = edxml::read(bytes.clone()).unwrap();
    let doc = parsed.message.as_document().unwrap();
    let raw = mail::compose(&outgoing(&bytes, doc, &[])).unwrap();
    let m = MessageParser::new().parse(&raw).unwrap();
    let file = m.attachments().next().unwrap();
    assert_eq!(file.attachment_name(), Some("1896_QD-TTg_m_294779.doc.zip"));
    assert!(file.is_content_type("application", "zip"));
}

fn report(name: &str) -> Option<Report> {
    let raw = common::fixture(&format!("mail/{name}"));
    mail::read_report(&raw).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn a_postfix_delivery_report_reads() {
    assert_eq!(
        report("postfix_delivered.eml"),
        Some(Report::Delivery(DeliveryReport {
            envelope_id: Some("pkg-5ff13a6c".into()),
            original_message_id: Some("5ff13a6c.000.00.00.G22@lienthong".into()),
            recipients: vec![RecipientStatus {
                final_recipient: "box-b@lienthong.test".into(),
                original_recipient: Some("box-b@lienthong.test".into()),
                action: DeliveryAction::Delivered,
                status: "2.0.0".into(),
                diagnostic: None,
            }],
        }))
    );
}

#[test]
fn a_postfix_bounce_reads_with_its_folded_diagnostic() {
    assert_eq!(
        report("postfix_bounce_unknown_user.eml"),
        Some(Report::Delivery(DeliveryReport {
            envelope_id: None,
            original_message_id: Some("7a0e5d21.000.00.00.G22@lienthong".into()),
            recipients: vec![
                RecipientStatus {
                    final_recipient: "box-x@lienthong.test".into(),
                    original_recipient: Some("box-x@lienthong.test".into()),
                    action: DeliveryAction::Failed,
                    status: "5.1.1".into(),
                    diagnostic: Some("unknown user: \"box-x\"".into()),
                },
                RecipientStatus {
                    final_recipient: "box-y@remote.lienthong.test".into(),
                    original_recipient: Some("box-y@remote.lienthong.test".into()),
                    action: DeliveryAction::Failed,
                    status: "5.1.1".into(),
                    diagnostic: Some(
                        "550 5.1.1 <box-y@remote.lienthong.test>: Recipient address rejected: User unknown in local recipient table"
                            .into()
                    ),
                },
            ],
        }))
    );
}

#[test]
fn a_thunderbird_read_receipt_reads() {
    assert_eq!(
        report("thunderbird_mdn.eml"),
        Some(Report::Disposition(DispositionReport {
            original_message_id: Some("5ff13a6c.000.00.00.G22@lienthong".into()),
            final_recipient: Some("box-b@lienthong.test".into()),
            disposition: "manual-action/MDN-sent-manually; displayed".into(),
            displayed: true,
        }))
    );
}

#[test]
fn reports_read_the_same_with_crlf_line_ends() {
    for name in [
        "postfix_delivered.eml",
        "postfix_bounce_unknown_user.eml",
        "thunderbird_mdn.eml",
    ] {
        let raw = common::fixture(&format!("mail/{name}"));
        let text = String::from_utf8(raw).unwrap().replace('\n', "\r\n");
        assert_eq!(
            mail::read_report(text.as_bytes()).unwrap(),
            report(name),
            "{name}"
        );
    }
}

#[test]
fn broken_reports_say_what_is_missing() {
    let raw = common::fixture("mail/dsn_no_recipient_block.eml");
    let err = mail::read_report(&raw).unwrap_err();
    assert!(
        matches!(&err, MailError::MalformedReport { reason, .. } if reason.contains("no per-recipient block")),
        "{err}"
    );
    let raw = common::fixture("mail/dsn_truncated.eml");
    let err = mail::read_report(&raw).unwrap_err();
    assert!(
        matches!(&err, MailError::MalformedReport { reason, .. } if reason == "per-recipient block 2 has no Status field"),
        "{err}"
    );
}

#[test]
fn our_own_mail_is_not_a_report() {
    let bytes = common::sample("edoc_new.edxml");
    let parsed = edxml::read(bytes.clone()).unwrap();
    let doc = parsed.message.as_document().unwrap();
    let raw = mail::compose(&outgoing(&bytes, doc, &[])).unwrap();
    assert_eq!(mail::read_report(&raw), Ok(None));
}

#[test]
fn a_unit_mail_becomes_a_document_qlvb_reads() {
    // Built by hand as a mail program writes it, the second file name RFC 2231 encoded.
    let raw = "Message-ID: <m1@xa-dinh-my.lienthong.test>\r\n\
Date: Mon, 7 Dec 2026 16:05:00 +0700\r\n\
From: =?UTF-8?B?VUJORCB4w6MgxJDhu4tuaCBN4bu5?= <box-b@lienthong.test>\r\n\
To: vanthu@agency-a.lienthong.test\r\n\
Subject: =?UTF-8?Q?=C4=90=E1=BB=81_ngh=E1=BB=8B_h=E1=BB=97_tr=E1=BB=A3_kinh_ph=C3=AD?=\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=UTF-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
K=C3=ADnh g=E1=BB=ADi V=C4=83n ph=C3=B2ng.\r\n\
--b1\r\n\
Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document\r\n\
Content-Disposition: attachment; filename=\"to-trinh.docx\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
UEsDBBQAAAAIAA==\r\n\
--b1\r\n\
Content-Type: application/pdf\r\n\
Content-Disposition: attachment;\r\n filename*=UTF-8''D%E1%BB%B1%20to%C3%A1n%20kinh%20ph%C3%AD.pdf\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjcKJeLjz9MK\r\n\
--b1--\r\n";
    let m = mail::read_mail(raw.as_bytes(), 1 << 20).unwrap();
    assert_eq!(m.attachments[1].name, "Dự toán kinh phí.pdf");
    let unit = Organization {
        organ_name: Some("UBND xã Định Mỹ".into()),
        ..Organization::new("000.01.05.H01".parse().unwrap())
    };
    let agency = Organization::new("000.00.00.H01".parse().unwrap());
    let received: Timestamp = "2026-12-07T09:06:00.000Z".parse().unwrap();
    let xml = mail::document_from_mail(&m, unit, agency, received).unwrap();
    let parsed = edxml::read(xml).unwrap();
    // A mail has no số and ký hiệu: Code is left out rather than invented, and the reader
    // notes that and nothing else.
    let warnings: Vec<String> = parsed
        .warnings
        .iter()
        .map(|w| format!("{:?}", w.kind))
        .collect();
    assert_eq!(warnings, ["MissingRecommended(\"Code\")"]);
    let doc = parsed.message.as_document().unwrap();
    assert_eq!(doc.subject.as_deref(), Some("Đề nghị hỗ trợ kinh phí"));
    assert_eq!(doc.from.organ_id.as_str(), "000.01.05.H01");
    assert_eq!(doc.from.organ_name.as_deref(), Some("UBND xã Định Mỹ"));
    assert_eq!(doc.from.email.as_deref(), Some("box-b@lienthong.test"));
    assert_eq!(doc.content.as_deref(), Some("Kính gửi Văn phòng."));
    let names: Vec<_> = doc
        .attachments
        .iter()
        .map(|a| a.attachment_name.as_deref().unwrap())
        .collect();
    assert_eq!(names, ["to-trinh.docx", "Dự toán kinh phí.pdf"]);
    assert_eq!(
        doc.attachments[0].content.decode().unwrap(),
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00"
    );
    assert_eq!(
        doc.attachments[1].content.decode().unwrap(),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    );
    assert_eq!(
        doc.references[1].content_type.as_deref(),
        Some("application/pdf")
    );
}

#[test]
fn malformed_mail_is_refused() {
    assert!(matches!(
        mail::read_mail(b"", 1000),
        Err(MailError::NotAMessage { .. })
    ));
    assert_eq!(
        mail::read_mail(b"Subject: no sender\r\n\r\nbody\r\n", 1000),
        Err(MailError::NoFromAddress)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever a unit writes (subject, body, file names and bytes), the document made from
    /// it is written, reads back, and carries each non-empty file byte for byte.
    #[test]
    fn any_unit_mail_reads_back_as_a_document(
        subject in "\\PC{0,80}",
        body in "\\PC{0,700}",
        files in proptest::collection::vec(("\\PC{0,40}", proptest::collection::vec(any::<u8>(), 0..200)), 0..4),
    ) {
        let incoming = mail::IncomingMail {
            from_address: "box-b@lienthong.test".into(),
            from_name: None,
            to: vec![],
            subject,
            date: None,
            message_id: None,
            body_text: body,
            attachments: files
                .into_iter()
                .map(|(name, bytes)| mail::MailAttachment {
                    name,
                    content_type: "application/octet-stream".into(),
                    bytes,
                })
                .collect(),
            raw_sha256: [7; 32],
        };
        let unit = Organization::new("000.01.05.H01".parse().unwrap());
        let agency = Organization::new("000.00.00.H01".parse().unwrap());
        let xml = mail::document_from_mail(&incoming, unit, agency, Timestamp::from_millis(1_796_692_500_000)).unwrap();
        let parsed = edxml::read(xml).unwrap();
        let doc = parsed.message.as_document().unwrap();
        let sent: Vec<&[u8]> = incoming.attachments.iter().map(|a| a.bytes.as_slice()).filter(|b| !b.is_empty()).collect();
        for (attachment, bytes) in doc.attachments.iter().zip(&sent) {
            prop_assert_eq!(attachment.content.decode().unwrap(), bytes.to_vec());
        }
        prop_assert!(doc.attachments.len() >= sent.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any trích yếu and names in Vietnamese come back through mail-parser as written, and
    /// composing is deterministic.
    #[test]
    fn any_subject_and_names_round_trip(
        subject in "[\\p{L}\\p{N},.()/-]{1,20}( [\\p{L}\\p{N},.()/-]{1,20}){0,8}",
        to_name in "[\\p{L}]{1,12}( [\\p{L}]{1,12}){0,4}",
        payload in proptest::collection::vec(any::<u8>(), 1..300),
    ) {
        let mut doc = edxml::Document::new(
            Organization::new("000.00.00.G22".parse().unwrap()),
            vec![Organization::new("000.00.00.H41".parse().unwrap())],
        );
        doc.code = Some(edxml::Code { number: "12".into(), notation: "UBND-VP".into() });
        doc.subject = Some(subject.clone());
        doc.attachments.push(edxml::Attachment {
            content_id: Some("cid:1".into()),
            attachment_name: Some("tep.pdf".into()),
            description: None,
            content_type: Some("application/pdf".into()),
            mime_type: None,
            field_name: None,
            content: edxml::Base64Content::encode(&payload),
        });
        let bytes = b"<edXML/>";
        let mut m = outgoing(bytes, &doc, &[]);
        m.to_name = &to_name;
        let raw = mail::compose(&m).unwrap();
        prop_assert_eq!(&raw, &mail::compose(&m).unwrap());
        let parsed = MessageParser::new().parse(&raw).unwrap();
        let expected = format!("Số 12/UBND-VP: {subject}");
        prop_assert_eq!(parsed.subject(), Some(expected.as_str()));
        let to = parsed.to().and_then(|t| t.first()).unwrap();
        prop_assert_eq!(to.name.as_deref(), Some(to_name.as_str()));
        let files: Vec<_> = parsed.attachments().collect();
        prop_assert_eq!(files[0].contents(), payload.as_slice());
        prop_assert_eq!(files[1].contents(), &bytes[..]);
    }
}

#[test]
fn a_bounce_returning_the_full_message_names_it() {
    // RET=FULL: Postfix returns the whole message as message/rfc822.
    let raw = String::from_utf8(common::fixture("mail/postfix_bounce_unknown_user.eml")).unwrap();
    let full = raw
        .replace(
            "Content-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers",
            "Content-Description: Undelivered Message\nContent-Type: message/rfc822",
        )
        .replace(
            "MIME-Version: 1.0\n\n--9C3D12C0A61.1796692844/mail.lienthong.test--",
            "MIME-Version: 1.0\nContent-Type: text/plain\n\nthe letter\n\n--9C3D12C0A61.1796692844/mail.lienthong.test--",
        );
    assert_ne!(full, raw);
    let Some(Report::Delivery(report)) = mail::read_report(full.as_bytes()).unwrap() else {
        panic!("a delivery report");
    };
    assert_eq!(
        report.original_message_id.as_deref(),
        Some("7a0e5d21.000.00.00.G22@lienthong")
    );
    assert_eq!(report.recipients.len(), 2);
}
