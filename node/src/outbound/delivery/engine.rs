//! The delivery engine: drives the [`Scheduler`] with the store and the network.
//!
//! One task owns the scheduler. Attempts run as separate tasks, at most
//! `delivery.concurrency` at a time, and report back over a channel, so the owner never
//! waits on the network. Every outcome is written to the store before the scheduler moves
//! on, so a restart resumes exactly where the node stopped: entries still queued are tried
//! again at once.

use std::sync::Arc;
use std::time::Duration;

use lienthong_protocol::envelope::{SignedPackage, Timestamp};
use lienthong_protocol::wire::{Call as _, Deliver, Delivered, RejectReason, Response};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::axis_path::{NotHanded, hand_to_axis};
use super::email_path::hand_to_mail_server;
use super::handle::{DeliveryCommand, DeliveryHandle, Status};
use super::policy::retry_delay;
use super::prepared::{PREPARED_BYTES, Prepared};
use super::schedule::{DeliveryKey, Scheduler};
use crate::clock;
use crate::clock::add;
use crate::context::NodeContext;
use crate::inbound::Inbound;
use crate::network::NetworkEvent;
use crate::outbound::axis::AxisClient;
use crate::outbound::axis::bridge::{self, Route};
use crate::outbound::email::MailAccount;
use crate::outbound::{HandOverError, Outbound, OutboundError};
use crate::receipts;
use crate::store::{DeliveryState, OutboxEntry, OutboxUpdate};
use crate::tasks::{Stage, blocking};

/// How an attempt ended.
#[derive(Debug)]
enum Outcome {
    /// Delivered or refused for good: nothing more to do.
    Done,
    /// Try again at this time.
    Retry(Timestamp),
    /// No connection to the recipient could be made and no relay of its took the package
    /// (the problem says why): try again at this time, and let its other deliveries wait
    /// for that try (see the scheduler's "One probe per unreachable recipient"). A request
    /// lost on a connection that was there is an ordinary [`Retry`](Self::Retry).
    Unreachable(Timestamp, String),
}

/// An attempt's outcome, and whether a way to the recipient worked: its node answered
/// (whatever it said), or a relay of its took the package to hold.
#[derive(Debug)]
struct Attempted {
    outcome: Outcome,
    reached: bool,
}

/// The engine; see the module docs.
#[derive(Debug)]
pub struct DeliveryEngine {
    attempts: Attempts,
    commands: mpsc::Receiver<DeliveryCommand>,
}

/// What every attempt uses.
#[derive(Debug, Clone)]
struct Attempts {
    ctx: Arc<NodeContext>,
    /// The client that reaches recipients.
    outbound: Outbound,
    /// Inbound acceptance: a package for this node's own agency is accepted in place.
    inbound: Arc<Inbound>,
    /// What the status API asks.
    status: Arc<Status>,
    /// The axis bridge's client, when `[axis]` is on: recipients that are not members but
    /// are in the axis's directory go through it.
    axis: Option<AxisClient>,
    /// The agency's mail account, when `[email]` is on: the roster's email units are
    /// mailed through it.
    email: Option<MailAccount>,
}

/// Commands waiting for the engine; beyond, new entries wait for the next rescan.
const COMMAND_QUEUE: usize = 4096;

/// How often the store is rescanned for entries the engine does not know (a command lost
/// to a full queue, an entry written by another path).
const RESCAN_INTERVAL: Duration = Duration::from_secs(30);

impl DeliveryEngine {
    /// The engine of the node `outbound` belongs to, and its handle.
    pub(crate) fn new(
        outbound: Outbound,
        inbound: Arc<Inbound>,
        axis: Option<AxisClient>,
        email: Option<MailAccount>,
    ) -> (DeliveryHandle, DeliveryEngine) {
        let (commands_tx, commands) = mpsc::channel(COMMAND_QUEUE);
        let status = Arc::new(Status::default());
        let handle = DeliveryHandle::new(commands_tx, status.clone());
        let attempts = Attempts {
            ctx: outbound.ctx().clone(),
            outbound,
            inbound,
            status,
            axis,
            email,
        };
        (handle, DeliveryEngine { attempts, commands })
    }

    /// Runs until `shutdown`. Attempts in flight are not waited for here: they run in the
    /// engine's stage of the node's tasks, which shutdown gives a grace to finish; an
    /// attempt cut short leaves its entry queued in the store, resumed at the next start.
    pub(crate) async fn run(self, shutdown: CancellationToken) {
        let DeliveryEngine {
            attempts,
            mut commands,
        } = self;
        let ctx = attempts.ctx.clone();
        let mut scheduler = Scheduler::new();
        let mut events = ctx.network.subscribe();
        let (done_tx, mut done_rx) = mpsc::channel::<(DeliveryKey, Attempted)>(1024);
        let concurrency = ctx.config.delivery.concurrency;
        let mut rescan = tokio::time::interval(RESCAN_INTERVAL);
        let mut known: std::collections::HashSet<DeliveryKey> = std::collections::HashSet::new();
        let mut prepared = Prepared::new(PREPARED_BYTES);

        loop {
            let now = clock::now();
            let sleep = scheduler
                .next_due()
                .map_or(Duration::from_secs(3600), |at| {
                    Duration::from_millis(at.as_millis().saturating_sub(now.as_millis()))
                });
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                Some((key, attempted)) = done_rx.recv() => {
                    scheduler.finished(&key);
                    attempts.status.sending(&key, false);
                    let recipient = key.1.clone();
                    // An attempt that tells nothing of the recipient (its entry was gone, the
                    // store failed, a relay was busy) hands the wait on to the next probe.
                    let undecided = !attempted.reached && scheduler.is_unreachable(&recipient);
                    match attempted.outcome {
                        Outcome::Done => {
                            scheduler.remove(&key);
                            known.remove(&key);
                            if undecided {
                                scheduler.unreachable(&recipient, clock::now());
                            }
                        }
                        Outcome::Retry(at) => {
                            scheduler.schedule(key, at);
                            if undecided {
                                scheduler.unreachable(&recipient, at);
                            }
                        }
                        Outcome::Unreachable(at, problem) => {
                            scheduler.schedule(key, at);
                            scheduler.unreachable(&recipient, at);
                            attempts.status.set_unreachable(&recipient, Some(problem));
                        }
                    }
                    if attempted.reached {
                        let moved = scheduler.reachable(&recipient, clock::now());
                        if moved > 0 {
                            debug!(recipient = %recipient, moved, "recipient answered; deliveries that waited for it go now");
                        }
                    }
                    if !scheduler.is_unreachable(&recipient) {
                        attempts.status.set_unreachable(&recipient, None);
                    }
                }
                Some(command) = commands.recv() => match command {
                    DeliveryCommand::Submitted { package, entries } => {
                        prepared.keep(package, &entries);
                        for entry in entries {
                            let key = (entry.package_id, entry.recipient.clone());
                            if known.insert(key.clone()) {
                                scheduler.schedule(key, entry.next_attempt_at);
                            }
                        }
                    }
                },
                event = events.recv() => {
                    if let Ok(NetworkEvent::PeerConnected(peer)) = event
                        && let Some(member) = ctx.roster().and_then(|r| r.member_by_peer(&peer, clock::now()).map(|m| m.record.organ_id.clone())) {
                            let moved = scheduler.wake(&member, clock::now());
                            attempts.status.set_unreachable(&member, None);
                            if moved > 0 {
                                debug!(recipient = %member, moved, "recipient reachable again; retrying now");
                            }
                        }
                }
                _ = rescan.tick() => {
                    match ctx.store.call(|store| store.pending_outbox()).await {
                        Ok(entries) => {
                            let resumed = entries.len();
                            for entry in entries {
                                let key = (entry.package_id, entry.recipient.clone());
                                if known.insert(key.clone()) {
                                    // Entries found at start-up or missed: try now.
                                    scheduler.schedule(key, clock::now().min(entry.next_attempt_at));
                                }
                            }
                            debug!(pending = resumed, "outbox scanned");
                        }
                        Err(e) => warn!(error = %e, "cannot scan the outbox"),
                    }
                }
                () = tokio::time::sleep(sleep) => {}
            }

            let free = concurrency.saturating_sub(scheduler.in_flight());
            for key in scheduler.take_due(clock::now(), free) {
                attempts.status.sending(&key, true);
                let task = attempts.clone();
                let done = done_tx.clone();
                let held = prepared.take(&key);
                ctx.tasks
                    .spawn(Stage::Engine, "delivery attempt", async move {
                        let mut reached = false;
                        let outcome = attempt(&task, &key, held, &mut reached).await;
                        let _ = done.send((key, Attempted { outcome, reached })).await;
                    });
            }
        }
    }
}

/// One attempt to deliver one package to one recipient. `reached` is set once a way to
/// the recipient worked (see [`Attempted`]).
async fn attempt(
    attempts: &Attempts,
    key: &DeliveryKey,
    held: Option<(Arc<SignedPackage>, OutboxEntry)>,
    reached: &mut bool,
) -> Outcome {
    let ctx = &attempts.ctx;
    let (package_id, recipient) = key;
    let (entry, package) = match held {
        // The first attempt after a submission: what submit held.
        Some((package, entry)) => (entry, package),
        None => {
            let (id, to) = (*package_id, recipient.clone());
            let loaded = ctx
                .store
                .call(move |store| Ok((store.outbox_entry(&id, &to)?, store.package_to_send(&id)?)))
                .await;
            match loaded {
                Ok((Some(entry), Some(package))) => (entry, Arc::new(package)),
                Ok(_) => {
                    warn!(package = %package_id, recipient = %recipient, "outbox entry or package missing; dropped from the schedule");
                    return Outcome::Done;
                }
                Err(e) => {
                    warn!(error = %e, package = %package_id, "cannot read a package to deliver");
                    return Outcome::Retry(add(clock::now(), ctx.config.delivery.retry_max));
                }
            }
        }
    };
    if matches!(
        entry.state,
        DeliveryState::Delivered | DeliveryState::Rejected
    ) {
        return Outcome::Done;
    }

    let route =
        if (attempts.axis.is_some() || attempts.email.is_some()) && recipient != &ctx.organ_id {
            let (routed, to) = (ctx.clone(), recipient.clone());
            blocking(move || bridge::route(&routed, &to, clock::now()))
                .await
                .ok()
                .and_then(Result::ok)
        } else {
            None
        };
    if let (Some(account), Some(Route::Email)) = (&attempts.email, route) {
        let handed = hand_to_mail_server(ctx, account, entry.clone(), &package).await;
        return after_hand_over(ctx, entry, handed, reached).await;
    }
    if let Some(client) = &attempts.axis
        && route == Some(Route::Axis)
    {
        let handed = hand_to_axis(ctx, client, entry.clone(), &package).await;
        return after_hand_over(ctx, entry, handed, reached).await;
    }
    let answer = if recipient == &ctx.organ_id {
        // A package to this node's own agency is delivered in place.
        Answer::Local(package.clone())
    } else {
        let request = Deliver(SignedPackage::clone(&package)).into();
        match attempts.outbound.request(recipient, request).await {
            // Neither a direct connection nor a circuit through its relays reached the
            // recipient: leave the package sealed at one of its relays.
            Err(failed) => {
                return hold_at_relay(attempts, entry, &package, failed, reached).await;
            }
            Ok(frame) => {
                *reached = true;
                Answer::Frame(frame)
            }
        }
    };
    let settled = {
        let attempts = attempts.clone();
        let key = key.clone();
        let entry = entry.clone();
        blocking(move || settle(&attempts, &key, &entry, answer)).await
    };
    match settled {
        Ok(Settled::Recorded { outcome, duplicate }) => {
            if outcome == crate::store::RecordOutcome::New {
                ctx.metrics.receipt(lienthong_protocol::StatusCode::Arrived);
            }
            let path = attempts.outbound.path_taken(recipient).await;
            let taken = clock::now()
                .as_millis()
                .saturating_sub(entry.queued_at.as_millis());
            ctx.metrics.delivered(path, Duration::from_millis(taken));
            info!(
                target: "lienthong::events::delivered",
                package = %package_id,
                recipient = %recipient,
                duplicate,
                "delivered; receipt 01 recorded"
            );
            Outcome::Done
        }
        Ok(Settled::BadReceipt(problem)) => {
            warn!(package = %package_id, recipient = %recipient, problem = %problem, "delivery answered with a bad receipt");
            retry(ctx, entry, problem).await
        }
        Ok(Settled::Failed(problem)) => retry(ctx, entry, problem).await,
        Ok(Settled::Refused(OutboundError::Rejected { rejection, .. }))
            if matches!(
                rejection.reason,
                RejectReason::Malformed | RejectReason::TooLarge
            ) =>
        {
            warn!(package = %package_id, recipient = %recipient, rejection = %rejection, "package refused by the recipient for good");
            let mut rejected = entry;
            rejected.state = DeliveryState::Rejected;
            rejected.attempts += 1;
            rejected.last_error = Some(format!("refused by {recipient}: {rejection}"));
            match ctx
                .store
                .call(move |store| store.update_outbox(&rejected))
                .await
            {
                Ok(_) => Outcome::Done,
                _ => Outcome::Retry(add(clock::now(), ctx.config.delivery.retry_max)),
            }
        }
        Ok(Settled::Refused(OutboundError::Busy { .. })) => soon(ctx),
        Ok(Settled::Refused(refused)) => retry(ctx, entry, refused.to_string()).await,
        Err(e) => retry(ctx, entry, format!("delivery task failed: {e}")).await,
    }
}

/// The recipient's answer to one attempt, before it is decoded.
enum Answer {
    /// The frame a peer answered with.
    Frame(bytes::Bytes),
    /// A package to this node's own agency, delivered in place on the same blocking thread.
    Local(Arc<SignedPackage>),
}

/// What became of an answer once decoded, checked and, for a receipt 01, recorded.
enum Settled {
    /// The receipt is checked and durably recorded with the delivered outbox entry.
    Recorded {
        /// Whether the receipt was new to the store.
        outcome: crate::store::RecordOutcome,
        /// Whether the recipient had accepted the package before.
        duplicate: bool,
    },
    /// The answer carried a receipt that is not this delivery's receipt 01.
    BadReceipt(String),
    /// The answer could not be decoded, or the receipt could not be stored.
    Failed(String),
    /// The recipient did not take the package (a refusal, busy, another kind of answer),
    /// for the caller to handle.
    Refused(OutboundError),
}

/// Decodes the answer, checks its receipt and records it, on one blocking thread: the
/// signature check and the fsync both block, and one hop to the thread pool per delivery
/// instead of two keeps the sender's thread switches down when thousands are in flight.
fn settle(attempts: &Attempts, key: &DeliveryKey, entry: &OutboxEntry, answer: Answer) -> Settled {
    let ctx = &attempts.ctx;
    let recipient = &key.1;
    let delivered = match answer {
        Answer::Frame(frame) => match Response::decode(frame, &ctx.limits) {
            Ok(response) => {
                Deliver::answer(response).map_err(|r| OutboundError::refused(recipient, r))
            }
            Err(e) => {
                return Settled::Failed(format!(
                    "{recipient} answered with a malformed frame: {e}"
                ));
            }
        },
        Answer::Local(package) => attempts
            .inbound
            .accept_package(ctx.network.local_peer_id(), &package)
            .map_err(|rejection| OutboundError::Rejected {
                to: recipient.clone(),
                rejection,
            }),
    };
    let Delivered { receipt, duplicate } = match delivered {
        Ok(delivered) => delivered,
        Err(refused) => return Settled::Refused(refused),
    };
    if let Err(problem) = receipts::check_delivery_receipt(ctx, key, &receipt) {
        return Settled::BadReceipt(problem);
    }
    let mut delivered = entry.clone();
    delivered.state = DeliveryState::Delivered;
    // When this node learned of the delivery; the receipt keeps the recipient's time.
    delivered.delivered_at = Some(clock::now());
    delivered.last_error = None;
    delivered.attempts += 1;
    match ctx.store.record_receipt(&receipt, Some(&delivered)) {
        Ok(outcome) => Settled::Recorded { outcome, duplicate },
        Err(e) => Settled::Failed(format!("receipt could not be stored: {e}")),
    }
}

/// Deposits the package at one of the recipient's relays after `failed` kept it from the
/// recipient, and plans the next look at the recipient after `relay.held_recheck`; if no
/// relay takes it, an ordinary retry.
async fn hold_at_relay(
    attempts: &Attempts,
    entry: OutboxEntry,
    package: &SignedPackage,
    failed: OutboundError,
    reached: &mut bool,
) -> Outcome {
    // Only when no connection to the recipient could be made at all do its other
    // deliveries wait behind one attempt (see [`Outcome::Unreachable`]).
    let unreachable = failed.is_unreachable();
    let problem = failed.to_string();
    let ctx = &attempts.ctx;
    let hold = match attempts.outbound.hand_over(package, &entry.recipient).await {
        Ok(hold) => {
            *reached = true;
            hold
        }
        Err(HandOverError::Busy) => return soon(ctx),
        Err(HandOverError::Failed(no_relay)) => {
            let problem = format!("{problem}; {no_relay}");
            return match retry(ctx, entry, problem.clone()).await {
                Outcome::Retry(at) if unreachable => Outcome::Unreachable(at, problem),
                other => other,
            };
        }
    };
    let mut held = entry;
    let first = held.state != DeliveryState::HeldAtRelay;
    held.state = DeliveryState::HeldAtRelay;
    held.attempts = held.attempts.saturating_add(1);
    held.last_error = Some(problem);
    held.next_attempt_at = add(clock::now(), ctx.config.relay.held_recheck);
    let next = held.next_attempt_at;
    let wire = hold.to_wire();
    let recorded = ctx
        .store
        .call(move |store| {
            store.record_hold(&held.package_id, &held.recipient, &wire)?;
            store.update_outbox(&held)
        })
        .await;
    match recorded {
        Ok(OutboxUpdate::KeptFinal) => {
            debug!(package = %hold.package_id(), recipient = %hold.recipient(), "the delivery ended while the package was deposited");
            Outcome::Done
        }
        Ok(OutboxUpdate::Applied) => {
            if first {
                ctx.metrics.deliveries_held.inc();
            }
            info!(
                target: "lienthong::events::held",
                package = %hold.package_id(),
                recipient = %hold.recipient(),
                relay = %hold.relay(),
                "recipient unreachable; package held at its relay"
            );
            Outcome::Retry(next)
        }
        Err(e) => {
            warn!(error = %e, "cannot record a hold");
            Outcome::Retry(add(clock::now(), ctx.config.delivery.retry_max))
        }
    }
}

/// A peer answered `Busy`: it is up and asks for a moment, so the next attempt comes after
/// `delivery.retry_initial` (with jitter) however many attempts came before, and nothing is
/// written: the entry is as it was.
fn soon(ctx: &NodeContext) -> Outcome {
    let delay = ctx
        .config
        .delivery
        .retry_initial
        .mul_f64(0.5 + 0.5 * rand::random::<f64>());
    Outcome::Retry(add(clock::now(), delay))
}

/// Records a failed attempt and plans the next one.
/// The outcome of handing `entry`'s package to a bridge (the axis, the mail server). A
/// refusal means the bridge is there, so the recipient's other deliveries need not wait
/// behind this one; only a transient failure makes the recipient unreachable.
async fn after_hand_over(
    ctx: &Arc<NodeContext>,
    entry: OutboxEntry,
    handed: Result<(), NotHanded>,
    reached: &mut bool,
) -> Outcome {
    let not_handed = match handed {
        Ok(()) => {
            *reached = true;
            return Outcome::Done;
        }
        Err(not_handed) => not_handed,
    };
    *reached = !not_handed.transient;
    match retry(ctx, entry, not_handed.reason.clone()).await {
        Outcome::Retry(at) if not_handed.transient => Outcome::Unreachable(at, not_handed.reason),
        other => other,
    }
}

async fn retry(ctx: &Arc<NodeContext>, mut entry: OutboxEntry, problem: String) -> Outcome {
    entry.attempts = entry.attempts.saturating_add(1);
    ctx.metrics.delivery_retries.inc();
    let delay = retry_delay(&ctx.config.delivery, entry.attempts, rand::random::<f64>());
    let next = add(clock::now(), delay);
    debug!(package = %entry.package_id, recipient = %entry.recipient, attempts = entry.attempts, retry_in = ?delay, problem = %problem, "delivery attempt failed");
    entry.next_attempt_at = next;
    entry.last_error = Some(problem);
    match ctx
        .store
        .call(move |store| store.update_outbox(&entry))
        .await
    {
        Ok(OutboxUpdate::KeptFinal) => {
            debug!("the delivery ended by another path during the attempt");
            return Outcome::Done;
        }
        Ok(OutboxUpdate::Applied) => {}
        Err(e) => warn!(error = %e, "cannot record a failed attempt"),
    }
    Outcome::Retry(next)
}
