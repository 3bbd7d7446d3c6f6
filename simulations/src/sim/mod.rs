//! `lienthong-sim run`: a scenario of agencies, relays, traffic and faults, run with the
//! daemon's own node code, and a report of what arrived, how fast, and what was lost.
//!
//! - [`scenario`]: the TOML file.
//! - [`plan`]: the scenario made concrete by a seed: nodes, documents, answers, faults.
//! - [`world`]: the nodes, in this process, on the memory transport.
//! - [`fleet`]: those, or `lienthong` processes on loopback (`--processes`).
//! - [`agency`]: how a simulated QLVB reaches its node (store, or the HTTP API).
//! - [`axis_qlvb`]: the QLVB of an agency only on the axis, speaking the SDK's protocol
//!   to the run's test axis (the transition, and the hub run).
//! - [`links`]: which node reaches which, partitions, drops and delays.
//! - [`run`]: the clock, the faults and every agency's simulated QLVB.
//! - [`ledger`]: what the QLVBs did and saw.
//! - [`report`]: the figures, as a table, JSON and charts ([`plots`]).

pub mod agency;
pub mod axis_qlvb;
pub mod fleet;
pub mod ledger;
pub mod links;
pub mod messages;
pub mod plan;
pub mod plots;
pub mod report;
pub mod run;
pub mod scenario;
pub mod world;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use plan::{Mode, Plan};
use report::RunReport;
use scenario::Scenario;

/// How to run a scenario.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// The seed; `None`: the scenario's.
    pub seed: Option<u64>,
    /// Add chaos faults.
    pub chaos: bool,
    /// Real `lienthong` processes on loopback instead of nodes in this process.
    pub processes: bool,
    /// Keep the data directories here.
    pub keep: Option<PathBuf>,
}

/// The outcome of a scenario: one run, or the federation and hub runs side by side.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The scenario's name.
    pub scenario: String,
    /// Its description.
    pub description: String,
    /// The runs.
    pub runs: Vec<RunReport>,
}

/// Loads and runs the scenario file `path`.
///
/// # Errors
/// When the file is not a valid scenario or the nodes cannot run.
pub fn run_file(
    path: &Path,
    options: &SimOptions,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<Outcome> {
    let scenario = Scenario::load(path)?;
    run_scenario(&scenario, options, progress)
}

/// Runs `scenario`: the federation, then the hub when it has `[hub]`.
///
/// # Errors
/// When the nodes cannot run.
pub fn run_scenario(
    scenario: &Scenario,
    options: &SimOptions,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<Outcome> {
    let seed = options.seed.unwrap_or(scenario.seed);
    let modes: &[Mode] = if scenario.hub.is_some() {
        &[Mode::Federation, Mode::Hub]
    } else {
        &[Mode::Federation]
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(64)
        .build()
        .context("starting the runtime")?;
    let settings: Vec<(String, String)> = scenario
        .node
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut runs = Vec::new();
    for &mode in modes {
        let plan = Plan::new(scenario, seed, mode, options.chaos)?;
        progress(&format!(
            "{} ({mode}{}): {} nodes, {} documents, {} faults, seed {seed}",
            scenario.name,
            if options.chaos { ", chaos" } else { "" },
            plan.sites.len(),
            plan.documents.len(),
            plan.faults.len()
        ));
        let temp;
        let root = match &options.keep {
            Some(dir) => dir.join(mode.to_string()),
            None => {
                temp = tempfile::Builder::new()
                    .prefix("lienthong-sim-")
                    .tempdir()
                    .context("creating a temporary directory")?;
                temp.path().to_path_buf()
            }
        };
        let transport = if options.processes {
            run::Transport::Processes
        } else {
            run::Transport::Memory
        };
        let report = runtime.block_on(run::run(plan, transport, &root, &settings, progress))?;
        runs.push(report);
    }
    Ok(Outcome {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        runs,
    })
}
