//! Documents for the benchmarks, written with the protocol's edXML writer: a real header and
//! an attachment of the wanted size, deterministic content.

use lienthong_protocol::edxml::{
    self, Attachment, Base64Content, Document, Message, Organization, Priority,
};

/// A document from `from` to `to` whose edXML is about `size` bytes; `n` makes each one a
/// distinct document.
pub(super) fn document(from: &str, to: &str, n: usize, size: usize) -> anyhow::Result<Vec<u8>> {
    let mut doc = Document::new(
        Organization::new(from.parse()?),
        vec![Organization::new(to.parse()?)],
    );
    doc.document_id = Some(format!("{from},2026/11/21,{n}/BENCH"));
    doc.subject = Some(format!("Văn bản đo hiệu năng số {n}"));
    doc.other_info = Some(edxml::OtherInfo {
        priority: Some(Priority::Normal),
        ..Default::default()
    });
    // About 1.4 KB of header; base64 grows the attachment by 4/3.
    let attachment = size.saturating_sub(1400) * 3 / 4;
    let mut data = vec![0u8; attachment.max(1)];
    let mut x = 0x2545_f491_u32 ^ (n as u32);
    for byte in &mut data {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *byte = x as u8;
    }
    doc.attachments.push(Attachment {
        content_id: Some(format!("cid:{n}")),
        attachment_name: Some("van-ban.pdf".to_owned()),
        description: None,
        content_type: Some("application/zip".to_owned()),
        mime_type: None,
        field_name: None,
        content: Base64Content::encode(&data),
    });
    Ok(edxml::write(&Message::Document(Box::new(doc)))?)
}
