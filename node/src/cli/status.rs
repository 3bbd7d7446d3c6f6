//! `lienthong status ID`: where a sent package stands, per recipient, with its receipts.

use clap::Args;
use serde_json::Value;

use super::client::{ApiClient, NodeDir};

/// `lienthong status …`
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    node: NodeDir,
    /// The package id.
    id: String,
    /// JSON: {"package_id", "recipients": [{"organ_id", "state", "receipts": [{"code", "time"}]}]}.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: StatusArgs) -> anyhow::Result<()> {
    let client = ApiClient::for_data_dir(&args.node.data_dir)?;
    let status: Value = client.get_json(&format!("/api/v1/packages/{}/status", args.id))?;
    if args.json {
        println!("{status}");
        return Ok(());
    }
    println!(
        "package {}  {}  {}",
        status["package_id"].as_str().unwrap_or("?"),
        status["kind"].as_str().unwrap_or("?"),
        status["document_id"].as_str().unwrap_or("(no document id)")
    );
    for r in status["recipients"].as_array().into_iter().flatten() {
        let receipts: Vec<String> = r["receipts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| {
                format!(
                    "{} at {}",
                    x["code"].as_str().unwrap_or("?"),
                    x["time"].as_str().unwrap_or("?")
                )
            })
            .collect();
        println!(
            "  {:<16} {:<13} attempts {}{}{}",
            r["organ_id"].as_str().unwrap_or("?"),
            r["state"].as_str().unwrap_or("?"),
            r["attempts"],
            if receipts.is_empty() {
                String::new()
            } else {
                format!("  receipts {}", receipts.join(", "))
            },
            r["last_error"]
                .as_str()
                .map(|e| format!("  last error: {e}"))
                .unwrap_or_default(),
        );
    }
    Ok(())
}
