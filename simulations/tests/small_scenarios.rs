//! The small versions of the shipped scenarios, run in process with the daemon's node code:
//! whatever the faults (crashes, partitions, drops, delays, a hub going down, chaos),
//! nothing accepted is lost, nothing is applied twice, everything arrives after the heals,
//! and every receipt reaches its sender.

use std::path::PathBuf;

use lienthong_simulations::sim::plan::{Mode, Plan};
use lienthong_simulations::sim::report::RunReport;
use lienthong_simulations::sim::scenario::Scenario;
use lienthong_simulations::sim::{self, SimOptions};

fn small(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/small")
        .join(format!("{name}.toml"))
}

fn run(name: &str, chaos: bool) -> Vec<RunReport> {
    let options = SimOptions {
        chaos,
        ..SimOptions::default()
    };
    let outcome = sim::run_file(&small(name), &options, &mut |line| eprintln!("{line}"))
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    eprintln!("{}", sim::report::table(&outcome.runs));
    outcome.runs
}

/// What every run must show.
fn kept_its_promise(run: &RunReport) {
    let what = format!("{} ({}, chaos {})", run.scenario, run.mode, run.chaos);
    assert!(run.documents > 0, "{what}: no traffic planned");
    assert_eq!(
        run.documents_accepted, run.documents,
        "{what}: documents refused"
    );
    assert_eq!(
        run.lost, 0,
        "{what}: deliveries lost, e.g. {:?}",
        run.lost_examples
    );
    assert_eq!(run.duplicates_applied, 0, "{what}: duplicates applied");
    assert_eq!(run.delivered_ratio, 1.0, "{what}");
    assert_eq!(
        run.receipts_missing, 0,
        "{what}: receipts never reached their sender"
    );
    // Every delivered copy's receipt 01 is known at its sender (receipts_missing counts
    // those too). Whether every QLVB finished its 03 → 06 answers before the drain
    // deadline (`settled`) depends on the machine's speed, not on lienthong.
    assert!(run.latency_01_ms.count > 0, "{what}: no receipt 01 latency");
    assert!(run.statuses_sent > 0, "{what}: QLVB answered nothing");
    for heal in &run.convergence_after_heal {
        assert!(
            heal.converged_ms.is_some(),
            "{what}: receipts did not converge after {}",
            heal.fault
        );
    }
    // The hub run has no nodes (every QLVB talks HTTP to the test axis): no wire to count.
    if run.transport == "memory" && run.nodes > 0 {
        assert!(
            run.wire_bytes > 0 && run.wire_messages_per_document > 0.0,
            "{what}"
        );
    }
}

#[test]
fn dong_nai_2018_separate_networks_behind_a_relay() {
    let runs = run("dong-nai-2018", false);
    assert_eq!(runs.len(), 1);
    kept_its_promise(&runs[0]);
    assert!(!runs[0].faults.is_empty());
}

#[test]
fn dong_nai_2018_with_chaos() {
    let runs = run("dong-nai-2018", true);
    kept_its_promise(&runs[0]);
    assert!(
        runs[0]
            .faults
            .iter()
            .any(|f| f.label.starts_with("chaos: relay"))
    );
}

#[test]
fn tay_ninh_2014_pilot_then_the_rest() {
    kept_its_promise(&run("tay-ninh-2014", false)[0]);
}

#[test]
fn quang_ngai_2016_with_the_government_office() {
    kept_its_promise(&run("quang-ngai-2016", false)[0]);
}

#[test]
fn dong_nai_2010_phased_rollout() {
    kept_its_promise(&run("dong-nai-2010-rollout", false)[0]);
}

#[test]
fn binh_thuan_2025_federation_beside_the_hub() {
    let runs = run("binh-thuan-2025", false);
    assert_eq!(
        runs.iter().map(|r| r.mode).collect::<Vec<_>>(),
        [Mode::Federation, Mode::Hub]
    );
    assert_eq!(
        runs[0].documents, runs[1].documents,
        "the same traffic both ways"
    );
    // The hub is the test axis, and it goes down.
    assert!(runs[1].faults.iter().any(|f| f.label == "axis down"));
    runs.iter().for_each(kept_its_promise);
}

#[test]
fn tay_ninh_2014_with_chaos() {
    kept_its_promise(&run("tay-ninh-2014", true)[0]);
}

#[test]
fn quang_ngai_2016_with_chaos() {
    kept_its_promise(&run("quang-ngai-2016", true)[0]);
}

#[test]
fn dong_nai_2010_rollout_with_chaos() {
    kept_its_promise(&run("dong-nai-2010-rollout", true)[0]);
}

#[test]
fn binh_thuan_2025_federation_and_hub_with_chaos() {
    let runs = run("binh-thuan-2025", true);
    assert_eq!(runs.len(), 2, "federation and hub");
    runs.iter().for_each(kept_its_promise);
}

#[test]
fn national_provinces_with_chaos() {
    kept_its_promise(&run("national", true)[0]);
}

#[test]
fn the_same_seed_gives_the_same_traffic_and_faults() {
    for name in [
        "dong-nai-2018",
        "tay-ninh-2014",
        "quang-ngai-2016",
        "dong-nai-2010-rollout",
        "binh-thuan-2025",
        "national",
    ] {
        let scenario = Scenario::load(&small(name)).unwrap();
        let a = Plan::new(&scenario, 11, Mode::Federation, true).unwrap();
        let b = Plan::new(&scenario, 11, Mode::Federation, true).unwrap();
        assert_eq!(a.documents, b.documents, "{name}");
        assert_eq!(a.faults, b.faults, "{name}");
        let c = Plan::new(&scenario, 12, Mode::Federation, true).unwrap();
        assert_ne!(
            a.documents, c.documents,
            "{name}: another seed, other traffic"
        );
    }
}

/// The same QLVB driver against real `lienthong` processes on loopback: agencies and the
/// relay are killed with SIGKILL mid-traffic and restarted from their data directories.
#[test]
fn real_processes_killed_and_restarted() {
    let scenario = Scenario::parse(
        r#"
        name = "processes-small"
        duration = "20m"
        time_scale = 60
        drain = "40m"
        [[relays]]
        id = "000.00.90.H19"
        name = "Trạm chuyển tiếp"
        [[agencies]]
        id = "000.00.01.H19"
        name = "Văn phòng UBND tỉnh"
        relays = ["000.00.90.H19"]
        [[agencies]]
        id = "000.00.02.H19"
        name = "Sở Tài chính"
        relays = ["000.00.90.H19"]
        [[agencies]]
        id = "000.00.03.H19"
        name = "Sở Y tế"
        relays = ["000.00.90.H19"]
        [traffic]
        docs_per_agency_per_minute = 0.4
        recipients = [1, 2]
        [qlvb]
        poll = "1m"
        step_delay = "2m"
        [[faults]]
        at = "5m"
        kind = "crash"
        lasts = "4m"
        nodes = ["000.00.02.H19"]
        [[faults]]
        at = "11m"
        kind = "crash"
        lasts = "3m"
        nodes = ["000.00.90.H19", "000.00.03.H19"]
        "#,
    )
    .unwrap();
    let options = SimOptions {
        processes: true,
        ..SimOptions::default()
    };
    let outcome = sim::run_scenario(&scenario, &options, &mut |line| eprintln!("{line}"))
        .unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!("{}", sim::report::table(&outcome.runs));
    let run = &outcome.runs[0];
    assert_eq!(run.transport, "processes");
    assert_eq!(run.faults.len(), 2);
    kept_its_promise(run);
}

#[test]
fn processes_refuse_faults_they_cannot_make() {
    let scenario = Scenario::load(&small("dong-nai-2018")).unwrap();
    let options = SimOptions {
        processes: true,
        ..SimOptions::default()
    };
    let error = sim::run_scenario(&scenario, &options, &mut |_| {}).unwrap_err();
    let text = format!("{error:#}");
    assert!(
        text.contains("--processes runs crash faults only") && text.contains("partition"),
        "{text}"
    );
}
