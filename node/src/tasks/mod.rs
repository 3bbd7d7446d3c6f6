//! Supervision: every task a node runs, in one set, under the node's span, stopped in order.
//!
//! A node runs a few dozen long-lived tasks (the event loop, the delivery engine, the
//! receipt and relay workers, the API) and many short ones (an inbound request's handler, a
//! delivery attempt, a catch-up with one peer). All of them go through [`Tasks::spawn`]:
//!
//! - **One span.** Each task runs in the node's span, so the logs of seven nodes in one
//!   simulation process say which node spoke, whoever spawned the task.
//! - **One set.** [`Tasks::len`] counts what runs; a panic is logged with the task's name
//!   when it is reaped; nothing outlives [`Tasks::shutdown`].
//! - **Stages.** A task belongs to a [`Stage`], and each stage has its own cancellation
//!   token. Shutdown cancels the stages one after the other and waits for each (for at most
//!   its grace) before the next: the API stops taking work first, then the delivery engine
//!   finishes or parks its attempts, then the other workers stop, then inbound requests are
//!   answered, and the network closes last, so that every earlier stage could still use it.
//!   Tasks still running after their stage's grace are aborted and counted.
//!
//! The two helpers every worker uses are here too: `Wake` for loops that run a round on
//! a timer, a notification, a roster change or a network event, and `blocking` for work
//! on the blocking pool (the store's own [`Store::call`](crate::store::Store::call) builds
//! on it).

mod blocking;
mod wake;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::{Id, JoinError, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, Span, debug, warn};

pub use blocking::TaskFailed;
pub(crate) use blocking::blocking;
pub(crate) use wake::{Wake, Woken};

/// When a task stops, relative to the others. Shutdown goes through the stages in the
/// order of [`Stage::ORDER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The local API: stops taking requests first, and lets those in progress finish.
    Api,
    /// The delivery engine and its attempts: attempts in flight finish, or are abandoned
    /// at the end of the grace with their entries still queued in the store (parked).
    Engine,
    /// Every other worker: receipts, relays, roster, presence.
    Work,
    /// Requests from other nodes: answered until here, so that a peer's delivery in
    /// progress gets its receipt.
    Inbound,
    /// The network's event loop and its connections: closes last.
    Network,
}

impl Stage {
    /// The order in which shutdown stops the stages.
    pub const ORDER: [Stage; 5] = [
        Stage::Api,
        Stage::Engine,
        Stage::Work,
        Stage::Inbound,
        Stage::Network,
    ];

    fn index(self) -> usize {
        match self {
            Stage::Api => 0,
            Stage::Engine => 1,
            Stage::Work => 2,
            Stage::Inbound => 3,
            Stage::Network => 4,
        }
    }

    /// How long shutdown waits for the stage's tasks before aborting them. The API and
    /// the engine get the longest: an upload or a delivery in progress is worth finishing,
    /// and an attempt abandoned is only tried again at the next start.
    fn grace(self) -> Duration {
        match self {
            Stage::Api | Stage::Engine => Duration::from_secs(10),
            Stage::Work | Stage::Inbound | Stage::Network => Duration::from_secs(5),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Stage::Api => "api",
            Stage::Engine => "engine",
            Stage::Work => "work",
            Stage::Inbound => "inbound",
            Stage::Network => "network",
        }
    }
}

/// The node's tasks; see the module docs. Cheap to clone: every clone spawns into the same
/// set.
#[derive(Clone)]
pub struct Tasks {
    inner: Arc<Inner>,
}

struct Inner {
    span: Span,
    root: CancellationToken,
    groups: [Group; 5],
    /// Tasks that panicked so far.
    panicked: AtomicUsize,
}

/// One stage's tasks.
struct Group {
    token: CancellationToken,
    set: Mutex<Set>,
}

#[derive(Default)]
struct Set {
    tasks: JoinSet<()>,
    /// Each running task's name, for the log when it panics.
    names: HashMap<Id, &'static str>,
    /// Set once shutdown took the stage's tasks: later spawns are refused.
    closed: bool,
}

impl std::fmt::Debug for Tasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tasks")
            .field("running", &self.len())
            .finish_non_exhaustive()
    }
}

/// What [`Tasks::shutdown`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stopped {
    /// Tasks that did not end within their stage's grace and were aborted.
    pub aborted: usize,
    /// Tasks that panicked, during the node's life or its shutdown.
    pub panicked: usize,
    /// Tasks still in the set afterwards: always 0, counted so that tests can say so.
    pub left: usize,
}

impl Tasks {
    /// An empty set whose tasks run in `span`, with a token per stage under `root`.
    pub fn new(span: Span, root: &CancellationToken) -> Tasks {
        let group = || Group {
            token: root.child_token(),
            set: Mutex::new(Set::default()),
        };
        Tasks {
            inner: Arc::new(Inner {
                span,
                root: root.clone(),
                groups: [group(), group(), group(), group(), group()],
                panicked: AtomicUsize::new(0),
            }),
        }
    }

    /// The token that is cancelled when `stage` is asked to stop (or the whole node).
    pub fn token(&self, stage: Stage) -> CancellationToken {
        self.group(stage).token.clone()
    }

    /// The node's span, which every task runs in.
    pub fn span(&self) -> &Span {
        &self.inner.span
    }

    /// Runs `task` in the node's span as part of `stage`. Refused (the future is dropped,
    /// unpolled) once shutdown has taken the stage's tasks: nothing may start then.
    pub fn spawn<F>(&self, stage: Stage, name: &'static str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let group = self.group(stage);
        let mut set = group.set.lock().unwrap_or_else(PoisonError::into_inner);
        self.reap(&mut set);
        if set.closed {
            debug!(parent: &self.inner.span, task = name, stage = stage.name(), "not started: the node is stopping");
            return;
        }
        let handle = set.tasks.spawn(task.instrument(self.inner.span.clone()));
        set.names.insert(handle.id(), name);
    }

    /// How many tasks are running now, in every stage.
    pub fn len(&self) -> usize {
        self.inner
            .groups
            .iter()
            .map(|group| {
                let mut set = group.set.lock().unwrap_or_else(PoisonError::into_inner);
                self.reap(&mut set);
                set.tasks.len()
            })
            .sum()
    }

    /// Whether no task is running.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops the stages in [`Stage::ORDER`]: cancels each one's token, waits for its tasks
    /// (at most its grace), aborts those left. Returns once every task has ended.
    ///
    /// # Cancel safety
    /// Not cancel-safe: a stage whose tasks were taken is closed; dropping this future
    /// drops (and so aborts) the tasks it was waiting for.
    pub async fn shutdown(&self) -> Stopped {
        let mut stopped = Stopped::default();
        for stage in Stage::ORDER {
            let (tasks, names) = {
                let group = self.group(stage);
                group.token.cancel();
                let mut set = group.set.lock().unwrap_or_else(PoisonError::into_inner);
                set.closed = true;
                (
                    std::mem::take(&mut set.tasks),
                    std::mem::take(&mut set.names),
                )
            };
            self.drain(stage, tasks, names, &mut stopped).await;
        }
        stopped.left = self.len();
        stopped.panicked = self.inner.panicked.load(Ordering::Relaxed);
        stopped
    }

    /// Cancels every stage at once and aborts every task, as when a node is dropped
    /// without shutdown (a crash in a simulation).
    pub fn abort_all(&self) {
        self.inner.root.cancel();
        for group in &self.inner.groups {
            let mut set = group.set.lock().unwrap_or_else(PoisonError::into_inner);
            set.closed = true;
            set.tasks.abort_all();
        }
    }

    fn group(&self, stage: Stage) -> &Group {
        &self.inner.groups[stage.index()]
    }

    /// Takes the results of tasks that ended, logging panics.
    fn reap(&self, set: &mut Set) {
        while let Some(result) = set.tasks.try_join_next_with_id() {
            let id = match &result {
                Ok((id, ())) => *id,
                Err(error) => error.id(),
            };
            let name = set.names.remove(&id).unwrap_or("?");
            if let Err(error) = result {
                self.report(name, &error);
            }
        }
    }

    fn report(&self, name: &'static str, error: &JoinError) {
        if error.is_panic() {
            self.inner.panicked.fetch_add(1, Ordering::Relaxed);
            warn!(parent: &self.inner.span, task = name, %error, "a node task panicked");
        }
    }

    async fn drain(
        &self,
        stage: Stage,
        mut tasks: JoinSet<()>,
        mut names: HashMap<Id, &'static str>,
        stopped: &mut Stopped,
    ) {
        let deadline = tokio::time::Instant::now() + stage.grace();
        loop {
            match tokio::time::timeout_at(deadline, tasks.join_next_with_id()).await {
                Ok(None) => return,
                Ok(Some(result)) => {
                    let id = match &result {
                        Ok((id, ())) => *id,
                        Err(error) => error.id(),
                    };
                    let name = names.remove(&id).unwrap_or("?");
                    if let Err(error) = result {
                        self.report(name, &error);
                    }
                }
                Err(_elapsed) => break,
            }
        }
        let late: Vec<&'static str> = names.values().copied().collect();
        stopped.aborted += tasks.len();
        warn!(parent: &self.inner.span, stage = stage.name(), tasks = ?late, grace = ?stage.grace(), "tasks did not stop in time; aborted");
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests;
