//! Which deliveries are due: a sans-IO scheduler the delivery engine drives.
//!
//! Keeping the decisions here, without clocks, sockets or storage, lets them be tested
//! step by step: what is due at a time, what is already in flight, what a reconnecting
//! recipient wakes up.
//!
//! # One probe per unreachable recipient
//!
//! When a unit is offline (a power cut, a network moved) and has no relay to hold its
//! packages, every package waiting for it would otherwise be tried on its own backoff:
//! a dial, a DHT lookup and a store write for each, again and again, so a burst to one
//! offline unit costs a hundred failures per round and slows everything else the node
//! does. Instead, once an attempt finds a recipient unreachable
//! ([`unreachable`](Scheduler::unreachable)), its other deliveries wait behind that
//! attempt's backoff: when it runs out, one of them goes first as a probe while the rest
//! stay planned; if the probe fails, they wait for the next one, and as soon as any
//! attempt reaches the recipient ([`reachable`](Scheduler::reachable)), or it connects,
//! they all go at once. Deliveries waiting this way keep their stored state (attempts,
//! last error); the engine tells the recipient's problem apart, for the status API.

use std::collections::{BTreeSet, HashMap, HashSet};

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::{PackageId, Timestamp};

/// One recipient's copy of one package.
pub type DeliveryKey = (PackageId, OrganId);

/// Due times of pending deliveries, and which are being attempted now.
#[derive(Debug, Default)]
pub struct Scheduler {
    due: BTreeSet<(Timestamp, DeliveryKey)>,
    when: HashMap<DeliveryKey, Timestamp>,
    in_flight: HashSet<DeliveryKey>,
    by_recipient: HashMap<OrganId, HashSet<PackageId>>,
    /// Recipients found unreachable, and until when their deliveries wait (see "One
    /// probe per unreachable recipient"). While a probe runs, until its window ends.
    unreachable: HashMap<OrganId, Timestamp>,
}

/// How long a probe keeps the other deliveries to its recipient waiting if its outcome
/// never comes; an attempt always ends well before (its requests have timeouts), so this
/// only bounds the wait should one be lost.
const PROBE_WINDOW_MS: u64 = 10 * 60 * 1000;

impl Scheduler {
    /// An empty scheduler.
    pub fn new() -> Self {
        Scheduler::default()
    }

    /// Plans an attempt at `at`, replacing any earlier plan. A delivery in flight is
    /// planned for after it finishes.
    pub fn schedule(&mut self, key: DeliveryKey, at: Timestamp) {
        if let Some(old) = self.when.insert(key.clone(), at) {
            self.due.remove(&(old, key.clone()));
        }
        self.by_recipient
            .entry(key.1.clone())
            .or_default()
            .insert(key.0);
        self.due.insert((at, key));
    }

    /// Forgets a delivery that is finished (delivered or rejected for good).
    pub fn remove(&mut self, key: &DeliveryKey) {
        if let Some(at) = self.when.remove(key) {
            self.due.remove(&(at, key.clone()));
        }
        self.in_flight.remove(key);
        if let Some(set) = self.by_recipient.get_mut(&key.1) {
            set.remove(&key.0);
            if set.is_empty() {
                self.by_recipient.remove(&key.1);
                // Nothing waits for it any more: a new package is tried at once.
                self.unreachable.remove(&key.1);
            }
        }
    }

    /// Takes up to `limit` deliveries due at or before `now` that are not in flight, and
    /// marks them in flight. Oldest due first. A delivery to an unreachable recipient is
    /// taken only as its probe, once the recipient's wait is over; the others are planned
    /// for the end of that wait.
    pub fn take_due(&mut self, now: Timestamp, limit: usize) -> Vec<DeliveryKey> {
        let mut taken = Vec::new();
        while taken.len() < limit {
            let Some((at, key)) = self.due.first().cloned() else {
                break;
            };
            if at > now {
                break;
            }
            if let Some(until) = self.unreachable.get_mut(&key.1) {
                if *until > now {
                    // Planned later than `now`, so the loop does not meet it again.
                    let until = *until;
                    self.schedule(key, until);
                    continue;
                }
                *until = Timestamp::from_millis(now.as_millis().saturating_add(PROBE_WINDOW_MS));
            }
            self.due.remove(&(at, key.clone()));
            self.when.remove(&key);
            self.in_flight.insert(key.clone());
            taken.push(key);
        }
        taken
    }

    /// An attempt found `recipient` unreachable and plans its next try at `until`: every
    /// other delivery to it waits until then too, and then one goes first as a probe.
    /// Nothing is noted when no delivery to it is known.
    pub fn unreachable(&mut self, recipient: &OrganId, until: Timestamp) {
        let Some(packages) = self.by_recipient.get(recipient).cloned() else {
            return;
        };
        self.unreachable.insert(recipient.clone(), until);
        for package in packages {
            let key = (package, recipient.clone());
            // Later plans too: those that waited for a probe's window, and those whose own
            // backoff runs longer, which would only be put off again when their time came.
            if let Some(at) = self.when.get(&key).copied()
                && at != until
            {
                self.schedule(key, until);
            }
        }
    }

    /// An attempt reached `recipient` (whatever it answered): deliveries that waited
    /// behind its probe go now. Returns how many moved.
    pub fn reachable(&mut self, recipient: &OrganId, now: Timestamp) -> usize {
        if self.unreachable.remove(recipient).is_none() {
            return 0;
        }
        self.wake(recipient, now)
    }

    /// Whether deliveries to `recipient` wait behind a probe.
    pub fn is_unreachable(&self, recipient: &OrganId) -> bool {
        self.unreachable.contains_key(recipient)
    }

    /// Marks an attempt finished; the engine then schedules a retry or removes the key.
    pub fn finished(&mut self, key: &DeliveryKey) {
        self.in_flight.remove(key);
    }

    /// The earliest planned attempt.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.due.first().map(|(at, _)| *at)
    }

    /// Brings every waiting delivery to `recipient` forward to `now`: it just became
    /// reachable, so waiting out a backoff would only add delay. Returns how many moved.
    pub fn wake(&mut self, recipient: &OrganId, now: Timestamp) -> usize {
        self.unreachable.remove(recipient);
        let Some(packages) = self.by_recipient.get(recipient).cloned() else {
            return 0;
        };
        let mut moved = 0;
        for package in packages {
            let key = (package, recipient.clone());
            if let Some(at) = self.when.get(&key).copied()
                && at > now
            {
                self.schedule(key, now);
                moved += 1;
            }
        }
        moved
    }

    /// Whether an attempt for `key` is running.
    pub fn is_in_flight(&self, key: &DeliveryKey) -> bool {
        self.in_flight.contains(key)
    }

    /// Attempts running now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Deliveries known (planned or in flight).
    pub fn len(&self) -> usize {
        self.when.len() + self.in_flight.len()
    }

    /// Whether nothing is planned or in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8, to: &str) -> DeliveryKey {
        (PackageId::from_bytes([n; 32]), to.parse().expect("id"))
    }

    fn t(ms: u64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn due_deliveries_come_out_oldest_first_and_once() {
        let mut s = Scheduler::new();
        s.schedule(key(1, "000.00.01.H53"), t(30));
        s.schedule(key(2, "000.00.01.H53"), t(10));
        s.schedule(key(3, "000.00.02.H53"), t(20));
        assert_eq!(s.next_due(), Some(t(10)));
        assert_eq!(s.take_due(t(5), 10), vec![]);
        let due = s.take_due(t(25), 10);
        assert_eq!(due, vec![key(2, "000.00.01.H53"), key(3, "000.00.02.H53")]);
        assert!(s.is_in_flight(&due[0]));
        assert_eq!(
            s.take_due(t(25), 10),
            vec![],
            "in-flight deliveries are not handed out twice"
        );
        assert_eq!(s.in_flight(), 2);
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn the_limit_bounds_what_is_taken() {
        let mut s = Scheduler::new();
        for n in 0..10 {
            s.schedule(key(n, "000.00.01.H53"), t(u64::from(n)));
        }
        assert_eq!(s.take_due(t(100), 3).len(), 3);
        assert_eq!(s.take_due(t(100), 100).len(), 7);
    }

    #[test]
    fn rescheduling_replaces_the_old_time() {
        let mut s = Scheduler::new();
        let k = key(1, "000.00.01.H53");
        s.schedule(k.clone(), t(10));
        s.schedule(k.clone(), t(50));
        assert_eq!(s.take_due(t(20), 10), vec![]);
        assert_eq!(s.take_due(t(50), 10), vec![k]);
    }

    #[test]
    fn a_reconnecting_recipient_is_retried_at_once() {
        let mut s = Scheduler::new();
        s.schedule(key(1, "000.00.01.H53"), t(1_000));
        s.schedule(key(2, "000.00.01.H53"), t(2_000));
        s.schedule(key(3, "000.00.02.H53"), t(1_000));
        assert_eq!(s.wake(&"000.00.01.H53".parse().expect("id"), t(100)), 2);
        let due = s.take_due(t(100), 10);
        assert_eq!(due.len(), 2);
        assert!(due.iter().all(|(_, to)| to.as_str() == "000.00.01.H53"));
    }

    #[test]
    fn deliveries_to_an_unreachable_recipient_wait_behind_one_probe() {
        let mut s = Scheduler::new();
        let to: OrganId = "000.00.01.H53".parse().expect("id");
        for n in 1..=3 {
            s.schedule(key(n, to.as_str()), t(0));
        }
        s.schedule(key(9, "000.00.02.H53"), t(0));
        // The first attempt to it fails; it is tried again at 1,000.
        let first = s.take_due(t(0), 1);
        assert_eq!(first, vec![key(1, to.as_str())]);
        s.finished(&first[0]);
        s.schedule(first[0].clone(), t(1_000));
        s.unreachable(&to, t(1_000));
        // The others to it wait; the other recipient does not.
        assert_eq!(s.take_due(t(10), 10), vec![key(9, "000.00.02.H53")]);
        assert!(s.take_due(t(999), 10).is_empty());
        // A package submitted meanwhile waits too.
        s.schedule(key(4, to.as_str()), t(500));
        assert!(s.take_due(t(500), 10).is_empty());
        // At 1,000 exactly one goes, as the probe.
        let probe = s.take_due(t(1_000), 10);
        assert_eq!(probe.len(), 1);
        assert!(s.take_due(t(1_500), 10).is_empty(), "one probe at a time");
        // It fails again: the rest wait for the next one.
        s.finished(&probe[0]);
        s.schedule(probe[0].clone(), t(3_000));
        s.unreachable(&to, t(3_000));
        assert!(s.take_due(t(2_999), 10).is_empty());
        let probe = s.take_due(t(3_000), 10);
        assert_eq!(probe.len(), 1);
        // It gets through: every other delivery goes at once.
        s.finished(&probe[0]);
        s.remove(&probe[0]);
        assert_eq!(s.reachable(&to, t(3_100)), 3);
        assert!(!s.is_unreachable(&to));
        assert_eq!(s.take_due(t(3_100), 10).len(), 3);
    }

    #[test]
    fn a_recipient_with_nothing_left_to_wait_is_tried_at_once_again() {
        let mut s = Scheduler::new();
        let k = key(1, "000.00.01.H53");
        s.schedule(k.clone(), t(0));
        let taken = s.take_due(t(0), 1);
        s.finished(&taken[0]);
        s.schedule(k.clone(), t(1_000));
        s.unreachable(&k.1, t(1_000));
        // The delivery ends another way (its receipt came through a relay).
        s.remove(&k);
        assert!(!s.is_unreachable(&k.1));
        s.schedule(key(2, "000.00.01.H53"), t(10));
        assert_eq!(s.take_due(t(10), 10), vec![key(2, "000.00.01.H53")]);
    }

    #[test]
    fn a_connecting_recipient_ends_the_wait() {
        let mut s = Scheduler::new();
        let to: OrganId = "000.00.01.H53".parse().expect("id");
        s.schedule(key(1, to.as_str()), t(0));
        s.schedule(key(2, to.as_str()), t(0));
        s.unreachable(&to, t(60_000));
        assert!(s.take_due(t(10), 10).is_empty());
        assert_eq!(s.wake(&to, t(20)), 2);
        assert_eq!(s.take_due(t(20), 10).len(), 2);
    }

    #[test]
    fn removed_deliveries_are_gone() {
        let mut s = Scheduler::new();
        let k = key(1, "000.00.01.H53");
        s.schedule(k.clone(), t(10));
        let taken = s.take_due(t(10), 1);
        s.finished(&taken[0]);
        s.remove(&k);
        assert!(s.is_empty());
        assert_eq!(s.wake(&k.1, t(0)), 0);
    }
}
