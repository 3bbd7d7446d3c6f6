//! `config.toml`: the node's settings, file shape and defaults.
//!
//! Every section has a default that works for a local development node, so a config file
//! needs only the agency's id and name. Unknown keys are refused, so that a typo fails at
//! start-up instead of silently leaving a default in place. `lienthong init` writes a file
//! with every key present and documented ([`Config::to_documented_toml`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytesize::ByteSize;
use lienthong_protocol::OrganId;
use lienthong_protocol::roster::Role;
use serde::{Deserialize, Serialize};

mod archive;
mod axis_bridge;
mod email;
mod evidence;
pub mod overrides;
pub use archive::ArchiveConfig;
pub use axis_bridge::{AXIS_ACCOUNT_SECRET_FILE, AxisBridgeConfig};
pub use email::{EMAIL_PASSWORD_FILE, EmailConfig, MailSecurity};
pub use evidence::EvidenceConfig;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// This agency's id (mã định danh, QĐ 20/2020), exactly as in the federation roster.
    pub organ_id: OrganId,
    /// The agency's name, for people.
    pub name: String,
    /// `agency` for an agency's own node, `relay` for a provincial relay.
    #[serde(default)]
    pub role: Role,
    /// Peer-to-peer networking.
    #[serde(default)]
    pub network: NetworkConfig,
    /// The local HTTP API that QLVB software and the CLI use.
    #[serde(default)]
    pub api: ApiConfig,
    /// Delivery of outgoing packages.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// Limits on what the node accepts.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// The federation roster.
    #[serde(default)]
    pub federation: FederationConfig,
    /// Defences against forged, replayed and flooding peers.
    #[serde(default)]
    pub security: SecurityConfig,
    /// Relays: how a member uses its relays, and, on a relay node, what it grants.
    #[serde(default)]
    pub relay: RelayConfig,
    /// Status receipts: gossip, catching up, monitoring.
    #[serde(default)]
    pub receipts: ReceiptsConfig,
    /// The evidence log: checkpoints, witnessing.
    #[serde(default)]
    pub evidence: EvidenceConfig,
    /// This node as its agency's own client of the national or a provincial axis.
    #[serde(default)]
    pub axis: AxisBridgeConfig,
    /// Official email for the roster's units that run no node.
    #[serde(default)]
    pub email: EmailConfig,
    /// Archives and scheduled backups: retention, destinations.
    #[serde(default)]
    pub archive: ArchiveConfig,
}

/// `[receipts]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReceiptsConfig {
    /// Publish summaries of the receipts this agency signs on the gossip topic of its
    /// province (and of the other party's), and relay others' summaries there.
    pub gossip: bool,
    /// Also take part in the national topic, where receipts between provinces go.
    pub national: bool,
    /// Keep every receipt summary gossip brings, not only those about this agency's own
    /// packages: for a provincial office that watches its province's exchanges.
    pub monitor: bool,
    /// How often this node asks each connected member for receipts it lacks (it also
    /// asks on every new connection).
    #[serde(with = "humantime_serde")]
    pub sync_interval: Duration,
    /// How often receipts this agency signed that have not reached their addressee are
    /// offered again (also whenever the addressee connects).
    #[serde(with = "humantime_serde")]
    pub retry_interval: Duration,
    /// On a monitoring node, for the province overview: how long a unit may leave a
    /// document that arrived (01) without registering it (03) or refusing it (02), or a
    /// take-back request (13) without an answer, before the document counts as stuck there.
    #[serde(with = "humantime_serde")]
    pub accept_deadline: Duration,
}

impl Default for ReceiptsConfig {
    fn default() -> Self {
        ReceiptsConfig {
            gossip: true,
            national: false,
            monitor: false,
            sync_interval: Duration::from_secs(300),
            retry_interval: Duration::from_secs(30),
            // Received documents are registered the day they arrive, at the latest the
            // next working day (Decree 30/2020/NĐ-CP).
            accept_deadline: Duration::from_secs(24 * 3600),
        }
    }
}

/// `[network]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// Multiaddrs to listen on. Port 0 picks a free port; the bound ones are written to
    /// `daemon.json`.
    pub listen: Vec<String>,
    /// Discover peers on the local network with mDNS. Handy on a LAN; off where multicast
    /// is not wanted.
    pub mdns: bool,
    /// How long one request (a package delivery) may take before it is abandoned and retried.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// How long an idle connection to a peer is kept for reuse.
    #[serde(with = "humantime_serde")]
    pub idle_connection_timeout: Duration,
    /// How often each connection is pinged: the round-trip time the dashboard shows, and
    /// how a connection whose peer vanished without closing it (a cable pulled) is found
    /// dead. Each ping is a stream of its own; a node with a few dozen connections does not
    /// notice them, a thousand simulated nodes on one machine do.
    #[serde(with = "humantime_serde")]
    pub ping_interval: Duration,
    /// Publish this node's address in the Kademlia DHT, and look up there a member whose
    /// roster addresses fail. A fallback for nodes that moved; every query reaches dozens of
    /// nodes, so in a federation of a thousand nodes it costs more connections than it
    /// saves, and the roster's addresses (kept current by `federation admit`) suffice.
    pub dht: bool,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            listen: vec!["/ip4/0.0.0.0/tcp/7100".to_owned()],
            mdns: true,
            request_timeout: Duration::from_secs(60),
            idle_connection_timeout: Duration::from_secs(600),
            ping_interval: Duration::from_secs(15),
            dht: true,
        }
    }
}

/// `[api]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Where the HTTP API listens. Keep it on loopback: QLVB runs on the same server or
    /// reaches it through the agency's own reverse proxy.
    pub listen: SocketAddr,
    /// The endpoints shaped like the national axis's, for QLVB software built on its SDK.
    pub axis: AxisConfig,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 7180)),
            axis: AxisConfig::default(),
        }
    }
}

/// `[api.axis]`: the axis-compatible endpoints (`/sendEdoc`, `/getReceivedEdocList`, …).
///
/// They take the axis SDK's signature, made with the shared secret in `secret_file`, or
/// the API's bearer token, so that a QLVB only changes its `service.endpoint`, `systemid`
/// and `secret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AxisConfig {
    /// Whether the axis-compatible endpoints answer at all.
    pub enabled: bool,
    /// The `systemid` QLVB signs with (the SDK's `systemid` setting). Empty means this
    /// agency's `organ_id`, which is what the national axis registers.
    pub system_id: String,
    /// The file holding the HMAC secret (the SDK's `secret` setting), mode 0600. A relative
    /// path is taken from the data directory; `lienthong init` creates `axis.secret`.
    pub secret_file: PathBuf,
    /// No longer used, and accepted so that older config files still load: the axis SDK
    /// signs every call of a service object with the timestamp it was created with, days
    /// old for a QLVB that keeps one, so the node cannot refuse old timestamps.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp_skew: Option<Duration>,
}

impl Default for AxisConfig {
    fn default() -> Self {
        AxisConfig {
            enabled: true,
            system_id: String::new(),
            secret_file: PathBuf::from(AXIS_SECRET_FILE),
            timestamp_skew: None,
        }
    }
}

/// The default name of the axis HMAC secret, in the data directory.
pub const AXIS_SECRET_FILE: &str = "axis.secret";

impl AxisConfig {
    /// The `systemid` requests must carry: [`AxisConfig::system_id`], or the agency's id.
    pub fn system_id_or<'a>(&'a self, organ_id: &'a OrganId) -> &'a str {
        if self.system_id.trim().is_empty() {
            organ_id.as_str()
        } else {
            self.system_id.trim()
        }
    }
}

/// `[delivery]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// A recipient with no receipt 01 this long after submission is reported as stuck
    /// (normal priority).
    #[serde(with = "humantime_serde")]
    pub receipt_deadline: Duration,
    /// The deadline for urgent documents (Khẩn, Thượng khẩn).
    #[serde(with = "humantime_serde")]
    pub urgent_receipt_deadline: Duration,
    /// The deadline for flash documents (Hỏa tốc, Hỏa tốc hẹn giờ).
    #[serde(with = "humantime_serde")]
    pub flash_receipt_deadline: Duration,
    /// The first retry waits this long; each further one doubles it, with jitter. Once a
    /// recipient is found unreachable, its other packages wait for its next retry instead
    /// of each being tried, and all go when it answers or connects.
    #[serde(with = "humantime_serde")]
    pub retry_initial: Duration,
    /// Retries never wait longer than this.
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
    /// Deliveries in flight at once.
    pub concurrency: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            receipt_deadline: Duration::from_secs(4 * 3600),
            urgent_receipt_deadline: Duration::from_secs(3600),
            flash_receipt_deadline: Duration::from_secs(15 * 60),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            concurrency: 64,
        }
    }
}

/// `[limits]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest edXML package accepted from QLVB or from a peer.
    pub max_package_size: ByteSize,
    /// Most recipients of one package.
    pub max_recipients: usize,
    /// Memory the store keeps its pages in; the rest is read back from disk. It bounds the
    /// node's memory, which otherwise grows with every document stored.
    pub store_cache: ByteSize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_package_size: ByteSize::mib(64),
            max_recipients: 10_000,
            store_cache: ByteSize::b(crate::store::DEFAULT_CACHE_BYTES),
        }
    }
}

/// `[federation]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationConfig {
    /// How often the node checks its data directory for a roster installed by
    /// `lienthong federation admit`.
    #[serde(with = "humantime_serde")]
    pub roster_poll_interval: Duration,
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig {
            roster_poll_interval: Duration::from_secs(1),
        }
    }
}

/// `[security]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// How far ahead of this node's clock a package's or receipt's time may be. Clocks of
    /// agencies' servers drift; more than this is refused with the reason.
    #[serde(with = "humantime_serde")]
    pub clock_skew: Duration,
    /// Packages created longer ago than this are refused: a replay of something long gone.
    /// Keep it above the longest outage a recipient may have.
    #[serde(with = "humantime_serde")]
    pub max_package_age: Duration,
    /// Inbound requests one peer may make per second, on average.
    pub peer_rate: f64,
    /// Requests one peer may make at once above its rate.
    pub peer_burst: u32,
    /// Requests of one peer handled at the same time.
    pub peer_concurrency: usize,
    /// How long a peer that sent garbage (a malformed frame, a forged signature) is
    /// disconnected and refused.
    #[serde(with = "humantime_serde")]
    pub garbage_ban: Duration,
}

impl Eq for SecurityConfig {}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            clock_skew: Duration::from_secs(300),
            max_package_age: Duration::from_secs(90 * 86_400),
            peer_rate: 200.0,
            peer_burst: 400,
            peer_concurrency: 32,
            garbage_ban: Duration::from_secs(600),
        }
    }
}

/// `[relay]`
///
/// The first keys are for every node (how it uses the relays the roster names for it and
/// for its recipients); the `server_*` keys only matter on a node whose role is `relay`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    /// Keep a reservation at each of this agency's relays, so that nodes that cannot dial
    /// it directly reach it through the relay.
    pub reserve: bool,
    /// How often this node asks its relays for packages held for it (it also asks each
    /// time it connects to one).
    #[serde(with = "humantime_serde")]
    pub pull_interval: Duration,
    /// After a relay has acknowledged holding a package, how long the sender waits before
    /// trying the recipient itself again (and depositing again if it still cannot reach
    /// it): the guard against a relay that holds a package and then disappears for good.
    #[serde(with = "humantime_serde")]
    pub held_recheck: Duration,
    /// On a relay: reservations held at once, over all members.
    pub server_max_reservations: usize,
    /// On a relay: circuits open at once.
    pub server_max_circuits: usize,
    /// On a relay: circuits open at once to or from one peer.
    pub server_max_circuits_per_peer: usize,
    /// On a relay: how long a reservation lasts before the member renews it.
    #[serde(with = "humantime_serde")]
    pub server_reservation_duration: Duration,
    /// On a relay: how long one circuit may stay open.
    #[serde(with = "humantime_serde")]
    pub server_max_circuit_duration: Duration,
    /// On a relay: bytes one circuit may carry, each way; above the largest package.
    pub server_max_circuit_bytes: ByteSize,
    /// On a relay: sealed bytes held for one member before further deposits for it are
    /// refused (the sender keeps the package and retries).
    pub server_mailbox_quota: ByteSize,
    /// On a relay: how often held packages and receipts not yet taken are offered again.
    #[serde(with = "humantime_serde")]
    pub server_forward_interval: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            reserve: true,
            pull_interval: Duration::from_secs(60),
            held_recheck: Duration::from_secs(3600),
            server_max_reservations: 1024,
            server_max_circuits: 1024,
            server_max_circuits_per_peer: 64,
            server_reservation_duration: Duration::from_secs(3600),
            server_max_circuit_duration: Duration::from_secs(3600),
            server_max_circuit_bytes: ByteSize::gib(1),
            server_mailbox_quota: ByteSize::gib(4),
            server_forward_interval: Duration::from_secs(30),
        }
    }
}

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for a config, or has an unknown key.
    #[error("{path} is not a valid lienthong config: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What toml said, with line and column.
        message: String,
    },
    /// A value is out of range.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// A config with defaults for everything but the agency.
    pub fn new(organ_id: OrganId, name: impl Into<String>) -> Self {
        Config {
            organ_id,
            name: name.into(),
            role: Role::Agency,
            network: NetworkConfig::default(),
            api: ApiConfig::default(),
            delivery: DeliveryConfig::default(),
            limits: LimitsConfig::default(),
            federation: FederationConfig::default(),
            security: SecurityConfig::default(),
            relay: RelayConfig::default(),
            receipts: ReceiptsConfig::default(),
            evidence: EvidenceConfig::default(),
            axis: AxisBridgeConfig::default(),
            email: EmailConfig::default(),
            archive: ArchiveConfig::default(),
        }
    }

    /// Reads and checks a config file.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file and what is wrong.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut config = Config::parse(&text, &shown)?;
        // Files named in the config are relative to its directory, the data directory.
        if let Some(dir) = path.parent()
            && config.api.axis.secret_file.is_relative()
        {
            config.api.axis.secret_file = dir.join(&config.api.axis.secret_file);
        }
        if let Some(dir) = path.parent()
            && config.axis.secret_file.is_relative()
        {
            config.axis.secret_file = dir.join(&config.axis.secret_file);
        }
        if let Some(dir) = path.parent()
            && !config.evidence.tsa_cert_file.as_os_str().is_empty()
            && config.evidence.tsa_cert_file.is_relative()
        {
            config.evidence.tsa_cert_file = dir.join(&config.evidence.tsa_cert_file);
        }
        if let Some(dir) = path.parent() {
            if config.email.password_file.is_relative() {
                config.email.password_file = dir.join(&config.email.password_file);
            }
            if !config.email.ca_file.as_os_str().is_empty() && config.email.ca_file.is_relative() {
                config.email.ca_file = dir.join(&config.email.ca_file);
            }
        }
        if let Some(dir) = path.parent()
            && !config.axis.ca_file.as_os_str().is_empty()
            && config.axis.ca_file.is_relative()
        {
            config.axis.ca_file = dir.join(&config.axis.ca_file);
        }
        Ok(config)
    }

    /// Parses and checks config text; `origin` names it in errors.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] or [`ConfigError::Invalid`].
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        config.validate(origin)?;
        Ok(config)
    }

    fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: origin.to_owned(),
            message,
        };
        if self.name.trim().is_empty() {
            return Err(invalid("name is empty".to_owned()));
        }
        for addr in &self.network.listen {
            addr.parse::<libp2p::Multiaddr>().map_err(|e| {
                invalid(format!("network.listen: {addr:?} is not a multiaddr: {e}"))
            })?;
        }
        self.evidence.check().map_err(invalid)?;
        self.archive.check().map_err(invalid)?;
        if self.network.ping_interval.is_zero() {
            return Err(invalid(
                "network.ping_interval must be above zero".to_owned(),
            ));
        }
        if self.delivery.concurrency == 0 {
            return Err(invalid(
                "delivery.concurrency must be at least 1".to_owned(),
            ));
        }
        if self.delivery.retry_initial.is_zero()
            || self.delivery.retry_max < self.delivery.retry_initial
        {
            return Err(invalid(
                "delivery.retry_initial must be above zero and not above delivery.retry_max"
                    .to_owned(),
            ));
        }
        if self.limits.max_package_size.as_u64() == 0
            || self.limits.max_package_size > ByteSize::gib(1)
        {
            return Err(invalid(
                "limits.max_package_size must be between 1 byte and 1 GiB".to_owned(),
            ));
        }
        let security = &self.security;
        if !(security.peer_rate > 0.0 && security.peer_rate.is_finite())
            || security.peer_burst == 0
            || security.peer_concurrency == 0
        {
            return Err(invalid(
                "security.peer_rate, peer_burst and peer_concurrency must be above zero".to_owned(),
            ));
        }
        let relay = &self.relay;
        if self.receipts.sync_interval.is_zero()
            || self.receipts.retry_interval.is_zero()
            || self.receipts.accept_deadline.is_zero()
        {
            return Err(invalid(
                "receipts.sync_interval, retry_interval and accept_deadline must be above zero"
                    .to_owned(),
            ));
        }
        if relay.pull_interval.is_zero()
            || relay.held_recheck.is_zero()
            || relay.server_forward_interval.is_zero()
        {
            return Err(invalid(
                "relay.pull_interval, held_recheck and server_forward_interval must be above zero"
                    .to_owned(),
            ));
        }
        if relay.server_max_circuit_bytes < self.limits.max_package_size {
            return Err(invalid(format!(
                "relay.server_max_circuit_bytes ({}) must be at least limits.max_package_size ({})",
                relay.server_max_circuit_bytes.display().iec(),
                self.limits.max_package_size.display().iec()
            )));
        }
        if let Some(problem) = self.axis.problem() {
            return Err(invalid(problem));
        }
        if let Some(problem) = self.email.problem() {
            return Err(invalid(problem));
        }
        if self.api.axis.secret_file.as_os_str().is_empty() {
            return Err(invalid("api.axis.secret_file is empty".to_owned()));
        }
        if self.limits.store_cache.as_u64() < 1024 * 1024 {
            return Err(invalid(format!(
                "limits.store_cache is {}; give the store at least 1 MiB",
                self.limits.store_cache.display().iec()
            )));
        }
        if self.limits.max_recipients == 0 {
            return Err(invalid(
                "limits.max_recipients must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }

    /// The config as TOML with a comment above every key, as `lienthong init` writes it.
    pub fn to_documented_toml(&self) -> String {
        let d = |duration: &Duration| humantime::format_duration(*duration).to_string();
        let list = |items: &[String]| {
            items
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let role = match self.role {
            Role::Agency => "agency",
            Role::Relay => "relay",
        };
        format!(
            r#"# lienthong node configuration. Every key is shown with its value; unknown keys are refused.

# This agency's id (mã định danh, QĐ 20/2020), exactly as in the federation roster.
organ_id = {organ_id:?}
# The agency's name, for people.
name = {name:?}
# "agency" for an agency's own node, "relay" for a provincial relay.
role = "{role}"

[network]
# Multiaddrs to listen on for other nodes. Port 0 picks a free port; the bound addresses
# are written to daemon.json when the node runs.
listen = [{listen}]
# Discover peers on the local network with mDNS.
mdns = {mdns}
# How long one delivery may take before it is abandoned and retried.
request_timeout = "{request_timeout}"
# How long an idle connection to a peer is kept for reuse.
idle_connection_timeout = "{idle}"
# How often each connection is pinged (round-trip time; finding connections whose peer
# vanished).
ping_interval = "{ping}"
# Publish this node's address in the Kademlia DHT and look there for members whose roster
# addresses fail. Turn off in very large federations: every DHT query reaches dozens of nodes.
dht = {dht}

[api]
# Where the local HTTP API listens (QLVB software and the lienthong CLI use it).
# Keep it on loopback.
listen = "{api}"

[api.axis]
# Serve the endpoints shaped like the national axis's (/sendEdoc, /getReceivedEdocList, …),
# so QLVB software built on the axis SDK only changes its service.endpoint.
enabled = {axis_enabled}
# The systemid the SDK signs with; empty means this agency's organ_id.
system_id = {axis_system_id:?}
# The file with the SDK's HMAC secret (mode 0600); relative to the data directory.
secret_file = {axis_secret:?}

[delivery]
# A recipient with no receipt 01 this long after submission is reported as stuck.
receipt_deadline = "{deadline}"
# The same for urgent documents (Khẩn, Thượng khẩn).
urgent_receipt_deadline = "{urgent}"
# The same for flash documents (Hỏa tốc, Hỏa tốc hẹn giờ).
flash_receipt_deadline = "{flash}"
# The first retry waits this long; each further one doubles it, with jitter.
retry_initial = "{retry_initial}"
# Retries never wait longer than this.
retry_max = "{retry_max}"
# Deliveries in flight at once.
concurrency = {concurrency}

[limits]
# Largest edXML package accepted from QLVB or from a peer.
max_package_size = "{max_size}"
# Most recipients of one package.
max_recipients = {max_recipients}
# Memory the store keeps its pages in; the rest is read back from disk.
store_cache = "{store_cache}"

[federation]
# How often the node looks for a roster installed by `lienthong federation admit`.
roster_poll_interval = "{poll}"

[security]
# How far ahead of this node's clock a package's or receipt's time may be.
clock_skew = "{skew}"
# Packages created longer ago than this are refused (keep it above the longest outage).
max_package_age = "{max_age}"
# Inbound requests one peer may make per second, on average.
peer_rate = {peer_rate:?}
# Requests one peer may make at once above its rate.
peer_burst = {peer_burst}
# Requests of one peer handled at the same time.
peer_concurrency = {peer_concurrency}
# How long a peer that sent garbage is disconnected and refused.
garbage_ban = "{ban}"

[relay]
# Keep a reservation at each of this agency's relays (named in the roster), so that nodes
# that cannot dial this one directly reach it through a relay.
reserve = {reserve}
# How often to ask this agency's relays for packages held for it (also on each connect).
pull_interval = "{pull}"
# After a relay acknowledged holding a package, wait this long before trying the
# recipient again (and depositing again if it is still unreachable).
held_recheck = "{recheck}"
# The keys below only matter when role = "relay".
# Reservations held at once, over all members.
server_max_reservations = {max_reservations}
# Circuits open at once.
server_max_circuits = {max_circuits}
# Circuits open at once to or from one peer.
server_max_circuits_per_peer = {max_circuits_per_peer}
# How long a reservation lasts before the member renews it.
server_reservation_duration = "{reservation}"
# How long one circuit may stay open.
server_max_circuit_duration = "{circuit_duration}"
# Bytes one circuit may carry each way; keep it above limits.max_package_size.
server_max_circuit_bytes = "{circuit_bytes}"
# Sealed bytes held for one member before more deposits for it are refused.
server_mailbox_quota = "{quota}"
# How often held packages and receipts not yet taken are offered again.
server_forward_interval = "{forward}"

[receipts]
# Publish summaries of the receipts this agency signs (package, document id, parties, code,
# time; never document content) on its province's gossip topic, and pass others' on.
gossip = {gossip}
# Also take part in the national topic, where receipts between provinces go.
national = {national}
# Keep every summary gossip brings, not only those about this agency's packages
# (a provincial office watching its province).
monitor = {monitor}
# How often to ask each connected member for receipts this node lacks (also on connect).
sync_interval = "{sync}"
# How often receipts this agency signed that have not reached their addressee are
# offered again (also when the addressee connects).
retry_interval = "{receipt_retry}"
# On a monitoring node, for the province overview: how long a unit may leave a document
# that arrived (01) without registering it (03) or refusing it (02), or a take-back
# request (13) without an answer, before the document counts as stuck there.
accept_deadline = "{accept_deadline}"
"#,
            organ_id = self.organ_id.as_str(),
            name = self.name,
            listen = list(&self.network.listen),
            mdns = self.network.mdns,
            request_timeout = d(&self.network.request_timeout),
            idle = d(&self.network.idle_connection_timeout),
            ping = d(&self.network.ping_interval),
            dht = self.network.dht,
            api = self.api.listen,
            axis_enabled = self.api.axis.enabled,
            axis_system_id = self.api.axis.system_id,
            axis_secret = self.api.axis.secret_file.display().to_string(),
            deadline = d(&self.delivery.receipt_deadline),
            urgent = d(&self.delivery.urgent_receipt_deadline),
            flash = d(&self.delivery.flash_receipt_deadline),
            retry_initial = d(&self.delivery.retry_initial),
            retry_max = d(&self.delivery.retry_max),
            concurrency = self.delivery.concurrency,
            max_size = self.limits.max_package_size.display().iec(),
            max_recipients = self.limits.max_recipients,
            store_cache = self.limits.store_cache.display().iec(),
            poll = d(&self.federation.roster_poll_interval),
            skew = d(&self.security.clock_skew),
            max_age = d(&self.security.max_package_age),
            peer_rate = self.security.peer_rate,
            peer_burst = self.security.peer_burst,
            peer_concurrency = self.security.peer_concurrency,
            ban = d(&self.security.garbage_ban),
            reserve = self.relay.reserve,
            pull = d(&self.relay.pull_interval),
            recheck = d(&self.relay.held_recheck),
            max_reservations = self.relay.server_max_reservations,
            max_circuits = self.relay.server_max_circuits,
            max_circuits_per_peer = self.relay.server_max_circuits_per_peer,
            reservation = d(&self.relay.server_reservation_duration),
            circuit_duration = d(&self.relay.server_max_circuit_duration),
            circuit_bytes = self.relay.server_max_circuit_bytes.display().iec(),
            quota = self.relay.server_mailbox_quota.display().iec(),
            forward = d(&self.relay.server_forward_interval),
            gossip = self.receipts.gossip,
            national = self.receipts.national,
            monitor = self.receipts.monitor,
            sync = d(&self.receipts.sync_interval),
            receipt_retry = d(&self.receipts.retry_interval),
            accept_deadline = d(&self.receipts.accept_deadline),
        ) + &self.evidence.documented()
            + &self.axis.documented()
            + &self.email.documented()
            + &self.archive.documented()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Config {
        let mut config = Config::new(
            "000.00.01.H53".parse().expect("id"),
            "Văn phòng \"UBND\" tỉnh",
        );
        config.network.listen = vec!["/ip4/127.0.0.1/tcp/0".into(), "/ip6/::1/tcp/0".into()];
        config.api.listen = "127.0.0.1:0".parse().expect("addr");
        config.role = Role::Relay;
        config
    }

    #[test]
    fn documented_toml_reads_back_equal() {
        let config = sample();
        let text = config.to_documented_toml();
        assert_eq!(Config::parse(&text, "test").expect("parses"), config);
        // Every key has a comment above it.
        let keys = text.lines().filter(|l| l.contains(" = ")).count();
        let comments = text.lines().filter(|l| l.starts_with('#')).count();
        assert!(comments > keys, "{text}");
    }

    #[test]
    fn the_axis_secret_is_found_in_the_data_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        let mut config = sample();
        config.api.axis.system_id = "vxp.saas.03".into();
        std::fs::write(&path, config.to_documented_toml()).expect("writes");
        let loaded = Config::load(&path).expect("loads");
        assert_eq!(loaded.api.axis.secret_file, dir.path().join("axis.secret"));
        assert_eq!(
            loaded.api.axis.system_id_or(&loaded.organ_id),
            "vxp.saas.03"
        );
        assert_eq!(
            AxisConfig::default().system_id_or(&loaded.organ_id),
            "000.00.01.H53"
        );
        // A config written before timestamps stopped being checked still loads.
        let older = Config::parse(
            "organ_id = \"000.00.01.H53\"\nname = \"x\"\n[api.axis]\ntimestamp_skew = \"5m\"\n",
            "c.toml",
        )
        .expect("loads");
        assert_eq!(
            older.api.axis.timestamp_skew,
            Some(Duration::from_secs(300))
        );
        assert!(!config.to_documented_toml().contains("timestamp_skew"));
    }

    #[test]
    fn only_the_agency_is_required() {
        let config = Config::parse("organ_id = \"000.00.01.H53\"\nname = \"Sở Nội vụ\"\n", "t")
            .expect("parses");
        assert_eq!(config.network, NetworkConfig::default());
        assert_eq!(config.limits.max_package_size, ByteSize::mib(64));
    }

    #[test]
    fn a_timestamp_authority_needs_an_http_url_and_its_certificate() {
        let parse = |evidence: &str| {
            Config::parse(
                &format!("organ_id = \"000.00.01.H53\"\nname = \"x\"\n[evidence]\n{evidence}"),
                "c.toml",
            )
        };
        let config =
            parse("timestamp_url = \"https://tsa.example/\"\ntsa_cert_file = \"tsa.pem\"\n")
                .expect("a URL with its certificate");
        assert_eq!(config.evidence.timestamp(), Some("https://tsa.example/"));
        assert_eq!(
            config.evidence.tsa_cert(),
            Some(std::path::Path::new("tsa.pem"))
        );
        let none = parse("").expect("no TSA");
        assert_eq!(
            (none.evidence.timestamp(), none.evidence.tsa_cert()),
            (None, None)
        );
        for (bad, says) in [
            (
                "timestamp_url = \"https://tsa.example/\"\n",
                "needs evidence.tsa_cert_file",
            ),
            (
                "tsa_cert_file = \"tsa.pem\"\n",
                "without evidence.timestamp_url",
            ),
            (
                "timestamp_url = \"ftp://tsa.example/\"\ntsa_cert_file = \"tsa.pem\"\n",
                "not an http:// or https:// URL",
            ),
            (
                "timestamp_retry = \"0s\"\n",
                "timestamp_retry must be above zero",
            ),
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.to_string().contains(says), "{bad}: {err}");
        }
        // The certificate file is found beside the config.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        let mut config = sample();
        config.evidence.timestamp_url = "http://127.0.0.1:1/".into();
        config.evidence.tsa_cert_file = "tsa.pem".into();
        std::fs::write(&path, config.to_documented_toml()).expect("writes");
        let loaded = Config::load(&path).expect("loads");
        assert_eq!(loaded.evidence.tsa_cert_file, dir.path().join("tsa.pem"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_the_place() {
        let err = Config::parse(
            "organ_id = \"000.00.01.H53\"\nname = \"x\"\n[network]\nlisten_on = []\n",
            "c.toml",
        )
        .expect_err("unknown key");
        let text = err.to_string();
        assert!(
            text.contains("c.toml") && text.contains("listen_on"),
            "{text}"
        );

        let err = Config::parse(
            "organ_id = \"000.00.01.H53\"\nname = \"x\"\n[network]\nlisten = [\"tcp://x\"]\n",
            "c.toml",
        )
        .expect_err("bad multiaddr");
        assert!(err.to_string().contains("not a multiaddr"), "{err}");

        let err = Config::parse("organ_id = \"000.00 .01\"\nname = \"x\"\n", "c.toml")
            .expect_err("bad id");
        assert!(err.to_string().contains("c.toml"), "{err}");

        let err = Config::parse(
            "organ_id = \"000.00.01.H53\"\nname = \"x\"\n[limits]\nmax_package_size = \"2 GiB\"\n",
            "c.toml",
        )
        .expect_err("too large");
        assert!(err.to_string().contains("max_package_size"), "{err}");

        let err = Config::parse(
            "organ_id = \"000.00.01.H53\"\nname = \"x\"\n[network]\nping_interval = \"0s\"\n",
            "c.toml",
        )
        .expect_err("a connection pinged without pause");
        assert!(err.to_string().contains("network.ping_interval"), "{err}");
    }
}
