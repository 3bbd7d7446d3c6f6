//! Receipts spreading by gossip over a province: 100 agencies' nodes in this process (the
//! node's own code on the memory transport, as `lienthong-sim run` runs them), every one a
//! monitoring node (`receipts.monitor = true`) so that each keeps every receipt of the
//! province. 100 documents, each to 10 recipients, make 1,000 receipts 01, which the
//! recipients' nodes sign on arrival and gossip; the figure is the time from the first
//! submission until every node holds all 1,000, beside the time until the last copy
//! arrived (and its receipt was signed). What gossip misses, a monitoring node's periodic
//! catch-up (every 30 s in simulations) brings.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::Figure;
use crate::sim::agency::Agency;
use crate::sim::messages;
use crate::sim::plan::{Answer, Mode, Plan, PlannedDocument};
use crate::sim::scenario::{PriorityName, Scenario};
use crate::sim::world::World;

/// Agencies in the province.
const AGENCIES: usize = 100;
/// Documents sent.
const DOCUMENTS: usize = 100;
/// Recipients of each.
const RECIPIENTS: usize = 10;
/// How long the receipts may take before the run gives up.
const DEADLINE: Duration = Duration::from_secs(300);
/// How often the run says how far the receipts have spread.
const PROGRESS: Duration = Duration::from_secs(10);

/// One province (level-1 code H11) of [`AGENCIES`] agencies on one network, nothing sent
/// by itself. Listed rather than generated: a generated province holds at most 99.
fn province() -> anyhow::Result<Scenario> {
    let mut text = format!(
        r#"
        name = "gossip-{AGENCIES}"
        duration = "1h"
        time_scale = 60
        [traffic]
        docs_per_agency_per_minute = 0.0
        "#
    );
    for i in 0..AGENCIES {
        text.push_str(&format!(
            "[[agencies]]\nid = \"000.{:02}.{:02}.H11\"\nname = \"Đơn vị {i}\"\n",
            1 + i / 50,
            1 + i % 50
        ));
    }
    Scenario::parse(&text)
}

/// The time for 1,000 receipts to reach every node, beside the time one core takes to
/// verify 1,000 receipts (`receipt_verify` in receipts/s).
pub(super) fn thousand_receipts(receipt_verify: &Figure) -> anyhow::Result<Vec<Figure>> {
    let scenario = province()?;
    let plan = Plan::new(&scenario, 1, Mode::Federation, false)?;
    let agencies: Vec<usize> = (0..plan.sites.len())
        .filter(|&i| !plan.sites[i].relay)
        .collect();
    anyhow::ensure!(
        agencies.len() == AGENCIES,
        "the generated province has {} agencies, not {AGENCIES}",
        agencies.len()
    );
    let documents: Vec<Vec<u8>> = (0..DOCUMENTS)
        .map(|d| {
            let from = agencies[d % AGENCIES];
            let to: Vec<usize> = (1..=RECIPIENTS)
                .map(|k| agencies[(d + k * 7) % AGENCIES])
                .collect();
            messages::document(
                &plan,
                &PlannedDocument {
                    number: d as u64 + 1,
                    at: Duration::ZERO,
                    from,
                    answers: to.iter().map(|_| Answer::Progress(Vec::new())).collect(),
                    to,
                    size: 10 * 1024,
                    priority: PriorityName::Normal,
                    take_back_after: None,
                },
            )
        })
        .collect::<anyhow::Result<_>>()?;
    let senders: Vec<usize> = (0..DOCUMENTS).map(|d| agencies[d % AGENCIES]).collect();

    let dir = tempfile::Builder::new()
        .prefix("lienthong-bench-gossip-")
        .tempdir()?;
    let settings = vec![("receipts.monitor".to_owned(), "true".to_owned())];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(64)
        .build()
        .context("starting the runtime")?;
    let all: Vec<usize> = (0..plan.sites.len()).collect();
    // The nodes' link layer spawns its tasks as it is built.
    let _runtime = runtime.enter();
    let mut world = World::build(&plan, dir.path(), &settings)?;
    runtime.block_on(world.start(&all))?;
    eprintln!("gossip: {AGENCIES} nodes started");
    // Let the province's gossip mesh form before the clock starts, as in service.
    runtime.block_on(tokio::time::sleep(Duration::from_secs(3)));

    let start = Instant::now();
    let outcome = runtime.block_on(async {
        for (body, &from) in documents.into_iter().zip(&senders) {
            let node = world.node(from).context("a sender is not running")?.clone();
            tokio::task::spawn_blocking(move || Agency::submit(&node, body))
                .await?
                .map_err(|e| anyhow::anyhow!("submitting a document: {e}"))?;
        }
        eprintln!(
            "gossip: {DOCUMENTS} documents submitted in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        let expected = (DOCUMENTS * RECIPIENTS) as u64;
        let stores: Vec<_> = agencies
            .iter()
            .map(|&i| world.node(i).map(|node| node.context().store.clone()))
            .collect::<Option<_>>()
            .context("a node stopped")?;
        let mut progress = Instant::now();
        let mut all_signed: Option<f64> = None;
        loop {
            // Every receipt of the run is a receipt 01, so a node's receipt count is how
            // many of them it holds. Read off the runtime: the nodes share it.
            let stores = stores.clone();
            let counts: Vec<_> = tokio::task::spawn_blocking(move || {
                stores
                    .iter()
                    .map(|store| store.counts())
                    .collect::<Result<_, _>>()
            })
            .await??;
            let held: Vec<u64> = counts.iter().map(|c| c.receipts).collect();
            let complete = held.iter().filter(|&&n| n >= expected).count();
            let least = held.iter().copied().min().unwrap_or(0);
            // Nothing is acknowledged in the run: every received copy is still unacked.
            let delivered: u64 = counts.iter().map(|c| c.inbox_unacked).sum();
            if delivered >= expected && all_signed.is_none() {
                all_signed = Some(start.elapsed().as_secs_f64());
            }
            if complete == agencies.len() {
                let held = start.elapsed().as_secs_f64();
                return anyhow::Ok((all_signed.unwrap_or(held), held));
            }
            if progress.elapsed() >= PROGRESS {
                progress = Instant::now();
                eprintln!(
                    "gossip: {:.0} s, {delivered} of {expected} copies delivered, {complete} of {} nodes hold all {expected} receipts, the fewest {least}",
                    start.elapsed().as_secs_f64(),
                    agencies.len()
                );
            }
            if start.elapsed() > DEADLINE {
                anyhow::bail!(
                    "after {DEADLINE:?}, {complete} of {} nodes had all {expected} receipts (the fewest: {least})",
                    agencies.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    runtime.block_on(world.shutdown());
    let (signed, held) = outcome?;
    let verified = Figure::new(
        "verify_1000_receipts_one_core_s",
        1000.0 / receipt_verify.value.max(f64::MIN_POSITIVE),
        "s",
        None,
    );
    Ok(vec![
        verified.clone(),
        Figure::new("gossip_1000_receipts_signed_s", signed, "s", None),
        Figure::new(
            "gossip_1000_receipts_100_nodes_s",
            held,
            "s",
            Some(&verified),
        ),
    ])
}
