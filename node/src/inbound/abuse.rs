//! Per-peer limits on inbound requests: a token bucket for the rate and a cap on requests
//! in progress. A peer over either is answered `Busy` at once, before its frame is decoded,
//! so one flooding peer costs the node little and cannot slow delivery between the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libp2p::PeerId;

use crate::config::SecurityConfig;

/// Idle peers are forgotten after this long, so the table stays small.
const FORGET_AFTER: Duration = Duration::from_secs(600);

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    in_flight: usize,
}

/// The limiter.
#[derive(Debug)]
pub(crate) struct PeerLimiter {
    rate: f64,
    burst: f64,
    concurrency: usize,
    peers: Mutex<HashMap<PeerId, Bucket>>,
}

/// A request admitted: counts as in progress until dropped.
#[derive(Debug)]
pub(crate) struct Permit {
    limiter: Arc<PeerLimiter>,
    peer: PeerId,
}

impl PeerLimiter {
    /// A limiter with the `[security]` settings.
    pub(crate) fn new(config: &SecurityConfig) -> Self {
        PeerLimiter {
            rate: config.peer_rate,
            burst: f64::from(config.peer_burst),
            concurrency: config.peer_concurrency,
            peers: Mutex::new(HashMap::new()),
        }
    }

    /// Admits a request from `peer` now, or `None` when the peer is over its rate or has too
    /// many requests in progress.
    pub(crate) fn admit(self: &Arc<Self>, peer: PeerId) -> Option<Permit> {
        self.admit_at(peer, Instant::now())
    }

    fn admit_at(self: &Arc<Self>, peer: PeerId, now: Instant) -> Option<Permit> {
        let mut peers = self.peers.lock().ok()?;
        if peers.len() > 4096 {
            peers.retain(|_, b| b.in_flight > 0 || now.duration_since(b.last) < FORGET_AFTER);
        }
        let bucket = peers.entry(peer).or_insert(Bucket {
            tokens: self.burst,
            last: now,
            in_flight: 0,
        });
        let elapsed = now.duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.last = now;
        if bucket.tokens < 1.0 || bucket.in_flight >= self.concurrency {
            return None;
        }
        bucket.tokens -= 1.0;
        bucket.in_flight += 1;
        Some(Permit {
            limiter: self.clone(),
            peer,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Ok(mut peers) = self.limiter.peers.lock()
            && let Some(bucket) = peers.get_mut(&self.peer)
        {
            bucket.in_flight = bucket.in_flight.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: f64, burst: u32, concurrency: usize) -> Arc<PeerLimiter> {
        Arc::new(PeerLimiter::new(&SecurityConfig {
            peer_rate: rate,
            peer_burst: burst,
            peer_concurrency: concurrency,
            ..SecurityConfig::default()
        }))
    }

    #[test]
    fn a_burst_then_the_rate() {
        let l = limiter(10.0, 5, 100);
        let peer = PeerId::random();
        let t0 = Instant::now();
        let permits: Vec<_> = (0..5).filter_map(|_| l.admit_at(peer, t0)).collect();
        assert_eq!(permits.len(), 5);
        assert!(l.admit_at(peer, t0).is_none(), "the burst is spent");
        assert!(
            l.admit_at(peer, t0 + Duration::from_millis(100)).is_some(),
            "one more after 1/rate"
        );
        assert!(
            l.admit_at(PeerId::random(), t0).is_some(),
            "other peers are not affected"
        );
    }

    #[test]
    fn requests_in_progress_are_capped_until_released() {
        let l = limiter(1000.0, 1000, 2);
        let peer = PeerId::random();
        let t0 = Instant::now();
        let a = l.admit_at(peer, t0).expect("first");
        let _b = l.admit_at(peer, t0).expect("second");
        assert!(l.admit_at(peer, t0).is_none(), "two in progress");
        drop(a);
        assert!(l.admit_at(peer, t0).is_some(), "a slot is free again");
    }
}
