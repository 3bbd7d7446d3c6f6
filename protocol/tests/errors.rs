//! Bad input gets a clear error: what was wrong, the element path, and the line and column.

use lienthong_protocol::edxml::{self, Base64Error, ErrorKind, ReadOptions};

const NS: &str = "http://www.mic.gov.vn/TBT/QCVN_102_2016";

/// A minimal document; `header` replaces the MessageHeader's content, `tail` goes after the
/// envelope.
fn document(header: &str, tail: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<edXML xmlns=\"{NS}\">\n<edXMLEnvelope>\n<edXMLHeader>\n<MessageHeader>\n{header}\n</MessageHeader>\n</edXMLHeader>\n</edXMLEnvelope>\n{tail}</edXML>\n"
    )
}

const FROM: &str = "<From><OrganId>000.00.00.H53</OrganId></From>";
const TO: &str = "<To><OrganId>000.00.11.H53</OrganId></To>";

fn status(body: &str) -> String {
    document(
        &format!(
            "{FROM}\n<ResponseFor><OrganId>000.00.00.G22</OrganId>{body}</ResponseFor>\n<StatusCode>03</StatusCode>"
        ),
        "",
    )
}

fn fail(input: impl Into<Vec<u8>>) -> edxml::EdxmlError {
    match edxml::read(input.into()) {
        Ok(parsed) => panic!("accepted: {:?}", parsed.message),
        Err(e) => e,
    }
}

fn line_col(e: &edxml::EdxmlError) -> (u32, u32) {
    let p = e.position.unwrap_or_else(|| panic!("no position in {e}"));
    (p.line, p.column)
}

#[test]
fn minimal_messages_are_accepted() {
    edxml::read(document(&format!("{FROM}{TO}"), "").into_bytes()).expect("minimal document");
    edxml::read(status("<DocumentId>x</DocumentId>").into_bytes()).expect("minimal status");
}

#[test]
fn empty_input() {
    assert_eq!(fail("").kind, ErrorKind::Empty);
    assert_eq!(fail("  \n ").kind, ErrorKind::Empty);
}

#[test]
fn invalid_utf8_names_the_byte() {
    let mut bytes = document(&format!("{FROM}{TO}"), "").into_bytes();
    let at = bytes.iter().position(|b| *b == b'H').expect("an H");
    bytes[at] = 0xFF;
    let e = fail(bytes);
    assert!(
        matches!(&e.kind, ErrorKind::Syntax(m) if m.contains("UTF-8")),
        "{e}"
    );
    // The first H is in <edXMLHeader>, on line 4.
    assert_eq!(line_col(&e), (4, 7));
}

#[test]
fn wrong_root() {
    let e = fail("<html><body/></html>");
    assert_eq!(e.kind, ErrorKind::NotEdxml("html".into()));
    assert_eq!(line_col(&e), (1, 1));
    assert_eq!(e.path, "/html");
}

#[test]
fn doctype_and_entities_are_never_expanded() {
    let laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE edXML [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>\n<edXML>&lol2;</edXML>";
    let e = fail(laughs);
    assert_eq!(e.kind, ErrorKind::Doctype);
    assert_eq!(line_col(&e), (2, 1));

    let e = fail(document(
        &format!("{FROM}{TO}<Subject>a &lol; b</Subject>"),
        "",
    ));
    assert_eq!(e.kind, ErrorKind::UndefinedEntity("lol".into()));
    assert_eq!(
        e.path,
        "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Subject"
    );
    assert_eq!(line_col(&e).0, 6);
}

#[test]
fn limits_are_enforced_before_work_is_done() {
    let input = document(&format!("{FROM}{TO}"), "");
    let small = ReadOptions {
        max_size: 100,
        ..ReadOptions::default()
    };
    let e = edxml::read_with(input.clone().into(), &small).expect_err("too large");
    assert_eq!(
        e.kind,
        ErrorKind::TooLarge {
            size: input.len(),
            limit: 100
        }
    );
    assert_eq!(e.position, None);
    assert!(e.to_string().contains("larger than the limit"), "{e}");

    let deep = format!("<edXML>{}{}</edXML>", "<a>".repeat(40), "</a>".repeat(40));
    let e = fail(deep);
    assert_eq!(e.kind, ErrorKind::TooDeep { limit: 32 });

    let many = format!("<edXML>{}</edXML>", "<a/>".repeat(200));
    let few = ReadOptions {
        max_elements: 100,
        ..ReadOptions::default()
    };
    let e = edxml::read_with(many.into(), &few).expect_err("too many");
    assert_eq!(e.kind, ErrorKind::TooManyElements { limit: 100 });
}

#[test]
fn malformed_xml_points_at_the_problem() {
    let e = fail(document(&format!("{FROM}{TO}<Subject>x</Subjet>"), ""));
    assert!(
        matches!(&e.kind, ErrorKind::Syntax(m) if m.contains("Subjet")),
        "{e}"
    );
    // From (45 characters) and To (41) precede <Subject>x, so </Subjet> starts at column 97.
    assert_eq!(line_col(&e), (6, 97));
    assert!(
        e.to_string().starts_with("6:97: not well-formed XML"),
        "{e}"
    );

    let e = fail("<edXML><edXMLEnvelope>");
    assert!(
        matches!(&e.kind, ErrorKind::Syntax(m) if m.contains("edXMLEnvelope")),
        "{e}"
    );

    let e = fail("<edXML/><edXML/>");
    assert!(
        matches!(&e.kind, ErrorKind::Syntax(m) if m.contains("after the root")),
        "{e}"
    );
}

#[test]
fn required_parts_of_a_document() {
    let e = fail(document(TO, ""));
    assert_eq!(e.kind, ErrorKind::Missing("From"));
    assert_eq!(e.path, "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader");
    assert_eq!(line_col(&e), (5, 1));

    let e = fail(document(FROM, ""));
    assert_eq!(e.kind, ErrorKind::Missing("To"));

    let e = fail(document(
        &format!("<From><OrganName>x</OrganName></From>{TO}"),
        "",
    ));
    assert_eq!(e.kind, ErrorKind::Missing("OrganId"));
    assert_eq!(
        e.path,
        "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From"
    );

    let e = fail(document(&format!("{FROM}{FROM}{TO}"), ""));
    assert_eq!(e.kind, ErrorKind::Duplicate("From"));

    let e = fail(document(
        &format!("{FROM}<To><OrganId>000.00 .11.H53</OrganId></To>"),
        "",
    ));
    assert!(
        matches!(
            e.kind,
            ErrorKind::Invalid {
                element: "OrganId",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.path,
        "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To/OrganId"
    );

    let e = fail(document(
        &format!("{FROM}<To><OrganId>  </OrganId></To>"),
        "",
    ));
    assert_eq!(e.kind, ErrorKind::EmptyRequired("OrganId"));

    let e = fail("<edXML><edXMLEnvelope/></edXML>");
    assert_eq!(e.kind, ErrorKind::Missing("edXMLHeader"));
}

#[test]
fn business_type_outside_0_to_3() {
    let e = fail(document(
        &format!(
            "{FROM}{TO}</MessageHeader><TraceHeaderList><Bussiness><BussinessDocType>5</BussinessDocType></Bussiness></TraceHeaderList><MessageHeader>"
        ),
        "",
    ));
    // The MessageHeader trick above makes two headers; the duplicate is what is reported.
    assert_eq!(e.kind, ErrorKind::Duplicate("MessageHeader"));

    let input = format!(
        "<edXML xmlns=\"{NS}\"><edXMLEnvelope><edXMLHeader><MessageHeader>{FROM}{TO}</MessageHeader>\n<TraceHeaderList><Bussiness><BussinessDocType>5</BussinessDocType></Bussiness></TraceHeaderList></edXMLHeader></edXMLEnvelope></edXML>"
    );
    let e = fail(input);
    assert!(
        matches!(&e.kind, ErrorKind::Invalid { element: "BussinessDocType", value, .. } if value == "5"),
        "{e}"
    );
    assert_eq!(
        e.path,
        "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/Bussiness/BussinessDocType"
    );
    assert_eq!(line_col(&e), (2, 29));
}

#[test]
fn required_parts_of_a_status_message() {
    let e = fail(status("<Code>1/UBND</Code>"));
    assert_eq!(e.kind, ErrorKind::Missing("DocumentId"));
    assert_eq!(
        e.path,
        "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/ResponseFor"
    );

    let bad_code = status("<DocumentId>x</DocumentId>").replace("<StatusCode>03", "<StatusCode>07");
    let e = fail(bad_code);
    assert!(
        matches!(&e.kind, ErrorKind::Invalid { element: "StatusCode", value, .. } if value == "07"),
        "{e}"
    );
    assert!(
        e.to_string().contains("not one of 01-06, 13, 15, 16"),
        "{e}"
    );

    let words = status("<DocumentId>x</DocumentId>").replace("<StatusCode>03", "<StatusCode>done");
    let e = fail(words);
    assert!(
        matches!(
            e.kind,
            ErrorKind::Invalid {
                element: "StatusCode",
                ..
            }
        ),
        "{e}"
    );

    let both = document(&format!("{FROM}{TO}<StatusCode>01</StatusCode>"), "");
    assert_eq!(fail(both).kind, ErrorKind::AmbiguousKind);
}

#[test]
fn attachment_that_is_not_base64_names_the_byte() {
    let tail = "<AttachmentEncoded><Attachment><ContentId>a</ContentId>\n<ContentTransferEncoded>UEsDBBQ${__StringFromFile(test.txt,,,)}</ContentTransferEncoded></Attachment></AttachmentEncoded>\n";
    let e = fail(document(&format!("{FROM}{TO}"), tail));
    assert_eq!(
        e.kind,
        ErrorKind::Attachment(Base64Error::InvalidByte {
            offset: 7,
            byte: b'$'
        })
    );
    assert_eq!(
        e.path,
        "/edXML/AttachmentEncoded/Attachment/ContentTransferEncoded"
    );
    // Line 11, column of the `$`: 24 for the tag + 7 characters of base64 + 1.
    assert_eq!(line_col(&e), (11, 32));

    let empty = "<AttachmentEncoded><Attachment><ContentTransferEncoded> </ContentTransferEncoded></Attachment></AttachmentEncoded>";
    let e = fail(document(&format!("{FROM}{TO}"), empty));
    assert_eq!(e.kind, ErrorKind::EmptyRequired("ContentTransferEncoded"));
}

#[test]
fn never_panics_on_truncations_of_a_real_document() {
    let full = document(
        &format!("{FROM}{TO}<Subject>Tiếng Việt &amp; dấu</Subject>"),
        "<AttachmentEncoded><Attachment><ContentTransferEncoded>aGVsbG8=</ContentTransferEncoded></Attachment></AttachmentEncoded>",
    );
    let bytes = full.as_bytes();
    for end in 0..bytes.len() {
        // Every prefix is either an error with a message, or (never) a success.
        if let Err(e) = edxml::read(bytes[..end].to_vec()) {
            assert!(!e.to_string().is_empty());
        }
    }
}
