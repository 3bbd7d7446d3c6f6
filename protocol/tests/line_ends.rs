//! How text reads: literal line breaks follow XML's end-of-line rule (CR LF and a lone CR are
//! LF), while a character reference is the character it names, so `&#xD;` stays a CR; white
//! space around a value is trimmed as layout unless it was written as a reference.

use lienthong_protocol::edxml::{self, Message};

const NS: &str = "http://www.mic.gov.vn/TBT/QCVN_102_2016";

/// The subject a minimal document with `subject` (raw XML) as its `Subject` content reads to.
fn subject(subject: &str) -> Option<String> {
    let xml = format!(
        "<edXML xmlns=\"{NS}\"><edXMLEnvelope><edXMLHeader><MessageHeader>\
         <From><OrganId>000.00.00.H53</OrganId></From><To><OrganId>000.00.11.H53</OrganId></To>\
         <Subject>{subject}</Subject>\
         </MessageHeader></edXMLHeader></edXMLEnvelope></edXML>"
    );
    match edxml::read(xml.into_bytes()).expect("reads").message {
        Message::Document(d) => d.subject,
        Message::Status(_) => panic!("not a document"),
    }
}

#[test]
fn literal_line_breaks_are_line_feeds() {
    assert_eq!(subject("a\r\nb").as_deref(), Some("a\nb"));
    assert_eq!(subject("a\rb").as_deref(), Some("a\nb"));
    assert_eq!(subject("a\r\r\nb\n\rc").as_deref(), Some("a\n\nb\n\nc"));
    // In CDATA too, and in each literal piece around a reference.
    assert_eq!(subject("<![CDATA[a\r\nb]]>").as_deref(), Some("a\nb"));
    assert_eq!(subject("x\r\n&amp;\r\ny").as_deref(), Some("x\n&\ny"));
}

#[test]
fn carriage_return_references_are_carriage_returns() {
    assert_eq!(subject("a&#xD;\nb").as_deref(), Some("a\r\nb"));
    assert_eq!(subject("a&#13;&#10;b").as_deref(), Some("a\r\nb"));
    assert_eq!(subject("a&#xd;b").as_deref(), Some("a\rb"));
    // A reference followed by a literal CR LF: the reference is a CR, the literal pair an LF.
    assert_eq!(subject("a&#xD;\r\nb").as_deref(), Some("a\r\nb"));
}

#[test]
fn layout_around_a_value_is_trimmed_but_references_are_content() {
    assert_eq!(subject("\n    Trích yếu\n  ").as_deref(), Some("Trích yếu"));
    assert_eq!(
        subject("\n  Trích yếu&#xD;\n  ").as_deref(),
        Some("Trích yếu\r")
    );
    assert_eq!(
        subject("  &#x20;Trích yếu&#x9;  ").as_deref(),
        Some(" Trích yếu\t")
    );
    assert_eq!(subject("&#xA;").as_deref(), Some("\n"));
    assert_eq!(
        subject(" \r\n ").as_deref(),
        None,
        "layout only is an empty value"
    );
}

#[test]
fn attachment_content_in_windows_lines_is_read_without_change() {
    let xml = format!(
        "<edXML xmlns=\"{NS}\"><edXMLEnvelope><edXMLHeader><MessageHeader>\
         <From><OrganId>000.00.00.H53</OrganId></From><To><OrganId>000.00.11.H53</OrganId></To>\
         </MessageHeader></edXMLHeader></edXMLEnvelope>\
         <AttachmentEncoded><Attachment><ContentId>a</ContentId>\
         <ContentTransferEncoded>\r\naGVs\r\nbG8=\r\n</ContentTransferEncoded>\
         </Attachment></AttachmentEncoded></edXML>"
    );
    let Message::Document(d) = edxml::read(xml.into_bytes()).expect("reads").message else {
        panic!("not a document")
    };
    assert_eq!(d.attachments[0].content.decode().expect("base64"), b"hello");
}
