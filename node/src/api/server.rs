//! Serving the API over HTTP/1.1 on its listener.
//!
//! axum's own `serve` keeps a keep-alive connection for as long as the client does. The
//! axis SDK opens a new connection for every call and never closes one
//! (`vxp-sdk-wire.md` §2.5), so a QLVB polling all day would leave the node holding a
//! descriptor per call, until it could open no file. Here a connection that sends no
//! request head for [`IDLE_TIMEOUT`] is closed: an idle keep-alive one, or one that
//! trickles its headers.
//!
//! The API holds at most its share of the node's descriptors (`descriptors::Budget`). When
//! every slot is taken it stops accepting until a connection closes: the next clients wait
//! in the kernel's backlog, and are served in turn, instead of being accepted and failed.
//! Either condition (slots full, accepting failing) is logged once a minute at most.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;
use tracing::{debug, warn};

use super::axis;
use crate::ops::throttle::Throttle;
use crate::tasks::{Stage, Tasks};

/// How long a connection may go without a complete request head.
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long accepting pauses after an error such as running out of descriptors, rather
/// than spinning on it.
const ACCEPT_PAUSE: Duration = Duration::from_secs(1);

/// Serves `router` on `listener`, at most `max_connections` at once, until the API stage of
/// `tasks` stops, then lets requests in progress finish. Each connection is a task of
/// that stage.
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    max_connections: usize,
    tasks: &Tasks,
) -> std::io::Result<()> {
    let shutdown = tasks.token(Stage::Api);
    // The SDK's endpoint may carry a path of its own: point `<prefix>/<call>` at the call
    // before routing, which a layer on the router would be too late for.
    let app = router.map_request(axis::normalize_path::<Incoming>);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(IDLE_TIMEOUT);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut full = Throttle::default();
    let mut failing = Throttle::default();
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if let Some(times) = full.note(Instant::now()) {
                    warn!(
                        max_connections,
                        times,
                        "the API holds as many connections as it may; new ones wait until one closes"
                    );
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = shutdown.cancelled() => break,
                }
            }
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) if is_connection_error(&error) => continue,
                Err(error) => {
                    if let Some(errors) = failing.note(Instant::now()) {
                        warn!(%error, errors, "the API cannot accept connections; pausing");
                    }
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tasks.spawn(Stage::Api, "api connection", async move {
            if let Err(error) = connection.await {
                debug!(%error, "API connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Errors of one connection, not of the listener.
fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    )
}
