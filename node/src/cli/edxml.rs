//! `lienthong edxml …`: edXML files offline. `check` reads files the way the node will and
//! says what each holds, or what is wrong and where; `write` builds a file from a JSON
//! description with the strict writer, so scripts and tests need not write XML by hand.
//! Both speak the same JSON (`description`), so a file checked, edited and written again
//! changes only where it was edited.

mod build;
mod check;
mod describe;
mod description;
mod write;

use std::process::ExitCode;

use clap::Subcommand;

/// `lienthong edxml …`
#[derive(Debug, Subcommand)]
pub(crate) enum EdxmlCommand {
    /// Check edXML files: a one-line summary per file, or the error with line:column.
    /// Exits with 1 when any file is not valid.
    #[command(after_long_help = JSON_HELP)]
    Check(check::CheckArgs),
    /// Write an edXML document or status message from its JSON description (the names
    /// `edxml check --json` prints), with the strict writer.
    #[command(after_long_help = JSON_HELP)]
    Write(write::WriteArgs),
}

pub(crate) fn run(command: EdxmlCommand) -> anyhow::Result<ExitCode> {
    match command {
        EdxmlCommand::Check(args) => check::run(&args),
        EdxmlCommand::Write(args) => write::run(&args),
    }
}

/// The JSON names, for `--help`. docs/edxml-cli.md has the same table with examples.
const JSON_HELP: &str = "\
THE JSON DESCRIPTION (printed by `edxml check --json`, read by `edxml write`)

One object per message. Values are as on the wire, except dates: YYYY-MM-DD, and
YYYY-MM-DDTHH:MM:SS for timestamps (local time: edXML has no zone). The summary keys are
always printed; any other key only when the message has that value. Objects inside
lists have all their keys, null when absent.

Summary
  kind                      \"edoc\" (document) or \"status\"
  from                      From/OrganId
  to                        [To/OrganId]; status: [ResponseFor/OrganId]
  document_id               DocumentId; status: ResponseFor/DocumentId
  business_doc_type         Bussiness/BussinessDocType 0-3 (0 when absent); status: null
  status_code               StatusCode, \"01\"..\"16\"; documents: null
  attachments               how many attachments
  attachments_bytes         their total size, decoded

Both kinds
  from_organization         From: {organ_id, organization_in_charge, organ_name,
                            organ_add, email, telephone, fax, website}
  response_for              [ResponseFor: {organ_id, code, promulgation_date,
                            document_id}]; exactly one in a status message

Documents
  to_organizations          [To], keys as from_organization
  code_number               Code/CodeNumber
  code_notation             Code/CodeNotation
  promulgation_place        PromulgationInfo/Place
  promulgation_date         PromulgationInfo/PromulgationDate
  document_type             DocumentType/Type
  document_type_detail      DocumentType/TypeDetail
  document_type_name        DocumentType/TypeName
  subject                   Subject
  content                   Content
  signer_competence         SignerInfo/Competence
  signer_position           SignerInfo/Position
  signer_full_name          SignerInfo/FullName
  due_date                  DueDate
  to_places                 [ToPlaces/Place]
  priority                  OtherInfo/Priority, 0-4
  sphere_of_promulgation    OtherInfo/SphereOfPromulgation
  typer_notation            OtherInfo/TyperNotation
  promulgation_amount       OtherInfo/PromulgationAmount
  page_amount               OtherInfo/PageAmount
  direction                 OtherInfo/Direction, true or false
  appendixes                [OtherInfo/Appendixes/Appendix]
  reply_fors                [OtherInfo/ReplyFors/ReplyFor], each item's text
  reference_codes           [OtherInfo/ReferenceCodes/ReferenceCode], each item's text
  steering_type             SteeringType
  response_for_tasks        [ResponseForTask: {task_code}] (TaskCode)
  application_type          ApplicationType
  trace                     [TraceHeader: {organ_id, timestamp}]
  business_document_id      Bussiness/DocumentId
  business_reason           Bussiness/BussinessDocReason
  business_paper            Bussiness/Paper
  business_document_info_changed   BussinessDocumentInfo/DocumentInfo, true or false
  business_receivers_changed       BussinessDocumentInfo/DocumentReceiver, true or false
  business_receivers        [Receiver: {organ_id, receiver_type 0 removed, 1 added}]
  business_replacements     [ReplacementInfo: {document_id, organ_ids}]
  business_staff            Bussiness/StaffInfo: {department, staff, email, mobile}
  signature                 the Signature element, as XML text
  references                [edXMLManifest/Reference: {content_id, content_type,
                            description, attachment_name}]
  attachment_names          [Attachment/AttachmentName], null for an unnamed one
  attachment_files          [Attachment: {content_id, attachment_name, description,
                            content_type, mime_type (MimeType), field_name (FieldName),
                            bytes, sha256}]: size and SHA-256 of the decoded content;
                            `check --content` adds content_base64, the base64 text

Status messages
  staff                     StaffInfo: {department, staff, email, mobile}
  description               Description
  timestamp                 Timestamp

`edxml write` needs kind, from (or from_organization), and for a document `to` (or
to_organizations), for a status message response_for (or `to` and document_id) and
status_code. An attachment's content is content_base64 (the ContentTransferEncoded
text: base64 of a zip archive) or content_file (a file, normally the zip, encoded for
you). A key that does not apply to the kind is refused; a summary key, when given, must
agree with the detailed keys; check's report keys (file, ok, warnings, error,
error_line, error_column, error_path) are ignored. A carriage return in any text is
written as &#xD;, so it survives every XML reader.";
