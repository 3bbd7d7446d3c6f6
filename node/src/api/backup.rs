//! `POST /api/v1/backup`: an online backup of the running node's store and data files.
//!
//! The running daemon holds the store's lock, so a backup of a running node goes through
//! it: `lienthong backup` calls this. The body names a new, absolute directory
//! (`{"path": "/var/backups/lienthong/2026-11-21"}`); the answer is the backup's manifest
//! and the files copied, once everything is on disk.

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
use super::store_failure::{DISK_FULL_RETRY_AFTER, causes, is_disk_full};
use crate::ops::backup::{self, BackupError, NodeBackup};

/// The request is a path in JSON: a few hundred bytes.
const REQUEST_LIMIT: usize = 64 * 1024;

pub(super) fn routes() -> Router<ApiState> {
    Router::new().route("/api/v1/backup", post(take))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupRequest {
    /// A new directory, absolute.
    path: PathBuf,
}

async fn take(State(state): State<ApiState>, body: Body) -> Result<Json<NodeBackup>, ApiError> {
    let body = read_limited(body, REQUEST_LIMIT).await?;
    let request: BackupRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be JSON {{\"path\": \"/absolute/new/directory\"}}: {e}"
        ))
    })?;
    let ctx = state.ctx.clone();
    let done = tokio::task::spawn_blocking(move || {
        backup::backup(ctx.keeper.data_dir(), Some(&ctx.store), &request.path)
    })
    .await?;
    done.map(Json).map_err(|error| {
        let message = error.to_string();
        match error {
            BackupError::NotAbsolute(_) => ApiError::bad_request(message),
            BackupError::Exists(_) => ApiError::new(StatusCode::CONFLICT, "exists", message),
            BackupError::Store(error) => ApiError::store(&error, "the backup failed"),
            BackupError::Io { ref source, .. } if is_disk_full(source.kind()) => ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "insufficient_storage",
                format!(
                    "the backup failed: no space left on device where it is written ({})",
                    causes(&error)
                ),
            )
            .with_retry_after(DISK_FULL_RETRY_AFTER),
            _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "backup_failed", message),
        }
    })
}
