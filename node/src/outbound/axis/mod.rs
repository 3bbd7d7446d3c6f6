//! This node as its agency's own client of a national or provincial axis (VXP), speaking
//! exactly as the axis's Java SDK does (`shared/domain/vxp-sdk-wire.md`; signing in
//! `lienthong_protocol::axis_wire`), so that agencies not yet on lienthong are not cut off
//! (`docs/axis-bridge.md`).
//!
//! - `client.rs`: [`AxisClient`], one typed method per call, a fresh timestamp each.
//! - `answers.rs`: the axis's answers, read by the keys the SDK reads (§4.2).
//! - `error.rs`: [`AxisError`]: unreachable (retry later), refused by the axis (its text),
//!   or an answer that does not read.

mod answers;
mod client;
mod error;

pub use answers::{DirectoryEntry, ReceivedItem, SentItem};
pub use client::{AxisClient, MessageType};
pub use error::AxisError;
