//! The report of a run: what arrived, what was lost or applied twice, how fast receipts
//! came back, how long they took to converge after each heal, what crossed the wire, and
//! what it cost in memory. A table for people, JSON for scripts, SVG charts.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use super::ledger::Ledger;
use super::plan::{Mode, Plan};
use super::plots::{self, Band, Series};
use super::run::Measures;
use super::scenario::FaultKind;
use lienthong_protocol::edxml::StatusCode;

/// Percentiles of a distribution.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Percentiles {
    /// How many values.
    pub count: usize,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `values`.
    pub fn of(mut values: Vec<f64>) -> Percentiles {
        values.retain(|v| v.is_finite());
        if values.is_empty() {
            return Percentiles::default();
        }
        values.sort_by(f64::total_cmp);
        let at = |p: f64| {
            let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
            values[rank.clamp(1, values.len()) - 1]
        };
        Percentiles {
            count: values.len(),
            p50: at(50.0),
            p95: at(95.0),
            p99: at(99.0),
            max: values[values.len() - 1],
        }
    }
}

/// Convergence after one heal.
#[derive(Debug, Clone, Serialize)]
pub struct Convergence {
    /// The fault that healed.
    pub fault: String,
    /// When it healed, simulated seconds.
    pub healed_at_s: f64,
    /// Receipts issued before the heal and unknown at their sender then.
    pub waiting: usize,
    /// Real ms until all of them were known; `None`: not within the run.
    pub converged_ms: Option<u64>,
}

/// A fault as it happened.
#[derive(Debug, Clone, Serialize)]
pub struct FaultRecord {
    /// What it was.
    pub label: String,
    /// Its kind.
    pub kind: FaultKind,
    /// From, simulated seconds.
    pub from_s: f64,
    /// To, simulated seconds.
    pub to_s: f64,
}

/// One run's report.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The scenario.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Federation or hub.
    pub mode: Mode,
    /// Whether chaos faults were added.
    pub chaos: bool,
    /// `memory` (in process) or `processes`.
    pub transport: String,
    /// Nodes in all.
    pub nodes: usize,
    /// Relays among them.
    pub relays: usize,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    /// Simulated seconds run.
    pub simulated_s: f64,
    /// Real seconds run (after the nodes started).
    pub wall_s: f64,
    /// Documents planned.
    pub documents: usize,
    /// Documents the senders' nodes accepted.
    pub documents_accepted: usize,
    /// (document, recipient) pairs accepted by the senders' nodes.
    pub deliveries_expected: usize,
    /// Pairs stored by their recipient.
    pub deliveries: usize,
    /// `deliveries / deliveries_expected`; 1.0 when everything arrived.
    pub delivered_ratio: f64,
    /// Accepted pairs never stored by their recipient. Must be 0.
    pub lost: usize,
    /// The first lost pairs, with their sender's view of them, for whoever investigates.
    pub lost_examples: Vec<LostCopy>,
    /// Documents handed to a recipient's QLVB more than once. Must be 0.
    pub duplicates_applied: usize,
    /// Statuses (02–06, 15) the recipients' QLVB sent.
    pub statuses_sent: usize,
    /// Receipts (01 and statuses) issued and not known at their sender at the end.
    pub receipts_missing: usize,
    /// Statuses QLVB still meant to send when the run ended (a progression cut short by
    /// the drain deadline), and statuses the nodes refused for good.
    pub statuses_pending: usize,
    /// Statuses a node refused every time QLVB submitted them.
    pub status_refusals: u32,
    /// Documents refused with 02.
    pub rejected: usize,
    /// Documents taken back (13 answered by 15).
    pub taken_back: usize,
    /// Submit → receipt 01 recorded at the sender, real ms.
    pub latency_01_ms: Percentiles,
    /// Submit → 06 known at the sender, simulated seconds.
    pub latency_06_s: Percentiles,
    /// After each heal, how long receipts took to converge.
    pub convergence_after_heal: Vec<Convergence>,
    /// The slowest convergence, real ms.
    pub convergence_max_ms: Option<u64>,
    /// Bytes on the simulated links.
    pub wire_bytes: u64,
    /// Bytes on the wire per delivered copy.
    pub wire_bytes_per_document: f64,
    /// Request/response frames and gossip messages per delivered copy.
    pub wire_messages_per_document: f64,
    /// The most peers connected per node, on average, sampled every 10 s.
    pub connections_per_node: f64,
    /// Peak resident memory of the run, MB.
    pub peak_rss_mb: f64,
    /// Peak memory above the process's before the run, per node, MB.
    pub memory_per_node_mb: f64,
    /// Whether everything settled before the drain deadline.
    pub settled: bool,
    /// The faults.
    pub faults: Vec<FaultRecord>,
    /// Deliveries per bucket of simulated time: (bucket start s, count).
    pub deliveries_over_time: Vec<(f64, usize)>,
    /// Receipts first known at senders per bucket: (bucket start s, count).
    pub receipts_over_time: Vec<(f64, usize)>,
    /// Latencies to receipt 01, real ms, for the charts.
    #[serde(skip)]
    pub latencies_01: Vec<f64>,
    /// The same figures per path, when the run has a test axis: through the federation,
    /// from the axis to lienthong, from lienthong to the axis, and on the axis alone.
    pub paths: Vec<PathReport>,
    /// What the test axis held at the end, when the run had one.
    pub axis: Option<crate::axis::StateSummary>,
}

/// The way a copy travelled: its sender's side and its recipient's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyPath {
    /// Node to node.
    Federation,
    /// An agency only on the axis to an agency on lienthong (its node's bridge takes it).
    AxisToLienthong,
    /// An agency on lienthong (its node's bridge) to an agency only on the axis.
    LienthongToAxis,
    /// Both only on the axis (the hub run).
    Axis,
}

impl CopyPath {
    /// The path of a copy from site `from` to site `to`.
    pub fn of(plan: &Plan, from: usize, to: usize) -> CopyPath {
        match (plan.sites[from].on_axis, plan.sites[to].on_axis) {
            (false, false) => CopyPath::Federation,
            (true, false) => CopyPath::AxisToLienthong,
            (false, true) => CopyPath::LienthongToAxis,
            (true, true) => CopyPath::Axis,
        }
    }
}

impl std::fmt::Display for CopyPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CopyPath::Federation => "federation",
            CopyPath::AxisToLienthong => "axis → lienthong",
            CopyPath::LienthongToAxis => "lienthong → axis",
            CopyPath::Axis => "axis only",
        })
    }
}

/// One path's figures.
#[derive(Debug, Clone, Serialize)]
pub struct PathReport {
    /// Which path.
    pub path: CopyPath,
    /// (document, recipient) pairs accepted by their senders on this path.
    pub sent: usize,
    /// Pairs that reached their recipient's QLVB (or store).
    pub delivered: usize,
    /// Accepted pairs that never did. Must be 0.
    pub lost: usize,
    /// Applied twice: documents handed to a recipient's QLVB again, and statuses taken
    /// twice at their sender. Must be 0.
    pub applied_twice: usize,
    /// Delivered pairs whose status 01 is known at the sender.
    pub back_01: usize,
    /// Pairs whose recipient's QLVB sent 06.
    pub issued_06: usize,
    /// Of those, the ones whose 06 is known at the sender.
    pub back_06: usize,
    /// Statuses (01 and every one QLVB sent) not known at their sender at the end.
    pub statuses_missing: usize,
}

impl PathReport {
    /// Whether every status came back and nothing was lost or applied twice.
    pub fn kept_its_promise(&self) -> bool {
        self.lost == 0
            && self.applied_twice == 0
            && self.back_01 == self.delivered
            && self.back_06 == self.issued_06
            && self.statuses_missing == 0
    }
}

/// The figures of each path the plan's copies take, in [`CopyPath`] order.
fn paths(plan: &Plan, ledger: &Ledger) -> Vec<PathReport> {
    let mut by: std::collections::BTreeMap<CopyPath, PathReport> = Default::default();
    for (doc, sent) in plan.documents.iter().zip(&ledger.sent) {
        if sent.package.is_none() {
            continue;
        }
        for (r, copy) in sent.copies.iter().enumerate() {
            let path = CopyPath::of(plan, doc.from, doc.to[r]);
            let p = by.entry(path).or_insert(PathReport {
                path,
                sent: 0,
                delivered: 0,
                lost: 0,
                applied_twice: 0,
                back_01: 0,
                issued_06: 0,
                back_06: 0,
                statuses_missing: 0,
            });
            p.sent += 1;
            p.delivered += usize::from(copy.seen.is_some());
            p.lost += usize::from(copy.seen.is_none());
            p.applied_twice += copy.duplicates as usize + copy.status_duplicates as usize;
            p.back_01 +=
                usize::from(copy.seen.is_some() && copy.known.contains_key(&StatusCode::Arrived));
            if copy.issued.iter().any(|(c, _)| *c == StatusCode::Completed) {
                p.issued_06 += 1;
                p.back_06 += usize::from(copy.known.contains_key(&StatusCode::Completed));
            }
            p.statuses_missing += copy.outstanding().count();
        }
    }
    by.into_values().collect()
}

/// How many lost copies a report names.
pub const LOST_EXAMPLES: usize = 20;

/// A copy its sender's node accepted that never reached its recipient's store.
#[derive(Debug, Clone, Serialize)]
pub struct LostCopy {
    /// The document's number in the plan.
    pub document: u64,
    /// The sending agency.
    pub from: String,
    /// The recipient agency.
    pub to: String,
    /// Where the sender's node said its delivery stood at the end (state, attempts, last
    /// error), when it could be asked.
    pub sender_view: Option<String>,
}

/// The resident memory of this process now, MB (Linux; 0 elsewhere).
pub fn rss_mb() -> f64 {
    rss_mb_of("self")
}

/// The resident memory of process `pid` (or `self`) now, MB (Linux; 0 elsewhere).
pub fn rss_mb_of(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn buckets(times: &[f64], end: f64) -> Vec<(f64, usize)> {
    let n = 60usize;
    let width = (end / n as f64).max(1.0);
    let mut counts = vec![0usize; n + 1];
    for t in times {
        let i = ((t / width) as usize).min(n);
        counts[i] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, c)| (i as f64 * width, c))
        .collect()
}

/// Builds the report of a finished run.
pub fn build(plan: &Plan, ledger: &Ledger, measures: &Measures, rss_before: f64) -> RunReport {
    let mut expected = 0;
    let mut delivered = 0;
    let mut duplicates = 0;
    let mut statuses = 0;
    let mut rejected = 0;
    let mut taken_back = 0;
    let mut latencies_01 = Vec::new();
    let mut latencies_06 = Vec::new();
    let mut accepted = 0;
    let mut lost_examples = Vec::new();
    let mut statuses_pending = 0;
    for (doc, sent) in plan.documents.iter().zip(&ledger.sent) {
        if sent.package.is_none() {
            continue;
        }
        accepted += 1;
        for (r, copy) in sent.copies.iter().enumerate() {
            statuses_pending += usize::from(copy.next.is_some());
            if copy.seen.is_none() && lost_examples.len() < LOST_EXAMPLES {
                lost_examples.push(LostCopy {
                    document: doc.number,
                    from: plan.sites[doc.from].organ_id.clone(),
                    to: plan.sites[doc.to[r]].organ_id.clone(),
                    sender_view: copy.sender_view.clone(),
                });
            }
            expected += 1;
            delivered += usize::from(copy.seen.is_some());
            duplicates += copy.duplicates as usize + copy.status_duplicates as usize;
            statuses += copy.issued.len();
            rejected += usize::from(copy.issued.iter().any(|(c, _)| *c == StatusCode::Rejected));
            taken_back += usize::from(
                copy.issued
                    .iter()
                    .any(|(c, _)| *c == StatusCode::ChangeAccepted),
            );
            if let Some(ms) = copy.latency_01_ms {
                latencies_01.push(ms as f64);
            }
            if let Some(s) = copy.completed_after_s {
                latencies_06.push(s);
            }
        }
    }
    let convergence: Vec<Convergence> = ledger
        .heals
        .iter()
        .map(|h| Convergence {
            fault: h.label.clone(),
            healed_at_s: h.at_s,
            waiting: h.waiting.len(),
            converged_ms: h.converged_ms,
        })
        .collect();
    let convergence_max_ms = convergence.iter().filter_map(|c| c.converged_ms).max();
    let per_copy = |x: f64| {
        if delivered == 0 {
            0.0
        } else {
            x / delivered as f64
        }
    };
    let end = measures.simulated_s.max(1.0);
    RunReport {
        scenario: plan.scenario.clone(),
        seed: plan.seed,
        mode: plan.mode,
        chaos: plan.chaos,
        transport: "memory".to_owned(),
        nodes: measures.nodes,
        relays: plan.sites.iter().filter(|s| s.relay).count(),
        time_scale: plan.time_scale,
        simulated_s: measures.simulated_s,
        wall_s: measures.wall_s,
        documents: plan.documents.len(),
        documents_accepted: accepted,
        deliveries_expected: expected,
        deliveries: delivered,
        delivered_ratio: if expected == 0 {
            1.0
        } else {
            delivered as f64 / expected as f64
        },
        lost: expected - delivered,
        lost_examples,
        duplicates_applied: duplicates,
        statuses_sent: statuses,
        receipts_missing: ledger.outstanding().len(),
        statuses_pending,
        status_refusals: ledger.status_refusals,
        rejected,
        taken_back,
        latency_01_ms: Percentiles::of(latencies_01.clone()),
        latency_06_s: Percentiles::of(latencies_06),
        convergence_after_heal: convergence,
        convergence_max_ms,
        wire_bytes: measures.bytes,
        wire_bytes_per_document: per_copy(measures.bytes as f64),
        wire_messages_per_document: per_copy(measures.messages as f64),
        connections_per_node: measures.connections_per_node,
        peak_rss_mb: measures.peak_rss_mb,
        memory_per_node_mb: ((measures.peak_rss_mb - rss_before) / measures.nodes.max(1) as f64)
            .max(0.0),
        settled: measures.settled,
        faults: measures
            .faults
            .iter()
            .map(|(label, kind, from_s, to_s)| FaultRecord {
                label: label.clone(),
                kind: *kind,
                from_s: *from_s,
                to_s: *to_s,
            })
            .collect(),
        deliveries_over_time: buckets(&ledger.delivered_at, end),
        receipts_over_time: buckets(&ledger.receipts_at, end),
        latencies_01,
        paths: if plan.uses_axis() {
            paths(plan, ledger)
        } else {
            Vec::new()
        },
        axis: measures.axis.clone(),
    }
}

/// The runs side by side, as a table.
pub fn table(runs: &[RunReport]) -> String {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |name: &str, f: &dyn Fn(&RunReport) -> String| {
        rows.push((name.to_owned(), runs.iter().map(f).collect()));
    };
    let pct = |p: &Percentiles, unit: &str| {
        if p.count == 0 {
            "-".to_owned()
        } else {
            format!("{:.0} / {:.0} / {:.0} {unit}", p.p50, p.p95, p.p99)
        }
    };
    row("mode", &|r| {
        format!("{}{}", r.mode, if r.chaos { " + chaos" } else { "" })
    });
    row("nodes (relays)", &|r| {
        format!("{} ({}), {}", r.nodes, r.relays, r.transport)
    });
    row("documents", &|r| {
        format!("{} of {}", r.documents_accepted, r.documents)
    });
    row("deliveries", &|r| {
        format!("{} of {}", r.deliveries, r.deliveries_expected)
    });
    row("delivered_ratio", &|r| format!("{:.4}", r.delivered_ratio));
    row("lost", &|r| r.lost.to_string());
    row("duplicates_applied", &|r| r.duplicates_applied.to_string());
    row("statuses sent (02 / 15)", &|r| {
        format!("{} ({} / {})", r.statuses_sent, r.rejected, r.taken_back)
    });
    row("receipts missing at end", &|r| {
        r.receipts_missing.to_string()
    });
    row("receipt 01 p50/p95/p99", &|r| pct(&r.latency_01_ms, "ms"));
    row("06 p50/p95/p99 (simulated)", &|r| pct(&r.latency_06_s, "s"));
    row(
        "convergence after heals",
        &|r| match (r.convergence_max_ms, r.convergence_after_heal.len()) {
            (_, 0) => "no heals".to_owned(),
            (Some(ms), n)
                if r.convergence_after_heal
                    .iter()
                    .all(|c| c.converged_ms.is_some()) =>
            {
                format!("{n} heals, slowest {:.1} s", ms as f64 / 1000.0)
            }
            (_, n) => format!(
                "{} of {n} heals did not converge",
                r.convergence_after_heal
                    .iter()
                    .filter(|c| c.converged_ms.is_none())
                    .count()
            ),
        },
    );
    row("wire per delivery", &|r| {
        if r.transport != "memory" {
            return "not measured (no simulated links)".to_owned();
        }
        if r.nodes == 0 {
            return "not measured (HTTP to the test axis)".to_owned();
        }
        format!(
            "{:.1} KB, {:.1} messages",
            r.wire_bytes_per_document / 1000.0,
            r.wire_messages_per_document
        )
    });
    row("memory", &|r| {
        format!(
            "{:.1} MB per node, peak {:.0} MB",
            r.memory_per_node_mb, r.peak_rss_mb
        )
    });
    row("time", &|r| {
        format!(
            "{:.0} s simulated in {:.1} s ({}x)",
            r.simulated_s, r.wall_s, r.time_scale
        )
    });
    row("settled", &|r| r.settled.to_string());
    let width = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    let col = rows
        .iter()
        .flat_map(|(_, v)| v.iter().map(|s| s.chars().count()))
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (name, values) in rows {
        let _ = write!(out, "{name:<width$}");
        for v in values {
            let _ = write!(out, "  {v:<col$}");
        }
        out.push('\n');
    }
    for run in runs.iter().filter(|r| !r.paths.is_empty()) {
        let _ = writeln!(
            out,
            "\nper path ({}): sent, delivered, lost, applied twice, 01 back, 06 back, statuses missing",
            run.mode
        );
        for p in &run.paths {
            let _ = writeln!(
                out,
                "  {:<18} {:>5} sent  {:>5} delivered  {} lost  {} applied twice  01 back {}/{}  06 back {}/{}  {} missing",
                p.path.to_string(),
                p.sent,
                p.delivered,
                p.lost,
                p.applied_twice,
                p.back_01,
                p.delivered,
                p.back_06,
                p.issued_06,
                p.statuses_missing
            );
        }
        if let Some(axis) = &run.axis {
            let _ = writeln!(
                out,
                "  test axis: {} sends, {} copies done, {} still pending",
                axis.sends, axis.done, axis.pending
            );
        }
    }
    for run in runs.iter().filter(|r| !r.lost_examples.is_empty()) {
        let _ = writeln!(
            out,
            "\nnot arrived ({}), first {}:",
            run.mode,
            run.lost_examples.len()
        );
        for lost in &run.lost_examples {
            let _ = writeln!(
                out,
                "  document {} {} → {}: {}",
                lost.document,
                lost.from,
                lost.to,
                lost.sender_view
                    .as_deref()
                    .unwrap_or("the sender could not be asked")
            );
        }
    }
    out
}

/// Whether a run kept the promise: nothing lost, nothing applied twice.
pub fn failures(run: &RunReport) -> Vec<String> {
    let mut out = Vec::new();
    if run.lost > 0 {
        out.push(format!("{}: {} deliveries lost", run.mode, run.lost));
    }
    if run.duplicates_applied > 0 {
        out.push(format!(
            "{}: {} duplicates applied",
            run.mode, run.duplicates_applied
        ));
    }
    for p in run.paths.iter().filter(|p| !p.kept_its_promise()) {
        out.push(format!(
            "{} ({}): {} lost, {} applied twice, 01 back {}/{}, 06 back {}/{}, {} statuses missing",
            run.mode,
            p.path,
            p.lost,
            p.applied_twice,
            p.back_01,
            p.delivered,
            p.back_06,
            p.issued_06,
            p.statuses_missing
        ));
    }
    out
}

/// Writes `<scenario>-latency.svg` and `<scenario>-timeline.svg` into `dir`.
///
/// # Errors
/// When the files cannot be written.
pub fn plot(runs: &[RunReport], dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let Some(first) = runs.first() else {
        return Ok(Vec::new());
    };
    let latency = dir.join(format!("{}-latency.svg", first.scenario));
    plots::latency_chart(
        &latency,
        &format!("{}: submit → receipt 01 (Đã đến)", first.scenario),
        "ms",
        &runs
            .iter()
            .map(|r| (format!("receipt 01, {}", r.mode), r.latencies_01.clone()))
            .collect::<Vec<_>>(),
    )?;
    let timeline = dir.join(format!("{}-timeline.svg", first.scenario));
    let series: Vec<Series> = runs
        .iter()
        .flat_map(|r| {
            [
                Series {
                    label: format!("deliveries, {}", r.mode),
                    points: r
                        .deliveries_over_time
                        .iter()
                        .map(|(t, c)| (*t, *c as f64))
                        .collect(),
                },
                Series {
                    label: format!("receipts at senders, {}", r.mode),
                    points: r
                        .receipts_over_time
                        .iter()
                        .map(|(t, c)| (*t, *c as f64))
                        .collect(),
                },
            ]
        })
        .collect();
    let bands: Vec<Band> = runs
        .iter()
        .flat_map(|r| {
            r.faults.iter().map(move |f| Band {
                start_s: f.from_s,
                end_s: f.to_s,
                label: if runs.len() > 1 {
                    format!("{} ({})", f.label, r.mode)
                } else {
                    f.label.clone()
                },
            })
        })
        .collect();
    plots::timeline_chart(
        &timeline,
        &format!("{}: deliveries and receipts over time", first.scenario),
        "simulated seconds",
        "per interval",
        &series,
        &bands,
    )?;
    Ok(vec![latency, timeline])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let p = Percentiles::of((1..=100).map(f64::from).collect());
        assert_eq!(
            (p.p50, p.p95, p.p99, p.max, p.count),
            (50.0, 95.0, 99.0, 100.0, 100)
        );
        assert_eq!(Percentiles::of(Vec::new()), Percentiles::default());
        assert_eq!(Percentiles::of(vec![f64::NAN, 3.0]).p99, 3.0);
    }

    #[test]
    fn buckets_cover_the_run() {
        let b = buckets(&[0.0, 1.0, 59.0, 61.0], 60.0);
        assert_eq!(b.iter().map(|(_, c)| c).sum::<usize>(), 4);
        assert_eq!(b[0], (0.0, 1));
        assert_eq!(b[59], (59.0, 1));
    }
}
