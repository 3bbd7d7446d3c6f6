//! lienthong-node: the daemon each agency runs, as a library.
//!
//! # Layout
//!
//! The folders follow a document through a node, from its QLVB to receipt 01 back at the
//! sender; the files beside them are the floor every folder stands on.
//!
//! - [`api`]: QLVB in: the local HTTP API (native and axis-shaped), submit, the dashboard.
//! - [`outbound`]: reaching other agencies: the client, its paths (direct, circuit,
//!   mailbox), the delivery engine and its outbox, discovery, presence.
//! - `inbound`: what other nodes bring: one acceptance path, a relay's requests, mailbox
//!   pulls, gossip.
//! - [`receipts`]: who may say what about which package: issuing, handing over, gossip,
//!   catch-up.
//! - [`evidence`]: the evidence log above the store: signed checkpoints, rosters logged.
//! - [`relay`]: the provincial relay's own work: its server state, forwarding.
//! - [`roster`]: membership, roster sync, key rotation, the federation's authority.
//! - [`network`]: the libp2p swarm behind a handle: byte-opaque request/response.
//! - [`store`]: the durable store (sled behind a narrow typed API, group commit).
//! - [`ops`]: for operators: backup, reports, metrics, descriptors, store recovery.
//! - [`tasks`]: every task of a node in one supervised set, stopped in order.
//! - [`node`]: a running node: spawn, handle, shutdown; [`context`]: the floor it shares.
//! - [`demo`]: `lienthong demo`, a small live province in one process.
//! - [`config`], [`identity`], [`clock`], [`data_dir`], [`init`]: settings, the agency key,
//!   the wall clock, the data directory's files, creating one.

#![warn(missing_docs)]

pub mod api;
pub mod clock;
pub mod config;
pub mod context;
pub mod data_dir;
pub mod demo;
pub mod evidence;
pub mod identity;
pub(crate) mod inbound;
pub mod init;
pub mod network;
pub mod node;
pub mod ops;
pub mod outbound;
pub mod receipts;
pub mod relay;
pub mod roster;
pub mod store;
pub mod tasks;
