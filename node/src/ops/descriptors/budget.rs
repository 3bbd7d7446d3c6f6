//! How many connections of each kind a node holds at once, derived from how many files it
//! may open.
//!
//! A reserve ([`RESERVED`]) is kept for what is not a connection; the rest is shared out in
//! sixteenths:
//!
//! | share | for |
//! |---|---|
//! | 2/16 | API connections (QLVB, the CLI, the dashboard) |
//! | 1/16 | inbound handshakes in progress (a quarter of them per source address) |
//! | 6/16 | established inbound connections (members, with a roster) |
//! | 2/16 | outbound dials in progress, each up to [`DIAL_CONCURRENCY`] sockets |
//! | 3/16 | established outbound connections (deliveries, receipts, relays) |
//! | 2/16 | slack: files the store opens in bursts, a connection being refused |
//!
//! Each share has a floor, so a node with very few files still works a little, and a cap,
//! so a node with a million does not hold a million handshakes. Per peer it is always
//! [`DEFAULT_MAX_PER_PEER`].

use crate::network::{
    ConnectionLimits, DEFAULT_MAX_ESTABLISHED, DEFAULT_MAX_PENDING_INBOUND, DEFAULT_MAX_PER_PEER,
    DIAL_CONCURRENCY,
};

/// Descriptors no connection may take: the store (sled's files, package files being written
/// and read, backups), the logs, the listeners, the runtime's own, mDNS, roster files.
pub const RESERVED: u64 = 128;

/// Below this many open files the shares' floors add up to more than the node has; the node
/// says so at start.
pub const MIN_OPEN_FILES: u64 = 256;

/// The most API connections held at once, however many files the node may open.
const MAX_API_CONNECTIONS: u32 = 1024;

/// How a node's open files are shared out among its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The open-file limit the budget was derived from.
    pub open_files: u64,
    /// HTTP API connections served at once; more wait in the kernel's backlog.
    pub api_connections: u32,
    /// Peer connections.
    pub network: ConnectionLimits,
}

impl Budget {
    /// The budget of a node that may have `open_files` files open.
    pub fn for_open_files(open_files: u64) -> Budget {
        let spare = open_files.saturating_sub(RESERVED);
        let share = |sixteenths: u64, floor: u32, cap: u32| -> u32 {
            let share = spare.saturating_mul(sixteenths) / 16;
            u32::try_from(share).unwrap_or(u32::MAX).clamp(floor, cap)
        };
        let pending_inbound = share(1, 4, DEFAULT_MAX_PENDING_INBOUND);
        let dial_sockets = share(
            2,
            u32::from(DIAL_CONCURRENCY),
            DEFAULT_MAX_PENDING_INBOUND.saturating_mul(u32::from(DIAL_CONCURRENCY)),
        );
        Budget {
            open_files,
            api_connections: share(2, 4, MAX_API_CONNECTIONS),
            network: ConnectionLimits {
                pending_inbound,
                pending_inbound_per_address: (pending_inbound / 4).max(1),
                established_inbound: share(6, 8, DEFAULT_MAX_ESTABLISHED),
                pending_outbound: dial_sockets / u32::from(DIAL_CONCURRENCY),
                established_outbound: share(3, 8, DEFAULT_MAX_ESTABLISHED),
                per_peer: DEFAULT_MAX_PER_PEER,
            },
        }
    }

    /// The most descriptors the connections can hold at once, every dial trying every
    /// address it may at once.
    pub fn connection_descriptors(&self) -> u64 {
        let n = &self.network;
        [
            self.api_connections,
            n.pending_inbound,
            n.established_inbound,
            n.pending_outbound
                .saturating_mul(u32::from(DIAL_CONCURRENCY)),
            n.established_outbound,
        ]
        .into_iter()
        .map(u64::from)
        .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_soft_limit_of_1024_is_shared_out_in_sixteenths() {
        let budget = Budget::for_open_files(1024);
        // 1024 - 128 reserved = 896 = 16 × 56.
        assert_eq!(
            budget,
            Budget {
                open_files: 1024,
                api_connections: 112,
                network: ConnectionLimits {
                    pending_inbound: 56,
                    pending_inbound_per_address: 14,
                    established_inbound: 336,
                    pending_outbound: 14,
                    established_outbound: 168,
                    per_peer: 8,
                },
            }
        );
    }

    #[test]
    fn connections_never_reach_the_reserve() {
        for open_files in [
            MIN_OPEN_FILES,
            300,
            512,
            1024,
            4096,
            16_384,
            65_536,
            1 << 20,
            u64::MAX,
        ] {
            let budget = Budget::for_open_files(open_files);
            assert!(
                budget.connection_descriptors() + RESERVED <= open_files,
                "{open_files}: {budget:?}"
            );
            assert_eq!(budget.network.zero(), None, "{open_files}: {budget:?}");
        }
    }

    #[test]
    fn more_files_never_mean_fewer_connections() {
        let mut previous = Budget::for_open_files(0);
        for open_files in (0..70_000).step_by(97) {
            let budget = Budget::for_open_files(open_files);
            let (a, b) = (&previous.network, &budget.network);
            assert!(budget.api_connections >= previous.api_connections);
            assert!(b.pending_inbound >= a.pending_inbound);
            assert!(b.pending_inbound_per_address >= a.pending_inbound_per_address);
            assert!(b.established_inbound >= a.established_inbound);
            assert!(b.pending_outbound >= a.pending_outbound);
            assert!(b.established_outbound >= a.established_outbound);
            previous = budget;
        }
    }

    #[test]
    fn a_large_server_gets_the_caps_and_keeps_the_rest_for_the_store() {
        let budget = Budget::for_open_files(1 << 20);
        assert_eq!(budget.api_connections, MAX_API_CONNECTIONS);
        assert_eq!(budget.network, ConnectionLimits::default());
        // The shipped unit's LimitNOFILE=65536 is enough for a relay of thousands.
        let unit = Budget::for_open_files(65_536);
        assert_eq!(unit.network.established_inbound, DEFAULT_MAX_ESTABLISHED);
    }

    #[test]
    fn a_node_with_almost_no_files_still_gets_one_of_each() {
        let budget = Budget::for_open_files(16);
        assert_eq!(budget.network.zero(), None);
        assert!(budget.api_connections >= 1);
    }
}
