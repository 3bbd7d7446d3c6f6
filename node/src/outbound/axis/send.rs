//! Handing one package to the axis for one recipient, exactly once across crashes.
//!
//! 1. A send whose DocId is recorded is done: nothing is sent again.
//! 2. A send started but without a DocId (the node stopped after `sendEdoc` and before
//!    recording its answer, or the answer was lost on the way) is first looked for in
//!    `getSentEdocList`: a send to the same recipient, with the document's notation,
//!    made since the start was recorded, whose DocId no other package of this node
//!    holds. Found, its DocId is recorded and nothing is sent.
//! 3. Otherwise the start is recorded durably, `sendEdoc` carries the exact edXML bytes,
//!    and its DocId is recorded durably before the caller moves the outbox on.
//!
//! Step 2 cannot tell two sends of the same notation to the same recipient in the same
//! window apart: the axis's answers carry no content hash (`vxp-sdk-wire.md` §4.2). The
//! window is what keeps that rare; a duplicate there is a second copy on the axis, never
//! a lost document.

use std::collections::HashSet;
use std::sync::Arc;

use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::{PackageId, Timestamp};
use tracing::{debug, info};

use super::crash::{CrashPoint, crash_point};
use super::{AxisClient, AxisError, MessageType, SentItem};
use crate::clock;
use crate::store::{Store, StoreError};

/// How far before the recorded start a send found in `getSentEdocList` may be dated, for
/// the axis's clock running behind this node's.
const CLOCK_MARGIN_MS: u64 = 5 * 60 * 1000;

/// Why a hand-over did not finish.
#[derive(Debug, thiserror::Error)]
pub enum AxisSendError {
    /// The axis did not take it (unreachable, refused, bad answer).
    #[error(transparent)]
    Axis(#[from] AxisError),
    /// The store could not record a step: nothing may be assumed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What is handed over.
#[derive(Debug, Clone)]
pub struct AxisDocument {
    /// The package it belongs to.
    pub package_id: PackageId,
    /// The recipient, an agency on the axis.
    pub recipient: OrganId,
    /// `edoc` or `status`.
    pub message_type: MessageType,
    /// The exact edXML bytes QLVB submitted.
    pub edxml: Arc<Vec<u8>>,
    /// The document's number and notation (`7816/VPCP-TTĐT`), to find a send whose
    /// answer was lost; empty when it has none (a status).
    pub notation: String,
}

impl AxisDocument {
    /// The document of `package_id` for `recipient`: `edxml` as submitted, its kind and
    /// notation read from it.
    pub fn new(package_id: PackageId, recipient: OrganId, edxml: Arc<Vec<u8>>) -> AxisDocument {
        let parsed = lienthong_protocol::edxml::read(edxml.as_slice().to_vec()).ok();
        let message_type = match parsed.as_ref().map(|p| p.message.kind()) {
            Some(lienthong_protocol::MessageKind::Status) => MessageType::Status,
            _ => MessageType::Edoc,
        };
        let notation = parsed
            .as_ref()
            .and_then(|p| p.message.as_document())
            .and_then(|d| d.code.as_ref())
            .map(|c| format!("{}/{}", c.number, c.notation))
            .unwrap_or_default();
        AxisDocument {
            package_id,
            recipient,
            message_type,
            edxml,
            notation,
        }
    }
}

/// Hands `document` to the axis once; its DocId. See the module docs.
///
/// # Errors
/// [`AxisSendError`]; the start stays recorded, so the next try looks before sending.
pub async fn send_once(
    client: &AxisClient,
    store: &Store,
    document: &AxisDocument,
) -> Result<String, AxisSendError> {
    let package_id = document.package_id;
    let recipient = document.recipient.clone();
    let existing = {
        let recipient = recipient.clone();
        store
            .call(move |s| s.axis_send(&package_id, &recipient))
            .await?
    };
    if let Some(doc_id) = existing.as_ref().and_then(|s| s.doc_id.clone()) {
        return Ok(doc_id);
    }
    if let Some(started) = existing
        && let Some(found) = find_lost_send(client, store, document, started.started_at).await?
    {
        info!(package = %package_id.fmt_short(), %recipient, doc_id = %found, "found in the axis's sent list a send whose answer was lost; not sending again");
        let doc_id = found.clone();
        let recipient = recipient.clone();
        store
            .call(move |s| s.axis_send_handed(&package_id, &recipient, &doc_id, clock::now()))
            .await?;
        return Ok(found);
    }
    let now = clock::now();
    {
        let recipient = recipient.clone();
        store
            .call(move |s| s.axis_send_starting(&package_id, &recipient, now))
            .await?;
    }
    let doc_id = client
        .send_edoc(
            document.edxml.clone(),
            document.message_type,
            recipient.as_str(),
        )
        .await?;
    crash_point(CrashPoint::SentNotRecorded);
    let recorded = {
        let doc_id = doc_id.clone();
        store
            .call(move |s| s.axis_send_handed(&package_id, &recipient, &doc_id, clock::now()))
            .await?
    };
    debug!(package = %package_id.fmt_short(), doc_id = ?recorded.doc_id, "handed to the axis");
    Ok(recorded.doc_id.unwrap_or(doc_id))
}

/// The DocId of a send of `document` made since `started_at`, if the axis lists one.
async fn find_lost_send(
    client: &AxisClient,
    store: &Store,
    document: &AxisDocument,
    started_at: Timestamp,
) -> Result<Option<String>, AxisSendError> {
    let sent = client.sent(document.message_type, None).await?;
    let known: HashSet<String> = store
        .call(|s| s.axis_sends())
        .await?
        .into_iter()
        .filter_map(|s| s.doc_id)
        .collect();
    let since = started_at.as_millis().saturating_sub(CLOCK_MARGIN_MS);
    Ok(sent
        .into_iter()
        .filter(|item| matches(item, document, since, &known))
        .map(|item| item.sender_doc_id)
        .next())
}

fn matches(item: &SentItem, document: &AxisDocument, since: u64, known: &HashSet<String>) -> bool {
    item.to_code == document.recipient.as_str()
        && !item.sender_doc_id.is_empty()
        && !known.contains(&item.sender_doc_id)
        && (document.notation.is_empty()
            || item.notation.is_empty()
            || item.notation == document.notation)
        && axis_time_millis(&item.sent_time).is_none_or(|at| at >= since)
}

/// `yyyy/MM/dd HH:mm:ss` in Vietnam time (how the axis writes times) as Unix
/// milliseconds; `None` for any other form.
fn axis_time_millis(text: &str) -> Option<u64> {
    let text = text.trim();
    let number = |range: std::ops::Range<usize>| -> Option<u32> { text.get(range)?.parse().ok() };
    if text.len() != 19 {
        return None;
    }
    let rfc3339 = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
        number(0..4)?,
        number(5..7)?,
        number(8..10)?,
        number(11..13)?,
        number(14..16)?,
        number(17..19)?
    );
    let local = rfc3339.parse::<Timestamp>().ok()?.as_millis();
    local.checked_sub(7 * 3600 * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_times_are_read_as_vietnam_time() {
        // 2026-12-07 07:19:18 in Vietnam is 00:19:18 UTC.
        assert_eq!(
            axis_time_millis("2026/12/07 07:19:18"),
            Some(1_796_602_758_000)
        );
        assert_eq!(axis_time_millis("07/12/2026"), None);
    }
}
