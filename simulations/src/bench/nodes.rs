//! lienthong's own figures, measured on real node processes on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use lienthong_protocol::envelope::Timestamp;

use super::documents::document;
use super::limits::percentiles;
use crate::process::{Federation, ProcessNode, wait_for};

/// The edXML size of the small documents the direct, relayed and ingest figures send.
pub(super) const SMALL_DOCUMENT_BYTES: usize = 10 * 1024;

const SENDER: &str = "000.00.01.H53";
const RECIPIENT: &str = "000.00.02.H53";
const OFFLINE: &str = "000.00.03.H53";
const CLIENTS: usize = 8;
/// Concurrent QLVB clients for the ingest figure.
const INGEST_CLIENTS: usize = 64;

/// A sender and a recipient process, and an admitted member that never runs.
pub(super) struct Pair {
    _federation: Federation,
    sender: Arc<ProcessNode>,
    recipient: ProcessNode,
}

/// Per-peer limits raised for throughput runs. The defaults (200 requests/s per peer, a
/// burst of 400) protect a node from one misbehaving member; a bench that sends thousands of
/// documents from one agency to one other would measure that limit instead of the node.
pub(super) const THROUGHPUT_SETTINGS: [(&str, &str); 2] =
    [("peer_rate", "5000.0"), ("peer_burst", "10000")];

impl Pair {
    pub(super) fn start() -> anyhow::Result<Pair> {
        Pair::start_with_env(&[])
    }

    /// [`Pair::start`] with extra environment variables for both nodes.
    pub(super) fn start_with_env(env: &[(&str, &str)]) -> anyhow::Result<Pair> {
        let federation = Federation::new("Đo hiệu năng")?;
        let sender_dir = federation.init(SENDER, "Văn phòng UBND tỉnh")?;
        let recipient_dir = federation.init(RECIPIENT, "Sở Nội vụ")?;
        for dir in [&sender_dir, &recipient_dir] {
            for (key, value) in THROUGHPUT_SETTINGS {
                crate::process::configure(dir, key, value)?;
            }
        }
        let offline_dir = federation.init(OFFLINE, "Sở Tư pháp")?;
        federation.admit(&offline_dir)?;
        // Benchmarks log only problems: logging every package would measure the terminal.
        let sender = ProcessNode::start_with_log_and_env(&sender_dir, "warn", env)?;
        let recipient = ProcessNode::start_with_log_and_env(&recipient_dir, "warn", env)?;
        federation.admit(&sender_dir)?;
        federation.admit(&recipient_dir)?;
        federation.wait_roster(&[&sender, &recipient])?;
        Ok(Pair {
            _federation: federation,
            sender: Arc::new(sender),
            recipient,
        })
    }

    pub(super) fn sender(&self) -> &ProcessNode {
        &self.sender
    }

    pub(super) fn idle_rss_mb(&self) -> anyhow::Result<f64> {
        // Let start-up allocations settle: the roster is loaded and announced.
        self.rss_mb(&self.recipient)
    }

    pub(super) fn rss_mb(&self, node: &ProcessNode) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", node.info().pid))?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow!("no VmRSS"))?;
        Ok(kb / 1024.0)
    }

    /// The two running nodes' process ids, sender first.
    pub(super) fn pids(&self) -> [u32; 2] {
        [self.sender.info().pid, self.recipient.info().pid]
    }

    /// Both running nodes, sender first.
    pub(super) fn nodes(&self) -> [&ProcessNode; 2] {
        [&self.sender, &self.recipient]
    }

    /// The direct route: sender to recipient on loopback.
    pub(super) fn route(&self) -> Route {
        Route {
            sender: self.sender.clone(),
            from: SENDER,
            to: RECIPIENT,
        }
    }
}

/// Who sends to whom, for the delivery figures.
pub(super) struct Route {
    pub(super) sender: Arc<ProcessNode>,
    pub(super) from: &'static str,
    pub(super) to: &'static str,
}

impl Route {
    fn pending(&self) -> anyhow::Result<u64> {
        self.sender.get_json("/health")?["pending_deliveries"]
            .as_u64()
            .ok_or_else(|| anyhow!("no pending_deliveries in /health"))
    }

    /// Waits until the sender has no more pending deliveries than `baseline` (entries for
    /// the offline member stay pending for ever).
    fn wait_delivered(&self, baseline: u64, deadline: Duration) -> anyhow::Result<()> {
        wait_for("every delivery to finish", deadline, || {
            (self.pending().ok()? <= baseline).then_some(())
        })
    }
}

/// Submits `documents` from `CLIENTS` threads; returns (package id, submit start in ms).
pub(super) fn submit_all(
    sender: &Arc<ProcessNode>,
    documents: Vec<Vec<u8>>,
) -> anyhow::Result<Vec<(String, u64)>> {
    let documents = Arc::new(documents);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let sender = sender.clone();
            let documents = documents.clone();
            let next = next.clone();
            std::thread::spawn(move || -> anyhow::Result<Vec<(String, u64)>> {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(doc) = documents.get(i) else {
                        return Ok(done);
                    };
                    let start = now_ms();
                    done.push((sender.submit(doc)?, start));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.join().map_err(|_| anyhow!("client panicked"))??);
    }
    Ok(all)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Durable submissions per second through the API, to a member that is offline (so that
/// delivery work does not run alongside), from [`INGEST_CLIENTS`] concurrent QLVB clients
/// that each keep their HTTP connection open, as a province's QLVB servers submitting at
/// once do. Concurrent submissions are what let the store's group commit share fsyncs.
pub(super) fn ingest(pair: &Pair, count: usize) -> anyhow::Result<f64> {
    ingest_from(pair, count, 1_000_000)
}

/// [`ingest`], numbering the documents from `first` so that each run submits new ones.
pub(super) fn ingest_from(pair: &Pair, count: usize, first: usize) -> anyhow::Result<f64> {
    let documents = (0..count)
        .map(|n| document(SENDER, OFFLINE, first + n, SMALL_DOCUMENT_BYTES))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let url = format!("http://{}/api/v1/packages", pair.sender.info().api_addr);
    let token = std::fs::read_to_string(pair.sender.dir().join("api.token"))?;
    let authorization = format!("Bearer {}", token.trim());
    let documents = Arc::new(documents);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let clients: Vec<_> = (0..INGEST_CLIENTS)
        .map(|_| {
            let (url, authorization) = (url.clone(), authorization.clone());
            let (documents, next) = (documents.clone(), next.clone());
            std::thread::spawn(move || -> anyhow::Result<()> {
                // One agent per client: it keeps the connection alive between submissions.
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(120)))
                    .build()
                    .into();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(doc) = documents.get(i) else {
                        return Ok(());
                    };
                    let mut response = agent
                        .post(&url)
                        .header("Authorization", &authorization)
                        .header("Content-Type", "application/xml")
                        .send(&doc[..])?;
                    let status = response.status().as_u16();
                    let body = response.body_mut().read_to_string()?;
                    if status != 202 {
                        anyhow::bail!("submit: {status} {body}");
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.join().map_err(|_| anyhow!("client panicked"))??;
    }
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

/// 10 KB documents per second, from submission to every receipt 01 recorded at the sender.
/// `first` numbers the documents, so that each run sends new ones.
pub(super) fn small_throughput(route: &Route, count: usize, first: usize) -> anyhow::Result<f64> {
    let baseline = route.pending()?;
    let documents = (0..count)
        .map(|n| document(route.from, route.to, first + n, SMALL_DOCUMENT_BYTES))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let start = Instant::now();
    submit_all(&route.sender, documents)?;
    route.wait_delivered(baseline, Duration::from_secs(600))?;
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

/// Submission to receipt 01 at the sender, for documents sent one at a time at `rate` per
/// second: p50 and p99 in ms.
pub(super) fn small_latency(
    route: &Route,
    count: usize,
    rate: f64,
    first: usize,
) -> anyhow::Result<(f64, f64)> {
    let documents = (0..count)
        .map(|n| document(route.from, route.to, first + n, SMALL_DOCUMENT_BYTES))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let baseline = route.pending()?;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut sent = Vec::new();
    let begin = Instant::now();
    for (i, doc) in documents.iter().enumerate() {
        // Pace the load: the figure is latency at a steady, moderate rate.
        let due = begin + interval * u32::try_from(i)?;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let start = now_ms();
        sent.push((route.sender.submit(doc)?, start));
    }
    route.wait_delivered(baseline, Duration::from_secs(300))?;
    let mut samples = Vec::new();
    for (package, start) in &sent {
        let delivered = delivered_at(&route.sender, package)?;
        samples.push(delivered.saturating_sub(*start) as f64);
    }
    Ok(percentiles(&mut samples))
}

/// How many large documents a large-attachment figure sends, one after the other.
const LARGE_DOCUMENTS: usize = 3;

/// MB/s for a document with a large attachment, from submission to receipt 01: the median
/// of [`LARGE_DOCUMENTS`] sent one after the other, since one document alone is at the
/// mercy of whatever else the machine did in that quarter of a second.
pub(super) fn large_throughput(
    route: &Route,
    attachment: usize,
    first: usize,
) -> anyhow::Result<f64> {
    let mut rates = Vec::with_capacity(LARGE_DOCUMENTS);
    for n in first..first + LARGE_DOCUMENTS {
        let doc = document(route.from, route.to, n, attachment * 4 / 3 + 1400)?;
        let baseline = route.pending()?;
        let start = now_ms();
        let package = route.sender.submit(&doc)?;
        route.wait_delivered(baseline, Duration::from_secs(300))?;
        let delivered = delivered_at(&route.sender, &package)?;
        let secs = (delivered.saturating_sub(start)).max(1) as f64 / 1000.0;
        rates.push(doc.len() as f64 / secs / 1e6);
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates[rates.len() / 2])
}

/// When the sender recorded the recipient's receipt 01, in ms since the epoch.
fn delivered_at(sender: &ProcessNode, package: &str) -> anyhow::Result<u64> {
    let status = sender.get_json(&format!("/api/v1/packages/{package}/status"))?;
    let text = status["recipients"][0]["delivered_at"]
        .as_str()
        .ok_or_else(|| anyhow!("{package} not delivered: {status}"))?;
    let at: Timestamp = text.parse().context("delivered_at")?;
    Ok(at.as_millis())
}
