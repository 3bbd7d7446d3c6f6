//! The machine's raw limits and two (or, through a relay, more) real node processes beside
//! them: the figures of the `limits`, `direct` and `relayed` groups, and sled's flushed
//! writes of the `components` group beside raw fsync, with sled's rate for batches of
//! submission-shaped transactions beside ingest. The small-document and ingest rates come
//! with the CPU the processes spent per document, beside what the machine's cores allow
//! per document at the target rate: it tells a rate held back by work from one held back
//! by waiting.

use super::{BenchOptions, Figure, components, cpu, limits, nodes, relayed, sled_batches};

/// Runs the selected groups among these, handing each figure to `emit` as it is measured.
/// Returns `direct_small_docs_per_s` when it was measured (the email figure stands beside
/// it).
///
/// # Errors
/// When a node cannot be started or a measurement fails.
pub(super) fn run(
    options: &BenchOptions,
    emit: &mut dyn FnMut(Figure),
) -> anyhow::Result<Option<Figure>> {
    let nodes_needed = options.runs("direct") || options.runs("relayed");
    let fsync = if options.runs("limits") || options.runs("components") || nodes_needed {
        let fsync = limits::fsync_rate()?;
        emit(fsync.clone());
        Some(fsync)
    } else {
        None
    };
    let sled = if options.runs("components") {
        let mut sled = components::sled_flush_rate()?;
        if let Some(fsync) = &fsync {
            sled = Figure::new(&sled.name, sled.value, &sled.unit, Some(fsync));
        }
        emit(sled.clone());
        let batches = sled_batches::submission_batches_rate()?;
        emit(batches.clone());
        Some((sled, batches))
    } else {
        None
    };
    if !nodes_needed && !options.runs("limits") {
        return Ok(None);
    }
    let tcp = limits::raw_tcp_throughput()?;
    emit(tcp.clone());
    let tcp_rate = limits::raw_tcp_round_trips(10 * 1024, 8, options.small_documents.max(1000))?;
    emit(tcp_rate.clone());
    let (tcp_p50, tcp_p99) =
        limits::raw_tcp_latency(10 * 1024, options.latency_documents.max(200))?;
    emit(tcp_p50.clone());
    emit(tcp_p99.clone());
    if !nodes_needed {
        return Ok(None);
    }

    let pair = nodes::Pair::start()?;
    emit(Figure::new("idle_rss_mb", pair.idle_rss_mb()?, "MB", None));

    let direct = pair.route();
    let [sender_pid, recipient_pid] = pair.pids();
    let both_nodes = cpu::CpuMeter::start(&[Some(sender_pid), Some(recipient_pid)])?;
    let small = nodes::small_throughput(&direct, options.small_documents, 0)?;
    let small_cpu = both_nodes.per_document(options.small_documents)?;

    let (p50, p99) = nodes::small_latency(
        &direct,
        options.latency_documents,
        options.latency_rate,
        500_000,
    )?;
    let direct_p50 = Figure::new("direct_small_p50_ms", p50, "ms", Some(&tcp_p50));
    let direct_p99 = Figure::new("direct_small_p99_ms", p99, "ms", Some(&tcp_p99));
    let direct_small = Figure::new("direct_small_docs_per_s", small, "docs/s", Some(&tcp_rate));
    emit(direct_small.clone());
    emit(Figure::new(
        "direct_small_node_cpu_us_per_doc",
        small_cpu,
        "µs/doc",
        Some(&cpu::budget_at("cpu_per_doc_at_2000_docs_per_s", 2000.0)),
    ));
    emit(direct_p50.clone());
    emit(direct_p99.clone());
    // The CPU both nodes spent per document, as a multiple of its signatures and hashes
    // alone (issue 28 aims for 4×).
    let delivery_floor = components::delivery_floor(nodes::SMALL_DOCUMENT_BYTES)?;
    emit(delivery_floor.clone());
    emit(Figure::new(
        "direct_small_node_cpu_per_crypto_floor",
        small_cpu / delivery_floor.value,
        "×",
        None,
    ));

    let large = nodes::large_throughput(&direct, options.large_attachment, 900_000)?;
    let direct_large = Figure::new("direct_large_mb_per_s", large, "MB/s", Some(&tcp));
    emit(direct_large.clone());

    emit(Figure::new(
        "loaded_rss_mb",
        pair.rss_mb(pair.sender())?,
        "MB",
        None,
    ));

    // Last of the pair: it leaves entries for the offline member pending.
    let node = cpu::CpuMeter::start(&[Some(sender_pid)])?;
    let clients = cpu::CpuMeter::start(&[None])?;
    let ingest = nodes::ingest(&pair, options.small_documents)?;
    let ingest_budget = cpu::budget_at("cpu_per_doc_at_5000_docs_per_s", 5000.0);
    // The clients run in this process: the CPU the QLVB side takes from the same cores.
    let client_cpu = clients.per_document(options.small_documents)?;
    let node_cpu = node.per_document(options.small_documents)?;
    emit(Figure::new(
        "ingest_docs_per_s",
        ingest,
        "docs/s",
        fsync.as_ref(),
    ));
    emit(Figure::new(
        "ingest_node_cpu_us_per_doc",
        node_cpu,
        "µs/doc",
        Some(&ingest_budget),
    ));
    let submission_floor = components::submission_floor(nodes::SMALL_DOCUMENT_BYTES)?;
    emit(submission_floor.clone());
    emit(Figure::new(
        "ingest_node_cpu_per_crypto_floor",
        node_cpu / submission_floor.value,
        "×",
        None,
    ));
    emit(Figure::new(
        "ingest_client_cpu_us_per_doc",
        client_cpu,
        "µs/doc",
        Some(&ingest_budget),
    ));
    if let Some((sled, batches)) = &sled {
        emit(Figure::new(
            "ingest_docs_per_s_beside_sled",
            ingest,
            "docs/s",
            Some(sled),
        ));
        emit(Figure::new(
            "ingest_docs_per_s_beside_sled_batches",
            ingest,
            "docs/s",
            Some(batches),
        ));
    }
    drop(pair);

    if !options.runs("relayed") {
        return Ok(Some(direct_small));
    }
    // Through a relay: a circuit to a unit that cannot be dialled, and the mailbox of one
    // that takes no connections, each beside the direct figure.
    // They need network namespaces (root): without them the run says so and goes on.
    let province = match relayed::Province::start() {
        Ok(province) => province,
        Err(e) => {
            eprintln!("warning: relayed and mailbox figures not measured: {e:#}");
            return Ok(Some(direct_small));
        }
    };
    for (kind, route, first) in [
        ("relayed", province.circuit(), 2_000_000),
        ("mailbox", province.mailbox(), 3_000_000),
    ] {
        let small = nodes::small_throughput(&route, options.small_documents, first)?;
        emit(Figure::new(
            &format!("{kind}_small_docs_per_s"),
            small,
            "docs/s",
            Some(&direct_small),
        ));
        let (p50, p99) = nodes::small_latency(
            &route,
            options.latency_documents,
            options.latency_rate,
            first + 500_000,
        )?;
        emit(Figure::new(
            &format!("{kind}_small_p50_ms"),
            p50,
            "ms",
            Some(&direct_p50),
        ));
        emit(Figure::new(
            &format!("{kind}_small_p99_ms"),
            p99,
            "ms",
            Some(&direct_p99),
        ));
        let large = nodes::large_throughput(&route, options.large_attachment, first + 900_000)?;
        emit(Figure::new(
            &format!("{kind}_large_mb_per_s"),
            large,
            "MB/s",
            Some(&direct_large),
        ));
    }
    Ok(Some(direct_small))
}
