//! `lienthong report`: exchanges per counterpart over a period, from the running node, as
//! CSV (for spreadsheets), HTML (to print or attach) or JSON (for scripts).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use lienthong_node::ops::report::{self, Period, Report};

use super::client::{ApiClient, NodeDir};

/// `lienthong report …`
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    node: NodeDir,
    /// The first day, YYYY-MM-DD. Days are UTC days (a day starts at 07:00 in Việt Nam).
    #[arg(long)]
    from: String,
    /// The last day, YYYY-MM-DD, included.
    #[arg(long)]
    to: String,
    /// csv (UTF-8 with a byte order mark, for Excel), html (a printable page) or json.
    /// Without it: from the --output file's extension, else csv.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write here instead of to standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Csv,
    Html,
    Json,
}

pub(crate) fn run(args: ReportArgs) -> anyhow::Result<()> {
    // Refuse bad dates before looking for the node: the mistake is the same either way.
    let period = Period::parse(&args.from, &args.to)?;
    let format = args
        .format
        .or_else(|| args.output.as_deref().and_then(format_of))
        .unwrap_or(Format::Csv);
    let client = ApiClient::for_data_dir(&args.node.data_dir)?;
    let report: Report = client.get_json(&format!(
        "/api/v1/report?from={}&to={}",
        period.from, period.to
    ))?;
    let bytes = match format {
        Format::Csv => report::to_csv(&report)?,
        Format::Html => report::to_html(&report).into_bytes(),
        Format::Json => {
            let mut json = serde_json::to_vec_pretty(&report)?;
            json.push(b'\n');
            json
        }
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &bytes)
                .with_context(|| format!("writing the report to {}", path.display()))?;
            eprintln!(
                "report for {} to {}: {} counterparts, written to {}",
                period.from,
                period.to,
                report.counterparts.len(),
                path.display()
            );
        }
        None => std::io::stdout()
            .lock()
            .write_all(&bytes)
            .context("writing the report to standard output")?,
    }
    Ok(())
}

/// The format a file name asks for by its extension.
fn format_of(path: &Path) -> Option<Format> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "csv" => Some(Format::Csv),
        "html" | "htm" => Some(Format::Html),
        "json" => Some(Format::Json),
        _ => None,
    }
}
