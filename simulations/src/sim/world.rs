//! The nodes of a plan, in this process: each a real [`Node`] with its own data directory
//! and store, on the memory transport through the simulation's links. A crash drops the
//! node without shutting it down, as kill -9 would; a restart opens the same directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use lienthong_node::config::overrides;
use lienthong_node::context::NodeContext;
use lienthong_node::init::{self, InitOptions};
use lienthong_node::network::{Links, Transport};
use lienthong_node::node::{Node, NodeHandle, NodeOptions};
use lienthong_node::ops::descriptors::Budget;
use lienthong_node::roster::federation::FederationDir;
use lienthong_protocol::OrganId;
use lienthong_protocol::roster::Role;

use super::links::SimLinks;
use super::plan::Plan;

/// Memory ports are global to the process: every world takes its own range.
static NEXT_PORT: AtomicU64 = AtomicU64::new(30_000);

/// Node settings for simulations, in real time: retries and pulls that fit a run of
/// minutes, not a working day. The scenario's `[node]` comes on top.
const SIM_SETTINGS: &[(&str, &str)] = &[
    ("delivery.retry_initial", "\"200ms\""),
    ("delivery.retry_max", "\"3s\""),
    ("network.request_timeout", "\"20s\""),
    // Connections opened for one DHT query or catch-up close soon instead of lingering
    // ten minutes: in a federation of a thousand nodes they were most of the memory.
    ("network.idle_connection_timeout", "\"60s\""),
    // A crashed node's memory connections close at once, so pings find nothing dead here;
    // at libp2p's 15 s a thousand nodes' 17,000 connections made 2,300 pings a second.
    ("network.ping_interval", "\"60s\""),
    ("relay.pull_interval", "\"3s\""),
    ("relay.held_recheck", "\"10s\""),
    ("relay.server_forward_interval", "\"2s\""),
    ("receipts.sync_interval", "\"30s\""),
    ("receipts.retry_interval", "\"2s\""),
    ("federation.roster_poll_interval", "\"10s\""),
];

/// What each simulated node sizes its connection limits on: a server under the shipped
/// systemd unit (`LimitNOFILE=65536`). The process's own limit is shared by every node in
/// it, and memory connections cost no descriptor, so it says nothing about one node.
const NODE_OPEN_FILES: u64 = 65_536;

/// How long a restarted node may wait for its crashed predecessor to let go of its store
/// and memory port.
const RELEASE_DEADLINE: Duration = Duration::from_secs(20);

/// One node's place in the world.
#[derive(Debug)]
enum Slot {
    /// Not started yet (joins later).
    Waiting,
    /// Running.
    Up(Node),
    /// Crashed; the weak reference says when its state is gone.
    Down(Weak<NodeContext>),
}

/// Every node of a plan.
#[derive(Debug)]
pub struct World {
    dirs: Vec<PathBuf>,
    ports: Vec<u64>,
    links: Arc<SimLinks>,
    slots: Vec<Slot>,
    /// Messages counted by nodes that crashed since (their counters went with them).
    pub(super) crashed_messages: AtomicU64,
    /// Crashed nodes starting again.
    restarting: futures::stream::FuturesUnordered<Restarting>,
}

/// A node starting again, and its site.
type Restarting = std::pin::Pin<Box<dyn Future<Output = (usize, anyhow::Result<Node>)> + Send>>;

impl World {
    /// Creates every node's data directory under `root`, one federation admitting them all
    /// (with their relays), and the link layer. Nothing runs yet.
    ///
    /// # Errors
    /// When a directory cannot be created or a setting does not apply.
    pub fn build(plan: &Plan, root: &Path, settings: &[(String, String)]) -> anyhow::Result<World> {
        let base = NEXT_PORT.fetch_add(plan.sites.len() as u64 + 16, Ordering::Relaxed);
        let ports: Vec<u64> = (0..plan.sites.len() as u64).map(|i| base + i).collect();
        let dirs = prepare(plan, root, settings, |i| format!("/memory/{}", ports[i]))?;
        let links = Arc::new(SimLinks::new(plan, &ports));
        Ok(World {
            slots: plan.sites.iter().map(|_| Slot::Waiting).collect(),
            dirs,
            ports,
            links,
            crashed_messages: AtomicU64::new(0),
            restarting: Default::default(),
        })
    }

    /// The link layer.
    pub fn links(&self) -> &Arc<SimLinks> {
        &self.links
    }

    /// How many nodes there are.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the world has no nodes.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The running node of site `i`.
    pub fn node(&self, i: usize) -> Option<&NodeHandle> {
        match &self.slots[i] {
            Slot::Up(node) => Some(node.handle()),
            _ => None,
        }
    }

    /// Whether site `i` has started at least once (it may be down now).
    pub fn started(&self, i: usize) -> bool {
        !matches!(self.slots[i], Slot::Waiting)
    }

    /// Starts (or restarts) the nodes of `sites`, a few at a time, and waits for them.
    ///
    /// # Errors
    /// When a node cannot start.
    pub async fn start(&mut self, sites: &[usize]) -> anyhow::Result<()> {
        for chunk in sites.chunks(16) {
            let starting = chunk
                .iter()
                .filter_map(|&i| self.starter(i).transpose())
                .collect::<anyhow::Result<Vec<_>>>()?;
            for (i, started) in futures::future::join_all(starting).await {
                let node =
                    started.with_context(|| format!("starting {}", self.dirs[i].display()))?;
                self.slots[i] = Slot::Up(node);
            }
        }
        Ok(())
    }

    /// Restarts the nodes of `sites` in the background: a crashed node's aborted tasks
    /// may take seconds to let go of its store, and the rest of the province goes on
    /// meanwhile. [`World::restarted`] collects them.
    ///
    /// # Errors
    /// When a node's options cannot be made.
    pub fn restart(&mut self, sites: &[usize]) -> anyhow::Result<()> {
        for &i in sites {
            if let Some(starting) = self.starter(i)? {
                self.restarting.push(Box::pin(starting));
            }
        }
        Ok(())
    }

    /// Puts the nodes restarted since the last call in their places.
    ///
    /// # Errors
    /// When a node could not restart.
    pub fn restarted(&mut self) -> anyhow::Result<()> {
        use futures::FutureExt as _;
        use futures::StreamExt as _;
        while let Some(Some((i, started))) = self.restarting.next().now_or_never() {
            let node = started.with_context(|| format!("restarting {}", self.dirs[i].display()))?;
            self.slots[i] = Slot::Up(node);
        }
        Ok(())
    }

    /// The start of site `i`, unless it runs.
    fn starter(
        &self,
        i: usize,
    ) -> anyhow::Result<Option<impl Future<Output = (usize, anyhow::Result<Node>)> + Send + use<>>>
    {
        if let Slot::Up(_) = self.slots[i] {
            return Ok(None);
        }
        let previous = match &self.slots[i] {
            Slot::Down(weak) => Some(weak.clone()),
            _ => None,
        };
        let dir = self.dirs[i].clone();
        let options = NodeOptions {
            transport: Some(Transport::Linked(Links {
                local: self.ports[i],
                control: self.links.clone(),
            })),
            listen: Some(vec![format!("/memory/{}", self.ports[i]).parse()?]),
            api_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            connection_budget: Some(Budget::for_open_files(NODE_OPEN_FILES)),
        };
        Ok(Some(async move {
            (i, start_node(&dir, options, previous).await)
        }))
    }

    /// Stops site `i` at once, as kill -9 does: its tasks are aborted where they stand.
    pub fn crash(&mut self, i: usize) {
        if let Slot::Up(node) = std::mem::replace(&mut self.slots[i], Slot::Waiting) {
            self.crashed_messages
                .fetch_add(messages_of(node.context()), Ordering::Relaxed);
            let weak = Arc::downgrade(node.context());
            drop(node);
            self.slots[i] = Slot::Down(weak);
        }
    }

    /// Stops every node cleanly.
    pub async fn shutdown(&mut self) {
        let nodes: Vec<Node> = self
            .slots
            .iter_mut()
            .filter_map(|s| match std::mem::replace(s, Slot::Waiting) {
                Slot::Up(node) => Some(node),
                _ => None,
            })
            .collect();
        futures::future::join_all(nodes.into_iter().map(Node::shutdown)).await;
    }
}

/// Request/response frames `ctx`'s node wrote and gossip messages it received.
pub(super) fn messages_of(ctx: &NodeContext) -> u64 {
    let counters = ctx.network.wire_counters();
    counters.frames_sent.load(Ordering::Relaxed) + counters.gossip_received.load(Ordering::Relaxed)
}

/// Creates every node's data directory under `root` (listening where `listen` says), with
/// the simulation's settings and the scenario's, and one federation admitting them all
/// with their relays.
///
/// # Errors
/// When a directory cannot be created or a setting does not apply.
pub(super) fn prepare(
    plan: &Plan,
    root: &Path,
    settings: &[(String, String)],
    listen: impl Fn(usize) -> String,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs = Vec::with_capacity(plan.sites.len());
    for (i, site) in plan.sites.iter().enumerate() {
        let dir = root.join("nodes").join(&site.organ_id);
        if site.on_axis {
            // Only on the axis: no node, no directory.
            dirs.push(dir);
            continue;
        }
        init::init(
            &dir,
            &InitOptions {
                organ_id: site.organ_id.parse().context("agency id")?,
                name: site.name.clone(),
                listen: vec![listen(i)],
                api: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
                role: if site.relay {
                    Role::Relay
                } else {
                    Role::Agency
                },
                mdns: false,
            },
        )
        .with_context(|| format!("initialising {}", site.organ_id))?;
        let all: Vec<(String, String)> = SIM_SETTINGS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain(settings.iter().cloned())
            .collect();
        apply_settings(&dir, &all).with_context(|| format!("configuring {}", site.organ_id))?;
        if plan.uses_axis() {
            write_axis_secret(&dir, &site.organ_id)?;
        }
        dirs.push(dir);
    }
    let federation = FederationDir::new(root.join("federation"));
    federation.create(&format!("lienthong simulation {}", plan.scenario))?;
    let admitted: Vec<(&Path, Vec<OrganId>)> = plan
        .sites
        .iter()
        .zip(&dirs)
        .filter(|(site, _)| !site.on_axis)
        .map(|(site, dir)| {
            let relays = site
                .relays
                .iter()
                .map(|r| r.parse().context("relay id"))
                .collect::<anyhow::Result<Vec<OrganId>>>()?;
            Ok((dir.as_path(), relays))
        })
        .collect::<anyhow::Result<_>>()?;
    federation.admit_many(&admitted)?;
    Ok(dirs)
}

/// Puts the agency's axis account secret in its node's data directory, mode 0600, as an
/// operator does with `install -m 600` (the node refuses a secret others can read).
fn write_axis_secret(dir: &Path, organ_id: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = dir.join(lienthong_node::config::AXIS_ACCOUNT_SECRET_FILE);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(super::axis_qlvb::axis_secret(organ_id).as_bytes())?;
    Ok(())
}

/// Starts a node, waiting first (bounded) for a crashed predecessor's aborted tasks to
/// drop its store and listener.
async fn start_node(
    dir: &Path,
    options: NodeOptions,
    previous: Option<Weak<NodeContext>>,
) -> anyhow::Result<Node> {
    let deadline = Instant::now() + RELEASE_DEADLINE;
    if let Some(previous) = previous {
        while previous.strong_count() > 0 {
            if Instant::now() > deadline {
                bail!("the crashed node still holds its state after {RELEASE_DEADLINE:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    loop {
        match Node::spawn(dir, options.clone()).await {
            Ok(node) => return Ok(node),
            // The old listener goes with the aborted event loop, a moment later.
            Err(e) if Instant::now() < deadline => {
                tracing::debug!(error = %format!("{e:#}"), "restart not possible yet");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Sets dotted `config.toml` keys (`delivery.retry_max`) to TOML values, then checks the
/// result is a valid node config.
fn apply_settings(dir: &Path, settings: &[(String, String)]) -> anyhow::Result<()> {
    overrides::apply(dir, settings)
}

/// Whether a scenario's `[node]` settings, on top of the simulation's own, make a valid
/// node config: checked when a scenario file is read, not a thousand nodes into a run.
///
/// # Errors
/// The first setting that is no TOML value, names no key, or makes the config invalid.
pub fn check_settings(settings: &[(String, String)]) -> anyhow::Result<()> {
    let organ: OrganId = "000.00.01.H10".parse().context("an agency id")?;
    let config = lienthong_node::config::Config::new(organ, "check");
    let all: Vec<(String, String)> = SIM_SETTINGS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .chain(settings.iter().cloned())
        .collect();
    overrides::applied(&config.to_documented_toml(), &all, "the scenario's [node]").map(drop)
}

impl World {
    /// Request/response frames and gossip messages so far, crashed nodes included.
    pub fn messages(&self) -> u64 {
        self.crashed_messages.load(Ordering::Relaxed)
            + (0..self.len())
                .filter_map(|i| self.node(i))
                .map(|node| messages_of(node.context()))
                .sum::<u64>()
    }

    /// Peers connected per running node, on average (nodes that do not answer within a
    /// second are left out).
    pub async fn connections_per_node(&self) -> f64 {
        let asks = (0..self.len())
            .filter_map(|i| self.node(i).cloned())
            .map(|node| async move {
                let network = &node.context().network;
                tokio::time::timeout(Duration::from_secs(1), network.connected_peers())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .map(|list| list.iter().filter(|p| p.connected).count())
            });
        let counts: Vec<usize> = futures::future::join_all(asks)
            .await
            .into_iter()
            .flatten()
            .collect();
        if counts.is_empty() {
            0.0
        } else {
            counts.iter().sum::<usize>() as f64 / counts.len() as f64
        }
    }
}
