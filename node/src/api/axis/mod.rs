//! Endpoints shaped like the national axis's (VXP) so that existing QLVB software can point
//! its axis endpoint at its own node.

use axum::Router;

use super::ApiState;

/// The axis-compatible routes, with their own authentication (bearer token or the axis's
/// HMAC headers).
pub(super) fn routes(_state: ApiState) -> Router<ApiState> {
    Router::new()
}
