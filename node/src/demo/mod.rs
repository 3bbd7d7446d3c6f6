//! `lienthong demo`: a small live province on this machine, in one process, with nothing to
//! set up. Seed 000's Đồng Nai: a provincial office that monitors the province, four units
//! on the provincial network, Cục Thuế on the tax sector's own line, and the provincial
//! relay that alone reaches both ([`sites`]). Every node is the daemon's own [`Node`] with
//! its own data directory, store and dashboard; they talk over in-process links
//! ([`links`]) that keep the tax department apart. A simulated QLVB beside each agency
//! ([`qlvb`]) sends công văn written with the protocol's edXML writer ([`documents`]) and
//! answers what it receives, so the dashboards fill with documents, receipts and, with a
//! [`Fault`], documents stuck until it heals.
//!
//! - [`Demo::start`]: creates (or reopens) the nodes under a root folder and starts them.
//! - [`Demo::run`]: the QLVBs and the fault, until told to stop.
//! - [`Demo::shutdown`]: stops every node in order.

pub mod documents;
pub mod links;
pub mod qlvb;
pub mod sites;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use lienthong_protocol::OrganId;
use lienthong_protocol::edxml::StatusCode;
use lienthong_protocol::roster::Role;
use tokio_util::sync::CancellationToken;

use crate::api::dashboard;
use crate::config::overrides;
use crate::data_dir::{self, DataDir};
use crate::init::{self, InitOptions};
use crate::network::{Links, Transport};
use crate::node::{Node, NodeOptions};
use crate::outbound::delivery::stuck;
use crate::roster::federation::FederationDir;
use crate::store::{DeliveryState, Store};
use links::ProvinceLinks;
use qlvb::Qlvb;
use sites::{SITES, Site};

/// Where the demo says what happens: documents sent, faults, healing.
pub type Say = dyn Fn(&str) + Send + Sync;

/// Node settings for the demo: retries, pulls and deadlines in seconds, so that what a
/// province sees over hours shows in a minute.
const DEMO_SETTINGS: &[(&str, &str)] = &[
    ("delivery.retry_initial", "\"500ms\""),
    ("delivery.retry_max", "\"3s\""),
    ("delivery.receipt_deadline", "\"20s\""),
    ("delivery.urgent_receipt_deadline", "\"15s\""),
    ("delivery.flash_receipt_deadline", "\"10s\""),
    ("network.request_timeout", "\"15s\""),
    ("relay.pull_interval", "\"3s\""),
    ("relay.held_recheck", "\"5s\""),
    ("relay.server_forward_interval", "\"2s\""),
    ("receipts.sync_interval", "\"10s\""),
    ("receipts.retry_interval", "\"2s\""),
    ("federation.roster_poll_interval", "\"10s\""),
];

/// The first memory port of the demo's nodes. Memory ports are global to the process, and
/// the roster records each node's address, so a kept `--data-dir` needs the same ports.
const MEMORY_PORT_BASE: u64 = 47_000;
static NEXT_PORT: AtomicU64 = AtomicU64::new(MEMORY_PORT_BASE);

/// The API ports tried first, one per node in order (7181 …), so that dashboards keep
/// their address from one run to the next; a port in use falls back to any free one.
const API_PORT_BASE: u16 = 7181;

/// How long a restarted relay may wait for its memory port to be let go.
const RESTART_DEADLINE: Duration = Duration::from_secs(10);

/// A fault to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The provincial relay stops, then starts again.
    Relay,
    /// The tax network loses its link to the relay, then gets it back.
    TaxNetwork,
}

/// When a fault starts and how long it lasts.
#[derive(Debug, Clone, Copy)]
pub struct FaultPlan {
    /// What breaks.
    pub fault: Fault,
    /// How long after the start.
    pub at: Duration,
    /// For how long.
    pub lasts: Duration,
}

/// One node, as the user reaches it.
#[derive(Debug, Clone)]
pub struct NodeLink {
    /// The agency id.
    pub organ_id: String,
    /// The agency's name.
    pub name: String,
    /// Agency or relay.
    pub role: Role,
    /// Whether it monitors the province.
    pub monitor: bool,
    /// Its API address.
    pub api_addr: SocketAddr,
    /// Its API token.
    pub token: String,
    /// The dashboard, token included.
    pub dashboard: String,
}

/// What the agencies sent and heard back, at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Documents sent.
    pub documents: usize,
    /// Copies sent (one per recipient).
    pub copies: usize,
    /// Copies whose recipient's receipt 01 came back.
    pub arrived: usize,
    /// Copies whose recipient's 06 came back.
    pub completed: usize,
    /// Copies refused (02).
    pub refused: usize,
    /// Copies stuck now: no receipt 01 by their deadline.
    pub stuck: usize,
}

struct Member {
    site: Site,
    dir: PathBuf,
    options: NodeOptions,
    token: String,
    node: Option<Node>,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("organ_id", &self.site.organ_id)
            .field("dir", &self.dir)
            .field("running", &self.node.is_some())
            .finish_non_exhaustive()
    }
}

/// The running province.
pub struct Demo {
    members: Vec<Member>,
    links: Arc<ProvinceLinks>,
    say: Arc<Say>,
    seed: u64,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("members", &self.members)
            .finish_non_exhaustive()
    }
}

impl Demo {
    /// Creates the nodes under `root` (or reopens them, when `root` holds a demo already),
    /// admits them to a federation of their own and starts them, the relay first.
    ///
    /// # Errors
    /// When a directory cannot be made or a node does not start.
    pub async fn start(root: &Path, seed: u64, say: Arc<Say>) -> anyhow::Result<Demo> {
        let base = NEXT_PORT.fetch_add(SITES.len() as u64, Ordering::Relaxed);
        let ports: Vec<u64> = (0..SITES.len() as u64).map(|i| base + i).collect();
        let dirs = {
            let root = root.to_path_buf();
            let ports = ports.clone();
            tokio::task::spawn_blocking(move || prepare(&root, &ports)).await??
        };
        let links = Arc::new(ProvinceLinks::new(SITES, &ports));
        let mut members = Vec::with_capacity(SITES.len());
        for (i, (site, dir)) in SITES.iter().zip(dirs).enumerate() {
            let token = data_dir::read_secret(&DataDir::new(&dir).api_token())
                .with_context(|| format!("reading the API token of {}", site.organ_id))?
                .trim()
                .to_owned();
            let options = NodeOptions {
                transport: Some(Transport::Linked(Links {
                    local: ports[i],
                    control: links.clone(),
                })),
                listen: Some(vec![format!("/memory/{}", ports[i]).parse()?]),
                api_listen: Some(free_api_address(i)),
                connection_budget: None,
            };
            members.push(Member {
                site: *site,
                dir,
                options,
                token,
                node: None,
            });
        }
        let mut demo = Demo {
            members,
            links,
            say,
            seed,
        };
        // The relay first: the agencies reserve circuits on it as they start.
        let relays: Vec<usize> = (0..demo.members.len())
            .filter(|&i| !demo.members[i].site.is_agency())
            .collect();
        let agencies: Vec<usize> = (0..demo.members.len())
            .filter(|&i| demo.members[i].site.is_agency())
            .collect();
        demo.start_members(&relays).await?;
        demo.start_members(&agencies).await?;
        Ok(demo)
    }

    async fn start_members(&mut self, which: &[usize]) -> anyhow::Result<()> {
        let starting = which.iter().map(|&i| {
            let (dir, options) = (self.members[i].dir.clone(), self.members[i].options.clone());
            async move { (i, Node::spawn(&dir, options).await) }
        });
        for (i, started) in futures::future::join_all(starting).await {
            let node =
                started.with_context(|| format!("starting {}", self.members[i].site.organ_id))?;
            self.keep_api_address(i, &node);
            self.members[i].node = Some(node);
        }
        Ok(())
    }

    /// A node restarted serves its API where it did: its dashboard link stays valid.
    fn keep_api_address(&mut self, i: usize, node: &Node) {
        if let Ok(addr) = node.info().api_addr.parse() {
            self.members[i].options.api_listen = Some(addr);
        }
    }

    /// Every node's dashboard link, the relay first.
    pub fn nodes(&self) -> Vec<NodeLink> {
        self.members
            .iter()
            .filter_map(|m| {
                let api_addr: SocketAddr = m.options.api_listen?;
                Some(NodeLink {
                    organ_id: m.site.organ_id.to_owned(),
                    name: m.site.name.to_owned(),
                    role: m.site.role,
                    monitor: m.site.monitor,
                    dashboard: dashboard::link(api_addr, &m.token)?,
                    api_addr,
                    token: m.token.clone(),
                })
            })
            .collect()
    }

    /// Runs every agency's QLVB, and `fault` on its timeline, until `stop`.
    ///
    /// # Errors
    /// When the relay cannot be started again after its fault.
    pub async fn run(
        &mut self,
        fault: Option<FaultPlan>,
        stop: CancellationToken,
    ) -> anyhow::Result<()> {
        let date = documents::today()?;
        let agencies: Vec<Site> = self
            .members
            .iter()
            .map(|m| m.site)
            .filter(Site::is_agency)
            .collect();
        let qlvbs_stop = stop.child_token();
        let mut qlvbs = tokio::task::JoinSet::new();
        for (i, member) in self.members.iter().enumerate() {
            let (Some(node), true) = (&member.node, member.site.is_agency()) else {
                continue;
            };
            let others = agencies
                .iter()
                .filter(|s| s.organ_id != member.site.organ_id)
                .copied()
                .collect();
            let qlvb = Qlvb::new(
                member.site,
                others,
                node.handle().clone(),
                self.seed.wrapping_add(i as u64),
                date,
                self.say.clone(),
            );
            qlvbs.spawn(qlvb.run(qlvbs_stop.clone()));
        }
        let watch = tokio::spawn(watch_stuck(
            self.stores(),
            self.say.clone(),
            qlvbs_stop.clone(),
        ));
        let outcome = match fault {
            Some(plan) => self.fault(plan, &stop).await,
            None => Ok(()),
        };
        stop.cancelled().await;
        qlvbs_stop.cancel();
        let _ = watch.await;
        while qlvbs.join_next().await.is_some() {}
        outcome
    }

    /// Breaks what `plan` says at its time and mends it after; a stop meanwhile mends it
    /// at once, so the nodes shut down whole.
    async fn fault(&mut self, plan: FaultPlan, stop: &CancellationToken) -> anyhow::Result<()> {
        if tokio::time::timeout(plan.at, stop.cancelled())
            .await
            .is_ok()
        {
            return Ok(());
        }
        let lasts = humantime::format_duration(plan.lasts);
        let tax = member_name(sites::TAX);
        match plan.fault {
            Fault::Relay => {
                (self.say)(&format!(
                    "FAULT: the provincial relay stops for {lasts}: documents to and from {tax} wait, and show as stuck once their deadline passes"
                ));
                if let Some(relay) = self.relay_index()
                    && let Some(node) = self.members[relay].node.take()
                {
                    node.shutdown().await;
                }
            }
            Fault::TaxNetwork => {
                (self.say)(&format!(
                    "FAULT: the tax network is cut off for {lasts}: documents to and from {tax} wait, and show as stuck once their deadline passes"
                ));
                self.links.cut_tax_network(true);
            }
        }
        let _ = tokio::time::timeout(plan.lasts, stop.cancelled()).await;
        match plan.fault {
            Fault::Relay => {
                if let Some(relay) = self.relay_index() {
                    self.restart(relay).await?;
                }
                (self.say)("HEALED: the relay is back; the stuck documents go through and clear");
            }
            Fault::TaxNetwork => {
                self.links.cut_tax_network(false);
                (self.say)(
                    "HEALED: the tax network is back; the stuck documents go through and clear",
                );
            }
        }
        Ok(())
    }

    fn relay_index(&self) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.site.organ_id == sites::RELAY)
    }

    /// Starts member `i` again on its data directory, its memory port and API address; the
    /// old node's listener goes a moment after it stops, hence a few bounded tries.
    async fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + RESTART_DEADLINE;
        let (dir, options) = (self.members[i].dir.clone(), self.members[i].options.clone());
        let node = loop {
            match Node::spawn(&dir, options.clone()).await {
                Ok(node) => break node,
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(error = %format!("{e:#}"), "restart not possible yet");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    return Err(e.context(format!("restarting {}", self.members[i].site.organ_id)));
                }
            }
        };
        self.members[i].node = Some(node);
        Ok(())
    }

    /// The agencies' stores.
    fn stores(&self) -> Vec<Store> {
        self.members
            .iter()
            .filter(|m| m.site.is_agency())
            .filter_map(|m| m.node.as_ref().map(|n| n.context().store.clone()))
            .collect()
    }

    /// What the agencies sent and heard back so far, from their stores.
    ///
    /// # Errors
    /// When a store cannot be read.
    pub async fn summary(&self) -> anyhow::Result<Summary> {
        let stores = self.stores();
        tokio::task::spawn_blocking(move || {
            let mut summary = Summary::default();
            for store in stores {
                for package in store.list_outgoing(usize::MAX)? {
                    if package.kind != lienthong_protocol::MessageKind::Edoc {
                        continue;
                    }
                    summary.documents += 1;
                    let receipts = store.receipts(&package.package_id)?;
                    for entry in store.outbox(&package.package_id)? {
                        summary.copies += 1;
                        let said = |code| {
                            receipts
                                .iter()
                                .any(|r| r.issuer() == &entry.recipient && r.code() == code)
                        };
                        if entry.state == DeliveryState::Delivered || said(StatusCode::Arrived) {
                            summary.arrived += 1;
                        }
                        if said(StatusCode::Completed) {
                            summary.completed += 1;
                        }
                        if entry.state == DeliveryState::Rejected || said(StatusCode::Rejected) {
                            summary.refused += 1;
                        }
                    }
                }
                summary.stuck += stuck::list(&store, crate::clock::now())?
                    .iter()
                    .filter(|s| s.reason != stuck::StuckReason::Rejected)
                    .count();
            }
            Ok(summary)
        })
        .await?
    }

    /// Stops every node in order: the agencies, then the relay they hold circuits on.
    pub async fn shutdown(mut self) {
        for relays in [false, true] {
            let nodes: Vec<Node> = self
                .members
                .iter_mut()
                .filter(|m| m.site.is_agency() != relays)
                .filter_map(|m| m.node.take())
                .collect();
            futures::future::join_all(nodes.into_iter().map(Node::shutdown)).await;
        }
    }
}

/// How often the demo counts the province's stuck documents.
const STUCK_EVERY: Duration = Duration::from_secs(5);

/// Says how many copies are stuck for want of a path (not refusals) whenever that
/// changes, until `stop`: what a fault does, and its healing, in one line each time.
async fn watch_stuck(stores: Vec<Store>, say: Arc<Say>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(STUCK_EVERY);
    let mut last = (0, 0);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let stores = stores.clone();
        let counted = tokio::task::spawn_blocking(move || {
            let mut counts = (0, 0);
            for store in &stores {
                for entry in stuck::list(store, crate::clock::now())? {
                    match entry.reason {
                        stuck::StuckReason::RecipientUnreachable
                        | stuck::StuckReason::AxisUnreachable
                        | stuck::StuckReason::NotMailed => counts.0 += 1,
                        stuck::StuckReason::HeldAtRelay | stuck::StuckReason::NotTakenFromAxis => {
                            counts.1 += 1
                        }
                        stuck::StuckReason::Rejected
                        | stuck::StuckReason::RefusedByAxis
                        | stuck::StuckReason::MailBounced
                        | stuck::StuckReason::MailNotConfirmed => {}
                    }
                }
            }
            Ok::<_, crate::store::StoreError>(counts)
        })
        .await;
        let Ok(Ok(now)) = counted else {
            continue;
        };
        if now != last {
            say(&if now == (0, 0) {
                "stuck: none any more, every document has its receipt 01".to_owned()
            } else {
                format!(
                    "stuck: {} copies with no receipt 01 by their deadline ({} recipient unreachable, {} held at the relay)",
                    now.0 + now.1,
                    now.0,
                    now.1
                )
            });
            last = now;
        }
    }
}

fn member_name(organ_id: &str) -> &'static str {
    SITES
        .iter()
        .find(|s| s.organ_id == organ_id)
        .map_or("?", |s| s.name)
}

/// The API address of node `i`: its usual port if free, or any free one.
fn free_api_address(i: usize) -> SocketAddr {
    let usual = u16::try_from(i)
        .ok()
        .and_then(|i| API_PORT_BASE.checked_add(i))
        .map(|port| SocketAddr::from(([127, 0, 0, 1], port)));
    match usual {
        Some(addr) if TcpListener::bind(addr).is_ok() => addr,
        _ => SocketAddr::from(([127, 0, 0, 1], 0)),
    }
}

/// Creates every node's data directory under `root/nodes` with the demo's settings, and a
/// federation under `root/federation` admitting them all (every agency naming the relay);
/// or, when `root` holds them already, keeps them as they are.
fn prepare(root: &Path, ports: &[u64]) -> anyhow::Result<Vec<PathBuf>> {
    let dirs: Vec<PathBuf> = SITES
        .iter()
        .map(|s| root.join("nodes").join(s.organ_id))
        .collect();
    let federation = FederationDir::new(root.join("federation"));
    if federation.path().exists() && dirs.iter().all(|d| DataDir::new(d).config().exists()) {
        return Ok(dirs);
    }
    for ((site, dir), port) in SITES.iter().zip(&dirs).zip(ports) {
        init::init(
            dir,
            &InitOptions {
                organ_id: site.organ_id.parse().context("agency id")?,
                name: site.name.to_owned(),
                listen: vec![format!("/memory/{port}")],
                api: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
                role: site.role,
                mdns: false,
            },
        )
        .with_context(|| {
            format!(
                "creating the node of {} in {}",
                site.organ_id,
                dir.display()
            )
        })?;
        let mut settings: Vec<(String, String)> = DEMO_SETTINGS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if site.monitor {
            settings.push(("receipts.monitor".to_owned(), "true".to_owned()));
        }
        overrides::apply(dir, &settings)?;
    }
    federation.create("Liên thông tỉnh Đồng Nai (demo)")?;
    let relay: OrganId = sites::RELAY.parse()?;
    let admitted: Vec<(&Path, Vec<OrganId>)> = SITES
        .iter()
        .zip(&dirs)
        .map(|(site, dir)| {
            let relays = if site.is_agency() {
                vec![relay.clone()]
            } else {
                Vec::new()
            };
            (dir.as_path(), relays)
        })
        .collect();
    federation.admit_many(&admitted)?;
    Ok(dirs)
}
