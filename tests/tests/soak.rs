//! A small soak: three node processes exchange documents without pause while, round after
//! round, one of them is killed with SIGKILL and started again. Every document a node
//! acknowledged arrives exactly once at each recipient, with the bytes submitted, and its
//! sender holds each recipient's receipt 01. `lienthong-sim soak` runs the long version
//! and bounds memory; here memory is only reported.

use std::time::Duration;

use lienthong_simulations::soak::{self, SoakOptions};

#[test]
fn six_kill_9_rounds_under_traffic_lose_nothing_and_duplicate_nothing() -> anyhow::Result<()> {
    let options = SoakOptions {
        nodes: 3,
        // Every node is killed twice: the second time over a store a crash already left.
        rounds: 6,
        documents: 300,
        large_share: 0.08,
        large_bytes: (1_000_000, 3_000_000),
        drain: Duration::from_secs(120),
        ..SoakOptions::default()
    };
    let report = soak::run(&options, &mut |line| eprintln!("{line}"))?;
    let table = soak::table(&report);
    eprintln!("{table}");

    assert_eq!(report.rounds.len(), 6, "{table}");
    assert!(report.documents_acknowledged >= 300, "{table}");
    assert!(
        report.large_documents > 0,
        "some documents are large: {table}"
    );
    assert_eq!(
        soak::promise_failures(&report),
        Vec::<String>::new(),
        "{table}"
    );
    let f = &report.findings;
    assert_eq!(
        (f.lost, f.duplicated, f.changed, f.missing_01),
        (0, 0, 0, 0),
        "{table}"
    );
    assert!(report.drained, "{table}");
    Ok(())
}
