//! `lienthong demo`: a small live province on this machine, with nothing to set up
//! (`lienthong_node::demo`). It prints one dashboard link per node, token included, and
//! runs until Ctrl-C (or `--duration`), then stops every node in order and removes their
//! data unless `--data-dir` keeps it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use lienthong_node::demo::{Demo, Fault, FaultPlan, NodeLink, Say, sites};
use lienthong_protocol::roster::Role;
use tokio_util::sync::CancellationToken;

use super::run::{raise_open_files, wait_for_signal};

/// The dashboard links at info (the activity is printed, and logged at debug), the nodes'
/// lines only when an operator would have to act, with the libraries lowered as for
/// `lienthong run`; a lost relay reservation only as an error: during `--fault relay` every
/// member loses its own, and the stuck documents the demo prints say it once.
pub(crate) const LOG_FILTER: &str = concat!(
    "warn,lienthong::cli::demo=info",
    ",libp2p_kad::behaviour=error,libp2p_gossipsub::behaviour=off",
    ",lienthong_node::network::reservations=error",
);

/// `lienthong demo …`
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Keep the nodes' data in this folder, and use it again next time, instead of a
    /// temporary folder removed on exit.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Stop by itself after this long (`90s`, `10m`); without it, run until Ctrl-C.
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Show a fault: the provincial relay stops (`relay`), or the tax department's network
    /// is cut off (`tax-network`), then it heals.
    #[arg(long, value_enum)]
    fault: Option<FaultArg>,
    /// When the fault starts.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    fault_at: Duration,
    /// How long the fault lasts.
    #[arg(long, default_value = "1m", value_parser = humantime::parse_duration)]
    fault_lasts: Duration,
    /// The seed of the simulated QLVBs' choices (recipients, subjects, answers).
    #[arg(long, default_value_t = 2018)]
    seed: u64,
}

/// `--fault`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum FaultArg {
    /// The provincial relay stops, then starts again.
    Relay,
    /// The tax network loses its link to the relay, then gets it back.
    TaxNetwork,
}

pub(crate) fn run(args: DemoArgs) -> anyhow::Result<()> {
    let temporary;
    let (root, kept) = match &args.data_dir {
        Some(dir) => (dir.clone(), true),
        None => {
            temporary = tempfile::Builder::new()
                .prefix("lienthong-demo-")
                .tempdir()
                .context("creating a temporary folder")?;
            (temporary.path().to_path_buf(), false)
        }
    };
    raise_open_files();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lienthong-demo")
        .build()
        .context("starting the runtime")?;
    let started = Instant::now();
    let say: Arc<Say> = Arc::new(move |line: &str| {
        let s = started.elapsed().as_secs();
        println!("[{:02}:{:02}] {line}", s / 60, s % 60);
        tracing::debug!(target: "lienthong::cli::demo", "{line}");
    });
    let fault = args.fault.map(|f| FaultPlan {
        fault: match f {
            FaultArg::Relay => Fault::Relay,
            FaultArg::TaxNetwork => Fault::TaxNetwork,
        },
        at: args.fault_at,
        lasts: args.fault_lasts,
    });
    runtime.block_on(async {
        println!(
            "lienthong demo: Đồng Nai's province in this process, its data in {}{}",
            root.display(),
            if kept { "" } else { " (removed on exit)" }
        );
        // Ctrl-C is caught from here on, while the nodes start too.
        let stop = CancellationToken::new();
        let stopper = {
            let stop = stop.clone();
            let duration = args.duration;
            tokio::spawn(async move {
                let elapsed = async {
                    match duration {
                        Some(d) => tokio::time::sleep(d).await,
                        None => std::future::pending().await,
                    }
                };
                let signal = async {
                    if let Err(e) = wait_for_signal().await {
                        tracing::warn!(error = %format!("{e:#}"), "Ctrl-C cannot be caught; use --duration");
                        std::future::pending::<()>().await;
                    }
                };
                tokio::select! {
                    () = signal => {}
                    () = elapsed => {}
                }
                stop.cancel();
            })
        };
        let mut demo = Demo::start(&root, args.seed, say.clone()).await?;
        print_links(&demo.nodes());
        match (&fault, args.duration) {
            (Some(plan), _) => println!(
                "A fault starts at {}. Ctrl-C stops the demo.\n",
                humantime::format_duration(plan.at)
            ),
            (None, Some(d)) => println!(
                "It stops by itself after {}, or on Ctrl-C.\n",
                humantime::format_duration(d)
            ),
            (None, None) => println!("Ctrl-C stops it.\n"),
        }
        let outcome = demo.run(fault, stop.clone()).await;
        stopper.abort();
        println!("\nstopping every node");
        let summary = demo.summary().await;
        demo.shutdown().await;
        outcome?;
        let s = summary?;
        println!(
            "{} documents sent to {} recipients: {} arrived (receipt 01), {} completed (06), {} refused (02), {} still without 01",
            s.documents, s.copies, s.arrived, s.completed, s.refused, s.stuck
        );
        anyhow::Ok(())
    })?;
    if kept {
        println!("the nodes' data is kept in {}", root.display());
    } else {
        println!("removed {}", root.display());
    }
    Ok(())
}

/// One line per node, the provincial overview first.
fn print_links(nodes: &[NodeLink]) {
    if let Some(office) = nodes.iter().find(|n| n.monitor) {
        println!(
            "\nProvincial overview ({}, monitors the province):",
            office.name
        );
        println!("  {}", office.dashboard);
        tracing::info!(target: "lienthong::cli::demo", organ = %office.organ_id, dashboard = %office.dashboard, "provincial overview");
    }
    println!("\nDashboards (each link carries its node's API token):");
    let width = nodes
        .iter()
        .map(|n| label(n).chars().count())
        .max()
        .unwrap_or(0);
    for node in nodes {
        let label = label(node);
        let pad = width - label.chars().count();
        println!(
            "  {}  {label}{}  {}",
            node.organ_id,
            " ".repeat(pad),
            node.dashboard
        );
        tracing::info!(target: "lienthong::cli::demo", organ = %node.organ_id, dashboard = %node.dashboard, "dashboard");
    }
    println!();
}

fn label(node: &NodeLink) -> String {
    if node.role == Role::Relay {
        format!("{} (relay)", node.name)
    } else if node.organ_id == sites::TAX {
        format!("{} (tax network, only through the relay)", node.name)
    } else {
        node.name.clone()
    }
}
