//! What `lienthong run` logs when `RUST_LOG` does not say otherwise: its lifecycle at `info`
//! and whatever an operator must act on at `warn` and `error`; nothing else.
//!
//! lienthong's own events are logged at the level they deserve where they happen. A few
//! libraries log at `warn` conditions that are normal for a federation and that nothing in
//! them lets a node turn off; their targets are lowered here, each with why.

/// The filter of `lienthong run`, in `RUST_LOG` syntax.
pub const RUN: &str = concat!(
    "info",
    // Kademlia's bootstrap, when a listen address appears and every five minutes, warns
    // `No known peers` whenever its routing table is empty: a lone node, and the first of
    // a federation, always. Its only other warning is about the same: no peer to replicate
    // records to. libp2p-kad 0.49 lets the periodic bootstrap be turned off but not the
    // one on a new listen address. The DHT's use (presence records) reports its own
    // outcome.
    ",libp2p_kad::behaviour=error",
    // gossipsub's behaviour logs at `error` a message for a peer that has just left (`peer
    // doesn't exist in connected peer list`, `Subscription by unknown peer`, …): a race
    // every departure can lose. Its `warn`s are a message no longer cached when the node
    // reports on it (lienthong says so at debug), and what lienthong reports itself from
    // gossipsub's events and answers: a slow peer, a publication refused.
    ",libp2p_gossipsub::behaviour=off",
);

#[cfg(test)]
mod tests {
    use tracing::Level;
    use tracing_subscriber::EnvFilter;

    use super::RUN;

    #[test]
    fn the_default_filter_parses_and_shows_nothing_below_info() {
        let filter = EnvFilter::try_new(RUN).expect("a valid filter");
        assert_eq!(filter.max_level_hint(), Some(Level::INFO.into()));
    }
}
