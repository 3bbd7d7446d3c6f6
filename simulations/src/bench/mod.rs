//! `lienthong-sim bench`: lienthong's figures, each beside the limit of the same machine it
//! is measured against, all in one run.
//!
//! Every figure is an object `{name, value, unit, reference}` where `reference` is the
//! `{name, value, unit}` of the limit (raw loopback TCP, raw fsync, …) measured in the same
//! run, so a figure is read as a share of what the machine can do, not as an absolute.

mod documents;
mod limits;
mod nodes;
mod relayed;

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

/// How much work the run does.
#[derive(Debug, Clone, Copy)]
pub struct BenchOptions {
    /// Small documents sent for the throughput figure.
    pub small_documents: usize,
    /// Documents sent at a moderate, steady rate for the latency figures.
    pub latency_documents: usize,
    /// The steady rate, documents per second.
    pub latency_rate: f64,
    /// Size of the large attachment, bytes.
    pub large_attachment: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            small_documents: 2000,
            latency_documents: 400,
            latency_rate: 100.0,
            large_attachment: 20 * 1024 * 1024,
        }
    }
}

impl BenchOptions {
    /// A shorter run, for a quick look.
    pub fn quick() -> Self {
        BenchOptions {
            small_documents: 300,
            latency_documents: 100,
            latency_rate: 50.0,
            large_attachment: 20 * 1024 * 1024,
        }
    }
}

/// Runs every benchmark and returns the figures.
///
/// # Errors
/// When a node cannot be started or a measurement fails.
pub fn run(
    options: &BenchOptions,
    progress: &mut dyn FnMut(&Figure),
) -> anyhow::Result<Vec<Figure>> {
    let mut figures = Vec::new();
    let mut emit = |f: Figure, figures: &mut Vec<Figure>| {
        progress(&f);
        figures.push(f);
    };

    let tcp = limits::raw_tcp_throughput()?;
    emit(tcp.clone(), &mut figures);
    let tcp_rate = limits::raw_tcp_round_trips(10 * 1024, 8, options.small_documents.max(1000))?;
    emit(tcp_rate.clone(), &mut figures);
    let (tcp_p50, tcp_p99) =
        limits::raw_tcp_latency(10 * 1024, options.latency_documents.max(200))?;
    emit(tcp_p50.clone(), &mut figures);
    emit(tcp_p99.clone(), &mut figures);
    let fsync = limits::fsync_rate()?;
    emit(fsync.clone(), &mut figures);

    let pair = nodes::Pair::start()?;
    emit(
        Figure::new("idle_rss_mb", pair.idle_rss_mb()?, "MB", None),
        &mut figures,
    );

    let direct = pair.route();
    let small = nodes::small_throughput(&direct, options.small_documents, 0)?;

    let (p50, p99) = nodes::small_latency(
        &direct,
        options.latency_documents,
        options.latency_rate,
        500_000,
    )?;
    let direct_p50 = Figure::new("direct_small_p50_ms", p50, "ms", Some(&tcp_p50));
    let direct_p99 = Figure::new("direct_small_p99_ms", p99, "ms", Some(&tcp_p99));
    let direct_small = Figure::new("direct_small_docs_per_s", small, "docs/s", Some(&tcp_rate));
    emit(direct_small.clone(), &mut figures);
    emit(direct_p50.clone(), &mut figures);
    emit(direct_p99.clone(), &mut figures);

    let large = nodes::large_throughput(&direct, options.large_attachment, 900_000)?;
    let direct_large = Figure::new("direct_large_mb_per_s", large, "MB/s", Some(&tcp));
    emit(direct_large.clone(), &mut figures);

    emit(
        Figure::new("loaded_rss_mb", pair.rss_mb(pair.sender())?, "MB", None),
        &mut figures,
    );

    // Last of the pair: it leaves entries for the offline member pending.
    let ingest = nodes::ingest(&pair, options.small_documents)?;
    emit(
        Figure::new("ingest_docs_per_s", ingest, "docs/s", Some(&fsync)),
        &mut figures,
    );
    drop(pair);

    // Through a relay: a circuit to a unit that cannot be dialled, and the mailbox of one
    // that takes no connections, each beside the direct figure.
    // They need network namespaces (root): without them the run says so and goes on.
    let province = match relayed::Province::start() {
        Ok(province) => province,
        Err(e) => {
            eprintln!("warning: relayed and mailbox figures not measured: {e:#}");
            return Ok(figures);
        }
    };
    for (kind, route, first) in [
        ("relayed", province.circuit(), 2_000_000),
        ("mailbox", province.mailbox(), 3_000_000),
    ] {
        let small = nodes::small_throughput(&route, options.small_documents, first)?;
        emit(
            Figure::new(
                &format!("{kind}_small_docs_per_s"),
                small,
                "docs/s",
                Some(&direct_small),
            ),
            &mut figures,
        );
        let (p50, p99) = nodes::small_latency(
            &route,
            options.latency_documents,
            options.latency_rate,
            first + 500_000,
        )?;
        emit(
            Figure::new(
                &format!("{kind}_small_p50_ms"),
                p50,
                "ms",
                Some(&direct_p50),
            ),
            &mut figures,
        );
        emit(
            Figure::new(
                &format!("{kind}_small_p99_ms"),
                p99,
                "ms",
                Some(&direct_p99),
            ),
            &mut figures,
        );
        let large = nodes::large_throughput(&route, options.large_attachment, first + 900_000)?;
        emit(
            Figure::new(
                &format!("{kind}_large_mb_per_s"),
                large,
                "MB/s",
                Some(&direct_large),
            ),
            &mut figures,
        );
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
