//! `GET /api/v1/report`: exchanges per counterpart over a period.

use axum::Router;

use super::ApiState;

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
}
