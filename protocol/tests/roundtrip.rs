//! The writer is strict and the reader reads back exactly what it wrote: for generated
//! messages (property tests), and for every sample and fixture after one read.

mod common;

use lienthong_protocol::OrganId;
use lienthong_protocol::edxml::{
    self, Attachment, Base64Content, Business, BusinessDocType, BusinessDocumentInfo, Code,
    Document, DocumentType, EdxmlDate, EdxmlDateTime, Message, Organization, OtherInfo, Priority,
    PromulgationInfo, RawSignature, Receiver, ReceiverType, Reference, ReplacementInfo,
    ResponseFor, ResponseForTask, SignerInfo, StaffInfo, Status, StatusCode, TraceHeader,
};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

/// Text as QLVB software writes it: Vietnamese letters, precomposed and decomposed, the
/// characters that need escaping (`<`, `>`, `&`, quotes), characters outside the basic plane,
/// and every kind of line break and white space, also at either end.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵĐ\u{300}\u{301}\u{303}\u{309}\u{323}\u{20000}\u{1F4C4}<>&'\" ./,:;()\r\n\t-]{1,40}"
}

fn organ_id() -> impl Strategy<Value = OrganId> {
    prop_oneof![
        (0u16..1000, 0u8..100, 0u8..100, "[A-K]", 0u8..100)
            .prop_map(|(d, c, b, l, n)| { format!("{d:03}.{c:02}.{b:02}.{l}{n:02}") }),
        (0u8..100).prop_map(|n| format!("vxp.saas.{n:02}")),
        (10u8..99, 10u8..99, 1u8..64).prop_map(|(a, b, h)| format!("{a}.{b}.H{h:02}")),
    ]
    .prop_map(|s| OrganId::parse(&s).expect("generated ids are valid"))
}

fn date() -> impl Strategy<Value = EdxmlDate> {
    (1990u16..2100, 1u8..13, 1u8..29).prop_map(|(y, m, d)| EdxmlDate::new(y, m, d).expect("valid"))
}

fn date_time() -> impl Strategy<Value = EdxmlDateTime> {
    (date(), 0u8..24, 0u8..60, 0u8..60)
        .prop_map(|(d, h, m, s)| EdxmlDateTime::new(d, h, m, s).expect("valid"))
}

prop_compose! {
    fn organization()(
        organ_id in organ_id(),
        parts in vec(of(text()), 7),
    ) -> Organization {
        Organization {
            organ_id,
            organization_in_charge: parts[0].clone(),
            organ_name: parts[1].clone(),
            organ_add: parts[2].clone(),
            email: parts[3].clone(),
            telephone: parts[4].clone(),
            fax: parts[5].clone(),
            website: parts[6].clone(),
        }
    }
}

fn staff() -> impl Strategy<Value = StaffInfo> {
    (of(text()), of(text()), of(text()), text()).prop_map(|(department, staff, email, mobile)| {
        StaffInfo {
            department,
            staff,
            email,
            mobile: Some(mobile),
        }
    })
}

prop_compose! {
    fn response_for()(
        organ_id in organ_id(),
        code in of(text()),
        promulgation_date in of(date()),
        document_id in of(text()),
    ) -> ResponseFor {
        ResponseFor { organ_id, code, promulgation_date, document_id }
    }
}

fn business() -> impl Strategy<Value = Business> {
    (
        0u8..4,
        of(text()),
        of(text()),
        of(0u32..2),
        of((
            of(any::<bool>()),
            of(any::<bool>()),
            vec((organ_id(), any::<bool>()), 0..3),
        )),
        vec((text(), vec(organ_id(), 0..3)), 0..3),
        of(staff()),
    )
        .prop_map(
            |(t, document_id, reason, paper, info, replacements, staff)| Business {
                doc_type: BusinessDocType::from_code(t).expect("0-3"),
                document_id,
                reason,
                paper,
                document_info: info.map(|(document_info_changed, receivers_changed, receivers)| {
                    BusinessDocumentInfo {
                        document_info_changed,
                        receivers_changed,
                        receivers: receivers
                            .into_iter()
                            .map(|(organ_id, added)| Receiver {
                                organ_id,
                                receiver_type: if added {
                                    ReceiverType::Added
                                } else {
                                    ReceiverType::Removed
                                },
                            })
                            .collect(),
                    }
                }),
                replacements: replacements
                    .into_iter()
                    .map(|(document_id, organ_ids)| ReplacementInfo {
                        document_id,
                        organ_ids,
                    })
                    .collect(),
                staff,
            },
        )
}

fn other_info() -> impl Strategy<Value = OtherInfo> {
    (
        0u8..5,
        of(text()),
        of(text()),
        of(0u32..1000),
        of(0u32..1000),
        of(any::<bool>()),
        vec(text(), 0..3),
        vec(text(), 0..3),
        vec(text(), 0..3),
    )
        .prop_map(
            |(
                p,
                sphere,
                typer,
                amount,
                pages,
                direction,
                appendixes,
                reply_fors,
                reference_codes,
            )| {
                OtherInfo {
                    priority: Priority::from_code(p),
                    sphere_of_promulgation: sphere,
                    typer_notation: typer,
                    promulgation_amount: amount,
                    page_amount: pages,
                    direction,
                    appendixes,
                    reply_fors,
                    reference_codes,
                }
            },
        )
}

fn attachment() -> impl Strategy<Value = (Reference, Attachment)> {
    (
        "[a-f0-9]{8}",
        text(),
        of(text()),
        of(text()),
        of(text()),
        vec(any::<u8>(), 1..300),
    )
        .prop_map(|(id, name, description, mime_type, field_name, data)| {
            let content_id = format!("cid:{id}");
            (
                Reference {
                    content_id: Some(content_id.clone()),
                    content_type: Some("application/pdf".to_owned()),
                    description: description.clone(),
                    attachment_name: Some(name.clone()),
                },
                Attachment {
                    content_id: Some(content_id),
                    attachment_name: Some(name),
                    description,
                    content_type: Some("application/zip".to_owned()),
                    mime_type,
                    field_name,
                    content: Base64Content::encode(&data),
                },
            )
        })
}

fn document() -> impl Strategy<Value = Document> {
    let header = (
        organization(),
        vec(organization(), 1..4),
        of(text()),
        of((text(), text())),
        of((of(text()), date())),
        of((of(text()), of(text()), text())),
        of(text()),
        of(text()),
        of((of(text()), of(text()), text())),
        of(date()),
        vec(text(), 0..3),
    );
    let rest = (
        of(other_info()),
        vec(response_for(), 0..3),
        of(0u8..4),
        vec((of(organ_id()), date_time()), 0..3),
        of(business()),
        any::<bool>(),
        vec(attachment(), 0..3),
        vec(text(), 0..3),
        of(text()),
    );
    (header, rest).prop_map(
        |(
            (from, to, document_id, code, promulgation, document_type, subject, content, signer, due_date, to_places),
            (other_info, response_for, steering_type, trace, business, signed, attachments, tasks, application_type),
        )| {
            let mut seen = std::collections::HashSet::new();
            let to = to.into_iter().filter(|o| seen.insert(o.organ_id.clone())).collect();
            let mut d = Document::new(from, to);
            d.document_id = document_id;
            d.code = code.map(|(number, notation)| Code { number, notation });
            d.promulgation = promulgation.map(|(place, date)| PromulgationInfo { place, date: Some(date) });
            d.document_type = document_type.map(|(kind, detail, name)| DocumentType { kind, detail, name: Some(name) });
            d.subject = subject;
            d.content = content;
            d.signer = signer.map(|(competence, position, full_name)| SignerInfo {
                competence,
                position,
                full_name: Some(full_name),
            });
            d.due_date = due_date;
            d.to_places = to_places;
            d.other_info = other_info.filter(|o| *o != OtherInfo::default());
            d.response_for = response_for;
            d.steering_type = steering_type;
            d.response_for_tasks = tasks.into_iter().map(|task_code| ResponseForTask { task_code }).collect();
            d.application_type = application_type;
            d.trace = trace
                .into_iter()
                .map(|(organ_id, timestamp)| TraceHeader { organ_id, timestamp: Some(timestamp) })
                .collect();
            d.business = business;
            d.signature = signed.then(|| {
                RawSignature(bytes::Bytes::from_static(
                    b"<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignatureValue>c2lnbmF0dXJl</SignatureValue></Signature>",
                ))
            });
            let (references, attachments): (Vec<_>, Vec<_>) = attachments.into_iter().unzip();
            d.references = references;
            d.attachments = attachments;
            d
        },
    )
}

fn status() -> impl Strategy<Value = Status> {
    (
        organization(),
        response_for(),
        text(),
        of(staff()),
        0usize..9,
        of(text()),
        of(date_time()),
    )
        .prop_map(
            |(from, mut response_for, document_id, staff, code, description, timestamp)| {
                response_for.document_id = Some(document_id);
                Status {
                    from,
                    response_for,
                    staff,
                    code: StatusCode::ALL[code],
                    description,
                    timestamp,
                }
            },
        )
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        document().prop_map(|d| Message::Document(Box::new(d))),
        status().prop_map(|s| Message::Status(Box::new(s))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn what_the_writer_writes_the_reader_reads_back_equal(message in message()) {
        let bytes = edxml::write(&message).expect("the writer accepts generated messages");
        let parsed = edxml::read(bytes.clone()).map_err(|e| {
            TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&bytes)))
        })?;
        prop_assert!(
            parsed.warnings.iter().all(|w| matches!(w.kind, edxml::WarningKind::MissingRecommended(_))),
            "the writer's output needs no leniency: {:?}", parsed.warnings
        );
        prop_assert_eq!(parsed.message, message);
    }

    /// Every carriage return a message holds is written as `&#xD;`, so a file saved with
    /// Windows line ends (every literal LF now CR LF) still reads to the same message.
    #[test]
    fn the_writers_output_survives_windows_line_ends(message in message()) {
        let bytes = edxml::write(&message).expect("writes");
        prop_assert!(!bytes.contains(&b'\r'), "no literal carriage return");
        let mut windows = Vec::with_capacity(bytes.len() + bytes.len() / 16);
        for &b in &bytes {
            if b == b'\n' {
                windows.push(b'\r');
            }
            windows.push(b);
        }
        let parsed = edxml::read(windows).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parsed.message, message);
    }

    #[test]
    fn the_reader_never_panics_on_mutated_documents(
        message in message(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = edxml::write(&message).expect("writes");
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        // Any outcome but a panic is acceptable; errors must say something.
        if let Err(e) = edxml::read(bytes) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}

#[test]
fn writer_refuses_what_would_not_read_back_equal() {
    let id = |s: &str| OrganId::parse(s).expect("id");
    let mut d = Document::new(Organization::new(id("000.00.00.H53")), vec![]);
    let e = edxml::write(&Message::Document(Box::new(d.clone()))).expect_err("no recipients");
    assert!(e.to_string().contains("at least one recipient"), "{e}");

    d.to = vec![
        Organization::new(id("000.00.11.H53")),
        Organization::new(id("000.00.11.H53")),
    ];
    let e = edxml::write(&Message::Document(Box::new(d.clone()))).expect_err("duplicate");
    assert!(e.to_string().contains("listed twice"), "{e}");

    d.to.pop();
    d.subject = Some(String::new());
    let e = edxml::write(&Message::Document(Box::new(d.clone()))).expect_err("empty");
    assert_eq!(
        e.path,
        "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Subject"
    );
    assert!(e.to_string().contains("empty text"), "{e}");

    d.subject = Some("bell \u{7}".to_owned());
    assert!(edxml::write(&Message::Document(Box::new(d.clone()))).is_err());

    d.subject = None;
    d.other_info = Some(OtherInfo::default());
    assert!(edxml::write(&Message::Document(Box::new(d))).is_err());
}

/// What the reader keeps (carriage returns, white space at the ends) the writer writes as
/// references, so it survives this reader and any other.
#[test]
fn carriage_returns_and_edge_space_are_written_as_references() {
    let id = |s: &str| OrganId::parse(s).expect("id");
    let mut d = Document::new(
        Organization::new(id("000.00.00.H53")),
        vec![Organization::new(id("000.00.11.H53"))],
    );
    d.subject = Some("Dòng một\r\nDòng hai\rDòng ba".to_owned());
    d.content = Some(" thụt lề\t\n".to_owned());
    let message = Message::Document(Box::new(d));
    let written = edxml::write(&message).expect("writes");
    let xml = String::from_utf8(written.clone()).expect("utf-8");
    assert!(
        xml.contains("<edXML:Subject>Dòng một&#xD;\nDòng hai&#xD;Dòng ba</edXML:Subject>"),
        "{xml}"
    );
    assert!(
        xml.contains("<edXML:Content>&#x20;thụt lề&#x9;&#xA;</edXML:Content>"),
        "{xml}"
    );
    assert!(!xml.contains('\r'), "no literal carriage return: {xml}");
    assert_eq!(edxml::read(written).expect("reads").message, message);
}

/// Every real sample and every fixture: read, write, read again gives the same message,
/// and the rewritten file needs no leniency.
#[test]
fn samples_and_fixtures_survive_a_rewrite() {
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in std::fs::read_dir(common::samples_dir()).expect("samples") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "edxml") && !path.ends_with("edoc.edxml") {
            inputs.push((
                path.display().to_string(),
                std::fs::read(&path).expect("read"),
            ));
        }
    }
    for name in [
        "document_full.edxml",
        "document_library.edxml",
        "status_library.edxml",
        "document_replace.edxml",
        "document_lenient.edxml",
        "status_full.edxml",
        "status_lenient.edxml",
    ] {
        inputs.push((name.to_owned(), common::fixture(name)));
    }
    assert!(inputs.len() >= 20);
    for (name, bytes) in inputs {
        let first = edxml::read(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let written = edxml::write(&first.message).unwrap_or_else(|e| panic!("{name}: {e}"));
        let second = edxml::read(written).unwrap_or_else(|e| panic!("{name} rewritten: {e}"));
        assert_eq!(second.message, first.message, "{name}");
        assert!(
            second
                .warnings
                .iter()
                .all(|w| matches!(w.kind, edxml::WarningKind::MissingRecommended(_))),
            "{name}: {:?}",
            second.warnings
        );
    }
}
