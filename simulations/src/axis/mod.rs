//! A test axis: a multi-agency server of the national axis's API as its Java SDK speaks
//! it (`shared/domain/vxp-sdk-wire.md`), for tests and simulations of the transition, when
//! agencies on lienthong still exchange with agencies that only have the axis.
//!
//! Each agency has its own `systemid` and secret. A `sendEdoc` is queued once per
//! recipient, each copy under its own receiver DocId, until that recipient says
//! `updateStatus done`; the sender follows it by `getSentEdocList`. Documents and statuses
//! (`messagetype` `edoc` / `status`) travel alike.
//!
//! Switches, flipped at run time through `PUT /admin/switches` (or [`TestAxis::switches`]),
//! make it misbehave: `slow` (a delay before every answer), `fail` (a FAIL envelope with a
//! given text, for every call or some), `down` (a gateway's HTML 502 for every call). The
//! admin paths are never affected. `GET /admin/state` says what is queued and sent, so
//! tests can check that nothing was lost or sent twice.
//!
//! **State is in memory**: a test axis that stops forgets everything. Tests that need an
//! axis "down for an hour" flip `down` instead of stopping it.
//!
//! Run it with `lienthong-sim axis --listen 127.0.0.1:8088 --agencies agencies.toml`, or
//! in-process with [`TestAxis::start`].
//!
//! # Layout
//! - `agencies.rs`: the agencies file; `state.rs`: the queues; `server.rs`: the HTTP
//!   calls and their checks; `switches.rs`: the misbehaviour switches.

mod agencies;
mod server;
mod state;
mod switches;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;

pub use agencies::{AxisAgency, load_agencies};
pub use state::{AxisState, SentCopy, StateSummary};
pub use switches::{FailSwitch, Switches};

/// What the server shares between its calls.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) agencies: Vec<AxisAgency>,
    pub(crate) state: Mutex<AxisState>,
    pub(crate) switches: Mutex<Switches>,
}

/// A running test axis, on its own thread; stopped when dropped.
#[derive(Debug)]
pub struct TestAxis {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestAxis {
    /// Starts a test axis on `listen` (port 0 for any) serving `agencies`.
    ///
    /// # Errors
    /// The address cannot be bound, or the runtime cannot start.
    pub fn start(listen: SocketAddr, agencies: Vec<AxisAgency>) -> anyhow::Result<TestAxis> {
        let shared = Arc::new(Shared {
            agencies,
            state: Mutex::new(AxisState::default()),
            switches: Mutex::new(Switches::default()),
        });
        let listener =
            std::net::TcpListener::bind(listen).with_context(|| format!("binding {listen}"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = shared.clone();
        let thread = std::thread::Builder::new()
            .name("test-axis".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let app = server::router(served);
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })?;
        Ok(TestAxis {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its endpoint, as `service.endpoint` or a node's `[axis] endpoint` names it.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets the misbehaviour switches.
    pub fn set_switches(&self, switches: Switches) {
        *lock(&self.shared.switches) = switches;
    }

    /// The switches as they stand.
    pub fn switches(&self) -> Switches {
        lock(&self.shared.switches).clone()
    }

    /// What is queued and sent, now.
    pub fn summary(&self) -> StateSummary {
        lock(&self.shared.state).summary()
    }

    /// Every copy sent so far, for assertions.
    pub fn copies(&self) -> Vec<SentCopy> {
        lock(&self.shared.state).copies()
    }
}

impl Drop for TestAxis {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Locks `mutex`, whatever a panicking holder left: the state stays usable for reports.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `lienthong-sim axis`: serves until interrupted.
///
/// # Errors
/// The agencies file does not read or the address cannot be bound.
pub fn serve_forever(listen: SocketAddr, agencies_file: &std::path::Path) -> anyhow::Result<()> {
    let agencies = load_agencies(agencies_file)?;
    let count = agencies.len();
    let axis = TestAxis::start(listen, agencies)?;
    println!(
        "test axis on {} for {count} agencies; switches: PUT {}/admin/switches",
        axis.endpoint(),
        axis.endpoint()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    drop(axis);
    Ok(())
}
