//! `GET /api/v1/report?from=YYYY-MM-DD&to=YYYY-MM-DD`: this agency's exchanges per
//! counterpart over a period of UTC days (`to` included), as JSON ([`Report`]). The CLI's
//! `lienthong report` renders it as CSV or HTML.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::ApiState;
use super::error::ApiError;
use crate::clock;
use crate::ops::report::{self, Inputs, Period, Report};

pub(super) fn routes() -> Router<ApiState> {
    Router::new().route("/api/v1/report", get(report))
}

/// Both dates are required; they are read here rather than by serde so that a missing or
/// malformed one gets a message that names it.
#[derive(Debug, Deserialize)]
pub(super) struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
}

async fn report(
    State(state): State<ApiState>,
    Query(query): Query<ReportQuery>,
) -> Result<Json<Report>, ApiError> {
    let (Some(from), Some(to)) = (query.from.as_deref(), query.to.as_deref()) else {
        return Err(ApiError::bad_request(
            "both from and to are required, as YYYY-MM-DD (UTC days, to included)",
        ));
    };
    let period = Period::parse(from, to).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let ctx = state.ctx.clone();
    let names: HashMap<_, _> = ctx
        .roster()
        .map(|roster| {
            roster
                .members()
                .iter()
                .map(|m| (m.record.organ_id.clone(), m.record.name.clone()))
                .collect()
        })
        .unwrap_or_default();
    let report = tokio::task::spawn_blocking(move || {
        let range = period.range();
        let sent = ctx.store.sent_between(range.clone())?;
        let received = ctx.store.received_between(range, &ctx.organ_id)?;
        Ok::<_, crate::store::StoreError>(report::compute(Inputs {
            agency: &ctx.organ_id,
            period,
            now: clock::now(),
            sent: &sent,
            received: &received,
            names: &names,
        }))
    })
    .await??;
    Ok(Json(report))
}
