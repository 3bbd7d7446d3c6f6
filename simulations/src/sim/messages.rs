//! The edXML a simulated QLVB submits: documents of the planned size and statuses that
//! answer them, written with the protocol's own writer.

use lienthong_protocol::edxml::{
    self, Attachment, Base64Content, Document, Message, Organization, OtherInfo, Priority, Status,
    StatusCode,
};

use super::plan::{Plan, PlannedDocument};
use super::scenario::PriorityName;

/// The suffix of every simulated document's `DocumentId`.
const NOTATION: &str = "SIM";

/// The `DocumentId` of planned document `number` from `from`.
pub fn document_id(from: &str, number: u64) -> String {
    format!("{from},2026/11/21,{number}/{NOTATION}")
}

/// The plan number in a simulated `DocumentId`, if it is one.
pub fn number_of(document_id: &str) -> Option<u64> {
    let (_, tail) = document_id.rsplit_once(',')?;
    tail.strip_suffix(NOTATION)?.strip_suffix('/')?.parse().ok()
}

/// The edXML of `doc`, about its planned size.
///
/// # Errors
/// When the writer refuses it (it should not).
pub fn document(plan: &Plan, doc: &PlannedDocument) -> anyhow::Result<Vec<u8>> {
    let from = &plan.sites[doc.from].organ_id;
    let mut document = Document::new(
        Organization::new(from.parse()?),
        doc.to
            .iter()
            .map(|&r| Ok(Organization::new(plan.sites[r].organ_id.parse()?)))
            .collect::<anyhow::Result<_>>()?,
    );
    document.document_id = Some(document_id(from, doc.number));
    document.subject = Some(format!(
        "Văn bản mô phỏng số {} của kịch bản {}",
        doc.number, plan.scenario
    ));
    document.other_info = Some(OtherInfo {
        priority: Some(match doc.priority {
            PriorityName::Normal => Priority::Normal,
            PriorityName::Urgent => Priority::Urgent,
            PriorityName::VeryUrgent => Priority::VeryUrgent,
            PriorityName::Flash => Priority::Flash,
        }),
        ..Default::default()
    });
    // About 1.5 KB of header; base64 grows the attachment by 4/3.
    let size = usize::try_from(doc.size).unwrap_or(usize::MAX);
    let attachment = size.saturating_sub(1500) * 3 / 4;
    if attachment > 0 {
        let mut data = vec![0u8; attachment];
        let mut x = 0x2545_f491_u32 ^ (doc.number as u32);
        for byte in &mut data {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *byte = x as u8;
        }
        document.attachments.push(Attachment {
            content_id: Some(format!("cid:{}", doc.number)),
            attachment_name: Some("van-ban.pdf".to_owned()),
            description: None,
            content_type: Some("application/pdf".to_owned()),
            mime_type: None,
            field_name: None,
            content: Base64Content::encode(&data),
        });
    }
    Ok(edxml::write(&Message::Document(Box::new(document)))?)
}

/// A status from `from` about the document `document_id`, addressed to `to` (the
/// document's sender; for a take-back request 13, its recipient).
///
/// # Errors
/// When the writer refuses it (it should not).
pub fn status(
    from: &str,
    to: &str,
    document_id: &str,
    code: StatusCode,
) -> anyhow::Result<Vec<u8>> {
    let description = match code {
        StatusCode::Rejected => Some("Văn bản không thuộc thẩm quyền xử lý".to_owned()),
        StatusCode::TakeBackRequested => Some("Đề nghị thu hồi để chỉnh sửa".to_owned()),
        _ => None,
    };
    let message = Status::about_document(
        Organization::new(from.parse()?),
        to.parse()?,
        document_id,
        code,
        description,
    );
    Ok(edxml::write(&Message::Status(Box::new(message)))?)
}

/// The status code of a progression step (`"03"` … `"06"`).
pub fn step_code(step: &str) -> StatusCode {
    match step {
        "03" => StatusCode::Accepted,
        "04" => StatusCode::Assigned,
        "05" => StatusCode::Processing,
        _ => StatusCode::Completed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_ids_carry_the_plan_number() {
        let id = document_id("000.00.01.H19", 42);
        assert_eq!(number_of(&id), Some(42));
        assert_eq!(number_of("000.00.01.H19,2015/09/30,7816/VPCP-TTĐT"), None);
    }

    #[test]
    fn statuses_read_back() {
        let bytes = status(
            "000.00.02.H19",
            "000.00.01.H19",
            &document_id("000.00.01.H19", 3),
            StatusCode::Completed,
        )
        .unwrap();
        let read = edxml::read(bytes).unwrap();
        assert_eq!(read.message.document_id().and_then(number_of), Some(3));
    }
}
