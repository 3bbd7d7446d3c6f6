//! Any bytes read as a unit's mail give a mail or an error, never a panic; and every mail
//! read becomes an edXML document that reads back, carrying each non-empty attachment byte
//! for byte.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lienthong_protocol::edxml::{self, Organization};
use lienthong_protocol::{Timestamp, mail};

fuzz_target!(|data: &[u8]| {
    let Ok(incoming) = mail::read_mail(data, 1 << 20) else {
        return;
    };
    let unit = Organization::new("000.01.05.H01".parse().expect("a valid id"));
    let agency = Organization::new("000.00.00.H01".parse().expect("a valid id"));
    let xml = mail::document_from_mail(
        &incoming,
        unit,
        agency,
        Timestamp::from_millis(1_796_692_500_000),
    )
    .expect("every mail read makes a document");
    let parsed = edxml::read(xml).expect("the document reads back");
    let doc = parsed.message.as_document().expect("a document");
    let files = incoming.attachments.iter().filter(|a| !a.bytes.is_empty());
    for (attachment, file) in doc.attachments.iter().zip(files) {
        assert_eq!(
            attachment.content.decode().expect("base64 the writer wrote"),
            file.bytes
        );
    }
});
