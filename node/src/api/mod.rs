//! The local HTTP API that QLVB software and the `lienthong` CLI use.
//!
//! Bearer-token authentication on everything but `/health`; JSON errors that say what was
//! wrong and where, on every route and whoever answers (`json_errors.rs`); request bodies
//! bounded in size and time (`body.rs`); `POST /api/v1/packages` answers only after the
//! package is durable, and the same again when it is sent again.

mod archive;
mod auth;
mod axis;
mod backup;
mod body;
pub mod dashboard;
mod email;
mod error;
mod evidence;
mod heads;
mod inbox;
mod json_errors;
mod latency;
mod packages;
mod peers;
mod province;
mod receipts;
mod relay;
mod report;
mod server;
mod store_failure;
pub mod submit;
mod time;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tracing::info;

use crate::context::NodeContext;
use crate::outbound::delivery::DeliveryHandle;
use crate::receipts::ReceiptsHandle;
use crate::tasks::Tasks;

pub use error::ApiError;

/// The OpenAPI description of this API, served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// State every handler gets.
#[derive(Debug, Clone)]
pub(crate) struct ApiState {
    pub(crate) ctx: Arc<NodeContext>,
    /// What is being sent, who is unreachable; where submitted entries go.
    pub(crate) delivery: DeliveryHandle,
    /// Wakes the receipt workers when a status is submitted.
    pub(crate) receipts: ReceiptsHandle,
    /// Told when a checkpoint is signed on demand, to have it witnessed.
    pub(crate) evidence: crate::evidence::EvidenceHandle,
    pub(crate) token: Arc<str>,
}

/// The router, without a listener (tests drive it directly).
///
/// The native routes answer errors in their JSON shape, the axis-compatible ones in the
/// axis's envelope; a URI too long is refused before either, in the shape of its route.
pub(crate) fn router(state: ApiState) -> Router {
    let authed = Router::new()
        .route(
            "/api/v1/packages",
            post(packages::submit).get(packages::list),
        )
        .route("/api/v1/packages/{id}", get(packages::content))
        .route("/api/v1/packages/{id}/status", get(packages::status))
        .route("/api/v1/packages/{id}/evidence", get(evidence::bundle))
        .route("/api/v1/inbox", get(inbox::list))
        .route("/api/v1/email/review", get(email::review))
        .route("/api/v1/inbox/{id}/ack", post(inbox::ack))
        .route("/api/v1/peers", get(peers::list))
        .route("/api/v1/relay", get(relay::view))
        .route("/api/v1/stuck", get(receipts::stuck))
        .route("/api/v1/receipts", get(receipts::log))
        .merge(dashboard::authed_routes())
        .merge(report::routes())
        .merge(province::routes())
        .merge(backup::routes())
        .merge(archive::routes())
        .merge(evidence::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    let native = Router::new()
        .route("/health", get(peers::health))
        .route("/metrics", get(peers::metrics))
        .route(
            "/api/v1/openapi.json",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    OPENAPI,
                )
            }),
        )
        .merge(dashboard::public_routes())
        .merge(authed)
        .fallback(json_errors::no_route)
        .layer(axum::middleware::from_fn(json_errors::json_errors));
    native
        .merge(axis::routes(state.clone()))
        .layer(axum::middleware::from_fn(json_errors::uri_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            latency::observe,
        ))
        .with_state(state)
}

/// Serves the API on `listener` until its stage of `tasks` stops, holding at most `max_connections` at once.
pub(crate) async fn serve(
    listener: TcpListener,
    state: ApiState,
    max_connections: usize,
    tasks: &Tasks,
) -> std::io::Result<()> {
    info!(addr = %listener.local_addr()?, max_connections, "API listening");
    server::serve(listener, router(state), max_connections, tasks).await
}
