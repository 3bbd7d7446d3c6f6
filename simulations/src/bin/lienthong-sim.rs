//! `lienthong-sim`: federations on one machine. Today: `bench`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use lienthong_simulations::bench::{self, BenchOptions};

/// lienthong's simulations and benchmarks on one machine.
#[derive(Debug, Parser)]
#[command(name = "lienthong-sim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure lienthong beside the machine's limits (raw loopback TCP, raw fsync), in one
    /// run, with real node processes. Build in release mode first:
    /// `cargo build --release -p lienthong-node -p lienthong-simulations --bins`.
    Bench {
        /// Also write the figures as a JSON array to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// A shorter run.
        #[arg(long)]
        quick: bool,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Bench { json, quick } => {
            let options = if quick {
                BenchOptions::quick()
            } else {
                BenchOptions::default()
            };
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
    }
}
