//! The simulation's link layer: which node reaches which (networks, reach, partitions),
//! and what the links do to traffic (drops, delays), decided here for every node's memory
//! transport, and the bytes that crossed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use lienthong_node::network::{LinkControl, LinkFate};
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};

use super::plan::{Plan, PlannedFault};
use super::scenario::FaultKind;

/// Link decisions for one simulated federation.
#[derive(Debug)]
pub struct SimLinks {
    /// Memory port → site.
    sites: HashMap<u64, usize>,
    /// Site → networks.
    networks: Vec<Vec<usize>>,
    /// Pairs of networks routed to each other.
    reach: std::collections::BTreeSet<(usize, usize)>,
    /// The faults in force now.
    active: RwLock<Vec<PlannedFault>>,
    rng: Mutex<StdRng>,
    bytes: AtomicU64,
}

impl SimLinks {
    /// Links for `plan`, whose site `i` listens on `ports[i]`.
    pub fn new(plan: &Plan, ports: &[u64]) -> SimLinks {
        SimLinks {
            sites: ports.iter().enumerate().map(|(i, p)| (*p, i)).collect(),
            networks: plan.sites.iter().map(|s| s.networks.clone()).collect(),
            reach: plan.reach.clone(),
            active: RwLock::new(Vec::new()),
            rng: Mutex::new(StdRng::seed_from_u64(plan.seed)),
            bytes: AtomicU64::new(0),
        }
    }

    /// Puts these link faults (partitions, drops, delays) in force, replacing the previous.
    pub fn set_active(&self, faults: Vec<PlannedFault>) {
        if let Ok(mut active) = self.active.write() {
            *active = faults
                .into_iter()
                .filter(|f| f.kind != FaultKind::Crash)
                .collect();
        }
    }

    /// Bytes that crossed any link so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Whether sites `a` and `b` reach each other with no fault in force: a network in
    /// common, or networks routed to each other.
    pub fn routed(&self, a: usize, b: usize) -> bool {
        let (na, nb) = (&self.networks[a], &self.networks[b]);
        na.iter().any(|x| {
            nb.iter()
                .any(|y| x == y || self.reach.contains(&(*x.min(y), *x.max(y))))
        })
    }

    /// Whether a fault in force cuts `a` from `b`.
    fn cut(&self, active: &[PlannedFault], a: usize, b: usize) -> bool {
        active.iter().any(|f| {
            f.kind == FaultKind::Partition
                && match f.networks {
                    Some(pair) => self.splits(pair, a, b) || self.splits(pair, b, a),
                    None => f.nodes.contains(&a) != f.nodes.contains(&b),
                }
        })
    }

    /// A partition `[main, cut_off]`: the nodes that sit only on `cut_off` lose every node
    /// with a leg in `main` (its relays included).
    fn splits(&self, (main, cut_off): (usize, usize), a: usize, b: usize) -> bool {
        self.networks[a] == [cut_off] && self.networks[b].contains(&main)
    }

    fn ends(&self, from: u64, to: u64) -> Option<(usize, usize)> {
        Some((*self.sites.get(&from)?, *self.sites.get(&to)?))
    }
}

impl LinkControl for SimLinks {
    fn may_connect(&self, from: u64, to: u64) -> bool {
        let Some((a, b)) = self.ends(from, to) else {
            return false;
        };
        let Ok(active) = self.active.read() else {
            return false;
        };
        self.routed(a, b) && !self.cut(&active, a, b)
    }

    fn received(&self, from: u64, to: u64, bytes: usize) -> bool {
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        let Some((a, b)) = self.ends(from, to) else {
            return false;
        };
        self.active
            .read()
            .is_ok_and(|active| active.is_empty() || !self.cut(&active, a, b))
    }

    fn transfer(&self, from: u64, to: u64, bytes: usize) -> LinkFate {
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        let Some((a, b)) = self.ends(from, to) else {
            return LinkFate::Reset;
        };
        let Ok(active) = self.active.read() else {
            return LinkFate::Reset;
        };
        if active.is_empty() {
            return LinkFate::Pass;
        }
        if self.cut(&active, a, b) {
            return LinkFate::Reset;
        }
        let touches = |f: &PlannedFault| f.nodes.contains(&a) || f.nodes.contains(&b);
        let drop: f64 = active
            .iter()
            .filter(|f| f.kind == FaultKind::Drop && touches(f))
            .map(|f| f.rate)
            .fold(0.0, f64::max);
        if drop > 0.0 && self.rng.lock().is_ok_and(|mut r| r.random_bool(drop)) {
            return LinkFate::Reset;
        }
        let delay = active
            .iter()
            .filter(|f| f.kind == FaultKind::Delay && touches(f))
            .map(|f| f.delay)
            .max()
            .unwrap_or(Duration::ZERO);
        if delay.is_zero() {
            LinkFate::Pass
        } else {
            LinkFate::Delay(delay)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::plan::Mode;
    use super::super::scenario::Scenario;
    use super::*;

    fn plan() -> Plan {
        let text = r#"
            name = "t"
            duration = "1h"
            time_scale = 60
            [[networks]]
            name = "lan"
            [[networks]]
            name = "tax"
            [[relays]]
            id = "000.00.90.H19"
            name = "R"
            [[agencies]]
            id = "000.00.01.H19"
            name = "A"
            [[agencies]]
            id = "000.00.02.H19"
            name = "B"
            [[agencies]]
            id = "000.00.03.H19"
            name = "T"
            network = "tax"
            relays = ["000.00.90.H19"]
            [traffic]
            docs_per_agency_per_minute = 0.1
            [[faults]]
            at = "10m"
            kind = "partition"
            lasts = "5m"
            networks = ["lan", "tax"]
            [[faults]]
            at = "20m"
            kind = "partition"
            lasts = "5m"
            nodes = ["000.00.02.H19"]
            [[faults]]
            at = "30m"
            kind = "drop"
            lasts = "5m"
            rate = 1.0
            nodes = ["000.00.01.H19"]
        "#;
        Plan::new(&Scenario::parse(text).unwrap(), 1, Mode::Federation, false).unwrap()
    }

    #[test]
    fn separate_networks_meet_only_at_the_relay() {
        let plan = plan();
        let links = SimLinks::new(&plan, &[10, 11, 12, 13]);
        // R(10) on both; A(11), B(12) on lan; T(13) on tax.
        assert!(links.may_connect(11, 12));
        assert!(links.may_connect(13, 10) && links.may_connect(11, 10));
        assert!(!links.may_connect(11, 13) && !links.may_connect(13, 12));
        assert!(!links.may_connect(11, 99), "unknown ports are refused");
    }

    #[test]
    fn partitions_cut_and_heal() {
        let plan = plan();
        let links = SimLinks::new(&plan, &[10, 11, 12, 13]);
        links.set_active(vec![plan.faults[0].clone()]);
        assert!(
            !links.may_connect(13, 10),
            "the tax network loses its relay"
        );
        assert!(links.may_connect(11, 10), "the LAN keeps it");
        assert_eq!(links.transfer(10, 13, 5), LinkFate::Reset);
        links.set_active(vec![plan.faults[1].clone()]);
        assert!(links.may_connect(13, 10));
        assert!(!links.may_connect(11, 12) && !links.may_connect(12, 10));
        assert!(links.may_connect(11, 10));
        links.set_active(vec![plan.faults[2].clone()]);
        assert_eq!(links.transfer(11, 12, 5), LinkFate::Reset);
        assert_eq!(links.transfer(12, 10, 5), LinkFate::Pass);
        assert!(links.received(11, 12, 5), "drops are decided on writes");
        links.set_active(vec![plan.faults[1].clone()]);
        assert!(!links.received(11, 12, 5), "a cut link resets on reads too");
        links.set_active(Vec::new());
        assert!(links.may_connect(11, 12));
        assert_eq!(links.bytes(), 25);
    }
}
