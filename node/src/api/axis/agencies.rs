//! `POST /getAgenciesList`, `POST /getAgenciesListQD20` and `POST /getSynchronizeUnit`:
//! the federation roster, in the shapes the SDK reads (`vxp-sdk-wire.md` §4.2).
//!
//! The roster knows each agency's id (mã định danh), name, relays, role and standing;
//! nothing else. So `id` and `code` are the agency id, `pid` its parent in the QĐ 20
//! hierarchy (empty for a level-1 body or an irregular id), `name` its roster name, and
//! `mail`, `oldCode` and `code102` are empty.
//!
//! - The two agency lists hold the active members: who this node can send to. The QĐ 20
//!   list's `level` is not applied: the roster is small beside the axis's directory.
//! - `getSynchronizeUnit` holds every record, with `deleted` for one revoked or past its
//!   validity, `isAgency` false for a relay, `centerCode` its first relay, `version` the
//!   roster's serial and `modifyDate` when the record last changed standing.

use axum::extract::State;
use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::roster::{AgencyRecord, MemberStatus, Role};
use serde::Serialize;

use super::envelope::{AxisResult, Data, Fail, ok};
use super::params::Params;
use super::time::vietnam_text;
use crate::api::ApiState;
use crate::clock;
use crate::roster::membership::Membership;

/// An agency of `getAgenciesList`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Agency {
    id: String,
    pid: String,
    code: String,
    name: String,
    mail: String,
    old_code: String,
}

/// An agency of `getAgenciesListQD20`.
#[derive(Debug, Serialize)]
struct AgencyQd20 {
    id: String,
    code: String,
    name: String,
    mail: String,
    code102: String,
}

/// A unit of `getSynchronizeUnit`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Unit {
    id: String,
    pid: String,
    code: String,
    name: String,
    mail: String,
    center_code: String,
    modify_date: String,
    version: u64,
    deleted: bool,
    is_agency: bool,
}

pub(super) async fn list(State(state): State<ApiState>, params: Params) -> AxisResult {
    let _ = params;
    let roster = roster(&state)?;
    let agencies: Vec<Agency> = active(&roster, clock::now())
        .map(|record| Agency {
            id: record.organ_id.to_string(),
            pid: parent(record),
            code: record.organ_id.to_string(),
            name: record.name.clone(),
            mail: String::new(),
            old_code: String::new(),
        })
        .collect();
    Ok(ok(Data { data: agencies }))
}

pub(super) async fn list_qd20(State(state): State<ApiState>, params: Params) -> AxisResult {
    let _ = params;
    let roster = roster(&state)?;
    let agencies: Vec<AgencyQd20> = active(&roster, clock::now())
        .map(|record| AgencyQd20 {
            id: record.organ_id.to_string(),
            code: record.organ_id.to_string(),
            name: record.name.clone(),
            mail: String::new(),
            code102: String::new(),
        })
        .collect();
    Ok(ok(Data { data: agencies }))
}

pub(super) async fn synchronize(State(state): State<ApiState>, params: Params) -> AxisResult {
    let _ = params;
    let roster = roster(&state)?;
    let now = clock::now();
    let units: Vec<Unit> = roster
        .members()
        .iter()
        .map(|m| {
            let record = &m.record;
            Unit {
                id: record.organ_id.to_string(),
                pid: parent(record),
                code: record.organ_id.to_string(),
                name: record.name.clone(),
                mail: String::new(),
                center_code: record
                    .relays
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                modify_date: changed_at(record).map(vietnam_text).unwrap_or_default(),
                version: roster.serial(),
                deleted: record.status_at(now) != MemberStatus::Active,
                is_agency: record.role == Role::Agency,
            }
        })
        .collect();
    Ok(ok(Data { data: units }))
}

/// The roster, or why there is none. The parameters were read (and so checked) by the
/// handler; none narrows these lists.
fn roster(state: &ApiState) -> Result<std::sync::Arc<Membership>, Fail> {
    state.ctx.roster().ok_or_else(|| {
        Fail::unavailable(
            "this node has no federation roster yet, so it knows no agencies (lienthong federation admit)",
        )
    })
}

/// The records of active members.
fn active(roster: &Membership, now: Timestamp) -> impl Iterator<Item = &AgencyRecord> {
    roster
        .members()
        .iter()
        .map(|m| m.record.as_ref())
        .filter(move |record| record.status_at(now) == MemberStatus::Active)
}

fn parent(record: &AgencyRecord) -> String {
    record
        .organ_id
        .parent()
        .map(|p| p.to_string())
        .unwrap_or_default()
}

/// The last time the record's standing changed, as far as it says.
fn changed_at(record: &AgencyRecord) -> Option<Timestamp> {
    record.revoked.as_ref().map(|r| r.at).or(record.valid_from)
}
