//! `lienthong-sim soak`: rounds of kill -9 under continuous traffic, then every promise
//! checked and the nodes' memory measured.
//!
//! N `lienthong` processes on loopback, each on ports it keeps across restarts (as an
//! agency's server does), exchange the real sample document `edoc_new.edxml`: mostly small
//! (its attachment cut), a share with an attachment of a few MB. QLVB clients on every node
//! keep submitting ([`traffic`]). Each round waits until more documents were acknowledged,
//! kills one node with SIGKILL (round robin), starts it again from its data directory and
//! waits until it answers. After the last round the traffic stops, every node is given time
//! to deliver what it acknowledged, and [`check`] verifies, for every acknowledged document
//! and each of its recipients: it arrived, exactly once, with the bytes submitted, and the
//! sender recorded the recipient's receipt 01. Last, each node's resident memory is compared
//! with what it held idle at the start plus its store's page cache plus a margin.
//!
//! Memory is measured and reported here, with a bound that makes the command fail, never
//! asserted in the test suite.

mod check;
mod documents;
mod traffic;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use serde::Serialize;

pub use check::{Findings, Problem};
use documents::Sample;
use traffic::{Api, Client, Ledger};

use crate::process::{Federation, ProcessNode, configure, tail, wait_for};

/// How long a round may wait for its documents before the run gives up.
const ROUND_DEADLINE: Duration = Duration::from_secs(600);
/// How long a restarted node may take to answer on its API.
const RESTART_DEADLINE: Duration = Duration::from_secs(60);

/// What a soak does.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// Nodes in the federation (at least 2).
    pub nodes: usize,
    /// Rounds of kill -9 and restart, one node per round, round robin.
    pub rounds: usize,
    /// Documents to have acknowledged over the run, about: each round waits for
    /// `documents / (rounds + 1)` more before its kill, and the traffic runs for one more
    /// share after the last restart.
    pub documents: usize,
    /// Share of documents with a large attachment (0 to 1).
    pub large_share: f64,
    /// Size range of the large documents (edXML bytes).
    pub large_bytes: (usize, usize),
    /// QLVB clients submitting to each node at once.
    pub clients: usize,
    /// A client waits while its node has more deliveries pending than this.
    pub backlog: u64,
    /// The random seed of recipients, sizes and attachments.
    pub seed: u64,
    /// How long, after the traffic stops, every acknowledged document has to be delivered.
    pub drain: Duration,
    /// The memory bound is each node's idle RSS + its store cache + this, MiB.
    pub memory_margin_mib: f64,
    /// Keep the nodes' data directories and logs in this directory.
    pub keep: Option<PathBuf>,
    /// `config.toml` settings for every node: key (unique in the file) and the TOML value
    /// as written there, e.g. `("store_cache", "\"16 MiB\"")`.
    pub settings: Vec<(String, String)>,
}

impl Default for SoakOptions {
    /// The run issue 22 describes: 3 nodes, 25 rounds, about 5,000 documents, 4% of them
    /// 2–8 MB.
    fn default() -> Self {
        SoakOptions {
            nodes: 3,
            rounds: 25,
            documents: 5000,
            large_share: 0.04,
            large_bytes: (2_000_000, 8_000_000),
            clients: 2,
            backlog: 200,
            seed: 1,
            drain: Duration::from_secs(600),
            memory_margin_mib: DEFAULT_MARGIN_MIB,
            keep: None,
            settings: Vec::new(),
        }
    }
}

/// The default memory margin above idle + store cache, MiB: what a node holds beyond them
/// once the traffic has drained when the allocator gives freed memory back (measured with
/// glibc's `MALLOC_MMAP_THRESHOLD_=524288`: 37–55 MiB above idle in the default soak, and
/// glibc's own count of bytes in use in nodes that ran 15,000 documents). With glibc's
/// defaults, freed multi-MB package buffers stay resident and nodes end above it; see
/// `simulations/README.md`, "Soak".
pub const DEFAULT_MARGIN_MIB: f64 = 64.0;

impl SoakOptions {
    /// Checks that the options make a run.
    ///
    /// # Errors
    /// Names the option that does not.
    pub fn check(&self) -> anyhow::Result<()> {
        if !(2..=99).contains(&self.nodes) {
            bail!("--nodes must be between 2 and 99");
        }
        if self.rounds == 0 || self.clients == 0 || self.backlog == 0 {
            bail!("--rounds, --clients and the backlog must be above zero");
        }
        if self.documents <= self.rounds {
            bail!("--documents must be above --rounds: each round waits for more documents");
        }
        if !(0.0..=1.0).contains(&self.large_share) {
            bail!("--large-share must be between 0 and 1");
        }
        if self.large_bytes.0 > self.large_bytes.1 || self.large_bytes.0 < 100_000 {
            bail!(
                "large documents: the smallest must be at least 100 KB and not above the largest"
            );
        }
        if self.large_bytes.1 > 60 * 1024 * 1024 {
            bail!("large documents must stay below the node's 64 MiB package limit");
        }
        Ok(())
    }
}

/// One round: which node was killed, when, and how soon it answered again.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    pub round: usize,
    pub node: String,
    /// Documents acknowledged over the whole federation when the SIGKILL was sent.
    pub acknowledged_at_kill: usize,
    /// From the SIGKILL to the restarted node answering on its API.
    pub back_after_ms: u64,
}

/// One node's resident memory.
#[derive(Debug, Clone, Serialize)]
pub struct NodeMemory {
    pub organ_id: String,
    /// After start and its first roster load, before any traffic.
    pub idle_mib: f64,
    /// After the traffic drained (its last process, started at its last restart).
    pub final_mib: f64,
    /// The high-water mark of its last process (`VmHWM`).
    pub peak_mib: f64,
    /// Its store's page cache, `[limits] store_cache`.
    pub store_cache_mib: f64,
    /// `idle_mib + store_cache_mib + margin`.
    pub bound_mib: f64,
    /// How many times it was killed.
    pub kills: usize,
}

/// What a soak did and found.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    pub nodes: usize,
    pub rounds: Vec<Round>,
    /// Documents the nodes acknowledged (202).
    pub documents_acknowledged: usize,
    /// Of those, with a large attachment, and their bytes.
    pub large_documents: usize,
    pub large_bytes: u64,
    /// Bytes of every acknowledged document.
    pub bytes_acknowledged: u64,
    /// Submissions that got no answer because their node was killed, sent again.
    pub submissions_interrupted: usize,
    /// Of those, the ones the node had stored before it died (answered `duplicate`).
    pub interrupted_found_stored: usize,
    /// Submissions refused (4xx), with the node's answer; none expected.
    pub refused: Vec<String>,
    /// Whether every node had delivered everything before the drain deadline.
    pub drained: bool,
    /// Seconds of traffic, of drain, and of the whole run (start-up included).
    pub traffic_s: f64,
    pub drain_s: f64,
    pub wall_s: f64,
    /// Lost, duplicated, changed, missing receipts 01.
    pub findings: Findings,
    /// Memory per node, and the margin of the bound.
    pub memory: Vec<NodeMemory>,
    pub memory_margin_mib: f64,
    /// Where the nodes' data directories and logs were kept, if they were.
    pub kept: Option<PathBuf>,
}

const NAMES: [&str; 6] = [
    "Văn phòng UBND tỉnh",
    "Sở Nội vụ",
    "Sở Tư pháp",
    "Sở Tài chính",
    "Sở Y tế",
    "Sở Giáo dục và Đào tạo",
];

/// Runs a soak and checks it. The report says what broke, if anything did; when a promise
/// broke, the nodes' data directories and logs are kept (the report says where).
///
/// # Errors
/// When the federation cannot be set up, a node does not come back, or a node exits by
/// itself; the data directories are then kept and the error says where.
pub fn run(options: &SoakOptions, progress: &mut dyn FnMut(&str)) -> anyhow::Result<SoakReport> {
    options.check()?;
    let federation = match &options.keep {
        Some(dir) => Federation::new_in(dir, "Liên thông thử bền")?,
        None => Federation::new("Liên thông thử bền")?,
    };
    match soak(&federation, options, progress) {
        Ok(mut report) => {
            // The stores hold what to look at when a promise broke; memory over its bound
            // is in the report, and a soak's stores take gigabytes.
            let broken = !promise_failures(&report).is_empty();
            if options.keep.is_some() || broken {
                report.kept = Some(federation.keep());
            }
            Ok(report)
        }
        Err(error) => {
            let kept = federation.keep();
            Err(error.context(format!(
                "the nodes' data directories and logs are kept in {}",
                kept.display()
            )))
        }
    }
}

/// One node of the soak.
struct Member {
    organ: String,
    dir: PathBuf,
    api: Api,
    node: Option<ProcessNode>,
    kills: usize,
}

fn soak(
    federation: &Federation,
    options: &SoakOptions,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<SoakReport> {
    let begin = Instant::now();
    let sample = Sample::load()?;
    let mut members = start(federation, options)?;
    let organs: Vec<String> = members.iter().map(|m| m.organ.clone()).collect();
    let mut idle = Vec::new();
    for m in &members {
        idle.push(memory_of(m)?.0);
    }
    progress(&format!(
        "{} nodes answering, idle RSS {} MiB",
        members.len(),
        idle.iter()
            .map(|mb| format!("{mb:.1}"))
            .collect::<Vec<_>>()
            .join(" / ")
    ));

    let ledger = Ledger::default();
    let stop = AtomicBool::new(false);
    let per_round = options.documents.div_ceil(options.rounds + 1);
    let clients: Vec<Client> = (0..members.len())
        .flat_map(|from| {
            let (api, organs) = (members[from].api.clone(), organs.clone());
            (0..options.clients).map(move |number| Client {
                api: api.clone(),
                from,
                organs: organs.clone(),
                number,
                seed: options.seed,
                large_share: options.large_share,
                large_bytes: options.large_bytes,
                backlog: options.backlog,
            })
        })
        .collect();
    let traffic_start = Instant::now();
    let rounds = std::thread::scope(|s| {
        for client in &clients {
            let (sample, ledger, stop) = (&sample, &ledger, &stop);
            s.spawn(move || client.run(sample, ledger, stop));
        }
        let rounds = kill_rounds(&mut members, options, per_round, &ledger, progress);
        stop.store(true, Ordering::Release);
        rounds
    })?;
    if let Some(fatal) = ledger.fatal() {
        bail!("a QLVB client stopped: {fatal}");
    }
    let traffic_s = traffic_start.elapsed().as_secs_f64();
    let acked = ledger.acked();
    progress(&format!(
        "traffic stopped after {traffic_s:.0} s: {} documents acknowledged; waiting for every one to be delivered",
        acked.len()
    ));

    let drain_start = Instant::now();
    let drained = wait_for(
        "every node to have delivered everything it acknowledged",
        options.drain,
        || {
            let pending: Option<u64> = members.iter().map(|m| m.api.pending()).sum();
            (pending == Some(0)).then_some(())
        },
    )
    .is_ok();
    let drain_s = drain_start.elapsed().as_secs_f64();
    progress(&format!(
        "{} after {drain_s:.1} s; checking every copy",
        if drained { "drained" } else { "NOT drained" }
    ));

    let mut memory = Vec::new();
    for (m, idle_mib) in members.iter().zip(idle) {
        let (final_mib, peak_mib) = memory_of(m)?;
        let store_cache_mib = store_cache_mib(&m.dir)?;
        memory.push(NodeMemory {
            organ_id: m.organ.clone(),
            idle_mib,
            final_mib,
            peak_mib,
            store_cache_mib,
            bound_mib: idle_mib + store_cache_mib + options.memory_margin_mib,
            kills: m.kills,
        });
    }

    let apis: Vec<Api> = members.iter().map(|m| m.api.clone()).collect();
    let dirs: Vec<&Path> = members.iter().map(|m| m.dir.as_path()).collect();
    let findings = check::check(
        &check::Nodes {
            organs: &organs,
            apis: &apis,
            dirs: &dirs,
        },
        &acked,
    )?;
    let large: Vec<_> = acked.iter().filter(|a| a.large).collect();
    Ok(SoakReport {
        nodes: members.len(),
        rounds,
        documents_acknowledged: acked.len(),
        large_documents: large.len(),
        large_bytes: large.iter().map(|a| a.bytes as u64).sum(),
        bytes_acknowledged: acked.iter().map(|a| a.bytes as u64).sum(),
        submissions_interrupted: ledger.interrupted(),
        interrupted_found_stored: ledger.found_stored(),
        refused: ledger.refused(),
        drained,
        traffic_s,
        drain_s,
        wall_s: begin.elapsed().as_secs_f64(),
        findings,
        memory,
        memory_margin_mib: options.memory_margin_mib,
        kept: None,
    })
}

/// Initialises, admits and starts the nodes, each on loopback ports of its own that it
/// keeps across restarts, and waits until each has loaded the roster.
fn start(federation: &Federation, options: &SoakOptions) -> anyhow::Result<Vec<Member>> {
    let ports = free_ports(2 * options.nodes)?;
    let mut members = Vec::new();
    for i in 0..options.nodes {
        let organ = format!("000.00.{:02}.H53", i + 1);
        let name = NAMES
            .get(i)
            .map_or_else(|| format!("Đơn vị {}", i + 1), |n| (*n).to_owned());
        let api_address = format!("127.0.0.1:{}", ports[2 * i + 1]);
        let dir = federation.init_on(
            &organ,
            &name,
            &[&format!("/ip4/127.0.0.1/tcp/{}", ports[2 * i])],
            &api_address,
            "agency",
        )?;
        for (key, value) in &options.settings {
            configure(&dir, key, value)?;
        }
        federation.admit(&dir)?;
        let token = std::fs::read_to_string(dir.join("api.token")).context("reading api.token")?;
        members.push(Member {
            organ,
            api: Api::new(&api_address, &token),
            node: Some(ProcessNode::start(&dir)?),
            dir,
            kills: 0,
        });
    }
    let running: Vec<&ProcessNode> = members.iter().filter_map(|m| m.node.as_ref()).collect();
    federation.wait_roster(&running)?;
    Ok(members)
}

/// The rounds: wait for more documents, kill one node, restart it, wait until it answers.
/// After the last, the traffic goes on for one more share of documents.
fn kill_rounds(
    members: &mut [Member],
    options: &SoakOptions,
    per_round: usize,
    ledger: &Ledger,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<Vec<Round>> {
    let mut rounds = Vec::new();
    for round in 1..=options.rounds {
        wait_acknowledged(members, ledger, per_round * round)?;
        let victim = (round - 1) % members.len();
        let member = &mut members[victim];
        let acknowledged_at_kill = ledger.count();
        let killed = Instant::now();
        if let Some(mut node) = member.node.take() {
            node.kill9();
        }
        member.kills += 1;
        member.node = Some(ProcessNode::start(&member.dir)?);
        wait_for(
            &format!("{} to answer after its restart", member.organ),
            RESTART_DEADLINE,
            || member.api.pending(),
        )?;
        let back_after_ms = u64::try_from(killed.elapsed().as_millis())?;
        progress(&format!(
            "round {round}/{}: {} killed at {acknowledged_at_kill} documents acknowledged, answering again after {:.1} s",
            options.rounds,
            member.organ,
            back_after_ms as f64 / 1000.0
        ));
        rounds.push(Round {
            round,
            node: member.organ.clone(),
            acknowledged_at_kill,
            back_after_ms,
        });
    }
    wait_acknowledged(members, ledger, per_round * (options.rounds + 1))?;
    Ok(rounds)
}

/// Waits until `target` documents were acknowledged; fails early when a client stopped or
/// a node exited by itself.
fn wait_acknowledged(members: &mut [Member], ledger: &Ledger, target: usize) -> anyhow::Result<()> {
    wait_for(
        &format!("{target} documents acknowledged"),
        ROUND_DEADLINE,
        || {
            if let Some(fatal) = ledger.fatal() {
                return Some(Err(anyhow!("a QLVB client stopped: {fatal}")));
            }
            for m in members.iter_mut() {
                if let Some(status) = m.node.as_mut().and_then(ProcessNode::exited) {
                    let log = m
                        .node
                        .as_ref()
                        .map(|n| tail(&n.log_text()))
                        .unwrap_or_default();
                    return Some(Err(anyhow!(
                        "{} exited by itself ({status})\n--- its log ---\n{log}",
                        m.organ
                    )));
                }
            }
            (ledger.count() >= target).then_some(Ok(()))
        },
    )?
}

/// A node's resident memory now and its process's high-water mark, MiB.
fn memory_of(member: &Member) -> anyhow::Result<(f64, f64)> {
    let node = member
        .node
        .as_ref()
        .ok_or_else(|| anyhow!("{} is not running", member.organ))?;
    let status = std::fs::read_to_string(format!("/proc/{}/status", node.info().pid))
        .with_context(|| format!("reading the memory of {}", member.organ))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow!("no {name} in /proc/{}/status", node.info().pid))?;
        Ok(kb / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// The node's `[limits] store_cache`, MiB.
fn store_cache_mib(dir: &Path) -> anyhow::Result<f64> {
    let config = lienthong_node::config::Config::load(&dir.join("config.toml"))
        .with_context(|| format!("reading {}", dir.join("config.toml").display()))?;
    Ok(config.limits.store_cache.as_u64() as f64 / 1_048_576.0)
}

/// Ports free on loopback now, distinct.
fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()
        .context("finding free loopback ports")?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}

/// What the soak broke, one line each; empty when every promise held and memory stayed
/// within its bound.
pub fn failures(report: &SoakReport) -> Vec<String> {
    let mut out = promise_failures(report);
    for m in &report.memory {
        if m.final_mib > m.bound_mib {
            out.push(format!(
                "{}: {:.1} MiB resident after the soak, above its bound of {:.1} MiB (idle {:.1} + store cache {:.1} + margin {:.1})",
                m.organ_id,
                m.final_mib,
                m.bound_mib,
                m.idle_mib,
                m.store_cache_mib,
                report.memory_margin_mib
            ));
        }
    }
    out
}

/// What the soak broke of lienthong's promises (everything but memory), one line each.
pub fn promise_failures(report: &SoakReport) -> Vec<String> {
    let f = &report.findings;
    let mut out = Vec::new();
    for (count, what) in [
        (f.lost, "copies lost"),
        (f.duplicated, "copies duplicated"),
        (f.changed, "copies changed"),
        (f.missing_01, "receipts 01 missing at their sender"),
        (report.refused.len(), "submissions refused"),
    ] {
        if count > 0 {
            out.push(format!("{count} {what}"));
        }
    }
    if !report.drained {
        out.push(
            "not every acknowledged document was delivered before the drain deadline".to_owned(),
        );
    }
    out
}

/// The report for people.
pub fn table(report: &SoakReport) -> String {
    let f = &report.findings;
    let mut out = format!(
        "soak: {} nodes, {} rounds of kill -9 under traffic, {} documents acknowledged ({:.1} MB; {} large, {:.1} MB), {} copies to deliver\n",
        report.nodes,
        report.rounds.len(),
        report.documents_acknowledged,
        report.bytes_acknowledged as f64 / 1e6,
        report.large_documents,
        report.large_bytes as f64 / 1e6,
        f.copies,
    );
    out.push_str(&format!(
        "traffic {:.0} s, drain {:.1} s{}, whole run {:.0} s; restart to answering: {}\n",
        report.traffic_s,
        report.drain_s,
        if report.drained { "" } else { " (NOT drained)" },
        report.wall_s,
        restart_summary(&report.rounds),
    ));
    out.push_str(&format!(
        "submissions cut by a kill and sent again: {} ({} of them had been stored before the kill)\n",
        report.submissions_interrupted, report.interrupted_found_stored
    ));
    out.push_str(&format!(
        "lost {}   duplicated {}   changed {}   missing 01 {}   refused {}   delivered unacknowledged {}\n",
        f.lost,
        f.duplicated,
        f.changed,
        f.missing_01,
        report.refused.len(),
        f.unacknowledged_delivered
    ));
    out.push_str(&format!(
        "\n{:<16} {:>6} {:>9} {:>9} {:>9} {:>11} {:>9}\n",
        "memory (MiB)", "kills", "idle", "final", "peak", "store cache", "bound"
    ));
    for m in &report.memory {
        out.push_str(&format!(
            "{:<16} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>11.1} {:>9.1}{}\n",
            m.organ_id,
            m.kills,
            m.idle_mib,
            m.final_mib,
            m.peak_mib,
            m.store_cache_mib,
            m.bound_mib,
            if m.final_mib > m.bound_mib {
                "  OVER"
            } else {
                ""
            }
        ));
    }
    out.push_str(&format!(
        "bound = idle + store cache + {:.0} MiB\n",
        report.memory_margin_mib
    ));
    for p in &f.examples {
        out.push_str(&format!(
            "\n{} {} ({}) {} -> {}: {}\n  sender: {}\n",
            p.problem, p.package, p.document, p.from, p.to, p.detail, p.sender_view
        ));
        for line in &p.log {
            out.push_str(&format!("  {line}\n"));
        }
    }
    for r in report.refused.iter().take(10) {
        out.push_str(&format!("\nrefused: {r}\n"));
    }
    if let Some(dir) = &report.kept {
        out.push_str(&format!(
            "\nthe nodes' data directories and logs are kept in {}\n",
            dir.display()
        ));
    }
    out
}

/// Median and slowest restart, seconds.
fn restart_summary(rounds: &[Round]) -> String {
    let mut ms: Vec<u64> = rounds.iter().map(|r| r.back_after_ms).collect();
    if ms.is_empty() {
        return "no rounds".to_owned();
    }
    ms.sort_unstable();
    format!(
        "median {:.1} s, slowest {:.1} s",
        ms[ms.len() / 2] as f64 / 1000.0,
        ms[ms.len() - 1] as f64 / 1000.0
    )
}
