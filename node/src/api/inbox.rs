//! `GET /api/v1/inbox`, `POST /api/v1/inbox/{id}/ack`: what QLVB pulls and acknowledges.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::error::ApiError;
use super::packages::parse_id;
use crate::clock;
use crate::store::{AckOutcome, InboxEntry};

#[derive(Debug, Deserialize)]
pub(super) struct InboxQuery {
    /// Include packages QLVB has acknowledged.
    #[serde(default)]
    all: bool,
}

pub(super) async fn list(State(state): State<ApiState>, Query(query): Query<InboxQuery>) -> Result<Json<Vec<InboxEntry>>, ApiError> {
    let store = state.ctx.store.clone();
    let entries = tokio::task::spawn_blocking(move || store.inbox(query.all))
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(Json(entries))
}

#[derive(Debug, Serialize)]
pub(super) struct Acked {
    package_id: String,
    /// `false` when it had been acknowledged before (acknowledging is idempotent).
    newly_acked: bool,
}

pub(super) async fn ack(State(state): State<ApiState>, Path(id): Path<String>) -> Result<Json<Acked>, ApiError> {
    let package_id = parse_id(&id)?;
    let store = state.ctx.store.clone();
    let outcome = tokio::task::spawn_blocking(move || store.ack(&package_id, clock::now()))
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    match outcome {
        AckOutcome::Acked => Ok(Json(Acked { package_id: id, newly_acked: true })),
        AckOutcome::AlreadyAcked => Ok(Json(Acked { package_id: id, newly_acked: false })),
        AckOutcome::Unknown => Err(ApiError::not_found(format!("no received package {id} on this node"))),
    }
}
