//! The strict edXML writer.
//!
//! It writes the layout of the national axis SDK (root in the default namespace, header
//! elements with the `edXML:` prefix, attachments outside the envelope) so that any QLVB
//! software that reads axis files reads ours. It refuses values the reader would not read
//! back equal (empty text, characters XML cannot carry, empty blocks, a status without a
//! document id), so that `read(write(m)) == m` holds for everything it accepts.
//!
//! Text is written so that any XML reader gives back the same characters: a carriage return
//! as `&#xD;` (XML reads a literal one as a line feed), as the official Java library writes
//! it, and white space at either end of a value as references (readers trim literal white
//! space there as layout).

use std::borrow::Cow;
use std::fmt::Write as _;

use super::model::{
    Attachment, Business, Document, Message, Organization, ResponseFor, StaffInfo, Status,
};
use super::reader::QCVN_NAMESPACE;

/// Why a message cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot write {path}: {reason}")]
pub struct WriteError {
    /// The element's path, as the reader names it (`/edXML/edXMLEnvelope/...`).
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Writes a message as edXML.
///
/// # Errors
/// [`WriteError`] when a value could not be read back equal: an empty text, a control
/// character, an empty block, a document without recipients or with a
/// recipient twice, a status message without `ResponseFor/DocumentId`.
pub fn write(message: &Message) -> Result<Vec<u8>, WriteError> {
    let mut w = Writer {
        out: String::with_capacity(4096 + attachments_len(message)),
        depth: 0,
        path: vec!["edXML", "edXMLEnvelope"],
    };
    w.out
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = write!(w.out, "<edXML xmlns=\"{QCVN_NAMESPACE}\">");
    w.depth = 1;
    w.newline();
    let _ = write!(
        w.out,
        "<edXML:edXMLEnvelope xmlns:edXML=\"{QCVN_NAMESPACE}\">"
    );
    w.depth = 2;
    w.open("edXMLHeader")?;
    match message {
        Message::Document(doc) => w.document(doc)?,
        Message::Status(status) => w.status(status)?,
    }
    w.close("edXMLHeader");
    if let Message::Document(doc) = message
        && !doc.references.is_empty()
    {
        w.open("edXMLBody")?;
        w.newline();
        w.out.push_str("<edXML:edXMLManifest version=\"1.0\">");
        w.depth += 1;
        w.path.push("edXMLManifest");
        for r in &doc.references {
            w.open("Reference")?;
            w.opt("ContentId", r.content_id.as_deref())?;
            w.opt("ContentType", r.content_type.as_deref())?;
            w.opt("Description", r.description.as_deref())?;
            w.opt("AttachmentName", r.attachment_name.as_deref())?;
            w.close("Reference");
        }
        w.close("edXMLManifest");
        w.close("edXMLBody");
    }
    w.depth = 1;
    w.newline();
    w.out.push_str("</edXML:edXMLEnvelope>");
    if let Message::Document(doc) = message
        && !doc.attachments.is_empty()
    {
        w.attachments(&doc.attachments)?;
    }
    w.out.push_str("\n</edXML>\n");
    Ok(w.out.into_bytes())
}

fn attachments_len(message: &Message) -> usize {
    match message {
        Message::Document(doc) => doc
            .attachments
            .iter()
            .map(|a| a.content.encoded().len() + 512)
            .sum(),
        Message::Status(_) => 0,
    }
}

struct Writer {
    out: String,
    depth: usize,
    path: Vec<&'static str>,
}

impl Writer {
    fn newline(&mut self) {
        self.out.push('\n');
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn open(&mut self, name: &'static str) -> Result<(), WriteError> {
        self.newline();
        let _ = write!(self.out, "<edXML:{name}>");
        self.depth += 1;
        self.path.push(name);
        Ok(())
    }

    fn close(&mut self, name: &'static str) {
        self.depth -= 1;
        self.newline();
        let _ = write!(self.out, "</edXML:{name}>");
        self.path.pop();
    }

    fn fail(&self, name: &str, reason: impl Into<String>) -> WriteError {
        let mut path = String::new();
        for part in self
            .path
            .iter()
            .copied()
            .chain(Some(name).filter(|n| !n.is_empty()))
        {
            path.push('/');
            path.push_str(part);
        }
        WriteError {
            path,
            reason: reason.into(),
        }
    }

    /// A required text element.
    fn text(&mut self, name: &'static str, value: &str) -> Result<(), WriteError> {
        check_text(value).map_err(|reason| self.fail(name, reason))?;
        self.newline();
        let _ = write!(
            self.out,
            "<edXML:{name}>{}</edXML:{name}>",
            escape_text(value)
        );
        Ok(())
    }

    /// An optional text element: written only when present.
    fn opt(&mut self, name: &'static str, value: Option<&str>) -> Result<(), WriteError> {
        match value {
            Some(v) => self.text(name, v),
            None => Ok(()),
        }
    }

    fn opt_display(
        &mut self,
        name: &'static str,
        value: Option<impl ToString>,
    ) -> Result<(), WriteError> {
        match value {
            Some(v) => self.text(name, &v.to_string()),
            None => Ok(()),
        }
    }

    /// A list block, written only when it has items.
    fn list(
        &mut self,
        name: &'static str,
        item: &'static str,
        items: &[String],
    ) -> Result<(), WriteError> {
        if items.is_empty() {
            return Ok(());
        }
        self.open(name)?;
        for value in items {
            self.text(item, value)?;
        }
        self.close(name);
        Ok(())
    }

    fn organization(&mut self, name: &'static str, org: &Organization) -> Result<(), WriteError> {
        self.open(name)?;
        self.text("OrganId", org.organ_id.as_str())?;
        self.opt(
            "OrganizationInCharge",
            org.organization_in_charge.as_deref(),
        )?;
        self.opt("OrganName", org.organ_name.as_deref())?;
        self.opt("OrganAdd", org.organ_add.as_deref())?;
        self.opt("Email", org.email.as_deref())?;
        self.opt("Telephone", org.telephone.as_deref())?;
        self.opt("Fax", org.fax.as_deref())?;
        self.opt("Website", org.website.as_deref())?;
        self.close(name);
        Ok(())
    }

    fn staff(&mut self, staff: &StaffInfo) -> Result<(), WriteError> {
        if staff.is_empty() {
            return Err(self.fail("StaffInfo", "every part is empty; leave StaffInfo out"));
        }
        self.open("StaffInfo")?;
        self.opt("Department", staff.department.as_deref())?;
        self.opt("Staff", staff.staff.as_deref())?;
        self.opt("Email", staff.email.as_deref())?;
        self.opt("Mobile", staff.mobile.as_deref())?;
        self.close("StaffInfo");
        Ok(())
    }

    fn response_for(&mut self, rf: &ResponseFor) -> Result<(), WriteError> {
        self.open("ResponseFor")?;
        self.text("OrganId", rf.organ_id.as_str())?;
        self.opt("Code", rf.code.as_deref())?;
        self.opt_display("PromulgationDate", rf.promulgation_date)?;
        self.opt("DocumentId", rf.document_id.as_deref())?;
        self.close("ResponseFor");
        Ok(())
    }

    fn document(&mut self, doc: &Document) -> Result<(), WriteError> {
        self.open("MessageHeader")?;
        self.organization("From", &doc.from)?;
        if doc.to.is_empty() {
            return Err(self.fail("To", "a document needs at least one recipient"));
        }
        let mut seen = std::collections::HashSet::new();
        for to in &doc.to {
            if !seen.insert(&to.organ_id) {
                return Err(self.fail("To", format!("recipient {} is listed twice", to.organ_id)));
            }
            self.organization("To", to)?;
        }
        self.opt("DocumentId", doc.document_id.as_deref())?;
        if let Some(code) = &doc.code {
            self.open("Code")?;
            self.text("CodeNumber", &code.number)?;
            self.text("CodeNotation", &code.notation)?;
            self.close("Code");
        }
        if let Some(p) = &doc.promulgation {
            if p.place.is_none() && p.date.is_none() {
                return Err(self.fail("PromulgationInfo", "empty block; leave it out"));
            }
            self.open("PromulgationInfo")?;
            self.opt("Place", p.place.as_deref())?;
            self.opt_display("PromulgationDate", p.date)?;
            self.close("PromulgationInfo");
        }
        if let Some(t) = &doc.document_type {
            if t.kind.is_none() && t.detail.is_none() && t.name.is_none() {
                return Err(self.fail("DocumentType", "empty block; leave it out"));
            }
            self.open("DocumentType")?;
            self.opt("Type", t.kind.as_deref())?;
            self.opt("TypeDetail", t.detail.as_deref())?;
            self.opt("TypeName", t.name.as_deref())?;
            self.close("DocumentType");
        }
        self.opt("Subject", doc.subject.as_deref())?;
        self.opt("Content", doc.content.as_deref())?;
        if let Some(s) = &doc.signer {
            if s.competence.is_none() && s.position.is_none() && s.full_name.is_none() {
                return Err(self.fail("SignerInfo", "empty block; leave it out"));
            }
            self.open("SignerInfo")?;
            self.opt("Competence", s.competence.as_deref())?;
            self.opt("Position", s.position.as_deref())?;
            self.opt("FullName", s.full_name.as_deref())?;
            self.close("SignerInfo");
        }
        self.opt_display("DueDate", doc.due_date)?;
        self.list("ToPlaces", "Place", &doc.to_places)?;
        if let Some(o) = &doc.other_info {
            if *o == super::model::OtherInfo::default() {
                return Err(self.fail("OtherInfo", "empty block; leave it out"));
            }
            self.open("OtherInfo")?;
            self.opt_display("Priority", o.priority.map(|p| p.code()))?;
            self.opt("SphereOfPromulgation", o.sphere_of_promulgation.as_deref())?;
            self.opt("TyperNotation", o.typer_notation.as_deref())?;
            self.opt_display("PromulgationAmount", o.promulgation_amount)?;
            self.opt_display("PageAmount", o.page_amount)?;
            self.opt_display("Direction", o.direction)?;
            self.list("Appendixes", "Appendix", &o.appendixes)?;
            self.list("ReplyFors", "ReplyFor", &o.reply_fors)?;
            self.list("ReferenceCodes", "ReferenceCode", &o.reference_codes)?;
            self.close("OtherInfo");
        }
        for rf in &doc.response_for {
            self.response_for(rf)?;
        }
        self.opt_display("SteeringType", doc.steering_type)?;
        for task in &doc.response_for_tasks {
            self.open("ResponseForTask")?;
            self.text("TaskCode", &task.task_code)?;
            self.close("ResponseForTask");
        }
        self.opt("ApplicationType", doc.application_type.as_deref())?;
        self.close("MessageHeader");

        if !doc.trace.is_empty() || doc.business.is_some() {
            self.open("TraceHeaderList")?;
            for hop in &doc.trace {
                if hop.organ_id.is_none() && hop.timestamp.is_none() {
                    return Err(self.fail("TraceHeader", "empty block; leave it out"));
                }
                self.open("TraceHeader")?;
                self.opt("OrganId", hop.organ_id.as_ref().map(|o| o.as_str()))?;
                self.opt_display("Timestamp", hop.timestamp)?;
                self.close("TraceHeader");
            }
            if let Some(b) = &doc.business {
                self.business(b)?;
            }
            self.close("TraceHeaderList");
        }
        if let Some(signature) = &doc.signature {
            let Ok(text) = std::str::from_utf8(signature.as_bytes()) else {
                return Err(self.fail("Signature", "the signature bytes are not UTF-8"));
            };
            if !text.starts_with('<') || !text.ends_with('>') {
                return Err(self.fail("Signature", "the signature bytes are not one element"));
            }
            self.newline();
            self.out.push_str(text);
        }
        Ok(())
    }

    fn business(&mut self, b: &Business) -> Result<(), WriteError> {
        self.open("Bussiness")?;
        self.opt("DocumentId", b.document_id.as_deref())?;
        self.text("BussinessDocType", &b.doc_type.code().to_string())?;
        self.opt("BussinessDocReason", b.reason.as_deref())?;
        self.opt_display("Paper", b.paper)?;
        if let Some(info) = &b.document_info {
            self.open("BussinessDocumentInfo")?;
            self.opt_display("DocumentInfo", info.document_info_changed.map(u8::from))?;
            self.opt_display("DocumentReceiver", info.receivers_changed.map(u8::from))?;
            if !info.receivers.is_empty() {
                self.open("ReceiverList")?;
                for r in &info.receivers {
                    self.open("Receiver")?;
                    self.text("OrganId", r.organ_id.as_str())?;
                    let kind = match r.receiver_type {
                        super::model::ReceiverType::Removed => "0",
                        super::model::ReceiverType::Added => "1",
                    };
                    self.text("ReceiverType", kind)?;
                    self.close("Receiver");
                }
                self.close("ReceiverList");
            }
            self.close("BussinessDocumentInfo");
        }
        if !b.replacements.is_empty() {
            self.open("ReplacementInfoList")?;
            for r in &b.replacements {
                self.open("ReplacementInfo")?;
                self.text("DocumentId", &r.document_id)?;
                self.open("OrganIdList")?;
                for id in &r.organ_ids {
                    self.text("OrganId", id.as_str())?;
                }
                self.close("OrganIdList");
                self.close("ReplacementInfo");
            }
            self.close("ReplacementInfoList");
        }
        if let Some(staff) = &b.staff {
            self.staff(staff)?;
        }
        self.close("Bussiness");
        Ok(())
    }

    fn status(&mut self, s: &Status) -> Result<(), WriteError> {
        self.open("MessageHeader")?;
        self.organization("From", &s.from)?;
        if s.response_for.document_id.is_none() {
            return Err(self.fail(
                "ResponseFor/DocumentId",
                "a status message must name its document",
            ));
        }
        self.response_for(&s.response_for)?;
        if let Some(staff) = &s.staff {
            self.staff(staff)?;
        }
        self.text("StatusCode", s.code.as_str())?;
        self.opt("Description", s.description.as_deref())?;
        self.opt_display("Timestamp", s.timestamp)?;
        self.close("MessageHeader");
        Ok(())
    }

    /// `AttachmentEncoded`, outside the envelope and unprefixed, as the axis SDK writes it.
    fn attachments(&mut self, attachments: &[Attachment]) -> Result<(), WriteError> {
        self.path = vec!["edXML", "AttachmentEncoded", "Attachment"];
        self.out.push_str("\n  <AttachmentEncoded>");
        for a in attachments {
            self.out.push_str("\n    <Attachment>");
            for (name, value) in [
                ("ContentId", &a.content_id),
                ("AttachmentName", &a.attachment_name),
                ("Description", &a.description),
                ("ContentType", &a.content_type),
                ("MimeType", &a.mime_type),
                ("FieldName", &a.field_name),
            ] {
                if let Some(v) = value {
                    check_text(v).map_err(|reason| self.fail(name, reason))?;
                    let _ = write!(
                        self.out,
                        "\n      <{name}>{}</{name}>",
                        escape_text(v.as_str())
                    );
                }
            }
            let Ok(encoded) = std::str::from_utf8(a.content.encoded()) else {
                return Err(self.fail("ContentTransferEncoded", "content is not base64 text"));
            };
            if encoded.trim().is_empty() {
                return Err(self.fail("ContentTransferEncoded", "an attachment needs content"));
            }
            let _ = write!(
                self.out,
                "\n      <edXML:ContentTransferEncoded xmlns:edXML=\"{QCVN_NAMESPACE}\">{encoded}</edXML:ContentTransferEncoded>"
            );
            self.out.push_str("\n    </Attachment>");
        }
        self.out.push_str("\n  </AttachmentEncoded>");
        Ok(())
    }
}

/// What the reader would not give back unchanged: empty text (read as absent), and
/// characters XML 1.0 cannot carry (control characters other than tab, line feed and carriage
/// return; U+FFFE and U+FFFF).
fn check_text(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("empty text; leave the element out".to_owned());
    }
    if let Some(c) = value.chars().find(|c| {
        (c.is_control() && !matches!(*c, '\n' | '\t' | '\r'))
            || matches!(*c, '\u{FFFE}' | '\u{FFFF}')
    }) {
        return Err(format!(
            "text holds the character {c:?}, which XML cannot carry"
        ));
    }
    Ok(())
}

/// Element text as XML: `&`, `<` and `>` as entities, every carriage return as `&#xD;`, and
/// white space at either end as character references, so that a reader that normalises line
/// ends and trims values still gives back every character.
fn escape_text(value: &str) -> Cow<'_, str> {
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let lead = value.len() - value.trim_start_matches(is_space).len();
    let trail = value.trim_end_matches(is_space).len().max(lead);
    let plain = lead == 0 && trail == value.len() && !value.contains(['&', '<', '>', '\r']);
    if plain {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 16);
    for (i, c) in value.char_indices() {
        let edge = i < lead || i >= trail;
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            '\n' if edge => out.push_str("&#xA;"),
            '\t' if edge => out.push_str("&#x9;"),
            ' ' if edge => out.push_str("&#x20;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape_text;

    #[test]
    fn carriage_returns_and_edge_space_become_references() {
        assert_eq!(escape_text("Hà Nội"), "Hà Nội");
        assert_eq!(escape_text("a\r\nb"), "a&#xD;\nb");
        assert_eq!(escape_text(" a b\n"), "&#x20;a b&#xA;");
        assert_eq!(escape_text("\t\r"), "&#x9;&#xD;");
        assert_eq!(escape_text("<&>"), "&lt;&amp;&gt;");
    }
}
