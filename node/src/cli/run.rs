//! `lienthong run`: the daemon.
//!
//! It runs until SIGTERM or SIGINT, or until its store fails (a full disk, no file
//! descriptor left) and the cause passes: it then starts itself again in the same process,
//! with the same arguments, which reopens the store from its log
//! (`lienthong_node::ops::store_recovery`). For a failure whose end it cannot see, it exits with
//! an error, for the service manager to restart it.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use clap::Args;
use lienthong_node::api::dashboard;
use lienthong_node::data_dir::{self, DataDir};
use lienthong_node::node::{Node, NodeOptions, ensure_dev_node};
use lienthong_node::ops::descriptors::{self, OpenFiles};
use lienthong_node::ops::store_recovery::{self, StoreRecovery};
use tracing::{info, warn};

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
    raise_open_files();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lienthong")
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let node = Node::spawn(&dir, NodeOptions::default()).await?;
        let info = node.info().clone();
        let token_file = DataDir::new(&dir).api_token();
        println!("lienthong node {} running", info.organ_id);
        println!("  peer id    {}", info.peer_id);
        for addr in &info.listen_addrs {
            println!("  peers      {addr}");
        }
        println!(
            "  API        http://{}  (bearer token in {})",
            info.api_addr,
            token_file.display()
        );
        println!("  dashboard  {}", dashboard_line(&info.api_addr, &token_file));
        let store = node.context().store.clone();
        tokio::select! {
            signal = wait_for_signal() => {
                signal?;
                println!("stopping");
                let stopped = node.shutdown().await;
                // Every task of the node ran in its set, so none may be left in the
                // runtime; a task spawned outside it would show here.
                let alive = tokio::runtime::Handle::current().metrics().num_alive_tasks();
                info!(
                    target: "lienthong::events::exit",
                    aborted = stopped.aborted,
                    tasks_left = stopped.left,
                    runtime_tasks = alive,
                    "process exiting"
                );
                Ok(())
            }
            recovery = store_recovery::watch(store) => match recovery {
                StoreRecovery::Reopen(failure) => {
                    warn!(
                        cause = %failure.cause,
                        "restarting to reopen the store; nothing acknowledged is lost"
                    );
                    Err(restart())
                }
                StoreRecovery::Exit(failure) => Err(anyhow!(
                    "the store cannot be written since {} failed ({}); stopping so that the service manager restarts the node once the cause is mended",
                    failure.op,
                    failure.cause
                )),
            },
        }
    })
}

/// Where the dashboard is: for an API on loopback, the link signed in with the token, to
/// click from this terminal (printed here only, never logged); elsewhere the address, and
/// where the token to sign in with is.
fn dashboard_line(api_addr: &str, token_file: &Path) -> String {
    let link = api_addr.parse().ok().and_then(|addr| {
        let token = data_dir::read_secret(token_file).ok()?;
        dashboard::link(addr, token.trim())
    });
    link.unwrap_or_else(|| {
        format!(
            "http://{api_addr}/  (sign in with the token in {})",
            token_file.display()
        )
    })
}

/// Replaces this process with a new `lienthong` run with the same arguments and
/// environment: every descriptor of this one (the store's lock among them) is closed, the
/// process id stays. Returns only if that could not be done.
fn restart() -> anyhow::Error {
    use std::os::unix::process::CommandExt as _;
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return anyhow!(e).context("finding the lienthong binary to restart"),
    };
    let error = std::process::Command::new(&exe)
        .args(std::env::args_os().skip(1))
        .exec();
    anyhow!(error).context(format!(
        "restarting {} to reopen the store; start the node again",
        exe.display()
    ))
}

/// Raises the soft open-file limit to the hard one, before any thread starts, and says what
/// the node has: its connection limits are derived from it.
pub(crate) fn raise_open_files() {
    match descriptors::raise_open_files() {
        Ok(OpenFiles {
            limit,
            raised_from: Some(from),
        }) => tracing::info!("open files: {limit} (raised from {from})"),
        Ok(OpenFiles { limit, .. }) => tracing::info!("open files: {limit}"),
        Err(error) => tracing::warn!(
            error = %anyhow::Error::from(error),
            "keeping the open-file limit as it is; raise LimitNOFILE to serve more connections"
        ),
    }
}

/// SIGTERM (systemd, kill) or SIGINT (Ctrl-C).
pub(crate) async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
