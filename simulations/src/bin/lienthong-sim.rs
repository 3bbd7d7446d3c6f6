//! `lienthong-sim`: federations on one machine: `run` a scenario, `bench` the nodes.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use lienthong_simulations::bench::{self, BenchOptions};
use lienthong_simulations::sim::{self, SimOptions};
use lienthong_simulations::soak::{self, SoakOptions};

/// lienthong's simulations and benchmarks on one machine.
#[derive(Debug, Parser)]
#[command(name = "lienthong-sim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve a test national axis (see simulations/src/axis): the SDK's API for the
    /// agencies of a file, switches to be slow, fail or down at PUT /admin/switches.
    Axis {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8088")]
        listen: std::net::SocketAddr,
        /// The agencies: a TOML file of [[agency]] code, name, secret.
        #[arg(long)]
        agencies: PathBuf,
    },
    /// Run a scenario (see simulations/README.md): every node in this process on the
    /// memory transport, the planned traffic and faults, then the report.
    Run {
        /// The scenario file.
        scenario: PathBuf,
        /// The seed of traffic and faults (default: the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// Write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write SVG charts into this directory.
        #[arg(long)]
        plots: Option<PathBuf>,
        /// Add chaos: 10% of the nodes crash and restart, a relay goes down, a partition
        /// heals.
        #[arg(long)]
        chaos: bool,
        /// Run every node as its own `lienthong` process on loopback instead.
        #[arg(long)]
        processes: bool,
        /// Keep the nodes' data directories here instead of a temporary directory.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// Measure lienthong beside the machine's limits (raw loopback TCP, raw fsync), in one
    /// run, with real node processes. Build in release mode first:
    /// `cargo build --release -p lienthong-node -p lienthong-simulations --bins`.
    Bench {
        /// Also write the figures as a JSON array to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// A shorter run: fewer documents, and without the national scenario (about ten
        /// minutes on two cores).
        #[arg(long)]
        quick: bool,
        /// Run only these groups of figures, comma-separated: limits, components, direct,
        /// relayed, gossip, email, hub, national.
        #[arg(long, value_delimiter = ',', value_name = "NAME[,NAME]")]
        only: Option<Vec<String>>,
        /// For `national`: run this scenario file instead of national-1000.toml (to try
        /// the plumbing on a small one).
        #[arg(long)]
        national_scenario: Option<PathBuf>,
        /// For `hub`: the full Bình Thuận scenario instead of its small version.
        #[arg(long)]
        hub_full: bool,
    },
    /// Rounds of kill -9 under continuous traffic between node processes, then check that
    /// every acknowledged document arrived exactly once with its bytes and its receipt 01,
    /// and that each node's memory is back within idle + store cache + a margin. Exits
    /// non-zero when anything was lost, duplicated, changed, missing its 01, or over the
    /// bound. Build in release mode first (see `bench`).
    Soak {
        /// Nodes in the federation.
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        /// Rounds: each kills one node (round robin) with SIGKILL and restarts it.
        #[arg(long, default_value_t = 25)]
        rounds: usize,
        /// Documents to have acknowledged over the run, about (spread over the rounds).
        #[arg(long, default_value_t = 5000)]
        documents: usize,
        /// Share of documents with a large attachment, 0 to 1.
        #[arg(long, default_value_t = 0.04)]
        large_share: f64,
        /// Smallest large document, MB (edXML bytes).
        #[arg(long, default_value_t = 2.0)]
        large_min_mb: f64,
        /// Largest large document, MB.
        #[arg(long, default_value_t = 8.0)]
        large_max_mb: f64,
        /// QLVB clients submitting to each node at once.
        #[arg(long, default_value_t = 2)]
        clients: usize,
        /// The seed of recipients, sizes and attachments.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How long every acknowledged document has to arrive after the traffic stops.
        #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
        drain: std::time::Duration,
        /// The memory bound: idle RSS + store cache + this many MiB.
        #[arg(long, default_value_t = soak::DEFAULT_MARGIN_MIB)]
        memory_margin_mib: f64,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Keep the nodes' data directories and logs here (they are kept in the temporary
        /// directory anyway when a document was lost, duplicated, changed or is missing
        /// its 01).
        #[arg(long)]
        keep: Option<PathBuf>,
        /// A config.toml setting for every node, KEY=VALUE with the value as TOML writes
        /// it, e.g. --set 'store_cache="16 MiB"'; repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE", value_parser = setting)]
        settings: Vec<(String, String)>,
    },
}

/// `KEY=VALUE`, for `--set`.
fn setting(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LIENTHONG_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Axis { listen, agencies } => {
            lienthong_simulations::axis::serve_forever(listen, &agencies)
        }
        Command::Run {
            scenario,
            seed,
            json,
            plots,
            chaos,
            processes,
            keep,
        } => {
            let options = SimOptions {
                seed,
                chaos,
                processes,
                keep,
            };
            let outcome = sim::run_file(&scenario, &options, &mut |line| eprintln!("  {line}"))?;
            println!("{}", sim::report::table(&outcome.runs));
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_vec_pretty(&outcome)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if let Some(dir) = plots {
                for file in sim::report::plot(&outcome.runs, &dir)? {
                    eprintln!("  chart: {}", file.display());
                }
            }
            let failures: Vec<String> = outcome
                .runs
                .iter()
                .flat_map(sim::report::failures)
                .collect();
            if !failures.is_empty() {
                anyhow::bail!("the run broke its promise: {}", failures.join("; "));
            }
            Ok(())
        }
        Command::Bench {
            json,
            quick,
            only,
            national_scenario,
            hub_full,
        } => {
            let mut options = if quick {
                BenchOptions::quick()
            } else {
                BenchOptions::default()
            };
            options.only = only;
            options.national_scenario = national_scenario;
            options.hub_full = hub_full;
            let figures = bench::run(&options, &mut |f| {
                eprintln!("  {} = {:.2} {}", f.name, f.value, f.unit);
            })?;
            println!("{}", bench::table(&figures));
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_vec_pretty(&figures)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(())
        }
        Command::Soak {
            nodes,
            rounds,
            documents,
            large_share,
            large_min_mb,
            large_max_mb,
            clients,
            seed,
            drain,
            memory_margin_mib,
            json,
            keep,
            settings,
        } => {
            let options = SoakOptions {
                nodes,
                rounds,
                documents,
                large_share,
                large_bytes: ((large_min_mb * 1e6) as usize, (large_max_mb * 1e6) as usize),
                clients,
                seed,
                drain,
                memory_margin_mib,
                keep,
                settings,
                ..SoakOptions::default()
            };
            let report = soak::run(&options, &mut |line| eprintln!("  {line}"))?;
            println!("{}", soak::table(&report));
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let failures = soak::failures(&report);
            if !failures.is_empty() {
                anyhow::bail!("the soak failed: {}", failures.join("; "));
            }
            Ok(())
        }
    }
}
