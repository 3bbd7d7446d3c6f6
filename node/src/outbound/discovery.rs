//! Finding an agency's node when the roster's address hints are stale: each node publishes
//! a signed record `OrganId → peer id and current addresses` in the Kademlia DHT, and a
//! sender that cannot dial a recipient looks the record up.
//!
//! Records are signed with the agency key and checked against the roster before use, so a
//! peer cannot redirect an agency's traffic by publishing a record for it.

use std::sync::Arc;
use std::time::Duration;

use libp2p::Multiaddr;
use lienthong_protocol::OrganId;
use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::keys::{PUBLIC_KEY_LEN, PublicKey, SIGNATURE_LEN, Signature};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::clock;
use crate::context::NodeContext;
use crate::tasks::Wake;

/// Signing domain of presence records.
const PRESENCE_DOMAIN: &[u8] = b"lienthong/presence/v1";

/// How often a node republishes its record (Kademlia records expire).
const REPUBLISH: Duration = Duration::from_secs(300);

#[derive(Debug, Serialize, Deserialize)]
struct Presence {
    organ_id: OrganId,
    peer_id: String,
    addresses: Vec<String>,
    at: Timestamp,
}

fn key(organ_id: &OrganId) -> Vec<u8> {
    format!("/lienthong/organ/{organ_id}").into_bytes()
}

fn signed_message(payload: &[u8]) -> Vec<u8> {
    [PRESENCE_DOMAIN, payload].concat()
}

/// Publishes this node's record now and every few minutes, until `shutdown`.
pub(crate) async fn publish(ctx: Arc<NodeContext>, shutdown: CancellationToken) {
    let mut wake = Wake::until(shutdown).every(REPUBLISH);
    while wake.next().await.is_some() {
        let Ok(addresses) = ctx.network.listen_addrs().await else {
            return;
        };
        let presence = Presence {
            organ_id: ctx.organ_id.clone(),
            peer_id: ctx.network.local_peer_id().to_string(),
            addresses: addresses.iter().map(ToString::to_string).collect(),
            at: clock::now(),
        };
        let Ok(payload) = serde_json::to_vec(&presence) else {
            continue;
        };
        let key_pair = ctx.identity.agency_key();
        let signature = key_pair.sign(&signed_message(&payload));
        let value = [
            key_pair.public_key().as_bytes().as_slice(),
            signature.as_bytes(),
            &payload,
        ]
        .concat();
        match ctx.network.kad_put(key(&ctx.organ_id), value).await {
            Ok(()) => debug!("presence record published"),
            // A node with no peers yet stores it locally only; that is expected.
            Err(e) => debug!(error = %e, "presence record not replicated"),
        }
    }
}

/// How often one agency may be looked up in the DHT. Every failed dial asked before, and
/// a DHT query reaches dozens of nodes: deliveries and receipt handovers retrying every
/// few seconds towards a node that was down kept a national federation busy with queries
/// and connections to everyone.
const LOOKUP_INTERVAL: Duration = Duration::from_secs(60);

/// When each agency was last looked up.
#[derive(Debug, Default)]
pub(crate) struct Lookups(std::sync::Mutex<std::collections::HashMap<OrganId, std::time::Instant>>);

impl Lookups {
    /// Whether `organ_id` may be looked up now; if so, the lookup is counted.
    fn allow(&self, organ_id: &OrganId) -> bool {
        let Ok(mut last) = self.0.lock() else {
            return false;
        };
        let now = std::time::Instant::now();
        last.retain(|_, at| now.duration_since(*at) < LOOKUP_INTERVAL);
        if last.contains_key(organ_id) {
            return false;
        }
        last.insert(organ_id.clone(), now);
        true
    }
}

/// Looks up where `organ_id`'s node is now, checking the record against the roster. At
/// most once per agency per [`LOOKUP_INTERVAL`]; `None` in between.
pub(crate) async fn lookup(
    ctx: &NodeContext,
    lookups: &Lookups,
    organ_id: &OrganId,
) -> Option<Vec<Multiaddr>> {
    if !lookups.allow(organ_id) {
        return None;
    }
    let value = ctx.network.kad_get(key(organ_id)).await.ok()??;
    let roster = ctx.roster()?;
    let member = roster.member(organ_id)?;
    if value.len() < PUBLIC_KEY_LEN + SIGNATURE_LEN {
        return None;
    }
    let (signer, rest) = value.split_at(PUBLIC_KEY_LEN);
    let (signature, payload) = rest.split_at(SIGNATURE_LEN);
    let signer = PublicKey::from_bytes(signer.try_into().ok()?).ok()?;
    if signer != member.record.public_key {
        debug!(organ = %organ_id, "presence record not signed by the roster's key; ignored");
        return None;
    }
    let signature = Signature::from_bytes(signature.try_into().ok()?);
    signer.verify(&signed_message(payload), &signature).ok()?;
    let presence: Presence = serde_json::from_slice(payload).ok()?;
    if &presence.organ_id != organ_id || presence.peer_id != member.peer_id.to_string() {
        return None;
    }
    let addresses: Vec<Multiaddr> = presence
        .addresses
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    (!addresses.is_empty()).then_some(addresses)
}
