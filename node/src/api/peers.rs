//! `GET /api/v1/peers`, `GET /health` and `GET /metrics`.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tracing::warn;

use super::ApiState;
use super::error::ApiError;
use crate::context::NodeContext;

/// One federation member as this node sees it.
#[derive(Debug, Serialize)]
pub(crate) struct PeerView {
    organ_id: Option<String>,
    name: Option<String>,
    peer_id: String,
    role: Option<lienthong_protocol::roster::Role>,
    connected: bool,
    /// Connected through a relay's circuit only (no direct connection).
    relayed: bool,
    /// The relays this member names in the roster.
    relays: Vec<String>,
    /// For a relay: whether this node holds a reservation on it now.
    reservation: bool,
    addresses: Vec<String>,
    rtt_ms: Option<u64>,
    agent: Option<String>,
    /// `true` for this node itself.
    this_node: bool,
    /// `active`, or why the member is not: revoked, expired, not yet valid.
    standing: String,
}

pub(super) async fn list(State(state): State<ApiState>) -> Result<Json<Vec<PeerView>>, ApiError> {
    peer_views(&state.ctx).await.map(Json)
}

/// Every roster member, and every connected peer outside it, with its connection now.
/// Shared with the dashboard.
pub(super) async fn peer_views(ctx: &NodeContext) -> Result<Vec<PeerView>, ApiError> {
    let known = ctx
        .network
        .known_peers()
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let mut by_peer: HashMap<_, _> = known.into_iter().map(|p| (p.peer_id, p)).collect();
    let reservations = ctx
        .network
        .reservations()
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let local = ctx.network.local_peer_id();
    let mut views = Vec::new();
    let now = crate::clock::now();
    if let Some(roster) = ctx.roster() {
        for member in roster.members() {
            let info = by_peer.remove(&member.peer_id);
            views.push(PeerView {
                organ_id: Some(member.record.organ_id.to_string()),
                name: Some(member.record.name.clone()),
                peer_id: member.peer_id.to_string(),
                role: Some(member.record.role),
                connected: info.as_ref().is_some_and(|i| i.connected),
                relayed: info.as_ref().is_some_and(|i| i.relayed),
                relays: member
                    .record
                    .relays
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                reservation: reservations.contains(&member.peer_id),
                addresses: info
                    .as_ref()
                    .map(|i| i.addresses.iter().map(ToString::to_string).collect())
                    .unwrap_or_else(|| member.record.addresses.clone()),
                rtt_ms: info
                    .as_ref()
                    .and_then(|i| i.rtt)
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                agent: info.and_then(|i| i.agent_version),
                this_node: member.peer_id == local,
                standing: member.record.status_at(now).to_string(),
            });
        }
    }
    // Peers outside the roster that are connected (for instance found by mDNS).
    for info in by_peer.into_values().filter(|i| i.connected) {
        views.push(PeerView {
            organ_id: None,
            name: None,
            peer_id: info.peer_id.to_string(),
            role: None,
            connected: true,
            relayed: info.relayed,
            relays: Vec::new(),
            reservation: false,
            addresses: info.addresses.iter().map(ToString::to_string).collect(),
            rtt_ms: info
                .rtt
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            agent: info.agent_version,
            this_node: false,
            standing: "not a member".to_owned(),
        });
    }
    Ok(views)
}

/// Prometheus text. Served without the token, like `/health`, so that a monitoring
/// system needs no secret; it holds counters, no document content.
///
/// The gauges that describe the node now (store size and records, peers, stuck) are read
/// here, at each scrape, so they are never older than the scrape itself. A part that cannot
/// be read keeps its last value (and the rest is still served): a scrape must not fail
/// because the network loop is busy.
pub(super) async fn metrics(State(state): State<ApiState>) -> impl axum::response::IntoResponse {
    let ctx = &state.ctx;
    let store = ctx.store.clone();
    let read = tokio::task::spawn_blocking(move || {
        let size = store.size_on_disk()?;
        let counts = store.counts()?;
        let stuck = crate::outbound::delivery::stuck::list(&store, crate::clock::now())?.len();
        Ok::<_, crate::store::StoreError>((size, counts, stuck))
    })
    .await;
    ctx.metrics
        .store_writable
        .set(i64::from(ctx.store.failure().is_none()));
    match read {
        Ok(Ok((size, counts, stuck))) => {
            ctx.metrics.set_store(size, &counts);
            ctx.metrics
                .stuck
                .set(i64::try_from(stuck).unwrap_or(i64::MAX));
        }
        Ok(Err(e)) => warn!(error = %e, "metrics: cannot read the store"),
        Err(e) => warn!(error = %e, "metrics: store task failed"),
    }
    let counters = ctx.network.wire_counters();
    ctx.metrics.set_limited(
        counters.inbound_limited.load(Ordering::Relaxed),
        counters.outbound_limited.load(Ordering::Relaxed),
    );
    match ctx.network.connected_peers().await {
        Ok(peers) => {
            let connected = peers.iter().filter(|p| p.connected).count();
            let relayed = peers.iter().filter(|p| p.connected && p.relayed).count();
            ctx.metrics.set_peers(connected, relayed);
        }
        Err(e) => warn!(error = %e, "metrics: cannot list peers"),
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.ctx.metrics.render(),
    )
}

#[derive(Debug, Serialize)]
pub(super) struct Health {
    /// `ok`, or `store_unwritable` while the store takes no writes.
    status: &'static str,
    /// Why the store takes no writes, and since when: present only then.
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<StoreHealth>,
    organ_id: String,
    peer_id: String,
    /// The root section's serial.
    roster_serial: Option<u64>,
    /// Every section's serial, by signer key.
    roster_version: Option<lienthong_protocol::roster::RosterVersion>,
    /// Outbox entries not yet delivered or refused.
    pending_deliveries: Option<u64>,
    /// Received packages QLVB has not acknowledged.
    inbox_unacked: Option<u64>,
    version: &'static str,
    /// The store's schema version (the running binary migrated the store to it on start).
    schema_version: u32,
}

/// Why the store takes no writes.
#[derive(Debug, Serialize)]
pub(crate) struct StoreHealth {
    /// `no_space`, `too_many_open_files` or `io_error`.
    problem: &'static str,
    /// What the file system said, e.g. "No space left on device (os error 28)".
    cause: String,
    /// The write that failed.
    op: String,
    /// When, RFC 3339.
    since: String,
}

impl StoreHealth {
    /// The store's failure, if it has one.
    pub(crate) fn of(store: &crate::store::Store) -> Option<StoreHealth> {
        use crate::store::FailureKind;
        let failure = store.failure()?;
        Some(StoreHealth {
            problem: match failure.kind {
                FailureKind::NoSpace => "no_space",
                FailureKind::TooManyOpenFiles => "too_many_open_files",
                FailureKind::Other => "io_error",
            },
            cause: failure.cause.clone(),
            op: failure.op.clone(),
            since: crate::clock::at(failure.at).to_string(),
        })
    }
}

/// `200 {"status":"ok",…}`, or `503 {"status":"store_unwritable","store":{…},…}` while the
/// store takes no writes: a monitoring probe sees the node cannot accept anything.
pub(super) async fn health(
    State(state): State<ApiState>,
) -> (axum::http::StatusCode, Json<Health>) {
    let ctx = &state.ctx;
    let store = ctx.store.clone();
    let counts = tokio::task::spawn_blocking(move || store.counts())
        .await
        .ok()
        .and_then(Result::ok);
    let unwritable = StoreHealth::of(&ctx.store);
    let code = if unwritable.is_some() {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    } else {
        axum::http::StatusCode::OK
    };
    let health = Health {
        status: if unwritable.is_some() {
            "store_unwritable"
        } else {
            "ok"
        },
        store: unwritable,
        organ_id: ctx.organ_id.to_string(),
        peer_id: ctx.network.local_peer_id().to_string(),
        roster_serial: ctx.roster().map(|r| r.serial()),
        roster_version: ctx.roster().map(|r| r.version()),
        pending_deliveries: counts.as_ref().map(|c| c.pending_outbox),
        inbox_unacked: counts.as_ref().map(|c| c.inbox_unacked),
        version: env!("CARGO_PKG_VERSION"),
        schema_version: crate::store::SCHEMA_VERSION,
    };
    (code, Json(health))
}
