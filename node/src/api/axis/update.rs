//! `POST /updateStatus` (`docId`/`docid`, `status`): QLVB's delivery acknowledgement of an
//! item of `getReceivedEdocList`. Not an edXML status code: those travel as status
//! messages through `sendEdoc`. The answer is the envelope (the SDK reads nothing else),
//! with `docId` and `newlyDone` beside it for other clients.
//!
//! - `done`: QLVB has stored the item. A document is acknowledged as by
//!   `POST /api/v1/inbox/{id}/ack`; a status's receipt is marked collected, and the
//!   issuer's status package in the inbox, if any, acknowledged with it. Durable before the
//!   answer; repeating it changes nothing.
//! - `fail` (QLVB could not process the file) and `processing`: nothing changes, the item
//!   stays listed and QLVB gets it again; the node logs it for the operators.

use axum::extract::State;
use serde::Serialize;
use tracing::{info, warn};

use super::envelope::{AxisResult, Fail, ok};
use super::get::{Item, find};
use super::params::Params;
use super::status_file::StatusFiles;
use crate::api::ApiState;
use crate::clock;
use crate::context::NodeContext;
use crate::store::{AckOutcome, CollectOutcome};

/// QLVB's word on an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Done,
    Fail,
    Processing,
}

#[derive(Serialize)]
struct Updated {
    #[serde(rename = "docId")]
    doc_id: String,
    /// lienthong: `false` when it had been acknowledged before.
    #[serde(rename = "newlyDone")]
    newly_done: bool,
}

pub(super) async fn update_status(State(state): State<ApiState>, params: Params) -> AxisResult {
    let id = params.require("docId", "an id from getReceivedEdocList")?;
    let word = params.require("status", "done, fail or processing")?;
    let delivery = match word.to_ascii_lowercase().as_str() {
        "done" => Delivery::Done,
        "fail" => Delivery::Fail,
        "processing" => Delivery::Processing,
        _ => {
            return Err(Fail::bad_request(format!(
                "status {word:?} is not done, fail or processing (edXML status codes are sent as status messages through sendEdoc)"
            )));
        }
    };
    let ctx = state.ctx.clone();
    let wanted = id.clone();
    let newly_done = tokio::task::spawn_blocking(move || update(&ctx, &wanted, delivery)).await??;
    Ok(ok(Updated {
        doc_id: id,
        newly_done,
    }))
}

/// Applies QLVB's word; whether it newly acknowledged something. Blocking.
fn update(ctx: &NodeContext, id: &str, delivery: Delivery) -> Result<bool, Fail> {
    let item = find(ctx, id)?;
    match delivery {
        Delivery::Fail => {
            warn!(item = %id, "QLVB could not process an item; it stays listed");
            return Ok(false);
        }
        Delivery::Processing => {
            info!(item = %id, "QLVB is processing an item; it stays listed");
            return Ok(false);
        }
        Delivery::Done => {}
    }
    match item {
        Item::Package(package_id) => match ctx.store.ack(&package_id, clock::now())? {
            AckOutcome::Acked => Ok(true),
            AckOutcome::AlreadyAcked => Ok(false),
            AckOutcome::Unknown => Err(Fail::not_found(format!(
                "no received document {id} on this node"
            ))),
        },
        Item::Receipt(receipt) => {
            // The status package first: a failure then leaves the receipt listed, and
            // trying again does both.
            let original = StatusFiles::new(ctx, receipt.issued_at()).original_package(&receipt)?;
            if let Some(original) = original {
                let _ = ctx.store.ack(&original, clock::now())?;
            }
            match ctx.store.collect_receipt(&ctx.organ_id, &receipt.id())? {
                CollectOutcome::Collected => Ok(true),
                CollectOutcome::AlreadyCollected => Ok(false),
                CollectOutcome::NotAddressed | CollectOutcome::Unknown => Err(Fail::not_found(
                    format!("no status message {id} for this agency on this node"),
                )),
            }
        }
    }
}
