//! `GET /api/v1/stuck`: stuck documents with their reason. `GET /api/v1/receipts`: the
//! receipts this node recorded, in order, from a cursor: for a monitoring node (a
//! provincial office) and for scripts that follow every status change.

use axum::Json;
use axum::extract::{Query, State};
use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::{PackageId, Timestamp};
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::error::ApiError;
use super::time::rfc3339;
use crate::clock;
use crate::outbound::delivery::stuck::{self, StuckReason};

#[derive(Debug, Serialize)]
pub(crate) struct StuckView {
    package_id: PackageId,
    document_id: Option<String>,
    subject: Option<String>,
    recipient: OrganId,
    reason: StuckReason,
    #[serde(serialize_with = "rfc3339")]
    deadline: Timestamp,
    attempts: u32,
    detail: Option<String>,
    relay: Option<OrganId>,
    /// `federation` or `axis`.
    path: &'static str,
    /// The axis's DocId, for a recipient reached through the axis.
    #[serde(skip_serializing_if = "Option::is_none")]
    axis_doc_id: Option<String>,
}

pub(super) async fn stuck(State(state): State<ApiState>) -> Result<Json<Vec<StuckView>>, ApiError> {
    let ctx = state.ctx.clone();
    let delivery = state.delivery.clone();
    let list =
        tokio::task::spawn_blocking(move || stuck::list_explained(&ctx, &delivery, clock::now()))
            .await??;
    Ok(Json(list.into_iter().map(StuckView::from).collect()))
}

impl From<stuck::Stuck> for StuckView {
    fn from(s: stuck::Stuck) -> Self {
        StuckView {
            package_id: s.package_id,
            document_id: s.document_id,
            subject: s.subject,
            recipient: s.recipient,
            reason: s.reason,
            deadline: s.deadline,
            attempts: s.attempts,
            detail: s.detail,
            relay: s.relay,
            path: s.path,
            axis_doc_id: s.axis_doc_id,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct LogQuery {
    /// Receipts recorded after this position; 0 for the start.
    since: Option<u64>,
    /// At most this many (default 256, at most 4096).
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub(crate) struct LogPage {
    receipts: Vec<ReceiptSummary>,
    /// Ask with `since` = this for what follows.
    next: u64,
    more: bool,
}

/// A receipt summary: what gossip carries, never document content.
#[derive(Debug, Serialize)]
pub(crate) struct ReceiptSummary {
    receipt_id: String,
    package_id: PackageId,
    document_id: Option<String>,
    sender: OrganId,
    recipient: OrganId,
    issuer: OrganId,
    code: &'static str,
    #[serde(serialize_with = "rfc3339")]
    time: Timestamp,
    description: Option<String>,
}

pub(super) async fn log(
    State(state): State<ApiState>,
    Query(query): Query<LogQuery>,
) -> Result<Json<LogPage>, ApiError> {
    let store = state.ctx.store.clone();
    let since = query.since.unwrap_or(0);
    let limit = query.limit.unwrap_or(256).clamp(1, 4096);
    let page =
        tokio::task::spawn_blocking(move || store.receipts_since(since, |_| true, limit, 65_536))
            .await??;
    Ok(Json(LogPage {
        receipts: page
            .receipts
            .iter()
            .map(|r| ReceiptSummary {
                receipt_id: r.id().to_string(),
                package_id: r.package_id(),
                document_id: r.document_id().map(str::to_owned),
                sender: r.sender().clone(),
                recipient: r.recipient().clone(),
                issuer: r.issuer().clone(),
                code: r.code().as_str(),
                time: r.issued_at(),
                description: r.description().map(str::to_owned),
            })
            .collect(),
        next: page.next_cursor,
        more: page.more,
    }))
}
