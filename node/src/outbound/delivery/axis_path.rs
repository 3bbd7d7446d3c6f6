//! The axis path of a delivery: for a recipient that is not a member but is in the axis's
//! directory, the package's exact edXML bytes are handed to the axis exactly once
//! (`outbound::axis::send_once`), and the outbox entry moves to `handed_to_axis` only
//! after the axis's DocId is durably recorded.

use std::sync::Arc;

use lienthong_protocol::envelope::SignedPackage;
use tracing::{info, warn};

use crate::clock;
use crate::context::NodeContext;
use crate::outbound::axis::{AxisClient, AxisDocument, AxisSendError, send_once};
use crate::store::{DeliveryState, OutboxEntry};

/// Why the axis did not take the package: the outbox's `last_error` (`axis_unreachable`
/// or the axis's own text), and whether the axis may take it later unprompted.
#[derive(Debug)]
pub(super) struct NotHanded {
    pub(super) reason: String,
    pub(super) transient: bool,
}

/// Hands `package` to the axis for `entry`'s recipient and records `handed_to_axis`.
///
/// # Errors
/// [`NotHanded`]: the caller records the failed attempt and plans the next.
pub(super) async fn hand_to_axis(
    ctx: &Arc<NodeContext>,
    client: &AxisClient,
    entry: OutboxEntry,
    package: &SignedPackage,
) -> Result<(), NotHanded> {
    let document = AxisDocument::new(
        package.id(),
        entry.recipient.clone(),
        Arc::new(package.content().to_vec()),
    );
    let doc_id = match send_once(client, &ctx.store, &document).await {
        Ok(doc_id) => doc_id,
        Err(AxisSendError::Axis(e)) => {
            if !e.is_transient() {
                warn!(package = %package.id(), recipient = %entry.recipient, error = %e, "the axis refused a package");
            }
            return Err(NotHanded {
                reason: e.reason(),
                transient: e.is_transient(),
            });
        }
        Err(AxisSendError::Store(e)) => {
            return Err(NotHanded {
                reason: format!("the axis send could not be recorded: {e}"),
                transient: true,
            });
        }
    };
    let mut handed = entry;
    handed.state = DeliveryState::HandedToAxis;
    handed.attempts = handed.attempts.saturating_add(1);
    handed.last_error = None;
    handed.delivered_at = Some(clock::now());
    let recipient = handed.recipient.clone();
    // `KeptFinal` cannot happen here (nothing else ends an axis recipient's delivery
    // yet); either way the DocId is recorded and the engine is done with it.
    let _ = ctx
        .store
        .call(move |store| store.update_outbox(&handed))
        .await
        .map_err(|e| NotHanded {
            reason: format!("the outbox could not record the hand-over: {e}"),
            transient: true,
        })?;
    info!(
        target: "lienthong::events::handed_to_axis",
        package = %package.id(),
        recipient = %recipient,
        %doc_id,
        "handed to the axis"
    );
    Ok(())
}
