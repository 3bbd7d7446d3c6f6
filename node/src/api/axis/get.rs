//! `POST /getEdoc` and `GET /downloadEdoc` (`docId`): the edXML of one item of
//! `getReceivedEdocList`.
//!
//! - `getEdoc` answers `{status, ErrorCode, ErrorDesc, data}` with `data` the file in
//!   standard base64, so that any byte survives JSON; the SDK writes it to
//!   `<filePath>/<yyyy>/<M>/<docId>.edxml` itself (`filePath` is its local concern and is
//!   not read here). A token client that sends `Accept: application/xml` (or `text/xml`)
//!   gets the raw edXML bytes instead.
//! - `downloadEdoc` answers the raw bytes, which the SDK saves as they come. The SDK's
//!   unsigned `downloadEdoc2` names no document and is refused.
//!
//! Fetching does not acknowledge: the item stays listed until `updateStatus done`, so a
//! QLVB that crashes between fetching and storing fetches it again.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse as _, Response};
use bytes::Bytes;
use serde::Serialize;

use super::Op;
use super::auth::Caller;
use super::envelope::{AxisResult, Fail, ok};
use super::params::Params;
use super::status_file::StatusFiles;
use crate::api::ApiState;
use crate::context::NodeContext;
use crate::store::addressee;

/// An item `getReceivedEdocList` can list: a received package or a receipt for this agency.
#[derive(Debug, Clone)]
pub(super) enum Item {
    /// A package in the inbox (a document, or a status package).
    Package(lienthong_protocol::PackageId),
    /// A receipt addressed to this agency.
    Receipt(Box<lienthong_protocol::SignedReceipt>),
}

/// Finds what `id` names. Blocking.
///
/// # Errors
/// 400 for an id that is not 64 hex digits, 404 for one this node has nothing under.
pub(super) fn find(ctx: &NodeContext, id: &str) -> Result<Item, Fail> {
    let unknown = || {
        Fail::not_found(format!(
            "no received document or status message {id} on this node"
        ))
    };
    let Ok(package_id) = id.parse::<lienthong_protocol::PackageId>() else {
        return Err(Fail::bad_request(format!(
            "docId {id:?} is not an id from getReceivedEdocList (64 hexadecimal digits)"
        )));
    };
    if ctx.store.inbox_entry(&package_id)?.is_some() {
        return Ok(Item::Package(package_id));
    }
    let receipt_id = lienthong_protocol::ReceiptId::from_bytes(*package_id.as_bytes());
    match ctx.store.receipt_by_id(&receipt_id)? {
        Some(item) if addressee(&item.receipt) == &ctx.organ_id => {
            Ok(Item::Receipt(Box::new(item.receipt)))
        }
        _ => Err(unknown()),
    }
}

#[derive(Serialize)]
struct File {
    /// The edXML, base64.
    data: String,
    #[serde(rename = "docId")]
    doc_id: String,
}

pub(super) async fn get_edoc(
    State(state): State<ApiState>,
    headers: HeaderMap,
    params: Params,
) -> AxisResult {
    let id = params.require("docId", "an id from getReceivedEdocList")?;
    let bytes = file(&state, id.clone()).await?;
    if wants_xml(&headers) {
        return Ok(raw(bytes));
    }
    Ok(ok(File {
        data: base64_simd::STANDARD.encode_to_string(&bytes),
        doc_id: id,
    }))
}

pub(super) async fn download_edoc(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    let answer = async {
        let params = Params::read(&caller, &headers, &uri, body).await?;
        let id = params.require("docId", "an id from getReceivedEdocList")?;
        Ok::<_, Fail>(raw(file(&state, id).await?))
    };
    answer
        .await
        .unwrap_or_else(|fail| fail.answering(Some(Op::DownloadEdoc)).into_response())
}

/// The bytes of the item `id` names.
async fn file(state: &ApiState, id: String) -> Result<Bytes, Fail> {
    let ctx = state.ctx.clone();
    tokio::task::spawn_blocking(move || -> Result<Bytes, Fail> {
        match find(&ctx, &id)? {
            Item::Package(package_id) => ctx
                .store
                .package(&package_id)?
                .map(|p| p.content().clone())
                .ok_or_else(|| {
                    Fail::unavailable(format!("the content of {id} is missing from the store"))
                }),
            Item::Receipt(receipt) => Ok(StatusFiles::new(&ctx, receipt.issued_at())
                .file(&receipt)?
                .bytes),
        }
    })
    .await?
}

/// The edXML itself as the answer.
fn raw(bytes: Bytes) -> Response {
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        bytes,
    )
        .into_response()
}

/// Whether the client asked for the raw file.
fn wants_xml(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| {
            let media = v.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case("application/xml") || media.eq_ignore_ascii_case("text/xml")
        })
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn raw_xml_is_served_only_when_asked_for() {
        let mut headers = HeaderMap::new();
        assert!(!super::wants_xml(&headers));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, */*"),
        );
        assert!(!super::wants_xml(&headers));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html, application/xml;q=0.9"),
        );
        assert!(super::wants_xml(&headers));
    }
}
