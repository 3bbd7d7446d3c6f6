//! `GET /api/v1/inbox`, `POST /api/v1/inbox/{id}/ack`: what QLVB pulls and acknowledges.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::error::ApiError;
use super::packages::parse_id;
use super::time::{rfc3339, rfc3339_opt};
use crate::clock;
use crate::store::{AckOutcome, InboxEntry, MailArrival};
use lienthong_protocol::envelope::{PackageId, Timestamp};
use lienthong_protocol::{MessageKind, OrganId};

/// A received package, as QLVB sees it in the inbox.
#[derive(Debug, Serialize)]
pub(super) struct InboxView {
    package_id: PackageId,
    from: OrganId,
    kind: MessageKind,
    document_id: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    received_at: Timestamp,
    #[serde(serialize_with = "rfc3339_opt")]
    acked_at: Option<Timestamp>,
    /// `federation`; `axis` for what came from an agency on the axis; `email` for what a
    /// unit on official email mailed (unsigned by the unit).
    via: &'static str,
    /// The axis's DocId of this agency's copy, when it came through the axis.
    #[serde(skip_serializing_if = "Option::is_none")]
    axis_doc_id: Option<String>,
    /// The address it was mailed from, when it came by email.
    #[serde(skip_serializing_if = "Option::is_none")]
    mail_from: Option<String>,
    /// Its Message-ID, when it came by email.
    #[serde(skip_serializing_if = "Option::is_none")]
    mail_message_id: Option<String>,
}

impl InboxView {
    /// The sending agency.
    pub(super) fn sender(&self) -> &OrganId {
        &self.from
    }

    /// `e` as QLVB sees it, with the DocId it arrived under through the axis, or how it
    /// came by email, if either.
    pub(super) fn new(
        e: InboxEntry,
        axis_doc_id: Option<String>,
        mail: Option<MailArrival>,
    ) -> Self {
        InboxView {
            package_id: e.package_id,
            from: e.from,
            kind: e.kind,
            document_id: e.document_id,
            received_at: e.received_at,
            acked_at: e.acked_at,
            via: if axis_doc_id.is_some() {
                "axis"
            } else if mail.is_some() {
                "email"
            } else {
                "federation"
            },
            axis_doc_id,
            mail_message_id: mail.as_ref().and_then(|m| m.message_id.clone()),
            mail_from: mail.map(|m| m.from_address),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct InboxQuery {
    /// Include packages QLVB has acknowledged.
    #[serde(default)]
    all: bool,
}

pub(super) async fn list(
    State(state): State<ApiState>,
    Query(query): Query<InboxQuery>,
) -> Result<Json<Vec<InboxView>>, ApiError> {
    let store = state.ctx.store.clone();
    let views = tokio::task::spawn_blocking(move || {
        store
            .inbox(query.all)?
            .into_iter()
            .map(|entry| {
                let doc_id = store.axis_arrival_of(&entry.package_id)?;
                let mail = store.mail_arrival_of(&entry.package_id)?;
                Ok(InboxView::new(entry, doc_id, mail))
            })
            .collect::<Result<Vec<_>, crate::store::StoreError>>()
    })
    .await??;
    Ok(Json(views))
}

#[derive(Debug, Serialize)]
pub(super) struct Acked {
    package_id: String,
    /// `false` when it had been acknowledged before (acknowledging is idempotent).
    newly_acked: bool,
}

pub(super) async fn ack(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Acked>, ApiError> {
    let package_id = parse_id(&id)?;
    let store = state.ctx.store.clone();
    let outcome =
        tokio::task::spawn_blocking(move || store.ack(&package_id, clock::now())).await??;
    match outcome {
        AckOutcome::Acked => Ok(Json(Acked {
            package_id: id,
            newly_acked: true,
        })),
        AckOutcome::AlreadyAcked => Ok(Json(Acked {
            package_id: id,
            newly_acked: false,
        })),
        AckOutcome::Unknown => Err(ApiError::not_found(format!(
            "no received package {id} on this node"
        ))),
    }
}
