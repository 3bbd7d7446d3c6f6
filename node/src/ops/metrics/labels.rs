//! The labels of the node's metrics: each a fixed set of short words, so that no peer or
//! client can create new series.

use prometheus_client::encoding::EncodeLabelSet;

/// A `reason` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    /// The reason, e.g. `wrong_key`.
    pub reason: &'static str,
}

/// A `seen` label: how a fork was seen (`witness`, `gossip`, `catch_up`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Seen {
    /// `witness`, `gossip` or `catch_up`.
    pub seen: &'static str,
}

/// A `code` label: a receipt's status code (`01` … `16`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Code {
    /// The two-digit code.
    pub code: &'static str,
}

/// A `path` label: how a delivery reached its recipient.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Path {
    /// One of [`DeliveryPath`]'s names.
    pub path: &'static str,
}

/// A `kind` label: a kind of store record.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Kind {
    /// `outgoing`, `pending_outbox`, `inbox_unacked` or `receipts`.
    pub kind: &'static str,
}

/// A `destination` label: an `[archive] destinations` directory, as configured (a fixed
/// set: the config's).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Destination {
    /// The directory.
    pub destination: String,
}

/// The labels of one local API request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route template that matched, or [`UNMATCHED_ROUTE`].
    pub route: String,
    /// `GET`, `POST`, … or `other`.
    pub method: &'static str,
    /// The status class: `2xx`, `4xx`, …
    pub status: &'static str,
}

/// The `route` of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// How a delivery's receipt 01 came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryPath {
    /// Over a direct connection to the recipient's node.
    Direct,
    /// Over a circuit through one of the recipient's relays.
    Relayed,
    /// From the relay's mailbox: the package was held there and the recipient collected it.
    Mailbox,
    /// To this node's own agency, delivered in place.
    Local,
    /// By a receipt that came on its own (gossip, catch-up) for a package not held at a
    /// relay, e.g. after the sender restarted mid-delivery.
    Other,
}

impl DeliveryPath {
    /// Every path, for the label's fixed set.
    pub const ALL: [DeliveryPath; 5] = [
        DeliveryPath::Direct,
        DeliveryPath::Relayed,
        DeliveryPath::Mailbox,
        DeliveryPath::Local,
        DeliveryPath::Other,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryPath::Direct => "direct",
            DeliveryPath::Relayed => "relayed",
            DeliveryPath::Mailbox => "mailbox",
            DeliveryPath::Local => "local",
            DeliveryPath::Other => "other",
        }
    }
}

/// A method as a label: the standard ones by name, anything else as `other`, so a client
/// inventing methods cannot create series.
pub(super) fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PATCH" => "PATCH",
        _ => "other",
    }
}

/// `2xx`, `4xx`, …: the class is what alerts look at, and it keeps the set small.
pub(super) fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
