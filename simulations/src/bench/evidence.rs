//! What the evidence log costs (issue 26): the same build, with and without the log, in one
//! run. Two pairs of node processes are started side by side, one of them told by
//! `LIENTHONG_BENCH_WITHOUT_EVIDENCE_LOG` to append no leaves; both send the same small
//! documents directly and take the same ingest load, in alternating rounds so that the
//! machine's drift during the run falls on both alike. Each figure with the log stands
//! beside the same figure without it: the share is what the log leaves of the rate.
//!
//! The log's bytes are counted from the leaves the pair with the log appended (each leaf is
//! stored as its 8-byte index, a blob byte, its 32-byte hash and its bytes; the facts a
//! delivery writes are 73 bytes each, `docs/evidence.md`), per document delivered.

use lienthong_node::node::BENCH_WITHOUT_EVIDENCE_LOG;

use super::nodes::{self, Pair};
use super::{BenchOptions, Figure, cpu};

/// Rounds of each measurement, alternating the pairs.
const ROUNDS: usize = 2;
/// Bytes one delivery fact's leaf takes in the store: index key 8, blob version 1, hash
/// 32, leaf bytes 73 (kind 1, time 8, two 32-byte ids).
const STORED_LEAF_BYTES: f64 = 8.0 + 1.0 + 32.0 + 73.0;

/// One pair's sums over the rounds.
#[derive(Default)]
struct Totals {
    direct_docs_per_s: Vec<f64>,
    direct_cpu_us: Vec<f64>,
    ingest_docs_per_s: Vec<f64>,
    ingest_cpu_us: Vec<f64>,
}

/// Measures the `evidence` group, handing each figure to `emit`.
///
/// # Errors
/// When a node cannot be started or a measurement fails.
pub(super) fn run(options: &BenchOptions, emit: &mut dyn FnMut(Figure)) -> anyhow::Result<()> {
    let with_log = Pair::start()?;
    let without_log = Pair::start_with_env(&[(BENCH_WITHOUT_EVIDENCE_LOG, "1")])?;
    let leaves_before = evidence_size(&with_log)?;
    let (mut with, mut without) = (Totals::default(), Totals::default());
    let documents = options.small_documents;
    for round in 0..ROUNDS {
        for (pair, totals) in [(&with_log, &mut with), (&without_log, &mut without)] {
            let first = 7_000_000 + round * 100_000;
            let meter = cpu::CpuMeter::start(&pair.pids().map(Some))?;
            totals.direct_docs_per_s.push(nodes::small_throughput(
                &pair.route(),
                documents,
                first,
            )?);
            totals.direct_cpu_us.push(meter.per_document(documents)?);
        }
    }
    let delivered = ROUNDS * documents;
    let leaves = evidence_size(&with_log)?.saturating_sub(leaves_before);
    for round in 0..ROUNDS {
        for (pair, totals) in [(&with_log, &mut with), (&without_log, &mut without)] {
            let first = 8_000_000 + round * 100_000;
            let meter = cpu::CpuMeter::start(&[Some(pair.pids()[0])])?;
            totals
                .ingest_docs_per_s
                .push(nodes::ingest_from(pair, documents, first)?);
            totals.ingest_cpu_us.push(meter.per_document(documents)?);
        }
    }

    beside(
        emit,
        "direct_small_docs_per_s",
        "docs/s",
        &with.direct_docs_per_s,
        &without.direct_docs_per_s,
    );
    beside(
        emit,
        "direct_small_node_cpu_us_per_doc",
        "µs/doc",
        &with.direct_cpu_us,
        &without.direct_cpu_us,
    );
    beside(
        emit,
        "ingest_docs_per_s",
        "docs/s",
        &with.ingest_docs_per_s,
        &without.ingest_docs_per_s,
    );
    beside(
        emit,
        "ingest_node_cpu_us_per_doc",
        "µs/doc",
        &with.ingest_cpu_us,
        &without.ingest_cpu_us,
    );
    // Both ends of each delivery log it: the sender's submission and receipt 01 recorded,
    // the recipient's acceptance and receipt 01 signed.
    let per_document = leaves as f64 / delivered.max(1) as f64;
    emit(Figure::new(
        "evidence_leaves_per_direct_doc",
        per_document,
        "leaves",
        None,
    ));
    emit(Figure::new(
        "evidence_bytes_per_direct_doc",
        per_document * STORED_LEAF_BYTES,
        "bytes",
        None,
    ));
    Ok(())
}

/// Leaves in both nodes' logs, as their latest checkpoints (signed now) say.
fn evidence_size(pair: &Pair) -> anyhow::Result<u64> {
    let mut total = 0;
    for node in pair.nodes() {
        total += node.take_checkpoint()?;
    }
    Ok(total)
}

/// Emits `name` without the log, then with it beside that.
fn beside(emit: &mut dyn FnMut(Figure), name: &str, unit: &str, with: &[f64], without: &[f64]) {
    let bare = Figure::new(
        &format!("{name}_without_evidence_log"),
        mean(without),
        unit,
        None,
    );
    emit(bare.clone());
    emit(Figure::new(
        &format!("{name}_with_evidence_log"),
        mean(with),
        unit,
        Some(&bare),
    ));
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}
