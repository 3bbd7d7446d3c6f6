//! `lienthong peers`: the federation's members as this node sees them.

use clap::Args;
use serde_json::Value;

use super::client::{ApiClient, NodeDir};

/// `lienthong peers …`
#[derive(Debug, Args)]
pub(crate) struct PeersArgs {
    #[command(flatten)]
    node: NodeDir,
    /// Print the peers as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: PeersArgs) -> anyhow::Result<()> {
    let client = ApiClient::for_data_dir(&args.node.data_dir)?;
    let peers: Vec<Value> = client.get_json("/api/v1/peers")?;
    if args.json {
        println!("{}", Value::Array(peers));
        return Ok(());
    }
    for p in &peers {
        let state = if p["this_node"].as_bool() == Some(true) {
            "this node"
        } else if p["connected"].as_bool() == Some(true) {
            "connected"
        } else {
            "not connected"
        };
        println!(
            "{:<16} {:<14} {}  {}{}",
            p["organ_id"].as_str().unwrap_or("(not a member)"),
            state,
            p["peer_id"].as_str().unwrap_or("?"),
            p["name"].as_str().unwrap_or_default(),
            p["rtt_ms"]
                .as_u64()
                .map(|ms| format!("  rtt {ms} ms"))
                .unwrap_or_default(),
        );
    }
    Ok(())
}
