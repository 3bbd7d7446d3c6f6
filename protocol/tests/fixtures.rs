//! lienthong's own fixtures: every element of both message kinds reads to its value, and
//! the lenient variants real producers write are read with one warning per leniency.

mod common;

use lienthong_protocol::edxml::{
    self, BusinessDocType, DateForm, Message, Priority, ReceiverType, ResponseForTask, StatusCode,
    WarningKind,
};

fn read(name: &str) -> edxml::Parsed {
    edxml::read(common::fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn full_document_reads_every_element() {
    let parsed = read("document_full.edxml");
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let Message::Document(d) = parsed.message else {
        panic!("not a document")
    };

    let from = &d.from;
    assert_eq!(from.organ_id.as_str(), "000.00.00.H53");
    assert_eq!(
        from.organization_in_charge.as_deref(),
        Some("Ủy ban nhân dân tỉnh Tây Ninh")
    );
    assert_eq!(
        from.organ_name.as_deref(),
        Some("Văn phòng UBND tỉnh Tây Ninh")
    );
    assert_eq!(
        from.organ_add.as_deref(),
        Some("Số 83 Phạm Tung, Phường 3, TP Tây Ninh")
    );
    assert_eq!(from.email.as_deref(), Some("vpubnd@tayninh.gov.vn"));
    assert_eq!(from.telephone.as_deref(), Some("0276 3822 226"));
    assert_eq!(from.fax.as_deref(), Some("0276 3822 227"));
    assert_eq!(from.website.as_deref(), Some("https://tayninh.gov.vn"));

    assert_eq!(d.to.len(), 2);
    assert_eq!(d.to[0].organ_name.as_deref(), Some("Sở Tài chính"));
    assert_eq!(d.to[1].organ_id.as_str(), "000.00.22.H53");
    assert_eq!(d.to[1].email, None);

    assert_eq!(
        d.document_id.as_deref(),
        Some("000.00.00.H53,2026/11/02,125/UBND-VP")
    );
    let code = d.code.as_ref().expect("Code");
    assert_eq!(
        (code.number.as_str(), code.notation.as_str()),
        ("125", "UBND-VP")
    );
    let p = d.promulgation.as_ref().expect("PromulgationInfo");
    assert_eq!(p.place.as_deref(), Some("Tây Ninh"));
    assert_eq!(
        p.date.map(|x| (x.year(), x.month(), x.day())),
        Some((2026, 11, 2))
    );
    let t = d.document_type.as_ref().expect("DocumentType");
    assert_eq!(t.name.as_deref(), Some("Công văn"));
    // Entities are resolved, and only the predefined ones exist.
    assert_eq!(
        d.subject.as_deref(),
        Some("V/v triển khai gửi nhận văn bản điện tử qua lienthong & báo cáo tình hình")
    );
    assert_eq!(
        d.content.as_deref(),
        Some("Đề nghị các đơn vị báo cáo số văn bản nhận <đúng hạn> trước ngày 15.")
    );
    let signer = d.signer.as_ref().expect("SignerInfo");
    assert_eq!(signer.competence.as_deref(), Some("KT. CHỦ TỊCH"));
    assert_eq!(signer.position.as_deref(), Some("Phó Chủ tịch"));
    assert_eq!(signer.full_name.as_deref(), Some("Nguyễn Văn An"));
    assert_eq!(
        d.due_date.map(|x| x.to_string()).as_deref(),
        Some("2026/11/15")
    );
    assert_eq!(d.to_places, ["Như trên", "Lưu: VT"]);

    let o = d.other_info.as_ref().expect("OtherInfo");
    assert_eq!(o.priority, Some(Priority::Flash));
    assert_eq!(d.priority(), Priority::Flash);
    assert_eq!(
        o.sphere_of_promulgation.as_deref(),
        Some("Liên thông văn bản tỉnh")
    );
    assert_eq!(o.typer_notation.as_deref(), Some("NVA"));
    assert_eq!(
        (o.promulgation_amount, o.page_amount, o.direction),
        (Some(5), Some(3), Some(true))
    );
    assert_eq!(o.appendixes, ["Danh sách đơn vị", "Mẫu báo cáo"]);

    assert_eq!(d.response_for.len(), 2);
    assert_eq!(d.response_for[0].code.as_deref(), Some("4512/VPCP-KSTT"));
    assert_eq!(
        d.response_for[0]
            .promulgation_date
            .map(|x| x.to_string())
            .as_deref(),
        Some("2026/10/20")
    );
    assert_eq!(d.response_for[1].organ_id.as_str(), "000.00.09.H53");
    assert_eq!(d.response_for[1].code, None);
    assert_eq!(d.steering_type, Some(2));

    assert_eq!(d.trace.len(), 2);
    assert_eq!(d.trace[1].organ_id, None);
    assert_eq!(d.trace[1].timestamp.map(|t| t.time()), Some((8, 15, 31)));

    let b = d.business.as_ref().expect("Bussiness");
    assert_eq!(b.doc_type, BusinessDocType::Update);
    assert_eq!(
        b.document_id.as_deref(),
        Some("000.00.00.H53,2026/10/30,118/UBND-VP")
    );
    assert_eq!(b.reason.as_deref(), Some("Cập nhật danh sách nơi nhận"));
    assert_eq!(b.paper, Some(0));
    let info = b.document_info.as_ref().expect("BussinessDocumentInfo");
    assert_eq!(
        (info.document_info_changed, info.receivers_changed),
        (Some(false), Some(true))
    );
    assert_eq!(info.receivers[0].receiver_type, ReceiverType::Added);
    assert_eq!(info.receivers[1].receiver_type, ReceiverType::Removed);
    let staff = b.staff.as_ref().expect("StaffInfo");
    assert_eq!(
        staff.department.as_deref(),
        Some("Phòng Hành chính - Tổ chức")
    );
    assert_eq!(staff.staff.as_deref(), Some("Trần Thị Bình"));
    assert_eq!(staff.email.as_deref(), Some("vanthu@tayninh.gov.vn"));
    assert_eq!(staff.mobile.as_deref(), Some("0912000111"));

    // The producer's XML-DSig signature is kept byte for byte.
    let signature = d.signature.as_ref().expect("Signature");
    let text = std::str::from_utf8(signature.as_bytes()).expect("utf-8");
    assert!(text.starts_with("<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\">"));
    assert!(text.ends_with("</Signature>"));
    let source = String::from_utf8(common::fixture("document_full.edxml")).expect("utf-8");
    assert!(source.contains(text));

    assert_eq!(d.references.len(), 2);
    assert_eq!(
        d.references[1].attachment_name.as_deref(),
        Some("phu-luc.docx")
    );
    assert_eq!(
        d.references[0].content_type.as_deref(),
        Some("application/pdf")
    );
    assert_eq!(
        d.references[0].description.as_deref(),
        Some("Công văn 125/UBND-VP (bản ký số)")
    );
    assert_eq!(d.attachments.len(), 2);
    // The first attachment's base64 is wrapped over several lines; the second is one line.
    for a in &d.attachments {
        let zip = a.content.decode().expect("base64");
        assert_eq!(a.content.decoded_len(), zip.len() as u64);
        assert_eq!(&zip[..2], b"PK");
    }
    assert_eq!(d.attachments_decoded_len(), 231 + 217);
    assert_eq!(
        d.attachments[1].bare_content_id(),
        Some("8f2a6c4d-1e9b-4b3a-8c7d-5e4f3a2b1c0d")
    );
}

#[test]
fn replacement_document_reads_its_replacement_list() {
    let parsed = read("document_replace.edxml");
    let Message::Document(d) = parsed.message else {
        panic!("not a document")
    };
    let b = d.business.as_ref().expect("Bussiness");
    assert_eq!(b.doc_type, BusinessDocType::Replace);
    assert_eq!(b.replacements.len(), 1);
    assert_eq!(
        b.replacements[0].document_id,
        "000.00.00.H18,2026/11/01,877/UBND-KT"
    );
    assert_eq!(b.replacements[0].organ_ids.len(), 2);
    // Bussiness came before TraceHeader; order does not matter.
    assert_eq!(d.trace.len(), 1);
    // No attachments, no body: the reader warns about nothing it does not need.
    assert!(d.attachments.is_empty() && d.references.is_empty());
    let missing: Vec<_> = parsed.warnings.iter().map(|w| w.kind.clone()).collect();
    assert!(missing.is_empty(), "{missing:?}");
}

#[test]
fn full_status_reads_every_element() {
    let parsed = read("status_full.edxml");
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let Message::Status(s) = parsed.message else {
        panic!("not a status message")
    };
    assert_eq!(s.from.organ_id.as_str(), "000.00.22.H53");
    assert_eq!(
        s.from.organization_in_charge.as_deref(),
        Some("Tổng cục Thuế")
    );
    assert_eq!(
        s.from.website.as_deref(),
        Some("https://tayninh.gdt.gov.vn")
    );
    assert_eq!(s.response_for.organ_id.as_str(), "000.00.00.H53");
    assert_eq!(s.response_for.code.as_deref(), Some("125/UBND-VP"));
    assert_eq!(
        s.response_for
            .promulgation_date
            .map(|d| d.to_string())
            .as_deref(),
        Some("2026/11/02")
    );
    assert_eq!(
        s.response_for.document_id.as_deref(),
        Some("000.00.00.H53,2026/11/02,125/UBND-VP")
    );
    let staff = s.staff.as_ref().expect("StaffInfo");
    assert_eq!(staff.staff.as_deref(), Some("Lê Văn Cường"));
    assert_eq!(s.code, StatusCode::Rejected);
    assert_eq!(s.code.as_str(), "02");
    assert_eq!(
        s.description.as_deref(),
        Some("Từ chối tiếp nhận: văn bản gửi nhầm đơn vị")
    );
    assert_eq!(
        s.timestamp.map(|t| t.to_string()).as_deref(),
        Some("2026/11/02 09:01:12")
    );
}

fn kinds(parsed: &edxml::Parsed) -> Vec<WarningKind> {
    parsed.warnings.iter().map(|w| w.kind.clone()).collect()
}

#[test]
fn lenient_document_is_read_with_a_warning_per_leniency() {
    let parsed = read("document_lenient.edxml");
    let k = kinds(&parsed);
    let has = |pred: &dyn Fn(&WarningKind) -> bool| k.iter().any(pred);
    assert!(
        has(&|w| matches!(w, WarningKind::UnknownElement(n) if n == "Boundary")),
        "{k:?}"
    );
    assert!(
        has(&|w| matches!(w, WarningKind::EmptyOptional(n) if n == "Fax")),
        "{k:?}"
    );
    assert!(
        has(&|w| matches!(w, WarningKind::DuplicateRecipient(n) if n == "000.00.14.H56")),
        "{k:?}"
    );
    assert!(
        has(&|w| matches!(
            w,
            WarningKind::DateForm {
                form: DateForm::DayFirst,
                ..
            }
        )),
        "{k:?}"
    );
    assert!(
        has(&|w| matches!(
            w,
            WarningKind::DateForm {
                form: DateForm::Iso,
                ..
            }
        )),
        "{k:?}"
    );
    assert!(
        has(&|w| matches!(
            w,
            WarningKind::InvalidOptional {
                element: "Priority",
                ..
            }
        )),
        "{k:?}"
    );
    // ResponseForTask, an extension of the official library, is read, not skipped: only the
    // MIME vestige is unknown.
    let unknown: Vec<&str> = k
        .iter()
        .filter_map(|w| match w {
            WarningKind::UnknownElement(n) => Some(n.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(unknown, ["Boundary"], "{k:?}");
    for spelling in ["Business", "BusinessDocType", "BusinessDocReason"] {
        assert!(
            has(&|w| matches!(w, WarningKind::BusinessSpelling(n) if n == spelling)),
            "{k:?}"
        );
    }
    // Every warning names where it is.
    for w in &parsed.warnings {
        assert!(w.path.starts_with("/edXML"), "{w}");
        assert!(w.position.line > 1, "{w}");
    }

    let Message::Document(d) = parsed.message else {
        panic!("not a document")
    };
    // Surrounding whitespace in ids is not part of them.
    assert_eq!(d.from.organ_id.as_str(), "000.00.00.H56");
    assert_eq!(d.from.fax, None);
    assert_eq!(d.to.len(), 1, "the duplicate recipient is kept once");
    assert_eq!(
        d.promulgation
            .as_ref()
            .and_then(|p| p.date)
            .map(|x| x.to_string())
            .as_deref(),
        Some("2020/10/30")
    );
    assert_eq!(d.other_info, None, "the only OtherInfo part was invalid");
    assert!(
        d.response_for.is_empty(),
        "an all-empty ResponseFor is dropped"
    );
    assert_eq!(d.steering_type, Some(0));
    // The .NET SDK writes the official library's task link too, in its own namespace prefix.
    assert_eq!(
        d.response_for_tasks,
        [ResponseForTask {
            task_code: "NV-2020-15".to_owned()
        }]
    );
    assert_eq!(
        d.document_id.as_deref(),
        Some("9fbfbad2-f1f8-4256-a2eb-50fb1061cddb")
    );
    assert_eq!(d.business_doc_type(), BusinessDocType::Revoke);
    assert_eq!(
        d.trace[0].timestamp.map(|t| t.to_string()).as_deref(),
        Some("2020/10/30 10:11:12")
    );
    // The .NET SDK's empty DigitalSignature is kept as it is.
    assert_eq!(
        d.signature.as_ref().map(|s| s.as_bytes()),
        Some(&b"<ns2:DigitalSignature/>"[..])
    );
    // A prefixed AttachmentEncoded with CDATA content, matched to its reference without `cid:`.
    assert_eq!(d.attachments.len(), 1);
    assert_eq!(d.attachments[0].content.decoded_len(), 217);
    assert!(
        !k.iter().any(|w| matches!(w, WarningKind::Manifest(_))),
        "{k:?}"
    );
}

#[test]
fn lenient_status_without_namespace_and_code_14() {
    let parsed = read("status_lenient.edxml");
    let k = kinds(&parsed);
    assert!(k.contains(&WarningKind::StatusCode14), "{k:?}");
    assert!(
        k.iter()
            .any(|w| matches!(w, WarningKind::Namespace { namespace, .. } if namespace.is_empty())),
        "{k:?}"
    );
    assert_eq!(
        k.iter()
            .filter(|w| matches!(w, WarningKind::Namespace { .. }))
            .count(),
        1,
        "one namespace warning, not one per element: {k:?}"
    );
    assert!(
        k.iter().any(|w| matches!(
            w,
            WarningKind::DateForm {
                form: DateForm::Unpadded,
                ..
            }
        )),
        "{k:?}"
    );
    assert!(
        k.iter().any(|w| matches!(
            w,
            WarningKind::DateForm {
                form: DateForm::DayFirst,
                ..
            }
        )),
        "{k:?}"
    );
    let Message::Status(s) = parsed.message else {
        panic!("not a status message")
    };
    assert_eq!(s.code, StatusCode::ChangeAccepted);
    assert_eq!(s.staff, None, "an all-empty StaffInfo is absent");
    assert_eq!(
        s.timestamp.map(|t| t.to_string()).as_deref(),
        Some("2015/09/20 11:08:36")
    );
}

/// The official Java library's extensions are read into the model, not skipped: a QLVB that
/// sends them finds them in lienthong's view of its document.
#[test]
fn library_document_keeps_the_six_extension_elements() {
    let parsed = read("document_library.edxml");
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let Message::Document(d) = parsed.message else {
        panic!("not a document")
    };
    let o = d.other_info.as_ref().expect("OtherInfo");
    assert_eq!(o.priority, Some(Priority::Urgent));
    assert_eq!(
        o.reply_fors,
        [
            "000.00.00.G22,2026/10/05,8123/VPCP-TH",
            "000.00.00.G22,2026/10/12,8390/VPCP-TH"
        ]
    );
    assert_eq!(o.reference_codes, ["8123/VPCP-TH", "15/2026/NĐ-CP"]);
    assert_eq!(
        d.response_for_tasks,
        [ResponseForTask {
            task_code: "NV.2026.0412".to_owned()
        }]
    );
    assert_eq!(d.application_type.as_deref(), Some("2"));
    assert_eq!(d.steering_type, Some(3));
    let a = &d.attachments[0];
    assert_eq!(a.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(a.field_name.as_deref(), Some("file"));
    assert_eq!(a.content_type.as_deref(), Some("application/zip"));
    assert_eq!(a.description.as_deref(), Some("Báo cáo (bản ký số)"));
}

/// `&#xD;` and `&#13;` are carriage returns and stay so; a literal line break is a line feed.
#[test]
fn carriage_return_references_stay_carriage_returns() {
    let Message::Document(d) = read("document_library.edxml").message else {
        panic!("not a document")
    };
    assert_eq!(
        d.subject.as_deref(),
        Some("Báo cáo kết quả thực hiện nhiệm vụ Chính phủ giao\r\ntháng 10/2026")
    );
    assert_eq!(
        d.content.as_deref(),
        Some(
            "Kính gửi: Văn phòng Chính phủ.\r\nUBND tỉnh báo cáo như sau:\r\n\
             1. Kết quả & tồn tại <xem phụ lục>;\r\n2. Kiến nghị."
        )
    );
}

/// A file with Windows line ends: its literal CR LF are line feeds, its `&#xD;` carriage
/// returns.
#[test]
fn windows_line_ends_are_line_feeds_but_references_are_kept() {
    let bytes = common::fixture("status_library.edxml");
    assert!(
        bytes.windows(2).any(|w| w == b"\r\n"),
        "the fixture must keep its CR LF line ends (see fixtures/.gitattributes)"
    );
    let parsed = read("status_library.edxml");
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let Message::Status(s) = parsed.message else {
        panic!("not a status message")
    };
    assert_eq!(s.code, StatusCode::Rejected);
    assert_eq!(
        s.description.as_deref(),
        Some("Từ chối tiếp nhận:\r\nthiếu phụ lục số liệu\n(gửi lại kèm phụ lục)")
    );
    assert_eq!(
        s.staff.as_ref().and_then(|x| x.department.as_deref()),
        Some("Vụ Tổng hợp")
    );
}

/// `ReplyFor` and `ReferenceCode` are kept as text; an element inside one, a structure no
/// source describes, is reported rather than dropped without a word.
#[test]
fn an_element_inside_a_text_item_is_reported() {
    let xml = "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><edXMLEnvelope><edXMLHeader>\
        <MessageHeader><From><OrganId>000.00.00.H41</OrganId></From><To><OrganId>000.00.00.G22</OrganId></To>\
        <OtherInfo><ReplyFors><ReplyFor><OrganId>000.00.00.G22</OrganId></ReplyFor></ReplyFors>\
        <ReferenceCodes><ReferenceCode>15/2026/NĐ-CP</ReferenceCode></ReferenceCodes></OtherInfo>\
        </MessageHeader></edXMLHeader></edXMLEnvelope></edXML>";
    let parsed = edxml::read(xml.as_bytes().to_vec()).expect("reads");
    let unknown: Vec<(&str, String)> = parsed
        .warnings
        .iter()
        .filter_map(|w| match &w.kind {
            WarningKind::UnknownElement(n) => Some((w.path.as_str(), n.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        unknown,
        [(
            "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/OtherInfo/ReplyFors/ReplyFor/OrganId",
            "OrganId".to_owned()
        )]
    );
    let Message::Document(d) = parsed.message else {
        panic!("not a document")
    };
    let o = d.other_info.expect("OtherInfo");
    assert!(o.reply_fors.is_empty(), "{:?}", o.reply_fors);
    assert_eq!(o.reference_codes, ["15/2026/NĐ-CP"]);
}
