//! The nodes of a run, whichever way they run: in this process on simulated links
//! ([`World`]), or each as its own `lienthong` process on loopback, crashed with SIGKILL.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};

use super::agency::{Agency, HttpAgency};
use super::plan::{Plan, PlannedFault};
use super::scenario::FaultKind;
use super::world::{self, World};
use crate::process::ProcessNode;

/// The nodes of a run.
#[derive(Debug)]
pub enum Fleet {
    /// Every node in this process.
    Memory(World),
    /// Every node its own process.
    Processes(ProcessFleet),
}

impl Fleet {
    /// How many nodes.
    pub fn len(&self) -> usize {
        match self {
            Fleet::Memory(w) => w.len(),
            Fleet::Processes(p) => p.dirs.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether site `i` has started at least once.
    pub fn started(&self, i: usize) -> bool {
        match self {
            Fleet::Memory(w) => w.started(i),
            Fleet::Processes(p) => p.started[i],
        }
    }

    /// How site `i`'s QLVB reaches its node, while it runs.
    pub fn agency(&self, i: usize) -> Option<Arc<dyn Agency>> {
        match self {
            Fleet::Memory(w) => w
                .node(i)
                .map(|node| Arc::new(node.clone()) as Arc<dyn Agency>),
            Fleet::Processes(p) => p.agencies[i].clone().map(|a| a as Arc<dyn Agency>),
        }
    }

    /// Starts (or restarts) these sites.
    ///
    /// # Errors
    /// When a node cannot start.
    pub async fn start(&mut self, sites: &[usize]) -> anyhow::Result<()> {
        match self {
            Fleet::Memory(w) => w.start(sites).await,
            Fleet::Processes(p) => tokio::task::block_in_place(|| p.start(sites)),
        }
    }

    /// Restarts crashed sites: in the background in process (see [`World::restart`]), at
    /// once for processes.
    ///
    /// # Errors
    /// When a node cannot start.
    pub fn restart(&mut self, sites: &[usize]) -> anyhow::Result<()> {
        match self {
            Fleet::Memory(w) => w.restart(sites),
            Fleet::Processes(p) => tokio::task::block_in_place(|| p.start(sites)),
        }
    }

    /// Collects nodes that finished restarting.
    ///
    /// # Errors
    /// When a node could not restart.
    pub fn restarted(&mut self) -> anyhow::Result<()> {
        match self {
            Fleet::Memory(w) => w.restarted(),
            Fleet::Processes(_) => Ok(()),
        }
    }

    /// Stops site `i` at once, as kill -9 does (in a process run, it is kill -9).
    pub fn crash(&mut self, i: usize) {
        match self {
            Fleet::Memory(w) => w.crash(i),
            Fleet::Processes(p) => p.crash(i),
        }
    }

    /// Puts these link faults in force (in-process runs only; a process run refuses them
    /// when it is built).
    pub fn set_link_faults(&self, active: Vec<PlannedFault>) {
        if let Fleet::Memory(w) = self {
            w.links().set_active(active);
        }
    }

    /// Bytes and messages on the wire so far, where the run can see them.
    pub fn wire(&self) -> Option<(u64, u64)> {
        match self {
            Fleet::Memory(w) => Some((w.links().bytes(), w.messages())),
            Fleet::Processes(_) => None,
        }
    }

    /// Resident memory of the run now, MB: this process, plus the nodes' processes.
    pub fn rss_mb(&self) -> f64 {
        let own = super::report::rss_mb();
        match self {
            Fleet::Memory(_) => own,
            Fleet::Processes(p) => own + p.rss_mb(),
        }
    }

    /// Peers connected per node, on average (in-process runs; 0 otherwise).
    pub async fn connections_per_node(&self) -> f64 {
        match self {
            Fleet::Memory(w) => w.connections_per_node().await,
            Fleet::Processes(_) => 0.0,
        }
    }

    /// Stops every node cleanly.
    pub async fn shutdown(&mut self) {
        match self {
            Fleet::Memory(w) => w.shutdown().await,
            Fleet::Processes(p) => tokio::task::block_in_place(|| p.shutdown()),
        }
    }
}

/// Every node a `lienthong` process on loopback, each on a port of its own that it keeps
/// across restarts.
#[derive(Debug)]
pub struct ProcessFleet {
    dirs: Vec<PathBuf>,
    nodes: Vec<Option<ProcessNode>>,
    agencies: Vec<Option<Arc<HttpAgency>>>,
    started: Vec<bool>,
}

impl ProcessFleet {
    /// Creates the data directories and the federation. Faults other than crashes need
    /// the in-process link layer, so a plan with any is refused.
    ///
    /// # Errors
    /// When the plan has link faults, or a directory cannot be made.
    pub fn build(
        plan: &Plan,
        root: &Path,
        settings: &[(String, String)],
    ) -> anyhow::Result<ProcessFleet> {
        let link_faults: Vec<&str> = plan
            .faults
            .iter()
            .filter(|f| f.kind != FaultKind::Crash && !f.axis)
            .map(|f| f.label.as_str())
            .collect();
        if !link_faults.is_empty() {
            bail!(
                "--processes runs crash faults only (kill -9 and restart); partitions, drops and delays need the in-process link layer: {}",
                link_faults.join("; ")
            );
        }
        let ports = free_ports(plan.sites.len())?;
        let dirs = world::prepare(plan, root, settings, |i| {
            format!("/ip4/127.0.0.1/tcp/{}", ports[i])
        })?;
        Ok(ProcessFleet {
            nodes: dirs.iter().map(|_| None).collect(),
            agencies: dirs.iter().map(|_| None).collect(),
            started: dirs.iter().map(|_| false).collect(),
            dirs,
        })
    }

    fn start(&mut self, sites: &[usize]) -> anyhow::Result<()> {
        for chunk in sites.chunks(8) {
            let started: Vec<(usize, anyhow::Result<ProcessNode>)> = std::thread::scope(|s| {
                let handles: Vec<_> = chunk
                    .iter()
                    .filter(|&&i| self.nodes[i].is_none())
                    .map(|&i| {
                        let dir = &self.dirs[i];
                        (i, s.spawn(move || ProcessNode::start(dir)))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|(i, h)| {
                        (
                            i,
                            h.join()
                                .unwrap_or_else(|_| Err(anyhow::anyhow!("start thread panicked"))),
                        )
                    })
                    .collect()
            });
            for (i, node) in started {
                let node = node?;
                let token = std::fs::read_to_string(self.dirs[i].join("api.token"))
                    .context("reading api.token")?;
                self.agencies[i] = Some(Arc::new(HttpAgency::new(&node.info().api_addr, &token)));
                self.nodes[i] = Some(node);
                self.started[i] = true;
            }
        }
        Ok(())
    }

    fn crash(&mut self, i: usize) {
        self.agencies[i] = None;
        if let Some(mut node) = self.nodes[i].take() {
            node.kill9();
        }
    }

    fn rss_mb(&self) -> f64 {
        self.nodes
            .iter()
            .flatten()
            .map(|n| super::report::rss_mb_of(&n.info().pid.to_string()))
            .sum()
    }

    fn shutdown(&mut self) {
        for node in self.nodes.iter_mut().filter_map(Option::take) {
            let mut node = node;
            let _ = node.terminate();
        }
    }
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
