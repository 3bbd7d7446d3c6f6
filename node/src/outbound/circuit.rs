//! The circuit path: a connection to the recipient's node through each relay it names
//! (circuit relay v2), for a unit on another network. The circuit carries the same end-to-end
//! encrypted connection a direct dial would; the network dials it after the direct
//! addresses, so it is the way in only where no direct one works.

use libp2p::PeerId;

use super::path::Path;
use crate::clock;
use crate::network::Routes;
use crate::roster::membership::{Member, Membership};

/// The circuit path; see the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Circuit;

impl Path for Circuit {
    fn name(&self) -> &'static str {
        "circuit"
    }

    fn add_routes(&self, roster: &Membership, member: &Member, local: PeerId, routes: &mut Routes) {
        for relay in roster.relays_of(&member.record.organ_id, clock::now()) {
            // Not through this node itself, nor through the member.
            if relay.peer_id == local || relay.peer_id == member.peer_id {
                continue;
            }
            for address in &relay.addresses {
                routes.relayed.push((relay.peer_id, address.clone()));
            }
        }
    }
}
