//! [`Path`]: one way to carry a package to another agency, as data. The client holds a list
//! of them, in order, and asks each what it does for a given recipient:
//!
//! - A path that reaches the recipient's own node over a libp2p connection gives the
//!   network its **routes** (direct addresses, circuits through relays). The client pushes
//!   every path's routes to the network when the roster changes, and the network dials all
//!   of a peer's routes together and keeps the first connection that opens: so the direct
//!   and circuit paths are tried at once, by one request, and the direct one wins wherever
//!   the networks allow it.
//! - A path that **hands the package over** to an intermediary (a relay's mailbox; the
//!   national axis or official email, the bridges to come) is tried, in order, when no
//!   connection reached the recipient. The intermediary signs that it holds the package;
//!   only the recipient's own receipt 01 ends the delivery.

use futures::future::BoxFuture;
use libp2p::PeerId;
use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::SignedPackage;
use lienthong_protocol::seal::SignedHold;

use super::Outbound;
use crate::network::Routes;
use crate::roster::membership::{Member, Membership};

/// Why a path that hands packages over did not take one.
#[derive(Debug)]
pub(crate) enum HandOverError {
    /// An intermediary that would take it is busy now: come back soon.
    Busy,
    /// Every intermediary failed or refused, or the path has none for this recipient;
    /// why, for the outbox.
    Failed(String),
}

impl From<String> for HandOverError {
    fn from(problem: String) -> Self {
        HandOverError::Failed(problem)
    }
}

impl From<&str> for HandOverError {
    fn from(problem: &str) -> Self {
        HandOverError::Failed(problem.to_owned())
    }
}

/// One way to carry a package to an agency; see the module docs.
pub(crate) trait Path: Send + Sync + std::fmt::Debug {
    /// The path's name, for logs: `direct`, `circuit`, `mailbox`.
    fn name(&self) -> &'static str;

    /// Whether this path may carry anything to `recipient` at all. Each recipient gets the
    /// paths that serve it, in the client's order.
    fn serves(&self, _roster: &Membership, _recipient: &OrganId) -> bool {
        true
    }

    /// Adds to `routes` the network routes to `member`'s own node this path opens, as the
    /// roster says; `local` is this node. A path that hands packages over opens none.
    fn add_routes(
        &self,
        _roster: &Membership,
        _member: &Member,
        _local: PeerId,
        _routes: &mut Routes,
    ) {
    }

    /// Whether this path hands packages over to an intermediary (see
    /// [`hand_over`](Self::hand_over)).
    fn hands_over(&self) -> bool {
        false
    }

    /// Hands `package` to an intermediary that holds it for `recipient`, and returns the
    /// intermediary's signed hold.
    ///
    /// # Errors
    /// [`HandOverError`]; a path that hands nothing over always fails.
    fn hand_over<'a>(
        &'a self,
        _client: &'a Outbound,
        _package: &'a SignedPackage,
        _recipient: &'a OrganId,
    ) -> BoxFuture<'a, Result<SignedHold, HandOverError>> {
        let name = self.name();
        Box::pin(async move {
            Err(HandOverError::Failed(format!(
                "the {name} path hands nothing over"
            )))
        })
    }
}
