//! `lienthong-sim bench`: lienthong's figures, each beside the limit of the same machine it
//! is measured against, all in one run.
//!
//! Every figure is an object `{name, value, unit, reference}` where `reference` is the
//! `{name, value, unit}` of the limit (raw loopback TCP, raw fsync, …) measured in the same
//! run, so a figure is read as a share of what the machine can do, not as an absolute.

mod components;
mod cpu;
mod direct;
mod documents;
mod email;
mod evidence;
mod gossip;
mod limits;
mod nodes;
mod relayed;
mod scenarios;
mod sled_batches;

use serde::Serialize;

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// Stable name, e.g. `direct_small_docs_per_s`.
    pub name: String,
    /// The value.
    pub value: f64,
    /// Its unit, e.g. `docs/s`, `ms`, `MB/s`.
    pub unit: String,
    /// The limit or peer it stands beside.
    pub reference: Option<Reference>,
}

/// What a figure is compared with.
#[derive(Debug, Clone, Serialize)]
pub struct Reference {
    /// Its name, e.g. `raw_tcp_loopback`.
    pub name: String,
    /// Its value.
    pub value: f64,
    /// Its unit.
    pub unit: String,
}

impl Figure {
    fn new(name: &str, value: f64, unit: &str, reference: Option<&Figure>) -> Figure {
        Figure {
            name: name.to_owned(),
            value,
            unit: unit.to_owned(),
            reference: reference.map(|r| Reference {
                name: r.name.clone(),
                value: r.value,
                unit: r.unit.clone(),
            }),
        }
    }
}

/// The groups of figures, by the name `--only` takes.
pub const GROUPS: &[(&str, &str)] = &[
    ("limits", "raw loopback TCP, raw fsync"),
    (
        "components",
        "ed25519, quick-xml and sled alone, beside the node's use of them",
    ),
    (
        "direct",
        "two node processes: idle RSS, small and large documents, ingest, CPU per document",
    ),
    (
        "relayed",
        "through a relay circuit and a mailbox (network namespaces, root)",
    ),
    (
        "evidence",
        "the evidence log's cost: direct delivery and ingest with and without it",
    ),
    (
        "gossip",
        "1,000 receipts to every node of a 100-node province",
    ),
    (
        "email",
        "the same documents by email through two local Postfix instances",
    ),
    ("hub", "a province as a federation beside a central hub"),
    (
        "national",
        "national-1000.toml: 1,000 nodes in this process (about 10 minutes)",
    ),
];

/// How much work the run does.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Small documents sent for the throughput figure.
    pub small_documents: usize,
    /// Documents sent at a moderate, steady rate for the latency figures.
    pub latency_documents: usize,
    /// The steady rate, documents per second.
    pub latency_rate: f64,
    /// Size of the large attachment, bytes.
    pub large_attachment: usize,
    /// The groups to run (names of [`GROUPS`]); `None`: all but those `skip` names.
    pub only: Option<Vec<String>>,
    /// Groups left out of a full run (the quick run leaves out `national`).
    pub skip: Vec<String>,
    /// The scenario of the `national` group, when not `national-1000.toml` (to try the
    /// plumbing on a small one).
    pub national_scenario: Option<std::path::PathBuf>,
    /// The `hub` group runs the full Bình Thuận scenario, not its small version.
    pub hub_full: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            small_documents: 2000,
            latency_documents: 400,
            latency_rate: 100.0,
            large_attachment: 20 * 1024 * 1024,
            only: None,
            skip: Vec::new(),
            national_scenario: None,
            hub_full: false,
        }
    }
}

impl BenchOptions {
    /// A shorter run, for a quick look: fewer documents, and no national scenario.
    pub fn quick() -> Self {
        BenchOptions {
            small_documents: 300,
            latency_documents: 100,
            latency_rate: 50.0,
            skip: vec!["national".to_owned()],
            ..BenchOptions::default()
        }
    }

    /// Whether group `name` runs.
    pub fn runs(&self, name: &str) -> bool {
        match &self.only {
            Some(only) => only.iter().any(|o| o == name),
            None => !self.skip.iter().any(|s| s == name),
        }
    }

    /// Checks `--only`'s names against [`GROUPS`].
    ///
    /// # Errors
    /// Names the unknown group and lists the known ones.
    pub fn check(&self) -> anyhow::Result<()> {
        for name in self.only.iter().flatten() {
            if !GROUPS.iter().any(|(g, _)| g == name) {
                anyhow::bail!(
                    "unknown figure group {name:?}; the groups are: {}",
                    GROUPS
                        .iter()
                        .map(|(g, _)| *g)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        Ok(())
    }
}

/// Runs the selected benchmarks and returns the figures. A group that cannot run here
/// (no network namespaces, no Postfix) is skipped with a warning saying why and how to
/// set it up; the others go on.
///
/// # Errors
/// When a node cannot be started or a measurement fails.
pub fn run(
    options: &BenchOptions,
    progress: &mut dyn FnMut(&Figure),
) -> anyhow::Result<Vec<Figure>> {
    options.check()?;
    let mut figures = Vec::new();
    let mut emit = |f: Figure, figures: &mut Vec<Figure>| {
        progress(&f);
        figures.push(f);
    };
    for (group, _) in GROUPS {
        if !options.runs(group) {
            eprintln!(
                "note: {group} figures skipped (selected with --only, or left out by --quick)"
            );
        }
    }

    let mut direct_small = None;
    let mut receipt_verify = None;
    if options.runs("components") {
        let signatures = components::signatures()?;
        receipt_verify = signatures.last().cloned();
        for f in signatures {
            emit(f, &mut figures);
        }
        for f in components::xml()? {
            emit(f, &mut figures);
        }
        for f in components::payload_crypto()? {
            emit(f, &mut figures);
        }
    }
    let needs_direct = options.runs("direct") || options.runs("relayed");
    if options.runs("limits") || options.runs("components") || needs_direct {
        direct_small = direct::run(options, &mut |f| emit(f, &mut figures))?;
    }
    if options.runs("evidence") {
        evidence::run(options, &mut |f| emit(f, &mut figures))?;
    }
    if options.runs("gossip") {
        let verify = match receipt_verify {
            Some(f) => f,
            None => components::signatures()?
                .pop()
                .ok_or_else(|| anyhow::anyhow!("no receipt verification figure"))?,
        };
        // A figure that cannot be measured is said loudly, and the others still come out.
        match gossip::thousand_receipts(&verify) {
            Ok(found) => {
                for f in found {
                    emit(f, &mut figures);
                }
            }
            Err(e) => eprintln!("warning: gossip figure not measured: {e:#}"),
        }
    }
    if options.runs("email") {
        match email::run(options.small_documents, direct_small.as_ref()) {
            Ok(found) => {
                for f in found {
                    emit(f, &mut figures);
                }
            }
            Err(e) => eprintln!("warning: email figures not measured: {e:#}"),
        }
    }
    if options.runs("hub") {
        for f in scenarios::hub(options.hub_full)? {
            emit(f, &mut figures);
        }
    }
    if options.runs("national") {
        for f in scenarios::national(options.national_scenario.as_deref())? {
            emit(f, &mut figures);
        }
    }
    Ok(figures)
}

/// The figures as a table for people.
pub fn table(figures: &[Figure]) -> String {
    let mut out = format!(
        "{:<30} {:>14}  {:<8} {:<32} {:>14}  {:<8} {:>7}\n",
        "figure", "value", "unit", "beside", "value", "unit", "share"
    );
    for f in figures {
        let (rname, rvalue, runit, share) = match &f.reference {
            Some(r) => {
                let share = if r.value > 0.0 {
                    format!("{:.0}%", 100.0 * f.value / r.value)
                } else {
                    String::new()
                };
                (
                    r.name.as_str(),
                    format!("{:.2}", r.value),
                    r.unit.as_str(),
                    share,
                )
            }
            None => ("", String::new(), "", String::new()),
        };
        out.push_str(&format!(
            "{:<30} {:>14.2}  {:<8} {:<32} {:>14}  {:<8} {:>7}\n",
            f.name, f.value, f.unit, rname, rvalue, runit, share
        ));
    }
    out
}
