//! Which deliveries are due: a sans-IO scheduler the delivery engine drives.
//!
//! Keeping the decisions here, without clocks, sockets or storage, lets them be tested
//! step by step: what is due at a time, what is already in flight, what a reconnecting
//! recipient wakes up.

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
}

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
            }
        }
    }

    /// Takes up to `limit` deliveries due at or before `now` that are not in flight, and
    /// marks them in flight. Oldest due first.
    pub fn take_due(&mut self, now: Timestamp, limit: usize) -> Vec<DeliveryKey> {
        let mut taken = Vec::new();
        while taken.len() < limit {
            let Some((at, key)) = self.due.first().cloned() else {
                break;
            };
            if at > now {
                break;
            }
            self.due.remove(&(at, key.clone()));
            self.when.remove(&key);
            self.in_flight.insert(key.clone());
            taken.push(key);
        }
        taken
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
