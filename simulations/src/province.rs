//! Seed 000's province on one machine: agencies on the provincial LAN, the tax department
//! alone on the tax sector's network, and provincial relays with a leg in each, every node
//! a real `lienthong` process in its own network namespace ([`netns`](crate::netns)).
//!
//! The tax department's node reaches nothing but the relays; every agency names the relays
//! in the roster, so documents cross between the networks through circuits on a relay, and
//! wait in a relay's mailbox for a recipient that is offline.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::netns::{Host, Lab, Network};
use crate::process::{Federation, ProcessNode, configure};

/// The provincial LAN.
pub const LAN: [u8; 3] = [10, 53, 1];
/// The tax sector's dedicated network.
pub const TAX_NETWORK: [u8; 3] = [10, 53, 2];

/// One node of the province: its agency, host, data directory and, while it runs, process.
#[derive(Debug)]
pub struct Site {
    /// The agency id.
    pub organ_id: String,
    /// The agency's name.
    pub name: String,
    /// Its data directory.
    pub dir: PathBuf,
    /// Its host (namespace).
    pub host: Host,
    /// Its address on each network it is attached to.
    pub addresses: Vec<Ipv4Addr>,
    /// The running process, if any.
    pub node: Option<ProcessNode>,
}

impl Site {
    /// The running node; panics if it is stopped (a test's mistake).
    pub fn node(&self) -> &ProcessNode {
        self.node
            .as_ref()
            .unwrap_or_else(|| panic!("{} is not running", self.organ_id))
    }

    /// Starts (or restarts) the node in its host.
    ///
    /// # Errors
    /// When it does not become ready.
    pub fn start(&mut self) -> anyhow::Result<&ProcessNode> {
        if self.node.is_none() {
            self.node = Some(self.host.start(&self.dir)?);
        }
        Ok(self.node())
    }

    /// Stops the node cleanly (SIGTERM).
    ///
    /// # Errors
    /// When it does not stop in time.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut node) = self.node.take() {
            node.terminate()?;
        }
        Ok(())
    }

    /// Kills the node with SIGKILL: a crash.
    pub fn kill9(&mut self) {
        if let Some(mut node) = self.node.take() {
            node.kill9();
        }
    }
}

/// A whole province; see the module docs. Nodes stop before the namespaces go.
#[derive(Debug)]
pub struct Province {
    /// Agencies on the LAN.
    pub agencies: Vec<Site>,
    /// The tax department, on the tax network only.
    pub tax: Site,
    /// The relays, on both networks.
    pub relays: Vec<Site>,
    /// The federation authority.
    pub federation: Federation,
    lan: Network,
    tax_network: Network,
    // Last: dropped after every node has stopped.
    lab: Lab,
}

/// What a province is made of.
#[derive(Debug, Clone)]
pub struct ProvincePlan {
    /// `(organ id, name)` of the agencies on the LAN.
    pub agencies: Vec<(String, String)>,
    /// `(organ id, name)` of the tax department.
    pub tax: (String, String),
    /// `(organ id, name)` of the relays; every agency names all of them, in this order.
    pub relays: Vec<(String, String)>,
    /// Extra `config.toml` settings for every node: `(key, value)`.
    pub settings: Vec<(String, String)>,
}

impl ProvincePlan {
    /// Đồng Nai (seed 000): three agencies of the province, the provincial tax
    /// department, and `relays` relays run by the province.
    pub fn dong_nai(relays: usize) -> ProvincePlan {
        let pair = |id: &str, name: &str| (id.to_owned(), name.to_owned());
        ProvincePlan {
            agencies: vec![
                pair("000.00.00.H19", "UBND tỉnh Đồng Nai"),
                pair("000.00.01.H19", "Văn phòng UBND tỉnh Đồng Nai"),
                pair("000.00.11.H19", "Sở Tài chính Đồng Nai"),
            ],
            // A unit of the Ministry of Finance (G12): Cục Thuế tỉnh Đồng Nai.
            tax: pair("000.19.01.G12", "Cục Thuế tỉnh Đồng Nai"),
            relays: [
                pair("000.00.20.H19", "Trạm chuyển tiếp Sở TT&TT Đồng Nai"),
                pair("000.00.21.H19", "Trạm chuyển tiếp dự phòng Đồng Nai"),
            ]
            .into_iter()
            .take(relays)
            .collect(),
            settings: Vec::new(),
        }
    }
}

impl Province {
    /// Builds the networks, initialises and starts every node, admits them (relays first,
    /// so agencies can name them) and waits until every node holds the roster.
    ///
    /// # Errors
    /// When the lab cannot be built (no root, no iproute2) or a node does not start.
    pub fn start(plan: &ProvincePlan) -> anyhow::Result<Province> {
        let mut lab = Lab::new()?;
        let mut lan = lab.network("lan", LAN)?;
        let mut tax_network = lab.network("tax", TAX_NETWORK)?;
        let federation = Federation::new("Liên thông tỉnh Đồng Nai")?;

        let mut relays = Vec::new();
        for (i, (organ_id, name)) in plan.relays.iter().enumerate() {
            let octet = 254 - u8::try_from(i).context("relay count")?;
            let mut host = lab.host(&format!("relay{i}"))?;
            let lan_ip = lab.attach(&mut host, &mut lan, octet)?;
            let tax_ip = lab.attach(&mut host, &mut tax_network, octet)?;
            relays.push(Site::init(
                &federation,
                organ_id,
                name,
                host,
                vec![lan_ip, tax_ip],
                "relay",
                &plan.settings,
            )?);
        }
        let mut agencies = Vec::new();
        for (i, (organ_id, name)) in plan.agencies.iter().enumerate() {
            let octet = 10 + u8::try_from(i).context("agency count")?;
            let mut host = lab.host(&format!("agency{i}"))?;
            let ip = lab.attach(&mut host, &mut lan, octet)?;
            agencies.push(Site::init(
                &federation,
                organ_id,
                name,
                host,
                vec![ip],
                "agency",
                &plan.settings,
            )?);
        }
        let mut tax_host = lab.host("tax")?;
        let tax_ip = lab.attach(&mut tax_host, &mut tax_network, 10)?;
        let tax = Site::init(
            &federation,
            &plan.tax.0,
            &plan.tax.1,
            tax_host,
            vec![tax_ip],
            "agency",
            &plan.settings,
        )?;

        let mut province = Province {
            agencies,
            tax,
            relays,
            federation,
            lan,
            tax_network,
            lab,
        };
        province.start_all_and_admit()?;
        Ok(province)
    }

    fn start_all_and_admit(&mut self) -> anyhow::Result<()> {
        let relay_ids: Vec<String> = self.relays.iter().map(|r| r.organ_id.clone()).collect();
        let relay_refs: Vec<&str> = relay_ids.iter().map(String::as_str).collect();
        for relay in &mut self.relays {
            relay.start()?;
            self.federation.admit(&relay.dir)?;
        }
        for site in self
            .agencies
            .iter_mut()
            .chain(std::iter::once(&mut self.tax))
        {
            site.start()?;
            self.federation.admit_with_relays(&site.dir, &relay_refs)?;
        }
        let nodes: Vec<&ProcessNode> = self.sites().filter_map(|s| s.node.as_ref()).collect();
        self.federation.wait_roster(&nodes)
    }

    /// Every site: relays, agencies, the tax department.
    pub fn sites(&self) -> impl Iterator<Item = &Site> {
        self.relays
            .iter()
            .chain(self.agencies.iter())
            .chain(std::iter::once(&self.tax))
    }

    /// The LAN's namespace (for a test that inspects it).
    pub fn lan(&self) -> &Network {
        &self.lan
    }

    /// The tax network's namespace.
    pub fn tax_network(&self) -> &Network {
        &self.tax_network
    }

    /// The lab, for tests that add hosts.
    pub fn lab(&mut self) -> &mut Lab {
        &mut self.lab
    }
}

impl Site {
    fn init(
        federation: &Federation,
        organ_id: &str,
        name: &str,
        host: Host,
        addresses: Vec<Ipv4Addr>,
        role: &str,
        settings: &[(String, String)],
    ) -> anyhow::Result<Site> {
        let listen: Vec<String> = addresses
            .iter()
            .map(|ip| format!("/ip4/{ip}/tcp/0"))
            .collect();
        let listen: Vec<&str> = listen.iter().map(String::as_str).collect();
        let dir = federation.init_on(
            organ_id,
            name,
            &listen,
            &format!("{}:0", host.management()),
            role,
        )?;
        for (key, value) in settings {
            configure(&dir, key, value)?;
        }
        Ok(Site {
            organ_id: organ_id.to_owned(),
            name: name.to_owned(),
            dir,
            host,
            addresses,
            node: None,
        })
    }
}
