//! `POST /getReceivedEdocList`: what QLVB has still to collect ("knobsticks"), and
//! `POST /countReceiveEdoc`, `POST /countReceiveStatus`: how many there are.
//!
//! - `messagetype=edoc`: documents in the inbox that QLVB has not acknowledged.
//! - `messagetype=status`: receipts addressed to this agency that QLVB has not collected:
//!   those about documents it sent (including the 01 the recipients' nodes sign on arrival)
//!   and take-back requests (13) about documents it received. See `status_file.rs` for how
//!   they relate to status packages in the inbox.
//!
//! Each item stays in the list until `updateStatus done`; `fromDate`/`toDate` filter on
//! `created_time`. At most [`LIST_LIMIT`] items per call, oldest first. Items carry the keys
//! the SDK reads (`vxp-sdk-wire.md` §4.2), never a `null`. The counts cover every item,
//! not only the first [`LIST_LIMIT`]; the call names the kind, whatever `messagetype` an
//! earlier call left in the SDK's headers.

use axum::extract::State;
use lienthong_protocol::MessageKind;
use lienthong_protocol::envelope::Timestamp;
use serde::Serialize;

use super::envelope::{AxisResult, Data, Fail, ok};
use super::params::Params;
use super::status_file::StatusFiles;
use super::time::{DayEnd, date_param, vietnam_text};
use crate::api::ApiState;
use crate::context::NodeContext;

/// Items per answer; QLVB sees the rest once it has acknowledged these.
pub(super) const LIST_LIMIT: usize = 200;
/// Receipt log entries one status listing reads at most.
const FEED_SCAN_LIMIT: usize = 100_000;

/// Receipts counted at most by `countReceiveStatus`.
const COUNT_LIMIT: usize = 100_000;

/// One item to collect, with the keys the SDK's `Knobstick` reads.
#[derive(Debug, Serialize)]
struct Knobstick {
    /// What `getEdoc`, `downloadEdoc` and `updateStatus` take: the package id of a
    /// document, the receipt id of a status.
    #[serde(rename = "docId")]
    doc_id: String,
    /// Always `pending`: an item leaves the list when QLVB acknowledges it.
    status: &'static str,
    status_desc: String,
    created_time: String,
    updated_time: String,
    #[serde(rename = "serviceType")]
    service_type: &'static str,
    #[serde(rename = "messageType")]
    message_type: &'static str,
    from: String,
    to: String,
    /// lienthong: of the file `getEdoc` returns.
    #[serde(rename = "contentSha256")]
    content_sha256: String,
    /// lienthong: of the file `getEdoc` returns.
    #[serde(rename = "contentLength")]
    content_length: usize,
    /// lienthong: the document's package (for a status, the document it is about).
    #[serde(rename = "packageId")]
    package_id: String,
    /// lienthong: the edXML `DocumentId` it is or answers, when known.
    #[serde(rename = "documentId", skip_serializing_if = "Option::is_none")]
    document_id: Option<String>,
    /// lienthong: for a status, its code (`"03"`).
    #[serde(rename = "statusCode", skip_serializing_if = "Option::is_none")]
    status_code: Option<&'static str>,
}

/// The answer of the count calls.
#[derive(Debug, Serialize)]
struct Count {
    count: usize,
}

pub(super) async fn list(State(state): State<ApiState>, params: Params) -> AxisResult {
    params.check_service_type()?;
    let kind = params.message_type()?.ok_or_else(|| {
        Fail::bad_request("messagetype is missing: edoc (documents) or status (status messages)")
    })?;
    let from = params
        .get("fromDate")?
        .map(|t| date_param("fromDate", &t, DayEnd::Start))
        .transpose()
        .map_err(Fail::bad_request)?;
    let to = params
        .get("toDate")?
        .map(|t| date_param("toDate", &t, DayEnd::End))
        .transpose()
        .map_err(Fail::bad_request)?;
    let window = Window { from, to };
    let ctx = state.ctx.clone();
    let items = tokio::task::spawn_blocking(move || match kind {
        MessageKind::Edoc => documents(&ctx, window),
        MessageKind::Status => statuses(&ctx, window),
    })
    .await??;
    Ok(ok(Data { data: items }))
}

pub(super) async fn count_edocs(State(state): State<ApiState>, params: Params) -> AxisResult {
    count(&state, &params, MessageKind::Edoc).await
}

pub(super) async fn count_statuses(State(state): State<ApiState>, params: Params) -> AxisResult {
    count(&state, &params, MessageKind::Status).await
}

async fn count(state: &ApiState, params: &Params, kind: MessageKind) -> AxisResult {
    params.check_service_type()?;
    let ctx = state.ctx.clone();
    let count = tokio::task::spawn_blocking(move || -> Result<usize, Fail> {
        Ok(match kind {
            MessageKind::Edoc => ctx
                .store
                .inbox(false)?
                .iter()
                .filter(|entry| entry.kind == MessageKind::Edoc)
                .count(),
            MessageKind::Status => ctx
                .store
                .uncollected_receipts(&ctx.organ_id, COUNT_LIMIT, FEED_SCAN_LIMIT)?
                .items
                .len(),
        })
    })
    .await??;
    Ok(ok(Count { count }))
}

#[derive(Debug, Clone, Copy)]
struct Window {
    from: Option<Timestamp>,
    to: Option<Timestamp>,
}

impl Window {
    fn contains(self, at: Timestamp) -> bool {
        self.from.is_none_or(|from| at >= from) && self.to.is_none_or(|to| at <= to)
    }
}

fn documents(ctx: &NodeContext, window: Window) -> Result<Vec<Knobstick>, Fail> {
    let mut items = Vec::new();
    for entry in ctx.store.inbox(false)? {
        if items.len() >= LIST_LIMIT {
            break;
        }
        if entry.kind != MessageKind::Edoc || !window.contains(entry.received_at) {
            continue;
        }
        let Some(package) = ctx.store.package(&entry.package_id)? else {
            continue;
        };
        let time = vietnam_text(entry.received_at);
        items.push(Knobstick {
            doc_id: entry.package_id.to_string(),
            status: "pending",
            status_desc: "Văn bản đã đến, chờ phần mềm QLVB nhận".to_owned(),
            created_time: time.clone(),
            updated_time: time,
            message_type: "edoc",
            service_type: "eDoc",
            from: entry.from.to_string(),
            to: ctx.organ_id.to_string(),
            content_sha256: hex::encode(package.content_sha256()),
            content_length: package.content().len(),
            package_id: entry.package_id.to_string(),
            document_id: entry.document_id,
            status_code: None,
        });
    }
    Ok(items)
}

fn statuses(ctx: &NodeContext, window: Window) -> Result<Vec<Knobstick>, Fail> {
    let page = ctx
        .store
        .uncollected_receipts(&ctx.organ_id, LIST_LIMIT, FEED_SCAN_LIMIT)?;
    let receipts: Vec<_> = page
        .items
        .into_iter()
        .map(|item| item.receipt)
        .filter(|r| window.contains(r.issued_at()))
        .collect();
    let earliest = receipts
        .iter()
        .map(lienthong_protocol::SignedReceipt::issued_at)
        .min()
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let mut files = StatusFiles::new(ctx, earliest);
    let mut items = Vec::with_capacity(receipts.len());
    for receipt in receipts {
        let file = files.file(&receipt)?;
        let time = vietnam_text(receipt.issued_at());
        items.push(Knobstick {
            doc_id: receipt.id().to_string(),
            status: "pending",
            status_desc: format!(
                "Trạng thái {} - {}, chờ phần mềm QLVB nhận",
                receipt.code(),
                receipt.code().label_vi()
            ),
            created_time: time.clone(),
            updated_time: time,
            message_type: "status",
            service_type: "eDoc",
            from: receipt.issuer().to_string(),
            to: ctx.organ_id.to_string(),
            content_sha256: hex::encode(sha256(&file.bytes)),
            content_length: file.bytes.len(),
            package_id: receipt.package_id().to_string(),
            document_id: receipt.document_id().map(str::to_owned),
            status_code: Some(receipt.code().as_str()),
        });
    }
    Ok(items)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}
