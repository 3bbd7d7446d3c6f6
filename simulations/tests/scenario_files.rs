//! The shipped scenario files: every one reads and checks, the seven full scenarios and their
//! seven small versions are there, and each full one says what its seed letter says.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use lienthong_simulations::sim::scenario::{FaultKind, Scenario, Scope};

const FULL: [&str; 7] = [
    "binh-thuan-2025",
    "binh-thuan-2025-transition",
    "dong-nai-2010-rollout",
    "dong-nai-2018",
    "national-1000",
    "quang-ngai-2016",
    "tay-ninh-2014",
];

const SMALL: [&str; 7] = [
    "binh-thuan-2025",
    "binh-thuan-2025-transition",
    "dong-nai-2010-rollout",
    "dong-nai-2018",
    "national",
    "quang-ngai-2016",
    "tay-ninh-2014",
];

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// Every `*.toml` in `dir`, by file stem, loaded and checked.
fn load_all(dir: &Path) -> BTreeMap<String, Scenario> {
    let mut loaded = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
        let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
        loaded.insert(stem, scenario);
    }
    loaded
}

fn real_seconds(scenario: &Scenario, simulated: Duration) -> f64 {
    simulated.as_secs_f64() / scenario.time_scale
}

/// Documents the scenario should send on average: each sending agency from when it joins,
/// and every flow over the whole duration. Generated agencies count as senders from the start.
fn expected_documents(scenario: &Scenario) -> f64 {
    let minutes = |d: Duration| d.as_secs_f64() / 60.0;
    let rate = scenario.traffic.docs_per_agency_per_minute;
    let listed: f64 = scenario
        .agencies
        .iter()
        .filter(|a| a.sends)
        .map(|a| rate * minutes(scenario.duration.saturating_sub(a.joins)))
        .sum();
    let generated = scenario.generate.as_ref().map_or(0.0, |g| {
        let agencies = g.agencies - g.provinces * g.relays_per_province;
        rate * minutes(scenario.duration) * agencies as f64
    });
    let flows: f64 = scenario
        .traffic
        .flows
        .iter()
        .map(|f| f.docs_per_minute * minutes(scenario.duration))
        .sum();
    listed + generated + flows
}

/// Checks every scenario file should pass, full or small.
fn check_common(file: &str, s: &Scenario) {
    assert!(
        s.description.contains("eed letter"),
        "{file}: the description cites its seed letter"
    );
    let q = &s.qlvb;
    assert!(
        real_seconds(s, q.poll) >= 0.2,
        "{file}: qlvb.poll is at least 0.2 s of real time"
    );
    assert_eq!(q.progression, ["03", "04", "05", "06"], "{file}");
    let settings: Vec<(String, String)> =
        s.node.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    if let Err(e) = lienthong_simulations::sim::world::check_settings(&settings) {
        panic!("{file}: [node] does not make a valid node config: {e:#}");
    }
    assert!(
        (0.01..=0.03).contains(&q.reject_share),
        "{file}: reject_share"
    );
    assert!(
        q.take_back_share > 0.0 && q.take_back_share <= 0.02,
        "{file}: take_back_share"
    );
    // Only the national scenario changes a node setting: the DHT is off at that size.
    if file == "national-1000" {
        assert_eq!(
            s.node.get("network.dht").map(String::as_str),
            Some("false"),
            "{file}"
        );
    } else {
        assert!(s.node.is_empty(), "{file}: no [node] settings");
    }
    assert!(
        s.traffic.sizes.len() > 1 && s.traffic.priorities.len() > 1,
        "{file}: sizes and priorities are mixes"
    );
    assert!(!s.faults.is_empty(), "{file}: has faults");

    // Faults name nodes that exist (generated ids are the generator's business).
    let mut known: BTreeSet<&str> = s.agencies.iter().map(|a| a.id.as_str()).collect();
    known.extend(s.relays.iter().map(|r| r.id.as_str()));
    known.insert("*");
    if s.axis.is_some() {
        known.insert("axis");
    }
    for fault in &s.faults {
        if s.generate.is_none() {
            for node in &fault.nodes {
                assert!(known.contains(node.as_str()), "{file}: fault on {node}");
            }
        }
        assert!(
            fault.at + fault.lasts <= s.duration,
            "{file}: every fault ends before the traffic stops"
        );
    }
    if let Some(hub) = &s.hub {
        for fault in &hub.faults {
            assert_eq!(fault.nodes, ["hub"], "{file}: hub faults name the hub");
            assert!(fault.at + fault.lasts <= s.duration, "{file}");
        }
    }
    // Agencies sit on networks of the scenario (also checked by `load`).
    let networks = s.network_names();
    for agency in &s.agencies {
        if let Some(n) = &agency.network {
            assert!(networks.contains(n), "{file}: {}", agency.id);
        }
    }
}

fn agency<'a>(s: &'a Scenario, id: &str) -> &'a lienthong_simulations::sim::scenario::AgencySpec {
    s.agencies
        .iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("{}: no agency {id}", s.name))
}

#[test]
fn every_full_scenario_reads_and_says_what_its_letter_says() {
    let all = load_all(&scenarios_dir());
    assert_eq!(all.keys().map(String::as_str).collect::<Vec<_>>(), FULL);

    for (file, s) in &all {
        check_common(file, s);
        let real = real_seconds(s, s.duration);
        let documents = expected_documents(s);
        if file == "national-1000" {
            assert!(
                (120.0..=360.0).contains(&real),
                "{file}: {real} s of real time"
            );
        } else {
            assert!(
                (30.0..=180.0).contains(&real),
                "{file}: {real} s of real time"
            );
            assert!(
                (100.0..=2000.0).contains(&documents),
                "{file}: {documents} documents expected"
            );
        }
    }

    // Seed 000: the 29 I-Office units, Tân Phú and the tax department apart, one relay.
    let s = &all["dong-nai-2018"];
    assert_eq!(
        s.agencies.len(),
        30,
        "the 29 units and UBND tỉnh, their addressee"
    );
    assert!(s.agencies.iter().any(|a| a.id == "000.00.00.H19"));
    assert_eq!(s.network_names(), ["province", "tan-phu", "tax"]);
    assert!(s.networks.iter().all(|n| n.reaches.is_empty()));
    assert_eq!(s.relays.len(), 1);
    let relay = &s.relays[0];
    assert_eq!(relay.networks, ["province", "tan-phu", "tax"]);
    let tax = agency(s, "000.19.01.G12");
    assert!(tax.name.contains("Cục Thuế"));
    assert_eq!(tax.network.as_deref(), Some("tax"));
    assert_eq!(tax.relays, std::slice::from_ref(&relay.id));
    let tan_phu: Vec<_> = s
        .agencies
        .iter()
        .filter(|a| a.network.as_deref() == Some("tan-phu"))
        .collect();
    assert_eq!(tan_phu.len(), 3);
    assert!(tan_phu.iter().all(|a| a.name.contains("Tân Phú")));
    assert!(
        s.agencies
            .iter()
            .all(|a| a.relays == std::slice::from_ref(&relay.id))
    );
    assert_eq!(s.traffic.scope, Scope::Any);

    // Seed 001: 26 units, the pilot of 7 first.
    let s = &all["tay-ninh-2014"];
    assert_eq!(s.agencies.len(), 26);
    let pilot: Vec<_> = s.agencies.iter().filter(|a| a.joins.is_zero()).collect();
    assert_eq!(pilot.len(), 7);
    assert!(
        pilot
            .iter()
            .any(|a| a.name.contains("UBND Thành phố Tây Ninh"))
    );
    assert!(s.agencies.iter().all(|a| a.joins < s.duration));
    assert!(s.agencies.iter().all(|a| a.id.ends_with("53")));

    // Seed 003: 36 units and the Government Office on the national network.
    let s = &all["quang-ngai-2016"];
    assert_eq!(s.agencies.len(), 37);
    let vpcp = agency(s, "000.00.00.G22");
    assert_eq!(vpcp.network.as_deref(), Some("national"));
    let province = s.networks.iter().find(|n| n.name == "province").unwrap();
    assert_eq!(province.reaches, ["national"]);
    assert_eq!(
        s.agencies
            .iter()
            .filter(|a| a.network.as_deref() == Some("province"))
            .count(),
        36
    );
    assert!(
        s.traffic
            .flows
            .iter()
            .any(|f| f.from == ["*"] && f.to == ["000.00.00.G22"])
    );
    assert!(
        s.faults
            .iter()
            .any(|f| f.kind == FaultKind::Partition && f.networks == ["province", "national"])
    );

    // Seed 004: 8 units from 01/12/2010, 13 from 15/12/2010.
    let s = &all["dong-nai-2010-rollout"];
    assert!(s.duration >= Duration::from_secs(20 * 86400));
    let day = |d: u64| Duration::from_secs(d * 86400);
    let sending_from = |joins: Duration| {
        s.agencies
            .iter()
            .filter(|a| a.id != "000.00.00.H19" && a.joins == joins)
            .count()
    };
    assert_eq!(sending_from(day(0)), 8);
    assert_eq!(sending_from(day(14)), 13);

    // Seed 002: the whole province under load, and the hub run.
    let s = &all["binh-thuan-2025"];
    assert!(s.agencies.len() >= 60);
    let hub = s.hub.as_ref().expect("binh-thuan-2025 has a [hub]");
    assert!(hub.id.ends_with(".H11"));
    let hub_kinds: BTreeSet<_> = hub.faults.iter().map(|f| format!("{:?}", f.kind)).collect();
    assert!(hub_kinds.contains("Delay") && hub_kinds.contains("Crash"));
    assert!(expected_documents(s) > 1000.0);

    // The national scale: generated, 1,000 nodes.
    let s = &all["national-1000"];
    let generate = s.generate.as_ref().expect("national-1000 generates");
    assert_eq!(generate.agencies, 1000);
    assert_eq!(generate.provinces, 34);
    assert_eq!(generate.relays_per_province, 1);
    assert!(s.agencies.is_empty());
    assert_eq!(s.traffic.scope, Scope::Province);
    assert!(expected_documents(s) <= 2000.0);
}

#[test]
fn every_small_scenario_reads_and_stays_small() {
    let all = load_all(&scenarios_dir().join("small"));
    assert_eq!(all.keys().map(String::as_str).collect::<Vec<_>>(), SMALL);
    let full = load_all(&scenarios_dir());

    for (file, s) in &all {
        check_common(file, s);
        let real = real_seconds(s, s.duration);
        assert!(
            (10.0..=20.0).contains(&real),
            "{file}: {real} s of real time"
        );
        assert!(real_seconds(s, s.drain) >= 5.0, "{file}: a generous drain");
        let documents = expected_documents(s);
        assert!(
            (10.0..=40.0).contains(&documents),
            "{file}: {documents} documents expected"
        );
        let nodes = match &s.generate {
            Some(g) => g.agencies,
            None => s.agencies.len() + s.relays.len(),
        };
        assert!(nodes <= 24, "{file}: {nodes} nodes");
        if s.generate.is_none() {
            assert!((5..=10).contains(&nodes), "{file}: {nodes} nodes");
        }

        // Same structure as the full scenario: networks, relays, hub, phases, fault kinds.
        let big = if file == "national" {
            &full["national-1000"]
        } else {
            &full[file.as_str()]
        };
        assert_eq!(s.network_names(), big.network_names(), "{file}");
        assert_eq!(s.relays.is_empty(), big.relays.is_empty(), "{file}");
        assert_eq!(s.hub.is_some(), big.hub.is_some(), "{file}");
        assert_eq!(s.axis.is_some(), big.axis.is_some(), "{file}");
        assert_eq!(s.generate.is_some(), big.generate.is_some(), "{file}");
        let phases = |s: &Scenario| {
            s.agencies
                .iter()
                .map(|a| a.joins)
                .collect::<BTreeSet<_>>()
                .len()
        };
        assert_eq!(phases(s) > 1, phases(big) > 1, "{file}: phases");
        let kinds = |s: &Scenario| {
            s.faults
                .iter()
                .map(|f| format!("{:?}", f.kind))
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(kinds(s), kinds(big), "{file}: fault kinds");
        if let (Some(hub), Some(big_hub)) = (&s.hub, &big.hub) {
            assert_eq!(hub.faults.len(), big_hub.faults.len(), "{file}: hub faults");
        }
    }
}

#[test]
fn the_readme_example_reads() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("simulations/README.md");
    let example = readme
        .split("```toml\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .find(|block| block.starts_with("name = "))
        .expect("a complete scenario in the README");
    let s = Scenario::parse(example).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(s.agencies.len(), 2);
    assert_eq!(s.network_names(), ["lan", "tax"]);
}
