//! `POST /api/v1/backup`: an online backup of the running node's store.

use axum::Router;

use super::ApiState;

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
}
