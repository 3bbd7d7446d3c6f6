//! Counters an operator reads at `/metrics` (Prometheus text): what the node refused and
//! why, who it blocked, what it delivered and received, how long the local API takes.
//! Every metric is described for operators in `docs/metrics.md`.
//!
//! Names follow Prometheus conventions (`lienthong_…_total` for counters); labels are short
//! fixed words so that a hostile peer cannot create new series. The one label that is not
//! a fixed word, the API `route`, is a route template of the router (`/api/v1/packages/{id}`),
//! never the path asked for, so it is a fixed set too.

use std::time::Duration;

use lienthong_protocol::StatusCode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::store::StoreCounts;

mod labels;
#[cfg(test)]
mod tests;

pub use labels::{
    Code, DeliveryPath, Destination, Kind, Path, Reason, RequestLabels, Seen, UNMATCHED_ROUTE,
};
use labels::{method_label, status_class};

/// Bounds of the API latency buckets, in seconds: a read answers in a millisecond or so, a
/// submission waits for an fsync (tens of milliseconds on a slow disk).
const API_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Bounds of the submission-to-receipt-01 buckets, in seconds: from a LAN round trip to a
/// recipient that came back the next day. 4 h is the default deadline.
const DELIVERY_BUCKETS: [f64; 12] = [
    0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14_400.0, 86_400.0, 604_800.0,
];

fn api_histogram() -> Histogram {
    Histogram::new(API_BUCKETS)
}

/// The node's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Inbound requests refused, by reason.
    pub rejected: Family<Reason, Counter>,
    /// Inbound requests answered `Busy` because the peer exceeded its rate or concurrency.
    pub rate_limited: Counter,
    /// Peers blocked for sending garbage.
    pub peers_blocked: Counter,
    /// Connections refused or closed by the membership allow list or the block list, or
    /// refused by the connection limits.
    pub connections_refused: Family<Reason, Counter>,
    /// Rosters offered and refused, by reason.
    pub roster_refused: Family<Reason, Counter>,
    /// Rosters taken.
    pub roster_updates: Counter,
    /// Checkpoints that fork a log: refused by this node as a witness (`seen="witness"`),
    /// or seen on gossip or catch-up not to extend the head held (`seen="gossip"`,
    /// `seen="catch_up"`). Count them with [`Metrics::fork`].
    pub evidence_forks: Family<Seen, Counter>,
    /// Timestamp tokens taken from the TSA over this node's checkpoints, verified and kept.
    pub evidence_timestamps: Counter,
    /// Requests to the TSA that gave no token kept (unreachable, refused, or a bad token).
    pub evidence_timestamp_failures: Counter,
    /// The TSA's time (`genTime`, seconds since the epoch) on the latest token kept (read
    /// back at start); the age of the newest timestamp is `time() - this`. 0 before the
    /// first.
    pub evidence_timestamped_at: Gauge,
    /// Leaves of the latest checkpoint that no token covers yet: 0 when the TSA keeps up.
    pub evidence_untimestamped_leaves: Gauge,
    /// Per `[archive]` destination: when the last scheduled backup was written there
    /// (seconds since the epoch; absent before the first).
    pub backup_last_success: Family<Destination, Gauge>,
    /// Per destination: scheduled backups that failed there.
    pub backup_failures: Family<Destination, Counter>,
    /// Per destination: when the last quarterly archive was written or found complete there.
    pub archive_last_success: Family<Destination, Gauge>,
    /// Per destination: quarterly archives that could not be written there.
    pub archive_failures: Family<Destination, Counter>,
    /// Packages received and stored.
    pub packages_received: Counter,
    /// Deliveries completed with a verified receipt 01.
    pub deliveries: Counter,
    /// Delivery attempts that failed and will be retried.
    pub delivery_retries: Counter,
    /// Receipts recorded from other agencies.
    pub receipts_recorded: Counter,
    /// Members in the roster.
    pub roster_members: Gauge,
    /// Deliveries that could not reach their recipient and were left at its relay.
    pub deliveries_held: Counter,
    /// On a relay: sealed packages taken to hold for members.
    pub relay_held: Counter,
    /// On a relay: held packages passed to their recipients.
    pub relay_passed: Counter,
    /// On a relay: receipts forwarded to the agencies they are for.
    pub relay_receipts_forwarded: Counter,
    /// Receipts this agency signed, handed to their addressee or its relay.
    pub receipts_handed: Counter,
    /// Receipt summaries this node published by gossip.
    pub receipts_gossiped: Counter,
    /// Receipt summaries from gossip kept by this node.
    pub receipts_observed: Counter,
    /// Receipts recorded while catching up with a peer.
    pub receipts_caught_up: Counter,
    /// Gossiped receipt batches and checkpoint announcements refused (bad signature,
    /// unknown issuer, wrong key, another node's log).
    pub gossip_refused: Counter,
    /// Recipients without receipt 01 past the deadline, or that refused (02).
    pub stuck: Gauge,
    /// Receipts about this agency's packages, by status code.
    pub receipts_by_code: Family<Code, Counter>,
    /// Deliveries completed, by how receipt 01 came back.
    pub deliveries_by_path: Family<Path, Counter>,
    /// Seconds from submission to receipt 01, per delivery.
    pub delivery_seconds: Histogram,
    /// Peers with an open connection (set when scraped).
    pub peers_connected: Gauge,
    /// Peers reached only through a relay's circuit (set when scraped).
    pub peers_relayed: Gauge,
    /// Bytes the store takes on disk (set when scraped).
    pub store_size_bytes: Gauge,
    /// 1 while the store takes writes, 0 once a write failed until it is reopened.
    pub store_writable: Gauge,
    /// Records in the store, by kind (set when scraped).
    pub store_records: Family<Kind, Gauge>,
    /// Local API request latency, by route template, method and status class.
    pub api_requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("lienthong");
        let rejected = Family::<Reason, Counter>::default();
        registry.register(
            "inbound_rejected",
            "Inbound requests refused, by reason",
            rejected.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "inbound_rate_limited",
            "Inbound requests answered Busy because the peer exceeded its rate or concurrency",
            rate_limited.clone(),
        );
        let peers_blocked = Counter::default();
        registry.register(
            "peers_blocked",
            "Peers blocked for sending garbage",
            peers_blocked.clone(),
        );
        let connections_refused = Family::<Reason, Counter>::default();
        registry.register(
            "connections_refused",
            "Connections refused by the membership allow list or the block list",
            connections_refused.clone(),
        );
        let roster_refused = Family::<Reason, Counter>::default();
        registry.register(
            "roster_refused",
            "Rosters offered and refused, by reason",
            roster_refused.clone(),
        );
        let roster_updates = Counter::default();
        registry.register("roster_updates", "Rosters taken", roster_updates.clone());
        let evidence_forks = Family::<Seen, Counter>::default();
        registry.register(
            "evidence_forks",
            "Checkpoints that fork an agency's log: refused as a witness, or seen on gossip or catch-up not to extend the head held, by how seen",
            evidence_forks.clone(),
        );
        let evidence_timestamps = Counter::default();
        registry.register(
            "evidence_timestamps",
            "Timestamp tokens taken from the TSA over this node's checkpoints, verified and kept",
            evidence_timestamps.clone(),
        );
        let evidence_timestamp_failures = Counter::default();
        registry.register(
            "evidence_timestamp_failures",
            "Requests to the TSA that gave no token kept",
            evidence_timestamp_failures.clone(),
        );
        let backup_last_success = Family::<Destination, Gauge>::default();
        registry.register(
            "backup_last_success_timestamp_seconds",
            "When the last scheduled backup was written to the destination",
            backup_last_success.clone(),
        );
        let backup_failures = Family::<Destination, Counter>::default();
        registry.register(
            "backup_failures",
            "Scheduled backups that failed at the destination",
            backup_failures.clone(),
        );
        let archive_last_success = Family::<Destination, Gauge>::default();
        registry.register(
            "archive_last_success_timestamp_seconds",
            "When the last quarterly archive was written to or found at the destination",
            archive_last_success.clone(),
        );
        let archive_failures = Family::<Destination, Counter>::default();
        registry.register(
            "archive_failures",
            "Quarterly archives that could not be written at the destination",
            archive_failures.clone(),
        );
        let evidence_timestamped_at = Gauge::default();
        registry.register(
            "evidence_timestamped_at_seconds",
            "The TSA's time on the latest timestamp token kept, seconds since the epoch",
            evidence_timestamped_at.clone(),
        );
        let evidence_untimestamped_leaves = Gauge::default();
        registry.register(
            "evidence_untimestamped_leaves",
            "Leaves of the latest checkpoint that no timestamp token covers yet",
            evidence_untimestamped_leaves.clone(),
        );
        let packages_received = Counter::default();
        registry.register(
            "packages_received",
            "Packages received and stored",
            packages_received.clone(),
        );
        let deliveries = Counter::default();
        registry.register(
            "deliveries",
            "Deliveries completed with a verified receipt 01",
            deliveries.clone(),
        );
        let delivery_retries = Counter::default();
        registry.register(
            "delivery_retries",
            "Delivery attempts that failed and will be retried",
            delivery_retries.clone(),
        );
        let receipts_recorded = Counter::default();
        registry.register(
            "receipts_recorded",
            "Receipts recorded from other agencies",
            receipts_recorded.clone(),
        );
        let roster_members = Gauge::default();
        registry.register(
            "roster_members",
            "Members in the roster",
            roster_members.clone(),
        );
        let deliveries_held = Counter::default();
        registry.register(
            "deliveries_held",
            "Deliveries left at the recipient's relay because the recipient was unreachable",
            deliveries_held.clone(),
        );
        let relay_held = Counter::default();
        registry.register(
            "relay_held",
            "On a relay: sealed packages taken to hold for members",
            relay_held.clone(),
        );
        let relay_passed = Counter::default();
        registry.register(
            "relay_passed",
            "On a relay: held packages passed to their recipients",
            relay_passed.clone(),
        );
        let relay_receipts_forwarded = Counter::default();
        registry.register(
            "relay_receipts_forwarded",
            "On a relay: receipts forwarded to the agencies they are for",
            relay_receipts_forwarded.clone(),
        );
        let receipts_handed = Counter::default();
        registry.register(
            "receipts_handed",
            "Receipts this agency signed, handed to their addressee or its relay",
            receipts_handed.clone(),
        );
        let receipts_gossiped = Counter::default();
        registry.register(
            "receipts_gossiped",
            "Receipt summaries this node published by gossip",
            receipts_gossiped.clone(),
        );
        let receipts_observed = Counter::default();
        registry.register(
            "receipts_observed",
            "Receipt summaries from gossip kept by this node",
            receipts_observed.clone(),
        );
        let receipts_caught_up = Counter::default();
        registry.register(
            "receipts_caught_up",
            "Receipts recorded while catching up with a peer",
            receipts_caught_up.clone(),
        );
        let gossip_refused = Counter::default();
        registry.register(
            "gossip_refused",
            "Gossiped receipt batches and checkpoint announcements refused (bad signature, unknown issuer, wrong key, another node's log)",
            gossip_refused.clone(),
        );
        let stuck = Gauge::default();
        registry.register(
            "stuck",
            "Recipients without receipt 01 past the deadline, or that refused (02)",
            stuck.clone(),
        );
        let receipts_by_code = Family::<Code, Counter>::default();
        for code in StatusCode::ALL {
            // Every code shows, at 0 until it happens, so alerts on rates see a series.
            let _ = receipts_by_code.get_or_create(&Code {
                code: code.as_str(),
            });
        }
        registry.register(
            "receipts_by_code",
            "Receipts about this agency's packages recorded, by status code (01 includes the answers to deliveries)",
            receipts_by_code.clone(),
        );
        let deliveries_by_path = Family::<Path, Counter>::default();
        for path in DeliveryPath::ALL {
            let _ = deliveries_by_path.get_or_create(&Path {
                path: path.as_str(),
            });
        }
        registry.register(
            "deliveries_by_path",
            "Deliveries completed with a verified receipt 01, by path: direct, relayed (circuit), mailbox, local, other",
            deliveries_by_path.clone(),
        );
        let delivery_seconds = Histogram::new(DELIVERY_BUCKETS);
        registry.register(
            "delivery_seconds",
            "Seconds from submission to the recipient's receipt 01",
            delivery_seconds.clone(),
        );
        let peers_connected = Gauge::default();
        registry.register(
            "peers_connected",
            "Peers with an open connection",
            peers_connected.clone(),
        );
        let peers_relayed = Gauge::default();
        registry.register(
            "peers_relayed",
            "Peers reached only through a relay's circuit",
            peers_relayed.clone(),
        );
        let store_size_bytes = Gauge::default();
        registry.register(
            "store_size_bytes",
            "Bytes the store takes on disk",
            store_size_bytes.clone(),
        );
        let store_writable = Gauge::default();
        store_writable.set(1);
        registry.register(
            "store_writable",
            "1 while the store takes writes; 0 after a write failed (a full disk, no file descriptor left), until the node reopens it",
            store_writable.clone(),
        );
        let store_records = Family::<Kind, Gauge>::default();
        registry.register(
            "store_records",
            "Records in the store, by kind",
            store_records.clone(),
        );
        let api_requests =
            Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                api_histogram,
            );
        registry.register(
            "api_request_duration_seconds",
            "Local API request latency in seconds, by route template, method and status class",
            api_requests.clone(),
        );
        Metrics {
            registry,
            receipts_by_code,
            deliveries_by_path,
            delivery_seconds,
            peers_connected,
            peers_relayed,
            store_size_bytes,
            store_writable,
            store_records,
            api_requests,
            receipts_handed,
            receipts_gossiped,
            receipts_observed,
            receipts_caught_up,
            gossip_refused,
            stuck,

            deliveries_held,
            relay_held,
            relay_passed,
            relay_receipts_forwarded,
            rejected,
            rate_limited,
            peers_blocked,
            connections_refused,
            roster_refused,
            roster_updates,
            evidence_forks,
            evidence_timestamps,
            evidence_timestamp_failures,
            evidence_timestamped_at,
            evidence_untimestamped_leaves,
            backup_last_success,
            backup_failures,
            archive_last_success,
            archive_failures,
            packages_received,
            deliveries,
            delivery_retries,
            receipts_recorded,
            roster_members,
        }
    }

    /// Counts a fork of an agency's log, by how it was seen.
    pub fn fork(&self, seen: &'static str) {
        self.evidence_forks.get_or_create(&Seen { seen }).inc();
    }

    /// Counts a refused inbound request.
    pub fn reject(&self, reason: &'static str) {
        self.rejected.get_or_create(&Reason { reason }).inc();
    }

    /// Counts a receipt recorded about this agency's packages.
    pub fn receipt(&self, code: StatusCode) {
        self.receipts_by_code
            .get_or_create(&Code {
                code: code.as_str(),
            })
            .inc();
    }

    /// Counts a delivery completed by a verified receipt 01, `since_submission` after the
    /// package was submitted.
    pub fn delivered(&self, path: DeliveryPath, since_submission: Duration) {
        self.deliveries.inc();
        self.deliveries_by_path
            .get_or_create(&Path {
                path: path.as_str(),
            })
            .inc();
        self.delivery_seconds
            .observe(since_submission.as_secs_f64());
    }

    /// Records one local API request.
    pub fn request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let labels = RequestLabels {
            route: route.to_owned(),
            method: method_label(method),
            status: status_class(status),
        };
        self.api_requests
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Sets the store gauges, read when scraped.
    pub fn set_store(&self, size_on_disk: u64, counts: &StoreCounts) {
        self.store_size_bytes.set(to_gauge(size_on_disk));
        for (kind, value) in [
            ("outgoing", counts.outgoing),
            ("pending_outbox", counts.pending_outbox),
            ("inbox_unacked", counts.inbox_unacked),
            ("receipts", counts.receipts),
        ] {
            self.store_records
                .get_or_create(&Kind { kind })
                .set(to_gauge(value));
        }
    }

    /// Sets the peer gauges, read when scraped.
    pub fn set_peers(&self, connected: usize, relayed: usize) {
        self.peers_connected.set(to_gauge(connected as u64));
        self.peers_relayed.set(to_gauge(relayed as u64));
    }

    /// Sets the counts of connections refused by the connection limits, kept by the network
    /// layer, read when scraped.
    pub fn set_limited(&self, inbound: u64, outbound: u64) {
        for (reason, total) in [("limit_inbound", inbound), ("limit_outbound", outbound)] {
            let counter = self.connections_refused.get_or_create(&Reason { reason });
            counter.inc_by(total.saturating_sub(counter.get()));
        }
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

fn to_gauge(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
