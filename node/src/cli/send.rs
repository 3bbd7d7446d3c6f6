//! `lienthong send FILE`: submit an edXML document or status message to the node.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use serde_json::Value;

use super::client::{ApiClient, NodeDir};

/// `lienthong send …`
#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    #[command(flatten)]
    node: NodeDir,
    /// The edXML file.
    file: PathBuf,
    /// Print the answer as JSON ({"package_id": …}).
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: SendArgs) -> anyhow::Result<()> {
    let reading = || format!("reading {}", args.file.display());
    let file = std::fs::File::open(&args.file).with_context(reading)?;
    let len = file.metadata().with_context(reading)?.len();
    let client = ApiClient::for_data_dir(&args.node.data_dir)?;
    // Streamed from the file, with progress on a terminal for a large one.
    let answer: Value = client.upload_json("/api/v1/packages", file, len, args.json)?;
    if args.json {
        println!("{answer}");
        return Ok(());
    }
    println!("{}", answer["package_id"].as_str().unwrap_or("?"));
    if answer["duplicate"].as_bool() == Some(true) {
        eprintln!("(already submitted before: same package)");
    }
    for warning in answer["warnings"].as_array().into_iter().flatten() {
        eprintln!("warning: {}", warning.as_str().unwrap_or_default());
    }
    Ok(())
}
