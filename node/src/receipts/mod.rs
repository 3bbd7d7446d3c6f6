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

use std::sync::Arc;

use tokio::sync::Notify;

/// The receipt workers' side of the node: what the rest of the node tells them. Cheap to
/// clone.
#[derive(Debug, Clone, Default)]
pub struct ReceiptsHandle {
    /// Wakes the task that hands this agency's receipts to their addressees.
    handover: Arc<Notify>,
    /// Wakes the task that gossips the receipts this agency signs.
    gossip: Arc<Notify>,
}

impl ReceiptsHandle {
    /// This agency signed a receipt for a status its QLVB posted: hand it to its addressee
    /// and gossip it.
    pub(crate) fn issued(&self) {
        self.handover.notify_one();
        self.gossip.notify_one();
    }

    /// This agency signed a receipt 01 for a package that arrived (its sender has it in the
    /// answer): gossip it.
    pub(crate) fn signed_on_arrival(&self) {
        self.gossip.notify_one();
    }
}
