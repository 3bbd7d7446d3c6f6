//! A scenario made concrete by its seed: every node with its networks and relays, every
//! document with its time, size and recipients, every QLVB answer, every fault. Nothing
//! here touches a node, so the same seed gives the same plan, which the tests check.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use lienthong_protocol::OrganId;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom as _, SliceRandom as _};
use rand::{RngExt as _, SeedableRng as _};
use serde::Serialize;

use super::scenario::{FaultKind, FaultSpec, PriorityName, Scenario, Scope};

/// Federation or hub: the two ways a scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every agency runs its own node; relays only where networks are separate.
    Federation,
    /// Every document goes through one central hub, as with today's axis: every agency's
    /// QLVB speaks the axis's API to a test axis, and no agency has a node.
    Hub,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Federation => "federation",
            Mode::Hub => "hub",
        })
    }
}

/// One node of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Site {
    /// The agency id.
    pub organ_id: String,
    /// Its name.
    pub name: String,
    /// Whether it is a relay.
    pub relay: bool,
    /// Indexes into [`Plan::networks`].
    pub networks: Vec<usize>,
    /// The relays it names in the roster.
    pub relays: Vec<String>,
    /// When it starts (simulated).
    pub joins: Duration,
    /// Whether its QLVB sends documents.
    pub sends: bool,
    /// Only on the axis: no node; its QLVB talks to the test axis.
    pub on_axis: bool,
}

/// What a recipient's QLVB does with one document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Answer {
    /// Refuses it with 02 this long (simulated) after seeing it.
    Reject(Duration),
    /// Sends these statuses, each this long after the previous step.
    Progress(Vec<(String, Duration)>),
}

/// One document of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedDocument {
    /// Its number, unique in the plan: the edXML `DocumentId` carries it.
    pub number: u64,
    /// When the sender's QLVB submits it (simulated).
    pub at: Duration,
    /// The sending site.
    pub from: usize,
    /// The recipient sites.
    pub to: Vec<usize>,
    /// The edXML size in bytes.
    pub size: u64,
    /// Its priority.
    pub priority: PriorityName,
    /// Each recipient's answer, in the order of `to`.
    pub answers: Vec<Answer>,
    /// When the sender asks to take it back (13), after receipt 01 of every recipient.
    pub take_back_after: Option<Duration>,
}

/// One fault of the plan, with its nodes resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedFault {
    /// What happens.
    pub kind: FaultKind,
    /// From when (simulated).
    pub at: Duration,
    /// Until when (simulated).
    pub until: Duration,
    /// The sites it touches.
    pub nodes: Vec<usize>,
    /// For a partition between networks: the two networks.
    pub networks: Option<(usize, usize)>,
    /// For `drop`.
    pub rate: f64,
    /// For `delay` (real time).
    pub delay: Duration,
    /// A short description for the report and charts.
    pub label: String,
    /// It touches the test axis: `delay` slows every call, `crash` takes it down.
    pub axis: bool,
}

/// A scenario made concrete.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The scenario's name.
    pub scenario: String,
    /// The seed it was made from.
    pub seed: u64,
    /// Federation or hub.
    pub mode: Mode,
    /// Whether chaos faults were added.
    pub chaos: bool,
    /// Network names.
    pub networks: Vec<String>,
    /// Pairs of networks routed to each other (`a < b`).
    pub reach: BTreeSet<(usize, usize)>,
    /// The nodes.
    pub sites: Vec<Site>,
    /// The documents, in time order.
    pub documents: Vec<PlannedDocument>,
    /// The faults, in time order.
    pub faults: Vec<PlannedFault>,
    /// How long traffic lasts (simulated).
    pub duration: Duration,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    /// The longest wait (simulated) for everything to settle after the traffic and faults.
    pub drain: Duration,
    /// How often each QLVB polls (simulated).
    pub poll: Duration,
    /// The test axis's name, when the run has one (hub mode, or agencies only on the
    /// axis).
    pub axis: Option<String>,
}

impl Plan {
    /// Makes the plan of `scenario` in `mode` with `seed`, with chaos faults when `chaos`.
    ///
    /// # Errors
    /// When a fault or flow names an unknown node, or hub mode is asked of a scenario
    /// without `[hub]`.
    pub fn new(scenario: &Scenario, seed: u64, mode: Mode, chaos: bool) -> anyhow::Result<Plan> {
        let (networks, reach, mut sites) = topology(scenario)?;
        let (networks, reach) = match mode {
            Mode::Federation => (networks, reach),
            Mode::Hub => hub_topology(scenario, &mut sites)?,
        };
        let axis = match (mode, &scenario.hub, &scenario.axis) {
            (Mode::Hub, Some(hub), _) => Some(hub.name.clone()),
            (Mode::Federation, _, Some(axis)) => Some(if axis.name.is_empty() {
                "trục liên thông (thử nghiệm)".to_owned()
            } else {
                axis.name.clone()
            }),
            _ => None,
        };
        // Separate streams, so that chaos or hub mode never change the traffic.
        let documents = traffic(scenario, &sites, &mut stream(seed, 1))?;
        let by_id: BTreeMap<&str, usize> = sites
            .iter()
            .enumerate()
            .map(|(i, s)| (s.organ_id.as_str(), i))
            .collect();
        let specs = match (mode, &scenario.hub) {
            (Mode::Federation, _) => &scenario.faults,
            (Mode::Hub, Some(hub)) => &hub.faults,
            (Mode::Hub, None) => bail!("the scenario has no [hub] to compare with"),
        };
        let mut faults = specs
            .iter()
            .enumerate()
            .map(|(i, f)| {
                resolve_fault(f, &by_id, &networks, mode, axis.is_some(), &sites)
                    .with_context(|| format!("faults[{i}]"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if chaos {
            faults.extend(chaos_faults(scenario, &sites, &mut stream(seed, 2)));
        }
        faults.sort_by_key(|f| f.at);
        Ok(Plan {
            scenario: scenario.name.clone(),
            seed,
            mode,
            chaos,
            networks,
            reach,
            sites,
            documents,
            faults,
            duration: scenario.duration,
            time_scale: scenario.time_scale,
            drain: scenario.drain,
            poll: scenario.qlvb.poll,
            axis,
        })
    }

    /// The site of `organ_id`.
    pub fn site_index(&self, organ_id: &str) -> Option<usize> {
        self.sites.iter().position(|s| s.organ_id == organ_id)
    }

    /// The simulated time at which every fault has ended.
    pub fn faults_end(&self) -> Duration {
        self.faults
            .iter()
            .map(|f| f.until)
            .max()
            .unwrap_or_default()
    }

    /// Whether the run has a test axis.
    pub fn uses_axis(&self) -> bool {
        self.axis.is_some()
    }

    /// Sites that run a node (not only on the axis).
    pub fn node_sites(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.sites.len()).filter(|&i| !self.sites[i].on_axis)
    }

    /// `(document, recipient)` pairs the plan sends.
    pub fn deliveries(&self) -> usize {
        self.documents.iter().map(|d| d.to.len()).sum()
    }
}

fn stream(seed: u64, n: u64) -> StdRng {
    StdRng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ n)
}

/// Network names and the pairs routed to each other.
type Networks = (Vec<String>, BTreeSet<(usize, usize)>);

type Topology = (Vec<String>, BTreeSet<(usize, usize)>, Vec<Site>);

fn topology(scenario: &Scenario) -> anyhow::Result<Topology> {
    let mut networks = scenario.network_names();
    let mut reach = BTreeSet::new();
    let index = |networks: &[String], name: &str| networks.iter().position(|n| n == name);
    for spec in &scenario.networks {
        let a = index(&networks, &spec.name).context("network")?;
        for other in &spec.reaches {
            let b = index(&networks, other).context("network")?;
            reach.insert((a.min(b), a.max(b)));
        }
    }
    let mut sites = Vec::new();
    for relay in &scenario.relays {
        let on: Vec<usize> = if relay.networks.is_empty() {
            (0..networks.len()).collect()
        } else {
            relay
                .networks
                .iter()
                .filter_map(|n| index(&networks, n))
                .collect()
        };
        sites.push(Site {
            organ_id: relay.id.clone(),
            name: relay.name.clone(),
            relay: true,
            networks: on,
            relays: Vec::new(),
            joins: Duration::ZERO,
            sends: false,
            on_axis: false,
        });
    }
    for (position, agency) in scenario.agencies.iter().enumerate() {
        let network = agency
            .network
            .as_deref()
            .and_then(|n| index(&networks, n))
            .unwrap_or(0);
        sites.push(Site {
            organ_id: agency.id.clone(),
            name: agency.name.clone(),
            relay: false,
            networks: vec![network],
            relays: agency.relays.clone(),
            joins: agency.joins,
            sends: agency.sends,
            on_axis: scenario
                .axis
                .as_ref()
                .is_some_and(|a| a.has(position, &agency.id)),
        });
    }
    if let Some(generate) = &scenario.generate {
        generated(generate, &mut networks, &mut sites);
    }
    Ok((networks, reach, sites))
}

/// Provinces `H10`, `H11`, … on one wide-area network, each with its relays and a
/// separate network behind them for a share of its agencies.
fn generated(
    generate: &super::scenario::GenerateSpec,
    networks: &mut Vec<String>,
    sites: &mut Vec<Site>,
) {
    let wan = networks.len();
    networks.push("wan".to_owned());
    let base = generate.agencies / generate.provinces;
    let extra = generate.agencies % generate.provinces;
    for p in 0..generate.provinces {
        let code = format!("H{}", 10 + p);
        let separate = networks.len();
        networks.push(format!("{code}-separate"));
        let nodes = base + usize::from(p < extra);
        let relays: Vec<String> = (0..generate.relays_per_province)
            .map(|r| format!("000.00.{}.{code}", 90 + r))
            .collect();
        for (r, id) in relays.iter().enumerate() {
            sites.push(Site {
                organ_id: id.clone(),
                name: format!("Trạm chuyển tiếp {} tỉnh {code}", r + 1),
                relay: true,
                networks: vec![wan, separate],
                relays: Vec::new(),
                joins: Duration::ZERO,
                sends: false,
                on_axis: false,
            });
        }
        let agencies = nodes - relays.len();
        // Rounded to the nearest unit, at least one when the share is above zero.
        let behind = ((agencies as f64 * generate.separate_share).round() as usize)
            .max(usize::from(generate.separate_share > 0.0))
            .min(agencies);
        for a in 0..agencies {
            let on_separate = a >= agencies - behind;
            sites.push(Site {
                organ_id: format!("000.00.{:02}.{code}", a + 1),
                name: format!("Đơn vị {} tỉnh {code}", a + 1),
                relay: false,
                networks: vec![if on_separate { separate } else { wan }],
                relays: relays.clone(),
                joins: Duration::ZERO,
                sends: true,
                on_axis: false,
            });
        }
    }
}

/// The hub run: the scenario's relays go and no agency has a node: every agency's QLVB
/// speaks the axis's API to one test axis, which carries every document and status.
fn hub_topology(scenario: &Scenario, sites: &mut Vec<Site>) -> anyhow::Result<Networks> {
    scenario
        .hub
        .as_ref()
        .context("the scenario has no [hub] to compare with")?;
    sites.retain(|s| !s.relay);
    for site in sites.iter_mut() {
        site.networks = vec![0];
        site.relays = Vec::new();
        site.on_axis = true;
    }
    Ok((vec!["axis".to_owned()], BTreeSet::new()))
}

fn level_one(id: &str) -> Option<String> {
    let id: OrganId = id.parse().ok()?;
    id.level_one().map(|l| l.to_string())
}

/// Poisson arrivals per sending agency and per flow, recipients and sizes by weight,
/// answers decided up front.
fn traffic(
    scenario: &Scenario,
    sites: &[Site],
    rng: &mut StdRng,
) -> anyhow::Result<Vec<PlannedDocument>> {
    let t = &scenario.traffic;
    let minute = 60.0;
    let end = scenario.duration.as_secs_f64();
    let agencies: Vec<usize> = (0..sites.len()).filter(|&i| !sites[i].relay).collect();
    let provinces: Vec<Option<String>> = sites.iter().map(|s| level_one(&s.organ_id)).collect();
    let mut arrivals: Vec<(f64, usize, Option<Vec<usize>>)> = Vec::new();
    if t.docs_per_agency_per_minute > 0.0 {
        let rate = t.docs_per_agency_per_minute / minute;
        for &a in agencies.iter().filter(|&&a| sites[a].sends) {
            let mut at = sites[a].joins.as_secs_f64();
            loop {
                at += exponential(rng, 1.0 / rate);
                if at >= end {
                    break;
                }
                arrivals.push((at, a, None));
            }
        }
    }
    let by_id: BTreeMap<&str, usize> = sites
        .iter()
        .enumerate()
        .map(|(i, s)| (s.organ_id.as_str(), i))
        .collect();
    for flow in &t.flows {
        let find = |id: &String| {
            by_id
                .get(id.as_str())
                .copied()
                .with_context(|| format!("traffic.flows: no agency {id}"))
        };
        let to: Vec<usize> = flow.to.iter().map(find).collect::<anyhow::Result<_>>()?;
        let from: Vec<usize> = if flow.from.iter().any(|f| f == "*") {
            agencies
                .iter()
                .copied()
                .filter(|a| sites[*a].sends && !to.contains(a))
                .collect()
        } else {
            flow.from.iter().map(find).collect::<anyhow::Result<_>>()?
        };
        if from.is_empty() || flow.docs_per_minute <= 0.0 {
            continue;
        }
        let mut at = 0.0;
        loop {
            at += exponential(rng, minute / flow.docs_per_minute);
            if at >= end {
                break;
            }
            let Some(&sender) = from
                .iter()
                .filter(|&&s| sites[s].joins.as_secs_f64() <= at)
                .collect::<Vec<_>>()
                .choose(rng)
            else {
                continue;
            };
            arrivals.push((at, *sender, Some(to.clone())));
        }
    }
    arrivals.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));

    let sizes: Vec<(u64, u32)> = t
        .sizes
        .iter()
        .map(|s| (s.size.as_u64(), s.weight))
        .collect();
    let priorities: Vec<(PriorityName, u32)> = t.priorities.iter().map(|(p, w)| (*p, *w)).collect();
    let q = &scenario.qlvb;
    let mut documents = Vec::with_capacity(arrivals.len());
    for (at, from, fixed) in arrivals {
        let to: Vec<usize> = match fixed {
            Some(to) => to
                .into_iter()
                .filter(|&r| r != from && sites[r].joins.as_secs_f64() <= at)
                .collect(),
            None => {
                let mut eligible: Vec<usize> = agencies
                    .iter()
                    .copied()
                    .filter(|&r| {
                        r != from
                            && sites[r].joins.as_secs_f64() <= at
                            && (t.scope == Scope::Any || provinces[r] == provinces[from])
                    })
                    .collect();
                let count = rng.random_range(t.recipients[0]..=t.recipients[1]);
                eligible.shuffle(rng);
                eligible.truncate(count);
                eligible.sort_unstable();
                eligible
            }
        };
        if to.is_empty() {
            continue;
        }
        let answers = to
            .iter()
            .map(|_| {
                if rng.random_bool(q.reject_share) {
                    Answer::Reject(exp_duration(rng, q.step_delay))
                } else {
                    Answer::Progress(
                        q.progression
                            .iter()
                            .map(|code| (code.clone(), exp_duration(rng, q.step_delay)))
                            .collect(),
                    )
                }
            })
            .collect();
        let take_back_after = rng
            .random_bool(q.take_back_share)
            .then(|| exp_duration(rng, q.step_delay));
        documents.push(PlannedDocument {
            number: documents.len() as u64 + 1,
            at: Duration::from_secs_f64(at),
            from,
            to,
            size: weighted(rng, &sizes),
            priority: weighted(rng, &priorities),
            answers,
            take_back_after,
        });
    }
    Ok(documents)
}

fn exponential(rng: &mut StdRng, mean: f64) -> f64 {
    let u: f64 = rng.random::<f64>();
    -(1.0 - u).ln() * mean
}

fn exp_duration(rng: &mut StdRng, mean: Duration) -> Duration {
    Duration::from_secs_f64(exponential(rng, mean.as_secs_f64()).min(mean.as_secs_f64() * 20.0))
}

fn weighted<T: Copy>(rng: &mut StdRng, choices: &[(T, u32)]) -> T {
    let total: u64 = choices.iter().map(|(_, w)| u64::from(*w)).sum();
    let mut pick = rng.random_range(0..total.max(1));
    for (value, weight) in choices {
        if pick < u64::from(*weight) {
            return *value;
        }
        pick -= u64::from(*weight);
    }
    choices[0].0
}

fn resolve_fault(
    spec: &FaultSpec,
    by_id: &BTreeMap<&str, usize>,
    networks: &[String],
    mode: Mode,
    has_axis: bool,
    sites: &[Site],
) -> anyhow::Result<PlannedFault> {
    let mut nodes = Vec::new();
    let mut axis = false;
    for name in &spec.nodes {
        match name.as_str() {
            "*" => nodes.extend((0..sites.len()).filter(|&i| !sites[i].on_axis)),
            "hub" if mode == Mode::Hub => axis = true,
            "axis" if has_axis => axis = true,
            id => nodes.push(
                *by_id
                    .get(id)
                    .with_context(|| format!("faults: no node {id} in this scenario"))?,
            ),
        }
    }
    nodes.sort_unstable();
    nodes.dedup();
    let pair = match spec.networks.as_slice() {
        [a, b] => {
            let find = |n: &String| {
                networks
                    .iter()
                    .position(|x| x == n)
                    .with_context(|| format!("faults: no network {n}"))
            };
            Some((find(a)?, find(b)?))
        }
        _ => None,
    };
    if axis {
        ensure!(
            matches!(spec.kind, FaultKind::Crash | FaultKind::Delay),
            "the axis can be slowed (delay) or taken down (crash)"
        );
    }
    if let Some(&i) = nodes.iter().find(|&&i| sites[i].on_axis) {
        bail!(
            "faults: {} is only on the axis, it has no node",
            sites[i].organ_id
        );
    }
    let label = match (spec.kind, pair) {
        (FaultKind::Partition, Some((a, b))) => {
            format!("partition {} | {}", networks[a], networks[b])
        }
        (FaultKind::Crash, _) if axis => "axis down".to_owned(),
        (FaultKind::Delay, _) if axis => {
            format!("axis slow ({} ms per call)", spec.delay.as_millis())
        }
        (kind, _) => format!("{} {}", kind_name(kind), names(&nodes, sites)),
    };
    Ok(PlannedFault {
        kind: spec.kind,
        at: spec.at,
        until: spec.at + spec.lasts,
        nodes,
        networks: pair,
        rate: spec.rate,
        delay: spec.delay,
        label,
        axis,
    })
}

fn kind_name(kind: FaultKind) -> &'static str {
    match kind {
        FaultKind::Crash => "crash",
        FaultKind::Partition => "partition",
        FaultKind::Drop => "drop",
        FaultKind::Delay => "delay",
    }
}

fn names(nodes: &[usize], sites: &[Site]) -> String {
    match nodes {
        [one] => sites[*one].organ_id.clone(),
        many if many.len() == sites.len() => "every node".to_owned(),
        many => format!("{} nodes", many.len()),
    }
}

/// `--chaos`: 10% of the nodes crash and restart, one relay is down for a while, and a
/// fifth of the agencies is cut off from the rest until the partition heals.
fn chaos_faults(scenario: &Scenario, sites: &[Site], rng: &mut StdRng) -> Vec<PlannedFault> {
    let d = scenario.duration.as_secs_f64();
    let span = |rng: &mut StdRng, from: f64, to: f64| {
        Duration::from_secs_f64(d * rng.random_range(from..to))
    };
    let mut faults = Vec::new();
    let agencies: Vec<usize> = (0..sites.len())
        .filter(|&i| !sites[i].relay && !sites[i].on_axis)
        .collect();
    if agencies.is_empty() {
        return Vec::new();
    }
    let relays: Vec<usize> = (0..sites.len()).filter(|&i| sites[i].relay).collect();
    let crashes = (sites.len() / 10).max(1);
    let mut crashed: Vec<usize> = agencies.clone();
    crashed.shuffle(rng);
    for &node in crashed.iter().take(crashes) {
        let at = span(rng, 0.05, 0.7);
        faults.push(PlannedFault {
            kind: FaultKind::Crash,
            at,
            until: at + span(rng, 0.02, 0.1),
            nodes: vec![node],
            networks: None,
            rate: 0.0,
            delay: Duration::ZERO,
            label: format!("chaos: crash {}", sites[node].organ_id),
            axis: false,
        });
    }
    if let Some(&relay) = relays.choose(rng) {
        let at = span(rng, 0.1, 0.6);
        faults.push(PlannedFault {
            kind: FaultKind::Crash,
            at,
            until: at + span(rng, 0.05, 0.15),
            nodes: vec![relay],
            networks: None,
            rate: 0.0,
            delay: Duration::ZERO,
            label: format!("chaos: relay {} down", sites[relay].organ_id),
            axis: false,
        });
    }
    let mut cut = agencies;
    cut.shuffle(rng);
    cut.truncate((cut.len() / 5).max(1));
    cut.sort_unstable();
    let at = span(rng, 0.1, 0.6);
    faults.push(PlannedFault {
        kind: FaultKind::Partition,
        at,
        until: at + span(rng, 0.1, 0.2),
        label: format!("chaos: partition of {} agencies", cut.len()),
        nodes: cut,
        networks: None,
        rate: 0.0,
        delay: Duration::ZERO,
        axis: false,
    });
    faults
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = r#"
        name = "t"
        duration = "2h"
        time_scale = 600
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
        relays = ["000.00.90.H19"]
        [[agencies]]
        id = "000.00.02.H19"
        name = "B"
        [[agencies]]
        id = "000.00.03.H19"
        name = "C"
        network = "tax"
        relays = ["000.00.90.H19"]
        [traffic]
        docs_per_agency_per_minute = 0.5
        [qlvb]
        reject_share = 0.1
        take_back_share = 0.1
        [hub]
        id = "000.00.99.H19"
        name = "Hub"
        [[hub.faults]]
        at = "10m"
        kind = "crash"
        lasts = "5m"
        nodes = ["hub"]
    "#;

    fn scenario() -> Scenario {
        Scenario::parse(SCENARIO).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_traffic_and_faults() {
        let a = Plan::new(&scenario(), 7, Mode::Federation, true).unwrap();
        let b = Plan::new(&scenario(), 7, Mode::Federation, true).unwrap();
        assert_eq!(a.documents, b.documents);
        assert_eq!(a.faults, b.faults);
        assert!(a.documents.len() > 50, "{} documents", a.documents.len());
        let c = Plan::new(&scenario(), 8, Mode::Federation, true).unwrap();
        assert_ne!(a.documents, c.documents);
    }

    #[test]
    fn chaos_and_hub_mode_leave_the_traffic_alone() {
        let plain = Plan::new(&scenario(), 7, Mode::Federation, false).unwrap();
        let chaos = Plan::new(&scenario(), 7, Mode::Federation, true).unwrap();
        let hub = Plan::new(&scenario(), 7, Mode::Hub, false).unwrap();
        let sent = |p: &Plan| {
            p.documents
                .iter()
                .map(|d| {
                    let ids = |i: &usize| p.sites[*i].organ_id.clone();
                    (
                        d.at,
                        ids(&d.from),
                        d.to.iter().map(ids).collect::<Vec<_>>(),
                        d.size,
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(sent(&plain), sent(&chaos));
        assert_eq!(sent(&plain), sent(&hub));
        assert!(plain.faults.is_empty());
        // 10% of 4 nodes rounds up to one crash, one relay down, one partition.
        let kinds: Vec<_> = chaos.faults.iter().map(|f| f.kind).collect();
        assert_eq!(kinds.iter().filter(|k| **k == FaultKind::Crash).count(), 2);
        assert_eq!(
            kinds.iter().filter(|k| **k == FaultKind::Partition).count(),
            1
        );
        assert!(chaos.faults.iter().all(|f| f.until > f.at));
    }

    #[test]
    fn the_hub_run_puts_every_agency_on_the_axis() {
        let hub = Plan::new(&scenario(), 1, Mode::Hub, false).unwrap();
        assert!(hub.uses_axis());
        assert_eq!(hub.sites.len(), 3, "the relay is gone");
        assert!(hub.sites.iter().all(|s| s.on_axis && !s.relay));
        assert_eq!(hub.node_sites().count(), 0);
        assert!(hub.faults[0].axis && hub.faults[0].nodes.is_empty());
    }

    #[test]
    fn a_transition_puts_some_agencies_on_the_axis() {
        let text = SCENARIO
            .replace("[hub]\n        id = \"000.00.99.H19\"\n        name = \"Hub\"", "[axis]\n        agencies = [\"000.00.03.H19\"]")
            .replace("nodes = [\"hub\"]", "nodes = [\"axis\"]\n        [[faults]]\n        at = \"20m\"\n        kind = \"delay\"\n        lasts = \"5m\"\n        delay = \"100ms\"\n        nodes = [\"axis\"]")
            .replace("[[hub.faults]]", "[[faults]]");
        let plan = Plan::new(&Scenario::parse(&text).unwrap(), 1, Mode::Federation, false).unwrap();
        let on_axis: Vec<&str> = plan
            .sites
            .iter()
            .filter(|s| s.on_axis)
            .map(|s| s.organ_id.as_str())
            .collect();
        assert_eq!(on_axis, ["000.00.03.H19"]);
        assert_eq!(plan.faults.len(), 2);
        assert!(plan.faults.iter().all(|f| f.axis && f.nodes.is_empty()));
    }

    #[test]
    fn recipients_are_agencies_that_have_joined() {
        let plan = Plan::new(&scenario(), 3, Mode::Federation, false).unwrap();
        for d in &plan.documents {
            assert!(!d.to.contains(&d.from));
            assert!(d.to.iter().all(|&r| !plan.sites[r].relay));
            assert_eq!(d.answers.len(), d.to.len());
        }
    }

    #[test]
    fn generated_provinces_have_relays_and_separate_networks() {
        let text = r#"
            name = "n"
            duration = "1h"
            time_scale = 60
            [generate]
            provinces = 3
            agencies = 30
            separate_share = 0.2
            [traffic]
            docs_per_agency_per_minute = 0.01
        "#;
        let plan = Plan::new(&Scenario::parse(text).unwrap(), 1, Mode::Federation, false).unwrap();
        assert_eq!(plan.sites.len(), 30);
        assert_eq!(plan.sites.iter().filter(|s| s.relay).count(), 3);
        let separate = plan
            .sites
            .iter()
            .filter(|s| !s.relay && plan.networks[s.networks[0]].ends_with("-separate"))
            .count();
        assert_eq!(separate, 6);
        let ids: BTreeSet<_> = plan.sites.iter().map(|s| &s.organ_id).collect();
        assert_eq!(ids.len(), 30);
    }
}
