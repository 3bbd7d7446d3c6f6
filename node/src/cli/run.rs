//! `lienthong run`: the daemon.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use lienthong_node::node::{Node, NodeOptions, ensure_dev_node};

/// `lienthong run …`
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The node's data directory. Without it, a development node in ./lienthong-data is
    /// used, and created on first start.
    #[arg(long, env = "LIENTHONG_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

pub(crate) fn run(args: RunArgs) -> anyhow::Result<()> {
    let dir = match args.data_dir {
        Some(dir) => dir,
        None => {
            let dir = PathBuf::from("lienthong-data");
            if ensure_dev_node(&dir)? {
                println!(
                    "created a development node in {} (agency 000.00.00.H99, its own one-node federation)",
                    dir.display()
                );
            }
            dir
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lienthong")
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let node = Node::spawn(&dir, NodeOptions::default()).await?;
        let info = node.info().clone();
        println!("lienthong node {} running", info.organ_id);
        println!("  peer id  {}", info.peer_id);
        for addr in &info.listen_addrs {
            println!("  peers    {addr}");
        }
        println!(
            "  API      http://{}  (bearer token in {})",
            info.api_addr,
            dir.join("api.token").display()
        );
        wait_for_signal().await?;
        println!("stopping");
        node.shutdown().await;
        Ok(())
    })
}

/// SIGTERM (systemd, kill) or SIGINT (Ctrl-C).
async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
