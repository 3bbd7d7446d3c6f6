//! `POST /getSentEdocList` (`servicetype`, `messagetype`, optional `docId`): per package
//! this agency sent and per recipient, how delivery stands and the latest status, with the
//! keys the SDK's `StatusResult` reads (`vxp-sdk-wire.md` §4.2).
//!
//! The state comes from the same computation as `GET /api/v1/packages/{id}/status`. With a
//! `docId` this node sent, that package; otherwise the newest [`SENT_LIMIT`]. A `docId` that
//! names nothing sent from here is one the SDK carried over from an earlier `getEdoc` or
//! `updateStatus` (its headers keep every key), or the `null` QLVB wrote for a missing one:
//! it is passed over, not refused. `messagetype` filters by kind when given.

use axum::extract::State;
use lienthong_protocol::edxml::{self, Message};
use lienthong_protocol::{MessageKind, PackageId};
use serde::Serialize;

use super::envelope::{AxisResult, Data, Fail, ok};
use super::params::Params;
use super::time::vietnam_text;
use crate::api::ApiState;
use crate::api::packages::package_status;
use crate::clock;
use crate::context::NodeContext;
use crate::outbound::delivery::DeliveryHandle;

/// Packages listed without `docId`, newest first.
const SENT_LIMIT: usize = 200;

/// One recipient of one sent package.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SentItem {
    service_type: &'static str,
    /// `edoc` or `status`.
    message_type: &'static str,
    sender_doc_id: String,
    receiver_doc_id: String,
    from_code: String,
    to_code: String,
    /// The document's `Subject` (trích yếu).
    title: String,
    /// The document's `Code` (số/ký hiệu).
    notation: String,
    sent_time: String,
    /// `queued`, `sending`, `held_at_relay`, `handed_to_axis`, `delivered`, `stuck` or
    /// `rejected`.
    send_status: &'static str,
    send_status_desc: &'static str,
    received_time: String,
    /// The latest status code the recipient sent (`"03"`), empty before any.
    receive_status: String,
    receive_status_desc: String,
    /// lienthong: the package id (also `senderDocId` and `receiverDocId`).
    doc_id: String,
    /// lienthong: the edXML `DocumentId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    document_id: Option<String>,
}

/// The Vietnamese description of a recipient's delivery state.
fn send_status_desc(state: &str) -> &'static str {
    match state {
        "queued" => "Đang chờ gửi",
        "sending" => "Đang gửi",
        "held_at_relay" => "Trạm trung chuyển đang giữ, chờ đơn vị nhận lấy về",
        "delivered" => "Đã gửi đến đơn vị nhận",
        "handed_to_axis" => "Đã chuyển lên trục liên thông quốc gia",
        "stuck" => "Quá hạn chưa gửi được đến đơn vị nhận",
        "rejected" => "Đơn vị nhận từ chối tiếp nhận",
        _ => "",
    }
}

pub(super) async fn list(State(state): State<ApiState>, params: Params) -> AxisResult {
    params.check_service_type()?;
    let kind = params.message_type()?;
    let only = params
        .get("docId")?
        .and_then(|id| id.parse::<PackageId>().ok());
    let ctx = state.ctx.clone();
    let delivery = state.delivery.clone();
    let items = tokio::task::spawn_blocking(move || rows(&ctx, &delivery, only, kind)).await??;
    Ok(ok(Data { data: items }))
}

fn rows(
    ctx: &NodeContext,
    delivery: &DeliveryHandle,
    only: Option<PackageId>,
    kind: Option<MessageKind>,
) -> Result<Vec<SentItem>, Fail> {
    let sent = |id: &PackageId| ctx.store.outgoing(id).map(|p| p.is_some());
    let ids: Vec<PackageId> = match only {
        Some(id) if sent(&id)? => vec![id],
        _ => ctx
            .store
            .list_outgoing(SENT_LIMIT)?
            .into_iter()
            .map(|p| p.package_id)
            .collect(),
    };
    let now = clock::now();
    let mut items = Vec::new();
    for id in ids {
        let Some(status) = package_status(ctx, delivery, id, now)? else {
            continue;
        };
        if kind.is_some_and(|k| k != status.kind) {
            continue;
        }
        let notation = notation(ctx, &id)?;
        for recipient in &status.recipients {
            let latest = recipient
                .receipts
                .iter()
                .rfind(|r| r.issuer == recipient.organ_id);
            items.push(SentItem {
                service_type: "eDoc",
                message_type: status.kind.as_str(),
                doc_id: id.to_string(),
                from_code: ctx.organ_id.to_string(),
                to_code: recipient.organ_id.to_string(),
                notation: notation.clone(),
                title: status.subject.clone().unwrap_or_default(),
                send_status: recipient.state,
                send_status_desc: send_status_desc(recipient.state),
                sent_time: vietnam_text(status.submitted_at),
                receive_status: latest.map(|r| r.code.to_owned()).unwrap_or_default(),
                receive_status_desc: latest
                    .and_then(|r| r.code.parse::<u8>().ok())
                    .and_then(|n| lienthong_protocol::StatusCode::from_number(n).ok())
                    .map(|c| c.label_vi().to_owned())
                    .unwrap_or_default(),
                received_time: latest.map(|r| vietnam_text(r.time)).unwrap_or_default(),
                sender_doc_id: id.to_string(),
                receiver_doc_id: id.to_string(),
                document_id: status.document_id.clone(),
            });
        }
    }
    Ok(items)
}

/// The `Code` of a sent document as `number/notation`; empty when it has none.
fn notation(ctx: &NodeContext, id: &PackageId) -> Result<String, Fail> {
    let Some(package) = ctx.store.package(id)? else {
        return Ok(String::new());
    };
    let options = edxml::ReadOptions {
        max_size: usize::try_from(ctx.config.limits.max_package_size.as_u64())
            .unwrap_or(usize::MAX),
        ..edxml::ReadOptions::default()
    };
    Ok(
        match edxml::read_with(package.content().clone(), &options) {
            Ok(parsed) => match parsed.message {
                Message::Document(document) => document
                    .code
                    .map(|c| format!("{}/{}", c.number, c.notation))
                    .unwrap_or_default(),
                Message::Status(status) => status.response_for.code.unwrap_or_default(),
            },
            Err(_) => String::new(),
        },
    )
}
