//! `lienthong federation …`: the root authority's commands.

use std::path::PathBuf;

use clap::Subcommand;
use lienthong_node::federation::FederationDir;
use lienthong_protocol::OrganId;
use lienthong_protocol::roster::Role;

/// `lienthong federation …`
#[derive(Debug, Subcommand)]
pub(crate) enum FederationCommand {
    /// Create a federation: a root authority key and an empty signed roster.
    New {
        /// The federation directory (created). Keep root.key in it safe and offline.
        #[arg(long)]
        dir: PathBuf,
        /// The federation's name.
        #[arg(long)]
        name: String,
    },
    /// Admit a node (or refresh its record): add its agency to the roster, re-sign it, and
    /// install the roster and the root key in the node's data directory.
    Admit {
        /// The federation directory.
        #[arg(long)]
        dir: PathBuf,
        /// The node's data directory (lienthong init made it).
        #[arg(long)]
        data_dir: PathBuf,
        /// A relay that holds packages for this agency; repeat for two.
        #[arg(long = "relay", value_name = "ORGAN_ID")]
        relays: Vec<OrganId>,
    },
    /// Show the current roster.
    Show {
        /// The federation directory.
        #[arg(long)]
        dir: PathBuf,
        /// Print the roster as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(command: FederationCommand) -> anyhow::Result<()> {
    match command {
        FederationCommand::New { dir, name } => {
            let federation = FederationDir::new(&dir);
            let signed = federation.create(&name)?;
            println!(
                "created federation {:?} in {}",
                signed.roster().federation,
                dir.display()
            );
            println!("  root key  {}", signed.signer());
            println!(
                "  roster    serial {}, no members yet",
                signed.roster().serial
            );
        }
        FederationCommand::Admit {
            dir,
            data_dir,
            relays,
        } => {
            let federation = FederationDir::new(&dir);
            let record = federation.admit(&data_dir, &relays)?;
            let signed = federation.signed_roster()?;
            println!(
                "admitted {} ({}) as peer {}; roster serial {} installed in {}",
                record.organ_id,
                record.name,
                record.peer_id,
                signed.roster().serial,
                data_dir.display()
            );
        }
        FederationCommand::Show { dir, json } => {
            let federation = FederationDir::new(&dir);
            let signed = federation.signed_roster()?;
            let roster = signed.roster();
            if json {
                let value = serde_json::json!({
                    "root_key": signed.signer(),
                    "roster": roster,
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
                return Ok(());
            }
            println!("federation  {}", roster.federation);
            println!("root key    {}", signed.signer());
            println!(
                "serial      {} (signed {})",
                roster.serial, roster.issued_at
            );
            println!("members     {}", roster.agencies.len());
            for a in &roster.agencies {
                let role = match a.role {
                    Role::Agency => "agency",
                    Role::Relay => "relay",
                };
                let relays: Vec<String> = a.relays.iter().map(ToString::to_string).collect();
                println!(
                    "  {:<16} {:<6} {}  key {}  peer {}{}",
                    a.organ_id.as_str(),
                    role,
                    a.name,
                    a.public_key.fmt_short(),
                    a.peer_id,
                    if relays.is_empty() {
                        String::new()
                    } else {
                        format!("  relays {}", relays.join(","))
                    }
                );
                for addr in &a.addresses {
                    println!("  {:<16}        at {addr}", "");
                }
            }
        }
    }
    Ok(())
}
