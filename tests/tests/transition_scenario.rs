//! The transition of issue 25, as a scenario: half a province on lienthong (nodes in this
//! process, their axis bridge on), the other half and the Government Office only on a test
//! axis, their QLVBs speaking the SDK's protocol to it; the axis slowed, then down. Per
//! path (federation, axis → lienthong, lienthong → axis), nothing is lost, nothing is
//! applied twice, and every status comes back to its sender. And the hub that the
//! federation is compared with is that same test axis, spoken to with its real API.
//!
//! The runner's waits are its own: it ticks until everything settled or the drain
//! deadline passed, then gives what is in flight a bounded grace; nothing here sleeps.

use std::path::PathBuf;

use lienthong_simulations::sim::plan::Mode;
use lienthong_simulations::sim::report::{CopyPath, RunReport, table};
use lienthong_simulations::sim::{self, SimOptions};

fn small(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../simulations/scenarios/small")
        .join(format!("{name}.toml"))
}

fn run(name: &str) -> Vec<RunReport> {
    let outcome = sim::run_file(&small(name), &SimOptions::default(), &mut |line| {
        eprintln!("{line}");
    })
    .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    eprintln!("{}", table(&outcome.runs));
    outcome.runs
}

/// Per path: nothing lost, nothing applied twice, 01 and 06 back at every sender.
fn every_path_kept_its_promise(run: &RunReport, paths: &[CopyPath]) {
    let what = format!("{} ({})", run.scenario, run.mode);
    assert_eq!(
        run.documents_accepted, run.documents,
        "{what}: documents refused"
    );
    let seen: Vec<CopyPath> = run.paths.iter().map(|p| p.path).collect();
    assert_eq!(seen, paths, "{what}: the paths the traffic took");
    for p in &run.paths {
        let path = format!("{what}, {}", p.path);
        assert!(p.sent > 0, "{path}: no traffic");
        assert_eq!(p.lost, 0, "{path}: lost, e.g. {:?}", run.lost_examples);
        assert_eq!(p.delivered, p.sent, "{path}: delivered");
        assert_eq!(p.applied_twice, 0, "{path}: applied twice");
        assert_eq!(p.back_01, p.delivered, "{path}: a status 01 missing");
        assert!(p.issued_06 > 0, "{path}: no QLVB finished with 06");
        assert_eq!(p.back_06, p.issued_06, "{path}: a status 06 missing");
        assert_eq!(p.statuses_missing, 0, "{path}: statuses missing");
    }
    let axis = run.axis.as_ref().expect("the run's test axis");
    assert_eq!(axis.pending, 0, "{what}: copies left on the axis");
    assert!(axis.sends > 0, "{what}: nothing went through the axis");
    for call in ["sendEdoc", "getReceivedEdocList", "getEdoc", "updateStatus"] {
        assert!(
            axis.calls.get(call).copied().unwrap_or_default() > 0,
            "{what}: no {call} call: {:?}",
            axis.calls
        );
    }
}

#[test]
fn half_a_province_on_the_axis_loses_nothing_on_any_path() {
    let runs = run("binh-thuan-2025-transition");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.mode, Mode::Federation);
    let labels: Vec<&str> = run.faults.iter().map(|f| f.label.as_str()).collect();
    assert!(
        labels.iter().any(|l| l.starts_with("axis slow")) && labels.contains(&"axis down"),
        "the axis is slowed and goes down: {labels:?}"
    );
    every_path_kept_its_promise(
        run,
        &[
            CopyPath::Federation,
            CopyPath::AxisToLienthong,
            CopyPath::LienthongToAxis,
            CopyPath::Axis,
        ],
    );
    assert_eq!(run.lost, 0);
    assert_eq!(run.duplicates_applied, 0);
    assert_eq!(run.receipts_missing, 0);
}

#[test]
fn the_hub_compared_with_is_the_test_axis() {
    let runs = run("binh-thuan-2025");
    assert_eq!(
        runs.iter().map(|r| r.mode).collect::<Vec<_>>(),
        [Mode::Federation, Mode::Hub]
    );
    let hub = &runs[1];
    assert_eq!(hub.nodes, 0, "no agency has a node in the hub run");
    assert_eq!(
        runs[0].documents, hub.documents,
        "the same traffic both ways"
    );
    every_path_kept_its_promise(hub, &[CopyPath::Axis]);
    assert!(runs[0].paths.is_empty(), "the federation run has no axis");
    assert_eq!(runs[0].lost, 0);
    assert_eq!(runs[0].duplicates_applied, 0);
}
