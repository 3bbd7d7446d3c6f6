//! This node as its agency's own client of a national or provincial axis (VXP), speaking
//! exactly as the axis's Java SDK does (`shared/domain/vxp-sdk-wire.md`; signing in
//! `lienthong_protocol::axis_wire`), so that agencies not yet on lienthong are not cut off
//! (`docs/axis-bridge.md`).
//!
//! - [`bridge`]: the client from `[axis]`, the directory kept fresh, each recipient's
//!   route (federation or axis).
//! - `client.rs`: [`AxisClient`], one typed method per call, a fresh timestamp each.
//! - `answers.rs`: the axis's answers, read by the keys the SDK reads (§4.2).
//! - `send.rs`: [`send_once`], a package to one recipient exactly once across crashes
//!   (its start and DocId in the store, a lost answer looked for in `getSentEdocList`).
//! - `crash.rs`: the crash points of the kill -9 tests (`LIENTHONG_CRASH_AT`).
//! - `error.rs`: [`AxisError`]: unreachable (retry later), refused by the axis (its text),
//!   or an answer that does not read.

mod answers;
pub mod bridge;
mod client;
pub(crate) mod crash;
mod error;
mod send;

pub use answers::{DirectoryEntry, ReceivedItem, SentItem};
pub use client::{AxisClient, MessageType};
pub use error::AxisError;
pub use send::{AxisDocument, AxisSendError, send_once};
