//! Which demo node reaches which: nodes that share a network reach each other, so the tax
//! department reaches only the relay; and the tax network can be cut (`--fault
//! tax-network`), which refuses new connections across the cut and resets open ones.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::network::{LinkControl, LinkFate};

use super::sites::{Network, Site};

/// The links of the demo's province; nodes are named by their memory port.
#[derive(Debug)]
pub struct ProvinceLinks {
    /// Memory port → the networks of the node listening on it.
    networks: HashMap<u64, &'static [Network]>,
    /// Whether the tax network is cut off from the relay.
    tax_cut: AtomicBool,
}

impl ProvinceLinks {
    /// Links for `sites`, site `i` listening on `ports[i]`.
    pub fn new(sites: &[Site], ports: &[u64]) -> ProvinceLinks {
        ProvinceLinks {
            networks: ports
                .iter()
                .zip(sites)
                .map(|(port, site)| (*port, site.networks))
                .collect(),
            tax_cut: AtomicBool::new(false),
        }
    }

    /// Cuts the tax network off (`true`) or mends it.
    pub fn cut_tax_network(&self, cut: bool) {
        self.tax_cut.store(cut, Ordering::SeqCst);
    }

    /// Whether the node on port `from` reaches the one on `to` now.
    fn reaches(&self, from: u64, to: u64) -> bool {
        let (Some(a), Some(b)) = (self.networks.get(&from), self.networks.get(&to)) else {
            return false;
        };
        let cut = self.tax_cut.load(Ordering::SeqCst);
        let usable = |n: &&Network| !(cut && **n == Network::Tax);
        let tax_only = |ns: &[Network]| ns == [Network::Tax];
        // Two nodes both only on the tax network still reach each other when it is cut off.
        if tax_only(a) && tax_only(b) {
            return true;
        }
        a.iter().filter(usable).any(|n| b.contains(n))
    }
}

impl LinkControl for ProvinceLinks {
    fn may_connect(&self, from: u64, to: u64) -> bool {
        self.reaches(from, to)
    }

    fn transfer(&self, from: u64, to: u64, _bytes: usize) -> LinkFate {
        if self.reaches(from, to) {
            LinkFate::Pass
        } else {
            LinkFate::Reset
        }
    }

    fn received(&self, from: u64, to: u64, _bytes: usize) -> bool {
        self.reaches(from, to)
    }
}

#[cfg(test)]
mod tests {
    use super::super::sites::{RELAY, SITES, TAX};
    use super::*;

    fn port_of(organ: &str) -> u64 {
        SITES.iter().position(|s| s.organ_id == organ).unwrap() as u64
    }

    #[test]
    fn the_tax_department_reaches_only_the_relay_until_its_network_is_cut() {
        let ports: Vec<u64> = (0..SITES.len() as u64).collect();
        let links = ProvinceLinks::new(SITES, &ports);
        let (relay, tax, office) = (
            port_of(RELAY),
            port_of(TAX),
            port_of(super::super::sites::OFFICE),
        );
        assert!(links.may_connect(office, relay) && links.may_connect(tax, relay));
        assert!(links.may_connect(relay, tax) && links.may_connect(office, 2));
        assert!(!links.may_connect(office, tax) && !links.may_connect(tax, office));
        assert!(!links.may_connect(office, 99), "unknown ports are refused");
        links.cut_tax_network(true);
        assert!(!links.may_connect(tax, relay) && !links.may_connect(relay, tax));
        assert_eq!(links.transfer(relay, tax, 10), LinkFate::Reset);
        assert!(!links.received(tax, relay, 10));
        assert!(
            links.may_connect(office, relay),
            "the province keeps its relay"
        );
        links.cut_tax_network(false);
        assert!(links.may_connect(tax, relay));
        assert_eq!(links.transfer(relay, tax, 10), LinkFate::Pass);
    }
}
