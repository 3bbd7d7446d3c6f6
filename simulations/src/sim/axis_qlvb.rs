//! The QLVB of an agency that is only on the axis: no lienthong node, only its account on
//! the axis (its `systemid` and secret), spoken to with the SDK's protocol through the
//! node's own [`AxisClient`], which signs every call exactly as the SDK does.
//!
//! It behaves as a careful axis client does:
//!
//! - **Sending** (`submit`): the edXML goes into the QLVB's own outbox, one entry per
//!   recipient, and `sendEdoc` (with `to` that recipient) is tried at once and at every
//!   poll until the axis gives a DocId. An axis that is down or slow delays a send; it
//!   never loses it, and a recipient whose DocId is known is not sent to again.
//! - **Receiving** (`inbox`): `getReceivedEdocList` for documents and for statuses,
//!   `getEdoc` of each, kept (by the axis's DocId, so that a copy listed again after a
//!   `done` whose answer was lost is not taken twice), then `updateStatus done`. For a
//!   document, the QLVB answers its sender with the status 01 (đã đến), as agencies on
//!   the axis do.
//! - **Following** (`copies`): the statuses received about a document it sent, per
//!   recipient, as its sender's view; a status received twice (under two DocIds) is
//!   counted, since it was applied twice.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lienthong_node::outbound::axis::{AxisClient, AxisError, MessageType};
use lienthong_protocol::MessageKind;
use lienthong_protocol::edxml::{self, Message, StatusCode};
use lienthong_protocol::envelope::PackageId;
use sha2::{Digest as _, Sha256};

use super::agency::{Agency, CopyView, InboxItem};

/// Every simulated agency's axis secret: deterministic, so that the test axis, the
/// agency's node (`axis-account.secret`) and its QLVB agree without passing it around.
pub fn axis_secret(organ_id: &str) -> String {
    format!("sim-axis-secret-{organ_id}")
}

/// How long one call to the axis may take (a slowed axis answers well within it).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer read from the axis.
const MAX_ANSWER: u64 = 64 * 1024 * 1024;

/// One recipient's entry in the QLVB's outbox.
#[derive(Debug, Clone)]
struct Outgoing {
    bytes: Arc<Vec<u8>>,
    message_type: MessageType,
    to: String,
    /// The axis's DocId once `sendEdoc` answered.
    doc_id: Option<String>,
    attempts: u32,
    last_error: Option<String>,
}

/// A document this QLVB sent.
#[derive(Debug, Clone)]
struct SentDocument {
    document_id: String,
    recipients: Vec<String>,
    submitted: Instant,
}

/// A status received about a document this QLVB sent.
#[derive(Debug, Clone, Default)]
struct Heard {
    /// Codes, each once.
    codes: BTreeSet<StatusCode>,
    /// Codes received again under another DocId.
    duplicates: u32,
    /// When 01 first came.
    arrived: Option<Instant>,
}

#[derive(Debug, Default)]
struct State {
    /// Pending sends, keyed (package, recipient).
    outbox: BTreeMap<(PackageId, String), Outgoing>,
    /// What it sent, by package.
    sent: HashMap<PackageId, SentDocument>,
    /// Statuses heard, keyed (DocumentId, from).
    heard: HashMap<(String, String), Heard>,
    /// Every axis DocId taken (kept), and whether `done` was said.
    taken: HashMap<String, bool>,
    /// Documents kept, for the final sweep.
    kept: Vec<InboxItem>,
}

/// An agency's QLVB on the axis.
pub struct AxisQlvb {
    organ_id: String,
    client: AxisClient,
    runtime: tokio::runtime::Handle,
    state: Mutex<State>,
}

impl std::fmt::Debug for AxisQlvb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AxisQlvb")
            .field("organ_id", &self.organ_id)
            .finish_non_exhaustive()
    }
}

impl AxisQlvb {
    /// The QLVB of `organ_id`, a client of the axis at `endpoint`; its calls run on
    /// `runtime` (called from that runtime's blocking threads).
    pub fn new(organ_id: &str, endpoint: &str, runtime: tokio::runtime::Handle) -> AxisQlvb {
        AxisQlvb {
            organ_id: organ_id.to_owned(),
            client: AxisClient::new(
                endpoint,
                organ_id,
                &axis_secret(organ_id),
                Duration::from_secs(5),
                REQUEST_TIMEOUT,
                MAX_ANSWER,
            ),
            runtime,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends what waits in the outbox; stops at the first call the axis does not answer.
    fn flush(&self) {
        let waiting: Vec<((PackageId, String), Outgoing)> = self
            .state()
            .outbox
            .iter()
            .filter(|(_, o)| o.doc_id.is_none())
            .map(|(k, o)| (k.clone(), o.clone()))
            .collect();
        for (key, outgoing) in waiting {
            let answer = self.runtime.block_on(self.client.send_edoc(
                outgoing.bytes.clone(),
                outgoing.message_type,
                &outgoing.to,
            ));
            let mut state = self.state();
            let Some(entry) = state.outbox.get_mut(&key) else {
                continue;
            };
            entry.attempts += 1;
            match answer {
                Ok(doc_id) => {
                    entry.doc_id = Some(doc_id);
                    entry.last_error = None;
                }
                Err(e) => {
                    let unreachable = matches!(e, AxisError::Unreachable(_));
                    tracing::debug!(qlvb = %self.organ_id, to = %outgoing.to, error = %e, "sendEdoc failed; kept for the next poll");
                    entry.last_error = Some(e.to_string());
                    if unreachable {
                        return;
                    }
                }
            }
        }
    }

    /// Puts `bytes` in the outbox for each of `to`, as `message_type`, under `package`.
    fn queue(&self, package: PackageId, bytes: Vec<u8>, message_type: MessageType, to: &[String]) {
        let bytes = Arc::new(bytes);
        let mut state = self.state();
        for recipient in to {
            state
                .outbox
                .entry((package, recipient.clone()))
                .or_insert_with(|| Outgoing {
                    bytes: bytes.clone(),
                    message_type,
                    to: recipient.clone(),
                    doc_id: None,
                    attempts: 0,
                    last_error: None,
                });
        }
    }

    /// Takes what the axis lists for this agency, of `message_type`.
    fn take(&self, message_type: MessageType, items: &mut Vec<InboxItem>) -> Result<(), String> {
        let listed = self
            .runtime
            .block_on(self.client.received(message_type))
            .map_err(|e| e.to_string())?;
        for item in listed {
            let known = self.state().taken.get(&item.doc_id).copied();
            if known.is_none() {
                let bytes = self
                    .runtime
                    .block_on(self.client.get_edoc(&item.doc_id))
                    .map_err(|e| e.to_string())?;
                if let Some(kept) = self.keep(&item.doc_id, bytes) {
                    items.push(kept);
                }
            }
            if known != Some(true) {
                match self
                    .runtime
                    .block_on(self.client.update_status(&item.doc_id, "done"))
                {
                    Ok(()) => {
                        self.state().taken.insert(item.doc_id.clone(), true);
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        Ok(())
    }

    /// Keeps one item fetched from the axis; what QLVB's user sees, if anything.
    fn keep(&self, doc_id: &str, bytes: Vec<u8>) -> Option<InboxItem> {
        let package = package_of(&bytes, doc_id.as_bytes());
        let read = edxml::read(bytes.clone());
        self.state().taken.insert(doc_id.to_owned(), false);
        let message = match read {
            Ok(read) => read.message,
            Err(e) => {
                tracing::warn!(qlvb = %self.organ_id, %doc_id, error = %e, "not edXML; taken and set aside");
                return None;
            }
        };
        let document_id = message.document_id().map(str::to_owned);
        match &message {
            Message::Document(document) => {
                let item = InboxItem {
                    package_id: package,
                    kind: MessageKind::Edoc,
                    document_id: document_id.clone(),
                };
                self.state().kept.push(item.clone());
                // The status 01 its sender expects, through the axis.
                if let Some(id) = &document_id {
                    let sender = document.from.organ_id.to_string();
                    match super::messages::status(&self.organ_id, &sender, id, StatusCode::Arrived)
                    {
                        Ok(status) => {
                            let package = package_of(&status, b"01");
                            self.queue(package, status, MessageType::Status, &[sender]);
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot write a status 01"),
                    }
                }
                Some(item)
            }
            Message::Status(status) => {
                let from = status.from.organ_id.to_string();
                if let Some(id) = &document_id {
                    let mut state = self.state();
                    let heard = state.heard.entry((id.clone(), from)).or_default();
                    if !heard.codes.insert(status.code) {
                        heard.duplicates += 1;
                    }
                    if status.code == StatusCode::Arrived && heard.arrived.is_none() {
                        heard.arrived = Some(Instant::now());
                    }
                }
                Some(InboxItem {
                    package_id: package,
                    kind: MessageKind::Status,
                    document_id,
                })
            }
        }
    }
}

/// A package id for what this QLVB handles: the SHA-256 of the bytes and `salt`.
fn package_of(bytes: &[u8], salt: &[u8]) -> PackageId {
    let mut hash = Sha256::new();
    hash.update(bytes);
    hash.update(salt);
    PackageId::from_bytes(hash.finalize().into())
}

impl Agency for AxisQlvb {
    fn submit(&self, body: Vec<u8>) -> Result<PackageId, String> {
        let read = edxml::read(body.clone()).map_err(|e| format!("not edXML: {e}"))?;
        let message = read.message;
        let package = package_of(&body, b"");
        let to: Vec<String> = message.addressees().iter().map(|o| o.to_string()).collect();
        let message_type = match message.kind() {
            MessageKind::Edoc => MessageType::Edoc,
            MessageKind::Status => MessageType::Status,
        };
        if let (MessageKind::Edoc, Some(id)) = (message.kind(), message.document_id()) {
            self.state()
                .sent
                .entry(package)
                .or_insert_with(|| SentDocument {
                    document_id: id.to_owned(),
                    recipients: to.clone(),
                    submitted: Instant::now(),
                });
        }
        self.queue(package, body, message_type, &to);
        self.flush();
        Ok(package)
    }

    fn inbox(&self, all: bool) -> Result<Vec<InboxItem>, String> {
        if all {
            return Ok(self.state().kept.clone());
        }
        self.flush();
        let mut items = Vec::new();
        let documents = self.take(MessageType::Edoc, &mut items);
        let statuses = self.take(MessageType::Status, &mut items);
        // The 01s just queued go out now, if the axis answers.
        self.flush();
        match (documents, statuses, items.is_empty()) {
            (Err(e), _, true) | (_, Err(e), true) => Err(e),
            _ => Ok(items),
        }
    }

    fn ack(&self, _id: &PackageId) -> Result<(), String> {
        // Taken from the axis already: `updateStatus done` was said in `inbox`.
        Ok(())
    }

    fn copies(&self, package: &PackageId) -> Result<Vec<CopyView>, String> {
        let state = self.state();
        let sent = state.sent.get(package).ok_or("not a document sent here")?;
        Ok(sent
            .recipients
            .iter()
            .map(|recipient| {
                let heard = state
                    .heard
                    .get(&(sent.document_id.clone(), recipient.clone()))
                    .cloned()
                    .unwrap_or_default();
                let delivery = state
                    .outbox
                    .get(&(*package, recipient.clone()))
                    .map_or_else(
                        || "not in the outbox".to_owned(),
                        |o| match (&o.doc_id, &o.last_error) {
                            (Some(id), _) => format!("sent through the axis, DocId {id}"),
                            (None, Some(e)) => {
                                format!("waiting for the axis, {} attempts, last: {e}", o.attempts)
                            }
                            (None, None) => "waiting for the axis".to_owned(),
                        },
                    );
                CopyView {
                    recipient: recipient.clone(),
                    latency_01_ms: heard
                        .arrived
                        .map(|at| at.duration_since(sent.submitted).as_millis() as u64),
                    codes: heard.codes.iter().copied().collect(),
                    status_duplicates: heard.duplicates,
                    delivery,
                }
            })
            .collect())
    }
}
