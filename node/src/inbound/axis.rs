//! Documents and statuses that reach this agency through the axis, from agencies not yet on
//! lienthong (`docs/axis-bridge.md`, inbound).
//!
//! Every `[axis] poll_interval` the node lists what the axis holds for its agency
//! (`getReceivedEdocList`, documents then statuses) and takes each item in four durable
//! steps, so that a crash anywhere loses nothing and applies nothing twice:
//!
//! 1. **Seen**: the DocId and the time are recorded before `getEdoc`. That time is the
//!    inbox package's and the receipt 01's, and ed25519 signatures are deterministic, so
//!    a re-run after a crash builds the very same package and the store answers
//!    `Duplicate`.
//! 2. **Stored**: the exact bytes `getEdoc` gave go into the inbox QLVB already reads, in
//!    a package this node signs for its own store (sender: the edXML's `From`), with this
//!    agency's receipt 01; the DocId is kept beside it. For a document, the status 01 the
//!    sender's QLVB expects goes back through the axis as a status message; for a status
//!    about a document this agency sent through the axis, it joins that recipient's
//!    timeline as the axis's word.
//! 3. **Done**: only then is the axis told `updateStatus done` (or `fail`, with the reason
//!    recorded, for what cannot be taken: not edXML, not for this agency).
//! 4. **Settled**: recorded, so a `done` whose answer was lost is said again, not more.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use lienthong_protocol::edxml::{self, EdxmlDate, EdxmlDateTime, Message, Organization, Status};
use lienthong_protocol::envelope::{
    PackageFields, ReceiptFields, SignedPackage, SignedReceipt, Timestamp,
};
use lienthong_protocol::{OrganId, StatusCode};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::clock;
use crate::context::NodeContext;
use crate::outbound::axis::crash::{CrashPoint, crash_point};
use crate::outbound::axis::{AxisClient, AxisError, MessageType, ReceivedItem};
use crate::outbound::delivery::DeliveryHandle;
use crate::receipts::ReceiptsHandle;
use crate::store::{AxisArrival, AxisReport, InboxEntry, IncomingOutcome, StoreError};

/// At most this many items are taken per list per round, so one round stays bounded
/// whatever the axis holds; the rest wait for the next round.
const ROUND: usize = 256;

/// What one round took.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Round {
    /// Documents and statuses stored in the inbox.
    pub(crate) stored: usize,
    /// Items refused (`fail` said to the axis).
    pub(crate) refused: usize,
}

/// Why an item could not be taken this round; it stays on the axis for the next.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TakeError {
    /// The axis did not answer as it should.
    #[error(transparent)]
    Axis(#[from] AxisError),
    /// The store could not record a step: nothing may be assumed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The node's side of the axis inbound: what it needs to store and answer.
#[derive(Debug, Clone)]
pub(crate) struct AxisInbound {
    ctx: Arc<NodeContext>,
    client: AxisClient,
    delivery: DeliveryHandle,
    receipts: ReceiptsHandle,
}

impl AxisInbound {
    /// Inbound from the axis of `client`, for the node of `ctx`.
    pub(crate) fn new(
        ctx: Arc<NodeContext>,
        client: AxisClient,
        delivery: DeliveryHandle,
        receipts: ReceiptsHandle,
    ) -> AxisInbound {
        AxisInbound {
            ctx,
            client,
            delivery,
            receipts,
        }
    }

    /// Takes what the axis holds now, then every `interval`, until `shutdown`.
    pub(crate) async fn poll(self, interval: Duration, shutdown: CancellationToken) {
        loop {
            match self.round().await {
                Ok(round) if round != Round::default() => {
                    debug!(
                        stored = round.stored,
                        refused = round.refused,
                        "axis inbound round"
                    );
                }
                Ok(_) => {}
                // The axis away is the outbound side's `axis_unreachable` to report; the
                // items wait on the axis.
                Err(problem) => debug!(%problem, "axis inbound round stopped"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// One round: documents, then statuses.
    ///
    /// # Errors
    /// [`TakeError`] that stopped the round; what was taken before it stays taken.
    pub(crate) async fn round(&self) -> Result<Round, TakeError> {
        let mut round = Round::default();
        for message_type in [MessageType::Edoc, MessageType::Status] {
            let items = self.client.received(message_type).await?;
            for item in items.iter().take(ROUND) {
                match self.take(item, message_type).await? {
                    Taken::Stored => round.stored += 1,
                    Taken::Refused => round.refused += 1,
                    Taken::SettledBefore => {}
                }
            }
        }
        Ok(round)
    }

    /// Takes one item through the four steps of the module docs.
    async fn take(&self, item: &ReceivedItem, listed_as: MessageType) -> Result<Taken, TakeError> {
        let arrival = {
            let (doc_id, from) = (item.doc_id.clone(), item.from.clone());
            self.ctx
                .store
                .call(move |s| {
                    s.axis_arrival_seen(&doc_id, &from, listed_as.as_str(), clock::now())
                })
                .await?
        };
        let taken = if arrival.settled_at.is_some() {
            // Told before; the axis lists it still, so its answer was lost.
            Taken::SettledBefore
        } else if arrival.package_id.is_some() {
            Taken::Stored
        } else if arrival.refused.is_some() {
            Taken::Refused
        } else {
            let bytes = self.client.get_edoc(&item.doc_id).await?;
            crash_point(CrashPoint::GotNotStored);
            let this = self.clone();
            let seen = arrival.clone();
            let outcome = crate::tasks::blocking(move || this.store(&seen, Bytes::from(bytes)))
                .await
                .map_err(StoreError::Task)??;
            let (doc_id, recorded) = (item.doc_id.clone(), outcome.clone());
            self.ctx
                .store
                .call(move |s| s.axis_arrival_outcome(&doc_id, recorded))
                .await?;
            match outcome {
                Ok(_) => Taken::Stored,
                Err(reason) => {
                    warn!(doc_id = %item.doc_id, from = %item.from, %reason, "refused a document from the axis");
                    Taken::Refused
                }
            }
        };
        crash_point(CrashPoint::StoredNotDone);
        let refused = taken == Taken::Refused || arrival.refused.is_some();
        self.client
            .update_status(&item.doc_id, if refused { "fail" } else { "done" })
            .await?;
        let doc_id = item.doc_id.clone();
        self.ctx
            .store
            .call(move |s| s.axis_arrival_settled(&doc_id, clock::now()))
            .await?;
        Ok(taken)
    }

    /// Stores `bytes` as the inbox package of `arrival`, with this agency's receipt 01, and
    /// queues what answers it. Blocking. `Ok(Err(reason))` is a refusal: the bytes cannot
    /// be taken, whatever is tried.
    fn store(
        &self,
        arrival: &AxisArrival,
        bytes: Bytes,
    ) -> Result<Result<lienthong_protocol::PackageId, String>, StoreError> {
        let ctx = &self.ctx;
        let options = edxml::ReadOptions {
            max_size: usize::try_from(ctx.limits.max_content_len).unwrap_or(usize::MAX),
            ..edxml::ReadOptions::default()
        };
        let parsed = match edxml::read_with(bytes.clone(), &options) {
            Ok(parsed) => parsed,
            Err(e) => return Ok(Err(format!("not valid edXML: {e}"))),
        };
        let message = &parsed.message;
        let from = message.from().clone();
        if !message.addressees().contains(&&ctx.organ_id) {
            return Ok(Err(format!("not addressed to {}", ctx.organ_id)));
        }
        if from == ctx.organ_id {
            return Ok(Err(format!("its From is this agency, {from}")));
        }
        let at = arrival.seen_at;
        let package = match SignedPackage::sign(
            ctx.identity.agency_key(),
            PackageFields {
                sender: from.clone(),
                recipients: vec![ctx.organ_id.clone()],
                kind: message.kind(),
                created_at: at,
            },
            bytes,
            &ctx.limits,
        ) {
            Ok(package) => package,
            Err(e) => return Ok(Err(format!("cannot be kept: {e}"))),
        };
        let document_id = message.document_id().map(str::to_owned);
        let receipt = match SignedReceipt::sign(
            ctx.identity.agency_key(),
            ReceiptFields {
                package_id: package.id(),
                sender: from.clone(),
                recipient: ctx.organ_id.clone(),
                document_id: document_id.clone(),
                code: StatusCode::Arrived,
                issued_at: at,
                description: None,
            },
            &ctx.limits,
        ) {
            Ok(receipt) => receipt,
            Err(e) => return Ok(Err(format!("cannot be acknowledged: {e}"))),
        };
        let entry = InboxEntry {
            package_id: package.id(),
            from: from.clone(),
            kind: package.kind(),
            document_id,
            received_at: at,
            acked_at: None,
        };
        let index = crate::receipts::index::package_index(&ctx.store, &from, message)?;
        ctx.store
            .axis_arrival_names(&package.id(), &arrival.doc_id)?;
        match ctx
            .store
            .accept_incoming_indexed(&package, &entry, &receipt, &index)?
        {
            IncomingOutcome::Stored => {
                ctx.metrics.packages_received.inc();
                self.receipts.signed_on_arrival();
                info!(
                    target: "lienthong::events::received",
                    package = %package.id(),
                    %from,
                    doc_id = %arrival.doc_id,
                    via = "axis",
                    bytes = package.content().len(),
                    "package received"
                );
            }
            IncomingOutcome::Duplicate(_) => {
                debug!(package = %package.id(), doc_id = %arrival.doc_id, "taken from the axis before");
            }
        }
        match message {
            Message::Document(document) => self.answer_arrived(document, &from, at)?,
            Message::Status(status) => self.note_status(status, &from, at)?,
        }
        Ok(Ok(package.id()))
    }

    /// Sends the status 01 the document's sender expects back through the axis, as this
    /// agency's QLVB would: submitted like any status, so it is the same bytes (and the
    /// same package) on every re-run.
    fn answer_arrived(
        &self,
        document: &edxml::Document,
        from: &OrganId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let ctx = &self.ctx;
        let Some(document_id) = document.document_id_or_derived() else {
            debug!(%from, "a document from the axis without DocumentId: no status 01 sent");
            return Ok(());
        };
        let mut organization = Organization::new(ctx.organ_id.clone());
        organization.organ_name = Some(ctx.config.name.clone());
        let mut status = Status::about_document(
            organization,
            from.clone(),
            document_id,
            StatusCode::Arrived,
            None,
        );
        status.response_for.code = document
            .code
            .as_ref()
            .map(|c| format!("{}/{}", c.number, c.notation));
        status.response_for.promulgation_date = document.promulgation.as_ref().and_then(|p| p.date);
        status.timestamp = vietnam_time(at);
        let bytes = match edxml::write(&Message::Status(Box::new(status))) {
            Ok(bytes) => bytes,
            Err(e) => {
                warn!(%from, error = %e, "cannot write the status 01 for a document from the axis");
                return Ok(());
            }
        };
        match crate::api::submit::submit(ctx, &self.delivery, &self.receipts, Bytes::from(bytes)) {
            Ok(submission) => {
                debug!(package = %submission.package_id.fmt_short(), %from, "status 01 queued for the axis");
                Ok(())
            }
            Err(crate::api::submit::SubmitError::Store(e)) => Err(e),
            Err(e) => {
                warn!(%from, error = %e, "the status 01 for a document from the axis was not accepted");
                Ok(())
            }
        }
    }

    /// A status from an agency on the axis about a document this agency sent it through
    /// the axis joins that recipient's timeline, as the axis's word (no signature of the
    /// recipient stands behind it).
    fn note_status(
        &self,
        status: &Status,
        from: &OrganId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let ctx = &self.ctx;
        if status.response_for.organ_id != ctx.organ_id {
            return Ok(());
        }
        let Some(package_id) =
            crate::receipts::issue::sent_document(ctx, from, &status.response_for)?
        else {
            debug!(%from, code = %status.code, "a status from the axis about no document sent through it");
            return Ok(());
        };
        if ctx.store.axis_send(&package_id, from)?.is_none() {
            return Ok(());
        }
        let report = AxisReport {
            status: status.code.to_string(),
            axis_time: status.timestamp.map(|t| t.to_string()).unwrap_or_default(),
            learned_at: at,
        };
        if ctx.store.axis_report(&package_id, from, &report)? {
            info!(package = %package_id, recipient = %from, code = %status.code, "a status came back through the axis");
        }
        Ok(())
    }
}

/// What became of one listed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Taken {
    Stored,
    Refused,
    SettledBefore,
}

/// `at` as an edXML time, in Vietnam (UTC+7), as QLVB software writes it.
fn vietnam_time(at: Timestamp) -> Option<EdxmlDateTime> {
    let local = Timestamp::from_millis(at.as_millis() + 7 * 3600 * 1000).to_string();
    let number = |range: std::ops::Range<usize>| -> Option<u16> { local.get(range)?.parse().ok() };
    let date = EdxmlDate::new(
        number(0..4)?,
        u8::try_from(number(5..7)?).ok()?,
        u8::try_from(number(8..10)?).ok()?,
    )?;
    EdxmlDateTime::new(
        date,
        u8::try_from(number(11..13)?).ok()?,
        u8::try_from(number(14..16)?).ok()?,
        u8::try_from(number(17..19)?).ok()?,
    )
}
