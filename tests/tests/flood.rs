//! A flood of connections to a node's peer port, such as anyone on the network can open
//! without a key. Before connections were bounded, more of them than the process could
//! open files made the store's next write fail ("Too many open files") and the node refused
//! every write until restarted.
//!
//! Here the flooded node runs under a low open-file limit, and the flood holds several times
//! that many connections: members' documents keep arriving with their receipts, the store
//! never fails, the API answers, the console says so in a few lines, and once the flood ends
//! new connections are accepted again.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use lienthong_tests::flood::{Flood, FloodOptions};
use lienthong_tests::{Federation, ProcessNode, configure, samples_dir, wait_for};

const SENDER: &str = "000.00.01.H53";
const FLOODED: &str = "000.00.02.H53";
const NEWCOMER: &str = "000.00.03.H53";

/// The flooded node's open-file limit, soft and hard: it cannot raise it.
const OPEN_FILES: u64 = 256;
/// Connections the flood holds at once: four times what the node may open.
const HELD: usize = 4 * OPEN_FILES as usize;
/// Documents sent while the flood goes on, and after it.
const DURING: u32 = 5;
const AFTER: u32 = 3;
const DEADLINE: Duration = Duration::from_secs(90);

/// A document from `from` to `to`, from a real sample, numbered so that each is new.
fn document(from: &str, to: &str, n: u32) -> Vec<u8> {
    let text = std::fs::read_to_string(samples_dir().join("edoc_new.edxml")).expect("sample");
    text.replace("000.00.00.A80", from)
        .replace("28.22.H17", to)
        .replace(
            "7816/VPCP-TTĐT</edXML:DocumentId>",
            &format!("7816/VPCP-TTĐT-{n}</edXML:DocumentId>"),
        )
        .into_bytes()
}

/// Sends documents `numbers` from `sender` to `recipient` and waits until each is delivered
/// with the recipient's receipt 01, calling `meanwhile` as it waits.
fn exchange(
    sender: &ProcessNode,
    recipient: &str,
    numbers: std::ops::RangeInclusive<u32>,
    meanwhile: &dyn Fn(),
) -> anyhow::Result<()> {
    let from = sender.info().organ_id.to_string();
    let packages = numbers
        .map(|n| sender.submit(&document(&from, recipient, n)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for package in &packages {
        wait_for(
            &format!("{package} delivered to {recipient}"),
            DEADLINE,
            || {
                meanwhile();
                match sender.recipient_state(package, recipient) {
                    Ok((state, codes)) if state == "delivered" => Some(codes),
                    _ => None,
                }
            },
        )
        .map(|codes| assert_eq!(codes, ["01"], "{package}: the recipient's receipt 01"))
        .with_context(|| lienthong_tests::tail(&sender.log_text()))?;
    }
    Ok(())
}

/// The node's peer port on 127.0.0.1.
fn peer_port(node: &ProcessNode) -> anyhow::Result<SocketAddr> {
    let addr: libp2p::Multiaddr = node.info().listen_addrs[0].parse()?;
    let port = addr
        .iter()
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .with_context(|| format!("no TCP port in {addr}"))?;
    Ok(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Descriptors the process `pid` has open now.
fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

#[test]
fn documents_keep_arriving_through_a_connection_flood_and_nothing_stays_refused_after_it()
-> anyhow::Result<()> {
    // The flood's connections are this process's descriptors.
    let own = lienthong_node::ops::descriptors::raise_open_files()?;
    if own.limit < HELD as u64 + 512 {
        bail!(
            "this test holds {HELD} connections and may open only {} files: raise the hard open-file limit",
            own.limit
        );
    }

    let federation = Federation::new("Lũ kết nối")?;
    let sender_dir = federation.init(SENDER, "Văn phòng UBND tỉnh")?;
    // Retries come quickly, so that a delivery the flood delayed would show in time.
    configure(&sender_dir, "retry_initial", "\"200ms\"")?;
    configure(&sender_dir, "retry_max", "\"2s\"")?;
    let sender = ProcessNode::start(&sender_dir)?;
    federation.admit(&sender_dir)?;
    let flooded_dir = federation.init(FLOODED, "Sở Nội vụ")?;
    let flooded = ProcessNode::start_with_open_files(&flooded_dir, OPEN_FILES)?;
    federation.admit(&flooded_dir)?;
    federation.wait_roster(&[&sender, &flooded])?;
    assert!(
        flooded.log_text().contains("open files: 256"),
        "the node says what it has"
    );

    // A member connected before the flood, as members are.
    exchange(&sender, FLOODED, 0..=0, &|| {})?;

    let pid = flooded.info().pid;
    let peak = AtomicUsize::new(open_descriptors(pid));
    let watch = || {
        peak.fetch_max(open_descriptors(pid), Ordering::Relaxed);
    };
    let flood = Flood::start(
        peer_port(&flooded)?,
        FloodOptions {
            held: HELD,
            stall_every: 8,
            per_second: 400,
            hold_first: Duration::from_secs(5),
            max_connections: 30_000,
            max_time: Duration::from_secs(240),
        },
    );
    wait_for(
        "the flood to hold four times the node's open files",
        DEADLINE,
        || {
            watch();
            (flood.opened() >= HELD).then_some(())
        },
    )?;

    // Documents arrive with their receipts while the flood holds its connections (this is
    // where the store's next flush failed), then one after each time it has renewed them
    // all: the flood outlasts the node's handshake timeout (10 s), so stalled handshakes
    // are shed under it. The API answers all along.
    exchange(&sender, FLOODED, 1..=1, &watch)?;
    assert_eq!(flooded.get_json("/health")?["status"], "ok");
    for n in 2..=DURING {
        let renewed = flood.opened() + HELD;
        wait_for("the flood to renew its connections", DEADLINE, || {
            watch();
            (flood.opened() >= renewed).then_some(())
        })?;
        exchange(&sender, FLOODED, n..=n, &watch)?;
        assert_eq!(flooded.get_json("/health")?["status"], "ok");
    }
    assert!(
        flood.is_running(),
        "the flood was still going when the last document arrived"
    );
    let opened = flood.stop();
    let peak = peak.into_inner();
    eprintln!(
        "the flood opened {opened} connections; the node had at most {peak} files open of {OPEN_FILES}"
    );
    assert!(
        peak < OPEN_FILES as usize,
        "the node never ran out of files ({peak})"
    );

    // After the flood: more documents, and a node the flooded one has never seen connects
    // to it (a new inbound connection) and delivers.
    exchange(&sender, FLOODED, DURING + 1..=DURING + AFTER, &|| {})?;
    let newcomer = federation.start_node(NEWCOMER, "Sở Tài chính")?;
    federation.wait_roster(&[&sender, &flooded, &newcomer])?;
    exchange(&newcomer, FLOODED, 100..=100, &|| {})?;
    let inbox = flooded.inbox()?;
    assert_eq!(inbox.len(), (1 + DURING + AFTER + 1) as usize);

    // The store never failed, and the console told the truth in a few lines.
    let log = flooded.log_text();
    for failure in [
        "store write failed",
        "cannot store an incoming package",
        "Too many open files",
    ] {
        assert!(!log.contains(failure), "the log shows {failure:?}");
    }
    assert!(
        log.contains("inbound connections refused at the connection limits"),
        "the flood is reported"
    );
    let (_, metrics) = flooded.get("/metrics")?;
    let limited = String::from_utf8_lossy(&metrics)
        .lines()
        .find(|l| l.starts_with("lienthong_connections_refused_total{reason=\"limit_inbound\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    eprintln!("refused at the connection limits: {limited}");
    assert!(limited > 0.0, "/metrics counts the refusals");
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains(" WARN ")).collect();
    eprintln!("the flooded node's warnings:\n{}", warnings.join("\n"));
    let warnings = warnings.len();
    assert!(
        warnings < 10,
        "a flood of {opened} connections is worth a few lines, not {warnings}"
    );
    Ok(())
}
