use mail_parser::{MessageParser, MimeHeaders};

use super::*;
use crate::edxml::{Code, EdxmlDate, Organization, OtherInfo, PromulgationInfo, SignerInfo};

fn document() -> Document {
    let mut doc = Document::new(
        Organization {
            organ_name: Some("Văn phòng Chính phủ".into()),
            ..Organization::new("000.00.00.G22".parse().unwrap())
        },
        vec![Organization::new("000.00.00.H41".parse().unwrap())],
    );
    doc.code = Some(Code {
        number: "7816".into(),
        notation: "VPCP-TTĐT".into(),
    });
    doc.promulgation = Some(PromulgationInfo {
        place: Some("Hà Nội".into()),
        date: EdxmlDate::new(2015, 9, 30),
    });
    doc.subject = Some("Về việc kết nối, liên thông\nphần mềm quản lý văn bản".into());
    doc.signer = Some(SignerInfo {
        competence: Some("KT. Bộ trưởng, Chủ nhiệm".into()),
        position: Some("Phó Chủ nhiệm".into()),
        full_name: Some("Nguyễn Văn A".into()),
    });
    doc.other_info = Some(OtherInfo {
        priority: Some(Priority::VeryUrgent),
        ..OtherInfo::default()
    });
    doc.attachments.push(Attachment {
        content_id: Some("cid:1".into()),
        attachment_name: Some("Công văn 7816.pdf".into()),
        description: None,
        content_type: Some("application/pdf".into()),
        mime_type: None,
        field_name: None,
        content: crate::edxml::Base64Content::encode(b"%PDF-1.4 not really"),
    });
    doc.attachments.push(Attachment {
        content_id: Some("cid:2".into()),
        attachment_name: Some("phu-luc.doc".into()),
        description: None,
        content_type: Some("application/zip".into()),
        mime_type: None,
        field_name: None,
        content: crate::edxml::Base64Content::encode(b"PK\x03\x04 a zip archive"),
    });
    doc
}

fn mail<'a>(doc: &'a Document, headers: &'a [(&'a str, String)]) -> OutgoingMail<'a> {
    OutgoingMail {
        edxml: b"<edXML>the exact bytes</edXML>\r\n",
        document: doc,
        from_address: "vanthu@vpcp.gov.vn",
        from_name: "Văn phòng Chính phủ",
        to_address: "vanthu@xa-dinh-my.gov.vn",
        to_name: "UBND xã Định Mỹ",
        message_id: "5ff13a6c.000.00.00.G22@lienthong",
        date: "2026-12-08T01:00:00.000Z".parse().unwrap(),
        notification_to: "hopthu@vpcp.gov.vn",
        headers,
    }
}

#[test]
fn the_letter_names_the_document_in_vietnamese() {
    let doc = document();
    let headers = [("X-Lienthong-Package", "abc123".to_owned())];
    let raw = compose(&mail(&doc, &headers)).unwrap();
    let parsed = MessageParser::new().parse(&raw).unwrap();
    assert_eq!(
        parsed.subject(),
        Some("Số 7816/VPCP-TTĐT: Về việc kết nối, liên thông phần mềm quản lý văn bản")
    );
    assert_eq!(
        parsed.message_id(),
        Some("5ff13a6c.000.00.00.G22@lienthong")
    );
    assert_eq!(
        parsed
            .header_raw("Disposition-Notification-To")
            .map(str::trim),
        Some("<hopthu@vpcp.gov.vn>")
    );
    assert_eq!(
        parsed.header_raw("X-Lienthong-Package").map(str::trim),
        Some("abc123")
    );
    let from = parsed.from().unwrap().first().unwrap();
    assert_eq!(from.address.as_deref(), Some("vanthu@vpcp.gov.vn"));
    assert_eq!(from.name.as_deref(), Some("Văn phòng Chính phủ"));
    let body = parsed.body_text(0).unwrap();
    for line in [
        "Kính gửi: UBND xã Định Mỹ.",
        "Cơ quan ban hành: Văn phòng Chính phủ (mã định danh 000.00.00.G22)",
        "Số và ký hiệu: 7816/VPCP-TTĐT",
        "Ngày ban hành: 30/09/2015",
        "Trích yếu: Về việc kết nối, liên thông phần mềm quản lý văn bản",
        "Độ khẩn: Thượng khẩn",
        "Người ký: Nguyễn Văn A (KT. Bộ trưởng, Chủ nhiệm, Phó Chủ nhiệm)",
        "- Công văn 7816.pdf",
        "- phu-luc.doc.zip",
        "- 7816-VPCP-TTDT.edxml",
    ] {
        assert!(body.lines().any(|l| l == line), "{line:?} not in\n{body}");
    }
    assert!(body.contains("văn bản điện tử gốc"));
    assert!(body.contains("thông báo đã đọc"));
}

#[test]
fn attachments_are_decoded_and_the_edxml_is_attached_unchanged() {
    let doc = document();
    let raw = compose(&mail(&doc, &[])).unwrap();
    let parsed = MessageParser::new().parse(&raw).unwrap();
    let files: Vec<_> = parsed.attachments().collect();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0].attachment_name(), Some("Công văn 7816.pdf"));
    assert!(files[0].is_content_type("application", "pdf"));
    assert_eq!(files[0].contents(), b"%PDF-1.4 not really");
    assert_eq!(files[1].attachment_name(), Some("phu-luc.doc.zip"));
    assert!(files[1].is_content_type("application", "zip"));
    assert_eq!(files[1].contents(), b"PK\x03\x04 a zip archive");
    assert_eq!(files[2].attachment_name(), Some("7816-VPCP-TTDT.edxml"));
    assert!(files[2].is_content_type("application", "xml"));
    assert_eq!(files[2].contents(), b"<edXML>the exact bytes</edXML>\r\n");
}

#[test]
fn composing_twice_gives_the_same_bytes() {
    let doc = document();
    let a = compose(&mail(&doc, &[])).unwrap();
    let b = compose(&mail(&doc, &[])).unwrap();
    assert_eq!(a, b);
    let text = String::from_utf8_lossy(&a);
    assert!(text.contains(&boundary("5ff13a6c.000.00.00.G22@lienthong")));
}

#[test]
fn missing_fields_are_left_out() {
    let doc = Document::new(
        Organization::new("000.00.00.G22".parse().unwrap()),
        vec![Organization::new("000.00.00.H41".parse().unwrap())],
    );
    let raw = compose(&mail(&doc, &[])).unwrap();
    let parsed = MessageParser::new().parse(&raw).unwrap();
    assert_eq!(
        parsed.subject(),
        Some("Văn bản điện tử của Văn phòng Chính phủ")
    );
    let body = parsed.body_text(0).unwrap();
    for absent in [
        "Số và ký hiệu",
        "Ngày ban hành",
        "Trích yếu",
        "Độ khẩn",
        "Người ký",
    ] {
        assert!(!body.contains(absent), "{absent} printed in\n{body}");
    }
    assert!(body.lines().any(|l| l == "- vanban.edxml"), "{body}");
}

#[test]
fn bad_header_values_are_refused_by_name() {
    let doc = document();
    let mut m = mail(&doc, &[]);
    m.to_address = "not an address";
    assert!(matches!(
        compose(&m),
        Err(MailError::InvalidField { field, .. }) if field == "to_address"
    ));
    let injected = [("X-Lienthong-Package", "a\r\nBcc: x@y".to_owned())];
    let m = mail(&doc, &injected);
    assert!(matches!(compose(&m), Err(MailError::InvalidField { .. })));
    let own = [("Subject", "x".to_owned())];
    let m = mail(&doc, &own);
    assert!(matches!(compose(&m), Err(MailError::InvalidField { .. })));
    let mut m = mail(&doc, &[]);
    m.message_id = "<x@y>";
    assert!(matches!(
        compose(&m),
        Err(MailError::InvalidField { field, .. }) if field == "message_id"
    ));
}

#[test]
fn an_attachment_that_does_not_decode_is_named() {
    let mut doc = document();
    doc.attachments[1].content =
        crate::edxml::Base64Content::from_encoded(bytes::Bytes::from_static(b"QUJD=A")).unwrap();
    let err = compose(&mail(&doc, &[])).unwrap_err();
    assert!(
        matches!(&err, MailError::AttachmentNotDecoded { index: 2, name, .. } if name == "phu-luc.doc"),
        "{err:?}"
    );
}

#[test]
fn file_names_are_ascii_slugs() {
    assert_eq!(ascii_slug("7816-VPCP-TTĐT"), "7816-VPCP-TTDT");
    assert_eq!(ascii_slug("12/QĐ-UBND tỉnh"), "12-QD-UBND-tinh");
    assert_eq!(ascii_slug("///"), "");
}

#[test]
fn a_line_break_in_a_name_does_not_start_a_header() {
    let doc = document();
    let mut m = mail(&doc, &[]);
    m.to_name = "UBND xa\r\nBcc: spy@example.test";
    let raw = compose(&m).unwrap();
    let parsed = MessageParser::new().parse(&raw).unwrap();
    assert!(parsed.bcc().is_none());
    let to = parsed.to().unwrap().first().unwrap();
    assert_eq!(to.name.as_deref(), Some("UBND xa Bcc: spy@example.test"));
    assert_eq!(to.address.as_deref(), Some("vanthu@xa-dinh-my.gov.vn"));
}
