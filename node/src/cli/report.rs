//! `lienthong report`: exchanges per counterpart over a period, from the running node, as
//! CSV (for spreadsheets), HTML (to print or attach) or JSON (for scripts); with
//! `--province`, on a monitoring node, every unit of its province instead.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use lienthong_node::ops::report::province::{self, Province};
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
    /// Every unit of the province instead of this agency's counterparts: documents sent
    /// and received, 01 in time, answered, finished, refused, stuck now, last seen. Needs a
    /// monitoring node (`[receipts] monitor = true`).
    #[arg(long)]
    province: bool,
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
    if args.province {
        let overview: Province = client.get_json(&format!(
            "/api/v1/province?from={}&to={}",
            period.from, period.to
        ))?;
        let bytes = match format {
            Format::Csv => province::to_csv(&overview)?,
            Format::Html => province::to_html(&overview).into_bytes(),
            Format::Json => pretty(&overview)?,
        };
        let summary = format!(
            "province overview for {} to {}: {} units, {} documents stuck",
            period.from,
            period.to,
            overview.units.len(),
            overview.stuck.len()
        );
        return write_out(args.output.as_deref(), &bytes, &summary);
    }
    let report: Report = client.get_json(&format!(
        "/api/v1/report?from={}&to={}",
        period.from, period.to
    ))?;
    let bytes = match format {
        Format::Csv => report::to_csv(&report)?,
        Format::Html => report::to_html(&report).into_bytes(),
        Format::Json => pretty(&report)?,
    };
    let summary = format!(
        "report for {} to {}: {} counterparts",
        period.from,
        period.to,
        report.counterparts.len()
    );
    write_out(args.output.as_deref(), &bytes, &summary)
}

fn pretty(value: &impl serde::Serialize) -> anyhow::Result<Vec<u8>> {
    let mut json = serde_json::to_vec_pretty(value)?;
    json.push(b'\n');
    Ok(json)
}

/// Writes to `output`, saying so on standard error with `summary`, or to standard output.
fn write_out(output: Option<&Path>, bytes: &[u8], summary: &str) -> anyhow::Result<()> {
    match output {
        Some(path) => {
            std::fs::write(path, bytes)
                .with_context(|| format!("writing the report to {}", path.display()))?;
            eprintln!("{summary}, written to {}", path.display());
        }
        None => std::io::stdout()
            .lock()
            .write_all(bytes)
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
