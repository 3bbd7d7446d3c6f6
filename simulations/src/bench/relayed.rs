//! Delivery through a relay, in network namespaces (root and iproute2 needed): a sender on
//! the provincial LAN, a relay on the LAN and the tax network, and two units on the tax
//! network that the sender cannot reach. One keeps a reservation on the relay and is
//! reached through a circuit; the other keeps none, so everything sent to it is deposited
//! in the relay's mailbox and handed over on the connection it keeps to the relay. The
//! sender names no relay, so neither unit can open a connection to it: every document and
//! every receipt crosses the relay.

use std::sync::Arc;

use super::nodes::Route;
use crate::process::ProcessNode;
use crate::province::{Net, Province as Lab, ProvincePlan, SitePlan};

const RELAY: &str = "000.00.20.H19";
const SENDER: &str = "000.00.01.H19";
const BEHIND_RELAY: &str = "000.19.01.G12";
const MAILBOX_ONLY: &str = "000.19.02.G12";

/// The province, and a handle on its sender that the routes share.
pub(super) struct Province {
    sender: Arc<ProcessNode>,
    _lab: Lab,
}

impl Province {
    /// Builds it.
    ///
    /// # Errors
    /// When network namespaces cannot be made (not root, no iproute2) or a node fails.
    pub(super) fn start() -> anyhow::Result<Province> {
        let plan = ProvincePlan {
            sites: vec![
                SitePlan::relay(RELAY, "Trạm chuyển tiếp Sở TT&TT"),
                SitePlan::agency(SENDER, "Văn phòng UBND tỉnh", &[Net::Lan]).without_relays(),
                SitePlan::agency(BEHIND_RELAY, "Cục Thuế tỉnh", &[Net::Tax]),
                SitePlan::agency(MAILBOX_ONLY, "Chi cục Thuế khu vực", &[Net::Tax])
                    .with("reserve", "false"),
            ],
            settings: super::nodes::THROUGHPUT_SETTINGS
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
            // Benchmarks log only problems: logging every package would measure the disk.
            log: Some("warn".to_owned()),
        };
        let mut lab = Lab::start(&plan)?;
        // The harness stops a node when its handle goes; the routes share the sender's.
        let sender = lab
            .site_mut(SENDER)
            .node
            .take()
            .ok_or_else(|| anyhow::anyhow!("the sender did not start"))?;
        Ok(Province {
            sender: Arc::new(sender),
            _lab: lab,
        })
    }

    /// To the unit reached through a circuit.
    pub(super) fn circuit(&self) -> Route {
        Route {
            sender: self.sender.clone(),
            from: SENDER,
            to: BEHIND_RELAY,
        }
    }

    /// To the unit reached only through the mailbox.
    pub(super) fn mailbox(&self) -> Route {
        Route {
            sender: self.sender.clone(),
            from: SENDER,
            to: MAILBOX_ONLY,
        }
    }
}
