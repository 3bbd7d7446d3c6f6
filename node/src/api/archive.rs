//! `POST /api/v1/archive`: a period's archive, written by the running node.
//!
//! The running daemon holds the store's lock and signs checkpoints, so `lienthong archive`
//! calls this. The body names the period and a new, absolute directory
//! (`{"period": "2026-Q3", "path": "/var/archives/lienthong/2026-Q3"}`); the answer is the
//! archive's path and manifest, once everything is on disk (`ops::archive`).

use std::path::PathBuf;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;

use super::ApiState;
use super::body::read_limited;
use super::error::ApiError;
use super::store_failure::DISK_FULL_RETRY_AFTER;
use crate::ops::archive::{self, ArchiveError, Period, Written};

/// The request is a period and a path in JSON: a few hundred bytes.
const REQUEST_LIMIT: usize = 64 * 1024;

pub(super) fn routes() -> Router<ApiState> {
    Router::new().route("/api/v1/archive", post(write))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchiveRequest {
    /// `2026-Q3`, `2026-09` or `2026`.
    period: String,
    /// A new directory, absolute.
    path: PathBuf,
}

async fn write(State(state): State<ApiState>, body: Body) -> Result<Json<Written>, ApiError> {
    let body = read_limited(body, REQUEST_LIMIT).await?;
    let request: ArchiveRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be JSON {{\"period\": \"2026-Q3\", \"path\": \"/absolute/new/directory\"}}: {e}"
        ))
    })?;
    let period: Period = request
        .period
        .parse()
        .map_err(|e: archive::PeriodError| ApiError::bad_request(e.to_string()))?;
    archive::write(&state.ctx, &state.evidence, period, &request.path)
        .await
        .map(Json)
        .map_err(|error| {
            let message = error.to_string();
            match error {
                ArchiveError::NotAbsolute(_) | ArchiveError::NoParent(_) => {
                    ApiError::bad_request(message)
                }
                ArchiveError::Exists(_) => ApiError::new(StatusCode::CONFLICT, "exists", message),
                ArchiveError::NoRoster => {
                    ApiError::new(StatusCode::CONFLICT, "no_roster", message)
                }
                ArchiveError::Store(ref e) => ApiError::store(e, "the archive failed"),
                ref e if e.is_disk_full() => ApiError::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "insufficient_storage",
                    format!("the archive failed: no space left on device where it is written ({message})"),
                )
                .with_retry_after(DISK_FULL_RETRY_AFTER),
                _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "archive_failed", message),
            }
        })
}
