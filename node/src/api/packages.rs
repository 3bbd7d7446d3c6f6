//! `POST /api/v1/packages`, `GET /api/v1/packages/{id}`, `GET /api/v1/packages/{id}/status`.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use lienthong_protocol::envelope::{PackageId, Timestamp};
use lienthong_protocol::seal::SignedHold;
use lienthong_protocol::{MessageKind, OrganId};
use serde::Serialize;

use super::ApiState;
use super::body::read_body;
use super::error::ApiError;
use super::time::{rfc3339, rfc3339_opt};
use crate::api::submit;
use crate::clock;
use crate::context::NodeContext;
use crate::outbound::axis::bridge::{self, Route};
use crate::outbound::delivery::DeliveryHandle;
use crate::store::{DeliveryState, Links};

/// Accepts an edXML message; 202 with the package id once it is durable. The same bytes
/// again answer the same, `duplicate` aside.
pub(super) async fn submit(
    State(state): State<ApiState>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_body(&state, body).await?;
    let ctx = state.ctx.clone();
    let (delivery, receipts) = (state.delivery.clone(), state.receipts.clone());
    let submission =
        tokio::task::spawn_blocking(move || submit::submit(&ctx, &delivery, &receipts, body))
            .await??;
    Ok((StatusCode::ACCEPTED, Json(submission)).into_response())
}

pub(super) fn parse_id(text: &str) -> Result<PackageId, ApiError> {
    text.parse()
        .map_err(|e| ApiError::bad_request(format!("{text:?} is not a package id: {e}")))
}

/// The original edXML bytes of a package this node sent or received.
pub(super) async fn content(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let store = state.ctx.store.clone();
    let package = tokio::task::spawn_blocking(move || store.package(&id))
        .await??
        .ok_or_else(|| ApiError::not_found(format!("no package {id} on this node")))?;
    Ok((
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        package.content().clone(),
    )
        .into_response())
}

/// Delivery status of a package this node sent, per recipient.
#[derive(Debug, Serialize)]
pub(crate) struct PackageStatus {
    pub(crate) package_id: PackageId,
    pub(crate) kind: MessageKind,
    pub(crate) document_id: Option<String>,
    pub(crate) subject: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    pub(crate) submitted_at: Timestamp,
    pub(crate) recipients: Vec<RecipientStatus>,
    /// The packages this one revokes, updates or replaces, and those that do so to it.
    #[serde(skip_serializing_if = "Links::is_empty")]
    pub(crate) links: Links,
}

/// One recipient's state and receipts.
#[derive(Debug, Serialize)]
pub(crate) struct RecipientStatus {
    pub(crate) organ_id: OrganId,
    /// `queued`, `sending`, `held_at_relay`, `delivered`, `rejected` or `stuck`.
    pub(crate) state: &'static str,
    pub(crate) attempts: u32,
    pub(crate) last_error: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    pub(crate) deadline: Timestamp,
    #[serde(serialize_with = "rfc3339_opt")]
    pub(crate) delivered_at: Option<Timestamp>,
    /// Where the package waits for the recipient, when a relay holds it: the relay's
    /// signed acknowledgement, which is not a receipt.
    pub(crate) held: Option<HeldView>,
    pub(crate) receipts: Vec<ReceiptView>,
    /// How the recipient is reached: `federation`; `axis` for an agency not on lienthong,
    /// reached through the national axis; `email` for a unit on official email.
    pub(crate) path: &'static str,
    /// The axis's DocId for this recipient's copy, once the axis took it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) axis_doc_id: Option<String>,
    /// What the axis reported of the recipient's copy, oldest first: the axis's word, with
    /// no recipient signature behind it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) axis_reports: Vec<AxisReportView>,
    /// The Message-ID of the unit's copy, for a unit on official email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mail_message_id: Option<String>,
    /// What mail servers and the unit's mail client reported of its copy, oldest first:
    /// their word, never a signed receipt.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) mail_reports: Vec<MailReportView>,
}

/// What a mail server or mail client reported of a unit's copy.
#[derive(Debug, Serialize)]
pub(crate) struct MailReportView {
    /// `delivered_to_mailbox`, `opened`, `bounced` or `delayed`.
    pub(crate) report: &'static str,
    /// The server's status and reason, or the client's disposition.
    pub(crate) detail: String,
    /// When this node learned it.
    #[serde(serialize_with = "rfc3339")]
    pub(crate) reported_at: Timestamp,
    /// `mail_server` or `mail_client`: who says so.
    pub(crate) reported_by: &'static str,
}

/// A status the axis reported.
#[derive(Debug, Serialize)]
pub(crate) struct AxisReportView {
    /// The axis's status text (`pending`, `done`, …).
    pub(crate) status: String,
    /// The time the axis gave with it, as it wrote it.
    pub(crate) axis_time: String,
    /// When this node learned it.
    #[serde(serialize_with = "rfc3339")]
    pub(crate) reported_at: Timestamp,
    /// Always `axis`: who says so.
    pub(crate) reported_by: &'static str,
}

/// A relay's acknowledgement that it holds the package for the recipient.
#[derive(Debug, Serialize)]
pub(crate) struct HeldView {
    /// The relay.
    pub(crate) relay: OrganId,
    /// When it took the package.
    #[serde(serialize_with = "rfc3339")]
    pub(crate) held_at: Timestamp,
}

/// One receipt on the timeline.
#[derive(Debug, Serialize)]
pub(crate) struct ReceiptView {
    /// As written on the wire: `"01"`.
    pub(crate) code: &'static str,
    /// The agency that signed it: the recipient, or the sender for 13.
    pub(crate) issuer: OrganId,
    #[serde(serialize_with = "rfc3339")]
    pub(crate) time: Timestamp,
    pub(crate) description: Option<String>,
}

pub(super) async fn status(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<PackageStatus>, ApiError> {
    let id = parse_id(&id)?;
    let ctx = state.ctx.clone();
    let delivery = state.delivery.clone();
    let found =
        tokio::task::spawn_blocking(move || package_status(&ctx, &delivery, id, clock::now()))
            .await??;
    found
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no package {id} was sent from this node")))
}

/// The delivery status of one package this node sent, as of `now`; `None` when it sent
/// no such package. Blocking: call it from `spawn_blocking`. Shared with the dashboard.
pub(super) fn package_status(
    ctx: &NodeContext,
    delivery: &DeliveryHandle,
    id: PackageId,
    now: Timestamp,
) -> Result<Option<PackageStatus>, crate::store::StoreError> {
    let Some(meta) = ctx.store.outgoing(&id)? else {
        return Ok(None);
    };
    let outbox = ctx.store.outbox(&id)?;
    let receipts = ctx.store.receipts(&id)?;
    let recipients = outbox
        .into_iter()
        .map(|entry| {
            let key = (entry.package_id, entry.recipient.clone());
            let state = match entry.state {
                DeliveryState::Delivered | DeliveryState::Rejected => entry.state.as_str(),
                _ if now > entry.deadline => "stuck",
                DeliveryState::Queued if delivery.is_sending(&key) => {
                    DeliveryState::Sending.as_str()
                }
                other => other.as_str(),
            };
            let mut timeline: Vec<ReceiptView> = receipts
                .iter()
                .filter(|r| r.recipient() == &entry.recipient)
                .map(|r| ReceiptView {
                    code: r.code().as_str(),
                    issuer: r.issuer().clone(),
                    time: r.issued_at(),
                    description: r.description().map(str::to_owned),
                })
                .collect();
            // Receipts travel separately and may arrive in any order; the timeline is in
            // the order their issuer made them (ties, within a millisecond, by code).
            timeline.sort_by_key(|r| (r.time, r.code));
            let held = match entry.state {
                DeliveryState::HeldAtRelay => ctx
                    .store
                    .hold_of(&entry.package_id, &entry.recipient)
                    .ok()
                    .flatten()
                    .and_then(|wire| SignedHold::from_wire(wire).ok())
                    .map(|hold| HeldView {
                        relay: hold.relay().clone(),
                        held_at: hold.held_at(),
                    }),
                _ => None,
            };
            // A delivery waiting for the next attempt to its unreachable recipient has
            // no error of its own; the engine knows the recipient's.
            let last_error = match entry.state {
                DeliveryState::Queued | DeliveryState::Sending => delivery
                    .unreachable_problem(&entry.recipient)
                    .or(entry.last_error),
                _ => entry.last_error,
            };
            let axis_send = ctx
                .store
                .axis_send(&entry.package_id, &entry.recipient)
                .ok()
                .flatten();
            let mail_send = ctx
                .store
                .mail_send(&entry.package_id, &entry.recipient)
                .ok()
                .flatten();
            // Where the node sent it, else where it would send it now (read once: the
            // route reads the axis's directory from the store).
            let route = if mail_send.is_some() {
                None
            } else {
                bridge::route(ctx, &entry.recipient, clock::now()).ok()
            };
            let path = if mail_send.is_some() || route == Some(Route::Email) {
                "email"
            } else if axis_send.is_some() || route == Some(Route::Axis) {
                "axis"
            } else {
                "federation"
            };
            RecipientStatus {
                held,
                path,
                axis_reports: axis_send
                    .as_ref()
                    .map(|s| {
                        s.reports
                            .iter()
                            .map(|r| AxisReportView {
                                status: r.status.clone(),
                                axis_time: r.axis_time.clone(),
                                reported_at: r.learned_at,
                                reported_by: "axis",
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                axis_doc_id: axis_send.and_then(|s| s.doc_id),
                mail_reports: mail_send
                    .as_ref()
                    .map(|s| {
                        s.reports
                            .iter()
                            .map(|r| MailReportView {
                                report: r.kind.as_str(),
                                detail: r.detail.clone(),
                                reported_at: r.learned_at,
                                reported_by: r.kind.reported_by(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                mail_message_id: mail_send.map(|s| s.message_id),
                organ_id: entry.recipient,
                state,
                attempts: entry.attempts,
                last_error,
                deadline: entry.deadline,
                delivered_at: entry.delivered_at,
                receipts: timeline,
            }
        })
        .collect();
    let links = ctx.store.links(&id)?;
    Ok(Some(PackageStatus {
        links,
        package_id: meta.package_id,
        kind: meta.kind,
        document_id: meta.document_id,
        subject: meta.subject,
        submitted_at: meta.submitted_at,
        recipients,
    }))
}

/// A package this node sent, in the list.
#[derive(Debug, Serialize)]
pub(crate) struct OutgoingView {
    package_id: PackageId,
    kind: MessageKind,
    document_id: Option<String>,
    subject: Option<String>,
    recipients: Vec<OrganId>,
    #[serde(serialize_with = "rfc3339")]
    submitted_at: Timestamp,
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct ListQuery {
    /// At most this many, newest first (default 100).
    limit: Option<usize>,
}

/// Packages this node sent, newest first.
pub(super) async fn list(
    State(state): State<ApiState>,
    axum::extract::Query(query): axum::extract::Query<ListQuery>,
) -> Result<Json<Vec<OutgoingView>>, ApiError> {
    let store = state.ctx.store.clone();
    let limit = query.limit.unwrap_or(100).min(10_000);
    let packages = tokio::task::spawn_blocking(move || store.list_outgoing(limit)).await??;
    Ok(Json(
        packages
            .into_iter()
            .map(|p| OutgoingView {
                package_id: p.package_id,
                kind: p.kind,
                document_id: p.document_id,
                subject: p.subject,
                recipients: p.recipients,
                submitted_at: p.submitted_at,
            })
            .collect(),
    ))
}
