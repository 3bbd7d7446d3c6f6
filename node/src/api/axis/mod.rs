//! Endpoints shaped like the national axis's (VXP) so that existing QLVB software can point
//! its axis endpoint at its own node.
//!
//! QLVB software built on the axis SDK (SDKVXP) only changes its `service.endpoint` to the
//! node's API, and its `systemid`/`secret` to the node's `[api.axis]` settings. Every call
//! is `POST /<operation>` with the SDK's parameters, and answers in the axis's JSON
//! envelope (`envelope.rs`). `docs/axis-api.md` is the guide for QLVB developers.
//!
//! | Path | File |
//! | --- | --- |
//! | `/sendEdoc` | `send.rs` |
//! | `/getReceivedEdocList` | `received.rs` |
//! | `/getEdoc` | `get.rs` (the status files: `status_file.rs`) |
//! | `/updateStatus` | `update.rs` |
//! | `/getSentEdocList` | `sent.rs` |
//! | `/getAgenciesList`, `/getAgenciesListQD20` | `agencies.rs` |
//!
//! Authentication (`auth.rs`, `hmac.rs`) is the API's bearer token or the SDK's HMAC
//! headers; parameters (`params.rs`) are read from headers, query, multipart fields or a
//! JSON body; times (`time.rs`) are Vietnam time.

mod agencies;
mod auth;
mod envelope;
mod get;
mod hmac;
mod params;
mod received;
mod send;
mod sent;
mod status_file;
mod time;
mod update;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;

use super::ApiState;

/// The axis-compatible routes, with their own authentication (bearer token or the axis's
/// HMAC headers).
pub(super) fn routes(state: ApiState) -> Router<ApiState> {
    let guard = Arc::new(auth::Guard::load(&state));
    Router::new()
        .route("/sendEdoc", post(send::send_edoc))
        .route("/getReceivedEdocList", post(received::list))
        .route("/getEdoc", post(get::get_edoc))
        .route("/updateStatus", post(update::update_status))
        .route("/getSentEdocList", post(sent::list))
        .route("/getAgenciesList", post(agencies::list))
        .route("/getAgenciesListQD20", post(agencies::list))
        .route_layer(axum::middleware::from_fn_with_state(guard, auth::check))
}
