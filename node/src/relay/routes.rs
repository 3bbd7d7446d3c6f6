//! Every way to reach a member: the addresses the roster lists for it, and a circuit
//! through each relay it names. libp2p dials them together and keeps the first connection
//! that opens, which is the direct one wherever the networks allow it.

use crate::clock;
use crate::context::NodeContext;
use crate::membership::{Member, Membership};
use crate::network::NetworkError;

/// Gives the network `member`'s roster addresses and its circuits.
///
/// # Errors
/// [`NetworkError`] when the network has stopped.
pub(crate) async fn add_routes(
    ctx: &NodeContext,
    roster: &Membership,
    member: &Member,
) -> Result<(), NetworkError> {
    if !member.addresses.is_empty() {
        ctx.network
            .add_addresses(member.peer_id, member.addresses.clone())
            .await?;
    }
    let local = ctx.network.local_peer_id();
    for relay in roster.relays_of(&member.record.organ_id, clock::now()) {
        if relay.peer_id == local || relay.peer_id == member.peer_id {
            continue;
        }
        for address in &relay.addresses {
            match ctx
                .network
                .add_relayed_address(member.peer_id, relay.peer_id, address.clone())
                .await
            {
                Ok(()) => {}
                Err(NetworkError::InvalidRelay { .. }) => {
                    tracing::debug!(relay = %relay.record.organ_id, %address, "relay address not usable for a circuit");
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}
