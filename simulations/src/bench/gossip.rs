//! Receipts spreading by gossip over a province: 100 agencies' nodes in this process (the
//! node's own code on the memory transport, as `lienthong-sim run` runs them), every one a
//! monitoring node (`receipts.monitor = true`) so that each keeps every receipt of the
//! province. 100 documents, each to 10 recipients, make 1,000 receipts 01, which the
//! recipients' nodes sign on arrival and gossip; the figure is the time from the first
//! submission until every node holds all 1,000.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use lienthong_protocol::StatusCode;
use lienthong_protocol::envelope::ReceiptId;

use super::Figure;
use crate::sim::agency::Agency as _;
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
    // Let the province's gossip mesh form before the clock starts, as in service.
    runtime.block_on(tokio::time::sleep(Duration::from_secs(3)));

    let start = Instant::now();
    let outcome = runtime.block_on(async {
        for (body, &from) in documents.into_iter().zip(&senders) {
            let node = world.node(from).context("a sender is not running")?.clone();
            tokio::task::spawn_blocking(move || node.submit(body))
                .await?
                .map_err(|e| anyhow::anyhow!("submitting a document: {e}"))?;
        }
        let expected = DOCUMENTS * RECIPIENTS;
        let mut seen: Vec<(u64, HashSet<ReceiptId>)> =
            agencies.iter().map(|_| (0, HashSet::new())).collect();
        loop {
            let mut complete = 0;
            for (k, &i) in agencies.iter().enumerate() {
                let node = world.node(i).context("a node stopped")?;
                let (cursor, ids) = &mut seen[k];
                loop {
                    let page = node.store.receipts_since(
                        *cursor,
                        |r| r.code() == StatusCode::Arrived,
                        10_000,
                        10_000,
                    )?;
                    ids.extend(page.receipts.iter().map(|r| r.id()));
                    *cursor = page.next_cursor;
                    if !page.more {
                        break;
                    }
                }
                if ids.len() >= expected {
                    complete += 1;
                }
            }
            if complete == agencies.len() {
                return anyhow::Ok(start.elapsed().as_secs_f64());
            }
            if start.elapsed() > DEADLINE {
                let least = seen.iter().map(|(_, ids)| ids.len()).min().unwrap_or(0);
                anyhow::bail!(
                    "after {DEADLINE:?}, {complete} of {} nodes had all {expected} receipts (the fewest: {least})",
                    agencies.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    runtime.block_on(world.shutdown());
    let secs = outcome?;
    let verified = Figure::new(
        "verify_1000_receipts_one_core_s",
        1000.0 / receipt_verify.value.max(f64::MIN_POSITIVE),
        "s",
        None,
    );
    Ok(vec![
        verified.clone(),
        Figure::new(
            "gossip_1000_receipts_100_nodes_s",
            secs,
            "s",
            Some(&verified),
        ),
    ])
}
