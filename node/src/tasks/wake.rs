//! [`Wake`]: the one shape of a node's periodic workers. A worker runs a round when its
//! timer ticks, when another part of the node notifies it, when the roster changes or when
//! the network reports an event, and stops at shutdown or when a source it listens to is
//! gone. Each worker says which of these wake it; the loop and the shutdown check are here,
//! once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, broadcast};
use tokio::time::{Instant, Interval};
use tokio_util::sync::CancellationToken;

use crate::network::NetworkEvent;
use crate::roster::membership::MembershipWatch;

/// Why a worker woke.
#[derive(Debug)]
pub(crate) enum Woken {
    /// The first round, asked for by [`Wake::at_start`].
    Start,
    /// The timer ticked.
    Tick,
    /// Another part of the node asked for a round.
    Notified,
    /// The roster changed.
    Roster,
    /// The network reported an event.
    Event(NetworkEvent),
    /// Events were missed (the worker fell behind): what they would have said is unknown.
    Lagged,
}

/// What wakes one worker; see the module docs.
#[derive(Debug)]
pub(crate) struct Wake {
    shutdown: CancellationToken,
    start: bool,
    tick: Option<Interval>,
    notify: Option<Arc<Notify>>,
    roster: Option<MembershipWatch>,
    events: Option<broadcast::Receiver<NetworkEvent>>,
}

impl Wake {
    /// Wakes on nothing yet; ends at `shutdown`.
    pub(crate) fn until(shutdown: CancellationToken) -> Wake {
        Wake {
            shutdown,
            start: false,
            tick: None,
            notify: None,
            roster: None,
            events: None,
        }
    }

    /// Wakes at once, then every `period` (a late tick comes as soon as it can).
    pub(crate) fn every(mut self, period: Duration) -> Wake {
        self.tick = Some(tokio::time::interval(period));
        self
    }

    /// Wakes every `period`, the first time one period from now.
    pub(crate) fn every_after(mut self, period: Duration) -> Wake {
        self.tick = Some(tokio::time::interval_at(Instant::now() + period, period));
        self
    }

    /// Wakes once before waiting for anything.
    pub(crate) fn at_start(mut self) -> Wake {
        self.start = true;
        self
    }

    /// Wakes when `notify` is notified (a notification while the round runs is kept for
    /// the next wait).
    pub(crate) fn on_notify(mut self, notify: Arc<Notify>) -> Wake {
        self.notify = Some(notify);
        self
    }

    /// Wakes when the roster changes; ends when its sender is gone.
    pub(crate) fn on_roster(mut self, roster: MembershipWatch) -> Wake {
        self.roster = Some(roster);
        self
    }

    /// Wakes on every network event; ends when the network has stopped.
    pub(crate) fn on_events(mut self, events: broadcast::Receiver<NetworkEvent>) -> Wake {
        self.events = Some(events);
        self
    }

    /// Waits for the next reason to run a round. `None`: stop (shutdown, or a source is
    /// gone).
    ///
    /// # Cancel safety
    /// Cancel-safe: a notification, a roster change or an event not returned stays for the
    /// next call.
    pub(crate) async fn next(&mut self) -> Option<Woken> {
        if std::mem::take(&mut self.start) {
            return (!self.shutdown.is_cancelled()).then_some(Woken::Start);
        }
        tokio::select! {
            biased;
            () = self.shutdown.cancelled() => None,
            () = tick(self.tick.as_mut()) => Some(Woken::Tick),
            () = notified(self.notify.as_deref()) => Some(Woken::Notified),
            changed = roster_changed(self.roster.as_mut()) => changed.then_some(Woken::Roster),
            event = event(self.events.as_mut()) => event,
        }
    }
}

async fn tick(interval: Option<&mut Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn notified(notify: Option<&Notify>) {
    match notify {
        Some(notify) => notify.notified().await,
        None => std::future::pending().await,
    }
}

async fn roster_changed(roster: Option<&mut MembershipWatch>) -> bool {
    match roster {
        Some(roster) => roster.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}

async fn event(events: Option<&mut broadcast::Receiver<NetworkEvent>>) -> Option<Woken> {
    let Some(events) = events else {
        return std::future::pending().await;
    };
    match events.recv().await {
        Ok(event) => Some(Woken::Event(event)),
        Err(broadcast::error::RecvError::Lagged(_)) => Some(Woken::Lagged),
        Err(broadcast::error::RecvError::Closed) => None,
    }
}
