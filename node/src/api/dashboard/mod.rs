//! The operators' dashboard at `/`: one self-contained page served by the node itself.

use axum::Router;

use super::ApiState;

/// The page itself, which asks for the API token before it shows anything.
pub(super) fn public_routes() -> Router<ApiState> {
    Router::new()
}

/// The data the page shows, behind the API token.
pub(super) fn authed_routes() -> Router<ApiState> {
    Router::new()
}
