//! `GET /api/v1/relay`: on a relay, what it holds and for whom; on any node, its own
//! relays and whether it holds a reservation on each.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::roster::Role;
use serde::Serialize;

use super::ApiState;
use super::error::ApiError;
use crate::clock;
use crate::context::NodeContext;

/// The relay view.
#[derive(Debug, Serialize)]
pub(crate) struct RelayView {
    /// Whether this node is a relay.
    relay: bool,
    /// Packages held for members (relays only; 0 elsewhere).
    held: u64,
    /// Their sealed bytes.
    held_bytes: u64,
    /// Receipts waiting to be forwarded to the agencies they are for.
    forward: u64,
    /// On a relay: the agencies that name it, with what is held for each.
    members: Vec<MemberView>,
    /// The relays this agency names, and whether it holds a reservation on each now.
    own_relays: Vec<OwnRelayView>,
}

/// One member of a relay.
#[derive(Debug, Serialize)]
pub(crate) struct MemberView {
    organ_id: OrganId,
    name: String,
    connected: bool,
    held: u64,
    held_bytes: u64,
    /// When the oldest package held for it was taken.
    #[serde(serialize_with = "super::time::rfc3339_opt")]
    oldest: Option<Timestamp>,
}

/// One of this agency's relays.
#[derive(Debug, Serialize)]
pub(crate) struct OwnRelayView {
    organ_id: OrganId,
    connected: bool,
    reservation: bool,
}

pub(super) async fn view(State(state): State<ApiState>) -> Result<Json<RelayView>, ApiError> {
    relay_view(state.ctx).await.map(Json)
}

/// What this node holds as a relay, and its own relays. Shared with the dashboard.
pub(super) async fn relay_view(ctx: Arc<NodeContext>) -> Result<RelayView, ApiError> {
    let peers = ctx
        .network
        .connected_peers()
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let connected: std::collections::HashSet<_> = peers
        .iter()
        .filter(|p| p.connected)
        .map(|p| p.peer_id)
        .collect();
    let reservations = ctx
        .network
        .reservations()
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let is_relay = ctx.config.role == Role::Relay;
    let store = ctx.store.clone();
    let (counts, summary) = tokio::task::spawn_blocking(move || {
        Ok::<_, crate::store::StoreError>((store.relay_counts()?, store.mailbox_summary()?))
    })
    .await??;
    let now = clock::now();
    let roster = ctx.roster();
    let mut members = Vec::new();
    let mut own_relays = Vec::new();
    if let Some(roster) = &roster {
        if is_relay {
            for member in roster.members() {
                if !member.record.relays.contains(&ctx.organ_id) {
                    continue;
                }
                let held = summary
                    .iter()
                    .find(|s| s.recipient == member.record.organ_id);
                members.push(MemberView {
                    organ_id: member.record.organ_id.clone(),
                    name: member.record.name.clone(),
                    connected: connected.contains(&member.peer_id),
                    held: held.map_or(0, |h| h.held),
                    held_bytes: held.map_or(0, |h| h.bytes),
                    oldest: held.map(|h| h.oldest),
                });
            }
        }
        for relay in roster.relays_of(&ctx.organ_id, now) {
            own_relays.push(OwnRelayView {
                organ_id: relay.record.organ_id.clone(),
                connected: connected.contains(&relay.peer_id),
                reservation: reservations.contains(&relay.peer_id),
            });
        }
    }
    Ok(RelayView {
        relay: is_relay,
        held: counts.held,
        held_bytes: counts.held_bytes,
        forward: counts.forward,
        members,
        own_relays,
    })
}
