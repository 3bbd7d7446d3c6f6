//! `lienthong key …`: the agency key on the node's side.

use std::path::PathBuf;

use clap::Subcommand;
use lienthong_node::data_dir::DataDir;
use lienthong_node::roster::rotation;

/// `lienthong key …`
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Prepare a new agency key (agency.key.next) for rotation. Its public half goes to
    /// identity.json; the authority then runs `lienthong federation rotate`, and the node
    /// switches to it at its next start.
    Rotate {
        /// The node's data directory.
        #[arg(long, env = "LIENTHONG_DATA_DIR")]
        data_dir: PathBuf,
        /// Print the new key and peer id as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Rotate { data_dir, json } => {
            let identity = rotation::prepare(&DataDir::new(&data_dir))?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "organ_id": identity.organ_id,
                        "next_public_key": identity.next_public_key,
                        "next_peer_id": identity.next_peer_id,
                    })
                );
            } else {
                println!(
                    "prepared a new key for {}: {} (peer {})",
                    identity.organ_id,
                    identity
                        .next_public_key
                        .map(|k| k.to_string())
                        .unwrap_or_default(),
                    identity.next_peer_id.unwrap_or_default()
                );
                println!(
                    "next: the authority runs `lienthong federation rotate --data-dir {}`, then restart this node",
                    data_dir.display()
                );
            }
            Ok(())
        }
    }
}
