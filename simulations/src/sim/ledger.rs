//! What the simulated QLVBs did and saw: every document submitted, every sighting in a
//! recipient's inbox, every status sent, every receipt known at a sender. The report is
//! computed from it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use lienthong_protocol::edxml::StatusCode;
use lienthong_protocol::envelope::PackageId;

use super::plan::{Answer, Plan};

/// One recipient's copy of one document.
#[derive(Debug, Clone, Default)]
pub struct Copy {
    /// Packages the recipient's QLVB was handed for this document (more than one, or the
    /// same one twice, is a duplicate applied).
    pub handed: Vec<PackageId>,
    /// Sightings beyond the first.
    pub duplicates: u32,
    /// When the recipient's QLVB first saw it: real time, and simulated seconds.
    pub seen: Option<(Instant, f64)>,
    /// Submit → receipt 01 recorded at the sender, in ms of the nodes' clock.
    pub latency_01_ms: Option<u64>,
    /// Statuses the recipient's QLVB submitted and its node accepted, with when.
    pub issued: Vec<(StatusCode, Instant)>,
    /// Receipt codes from this recipient known at the sender, with when first seen.
    pub known: BTreeMap<StatusCode, Instant>,
    /// The next status to send, and when it is due (simulated seconds).
    pub next: Option<(StatusCode, f64)>,
    /// Steps of the progression already sent.
    pub step: usize,
    /// The sender asked for the document back (13 handed to this recipient).
    pub taken_back: bool,
    /// 06 known at the sender: simulated seconds after submission.
    pub completed_after_s: Option<f64>,
    /// For a copy that never arrived: what its sender's node said of it at the end.
    pub sender_view: Option<String>,
    /// Statuses the sender took twice (the most its view ever showed).
    pub status_duplicates: u32,
}

impl Copy {
    /// Statuses issued but not yet known at the sender.
    pub fn outstanding(&self) -> impl Iterator<Item = StatusCode> + '_ {
        self.issued
            .iter()
            .map(|(c, _)| *c)
            .chain(self.seen.map(|_| StatusCode::Arrived))
            .filter(|c| !self.known.contains_key(c))
    }
}

/// One planned document.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    /// The package id once the sender's node accepted it, and when (real, simulated s).
    pub package: Option<(PackageId, Instant, f64)>,
    /// Failed submissions (the sender's node refused or was down).
    pub refusals: u32,
    /// Per recipient, in the plan's order.
    pub copies: Vec<Copy>,
    /// The take-back request went out.
    pub take_back_sent: bool,
    /// Receipt 01 of every recipient known at the sender, at this simulated second.
    pub all_arrived_at: Option<f64>,
}

/// A heal, and how long receipts took to converge after it.
#[derive(Debug, Clone)]
pub struct Heal {
    /// The fault's label.
    pub label: String,
    /// When it healed (simulated s).
    pub at_s: f64,
    /// When it healed (real).
    pub at: Instant,
    /// Receipts issued before the heal and not known at their sender then:
    /// (document, copy, code).
    pub waiting: BTreeSet<(usize, usize, StatusCode)>,
    /// Real ms from the heal until `waiting` emptied.
    pub converged_ms: Option<u64>,
}

/// The whole record of a run.
#[derive(Debug, Default)]
pub struct Ledger {
    /// One per planned document.
    pub sent: Vec<Sent>,
    /// Heals and their convergence.
    pub heals: Vec<Heal>,
    /// (simulated s, what) for the timeline: deliveries.
    pub delivered_at: Vec<f64>,
    /// (simulated s) receipts first known at senders.
    pub receipts_at: Vec<f64>,
    /// Status submissions refused for good.
    pub status_refusals: u32,
}

impl Ledger {
    /// An empty ledger for `plan`.
    pub fn new(plan: &Plan) -> Ledger {
        Ledger {
            sent: plan
                .documents
                .iter()
                .map(|d| Sent {
                    copies: vec![Copy::default(); d.to.len()],
                    ..Sent::default()
                })
                .collect(),
            ..Ledger::default()
        }
    }

    /// The recipient's QLVB was handed document `doc` as `package` (the copy for site
    /// `site`).
    pub fn handed(
        &mut self,
        plan: &Plan,
        doc: usize,
        site: usize,
        package: PackageId,
        now: (Instant, f64),
    ) {
        let Some(r) = plan.documents[doc].to.iter().position(|&t| t == site) else {
            return;
        };
        let copy = &mut self.sent[doc].copies[r];
        if copy.seen.is_some() {
            copy.duplicates += 1;
        } else {
            copy.seen = Some(now);
            self.delivered_at.push(now.1);
            copy.next = match &plan.documents[doc].answers[r] {
                Answer::Reject(after) => Some((StatusCode::Rejected, now.1 + after.as_secs_f64())),
                Answer::Progress(steps) => steps.first().map(|(code, after)| {
                    (
                        super::messages::step_code(code),
                        now.1 + after.as_secs_f64(),
                    )
                }),
            };
        }
        copy.handed.push(package);
    }

    /// The recipient's node accepted the status `code` for `doc` from copy `r`: schedule
    /// the next step.
    pub fn issued(
        &mut self,
        plan: &Plan,
        doc: usize,
        r: usize,
        code: StatusCode,
        now: (Instant, f64),
    ) {
        let copy = &mut self.sent[doc].copies[r];
        copy.issued.push((code, now.0));
        copy.next = None;
        if matches!(code, StatusCode::Rejected | StatusCode::ChangeAccepted) || copy.taken_back {
            return;
        }
        copy.step += 1;
        if let Answer::Progress(steps) = &plan.documents[doc].answers[r] {
            copy.next = steps.get(copy.step).map(|(code, after)| {
                (
                    super::messages::step_code(code),
                    now.1 + after.as_secs_f64(),
                )
            });
        }
    }

    /// The recipient of copy `r` received the take-back request: it answers 15 and stops.
    pub fn take_back_seen(&mut self, plan: &Plan, doc: usize, r: usize, now_s: f64) {
        let copy = &mut self.sent[doc].copies[r];
        if copy.taken_back {
            return;
        }
        copy.taken_back = true;
        let after = plan.documents[doc]
            .take_back_after
            .map_or(0.0, |d| d.as_secs_f64());
        copy.next = Some((StatusCode::ChangeAccepted, now_s + after));
    }

    /// What the sender's node knows about copy `r` of `doc`.
    pub fn observed(
        &mut self,
        doc: usize,
        r: usize,
        latency_01_ms: Option<u64>,
        codes: &[StatusCode],
        status_duplicates: u32,
        now: (Instant, f64),
    ) {
        let sent = &mut self.sent[doc];
        let submitted_s = sent.package.as_ref().map_or(now.1, |p| p.2);
        let copy = &mut sent.copies[r];
        copy.status_duplicates = copy.status_duplicates.max(status_duplicates);
        if copy.latency_01_ms.is_none() {
            copy.latency_01_ms = latency_01_ms;
        }
        for code in codes {
            if !copy.known.contains_key(code) {
                copy.known.insert(*code, now.0);
                self.receipts_at.push(now.1);
                if *code == StatusCode::Completed {
                    copy.completed_after_s = Some(now.1 - submitted_s);
                }
            }
        }
        if sent.all_arrived_at.is_none()
            && sent
                .copies
                .iter()
                .all(|c| c.known.contains_key(&StatusCode::Arrived))
        {
            sent.all_arrived_at = Some(now.1);
        }
    }

    /// A fault healed now: remember what it left outstanding.
    pub fn heal(&mut self, label: &str, now: (Instant, f64)) {
        let waiting = self.outstanding();
        self.heals.push(Heal {
            label: label.to_owned(),
            at_s: now.1,
            at: now.0,
            converged_ms: waiting.is_empty().then_some(0),
            waiting,
        });
    }

    /// Re-checks the heals still converging.
    pub fn check_heals(&mut self, now: Instant) {
        let outstanding = self.outstanding();
        for heal in self.heals.iter_mut().filter(|h| h.converged_ms.is_none()) {
            heal.waiting.retain(|w| outstanding.contains(w));
            if heal.waiting.is_empty() {
                heal.converged_ms = Some(now.duration_since(heal.at).as_millis() as u64);
            }
        }
    }

    /// Every receipt issued and not yet known at its sender.
    pub fn outstanding(&self) -> BTreeSet<(usize, usize, StatusCode)> {
        let mut out = BTreeSet::new();
        for (d, sent) in self.sent.iter().enumerate() {
            for (r, copy) in sent.copies.iter().enumerate() {
                out.extend(copy.outstanding().map(|c| (d, r, c)));
            }
        }
        out
    }

    /// Whether everything planned has been submitted, delivered, answered and known at
    /// its sender.
    pub fn settled(&self) -> bool {
        self.sent.iter().all(|s| {
            s.package.is_some()
                && s.copies.iter().all(|c| {
                    c.seen.is_some() && c.next.is_none() && c.outstanding().next().is_none()
                })
        })
    }
}
