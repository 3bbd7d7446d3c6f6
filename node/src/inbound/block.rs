//! Blocking a peer that misbehaves: garbage on the wire, a frame no honest peer sends.

use std::time::Duration;

use libp2p::PeerId;
use tracing::{debug, warn};

use crate::context::NodeContext;

/// How long a refused peer keeps its connection before it is blocked, so that the answer
/// saying why reaches it.
const BLOCK_AFTER: Duration = Duration::from_millis(500);

/// Disconnects and refuses a misbehaving peer for `security.garbage_ban`, once the answer
/// to its last request has had time to leave.
pub(crate) async fn block_peer(ctx: &NodeContext, peer: PeerId, why: &str) {
    let ban = ctx.config.security.garbage_ban;
    warn!(target: "lienthong::events::blocked", peer = %peer, why, ban = ?ban, "peer blocked");
    tokio::time::sleep(BLOCK_AFTER).await;
    match ctx.network.block(peer, ban).await {
        Ok(()) => {
            ctx.metrics.peers_blocked.inc();
        }
        Err(e) => debug!(error = %e, "cannot block a peer"),
    }
}
