//! `lienthong init`: create a node's data directory.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use lienthong_node::init::{InitOptions, init};
use lienthong_protocol::OrganId;
use lienthong_protocol::roster::Role;

/// `lienthong init …`
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The node's data directory (created).
    #[arg(long, env = "LIENTHONG_DATA_DIR")]
    data_dir: PathBuf,
    /// The agency's id (mã định danh), e.g. 000.00.01.H53.
    #[arg(long)]
    organ_id: OrganId,
    /// The agency's name.
    #[arg(long)]
    name: String,
    /// A multiaddr to listen on for other nodes; repeat for several. Default /ip4/0.0.0.0/tcp/7100.
    #[arg(long = "listen", value_name = "MULTIADDR")]
    listen: Vec<String>,
    /// Where the local HTTP API listens. Default 127.0.0.1:7180.
    #[arg(long, value_name = "HOST:PORT")]
    api: Option<SocketAddr>,
    /// `agency`, or `relay` for a provincial relay node.
    #[arg(long, default_value = "agency", value_parser = parse_role)]
    role: Role,
    /// Turn off mDNS discovery of peers on the local network.
    #[arg(long)]
    no_mdns: bool,
    /// Print organ_id, peer_id and public_key as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_role(text: &str) -> Result<Role, String> {
    match text {
        "agency" => Ok(Role::Agency),
        "relay" => Ok(Role::Relay),
        other => Err(format!("{other:?} is not a role: use agency or relay")),
    }
}

pub(crate) fn run(args: InitArgs) -> anyhow::Result<()> {
    let public = init(
        &args.data_dir,
        &InitOptions {
            organ_id: args.organ_id,
            name: args.name,
            listen: args.listen,
            api: args.api,
            role: args.role,
            mdns: !args.no_mdns,
        },
    )?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "organ_id": public.organ_id,
                "peer_id": public.peer_id,
                "public_key": public.public_key,
                "data_dir": args.data_dir,
            })
        );
    } else {
        println!("initialised {}", args.data_dir.display());
        println!("  agency      {} ({})", public.organ_id, public.name);
        println!("  peer id     {}", public.peer_id);
        println!("  public key  {}", public.public_key);
        println!(
            "next: have the federation authority admit it (lienthong federation admit), then run lienthong run --data-dir {}",
            args.data_dir.display()
        );
    }
    Ok(())
}
