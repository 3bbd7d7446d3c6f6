//! A simulated QLVB beside each agency's node: now and then it sends a công văn to one or
//! two other agencies, takes what arrives from its inbox and answers each document as a
//! văn thư would (03 tiếp nhận → 04 → 05 → 06 hoàn thành, sometimes 02 từ chối), and now
//! and then asks for a document back (13), which its recipients grant (15).
//!
//! It drives the node as the API does (submit, inbox, acknowledge), through the node's own
//! submit path.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use lienthong_protocol::MessageKind;
use lienthong_protocol::edxml::{EdxmlDate, Priority, StatusCode};
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};
use tokio_util::sync::CancellationToken;

use super::Say;
use super::documents::{self, Letter};
use super::sites::{SUBJECTS, Site};
use crate::clock;
use crate::node::NodeHandle;

/// How often the QLVB looks at its clock.
const TICK: Duration = Duration::from_millis(500);

/// How often it reads its inbox.
const POLL: Duration = Duration::from_secs(2);

/// Between two documents it sends, in seconds: a province's worth of traffic to watch.
const SEND_EVERY_S: std::ops::Range<f64> = 10.0..25.0;

/// Between two steps of handling a received document, in seconds.
const STEP_S: std::ops::Range<f64> = 2.0..6.0;

/// Of the documents received, the share refused with 02.
const REJECT_SHARE: f64 = 0.08;

/// Of the documents sent, the share asked back with 13 a few seconds later.
const TAKE_BACK_SHARE: f64 = 0.08;

/// Submissions of one status tried before the QLVB gives up on it.
const MAX_ATTEMPTS: u32 = 30;

/// One status to submit.
#[derive(Debug)]
struct Answer {
    due: Instant,
    code: StatusCode,
    /// To whom: the document's sender (its recipient for 13).
    to: String,
    document_id: String,
    attempts: u32,
}

/// One agency's QLVB.
pub struct Qlvb {
    site: Site,
    others: Vec<Site>,
    node: NodeHandle,
    rng: StdRng,
    date: EdxmlDate,
    number: u32,
    next_send: Instant,
    next_poll: Instant,
    /// Documents it sent, for telling answers from take-back requests.
    sent: HashSet<String>,
    /// Documents it received: their sender.
    received: HashMap<String, String>,
    answers: VecDeque<Answer>,
    say: Arc<Say>,
}

impl std::fmt::Debug for Qlvb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qlvb")
            .field("agency", &self.site.organ_id)
            .field("sent", &self.sent.len())
            .field("received", &self.received.len())
            .finish_non_exhaustive()
    }
}

impl Qlvb {
    /// The QLVB of `site`, on `node`, sending to `others`.
    pub fn new(
        site: Site,
        others: Vec<Site>,
        node: NodeHandle,
        seed: u64,
        date: EdxmlDate,
        say: Arc<Say>,
    ) -> Qlvb {
        // A kept data directory goes on from the last số this agency used.
        let last = last_number(&node, site.notation);
        let mut rng = StdRng::seed_from_u64(seed ^ u64::from(last.unwrap_or_default()));
        let now = Instant::now();
        Qlvb {
            number: last.unwrap_or_else(|| rng.random_range(100..900)),
            next_send: now + Duration::from_secs_f64(rng.random_range(1.0..8.0)),
            next_poll: now,
            site,
            others,
            node,
            rng,
            date,
            sent: HashSet::new(),
            received: HashMap::new(),
            answers: VecDeque::new(),
            say,
        }
    }

    /// Works until `stop`.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            // Submissions sign and write to disk: off the async threads.
            self = match tokio::task::spawn_blocking(move || {
                self.step(Instant::now());
                self
            })
            .await
            {
                Ok(qlvb) => qlvb,
                Err(e) => {
                    tracing::warn!(error = %e, "a simulated QLVB stopped");
                    return;
                }
            };
        }
    }

    fn step(&mut self, now: Instant) {
        if now >= self.next_send {
            self.next_send = now + Duration::from_secs_f64(self.rng.random_range(SEND_EVERY_S));
            self.send(now);
        }
        if now >= self.next_poll {
            self.next_poll = now + POLL;
            self.poll(now);
        }
        self.answer(now);
    }

    fn send(&mut self, now: Instant) {
        let count = if self.rng.random_bool(0.3) { 2 } else { 1 };
        let mut to: Vec<&Site> = Vec::new();
        while to.len() < count.min(self.others.len()) {
            let pick = &self.others[self.rng.random_range(0..self.others.len())];
            if !to.iter().any(|s| s.organ_id == pick.organ_id) {
                to.push(pick);
            }
        }
        self.number += 1;
        let letter = Letter {
            from: &self.site,
            to,
            number: self.number,
            subject: SUBJECTS[self.rng.random_range(0..SUBJECTS.len())],
            priority: if self.rng.random_bool(0.15) {
                Priority::Urgent
            } else {
                Priority::Normal
            },
            date: self.date,
        };
        let document_id = letter.document_id();
        let recipients: Vec<String> = letter.to.iter().map(|s| s.name.to_owned()).collect();
        let subject = letter.subject;
        let take_back: Vec<String> = letter.to.iter().map(|s| s.organ_id.to_owned()).collect();
        match letter.edxml().and_then(|bytes| self.submit(bytes)) {
            Ok(()) => {
                (self.say)(&format!(
                    "{} → {}: {}/{} {}",
                    self.site.name,
                    recipients.join(", "),
                    self.number,
                    self.site.notation,
                    subject
                ));
                if self.rng.random_bool(TAKE_BACK_SHARE) {
                    let due = now + Duration::from_secs_f64(self.rng.random_range(5.0..10.0));
                    for to in take_back {
                        self.answers.push_back(Answer {
                            due,
                            code: StatusCode::TakeBackRequested,
                            to,
                            document_id: document_id.clone(),
                            attempts: 0,
                        });
                    }
                }
                self.sent.insert(document_id);
            }
            Err(e) => {
                tracing::warn!(agency = self.site.organ_id, error = %format!("{e:#}"), "the simulated QLVB could not send")
            }
        }
    }

    fn poll(&mut self, now: Instant) {
        let store = self.node.context().store.clone();
        let entries = match store.inbox(false) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(agency = self.site.organ_id, error = %e, "the simulated QLVB cannot read its inbox");
                return;
            }
        };
        for entry in entries {
            if let Err(e) = store.ack(&entry.package_id, clock::now()) {
                tracing::warn!(agency = self.site.organ_id, error = %e, "the simulated QLVB cannot acknowledge");
                continue;
            }
            let Some(document_id) = entry.document_id else {
                continue;
            };
            let from = entry.from.to_string();
            match entry.kind {
                MessageKind::Edoc => {
                    self.plan_handling(now, &from, &document_id);
                    self.received.insert(document_id, from);
                }
                MessageKind::Status if self.received.contains_key(&document_id) => {
                    // Only a sender speaks of a document it sent: a take-back request.
                    self.answers
                        .retain(|a| a.document_id != document_id || a.to != from);
                    self.answers.push_back(Answer {
                        due: now + Duration::from_secs_f64(self.rng.random_range(STEP_S)),
                        code: StatusCode::ChangeAccepted,
                        to: from,
                        document_id,
                        attempts: 0,
                    });
                }
                MessageKind::Status => {}
            }
        }
    }

    /// 03 → 04 → 05 → 06, or 02, spaced a few seconds apart.
    fn plan_handling(&mut self, now: Instant, from: &str, document_id: &str) {
        let codes: &[StatusCode] = if self.rng.random_bool(REJECT_SHARE) {
            &[StatusCode::Rejected]
        } else {
            &[
                StatusCode::Accepted,
                StatusCode::Assigned,
                StatusCode::Processing,
                StatusCode::Completed,
            ]
        };
        let mut due = now;
        for &code in codes {
            due += Duration::from_secs_f64(self.rng.random_range(STEP_S));
            self.answers.push_back(Answer {
                due,
                code,
                to: from.to_owned(),
                document_id: document_id.to_owned(),
                attempts: 0,
            });
        }
    }

    /// Submits the statuses that are due, in order per document; one refused now is tried
    /// again next tick (its document may not have been matched yet), a bounded number of
    /// times.
    fn answer(&mut self, now: Instant) {
        let mut waiting = VecDeque::new();
        let mut blocked: HashSet<(String, String)> = HashSet::new();
        while let Some(mut answer) = self.answers.pop_front() {
            let key = (answer.document_id.clone(), answer.to.clone());
            if answer.due > now || blocked.contains(&key) {
                waiting.push_back(answer);
                continue;
            }
            let outcome =
                documents::status(&self.site, &answer.to, &answer.document_id, answer.code)
                    .and_then(|bytes| self.submit(bytes));
            match outcome {
                Ok(()) => {
                    let said = match answer.code {
                        StatusCode::Rejected => Some("từ chối"),
                        StatusCode::TakeBackRequested => Some("yêu cầu lấy lại"),
                        StatusCode::ChangeAccepted => Some("đồng ý cho lấy lại"),
                        _ => None,
                    };
                    if let Some(said) = said {
                        let code = answer
                            .document_id
                            .rsplit_once(',')
                            .map_or(answer.document_id.as_str(), |(_, code)| code);
                        (self.say)(&format!(
                            "{} {said} {code} ({})",
                            self.site.name,
                            answer.code.as_str()
                        ));
                    }
                }
                Err(e) => {
                    answer.attempts += 1;
                    if answer.attempts < MAX_ATTEMPTS {
                        tracing::debug!(agency = self.site.organ_id, error = %format!("{e:#}"), "status not accepted yet");
                        blocked.insert(key);
                        waiting.push_back(answer);
                    } else {
                        tracing::warn!(agency = self.site.organ_id, error = %format!("{e:#}"), "the simulated QLVB gave up on a status");
                    }
                }
            }
        }
        self.answers = waiting;
    }

    fn submit(&self, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.node
            .submit(Bytes::from(bytes))
            .map(drop)
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// The highest số among the documents `node` sent with this ký hiệu, if any.
fn last_number(node: &NodeHandle, notation: &str) -> Option<u32> {
    let suffix = format!("/{notation}");
    node.context()
        .store
        .list_outgoing(usize::MAX)
        .ok()?
        .iter()
        .filter_map(|p| {
            let (_, code) = p.document_id.as_deref()?.rsplit_once(',')?;
            code.strip_suffix(&suffix)?.parse().ok()
        })
        .max()
}
