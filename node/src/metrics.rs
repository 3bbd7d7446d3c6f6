//! Counters an operator reads at `/metrics` (Prometheus text): what the node refused and
//! why, who it blocked, what it delivered and received.
//!
//! Names follow Prometheus conventions (`lienthong_…_total` for counters); labels are short
//! fixed words so that a hostile peer cannot create new series.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// A `reason` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    /// The reason, e.g. `wrong_key`.
    pub reason: &'static str,
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
    /// Connections refused or closed by the membership allow list or the block list.
    pub connections_refused: Family<Reason, Counter>,
    /// Rosters offered and refused, by reason.
    pub roster_refused: Family<Reason, Counter>,
    /// Rosters taken.
    pub roster_updates: Counter,
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
    /// Gossiped receipt batches refused (bad signature, unknown issuer, wrong key).
    pub gossip_refused: Counter,
    /// Recipients without receipt 01 past the deadline, or that refused (02).
    pub stuck: Gauge,
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
            "Gossiped receipt batches refused (bad signature, unknown issuer, wrong key)",
            gossip_refused.clone(),
        );
        let stuck = Gauge::default();
        registry.register(
            "stuck",
            "Recipients without receipt 01 past the deadline, or that refused (02)",
            stuck.clone(),
        );
        Metrics {
            registry,
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
            packages_received,
            deliveries,
            delivery_retries,
            receipts_recorded,
            roster_members,
        }
    }

    /// Counts a refused inbound request.
    pub fn reject(&self, reason: &'static str) {
        self.rejected.get_or_create(&Reason { reason }).inc();
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
