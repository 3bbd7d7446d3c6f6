//! Whole scenarios run as `lienthong-sim run` runs them (every node in this process, on the
//! memory transport): the national scale (1,000 nodes) and a province's federation beside
//! the central hub it would replace.

use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::Figure;
use crate::sim::plan::Mode;
use crate::sim::report::RunReport;
use crate::sim::{self, SimOptions};

/// The scenarios shipped with the simulations.
fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// Runs a scenario file without chaos, with its own seed, progress on stderr.
fn run(path: &Path) -> anyhow::Result<Vec<RunReport>> {
    let outcome = sim::run_file(path, &SimOptions::default(), &mut |line| {
        eprintln!("    {line}");
    })
    .with_context(|| format!("running {}", path.display()))?;
    Ok(outcome.runs)
}

/// `national-1000.toml` (or `scenario` instead, to try the plumbing on a small one): wall
/// time and peak RSS. Reference: the scenario's simulated time, which the run compresses
/// by its time scale.
///
/// It runs as `lienthong-sim run` in a process of its own: the figures before it leave
/// this process holding memory the allocator does not give back (2 GB after the gossip
/// province), which the national peak is not about.
pub(super) fn national(scenario: Option<&Path>) -> anyhow::Result<Vec<Figure>> {
    let path = scenario.map_or_else(
        || scenarios_dir().join("national-1000.toml"),
        Path::to_owned,
    );
    let federation = run_alone(&path)?;
    let number = |field: &str| {
        federation[field]
            .as_f64()
            .with_context(|| format!("the national run's report has no {field}"))
    };
    let simulated = Figure::new(
        "national_1000_simulated_s",
        number("simulated_s")?,
        "s",
        None,
    );
    let nodes = Figure::new("national_1000_nodes", number("nodes")?, "nodes", None);
    Ok(vec![
        Figure::new(
            "national_1000_wall_s",
            number("wall_s")?,
            "s",
            Some(&simulated),
        ),
        nodes.clone(),
        Figure::new("national_1000_peak_mb", number("peak_rss_mb")?, "MB", None),
        Figure::new(
            "national_1000_mb_per_node",
            number("memory_per_node_mb")?,
            "MB",
            None,
        ),
        Figure::new(
            "national_1000_delivered_ratio",
            number("delivered_ratio")?,
            "ratio",
            None,
        ),
    ])
}

/// Runs `path` with this program's `run` in a child process, its progress on stderr, and
/// returns the federation run's report as JSON.
fn run_alone(path: &Path) -> anyhow::Result<serde_json::Value> {
    let program = std::env::current_exe().context("finding lienthong-sim")?;
    let dir = tempfile::Builder::new()
        .prefix("lienthong-bench-national-")
        .tempdir()?;
    let report = dir.path().join("report.json");
    let status = std::process::Command::new(&program)
        .arg("run")
        .arg(path)
        .arg("--json")
        .arg(&report)
        // Its progress and table with the bench's own progress, off the figures.
        .stdout(std::process::Stdio::from(
            std::io::stderr().as_fd().try_clone_to_owned()?,
        ))
        .status()
        .with_context(|| format!("starting {} run", program.display()))?;
    // A run that broke its promise (a delivery lost) still writes its report first: its
    // figures, the delivered share among them, are what the bench is for, so they are
    // kept, with the failure said aloud.
    let written = std::fs::read(&report);
    let written = match (status.success(), written) {
        (true, written) => written.with_context(|| format!("reading {}", report.display()))?,
        (false, Ok(written)) => {
            eprintln!(
                "warning: {} run {} ended with {status}; its figures are kept (see national_1000_delivered_ratio)",
                program.display(),
                path.display()
            );
            written
        }
        (false, Err(_)) => anyhow::bail!(
            "{} run {} failed: {status}",
            program.display(),
            path.display()
        ),
    };
    let outcome: serde_json::Value = serde_json::from_slice(&written)?;
    outcome["runs"]
        .as_array()
        .and_then(|runs| runs.iter().find(|r| r["mode"] == "federation"))
        .cloned()
        .context("the national scenario made no federation run")
}

/// A province run twice, as a federation and through one central hub (the scenario's
/// `[hub]`, with the hub's own slowdowns and outage): time to receipt 01 and the share
/// delivered, each hub figure beside the federation's. `full`: the full Bình Thuận
/// scenario instead of its small version.
pub(super) fn hub(full: bool) -> anyhow::Result<Vec<Figure>> {
    let path = if full {
        scenarios_dir().join("binh-thuan-2025.toml")
    } else {
        scenarios_dir().join("small").join("binh-thuan-2025.toml")
    };
    let runs = run(&path)?;
    let find = |mode: Mode| {
        runs.iter()
            .find(|r| r.mode == mode)
            .with_context(|| format!("{} made no {mode} run", path.display()))
    };
    let federation = find(Mode::Federation)?;
    let hub = find(Mode::Hub)?;
    let size = if full { "full" } else { "small" };
    let mut figures = Vec::new();
    for (what, unit, of) in [
        (
            "p50_s",
            "s",
            (|r: &RunReport| r.latency_01_ms.p50 / 1000.0) as fn(&RunReport) -> f64,
        ),
        ("p99_s", "s", |r: &RunReport| r.latency_01_ms.p99 / 1000.0),
        ("delivered_ratio", "ratio", |r: &RunReport| {
            r.delivered_ratio
        }),
    ] {
        let fed = Figure::new(
            &format!("federation_{size}_{what}"),
            of(federation),
            unit,
            None,
        );
        figures.push(fed.clone());
        figures.push(Figure::new(
            &format!("hub_{size}_{what}"),
            of(hub),
            unit,
            Some(&fed),
        ));
    }
    Ok(figures)
}
