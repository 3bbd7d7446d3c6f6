//! Endpoints shaped like the national axis's (VXP), answering QLVB software built on the
//! axis's Java SDK (SDKVXP 2.0.x) call for call.
//!
//! A QLVB only changes `service.endpoint`, `systemid` and `secret` in its
//! `collaboration.properties`. The wire protocol is the SDK's as captured from it
//! (`../shared/domain/vxp-sdk-wire.md`): every parameter a signed `XroadVnpt-` header,
//! answers in the axis's JSON envelope. `docs/axis-api.md` is the guide for QLVB
//! developers.
//!
//! | Call | File |
//! | --- | --- |
//! | `sendEdoc` | `send.rs` (its body and `hash-file`: `send_body.rs`) |
//! | `getReceivedEdocList`, `countReceiveEdoc`, `countReceiveStatus` | `received.rs` |
//! | `getEdoc`, `downloadEdoc` | `get.rs` (status files: `status_file.rs`) |
//! | `updateStatus` | `update.rs` |
//! | `getSentEdocList` | `sent.rs` |
//! | `getAgenciesList`, `getAgenciesListQD20`, `getSynchronizeUnit` | `agencies.rs` |
//! | `registerAgency`, `deleteAgency` | `membership.rs` (refused: the roster decides) |
//!
//! Authentication (`auth.rs`, `signature.rs`) is the SDK's signature or the API's bearer
//! token; parameters (`params.rs`) come from what the SDK signed, or for a token client
//! from headers, query or body; answers (`envelope.rs`) are the axis's; times (`time.rs`)
//! are Vietnam time.

mod agencies;
mod auth;
mod envelope;
mod get;
mod membership;
mod params;
mod received;
mod send;
mod send_body;
mod sent;
mod signature;
mod status_file;
mod time;
mod update;

use std::sync::Arc;

use axum::Router;
use axum::http::{Request, Uri};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{MethodRouter, any};

use super::ApiState;
use envelope::Shape;

/// The calls the SDK makes (`vxp-sdk-wire.md` §1), by the path it posts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    SendEdoc,
    GetReceivedEdocList,
    GetEdoc,
    UpdateStatus,
    GetSentEdocList,
    CountReceiveEdoc,
    CountReceiveStatus,
    DownloadEdoc,
    GetAgenciesList,
    GetAgenciesListQd20,
    GetSynchronizeUnit,
    RegisterAgency,
    DeleteAgency,
}

impl Op {
    const ALL: [Op; 13] = [
        Op::SendEdoc,
        Op::GetReceivedEdocList,
        Op::GetEdoc,
        Op::UpdateStatus,
        Op::GetSentEdocList,
        Op::CountReceiveEdoc,
        Op::CountReceiveStatus,
        Op::DownloadEdoc,
        Op::GetAgenciesList,
        Op::GetAgenciesListQd20,
        Op::GetSynchronizeUnit,
        Op::RegisterAgency,
        Op::DeleteAgency,
    ];

    /// The path segment, as the SDK writes it.
    pub(super) fn name(self) -> &'static str {
        match self {
            Op::SendEdoc => "sendEdoc",
            Op::GetReceivedEdocList => "getReceivedEdocList",
            Op::GetEdoc => "getEdoc",
            Op::UpdateStatus => "updateStatus",
            Op::GetSentEdocList => "getSentEdocList",
            Op::CountReceiveEdoc => "countReceiveEdoc",
            Op::CountReceiveStatus => "countReceiveStatus",
            Op::DownloadEdoc => "downloadEdoc",
            Op::GetAgenciesList => "getAgenciesList",
            Op::GetAgenciesListQd20 => "getAgenciesListQD20",
            Op::GetSynchronizeUnit => "getSynchronizeUnit",
            Op::RegisterAgency => "registerAgency",
            Op::DeleteAgency => "deleteAgency",
        }
    }

    /// The call a path names: its last segment, whatever comes before it (an endpoint
    /// with a path of its own, or the `//` of an endpoint ending in `/`).
    pub(super) fn from_path(path: &str) -> Option<Op> {
        let last = path.rsplit('/').find(|s| !s.is_empty())?;
        Op::ALL.into_iter().find(|op| op.name() == last)
    }

    /// How the SDK reads this call's failure.
    fn failure_shape(self) -> Shape {
        match self {
            Op::SendEdoc => Shape::WithDocId,
            Op::DownloadEdoc => Shape::EmptyFile,
            _ => Shape::Envelope,
        }
    }

    /// The handler. The SDK's path alone names the call (it POSTs what its code calls
    /// GET, and GETs `/downloadEdoc`), so every method reaches it.
    fn handler(self) -> MethodRouter<ApiState> {
        match self {
            Op::SendEdoc => any(send::send_edoc),
            Op::GetReceivedEdocList => any(received::list),
            Op::GetEdoc => any(get::get_edoc),
            Op::UpdateStatus => any(update::update_status),
            Op::GetSentEdocList => any(sent::list),
            Op::CountReceiveEdoc => any(received::count_edocs),
            Op::CountReceiveStatus => any(received::count_statuses),
            Op::DownloadEdoc => any(get::download_edoc),
            Op::GetAgenciesList => any(agencies::list),
            Op::GetAgenciesListQd20 => any(agencies::list_qd20),
            Op::GetSynchronizeUnit => any(agencies::synchronize),
            Op::RegisterAgency | Op::DeleteAgency => any(membership::refuse),
        }
    }
}

/// The axis-compatible routes, with their own authentication (the SDK's signature or the
/// bearer token).
pub(super) fn routes(state: ApiState) -> Router<ApiState> {
    let guard = Arc::new(auth::Guard::load(&state));
    Op::ALL
        .into_iter()
        .fold(Router::new(), |router, op| {
            router.route(&format!("/{}", op.name()), op.handler())
        })
        .route_layer(axum::middleware::from_fn_with_state(guard, auth::check))
}

/// The answer to `error` for a request to `path`, in the shape the SDK reads for that
/// call; `None` when `path` names no axis call. For refusals made before routing (an
/// over-long URI).
pub(super) fn refusal(path: &str, error: crate::api::ApiError) -> Option<Response> {
    let op = Op::from_path(path)?;
    Some(
        envelope::Fail::from(error)
            .answering(Some(op))
            .into_response(),
    )
}

/// Points a request for `<prefix>/<call>` or `//<call>` at `/<call>`, before routing: the
/// SDK joins its endpoint and the call's name as plain text (§1), so an endpoint with a
/// path, or one ending in `/`, reaches the node as such paths.
pub(super) fn normalize_path<B>(mut request: Request<B>) -> Request<B> {
    let path = request.uri().path();
    let Some(op) = Op::from_path(path) else {
        return request;
    };
    let canonical = format!("/{}", op.name());
    if path == canonical {
        return request;
    }
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{canonical}?{query}"),
        None => canonical,
    };
    let mut parts = request.uri().clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    if let Ok(uri) = Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_after(path: &str) -> String {
        let request = Request::builder().uri(path).body(()).expect("request");
        normalize_path(request).uri().to_string()
    }

    #[test]
    fn the_call_is_named_by_the_last_segment_of_the_path() {
        assert_eq!(path_after("/sendEdoc"), "/sendEdoc");
        assert_eq!(path_after("//getEdoc"), "/getEdoc");
        assert_eq!(
            path_after("/vxp/api//getReceivedEdocList?x=1"),
            "/getReceivedEdocList?x=1"
        );
        assert_eq!(path_after("/getAgenciesListQD20/"), "/getAgenciesListQD20");
        // Anything else is left to the rest of the API.
        assert_eq!(path_after("/api/v1/inbox"), "/api/v1/inbox");
        assert_eq!(path_after("/getedoc"), "/getedoc");
        for op in Op::ALL {
            assert_eq!(Op::from_path(&format!("/{}", op.name())), Some(op));
        }
    }

    #[test]
    fn every_call_is_described_in_the_openapi() {
        let openapi: serde_json::Value =
            serde_json::from_str(crate::api::OPENAPI).expect("openapi.json is JSON");
        for op in Op::ALL {
            assert!(
                openapi["paths"].get(format!("/{}", op.name())).is_some(),
                "{} is described",
                op.name()
            );
        }
    }
}
