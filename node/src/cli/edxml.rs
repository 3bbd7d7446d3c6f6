//! `lienthong edxml check FILE...`: validate edXML files offline, the way the node will read
//! them, and say for each what it holds or what is wrong and where.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use lienthong_protocol::edxml::{self, Message, ReadOptions};
use serde::Serialize;

/// `lienthong edxml …`
#[derive(Debug, Subcommand)]
pub(crate) enum EdxmlCommand {
    /// Check edXML files: a one-line summary per file, or the error with line:column.
    /// Exits with 1 when any file is not valid.
    Check {
        /// The files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per line per file instead of text.
        #[arg(long)]
        json: bool,
        /// Largest file accepted, in bytes (the node's default package limit).
        #[arg(long, default_value_t = ReadOptions::default().max_size)]
        max_size: usize,
    },
}

pub(crate) fn run(command: EdxmlCommand) -> anyhow::Result<ExitCode> {
    match command {
        EdxmlCommand::Check {
            files,
            json,
            max_size,
        } => check(&files, json, max_size),
    }
}

/// What `--json` prints for one file. Field names are part of the command's contract.
#[derive(Debug, Serialize)]
struct Report {
    file: String,
    ok: bool,
    kind: Option<&'static str>,
    from: Option<String>,
    /// Recipients of a document; for a status message, the `ResponseFor` agency.
    to: Vec<String>,
    document_id: Option<String>,
    /// 0 new, 1 revoke, 2 update, 3 replace (documents only).
    business_doc_type: Option<u8>,
    /// As written on the wire, e.g. `"05"` (status messages only).
    status_code: Option<&'static str>,
    attachments: usize,
    /// Total size of the attachments once decoded.
    attachments_bytes: u64,
    warnings: Vec<String>,
    error: Option<String>,
    /// Where the error is, when it has a place: line and column.
    error_line: Option<u32>,
    error_column: Option<u32>,
    /// The element path of the error.
    error_path: Option<String>,
}

impl Report {
    fn new(file: &Path) -> Self {
        Report {
            file: file.display().to_string(),
            ok: false,
            kind: None,
            from: None,
            to: Vec::new(),
            document_id: None,
            business_doc_type: None,
            status_code: None,
            attachments: 0,
            attachments_bytes: 0,
            warnings: Vec::new(),
            error: None,
            error_line: None,
            error_column: None,
            error_path: None,
        }
    }
}

fn check(files: &[PathBuf], json: bool, max_size: usize) -> anyhow::Result<ExitCode> {
    let options = ReadOptions {
        max_size,
        ..ReadOptions::default()
    };
    let mut all_ok = true;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for file in files {
        let report = check_file(file, &options);
        all_ok &= report.ok;
        if json {
            serde_json::to_writer(&mut out, &report).context("writing the report")?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}", summary(&report))?;
        }
    }
    out.flush()?;
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn check_file(file: &Path, options: &ReadOptions) -> Report {
    let mut report = Report::new(file);
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) => {
            report.error = Some(format!("cannot read the file: {e}"));
            return report;
        }
    };
    let parsed = match edxml::read_with(bytes.into(), options) {
        Ok(parsed) => parsed,
        Err(e) => {
            report.error_line = e.position.map(|p| p.line);
            report.error_column = e.position.map(|p| p.column);
            report.error_path = (!e.path.is_empty()).then(|| e.path.clone());
            report.error = Some(e.to_string());
            return report;
        }
    };
    let message = &parsed.message;
    report.kind = Some(message.kind().as_str());
    report.from = Some(message.from().to_string());
    report.to = message.addressees().iter().map(|o| o.to_string()).collect();
    report.document_id = message.document_id().map(str::to_owned);
    report.warnings = parsed.warnings.iter().map(ToString::to_string).collect();
    match message {
        Message::Document(doc) => {
            report.business_doc_type = Some(doc.business_doc_type().code());
            report.attachments = doc.attachments.len();
            report.attachments_bytes = doc.attachments_decoded_len();
            // Offline checking can afford to decode: an attachment whose base64 does not
            // decode would fail at the recipient's QLVB.
            for (i, attachment) in doc.attachments.iter().enumerate() {
                if let Err(e) = attachment.content.decode() {
                    let name = attachment.attachment_name.as_deref().unwrap_or("(unnamed)");
                    report.error = Some(format!("attachment {} ({name}): {e}", i + 1));
                    return report;
                }
            }
        }
        Message::Status(status) => report.status_code = Some(status.code.as_str()),
    }
    report.ok = true;
    report
}

fn summary(report: &Report) -> String {
    let Some(kind) = report.kind.filter(|_| report.ok) else {
        let error = report.error.as_deref().unwrap_or("unknown error");
        return format!("{}: error: {error}", report.file);
    };
    let mut line = format!(
        "{}: ok {kind} from {} to {}",
        report.file,
        report.from.as_deref().unwrap_or("?"),
        report.to.join(",")
    );
    if let Some(id) = &report.document_id {
        line.push_str(&format!(" document {id}"));
    }
    if let Some(t) = report.business_doc_type {
        let name = ["new", "revoke", "update", "replace"]
            .get(usize::from(t))
            .unwrap_or(&"?");
        line.push_str(&format!(" business {t} ({name})"));
        line.push_str(&format!(
            " attachments {} ({} bytes)",
            report.attachments, report.attachments_bytes
        ));
    }
    if let Some(code) = report.status_code {
        line.push_str(&format!(" status {code}"));
    }
    line.push_str(&format!(" warnings {}", report.warnings.len()));
    for warning in &report.warnings {
        line.push_str(&format!("\n  warning: {warning}"));
    }
    line
}
