//! The edXML the demo's QLVBs submit, written with the protocol's own writer: công văn with
//! a số/ký hiệu, a trích yếu, a signer and the letter as an attachment; and the statuses
//! that answer them.

use lienthong_protocol::edxml::{
    self, Attachment, Base64Content, Code, Document, DocumentType, EdxmlDate, Message,
    Organization, OtherInfo, Priority, PromulgationInfo, SignerInfo, Status, StatusCode,
};

use super::sites::Site;

/// One document to write.
#[derive(Debug, Clone)]
pub struct Letter<'a> {
    /// The sender.
    pub from: &'a Site,
    /// The recipients.
    pub to: Vec<&'a Site>,
    /// Its số.
    pub number: u32,
    /// Its trích yếu.
    pub subject: &'a str,
    /// Its độ khẩn.
    pub priority: Priority,
    /// Its date of issue.
    pub date: EdxmlDate,
}

impl Letter<'_> {
    /// Its `DocumentId`: `OrganId,yyyy/MM/dd,số/ký hiệu`, the form the axis SDK uses.
    pub fn document_id(&self) -> String {
        format!(
            "{},{},{}/{}",
            self.from.organ_id, self.date, self.number, self.from.notation
        )
    }

    /// The edXML.
    ///
    /// # Errors
    /// When an agency id does not parse or the writer refuses the message (neither should).
    pub fn edxml(&self) -> anyhow::Result<Vec<u8>> {
        let mut document = Document::new(
            organization(self.from)?,
            self.to
                .iter()
                .map(|s| organization(s))
                .collect::<anyhow::Result<_>>()?,
        );
        document.document_id = Some(self.document_id());
        document.code = Some(Code {
            number: self.number.to_string(),
            notation: self.from.notation.to_owned(),
        });
        document.promulgation = Some(PromulgationInfo {
            place: Some("Đồng Nai".to_owned()),
            date: Some(self.date),
        });
        document.document_type = Some(DocumentType {
            kind: Some("1".to_owned()),
            detail: Some("0".to_owned()),
            name: Some("Công văn".to_owned()),
        });
        document.subject = Some(self.subject.to_owned());
        let (competence, position) = self.from.signer;
        document.signer = Some(SignerInfo {
            competence: (!competence.is_empty()).then(|| competence.to_owned()),
            position: Some(position.to_owned()),
            full_name: None,
        });
        document.to_places = self
            .to
            .iter()
            .map(|s| s.name.to_owned())
            .chain(["Lưu: VT".to_owned()])
            .collect();
        document.other_info = Some(OtherInfo {
            priority: Some(self.priority),
            ..Default::default()
        });
        document.attachments.push(Attachment {
            content_id: Some(format!("cid:{}", self.number)),
            attachment_name: Some(format!("{}-{}.txt", self.number, self.from.notation)),
            description: Some(self.subject.to_owned()),
            content_type: Some("text/plain".to_owned()),
            mime_type: None,
            field_name: None,
            content: Base64Content::encode(self.text().as_bytes()),
        });
        Ok(edxml::write(&Message::Document(Box::new(document)))?)
    }

    /// The letter itself, as the attachment carries it.
    fn text(&self) -> String {
        let to: Vec<&str> = self.to.iter().map(|s| s.name).collect();
        format!(
            "{}\nSố: {}/{}\nĐồng Nai, ngày {:02} tháng {:02} năm {}\n\n{}\n\nKính gửi: {}.\n\n{} kính đề nghị các đơn vị phối hợp thực hiện./.\n",
            self.from.name.to_uppercase(),
            self.number,
            self.from.notation,
            self.date.day(),
            self.date.month(),
            self.date.year(),
            self.subject,
            to.join("; "),
            self.from.name,
        )
    }
}

/// A status from `from` about the document `document_id`, addressed to `to` (the
/// document's sender; for a take-back request 13, its recipient).
///
/// # Errors
/// When an agency id does not parse or the writer refuses the message (neither should).
pub fn status(
    from: &Site,
    to: &str,
    document_id: &str,
    code: StatusCode,
) -> anyhow::Result<Vec<u8>> {
    let description = match code {
        StatusCode::Rejected => {
            Some("Văn bản không thuộc thẩm quyền giải quyết của đơn vị".to_owned())
        }
        StatusCode::TakeBackRequested => {
            Some("Đề nghị thu hồi văn bản để chỉnh sửa nội dung".to_owned())
        }
        StatusCode::ChangeAccepted => Some("Đồng ý thu hồi văn bản".to_owned()),
        _ => None,
    };
    let message = Status::about_document(
        organization(from)?,
        to.parse()?,
        document_id,
        code,
        description,
    );
    Ok(edxml::write(&Message::Status(Box::new(message)))?)
}

fn organization(site: &Site) -> anyhow::Result<Organization> {
    let mut organization = Organization::new(site.organ_id.parse()?);
    organization.organ_name = Some(site.name.to_owned());
    Ok(organization)
}

/// Today's date (UTC), for the documents' date of issue.
///
/// # Errors
/// When the clock says something that is no date (it should not).
pub fn today() -> anyhow::Result<EdxmlDate> {
    let now = crate::clock::now().to_string();
    let (date, _) = EdxmlDate::parse_lenient(now.get(..10).unwrap_or_default())
        .ok_or_else(|| anyhow::anyhow!("{now} has no date"))?;
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::super::sites::SITES;
    use super::*;

    #[test]
    fn letters_and_statuses_read_back() {
        let letter = Letter {
            from: &SITES[2],
            to: vec![&SITES[1], &SITES[6]],
            number: 125,
            subject: super::super::sites::SUBJECTS[0],
            priority: Priority::Urgent,
            date: EdxmlDate::new(2018, 1, 22).unwrap(),
        };
        let read = edxml::read(letter.edxml().unwrap()).unwrap();
        assert_eq!(
            read.message.document_id(),
            Some("000.00.08.H19,2018/01/22,125/SKH-CN-PTPM")
        );
        let Message::Document(document) = &read.message else {
            panic!("not a document");
        };
        assert_eq!(document.to.len(), 2);
        assert_eq!(document.priority(), Priority::Urgent);
        let bytes = status(
            &SITES[1],
            SITES[2].organ_id,
            &letter.document_id(),
            StatusCode::Accepted,
        )
        .unwrap();
        let read = edxml::read(bytes).unwrap();
        assert_eq!(
            read.message.document_id(),
            Some(letter.document_id().as_str())
        );
    }
}
