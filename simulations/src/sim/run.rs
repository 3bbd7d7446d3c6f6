//! Running a plan: the clock, the faults, and each agency's QLVB (submit documents, poll
//! the inbox, acknowledge, answer with statuses, ask for documents back, watch the
//! receipts of what it sent), against real nodes.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lienthong_protocol::MessageKind;
use lienthong_protocol::edxml::StatusCode;
use lienthong_protocol::envelope::PackageId;
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};

use super::agency::Agency;
use super::axis_qlvb::{AxisQlvb, axis_secret};
use super::fleet::{Fleet, ProcessFleet};
use super::ledger::Ledger;
use super::messages;
use super::plan::Plan;
use super::report::{self, RunReport};
use super::scenario::FaultKind;
use super::world::World;
use crate::axis::{self, StateSummary, Switches, TestAxis};

/// How the nodes of a run are started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// In this process, on the memory transport through simulated links.
    Memory,
    /// Each a `lienthong` process on loopback TCP.
    Processes,
}

/// How often the simulation looks at the clock.
const TICK: Duration = Duration::from_millis(50);

/// After the drain deadline, how long (real time) what is in flight may take to arrive.
const CLOSING_GRACE: Duration = Duration::from_secs(60);

/// Past [`CLOSING_GRACE`], the wait goes on while copies or receipts are still arriving
/// (one did within [`CLOSING_PROGRESS`]), up to this long in all: on a machine shared by a
/// thousand nodes, a copy still on its way is late, not lost, and the report should say
/// which it is.
const CLOSING_GRACE_MAX: Duration = Duration::from_secs(240);

/// How recent the last arrival must be for the closing wait to go on past its minimum.
const CLOSING_PROGRESS: Duration = Duration::from_secs(30);

/// Submissions a QLVB retries before it gives up on a status.
const MAX_STATUS_ATTEMPTS: u32 = 50;

/// Runs `plan` with every node in this process, in a fresh directory under `root`.
///
/// # Errors
/// When the nodes cannot be built or started.
pub async fn run(
    plan: Plan,
    transport: Transport,
    root: &Path,
    settings: &[(String, String)],
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<RunReport> {
    let plan = Arc::new(plan);
    let rss_before = report::rss_mb();
    let built = Instant::now();
    let axis = match &plan.axis {
        Some(name) => {
            let axis = AxisRun::start(&plan)?;
            progress(&format!(
                "{name}: a test axis on {} for {} agencies, {} of them only on the axis",
                axis.axis.endpoint(),
                plan.sites.iter().filter(|s| !s.relay).count(),
                plan.sites.iter().filter(|s| s.on_axis).count(),
            ));
            Some(axis)
        }
        None => None,
    };
    let mut world = {
        let plan = plan.clone();
        let root = root.to_path_buf();
        let mut settings = settings.to_vec();
        if let Some(axis) = &axis {
            settings.extend(axis.node_settings());
        }
        tokio::task::spawn_blocking(move || match transport {
            Transport::Memory => World::build(&plan, &root, &settings).map(Fleet::Memory),
            Transport::Processes => {
                ProcessFleet::build(&plan, &root, &settings).map(Fleet::Processes)
            }
        })
        .await??
    };
    progress(&format!(
        "{} nodes initialised and admitted in {:.1} s",
        world.len(),
        built.elapsed().as_secs_f64()
    ));
    let first: Vec<usize> = plan
        .node_sites()
        .filter(|&i| plan.sites[i].joins.is_zero())
        .collect();
    let started = Instant::now();
    world.start(&first).await?;
    progress(&format!(
        "{} nodes started in {:.1} s",
        first.len(),
        started.elapsed().as_secs_f64()
    ));
    if transport == Transport::Processes && plan.networks.len() > 1 {
        progress(
            "note: on loopback every process reaches every other; the scenario's separate networks are not enforced",
        );
    }
    let mut sim = Simulation::new(plan.clone(), world, axis);
    let outcome = sim.run(progress).await;
    let final_sweep = sim.sweep().await;
    sim.world.shutdown().await;
    if let Some(axis) = sim.axis.take() {
        sim.measures.axis = Some(axis.axis.summary());
        tokio::task::spawn_blocking(move || axis.stop()).await?;
    }
    outcome?;
    final_sweep?;
    let mut report = report::build(&sim.plan, &sim.ledger, &sim.measures, rss_before);
    if transport == Transport::Processes {
        report.transport = "processes".to_owned();
    }
    Ok(report)
}

/// Figures measured during the run, beside the ledger.
#[derive(Debug, Default)]
pub struct Measures {
    /// Real seconds from the first tick to the end.
    pub wall_s: f64,
    /// Simulated seconds at the end.
    pub simulated_s: f64,
    /// The largest resident set seen, MB.
    pub peak_rss_mb: f64,
    /// Messages on the wire in all.
    pub messages: u64,
    /// Bytes on the wire in all.
    pub bytes: u64,
    /// Nodes.
    pub nodes: usize,
    /// Faults: (label, kind, from s, to s), simulated.
    pub faults: Vec<(String, FaultKind, f64, f64)>,
    /// Documents found stored at their recipient in the final sweep, though its QLVB had
    /// not fetched them yet.
    pub stored_unfetched: usize,
    /// Whether everything settled before the drain deadline.
    pub settled: bool,
    /// The most peers connected per node, on average, seen during the run.
    pub connections_per_node: f64,
    /// What the test axis held at the end, when the run had one.
    pub axis: Option<StateSummary>,
}

/// The run's test axis and the QLVBs of the agencies only on it.
struct AxisRun {
    axis: TestAxis,
    /// The QLVBs' calls run on this runtime's blocking threads, apart from the nodes'.
    runtime: Option<tokio::runtime::Runtime>,
    /// Per site: its QLVB, when it is only on the axis.
    qlvbs: Vec<Option<Arc<AxisQlvb>>>,
}

impl AxisRun {
    /// A test axis on loopback with an account for every agency of `plan` (every agency has
    /// one, those with a node too: the node's bridge uses it), and the QLVBs of the
    /// agencies only on the axis.
    fn start(plan: &Plan) -> anyhow::Result<AxisRun> {
        let agencies = plan
            .sites
            .iter()
            .filter(|s| !s.relay)
            .map(|s| axis::AxisAgency {
                code: s.organ_id.clone(),
                name: s.name.clone(),
                secret: axis_secret(&s.organ_id),
            })
            .collect();
        let axis = TestAxis::start(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), agencies)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(256)
            .thread_name("axis-qlvb")
            .enable_all()
            .build()?;
        let qlvbs = plan
            .sites
            .iter()
            .map(|s| {
                s.on_axis.then(|| {
                    Arc::new(AxisQlvb::new(
                        &s.organ_id,
                        &axis.endpoint(),
                        runtime.handle().clone(),
                    ))
                })
            })
            .collect();
        Ok(AxisRun {
            axis,
            runtime: Some(runtime),
            qlvbs,
        })
    }

    /// `[axis]` of every node: the bridge on, to this test axis, polling at a pace that
    /// fits a run of minutes (real time).
    fn node_settings(&self) -> Vec<(String, String)> {
        [
            ("axis.enabled", "true".to_owned()),
            ("axis.endpoint", format!("{:?}", self.axis.endpoint())),
            ("axis.poll_interval", "\"500ms\"".to_owned()),
            ("axis.directory_refresh", "\"60s\"".to_owned()),
            ("axis.connect_timeout", "\"5s\"".to_owned()),
            ("axis.request_timeout", "\"30s\"".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Stops the QLVBs' runtime and the test axis (blocking).
    fn stop(mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        drop(self.axis);
    }
}

struct Simulation {
    plan: Arc<Plan>,
    world: Fleet,
    axis: Option<AxisRun>,
    ledger: Ledger,
    measures: Measures,
    next_poll: Vec<f64>,
    status_attempts: std::collections::HashMap<(usize, usize), u32>,
    start: Instant,
    /// Past the drain deadline: QLVBs only poll and watch, they send nothing new.
    closing: bool,
}

/// What one node's QLVB does in one tick.
#[derive(Debug, Default)]
struct Job {
    site: usize,
    documents: Vec<usize>,
    /// (document, copy, code, from, to)
    statuses: Vec<(usize, usize, StatusCode, String, String)>,
    poll: bool,
    observe: Vec<(usize, PackageId)>,
}

/// What came of a job.
#[derive(Debug)]
enum Event {
    Accepted(usize, PackageId),
    Refused(usize, String),
    StatusAccepted(usize, usize, StatusCode),
    StatusRefused(usize, usize, String),
    Handed {
        site: usize,
        number: u64,
        package: PackageId,
        kind: MessageKind,
    },
    Observed {
        doc: usize,
        copy: usize,
        latency_01_ms: Option<u64>,
        codes: Vec<StatusCode>,
        status_duplicates: u32,
    },
}

impl Simulation {
    fn new(plan: Arc<Plan>, world: Fleet, axis: Option<AxisRun>) -> Simulation {
        let mut rng = StdRng::seed_from_u64(plan.seed ^ 0x51);
        let poll = plan.poll.as_secs_f64();
        Simulation {
            ledger: Ledger::new(&plan),
            measures: Measures {
                nodes: plan.node_sites().count(),
                ..Measures::default()
            },
            next_poll: (0..plan.sites.len())
                .map(|_| rng.random_range(0.0..poll))
                .collect(),
            status_attempts: Default::default(),
            plan,
            world,
            axis,
            start: Instant::now(),
            closing: false,
        }
    }

    fn now(&self) -> (Instant, f64) {
        let real = Instant::now();
        (
            real,
            real.duration_since(self.start).as_secs_f64() * self.plan.time_scale,
        )
    }

    async fn run(&mut self, progress: &mut dyn FnMut(&str)) -> anyhow::Result<()> {
        let plan = self.plan.clone();
        let traffic_end = plan.duration.max(plan.faults_end()).as_secs_f64();
        let deadline = traffic_end + plan.drain.as_secs_f64();
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut fault_started = vec![false; plan.faults.len()];
        let mut fault_ended = vec![false; plan.faults.len()];
        let mut last_report = Instant::now();
        let mut closing: Option<Instant> = None;
        let mut arrivals = (0usize, 0usize, Instant::now());
        self.start = Instant::now();
        loop {
            ticker.tick().await;
            let now = self.now();
            self.world.restarted()?;
            self.apply_faults(&mut fault_started, &mut fault_ended, now)?;
            let joining: Vec<usize> = plan
                .node_sites()
                .filter(|&i| !self.world.started(i) && plan.sites[i].joins.as_secs_f64() <= now.1)
                .collect();
            if !joining.is_empty() {
                self.world.start(&joining).await?;
                progress(&format!("t={:.0}s: {} nodes joined", now.1, joining.len()));
            }
            let jobs = self.jobs(now.1);
            for event in self.execute(jobs).await {
                self.apply(event);
            }
            self.ledger.check_heals(now.0);
            self.measures.peak_rss_mb = self.measures.peak_rss_mb.max(self.world.rss_mb());
            let settled = self.settled();
            if last_report.elapsed() > Duration::from_secs(10) {
                last_report = Instant::now();
                let delivered = self.ledger.delivered_at.len();
                let connections = self.world.connections_per_node().await;
                self.measures.connections_per_node =
                    self.measures.connections_per_node.max(connections);
                progress(&format!(
                    "t={:.0}s simulated ({:.0}%): {} of {} deliveries, {} receipts outstanding, {:.1} peers connected per node, {:.0} MB",
                    now.1,
                    100.0 * now.1 / traffic_end,
                    delivered,
                    plan.deliveries(),
                    self.ledger.outstanding().len(),
                    connections,
                    self.world.rss_mb(),
                ));
            }
            if now.1 >= traffic_end && settled {
                self.measures.settled = true;
                break;
            }
            if now.1 >= deadline {
                // QLVBs stop answering; what is in flight gets a bounded real-time grace
                // to arrive, so that the report's missing receipts are the network's, not
                // answers cut off mid-flight.
                let since = *closing.get_or_insert_with(|| {
                    progress("the drain deadline passed before every QLVB finished answering; waiting for what is in flight");
                    Instant::now()
                });
                self.closing = true;
                let arrived = self
                    .ledger
                    .sent
                    .iter()
                    .all(|s| s.package.is_none() || s.copies.iter().all(|c| c.seen.is_some()));
                let outstanding = self.ledger.outstanding().len();
                let delivered = self.ledger.delivered_at.len();
                if (delivered, outstanding) != (arrivals.0, arrivals.1) {
                    arrivals = (delivered, outstanding, Instant::now());
                }
                let waited = since.elapsed();
                let still_arriving = arrivals.2.elapsed() < CLOSING_PROGRESS;
                if (arrived && outstanding == 0)
                    || (waited > CLOSING_GRACE && !still_arriving)
                    || waited > CLOSING_GRACE_MAX
                {
                    break;
                }
            }
        }
        let now = self.now();
        self.measures.wall_s = now.0.duration_since(self.start).as_secs_f64();
        self.measures.simulated_s = now.1;
        if let Some((bytes, messages)) = self.world.wire() {
            self.measures.bytes = bytes;
            self.measures.messages = messages;
        }
        self.measures.faults = plan
            .faults
            .iter()
            .map(|f| {
                (
                    f.label.clone(),
                    f.kind,
                    f.at.as_secs_f64(),
                    f.until.as_secs_f64(),
                )
            })
            .collect();
        Ok(())
    }

    fn settled(&self) -> bool {
        self.ledger.settled()
            && self
                .plan
                .documents
                .iter()
                .zip(&self.ledger.sent)
                .all(|(d, s)| d.take_back_after.is_none() || s.take_back_sent)
    }

    fn apply_faults(
        &mut self,
        started: &mut [bool],
        ended: &mut [bool],
        now: (Instant, f64),
    ) -> anyhow::Result<()> {
        let plan = self.plan.clone();
        let mut links_changed = false;
        let mut axis_changed = false;
        for (i, fault) in plan.faults.iter().enumerate() {
            if !started[i] && fault.at.as_secs_f64() <= now.1 {
                started[i] = true;
                tracing::info!(fault = %fault.label, "fault starts");
                if fault.axis {
                    axis_changed = true;
                } else if fault.kind == FaultKind::Crash {
                    for &n in &fault.nodes {
                        self.world.crash(n);
                    }
                } else {
                    links_changed = true;
                }
            }
            if started[i] && !ended[i] && fault.until.as_secs_f64() <= now.1 {
                ended[i] = true;
                tracing::info!(fault = %fault.label, "fault ends");
                if fault.axis {
                    axis_changed = true;
                } else if fault.kind == FaultKind::Crash {
                    let restart: Vec<usize> = fault
                        .nodes
                        .iter()
                        .copied()
                        .filter(|&n| self.world.started(n))
                        .collect();
                    self.world.restart(&restart)?;
                } else {
                    links_changed = true;
                }
                self.ledger.heal(&fault.label, now);
            }
        }
        if links_changed {
            let active = plan
                .faults
                .iter()
                .enumerate()
                .filter(|(i, f)| started[*i] && !ended[*i] && !f.axis)
                .map(|(_, f)| f.clone())
                .collect();
            self.world.set_link_faults(active);
        }
        if axis_changed && let Some(axis) = &self.axis {
            // The switches are those of every axis fault in force now.
            let mut switches = Switches::default();
            for (_, fault) in plan
                .faults
                .iter()
                .enumerate()
                .filter(|(i, f)| started[*i] && !ended[*i] && f.axis)
            {
                match fault.kind {
                    FaultKind::Crash => switches.down = true,
                    _ => {
                        switches.slow_ms = switches
                            .slow_ms
                            .max(u64::try_from(fault.delay.as_millis()).unwrap_or(u64::MAX));
                    }
                }
            }
            tracing::info!(?switches, "the test axis's switches");
            axis.axis.set_switches(switches);
        }
        Ok(())
    }

    /// What each running node's QLVB has to do now.
    fn jobs(&mut self, now_s: f64) -> Vec<(Arc<dyn Agency>, Job)> {
        let plan = &self.plan;
        let mut jobs: Vec<Job> = (0..plan.sites.len())
            .map(|site| Job {
                site,
                ..Job::default()
            })
            .collect();
        for (d, doc) in plan.documents.iter().enumerate() {
            if doc.at.as_secs_f64() > now_s {
                break;
            }
            let sent = &mut self.ledger.sent[d];
            if sent.package.is_none() {
                jobs[doc.from].documents.push(d);
                continue;
            }
            let sender = &plan.sites[doc.from].organ_id;
            if let (Some(after), Some(arrived), false) = (
                doc.take_back_after,
                sent.all_arrived_at,
                sent.take_back_sent,
            ) && now_s >= arrived + after.as_secs_f64()
            {
                sent.take_back_sent = true;
                for &r in &doc.to {
                    jobs[doc.from].statuses.push((
                        d,
                        usize::MAX,
                        StatusCode::TakeBackRequested,
                        sender.clone(),
                        plan.sites[r].organ_id.clone(),
                    ));
                }
            }
            for (r, copy) in sent.copies.iter().enumerate() {
                if let Some((code, due)) = copy.next
                    && due <= now_s
                {
                    jobs[doc.to[r]].statuses.push((
                        d,
                        r,
                        code,
                        plan.sites[doc.to[r]].organ_id.clone(),
                        sender.clone(),
                    ));
                }
            }
        }
        let poll = plan.poll.as_secs_f64();
        for (next, job) in self.next_poll.iter_mut().zip(jobs.iter_mut()) {
            if *next <= now_s {
                *next += poll * ((now_s - *next) / poll).ceil().max(1.0);
                job.poll = true;
            }
        }
        for (d, doc) in plan.documents.iter().enumerate() {
            let sent = &self.ledger.sent[d];
            let Some((package, _, _)) = sent.package else {
                continue;
            };
            if !jobs[doc.from].poll {
                continue;
            }
            let waiting = sent.copies.iter().any(|c| {
                c.latency_01_ms.is_none()
                    || c.outstanding().next().is_some()
                    || !c.known.contains_key(&StatusCode::Arrived)
            });
            if waiting {
                jobs[doc.from].observe.push((d, package));
            }
        }
        if self.closing {
            for job in &mut jobs {
                job.documents.clear();
                job.statuses.clear();
            }
        }
        jobs.into_iter()
            .filter(|j| {
                !(j.documents.is_empty()
                    && j.statuses.is_empty()
                    && !j.poll
                    && j.observe.is_empty())
            })
            .filter_map(|j| self.agency(j.site).map(|agency| (agency, j)))
            .collect()
    }

    /// How site `i`'s QLVB reaches its node, or the axis when it is only on the axis.
    fn agency(&self, i: usize) -> Option<Arc<dyn Agency>> {
        if let Some(qlvb) = self.axis.as_ref().and_then(|a| a.qlvbs[i].clone()) {
            return Some(qlvb as Arc<dyn Agency>);
        }
        self.world.agency(i)
    }

    /// Runs the jobs on blocking threads (submissions sign and fsync), a few batches at
    /// once.
    async fn execute(&self, jobs: Vec<(Arc<dyn Agency>, Job)>) -> Vec<Event> {
        if jobs.is_empty() {
            return Vec::new();
        }
        // QLVBs on the axis mostly wait for it: each runs on its own thread of the axis
        // runtime, so that a slow axis delays them together, not one after the other.
        let (on_axis, jobs): (Vec<_>, Vec<_>) = jobs
            .into_iter()
            .partition(|(_, job)| self.plan.sites[job.site].on_axis);
        let mut tasks = Vec::new();
        if let Some(runtime) = self.axis.as_ref().and_then(|a| a.runtime.as_ref()) {
            for (agency, job) in on_axis {
                let plan = self.plan.clone();
                tasks.push(runtime.spawn_blocking(move || {
                    let mut events = Vec::new();
                    run_job(&plan, agency.as_ref(), job, &mut events);
                    events
                }));
            }
        }
        let batches = 4.min(jobs.len());
        let mut groups: Vec<Vec<(Arc<dyn Agency>, Job)>> =
            (0..batches).map(|_| Vec::new()).collect();
        for (i, job) in jobs.into_iter().enumerate() {
            groups[i % batches].push(job);
        }
        tasks.extend(groups.into_iter().map(|group| {
            let plan = self.plan.clone();
            tokio::task::spawn_blocking(move || {
                let mut events = Vec::new();
                for (agency, job) in group {
                    run_job(&plan, agency.as_ref(), job, &mut events);
                }
                events
            })
        }));
        futures::future::join_all(tasks)
            .await
            .into_iter()
            .filter_map(Result::ok)
            .flatten()
            .collect()
    }

    fn apply(&mut self, event: Event) {
        let now = self.now();
        let plan = self.plan.clone();
        match event {
            Event::Accepted(d, package) => {
                self.ledger.sent[d].package = Some((package, now.0, now.1));
            }
            Event::Refused(d, why) => {
                self.ledger.sent[d].refusals += 1;
                tracing::debug!(document = d, %why, "submission refused");
            }
            Event::StatusAccepted(d, r, code) => {
                if r != usize::MAX {
                    self.ledger.issued(&plan, d, r, code, now);
                }
            }
            Event::StatusRefused(d, r, why) => {
                let attempts = self.status_attempts.entry((d, r)).or_default();
                *attempts += 1;
                tracing::debug!(document = d, copy = r, %why, "status refused");
                if r == usize::MAX {
                    // A take-back request: ask again next time (a resubmission of the same
                    // bytes is the same package).
                    self.ledger.sent[d].take_back_sent = *attempts >= MAX_STATUS_ATTEMPTS;
                } else if *attempts >= MAX_STATUS_ATTEMPTS {
                    tracing::warn!(document = d, copy = r, %why, "status refused for good");
                    self.ledger.status_refusals += 1;
                    self.ledger.sent[d].copies[r].next = None;
                }
            }
            Event::Handed {
                site,
                number,
                package,
                kind,
            } => {
                let Some(d) = number.checked_sub(1).map(|n| n as usize) else {
                    return;
                };
                if d >= plan.documents.len() {
                    return;
                }
                match kind {
                    MessageKind::Edoc => self.ledger.handed(&plan, d, site, package, now),
                    MessageKind::Status => {
                        // A status reaching a recipient is the sender's take-back request.
                        if let Some(r) = plan.documents[d].to.iter().position(|&t| t == site) {
                            self.ledger.take_back_seen(&plan, d, r, now.1);
                        }
                    }
                }
            }
            Event::Observed {
                doc,
                copy,
                latency_01_ms,
                codes,
                status_duplicates,
            } => self
                .ledger
                .observed(doc, copy, latency_01_ms, &codes, status_duplicates, now),
        }
    }

    /// After the run: a last look at every recipient's store, so that documents stored
    /// but not yet fetched by QLVB count as arrived, not lost.
    async fn sweep(&mut self) -> anyhow::Result<()> {
        let plan = self.plan.clone();
        let mut stored = 0;
        for site in 0..plan.sites.len() {
            let Some(agency) = self.agency(site) else {
                continue;
            };
            let inbox = tokio::task::spawn_blocking(move || agency.inbox(true))
                .await?
                .map_err(|e| anyhow::anyhow!("reading an inbox: {e}"))?;
            for entry in inbox {
                if entry.kind != MessageKind::Edoc {
                    continue;
                }
                let Some(d) = entry
                    .document_id
                    .as_deref()
                    .and_then(messages::number_of)
                    .and_then(|n| n.checked_sub(1))
                    .map(|n| n as usize)
                else {
                    continue;
                };
                let Some(r) = plan
                    .documents
                    .get(d)
                    .and_then(|doc| doc.to.iter().position(|&t| t == site))
                else {
                    continue;
                };
                if self.ledger.sent[d].copies[r].seen.is_none() {
                    stored += 1;
                    let now = self.now();
                    self.ledger.handed(&plan, d, site, entry.package_id, now);
                }
            }
        }
        self.measures.stored_unfetched = stored;
        self.ask_senders_of_unarrived().await
    }

    /// For the first copies that never arrived, where their senders' nodes say delivery
    /// stands: the report's lead for whoever investigates a loss.
    async fn ask_senders_of_unarrived(&mut self) -> anyhow::Result<()> {
        let plan = self.plan.clone();
        let unarrived: Vec<(usize, usize, PackageId)> = plan
            .documents
            .iter()
            .enumerate()
            .flat_map(|(d, _)| {
                let sent = &self.ledger.sent[d];
                sent.copies
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.seen.is_none())
                    .filter_map(move |(r, _)| sent.package.map(|(p, _, _)| (d, r, p)))
            })
            .take(report::LOST_EXAMPLES)
            .collect();
        for (d, r, package) in unarrived {
            let doc = &plan.documents[d];
            let Some(agency) = self.agency(doc.from) else {
                continue;
            };
            let copies = tokio::task::spawn_blocking(move || agency.copies(&package)).await?;
            let recipient = &plan.sites[doc.to[r]].organ_id;
            self.ledger.sent[d].copies[r].sender_view = Some(match copies {
                Ok(copies) => copies
                    .into_iter()
                    .find(|c| &c.recipient == recipient)
                    .map_or_else(|| "no such recipient".to_owned(), |c| c.delivery),
                Err(e) => format!("cannot be read: {e}"),
            });
        }
        Ok(())
    }
}

/// One QLVB's work against its own node.
fn run_job(plan: &Plan, agency: &dyn Agency, job: Job, events: &mut Vec<Event>) {
    for d in job.documents {
        let outcome = messages::document(plan, &plan.documents[d])
            .map_err(|e| e.to_string())
            .and_then(|bytes| agency.submit(bytes));
        events.push(match outcome {
            Ok(package) => Event::Accepted(d, package),
            Err(why) => Event::Refused(d, why),
        });
    }
    for (d, r, code, from, to) in job.statuses {
        let doc = &plan.documents[d];
        let id = messages::document_id(&plan.sites[doc.from].organ_id, doc.number);
        let outcome = messages::status(&from, &to, &id, code)
            .map_err(|e| e.to_string())
            .and_then(|bytes| agency.submit(bytes));
        events.push(match outcome {
            Ok(_) => Event::StatusAccepted(d, r, code),
            Err(why) => Event::StatusRefused(d, r, why),
        });
    }
    if job.poll {
        match agency.inbox(false) {
            Ok(entries) => {
                for entry in entries {
                    if let Some(number) = entry.document_id.as_deref().and_then(messages::number_of)
                    {
                        events.push(Event::Handed {
                            site: job.site,
                            number,
                            package: entry.package_id,
                            kind: entry.kind,
                        });
                    }
                    if let Err(e) = agency.ack(&entry.package_id) {
                        tracing::warn!(error = %e, "cannot acknowledge");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the inbox"),
        }
    }
    for (d, package) in job.observe {
        let doc = &plan.documents[d];
        let copies = match agency.copies(&package) {
            Ok(copies) => copies,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read a status");
                continue;
            }
        };
        for (r, &site) in doc.to.iter().enumerate() {
            let organ = &plan.sites[site].organ_id;
            let Some(copy) = copies.iter().find(|c| &c.recipient == organ) else {
                continue;
            };
            events.push(Event::Observed {
                doc: d,
                copy: r,
                latency_01_ms: copy.latency_01_ms,
                codes: copy.codes.clone(),
                status_duplicates: copy.status_duplicates,
            });
        }
    }
}
