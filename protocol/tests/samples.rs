//! Every real sample in `../shared/edxml-samples/` reads to the values it holds, and the one
//! malformed file is refused with an error that says where.

mod common;

use lienthong_protocol::edxml::{
    self, BusinessDocType, ErrorKind, Message, Priority, ReceiverType, StatusCode,
};

fn document(name: &str) -> Box<edxml::Document> {
    let parsed = edxml::read(common::sample(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(
        parsed.warnings.is_empty(),
        "{name}: unexpected warnings {:?}",
        parsed.warnings
    );
    match parsed.message {
        Message::Document(d) => d,
        Message::Status(_) => panic!("{name} read as a status message"),
    }
}

fn status(name: &str) -> Box<edxml::Status> {
    let parsed = edxml::read(common::sample(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(
        parsed.warnings.is_empty(),
        "{name}: unexpected warnings {:?}",
        parsed.warnings
    );
    match parsed.message {
        Message::Status(s) => s,
        Message::Document(_) => panic!("{name} read as a document"),
    }
}

const AXIS_DOCUMENT_ID: &str = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT";

#[test]
fn edoc_new_is_a_new_document_with_one_zipped_attachment() {
    let d = document("edoc_new.edxml");
    assert_eq!(d.from.organ_id.as_str(), "000.00.00.A80");
    let to: Vec<_> = d.to.iter().map(|o| o.organ_id.as_str()).collect();
    assert_eq!(to, ["28.22.H17"]);
    assert!(
        !d.to[0].organ_id.is_regular(),
        "28.22.H17 is an irregular id"
    );
    assert_eq!(d.document_id.as_deref(), Some(AXIS_DOCUMENT_ID));
    assert_eq!(d.business_doc_type(), BusinessDocType::New);
    let business = d.business.as_ref().expect("Bussiness");
    assert_eq!(business.reason.as_deref(), Some("Văn bản điện tử mới"));
    assert_eq!(business.paper, Some(0));
    assert_eq!(
        business.staff.as_ref().and_then(|s| s.staff.as_deref()),
        Some("Nguyễn Thị Ngọc Trâm")
    );
    assert_eq!(d.references.len(), 1);
    assert_eq!(d.references[0].content_id.as_deref(), Some("cid:209"));
    assert_eq!(d.attachments.len(), 1);
    let attachment = &d.attachments[0];
    assert_eq!(
        attachment.attachment_name.as_deref(),
        Some("1896_QD-TTg_m_294779.doc")
    );
    assert_eq!(attachment.content_type.as_deref(), Some("application/zip"));
    // The decoded size is known without decoding, and matches decoding.
    let zip = attachment.content.decode().expect("base64");
    assert_eq!(attachment.content.decoded_len(), zip.len() as u64);
    assert_eq!(&zip[..4], b"PK\x03\x04", "a zip archive");
    assert!(
        d.signature
            .as_ref()
            .is_some_and(|s| s.as_bytes().starts_with(b"<Signature"))
    );
}

#[test]
fn dc0bdef0_is_an_sdk_document_to_three_agencies() {
    let d = document("dc0bdef0-c7a3-4aaf-b717-777303442973.edxml");
    assert_eq!(d.from.organ_id.as_str(), "000.00.00.G22");
    assert_eq!(d.from.organ_name.as_deref(), Some("Văn phòng Chính phủ"));
    assert_eq!(d.from.fax.as_deref(), Some("048989898789"));
    let to: Vec<_> = d.to.iter().map(|o| o.organ_id.as_str()).collect();
    assert_eq!(to, ["000.00.00.H41", "000.00.00.H14", "000.00.00.G17"]);
    assert_eq!(d.to[1].organ_name.as_deref(), Some("UBND Tỉnh Cao Bằng"));
    assert_eq!(d.document_id.as_deref(), Some(AXIS_DOCUMENT_ID));
    let code = d.code.as_ref().expect("Code");
    assert_eq!(
        (code.number.as_str(), code.notation.as_str()),
        ("7816", "VPCP-TTĐT")
    );
    let promulgation = d.promulgation.as_ref().expect("PromulgationInfo");
    assert_eq!(promulgation.place.as_deref(), Some("Hà Nội"));
    assert_eq!(
        promulgation.date.map(|x| x.to_string()).as_deref(),
        Some("2019/04/11")
    );
    let t = d.document_type.as_ref().expect("DocumentType");
    assert_eq!(
        (t.kind.as_deref(), t.detail.as_deref(), t.name.as_deref()),
        (Some("1"), Some("0"), Some("Công văn"))
    );
    assert_eq!(
        d.subject.as_deref(),
        Some("V/v kết nối, liên thông phần mềm quản lý văn bản")
    );
    let signer = d.signer.as_ref().expect("SignerInfo");
    assert_eq!(signer.full_name.as_deref(), Some("Nguyen Thanh Phuc"));
    assert_eq!(signer.competence.as_deref(), Some("TL. BO TRUONG"));
    assert_eq!(
        d.due_date.map(|x| x.to_string()).as_deref(),
        Some("2019/04/11")
    );
    assert_eq!(
        d.to_places,
        ["Cac bo va co quan ngang bo", "Uy ban nhan dan cac tinh, TP"]
    );
    let other = d.other_info.as_ref().expect("OtherInfo");
    assert_eq!(other.priority, Some(Priority::Normal));
    assert_eq!(other.promulgation_amount, Some(2));
    assert_eq!(other.page_amount, Some(22));
    assert_eq!(other.direction, Some(false));
    assert_eq!(other.appendixes.len(), 1);
    assert_eq!(d.steering_type, Some(1));
    assert_eq!(d.trace.len(), 1);
    assert_eq!(
        d.trace[0].organ_id.as_ref().map(|o| o.as_str()),
        Some("000.00.00.G22")
    );
    assert_eq!(
        d.trace[0].timestamp.map(|t| t.to_string()).as_deref(),
        Some("2019/04/11 00:00:00")
    );
    // The Bussiness block's DocumentId holds an impossible date; it is an opaque id.
    assert_eq!(
        d.business.as_ref().and_then(|b| b.document_id.as_deref()),
        Some("000.00.00.G22,2014/02/30,7806/VPCP-TTĐT")
    );
    assert_eq!(d.attachments.len(), 1);
}

#[test]
fn edoc_revocation_is_business_type_1() {
    let d = document("edoc_revocation.edxml");
    assert_eq!(d.business_doc_type(), BusinessDocType::Revoke);
    assert_eq!(
        d.business.as_ref().and_then(|b| b.reason.as_deref()),
        Some("Thu hồi văn bản điện tử")
    );
    assert_eq!(d.to.len(), 3);
}

#[test]
fn edoc_update_lists_removed_and_added_receivers() {
    let d = document("edoc_update.edxml");
    assert_eq!(d.business_doc_type(), BusinessDocType::Update);
    let info = d
        .business
        .as_ref()
        .and_then(|b| b.document_info.as_ref())
        .expect("BussinessDocumentInfo");
    assert_eq!(info.document_info_changed, Some(true));
    assert_eq!(info.receivers_changed, Some(true));
    let receivers: Vec<_> = info
        .receivers
        .iter()
        .map(|r| (r.organ_id.as_str(), r.receiver_type))
        .collect();
    assert_eq!(
        receivers,
        [
            ("000.00.00.H41", ReceiverType::Removed),
            ("000.00.00.H14", ReceiverType::Added)
        ]
    );
}

#[test]
fn edoc_replacement_names_what_it_replaces_and_for_whom() {
    let d = document("edoc_replacement.edxml");
    assert_eq!(d.business_doc_type(), BusinessDocType::Replace);
    let replacements = &d.business.as_ref().expect("Bussiness").replacements;
    assert_eq!(replacements.len(), 2);
    assert_eq!(
        replacements[0].document_id,
        "000.00.00.G22,2014/01/30,7806/VPCP-TTĐT"
    );
    let ids: Vec<_> = replacements[0]
        .organ_ids
        .iter()
        .map(|o| o.as_str())
        .collect();
    assert_eq!(ids, ["000.00.00.H41", "000.00.00.H14"]);
}

#[test]
fn every_status_sample_reads_its_code_and_direction() {
    let cases = [
        ("status.edxml", StatusCode::Arrived),
        ("status_inbox_ 01.edxml", StatusCode::Arrived),
        ("status_rejection_02.edxml", StatusCode::Rejected),
        ("status_acceptance_03.edxml", StatusCode::Accepted),
        ("status_assignment_04.edxml", StatusCode::Assigned),
        ("status_processing_05.edxml", StatusCode::Processing),
        ("status_finish_06.edxml", StatusCode::Completed),
        (
            "status_cancellation_13.edxml",
            StatusCode::TakeBackRequested,
        ),
        (
            "status_change-acceptance_15.edxml",
            StatusCode::ChangeAccepted,
        ),
        (
            "status_change-rejection_16.edxml",
            StatusCode::ChangeRefused,
        ),
    ];
    for (name, code) in cases {
        let s = status(name);
        assert_eq!(s.code, code, "{name}");
        assert_eq!(
            s.response_for.document_id.as_deref(),
            Some(AXIS_DOCUMENT_ID),
            "{name}"
        );
        assert_eq!(
            s.response_for.code.as_deref(),
            Some("7816/VPCP-TTĐT"),
            "{name}"
        );
        // Code 13 goes from the sender to the recipient; every other code the other way.
        let (from, to) = if code == StatusCode::TakeBackRequested {
            ("000.00.00.G22", "000.00.00.H41")
        } else {
            ("000.00.00.H41", "000.00.00.G22")
        };
        assert_eq!(s.from.organ_id.as_str(), from, "{name}");
        assert_eq!(s.response_for.organ_id.as_str(), to, "{name}");
        assert!(s.timestamp.is_some(), "{name}");
        assert!(s.description.is_some(), "{name}");
    }
}

#[test]
fn status_samples_keep_staff_and_description_text() {
    let s = status("status.edxml");
    assert_eq!(
        s.timestamp.map(|t| t.to_string()).as_deref(),
        Some("2018/09/28 17:25:11")
    );
    assert_eq!(
        s.response_for
            .promulgation_date
            .map(|d| d.to_string())
            .as_deref(),
        Some("2018/09/28")
    );
    let staff = s.staff.as_ref().expect("StaffInfo");
    assert_eq!(staff.department.as_deref(), Some("Văn thư văn phòng"));
    assert_eq!(staff.mobile.as_deref(), Some("84912000001"));
    assert_eq!(
        s.description.as_deref(),
        Some(
            "Văn thư - Phòng Văn thư - Lưu trữ: Đã đến - Phần mềm QLVB đã nhận nhưng văn thư chưa xử lý"
        )
    );
    let rejected = status("status_rejection_02.edxml");
    assert_eq!(
        rejected.description.as_deref(),
        Some("Văn thư - Phòng Văn thư - Lưu trữ: Từ chối không tiếp nhận văn bản điện tử")
    );
}

#[test]
fn malformed_edoc_is_refused_where_its_from_is_left_open() {
    let err = edxml::read(common::sample("edoc.edxml")).expect_err("edoc.edxml is not well-formed");
    assert!(matches!(err.kind, ErrorKind::Syntax(_)), "{err}");
    let position = err.position.expect("a position");
    assert_eq!((position.line, position.column), (74, 7), "{err}");
    assert_eq!(
        err.path,
        "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From"
    );
    let text = err.to_string();
    assert!(text.starts_with("74:7: "), "{text}");
    assert!(
        text.contains("edXML:From") && text.contains("MessageHeader"),
        "{text}"
    );
}

#[test]
fn every_sample_file_is_covered() {
    // A new sample in the shared folder must get its own assertions above.
    let names = common::sample_names();
    assert_eq!(names.len(), 16, "{names:?}");
}
