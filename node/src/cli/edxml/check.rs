//! `lienthong edxml check FILE...`: validate edXML files offline, the way the node will read
//! them, and say for each what it holds or what is wrong and where.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use lienthong_protocol::edxml::{self, ReadOptions};
use serde::Serialize;

use super::describe::describe;
use super::description::{Description, Kind};

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The files to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// One JSON object per line per file instead of text: the whole message (`--help` lists
    /// its keys).
    #[arg(long)]
    json: bool,
    /// With --json: each attachment's base64 text too (`content_base64`), so that the
    /// output can be given to `edxml write` as it is.
    #[arg(long, requires = "json")]
    content: bool,
    /// Largest file accepted, in bytes (the node's default package limit).
    #[arg(long, default_value_t = ReadOptions::default().max_size)]
    max_size: usize,
}

/// What `--json` prints for one file: the report's own keys around the message's
/// description. Field names are part of the command's contract.
#[derive(Debug, Serialize)]
struct Report {
    file: String,
    ok: bool,
    #[serde(flatten)]
    message: Description,
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
            message: Description::unread(),
            warnings: Vec::new(),
            error: None,
            error_line: None,
            error_column: None,
            error_path: None,
        }
    }
}

pub(crate) fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let options = ReadOptions {
        max_size: args.max_size,
        ..ReadOptions::default()
    };
    let mut all_ok = true;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for file in &args.files {
        let report = check_file(file, &options, args.content);
        all_ok &= report.ok;
        if args.json {
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

fn check_file(file: &Path, options: &ReadOptions, content: bool) -> Report {
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
    report.warnings = parsed.warnings.iter().map(ToString::to_string).collect();
    // Offline checking can afford to decode: an attachment whose base64 does not decode
    // would fail at the recipient's QLVB.
    let (description, undecodable) = describe(&parsed.message, content);
    report.message = description;
    match undecodable {
        None => report.ok = true,
        Some(failure) => report.error = Some(failure.to_string()),
    }
    report
}

fn summary(report: &Report) -> String {
    let m = &report.message;
    let Some(kind) = m.kind.filter(|_| report.ok) else {
        let error = report.error.as_deref().unwrap_or("unknown error");
        return format!("{}: error: {error}", report.file);
    };
    let kind = match kind {
        Kind::Edoc => "edoc",
        Kind::Status => "status",
    };
    let mut line = format!(
        "{}: ok {kind} from {} to {}",
        report.file,
        m.from.as_deref().unwrap_or("?"),
        m.to.join(",")
    );
    if let Some(id) = &m.document_id {
        line.push_str(&format!(" document {id}"));
    }
    if let Some(t) = m.business_doc_type {
        let name = ["new", "revoke", "update", "replace"]
            .get(usize::from(t))
            .unwrap_or(&"?");
        line.push_str(&format!(" business {t} ({name})"));
        line.push_str(&format!(
            " attachments {} ({} bytes)",
            m.attachments.unwrap_or(0),
            m.attachments_bytes.unwrap_or(0)
        ));
    }
    if let Some(code) = &m.status_code {
        line.push_str(&format!(" status {code}"));
    }
    line.push_str(&format!(" warnings {}", report.warnings.len()));
    for warning in &report.warnings {
        line.push_str(&format!("\n  warning: {warning}"));
    }
    line
}
