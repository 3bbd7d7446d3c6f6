//! Seed 000's province on one machine: agencies on the provincial LAN, the tax department
//! alone on the tax sector's network, and provincial relays with a leg in each, every node
//! a real `lienthong` process in its own network namespace ([`netns`](crate::netns)).
//!
//! A node on the tax network reaches nothing but the relays; agencies that name the relays
//! in the roster are reached through circuits on them, and have documents held in a
//! relay's mailbox while they are offline.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::netns::{Host, Lab, Network};
use crate::process::{Federation, ProcessNode, configure};

/// The networks of the province.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    /// The provincial LAN, `10.53.1.0/24`.
    Lan,
    /// The tax sector's dedicated network, `10.53.2.0/24`.
    Tax,
}

impl Net {
    fn subnet(self) -> [u8; 3] {
        match self {
            Net::Lan => [10, 53, 1],
            Net::Tax => [10, 53, 2],
        }
    }
}

/// One node to build.
#[derive(Debug, Clone)]
pub struct SitePlan {
    /// The agency id.
    pub organ_id: String,
    /// The agency's name.
    pub name: String,
    /// `agency` or `relay`.
    pub role: &'static str,
    /// The networks it is attached to.
    pub networks: Vec<Net>,
    /// Whether it names the province's relays in the roster.
    pub names_relays: bool,
    /// `config.toml` settings: `(key, value)`, on top of the province's.
    pub settings: Vec<(String, String)>,
}

impl SitePlan {
    /// An agency on `networks` that names the relays.
    pub fn agency(organ_id: &str, name: &str, networks: &[Net]) -> SitePlan {
        SitePlan {
            organ_id: organ_id.to_owned(),
            name: name.to_owned(),
            role: "agency",
            networks: networks.to_vec(),
            names_relays: true,
            settings: Vec::new(),
        }
    }

    /// A relay on both networks.
    pub fn relay(organ_id: &str, name: &str) -> SitePlan {
        SitePlan {
            role: "relay",
            names_relays: false,
            ..SitePlan::agency(organ_id, name, &[Net::Lan, Net::Tax])
        }
    }

    /// With a setting.
    pub fn with(mut self, key: &str, value: &str) -> SitePlan {
        self.settings.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Naming no relay.
    pub fn without_relays(mut self) -> SitePlan {
        self.names_relays = false;
        self
    }
}

/// What a province is made of.
#[derive(Debug, Clone)]
pub struct ProvincePlan {
    /// Every node; relays first is not required.
    pub sites: Vec<SitePlan>,
    /// Settings for every node: `(key, value)`.
    pub settings: Vec<(String, String)>,
    /// The nodes' log filter (`RUST_LOG` syntax); `None`: the harness's default.
    pub log: Option<String>,
}

/// Đồng Nai's agencies in the plans below.
pub mod dong_nai {
    /// UBND tỉnh Đồng Nai.
    pub const UBND: &str = "000.00.00.H19";
    /// Văn phòng UBND tỉnh.
    pub const OFFICE: &str = "000.00.01.H19";
    /// Sở Tài chính.
    pub const FINANCE: &str = "000.00.11.H19";
    /// Cục Thuế tỉnh Đồng Nai, a unit of the Ministry of Finance (G12), on the tax network.
    pub const TAX: &str = "000.19.01.G12";
    /// The province's relay, run by the Sở TT&TT.
    pub const RELAY: &str = "000.00.20.H19";
    /// A second relay, for when the first is down.
    pub const SECOND_RELAY: &str = "000.00.21.H19";
}

impl ProvincePlan {
    /// Đồng Nai (seed 000): three agencies on the LAN, the tax department on its own
    /// network, and `relays` (1 or 2) relays that every agency names.
    pub fn dong_nai(relays: usize) -> ProvincePlan {
        use dong_nai::*;
        let mut sites = vec![SitePlan::relay(RELAY, "Trạm chuyển tiếp Sở TT&TT Đồng Nai")];
        if relays > 1 {
            sites.push(SitePlan::relay(
                SECOND_RELAY,
                "Trạm chuyển tiếp dự phòng Đồng Nai",
            ));
        }
        sites.extend([
            SitePlan::agency(UBND, "UBND tỉnh Đồng Nai", &[Net::Lan]),
            SitePlan::agency(OFFICE, "Văn phòng UBND tỉnh Đồng Nai", &[Net::Lan]),
            SitePlan::agency(FINANCE, "Sở Tài chính Đồng Nai", &[Net::Lan]),
            SitePlan::agency(TAX, "Cục Thuế tỉnh Đồng Nai", &[Net::Tax]),
        ]);
        ProvincePlan {
            sites,
            settings: Vec::new(),
            log: None,
        }
    }
}

/// One node of the province: its agency, host, data directory and, while it runs, process.
#[derive(Debug)]
pub struct Site {
    /// The agency id.
    pub organ_id: String,
    /// Its host (namespace).
    pub host: Host,
    /// Its data directory.
    pub dir: PathBuf,
    /// Its address on each network it is attached to.
    pub addresses: Vec<Ipv4Addr>,
    /// The running process, if any.
    pub node: Option<ProcessNode>,
    log: Option<String>,
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
            self.node = Some(match &self.log {
                Some(filter) => self.host.start_with_log(&self.dir, filter)?,
                None => self.host.start(&self.dir)?,
            });
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
    sites: Vec<Site>,
    federation: Federation,
    _networks: Vec<Network>,
    // Last: dropped after every node has stopped.
    _lab: Lab,
}

impl Province {
    /// Builds the networks, initialises and starts every node, admits them (relays first,
    /// so agencies can name them) and waits until every node holds the roster.
    ///
    /// # Errors
    /// When the lab cannot be built (no root, no iproute2) or a node does not start.
    pub fn start(plan: &ProvincePlan) -> anyhow::Result<Province> {
        let mut lab = Lab::new()?;
        let mut lan = lab.network("lan", Net::Lan.subnet())?;
        let mut tax = lab.network("tax", Net::Tax.subnet())?;
        let federation = Federation::new("Liên thông tỉnh Đồng Nai")?;
        let (mut next_relay, mut next_agency) = (254u8, 10u8);
        let mut sites = Vec::new();
        for (i, site) in plan.sites.iter().enumerate() {
            let octet = if site.role == "relay" {
                next_relay -= 1;
                next_relay + 1
            } else {
                next_agency += 1;
                next_agency - 1
            };
            let mut host = lab.host(&format!("s{i}"))?;
            let mut addresses = Vec::new();
            for net in &site.networks {
                let network = match net {
                    Net::Lan => &mut lan,
                    Net::Tax => &mut tax,
                };
                addresses.push(lab.attach(&mut host, network, octet)?);
            }
            let listen: Vec<String> = addresses
                .iter()
                .map(|ip| format!("/ip4/{ip}/tcp/0"))
                .collect();
            let listen: Vec<&str> = listen.iter().map(String::as_str).collect();
            let dir = federation.init_on(
                &site.organ_id,
                &site.name,
                &listen,
                &format!("{}:0", host.management()),
                site.role,
            )?;
            for (key, value) in plan.settings.iter().chain(&site.settings) {
                configure(&dir, key, value)?;
            }
            sites.push(Site {
                organ_id: site.organ_id.clone(),
                host,
                dir,
                addresses,
                node: None,
                log: plan.log.clone(),
            });
        }
        let mut province = Province {
            sites,
            federation,
            _networks: vec![lan, tax],
            _lab: lab,
        };
        province.start_all_and_admit(plan)?;
        Ok(province)
    }

    fn start_all_and_admit(&mut self, plan: &ProvincePlan) -> anyhow::Result<()> {
        let relays: Vec<&str> = plan
            .sites
            .iter()
            .filter(|s| s.role == "relay")
            .map(|s| s.organ_id.as_str())
            .collect();
        // Relays first: agencies name them.
        for pass in ["relay", "agency"] {
            for (site_plan, site) in plan.sites.iter().zip(self.sites.iter_mut()) {
                if site_plan.role != pass {
                    continue;
                }
                site.start()?;
                let named: &[&str] = if site_plan.names_relays { &relays } else { &[] };
                self.federation.admit_with_relays(&site.dir, named)?;
            }
        }
        let nodes: Vec<&ProcessNode> = self.sites.iter().filter_map(|s| s.node.as_ref()).collect();
        self.federation.wait_roster(&nodes)
    }

    /// The site of `organ_id`.
    ///
    /// # Panics
    /// When the province has no such site (a test's mistake).
    pub fn site(&self, organ_id: &str) -> &Site {
        self.sites
            .iter()
            .find(|s| s.organ_id == organ_id)
            .unwrap_or_else(|| panic!("no site {organ_id}"))
    }

    /// The site of `organ_id`, to start or stop it.
    ///
    /// # Panics
    /// When the province has no such site.
    pub fn site_mut(&mut self, organ_id: &str) -> &mut Site {
        self.sites
            .iter_mut()
            .find(|s| s.organ_id == organ_id)
            .unwrap_or_else(|| panic!("no site {organ_id}"))
    }

    /// The running node of `organ_id`.
    ///
    /// # Panics
    /// When there is no such site or it is stopped.
    pub fn node(&self, organ_id: &str) -> &ProcessNode {
        self.site(organ_id).node()
    }

    /// The federation authority.
    pub fn federation(&self) -> &Federation {
        &self.federation
    }
}
