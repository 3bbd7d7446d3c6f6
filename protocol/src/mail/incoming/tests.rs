use super::*;
use crate::edxml;

/// A mail as Thunderbird writes one: a text body, a PDF with a Vietnamese name (RFC 2231),
/// and a plain text file.
pub(crate) const UNIT_MAIL: &[u8] = b"Message-ID: <3b1f6a2e-9d4c@xa-dinh-my.lienthong.test>\r\n\
Date: Tue, 8 Dec 2026 09:30:00 +0700\r\n\
MIME-Version: 1.0\r\n\
From: =?UTF-8?B?VUJORCB4w6MgxJDhu4tuaCBN4bu5?= <box-b@lienthong.test>\r\n\
To: vanthu@agency-a.lienthong.test\r\n\
Subject: =?UTF-8?Q?B=C3=A1o_c=C3=A1o_t=C3=ACnh_h=C3=ACnh_th=C3=A1ng_11?=\r\n\
Content-Type: multipart/mixed; boundary=\"------------0aUe2kPwRkR6G1Lp7N0e3VqS\"\r\n\
\r\n\
This is a multi-part message in MIME format.\r\n\
--------------0aUe2kPwRkR6G1Lp7N0e3VqS\r\n\
Content-Type: text/plain; charset=UTF-8; format=flowed\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
K\xc3\xadnh g\xe1\xbb\xadi V\xc4\x83n ph\xc3\xb2ng,\r\n\
\r\n\
X\xc3\xa3 g\xe1\xbb\xadi b\xc3\xa1o c\xc3\xa1o k\xc3\xa8m theo.\r\n\
\r\n\
--------------0aUe2kPwRkR6G1Lp7N0e3VqS\r\n\
Content-Type: application/pdf; name*=UTF-8''B%C3%A1o%20c%C3%A1o%2011.pdf\r\n\
Content-Disposition: attachment; filename*=UTF-8''B%C3%A1o%20c%C3%A1o%2011.pdf\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg==\r\n\
--------------0aUe2kPwRkR6G1Lp7N0e3VqS\r\n\
Content-Type: text/plain; charset=UTF-8; name=\"danh-sach.txt\"\r\n\
Content-Disposition: attachment; filename=\"danh-sach.txt\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
VGjDtG4gMQpUaMO0biAyCg==\r\n\
--------------0aUe2kPwRkR6G1Lp7N0e3VqS--\r\n";

pub(crate) const PDF: &[u8] =
    b"%PDF-1.4\n%\xc3\xa4\xc3\xbc\xc3\xb6\xc3\x9f\n2 0 obj\n<</Length 3 0 R>>\nstream\n";

fn unit() -> Organization {
    Organization {
        organ_name: Some("UBND xã Định Mỹ".into()),
        ..Organization::new("000.01.05.H01".parse().unwrap())
    }
}

fn agency() -> Organization {
    Organization {
        organ_name: Some("UBND tỉnh An Giang".into()),
        ..Organization::new("000.00.00.H01".parse().unwrap())
    }
}

fn at() -> Timestamp {
    "2026-12-08T02:31:00.000Z".parse().unwrap()
}

#[test]
fn a_mail_is_read_with_its_attachments() {
    let mail = read_mail(UNIT_MAIL, 1 << 20).unwrap();
    assert_eq!(mail.from_address, "box-b@lienthong.test");
    assert_eq!(mail.from_name.as_deref(), Some("UBND xã Định Mỹ"));
    assert_eq!(mail.to, vec!["vanthu@agency-a.lienthong.test".to_owned()]);
    assert_eq!(mail.subject, "Báo cáo tình hình tháng 11");
    assert_eq!(
        mail.message_id.as_deref(),
        Some("3b1f6a2e-9d4c@xa-dinh-my.lienthong.test")
    );
    assert_eq!(mail.date, Some("2026-12-08T02:30:00.000Z".parse().unwrap()));
    assert!(
        mail.body_text.starts_with("Kính gửi Văn phòng,"),
        "{:?}",
        mail.body_text
    );
    assert_eq!(mail.attachments.len(), 2);
    assert_eq!(mail.attachments[0].name, "Báo cáo 11.pdf");
    assert_eq!(mail.attachments[0].content_type, "application/pdf");
    assert_eq!(mail.attachments[0].bytes, PDF);
    assert_eq!(mail.attachments[1].name, "danh-sach.txt");
    assert_eq!(mail.attachments[1].bytes, "Thôn 1\nThôn 2\n".as_bytes());
}

#[test]
fn the_document_reads_back_with_the_mail_in_it() {
    let mail = read_mail(UNIT_MAIL, 1 << 20).unwrap();
    let xml = document_from_mail(&mail, unit(), agency(), at()).unwrap();
    let again = document_from_mail(&mail, unit(), agency(), at()).unwrap();
    assert_eq!(xml, again, "the same mail gives the same bytes");
    let parsed = edxml::read(xml).unwrap();
    let doc = parsed.message.as_document().unwrap();
    assert_eq!(doc.from.organ_id.as_str(), "000.01.05.H01");
    assert_eq!(doc.from.email.as_deref(), Some("box-b@lienthong.test"));
    assert_eq!(doc.to[0].organ_id.as_str(), "000.00.00.H01");
    assert_eq!(doc.subject.as_deref(), Some("Báo cáo tình hình tháng 11"));
    assert_eq!(
        doc.promulgation.as_ref().and_then(|p| p.date),
        edxml::EdxmlDate::new(2026, 12, 8)
    );
    assert!(
        doc.content
            .as_deref()
            .unwrap()
            .contains("Xã gửi báo cáo kèm theo.")
    );
    let id = doc.document_id.as_deref().unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "8", "a version 8 UUID: {id}");
    assert_eq!(doc.attachments.len(), 2);
    assert_eq!(
        doc.attachments[0].attachment_name.as_deref(),
        Some("Báo cáo 11.pdf")
    );
    assert_eq!(
        doc.attachments[0].content_type.as_deref(),
        Some("application/pdf")
    );
    assert_eq!(doc.attachments[0].content.decode().unwrap(), PDF);
    assert_eq!(doc.references[0].content_id.as_deref(), Some("cid:1"));
    assert_eq!(
        doc.attachments[1].content.decode().unwrap(),
        "Thôn 1\nThôn 2\n".as_bytes()
    );
}

#[test]
fn the_document_id_follows_the_message_id_or_the_bytes() {
    let mail = read_mail(UNIT_MAIL, 1 << 20).unwrap();
    let mut other = mail.clone();
    other.subject = "changed".into();
    assert_eq!(document_id(&mail), document_id(&other));
    other.message_id = Some("another@x".into());
    assert_ne!(document_id(&mail), document_id(&other));
    let mut none = mail.clone();
    none.message_id = None;
    let mut none_other = none.clone();
    none_other.raw_sha256[0] ^= 1;
    assert_ne!(document_id(&none), document_id(&none_other));
    assert_ne!(document_id(&none), document_id(&mail));
}

#[test]
fn a_long_body_is_attached_whole() {
    let mut mail = read_mail(UNIT_MAIL, 1 << 20).unwrap();
    mail.body_text = "Dòng báo cáo. ".repeat(100);
    mail.subject = String::new();
    mail.date = None;
    let xml = document_from_mail(&mail, unit(), agency(), at()).unwrap();
    let parsed = edxml::read(xml).unwrap();
    let doc = parsed.message.as_document().unwrap();
    assert_eq!(doc.subject.as_deref(), Some(NO_SUBJECT));
    assert_eq!(
        doc.content.as_ref().unwrap().chars().count(),
        CONTENT_MAX_CHARS
    );
    let body = doc.attachments.last().unwrap();
    assert_eq!(body.attachment_name.as_deref(), Some(BODY_FILE_NAME));
    assert_eq!(
        body.content.decode().unwrap(),
        mail.body_text.trim_end().as_bytes()
    );
    // received_at, 02:31 UTC, is the 8th in Vietnam.
    assert_eq!(
        doc.promulgation.as_ref().and_then(|p| p.date),
        edxml::EdxmlDate::new(2026, 12, 8)
    );
}

#[test]
fn an_unnamed_attachment_gets_a_name() {
    let raw = b"From: a@b.test\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--x--\r\n";
    let mail = read_mail(raw, 1 << 20).unwrap();
    assert_eq!(mail.attachments.len(), 1);
    assert_eq!(mail.attachments[0].name, "tep-dinh-kem-1.pdf");
    assert_eq!(mail.attachments[0].bytes, b"%PDF");
}

#[test]
fn bad_mail_is_refused_with_the_reason() {
    assert_eq!(
        read_mail(UNIT_MAIL, 100),
        Err(MailError::TooLarge {
            size: UNIT_MAIL.len(),
            max: 100
        })
    );
    assert!(matches!(
        read_mail(b"", 100),
        Err(MailError::NotAMessage { .. })
    ));
    assert_eq!(
        read_mail(b"To: a@b.test\r\nSubject: x\r\n\r\nhi\r\n", 1000),
        Err(MailError::NoFromAddress)
    );
    assert_eq!(
        read_mail(b"From: nobody\r\n\r\nhi\r\n", 1000),
        Err(MailError::NoFromAddress)
    );
}

#[test]
fn a_broken_base64_attachment_is_named() {
    let raw = b"From: a@b.test\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!! not base64 ####\r\n--x--\r\n";
    let result = read_mail(raw, 1 << 20);
    assert!(
        matches!(&result, Err(MailError::PartNotDecoded { name, .. }) if name == "a.pdf"),
        "{result:?}"
    );
}

#[test]
fn a_forwarded_message_is_attached_as_itself() {
    let raw = b"From: a@b.test\r\nSubject: Fwd\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--x\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@d.test\r\nSubject: inner\r\n\r\ninner body\r\n--x--\r\n";
    let mail = read_mail(raw, 1 << 20).unwrap();
    assert_eq!(mail.attachments.len(), 1);
    assert_eq!(mail.attachments[0].name, "tep-dinh-kem-1.eml");
    let bytes = String::from_utf8(mail.attachments[0].bytes.clone()).unwrap();
    assert!(
        bytes.starts_with("From: c@d.test\r\nSubject: inner"),
        "{bytes:?}"
    );
    assert!(!bytes.contains("a@b.test"), "{bytes:?}");
    assert!(bytes.contains("inner body"), "{bytes:?}");
}
