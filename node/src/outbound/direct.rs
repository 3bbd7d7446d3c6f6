//! The direct path: a connection to the recipient's node at the addresses the roster
//! lists for it.

use libp2p::PeerId;

use super::path::Path;
use crate::network::Routes;
use crate::roster::membership::{Member, Membership};

/// The direct path; see the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Direct;

impl Path for Direct {
    fn name(&self) -> &'static str {
        "direct"
    }

    fn add_routes(
        &self,
        _roster: &Membership,
        member: &Member,
        _local: PeerId,
        routes: &mut Routes,
    ) {
        routes.direct.extend(member.addresses.iter().cloned());
    }
}
