//! The scenario file: who takes part, on which networks, what they send, how their QLVB
//! answers, and what breaks when. `simulations/README.md` documents every key.
//!
//! Times in a scenario are *simulated* time (`"8h"`, `"15d"`); `time_scale` says how many
//! simulated seconds pass per real second, so a working day runs in a minute. Settings that
//! are about the machine (link delays, node timers) are real time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use bytesize::ByteSize;
use lienthong_protocol::OrganId;
use serde::Deserialize;

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used in reports and file names.
    pub name: String,
    /// What the scenario reproduces, and from which seed letter.
    #[serde(default)]
    pub description: String,
    /// The seed used when `--seed` is not given.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// How long agencies send documents, in simulated time.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    /// After the traffic stops and every fault is healed: at most this much simulated time
    /// for everything to arrive and every receipt to reach its sender.
    #[serde(with = "humantime_serde", default = "default_drain")]
    pub drain: Duration,
    /// `config.toml` settings for every node: dotted key → TOML value as written in the
    /// file (`"delivery.retry_max" = '"5s"'`).
    #[serde(default)]
    pub node: BTreeMap<String, String>,
    /// The networks. Without any, there is one network, `default`.
    #[serde(default)]
    pub networks: Vec<NetworkSpec>,
    /// Provincial relay nodes.
    #[serde(default)]
    pub relays: Vec<RelaySpec>,
    /// Agencies listed one by one.
    #[serde(default)]
    pub agencies: Vec<AgencySpec>,
    /// Agencies and relays made up by rule, for national scenarios.
    #[serde(default)]
    pub generate: Option<GenerateSpec>,
    /// What agencies send.
    pub traffic: TrafficSpec,
    /// How the recipients' document-management software answers.
    #[serde(default)]
    pub qlvb: QlvbSpec,
    /// Faults on the timeline.
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// Run the scenario a second time with every document going through one hub: the
    /// test axis, its API spoken by every agency's QLVB.
    #[serde(default)]
    pub hub: Option<HubSpec>,
    /// The transition: agencies not yet on lienthong, whose QLVBs talk to a test axis
    /// that the other agencies' nodes bridge to.
    #[serde(default)]
    pub axis: Option<AxisSpec>,
}

fn default_seed() -> u64 {
    1
}

fn default_drain() -> Duration {
    Duration::from_secs(4 * 3600)
}

/// A network: nodes on the same network reach each other; nodes on different networks
/// only when one network `reaches` the other.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Its name.
    pub name: String,
    /// Networks this one is routed to, both ways.
    #[serde(default)]
    pub reaches: Vec<String>,
}

/// A provincial relay: a node with a leg in several networks, and a mailbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaySpec {
    /// Its OrganId.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The networks it is attached to; default: every network.
    #[serde(default)]
    pub networks: Vec<String>,
}

/// One agency.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencySpec {
    /// Its OrganId.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its network; default: the first one.
    #[serde(default)]
    pub network: Option<String>,
    /// The relays it names in the roster (reached through them, mailbox there).
    #[serde(default)]
    pub relays: Vec<String>,
    /// When its node starts, in simulated time (a phased rollout).
    #[serde(with = "humantime_serde", default)]
    pub joins: Duration,
    /// Sends documents; `false` for an agency that only receives.
    #[serde(default = "yes")]
    pub sends: bool,
}

fn yes() -> bool {
    true
}

/// Agencies made up by rule: `agencies` nodes, relays included, spread over `provinces`
/// provinces with level-1 codes `H10`, `H11`, … Each province has `relays_per_province`
/// relays; `separate_share` of its agencies sit on their own network behind them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateSpec {
    /// How many provinces.
    pub provinces: usize,
    /// How many nodes in all, relays included.
    pub agencies: usize,
    /// Relays in each province.
    #[serde(default = "one")]
    pub relays_per_province: usize,
    /// Share of each province's agencies on a separate network, reached through a relay.
    #[serde(default)]
    pub separate_share: f64,
}

fn one() -> usize {
    1
}

/// What agencies send.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficSpec {
    /// Documents each sending agency sends per simulated minute (on average; Poisson).
    pub docs_per_agency_per_minute: f64,
    /// Recipients per document: `[min, max]`, uniform.
    #[serde(default = "default_recipients")]
    pub recipients: [usize; 2],
    /// Where recipients are drawn from: `province` (the sender's level-1 code) or `any`.
    #[serde(default)]
    pub scope: Scope,
    /// Document sizes and their weights.
    #[serde(default = "default_sizes")]
    pub sizes: Vec<SizeSpec>,
    /// Weights of the priorities: `normal`, `urgent`, `very_urgent`, `flash`.
    #[serde(default = "default_priorities")]
    pub priorities: BTreeMap<PriorityName, u32>,
    /// Extra streams of documents, e.g. every unit reporting to one office.
    #[serde(default)]
    pub flows: Vec<FlowSpec>,
}

fn default_recipients() -> [usize; 2] {
    [1, 3]
}

fn default_sizes() -> Vec<SizeSpec> {
    vec![SizeSpec {
        size: ByteSize::kib(12),
        weight: 1,
    }]
}

fn default_priorities() -> BTreeMap<PriorityName, u32> {
    BTreeMap::from([(PriorityName::Normal, 1)])
}

/// Where recipients come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Agencies with the sender's level-1 code (its province or ministry).
    #[default]
    Province,
    /// Any agency.
    Any,
}

/// A document size and how often it occurs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeSpec {
    /// The edXML size.
    pub size: ByteSize,
    /// Relative weight.
    pub weight: u32,
}

/// A priority of QCVN 102 (`OtherInfo/Priority`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PriorityName {
    /// 0 Thường.
    Normal,
    /// 1 Khẩn.
    Urgent,
    /// 2 Thượng khẩn.
    VeryUrgent,
    /// 3 Hỏa tốc.
    Flash,
}

/// A stream of documents from some agencies to some agencies.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    /// Senders: OrganIds, or `"*"` for every sending agency.
    pub from: Vec<String>,
    /// Recipients of every document of the flow.
    pub to: Vec<String>,
    /// Documents per simulated minute for the whole flow.
    pub docs_per_minute: f64,
}

/// How QLVB answers a document it received.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QlvbSpec {
    /// How often QLVB polls its node's inbox, in simulated time.
    #[serde(with = "humantime_serde", default = "default_poll")]
    pub poll: Duration,
    /// The statuses it sends, in order, for a document it accepts.
    #[serde(default = "default_progression")]
    pub progression: Vec<String>,
    /// Mean simulated time before each next status (exponential).
    #[serde(with = "humantime_serde", default = "default_step")]
    pub step_delay: Duration,
    /// Share of documents refused with 02 instead.
    #[serde(default)]
    pub reject_share: f64,
    /// Share of documents whose sender asks to take them back (13); the recipient answers
    /// 15.
    #[serde(default)]
    pub take_back_share: f64,
}

impl Default for QlvbSpec {
    fn default() -> Self {
        Self {
            poll: default_poll(),
            progression: default_progression(),
            step_delay: default_step(),
            reject_share: 0.0,
            take_back_share: 0.0,
        }
    }
}

fn default_poll() -> Duration {
    Duration::from_secs(60)
}

fn default_progression() -> Vec<String> {
    ["03", "04", "05", "06"].map(str::to_owned).to_vec()
}

fn default_step() -> Duration {
    Duration::from_secs(30 * 60)
}

/// One fault on the timeline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// When it starts, in simulated time from the start.
    #[serde(with = "humantime_serde")]
    pub at: Duration,
    /// What happens.
    pub kind: FaultKind,
    /// For how long (simulated): the node restarts, the partition heals, the loss or delay
    /// ends.
    #[serde(with = "humantime_serde")]
    pub lasts: Duration,
    /// The nodes it touches: crashed; cut off from every other node; or whose links drop
    /// or delay. `"*"` is every node.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// For a partition: two networks whose nodes lose each other.
    #[serde(default)]
    pub networks: Vec<String>,
    /// For `drop`: the share of writes (about one per frame) that reset the connection.
    #[serde(default)]
    pub rate: f64,
    /// For `delay`: extra delay per write, in real time.
    #[serde(with = "humantime_serde", default)]
    pub delay: Duration,
}

/// The kinds of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// The node stops at once, as with kill -9, and starts again after `lasts`.
    Crash,
    /// The nodes (or networks) cannot reach each other until it heals.
    Partition,
    /// A share of transfers on the nodes' links resets the connection.
    Drop,
    /// Every transfer on the nodes' links waits `delay`.
    Delay,
}

/// The comparison run: one hub carries every document, as today's axis does.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubSpec {
    /// The hub's OrganId.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Faults of the hub run only (`nodes = ["hub"]` names the hub).
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
}

/// The transition: some agencies have no lienthong node yet, only their account on the
/// axis. Their QLVBs speak the axis's SDK protocol to a test axis; every other agency's
/// node has its `[axis]` bridge on, pointed at the same test axis. Faults name the axis
/// as `nodes = ["axis"]`: `delay` slows every call by `delay`, `crash` takes it down.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AxisSpec {
    /// Its name, for the report.
    #[serde(default)]
    pub name: String,
    /// Agencies only on the axis, by id.
    #[serde(default)]
    pub agencies: Vec<String>,
    /// Besides those, this share of the listed `[[agencies]]`, spread evenly over the
    /// list (`0.5`: every second one).
    #[serde(default)]
    pub share: f64,
}

impl AxisSpec {
    /// Whether the agency at `position` of the scenario's `[[agencies]]`, `id`, is only on
    /// the axis.
    pub fn has(&self, position: usize, id: &str) -> bool {
        let k = position as f64;
        self.agencies.iter().any(|a| a == id)
            || ((k + 1.0) * self.share).floor() > (k * self.share).floor()
    }
}

impl Scenario {
    /// Reads and checks a scenario file.
    ///
    /// # Errors
    /// When the file cannot be read, is not valid TOML, or does not make sense; the error
    /// names the key.
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Scenario::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Parses and checks scenario text.
    ///
    /// # Errors
    /// As [`Scenario::load`].
    pub fn parse(text: &str) -> anyhow::Result<Scenario> {
        let scenario: Scenario = toml::from_str(text)?;
        scenario.check()?;
        Ok(scenario)
    }

    /// The networks, with the implicit `default` when none is listed.
    pub fn network_names(&self) -> Vec<String> {
        if self.networks.is_empty() {
            vec!["default".to_owned()]
        } else {
            self.networks.iter().map(|n| n.name.clone()).collect()
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        ensure!(!self.name.is_empty(), "name: must not be empty");
        ensure!(
            self.time_scale.is_finite() && self.time_scale > 0.0,
            "time_scale: must be a positive number, not {}",
            self.time_scale
        );
        ensure!(!self.duration.is_zero(), "duration: must be above zero");
        let networks: BTreeSet<String> = self.network_names().into_iter().collect();
        ensure!(
            networks.len() == self.network_names().len(),
            "networks: a name is listed twice"
        );
        for network in &self.networks {
            for other in &network.reaches {
                ensure!(
                    networks.contains(other),
                    "networks.{}.reaches: no network {other:?}",
                    network.name
                );
            }
        }
        let mut ids = BTreeSet::new();
        for relay in &self.relays {
            check_id(&relay.id, "relays.id")?;
            ensure!(ids.insert(relay.id.clone()), "relays: {} twice", relay.id);
            for n in &relay.networks {
                ensure!(
                    networks.contains(n),
                    "relays.{}: no network {n:?}",
                    relay.id
                );
            }
        }
        let relays: BTreeSet<&str> = self.relays.iter().map(|r| r.id.as_str()).collect();
        for agency in &self.agencies {
            check_id(&agency.id, "agencies.id")?;
            ensure!(
                ids.insert(agency.id.clone()),
                "agencies: {} twice",
                agency.id
            );
            if let Some(n) = &agency.network {
                ensure!(
                    networks.contains(n),
                    "agencies.{}.network: no network {n:?}",
                    agency.id
                );
            }
            for r in &agency.relays {
                ensure!(
                    relays.contains(r.as_str()),
                    "agencies.{}.relays: {r} is not a relay of this scenario",
                    agency.id
                );
            }
        }
        if let Some(generate) = &self.generate {
            ensure!(
                (1..=89).contains(&generate.provinces),
                "generate.provinces: 1 to 89"
            );
            ensure!(
                generate.agencies >= generate.provinces * (generate.relays_per_province + 2),
                "generate.agencies: at least two agencies and the relays per province"
            );
            ensure!(
                generate.agencies / generate.provinces <= 99 + generate.relays_per_province,
                "generate.agencies: at most 99 agencies per province"
            );
            ensure!(
                (0.0..=1.0).contains(&generate.separate_share),
                "generate.separate_share: between 0 and 1"
            );
            ensure!(
                generate.separate_share == 0.0 || generate.relays_per_province > 0,
                "generate.separate_share: agencies on separate networks need a relay"
            );
        }
        ensure!(
            !self.agencies.is_empty() || self.generate.is_some(),
            "agencies: a scenario needs agencies, listed or generated"
        );
        let t = &self.traffic;
        ensure!(
            t.docs_per_agency_per_minute.is_finite() && t.docs_per_agency_per_minute >= 0.0,
            "traffic.docs_per_agency_per_minute: a number ≥ 0"
        );
        ensure!(
            t.recipients[0] >= 1 && t.recipients[0] <= t.recipients[1],
            "traffic.recipients: [min, max] with 1 ≤ min ≤ max"
        );
        ensure!(
            t.sizes.iter().any(|s| s.weight > 0),
            "traffic.sizes: at least one size with a weight above zero"
        );
        ensure!(
            t.priorities.values().any(|w| *w > 0),
            "traffic.priorities: at least one priority with a weight above zero"
        );
        for flow in &t.flows {
            ensure!(
                flow.docs_per_minute.is_finite() && flow.docs_per_minute >= 0.0,
                "traffic.flows.docs_per_minute: a number ≥ 0"
            );
            ensure!(
                !flow.to.is_empty(),
                "traffic.flows.to: at least one recipient"
            );
            for id in flow.to.iter().chain(flow.from.iter().filter(|f| *f != "*")) {
                check_id(id, "traffic.flows")?;
            }
        }
        let q = &self.qlvb;
        ensure!(!q.poll.is_zero(), "qlvb.poll: must be above zero");
        for code in &q.progression {
            ensure!(
                ["03", "04", "05", "06"].contains(&code.as_str()),
                "qlvb.progression: {code:?} is not one of 03, 04, 05, 06"
            );
        }
        for (name, share) in [
            ("reject_share", q.reject_share),
            ("take_back_share", q.take_back_share),
        ] {
            ensure!(
                (0.0..=1.0).contains(&share),
                "qlvb.{name}: between 0 and 1, not {share}"
            );
        }
        for (i, fault) in self.faults.iter().enumerate() {
            fault
                .check(&networks)
                .with_context(|| format!("faults[{i}]"))?;
        }
        if let Some(axis) = &self.axis {
            ensure!(
                (0.0..=1.0).contains(&axis.share),
                "axis.share: between 0 and 1, not {}",
                axis.share
            );
            for id in &axis.agencies {
                ensure!(
                    self.agencies.iter().any(|a| &a.id == id),
                    "axis.agencies: {id} is not one of the [[agencies]]"
                );
            }
            ensure!(
                self.hub.is_none(),
                "axis: a transition scenario has no [hub] run"
            );
        }
        for fault in self
            .faults
            .iter()
            .chain(self.hub.iter().flat_map(|h| &h.faults))
        {
            if fault.nodes.iter().any(|n| n == "axis" || n == "hub") {
                ensure!(
                    matches!(fault.kind, FaultKind::Crash | FaultKind::Delay),
                    "faults: the axis can be slowed (delay) or taken down (crash), not {:?}",
                    fault.kind
                );
            }
        }
        if let Some(hub) = &self.hub {
            check_id(&hub.id, "hub.id")?;
            for (i, fault) in hub.faults.iter().enumerate() {
                fault
                    .check(&networks)
                    .with_context(|| format!("hub.faults[{i}]"))?;
            }
        }
        Ok(())
    }
}

impl FaultSpec {
    fn check(&self, networks: &BTreeSet<String>) -> anyhow::Result<()> {
        ensure!(!self.lasts.is_zero(), "lasts: must be above zero");
        match self.kind {
            FaultKind::Crash => ensure!(!self.nodes.is_empty(), "crash: name the nodes"),
            FaultKind::Partition => {
                if self.networks.is_empty() {
                    ensure!(
                        !self.nodes.is_empty(),
                        "partition: name the nodes to cut off, or two networks"
                    );
                } else {
                    ensure!(
                        self.networks.len() == 2,
                        "partition: networks = [a, b], two networks"
                    );
                    for n in &self.networks {
                        ensure!(networks.contains(n), "partition: no network {n:?}");
                    }
                }
            }
            FaultKind::Drop => {
                ensure!(
                    self.rate > 0.0 && self.rate <= 1.0,
                    "drop: rate between 0 (excluded) and 1"
                );
                ensure!(!self.nodes.is_empty(), "drop: name the nodes (or \"*\")");
            }
            FaultKind::Delay => {
                ensure!(!self.delay.is_zero(), "delay: delay must be above zero");
                ensure!(!self.nodes.is_empty(), "delay: name the nodes (or \"*\")");
            }
        }
        Ok(())
    }
}

fn check_id(id: &str, key: &str) -> anyhow::Result<()> {
    let parsed: OrganId = id
        .parse()
        .map_err(|e| anyhow::anyhow!("{key}: {id:?} is not an agency id: {e}"))?;
    if parsed.as_str() != id {
        bail!("{key}: {id:?} is not written in its canonical form");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
        name = "two"
        duration = "1h"
        time_scale = 600
        [[agencies]]
        id = "000.00.01.H19"
        name = "A"
        [[agencies]]
        id = "000.00.02.H19"
        name = "B"
        [traffic]
        docs_per_agency_per_minute = 0.1
    "#;

    #[test]
    fn a_small_scenario_reads_with_defaults() {
        let s = Scenario::parse(SMALL).unwrap();
        assert_eq!(s.agencies.len(), 2);
        assert_eq!(s.network_names(), ["default"]);
        assert_eq!(s.qlvb.progression, ["03", "04", "05", "06"]);
        assert_eq!(s.traffic.recipients, [1, 3]);
        assert_eq!(s.drain, Duration::from_secs(4 * 3600));
    }

    #[test]
    fn mistakes_name_their_key() {
        let bad = SMALL.replace("time_scale = 600", "time_scale = 600\ncolour = 1");
        assert!(
            format!("{:#}", Scenario::parse(&bad).unwrap_err()).contains("unknown field `colour`")
        );
        let bad = SMALL.replace("\"000.00.02.H19\"", "\"000.00.01.H19\"");
        assert!(
            Scenario::parse(&bad)
                .unwrap_err()
                .to_string()
                .contains("000.00.01.H19 twice")
        );
        let bad = format!(
            "{SMALL}\n[[faults]]\nat = \"1m\"\nkind = \"partition\"\nlasts = \"1m\"\nnetworks = [\"x\", \"y\"]\n"
        );
        let e = format!("{:#}", Scenario::parse(&bad).unwrap_err());
        assert!(
            e.contains("faults[0]") && e.contains("no network \"x\""),
            "{e}"
        );
    }
}
