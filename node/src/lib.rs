//! lienthong-node: the daemon each agency runs, as a library.
//!
//! # Layout
//!
//! - [`config`]: `config.toml`, its defaults and documentation.
//! - [`data_dir`]: the files of a node's data directory, written atomically.
//! - [`identity`]: the agency key, which is also the libp2p identity.
//! - [`federation`]: the authority's operations: create a federation, admit nodes.
//! - [`init`]: creating a node's data directory.
//! - [`membership`]: the verified roster, indexed, reloaded when a new one is installed.
//! - [`node`]: a running node: spawn, info, shutdown.
//! - [`context`]: what the parts of a running node share.
//! - [`submit`]: accepting edXML from QLVB: check, sign, store durably.
//! - `inbound`: requests from other nodes: verify, check the roster, store, answer.
//! - `receipts`: who may say what about which package.
//! - [`relay`]: provincial relays: circuits, the sealed mailbox, forwarding receipts.
//! - [`outbound`]: reaching another agency's node: typed calls, typed errors.
//! - [`delivery`]: the outbox, retries and the delivery engine.
//! - [`descriptors`]: the open-file limit, raised at start, and its budget of connections.
//! - [`network`]: the libp2p swarm behind a handle: byte-opaque request/response.
//! - [`store`]: the durable store (sled behind a narrow typed API, group commit).
//! - [`backup`]: backing up and restoring a whole node, store and files.
//! - `presence`: announcing this node to the federation's members.
//! - `discovery`: signed `OrganId → addresses` records in the Kademlia DHT.
//! - `roster_sync`: roster gossip, fetch on connect, the membership allow list.
//! - [`rotation`]: switching to a rotated agency key.
//! - [`metrics`]: counters for `/metrics`.
//! - [`report`]: exchanges per counterpart over a period.
//! - [`api`]: the local HTTP API.
//! - [`tasks`]: every task of a node in one supervised set, stopped in order.
//! - [`clock`]: the wall clock as protocol timestamps.
//! - `throttle`: one log line per period for a condition a flood repeats.

#![warn(missing_docs)]

pub mod api;
pub mod backup;
pub mod clock;
pub mod config;
pub mod context;
pub mod data_dir;
pub mod delivery;
pub mod descriptors;
pub(crate) mod discovery;
pub mod federation;
pub(crate) mod gossip_router;
pub mod identity;
pub(crate) mod inbound;
pub mod init;
pub mod membership;
pub mod metrics;
pub mod network;
pub mod node;
pub mod outbound;
pub(crate) mod presence;
pub mod receipts;
pub mod relay;
pub mod report;
pub(crate) mod roster_sync;
pub mod rotation;
pub mod store;
pub mod store_recovery;
pub mod stuck;
pub mod submit;
pub mod tasks;
pub(crate) mod throttle;
