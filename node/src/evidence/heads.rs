//! Every node's watch over its province's logs: the latest verified checkpoint of each
//! member's evidence log, from the checkpoint gossip topic and from checkpoint catch-up,
//! and the alarm when one does not extend the head held.
//!
//! A gossiped announcement is checked before gossipsub forwards it: the publisher is an
//! active member's node, the checkpoint is of that member's own log
//! (`lienthong/<organ_id>`) and signed with its roster key, and every cosignature line by
//! a roster member (`lienthong-witness/<organ_id>`) verifies against that member's key;
//! lines by names the roster does not know are left out. Anything else is rejected (gossipsub
//! then holds it against the peer that sent it) and changes nothing.
//!
//! The decision against the head held is `lienthong_protocol::evidence::follow`: a first
//! head, an extension or new cosignatures of the head held are stored durably before they
//! count as known (one decision at a time, and only over the head decided against). A
//! history that does not extend the head held is a fork: both notes are kept in the store,
//! the first one per log is counted in `lienthong_evidence_forks_total{seen=...}` and logged
//! at ERROR naming the agency, and it shows in the dashboard. An announcement whose proof
//! starts at another size than the one held is forwarded, and the log's node is asked for a
//! proof from the size held ([`CheckpointSince`]); so is every member's node on each new
//! connection to it.
//!
//! On a witness, a gossiped announcement whose proof starts at the head this witness
//! cosigned for the log is also decided by the witness's own desk (`witness.rs`), and the
//! cosignature published on the same topic ([`WitnessCosignature`]); the log's node checks
//! it against both roster keys and keeps it beside its checkpoint, as one obtained directly,
//! and other nodes add it to the head they hold.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libp2p::PeerId;
use lienthong_protocol::OrganId;
use lienthong_protocol::evidence::{
    Announcement, AnnouncementError, COSIGNATURE_KIND, Follow, ORIGIN_PREFIX, OpenedAnnouncement,
    WITNESS_PREFIX, WitnessCosignature, checkpoint_verifier, follow, open, open_cosignature,
    witness_name, witness_verifier,
};
use lienthong_protocol::tlog::{Checkpoint, Note, TreeHead};
use lienthong_protocol::wire::{self, CheckpointSince, RejectReason, WitnessAnswer};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, warn};

use super::announce;
use super::witness::WitnessDesk;
use crate::clock;
use crate::context::NodeContext;
use crate::network::{GossipAcceptance, GossipMessage, NetworkEvent};
use crate::outbound::{Outbound, OutboundError};
use crate::roster::membership::Membership;
use crate::store::{HeadFork, StoreError};
use crate::tasks::{Stage, Wake, Woken, blocking};

/// The first wait before asking again a node that does not know this one yet.
const UNKNOWN_RETRY: Duration = Duration::from_secs(1);
/// The longest such wait: after it, the next connection or announcement asks again.
const MAX_RETRY: Duration = Duration::from_secs(32);

/// How an announcement came, as stored and as the metric's `seen` label says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// On the checkpoint gossip topic.
    Gossip,
    /// In the answer to a checkpoint catch-up.
    CatchUp,
}

impl Seen {
    /// The label: `gossip` or `catch_up`.
    pub fn label(self) -> &'static str {
        match self {
            Seen::Gossip => "gossip",
            Seen::CatchUp => "catch_up",
        }
    }
}

/// The heads' shared state: decisions one at a time, and the logs whose node is to be
/// asked for a proof from the head held. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Heads {
    deciding: Arc<Mutex<()>>,
    to_ask: Arc<Mutex<BTreeSet<OrganId>>>,
    asked: Arc<Notify>,
}

impl Heads {
    /// Has the catch-up task ask `agency`'s node for its latest checkpoint soon.
    fn ask(&self, agency: OrganId) {
        self.to_ask
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(agency);
        self.asked.notify_one();
    }

    fn take_asks(&self) -> BTreeSet<OrganId> {
        std::mem::take(
            &mut *self
                .to_ask
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// What became of an announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// Kept as the head held (the first, an extension, or new cosignatures of it).
    Kept,
    /// Nothing new.
    Known,
    /// Smaller than the head held: stale, or a log that lost its store.
    Behind,
    /// Not provable against the head held: the log's node is to be asked.
    Unprovable,
    /// A fork, stored as evidence.
    Fork,
}

/// Why an announcement changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum HeadsError {
    /// It is not a valid announcement of the member's log.
    #[error(transparent)]
    Invalid(#[from] AnnouncementError),
    /// The publisher or the log is not an active member.
    #[error("{0}")]
    NotMember(String),
    /// The store failed: nothing is known.
    #[error("the heads cannot be stored: {0}")]
    Store(#[from] StoreError),
}

/// Checks `announcement` as `agency`'s against `roster`: the checkpoint is of its log and
/// signed with its roster key, and the cosignatures by roster members verify.
///
/// # Errors
/// [`HeadsError::NotMember`] or [`HeadsError::Invalid`].
pub fn check(
    roster: &Membership,
    agency: &OrganId,
    announcement: &Announcement,
) -> Result<OpenedAnnouncement, HeadsError> {
    let now = clock::now();
    let Ok(Some(member)) = roster.active(agency, now) else {
        return Err(HeadsError::NotMember(format!(
            "{agency} is not an active member"
        )));
    };
    let log = checkpoint_verifier(agency, member.record.public_key)
        .map_err(|e| HeadsError::NotMember(e.to_string()))?;
    let witness = |name: &str| {
        let organ: OrganId = name.strip_prefix(WITNESS_PREFIX)?.parse().ok()?;
        let member = roster.active(&organ, now).ok()??;
        witness_verifier(&organ, member.record.public_key).ok()
    };
    Ok(open(announcement, &log, witness)?)
}

/// Decides `opened` (checked as `agency`'s) against the head held for its log, and keeps
/// what it says durably: a new head, new cosignatures, or a fork with the alarm raised.
/// Blocking.
///
/// # Errors
/// [`HeadsError::Store`]: nothing was kept.
pub fn take(
    ctx: &NodeContext,
    heads: &Heads,
    agency: &OrganId,
    note: &[u8],
    opened: &OpenedAnnouncement,
    seen: Seen,
) -> Result<Taken, HeadsError> {
    let _one_at_a_time = heads
        .deciding
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let origin = opened.checkpoint().origin.clone();
    let stored = ctx.store.held_head(&origin)?;
    let held = stored.as_ref().and_then(|h| h.head);
    let presented = opened.head();
    let now = clock::now();
    let record = |note: &[u8]| {
        ctx.store
            .record_head(&origin, held, presented, note, seen.label(), now)
    };
    match follow(held, opened) {
        Follow::First | Follow::Extends => {
            record(kept_note(note, opened).as_bytes())?;
            debug!(%agency, size = presented.size, seen = seen.label(), "log head taken");
            Ok(Taken::Kept)
        }
        Follow::Same => {
            let held_note = stored.map(|h| h.note).unwrap_or_default();
            match merged(&held_note, opened) {
                Some(merged) => {
                    record(merged.as_bytes())?;
                    debug!(%agency, size = presented.size, "new cosignatures of a log head");
                    Ok(Taken::Kept)
                }
                None => Ok(Taken::Known),
            }
        }
        Follow::Behind { held } => {
            debug!(%agency, held, presented = presented.size, seen = seen.label(), "a checkpoint smaller than the head held");
            Ok(Taken::Behind)
        }
        Follow::Unprovable { held } => {
            debug!(%agency, held, from = opened.from_size(), presented = presented.size, "a checkpoint proved from another size: asking its node");
            Ok(Taken::Unprovable)
        }
        Follow::Fork(kind) => {
            let (Some(held), Some(stored)) = (held, stored) else {
                return Ok(Taken::Unprovable);
            };
            let fork = HeadFork {
                held,
                held_note: stored.note,
                presented,
                presented_note: note.to_vec(),
                kind: kind.to_string(),
                seen: seen.label().to_owned(),
                at: now,
            };
            if ctx.store.record_head_fork(&origin, &fork)? {
                ctx.metrics.fork(seen.label());
                error!(
                    %agency,
                    held_size = held.size,
                    presented_size = presented.size,
                    kind = %kind,
                    seen = seen.label(),
                    "an agency's evidence log does not extend the checkpoint this node holds for it: its history was rewritten"
                );
            } else {
                debug!(%agency, presented = presented.size, "another checkpoint of a log already seen to fork");
            }
            Ok(Taken::Fork)
        }
    }
}

/// `note` with the log's signature and the verified cosignatures only: a line by a name
/// the roster does not know is not kept, so the note held says only what was checked.
fn kept_note(note: &[u8], opened: &OpenedAnnouncement) -> String {
    let Ok(parsed) = Note::parse(note) else {
        return String::from_utf8_lossy(note).into_owned();
    };
    let origin = &opened.checkpoint().origin;
    let Ok(mut kept) = Note::new(parsed.text()) else {
        return String::from_utf8_lossy(note).into_owned();
    };
    for line in parsed.signatures() {
        let verified = opened.cosignatures().iter().any(|c| c == line);
        if (line.name() == origin || verified) && kept.add_signature(line.clone()).is_err() {
            break;
        }
    }
    kept.render()
}

/// The held note with the cosignature lines of `opened` it lacks, if it lacks any.
fn merged(held_note: &[u8], opened: &OpenedAnnouncement) -> Option<String> {
    let mut note = Note::parse(held_note).ok()?;
    let mut added = false;
    for line in opened.cosignatures() {
        if note.signatures().iter().any(|s| s.name() == line.name()) {
            continue;
        }
        if note.add_signature(line.clone()).is_ok() {
            added = true;
        }
    }
    added.then(|| note.render())
}

/// Checks and takes gossiped announcements and witnesses' cosignatures until `shutdown`,
/// reporting each to gossipsub; on a witness (`desk`), cosigns the announcements that extend
/// the head it cosigned and publishes the cosignature.
pub(crate) async fn receive(
    ctx: Arc<NodeContext>,
    heads: Heads,
    desk: Option<Arc<WitnessDesk>>,
    mut messages: mpsc::Receiver<GossipMessage>,
    shutdown: CancellationToken,
) {
    while let Some(Some(message)) = shutdown.run_until_cancelled(messages.recv()).await {
        let worker = ctx.clone();
        let (taker, desk) = (heads.clone(), desk.clone());
        let (author, data) = (message.author, message.data.clone());
        let (verdict, cosigned) =
            blocking(move || take_gossip(&worker, &taker, desk.as_deref(), author, &data))
                .await
                .unwrap_or((GossipAcceptance::Ignore, None));
        let _ = ctx
            .network
            .report_gossip(message.id, message.source, verdict)
            .await;
        if let Some((topic, data)) = cosigned {
            match ctx.network.publish(&topic, data).await {
                Ok(()) => debug!(%topic, "cosignature of a gossiped checkpoint published"),
                Err(e) => debug!(%topic, error = %e, "cosignature not published"),
            }
        }
    }
}

/// What to publish: topic and bytes.
type Publish = Option<(String, bytes::Bytes)>;

/// One gossiped message: checked, taken, the verdict for gossipsub, and on a witness the
/// cosignature to publish.
fn take_gossip(
    ctx: &NodeContext,
    heads: &Heads,
    desk: Option<&WitnessDesk>,
    author: Option<PeerId>,
    data: &bytes::Bytes,
) -> (GossipAcceptance, Publish) {
    let refuse = |why: String| {
        ctx.metrics.gossip_refused.inc();
        warn!(target: "lienthong::events::rejected", ?author, why = %why, "gossiped checkpoint refused");
        (GossipAcceptance::Reject, None)
    };
    let Some(roster) = ctx.roster() else {
        return (GossipAcceptance::Ignore, None);
    };
    let Some(publisher) = author.and_then(|peer| roster.member_by_peer(&peer, clock::now())) else {
        return refuse("published by a node that is not a member's".to_owned());
    };
    let publisher = publisher.record.organ_id.clone();
    if data.first() == Some(&COSIGNATURE_KIND) {
        return match take_cosignature(ctx, heads, &roster, &publisher, data) {
            Ok(()) => (GossipAcceptance::Accept, None),
            Err(HeadsError::Store(e)) => {
                warn!(witness = %publisher, error = %e, "a gossiped cosignature could not be kept");
                (GossipAcceptance::Ignore, None)
            }
            Err(e) => refuse(format!("cosignature published by {publisher}'s node: {e}")),
        };
    }
    let announcement = match Announcement::decode(data) {
        Ok(announcement) => announcement,
        Err(e) => return refuse(e.to_string()),
    };
    if publisher == ctx.organ_id {
        return (GossipAcceptance::Ignore, None);
    }
    let agency = publisher;
    let opened = match check(&roster, &agency, &announcement) {
        Ok(opened) => opened,
        Err(e) => return refuse(format!("published by {agency}'s node: {e}")),
    };
    let taken = take(
        ctx,
        heads,
        &agency,
        &announcement.note,
        &opened,
        Seen::Gossip,
    );
    let verdict = match &taken {
        Ok(Taken::Unprovable) => {
            heads.ask(agency.clone());
            GossipAcceptance::Accept
        }
        // Forwarded: every node that holds a head of this log checks the fork itself.
        Ok(Taken::Kept | Taken::Known | Taken::Fork) => GossipAcceptance::Accept,
        Ok(Taken::Behind) => GossipAcceptance::Ignore,
        Err(e) => {
            warn!(%agency, error = %e, "a gossiped checkpoint could not be kept");
            GossipAcceptance::Ignore
        }
    };
    // A witness cosigns only what extends the head it holds as a member too: a fork is
    // alarmed once above, not again as a witness.
    let cosigned = match (desk, taken) {
        (Some(desk), Ok(Taken::Kept | Taken::Known)) => {
            cosign(ctx, desk, &agency, &announcement, &opened)
        }
        _ => None,
    };
    (verdict, cosigned)
}

/// On a witness: cosigns a gossiped checkpoint with the witness's own decision (only when
/// its proof starts at the head this witness cosigned for the log, and not when it carries
/// this witness's cosignature already); the message to publish.
fn cosign(
    ctx: &NodeContext,
    desk: &WitnessDesk,
    agency: &OrganId,
    announcement: &Announcement,
    opened: &OpenedAnnouncement,
) -> Publish {
    let mine = witness_name(&ctx.organ_id);
    if opened.cosignatures().iter().any(|line| line.name() == mine) {
        return None;
    }
    let call = wire::Witness {
        note: announcement.note.clone(),
        from_size: announcement.from_size,
        proof: announcement.proof.clone(),
    };
    match desk.answer(ctx, &call) {
        Ok(WitnessAnswer::Cosigned(line)) => {
            let message = WitnessCosignature {
                note: announcement.note.clone(),
                line,
            };
            Some((announce::topic(agency), message.encode()))
        }
        Ok(WitnessAnswer::Holds(held)) => {
            debug!(%agency, held, from = announcement.from_size, "a gossiped checkpoint not proved from the head cosigned: not cosigned");
            None
        }
        Err(e) => {
            debug!(%agency, error = %e, "a gossiped checkpoint not cosigned");
            None
        }
    }
}

/// A witness's cosignature published by its node: checked against the log's and the
/// witness's roster keys, kept beside this node's own checkpoint when it is of this node's
/// log, or added to the head held when it is of that head.
fn take_cosignature(
    ctx: &NodeContext,
    heads: &Heads,
    roster: &Membership,
    witness: &OrganId,
    data: &bytes::Bytes,
) -> Result<(), HeadsError> {
    let message = WitnessCosignature::decode(data)?;
    let text = Note::parse(&message.note)
        .map_err(AnnouncementError::Note)?
        .text()
        .to_owned();
    let checkpoint = Checkpoint::parse(&text).map_err(AnnouncementError::Checkpoint)?;
    let agency: OrganId = checkpoint
        .origin
        .strip_prefix(ORIGIN_PREFIX)
        .and_then(|organ| organ.parse().ok())
        .ok_or_else(|| {
            HeadsError::NotMember(format!("{} is no member's log", checkpoint.origin))
        })?;
    let now = clock::now();
    let key_of = |organ: &OrganId| match roster.active(organ, now) {
        Ok(Some(member)) => Ok(member.record.public_key),
        _ => Err(HeadsError::NotMember(format!(
            "{organ} is not an active member"
        ))),
    };
    let log = checkpoint_verifier(&agency, key_of(&agency)?)
        .map_err(|e| HeadsError::NotMember(e.to_string()))?;
    let by = witness_verifier(witness, key_of(witness)?)
        .map_err(|e| HeadsError::NotMember(e.to_string()))?;
    let (checkpoint, line) = open_cosignature(&message, &log, &by)?;
    let size = checkpoint.size;
    if agency == ctx.organ_id {
        // Only over the very checkpoint this node signed at that size.
        let Some(ours) = ctx.store.checkpoint_at(size)? else {
            return Ok(());
        };
        let same = Note::parse(&ours).is_ok_and(|ours| ours.text() == text);
        let known = ctx
            .store
            .cosignatures(size)?
            .iter()
            .any(|(w, _)| w == witness);
        if same && !known {
            ctx.store
                .record_cosignature(size, witness, &line.to_string())?;
            debug!(%witness, size, "gossiped cosignature of this node's checkpoint kept");
        }
        return Ok(());
    }
    let _one_at_a_time = heads
        .deciding
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let origin = checkpoint.origin.clone();
    let Some(held) = ctx.store.held_head(&origin)? else {
        return Ok(());
    };
    let head = TreeHead {
        size,
        root: checkpoint.root,
    };
    if held.head != Some(head) {
        return Ok(());
    }
    let Ok(mut note) = Note::parse(&held.note) else {
        return Ok(());
    };
    if note.signatures().iter().any(|s| s.name() == line.name())
        || note.add_signature(line).is_err()
    {
        return Ok(());
    }
    ctx.store.record_head(
        &origin,
        Some(head),
        head,
        note.render().as_bytes(),
        &held.seen,
        now,
    )?;
    Ok(())
}

/// Runs until `shutdown`: asks each member's node for its latest checkpoint when it
/// connects, every connected member's when the roster changes, and the nodes [`take`]
/// could not decide about.
pub(crate) async fn catch_up(
    ctx: Arc<NodeContext>,
    outbound: Outbound,
    heads: Heads,
    shutdown: CancellationToken,
) {
    let stopping = shutdown.clone();
    let mut wake = Wake::until(shutdown)
        .on_notify(heads.asked.clone())
        .on_roster(ctx.membership.clone())
        .on_events(ctx.network.subscribe());
    while let Some(woken) = wake.next().await {
        let agencies: Vec<OrganId> = match woken {
            Woken::Notified => heads.take_asks().into_iter().collect(),
            Woken::Event(NetworkEvent::PeerConnected(peer)) => {
                member_agency(&ctx, &peer).into_iter().collect()
            }
            // A node connected to before it had a roster (just admitted), or to members
            // the new roster lists: those connections woke nothing then.
            Woken::Roster => match ctx.network.connected_peers().await {
                Ok(peers) => peers
                    .into_iter()
                    .filter(|p| p.connected)
                    .filter_map(|p| member_agency(&ctx, &p.peer_id))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                Err(_) => return,
            },
            _ => continue,
        };
        for agency in agencies {
            let (ctx, outbound, heads) = (ctx.clone(), outbound.clone(), heads.clone());
            let stopping = stopping.clone();
            ctx.tasks
                .clone()
                .spawn(Stage::Work, "checkpoint catch-up", async move {
                    // A stopping node does not wait for an answer or a retry.
                    stopping
                        .run_until_cancelled(ask(&ctx, &outbound, &heads, &agency))
                        .await;
                });
        }
    }
}

fn member_agency(ctx: &NodeContext, peer: &PeerId) -> Option<OrganId> {
    let roster = ctx.roster()?;
    let member = roster.member_by_peer(peer, clock::now())?;
    (member.record.organ_id != ctx.organ_id).then(|| member.record.organ_id.clone())
}

/// Asks `agency`'s node for its latest checkpoint with a proof from the head held, and
/// takes the answer.
pub(crate) async fn ask(
    ctx: &Arc<NodeContext>,
    outbound: &Outbound,
    heads: &Heads,
    agency: &OrganId,
) {
    let origin = super::origin(agency);
    let Ok(held) = ctx.store.call(move |store| store.held_head(&origin)).await else {
        return;
    };
    let from_size = held.and_then(|h| h.head).map_or(0, |head| head.size);
    let mut wait = UNKNOWN_RETRY;
    let announcement = loop {
        match outbound.call(agency, CheckpointSince { from_size }).await {
            Ok(announcement) => break announcement,
            // A node whose roster does not list this one yet (just admitted): its roster
            // comes within seconds, and the connection that woke this may stay up for
            // long, so ask again a few times.
            Err(OutboundError::Rejected { rejection, .. })
                if rejection.reason == RejectReason::UnknownAgency && wait <= MAX_RETRY =>
            {
                debug!(%agency, ?wait, "the member's node does not know this one yet; asking again");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(problem) => {
                debug!(%agency, from_size, %problem, "no checkpoint to catch up with");
                return;
            }
        }
    };
    let (worker, desk, from) = (ctx.clone(), heads.clone(), agency.clone());
    let taken = blocking(move || {
        let roster = worker
            .roster()
            .ok_or_else(|| HeadsError::NotMember("no roster".into()))?;
        let opened = check(&roster, &from, &announcement)?;
        take(
            &worker,
            &desk,
            &from,
            &announcement.note,
            &opened,
            Seen::CatchUp,
        )
    })
    .await;
    match taken {
        Ok(Ok(taken)) => debug!(%agency, from_size, ?taken, "checkpoint caught up"),
        Ok(Err(HeadsError::Invalid(e))) => {
            warn!(%agency, error = %e, "a member's node answered a checkpoint catch-up with an invalid checkpoint");
        }
        Ok(Err(e)) => debug!(%agency, error = %e, "checkpoint catch-up not taken"),
        Err(e) => debug!(%agency, error = %e, "checkpoint catch-up not taken"),
    }
}
