//! Provincial relays: units on separate networks, and recipients that are offline.
//!
//! A relay is an ordinary node with `role = "relay"`, reachable from the networks it
//! bridges (the provincial LAN and the tax sector's dedicated line, say). It does two
//! things for the agencies that name it in the roster (its *members*):
//!
//! - **Circuits.** A libp2p circuit relay v2 server (`network::relay`): a member keeps a
//!   reservation on it, and any federation member that cannot dial the member directly
//!   reaches it at `/p2p/RELAY/p2p-circuit/p2p/MEMBER`. The circuit carries the same
//!   end-to-end encrypted connection a direct dial would, so delivery is unchanged.
//! - **A mailbox.** When even a circuit fails (the member is offline), the sender seals the
//!   package to the member's encryption key and deposits it (the mailbox path, `outbound::mailbox`); the relay stores
//!   it durably and signs a hold (`inbound::relay`), then passes it on when the member connects, or
//!   the member pulls it (`inbound::mailbox`). The member's receipt goes back through the relay to
//!   the sender (`forward`).
//!
//! The relay never reads a document: it holds sealed bytes and routes by the sealed
//! package's signed outer header. It never stands in for the recipient either: its hold is
//! not a receipt, and a package is delivered only when the recipient's own receipt 01
//! reaches the sender.

mod forward;

pub use forward::RelayServer;
pub(crate) use forward::{forward, keep_members};
