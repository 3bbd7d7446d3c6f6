//! Receipts: what a node takes from others (`apply`), what it signs for the status
//! messages its QLVB posts (`issue`), how those reach their addressee (`deliver`), how a
//! province watches them (`gossip`), and how two nodes catch up after a partition
//! (`sync`).
//!
//! A receipt is the signed statement; a status message is the edXML QLVB wrote. A status
//! posted by QLVB travels as a package (so the other side's QLVB receives the same edXML
//! it would from the axis) *and* as a receipt (so the sender's node knows, from a
//! signature, where its document stands, and so can every monitoring node).

mod apply;
pub(crate) mod deliver;
pub(crate) mod gossip;
pub(crate) mod index;
pub mod issue;
pub(crate) mod sync;

pub(crate) use apply::{apply, check_delivery_receipt};
