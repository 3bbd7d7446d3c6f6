//! `POST /getAgenciesList` and `POST /getAgenciesListQD20`: the agencies this node can
//! send to, i.e. the active members of its federation roster, in the axis's agency shape.
//!
//! The roster knows each agency's id and name, nothing else: `id` and `code` are the
//! agency id (mã định danh), `name` its roster name; `pid` (parent), `mail`, `oldCode` and
//! `code102` are empty. Both paths answer the same list; the QĐ 20 `level` filter is not
//! applied (the roster is small next to the axis's directory).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use lienthong_protocol::roster::MemberStatus;
use serde::Serialize;

use super::envelope::{AxisResult, Data, Fail, ok};
use super::params::Params;
use crate::api::ApiState;
use crate::clock;

/// One agency, as the SDK's agency list has it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Agency {
    id: String,
    pid: String,
    code: String,
    name: String,
    mail: String,
    old_code: String,
    code102: String,
}

pub(super) async fn list(
    State(state): State<ApiState>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> AxisResult {
    // Read (and so check) the parameters even though none narrows the list.
    let _params = Params::read(&headers, &uri, body).await?;
    let roster = state.ctx.roster().ok_or_else(|| {
        Fail::unavailable(
            "this node has no federation roster yet, so it knows no agencies (lienthong federation admit)",
        )
    })?;
    let now = clock::now();
    let agencies: Vec<Agency> = roster
        .members()
        .iter()
        .map(|m| &m.record)
        .filter(|record| record.status_at(now) == MemberStatus::Active)
        .map(|record| Agency {
            id: record.organ_id.to_string(),
            pid: String::new(),
            code: record.organ_id.to_string(),
            name: record.name.clone(),
            mail: String::new(),
            old_code: String::new(),
            code102: String::new(),
        })
        .collect();
    Ok(ok(Data { data: agencies }))
}
