//! `lienthong inbox`, `fetch`, `ack`: what arrived, its bytes, and acknowledging it.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use super::client::{ApiClient, NodeDir};

/// `lienthong inbox …`
#[derive(Debug, Args)]
pub(crate) struct InboxArgs {
    #[command(flatten)]
    node: NodeDir,
    /// Include acknowledged packages.
    #[arg(long)]
    all: bool,
    /// A JSON array of {package_id, from, document_id, received_at}.
    #[arg(long)]
    json: bool,
}

pub(crate) fn inbox(args: InboxArgs) -> anyhow::Result<()> {
    let client = ApiClient::for_data_dir(&args.node.data_dir)?;
    let path = if args.all {
        "/api/v1/inbox?all=true"
    } else {
        "/api/v1/inbox"
    };
    let entries: Vec<Value> = client.get_json(path)?;
    if args.json {
        println!("{}", Value::Array(entries));
        return Ok(());
    }
    if entries.is_empty() {
        println!("inbox empty");
    }
    for e in &entries {
        println!(
            "{}  {}  from {}  {}  {}",
            e["package_id"].as_str().unwrap_or("?"),
            e["received_at"].as_str().unwrap_or("?"),
            e["from"].as_str().unwrap_or("?"),
            e["kind"].as_str().unwrap_or("?"),
            e["document_id"].as_str().unwrap_or("(no document id)"),
        );
    }
    Ok(())
}

/// `lienthong fetch …`
#[derive(Debug, Args)]
pub(crate) struct FetchArgs {
    #[command(flatten)]
    node: NodeDir,
    /// The package id.
    id: String,
    /// Write the edXML here instead of to standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Show no progress, even for a large package on a terminal.
    #[arg(long)]
    quiet: bool,
}

pub(crate) fn fetch(args: FetchArgs) -> anyhow::Result<()> {
    let client = ApiClient::for_data_dir(&args.node.data_dir)?;
    let bytes = client.get_bytes(&format!("/api/v1/packages/{}", args.id), args.quiet)?;
    match args.out {
        Some(path) => lienthong_node::data_dir::write_atomic(&path, &bytes, 0o644)?,
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(())
}

/// `lienthong ack …`
#[derive(Debug, Args)]
pub(crate) struct AckArgs {
    #[command(flatten)]
    node: NodeDir,
    /// The package id.
    id: String,
}

pub(crate) fn ack(args: AckArgs) -> anyhow::Result<()> {
    let client = ApiClient::for_data_dir(&args.node.data_dir)?;
    let answer: Value = client.post_json(&format!("/api/v1/inbox/{}/ack", args.id), b"")?;
    if answer["newly_acked"].as_bool() == Some(false) {
        println!("{} was already acknowledged", args.id);
    } else {
        println!("acknowledged {}", args.id);
    }
    Ok(())
}
