//! `GET /api/v1/province?from=YYYY-MM-DD&to=YYYY-MM-DD`: on a monitoring node, every unit
//! of its province over a period ([`Province`]), from the receipt summaries it keeps. The
//! dashboard's province tab shows it; `lienthong report --province` renders it as CSV or
//! HTML. A node that does not monitor keeps only its own agency's receipts, so it answers
//! 409 rather than an overview that would look complete and is not.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use lienthong_protocol::roster::Role;
use serde::Deserialize;

use super::ApiState;
use super::error::ApiError;
use crate::clock;
use crate::context::NodeContext;
use crate::ops::report::Period;
use crate::ops::report::province::{self, Inputs};
use crate::receipts::gossip::province_topic;

pub(super) fn routes() -> Router<ApiState> {
    Router::new().route("/api/v1/province", get(overview))
}

/// Both dates are required, read here so that a missing one gets a message naming it.
#[derive(Debug, Deserialize)]
pub(super) struct ProvinceQuery {
    from: Option<String>,
    to: Option<String>,
}

async fn overview(
    State(state): State<ApiState>,
    Query(query): Query<ProvinceQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (Some(from), Some(to)) = (query.from.as_deref(), query.to.as_deref()) else {
        return Err(ApiError::bad_request(
            "both from and to are required, as YYYY-MM-DD (UTC days, to included)",
        ));
    };
    let period = Period::parse(from, to).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let ctx = state.ctx.clone();
    if !ctx.config.receipts.monitor {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_monitoring",
            "this node keeps only its own agency's receipts; the province overview needs \
             [receipts] monitor = true in its config.toml",
        ));
    }
    let units = province_units(&ctx);
    let overview = tokio::task::spawn_blocking(move || {
        let mut summaries = Vec::new();
        ctx.store
            .receipt_statements(|fields| summaries.push(fields))?;
        Ok::<_, crate::store::StoreError>(province::compute(Inputs {
            monitor: &ctx.organ_id,
            period,
            now: clock::now(),
            units: &units,
            summaries: &summaries,
            arrival_deadline: ctx.config.delivery.receipt_deadline,
            accept_deadline: ctx.config.receipts.accept_deadline,
        }))
    })
    .await??;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(overview)))
}

/// The agencies of the roster in this node's province (the receipt topic it watches), in
/// order of their ids: relays, which exchange no documents of their own, are not units.
fn province_units(ctx: &NodeContext) -> Vec<(lienthong_protocol::OrganId, String)> {
    let Some(roster) = ctx.roster() else {
        return Vec::new();
    };
    let mine = province_topic(&ctx.organ_id);
    let mut units: Vec<_> = roster
        .members()
        .iter()
        .filter(|m| m.record.role == Role::Agency)
        .filter(|m| province_topic(&m.record.organ_id) == mine)
        .map(|m| (m.record.organ_id.clone(), m.record.name.clone()))
        .collect();
    units.sort();
    units.dedup_by(|a, b| a.0 == b.0);
    units
}
