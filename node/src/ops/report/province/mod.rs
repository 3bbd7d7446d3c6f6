//! The province at a glance: every unit of a province as a row (documents it sent and
//! received in a period, how many of those it received it confirmed in time, answered,
//! finished, refused, how many sit stuck with it now, when it was last heard of), for the
//! provincial office that reports on the province's electronic exchanges each quarter.
//!
//! Built only from the signed receipt summaries a monitoring node collects
//! ([`ReceiptFields`]: package, DocumentId, sender, recipient, code, time, reason): never
//! from a document's content, which the monitoring node does not hold. The computation is
//! pure, over the summaries it is given, as of a given `now`, so it is tested with
//! hand-made summaries.
//!
//! # What a summary can and cannot tell
//!
//! A summary carries no time of sending: a receipt is a recipient's statement, signed when
//! the recipient makes it. So:
//!
//! - **A document is known from its first statement.** A document (one package to one
//!   recipient) exists for the overview once some recipient of its package has said
//!   something about the package: normally its 01. One that no recipient ever confirmed
//!   is invisible here; its sender's own `lienthong stuck` lists it, and a unit whose node
//!   never answers shows as *silent*.
//! - **A document belongs to the period of its package's first statement**: the earliest
//!   time on any receipt about the package, whoever signed it.
//! - **01 in time** means that the recipient's 01 is no later than the package's first
//!   statement plus the arrival deadline (`delivery.receipt_deadline` of the monitoring
//!   node; the summaries do not carry a priority). For a document sent to several units
//!   this tells a unit that confirmed hours after the others; for a document to one unit,
//!   whose own 01 is the first statement, it is in time whenever it arrived. When the
//!   monitor never got a recipient's 01, the recipient's first other statement (03 to 06,
//!   02) stands for its arrival.
//! - **Stuck now**, for the recipient (the unit on whose desk the document sits):
//!   - *refused*: the recipient refused it (02), with its reason; the sender must act;
//!   - *not registered*: it arrived (01) and, `receipts.accept_deadline` later, the
//!     recipient has neither registered (03), assigned, handled or finished it (04 to 06),
//!     nor refused it, nor agreed to give it back (15);
//!   - *take-back unanswered*: the sender asked for it back (13) and, `accept_deadline`
//!     later, the recipient has neither agreed (15) nor refused (16).
//! - **Last seen** is the latest time on any statement the unit signed (its own clock),
//!   whatever the period.
//! - **Status messages are not documents**, but they travel as packages too, and their
//!   arrival is confirmed with a 01 like a document's; a summary does not say which kind
//!   its package is. Each status a unit sends goes with a statement of its own about the
//!   document it answers (03 to 06, 02, 15, 16 from the document's recipient; 13 from its
//!   sender), and names that document by its DocumentId. So a package that has only 01s,
//!   sent by the one who made such a statement to the other party, with a DocumentId that
//!   refers to the same document (compared as the node matches a status to its document,
//!   [`document_id_references`]), is that statement's status message, and is not counted.
//!   One whose DocumentId the statuses write in a form that does not match counts as a
//!   document.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use lienthong_protocol::edxml::{DocumentReference, document_id_references};
use lienthong_protocol::envelope::{PackageId, ReceiptFields, Timestamp};
use lienthong_protocol::{OrganId, StatusCode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Day, Period, from_rfc3339, is_handling, percent, rfc3339};

mod csv_file;
mod html_page;
#[cfg(test)]
mod tests;

pub use csv_file::to_csv;
pub use html_page::to_html;

/// A unit confirming fewer of the documents it received in time than this share (in
/// percent) falls behind.
pub const ON_TIME_TARGET_PERCENT: f64 = 90.0;
/// A unit that signed nothing for this long (or never) falls behind: its node may be down,
/// and documents sent to it cannot arrive.
pub const SILENT_AFTER: Duration = Duration::from_secs(7 * 86_400);

/// What the overview is made from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The monitoring node's agency.
    pub monitor: &'a OrganId,
    /// The period.
    pub period: Period,
    /// Now: what is stuck is stuck as of this instant.
    pub now: Timestamp,
    /// The units of the province, by id, with their names: one row each, in this order.
    pub units: &'a [(OrganId, String)],
    /// Every receipt summary the monitor holds (any period: last seen needs them all).
    pub summaries: &'a [ReceiptFields],
    /// How long after its package's first statement a recipient's 01 is in time.
    pub arrival_deadline: Duration,
    /// How long a unit may leave an arrived document unregistered, or a take-back request
    /// unanswered.
    pub accept_deadline: Duration,
}

/// The overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Province {
    /// The monitoring node's agency.
    pub monitor: OrganId,
    /// Its name.
    pub monitor_name: Option<String>,
    /// The first day.
    pub from: Day,
    /// The last day, included.
    pub to: Day,
    /// When it was made (RFC 3339, UTC): "stuck" and "silent" are as of then.
    #[serde(serialize_with = "rfc3339", deserialize_with = "from_rfc3339")]
    pub generated_at: Timestamp,
    /// The arrival deadline used for "01 in time", in seconds.
    pub arrival_deadline_seconds: u64,
    /// The deadline for registering a document or answering a take-back, in seconds.
    pub accept_deadline_seconds: u64,
    /// One row per unit of the province.
    pub units: Vec<UnitRow>,
    /// The sums of the rows (shares over the sums).
    pub totals: Counts,
    /// Every document of the period stuck now at a unit of the province, the longest
    /// waiting first.
    pub stuck: Vec<StuckDocument>,
}

/// One unit's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitRow {
    /// The unit.
    pub organ_id: OrganId,
    /// Its name in the roster.
    pub name: String,
    /// Its counts.
    #[serde(flatten)]
    pub counts: Counts,
    /// The latest time on a statement it signed; `null` when it never signed one.
    #[serde(serialize_with = "rfc3339_opt", deserialize_with = "from_rfc3339_opt")]
    pub last_seen: Option<Timestamp>,
    /// Why it falls behind; empty when it does not.
    pub behind: Vec<Behind>,
}

/// A unit's counts over the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Documents it sent (one per package and recipient) that a recipient confirmed.
    pub sent: u64,
    /// Documents it received.
    pub received: u64,
    /// Of those received, confirmed with 01 in time.
    pub arrived_on_time: u64,
    /// `arrived_on_time` as a share of `received`, in percent (one decimal).
    pub arrived_on_time_percent: Option<f64>,
    /// Of those received, with a handling status from it (any of 03 to 06).
    pub answered: u64,
    /// `answered` as a share of `received`.
    pub answered_percent: Option<f64>,
    /// Of those received, that it finished (06).
    pub completed: u64,
    /// `completed` as a share of `received`.
    pub completed_percent: Option<f64>,
    /// Of those received, that it refused (02).
    pub refused: u64,
    /// Of those received, stuck with it now.
    pub stuck: u64,
}

/// Why a unit falls behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Behind {
    /// Documents are stuck with it now.
    Stuck,
    /// It confirmed less than [`ON_TIME_TARGET_PERCENT`] of what it received in time.
    LateArrivals,
    /// It signed nothing for [`SILENT_AFTER`], or never.
    Silent,
}

/// Why a document is stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StuckReason {
    /// The recipient refused it (02).
    Refused,
    /// It arrived (01), and the recipient has not registered it (03) by the deadline.
    NotRegistered,
    /// The sender asked for it back (13), and the recipient has not answered by the
    /// deadline.
    TakeBackUnanswered,
}

/// A document stuck at a unit now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StuckDocument {
    /// The package.
    pub package_id: PackageId,
    /// The document's DocumentId, when the receipts carry it.
    pub document_id: Option<String>,
    /// Who sent it.
    pub sender: OrganId,
    /// The unit it is stuck at.
    pub recipient: OrganId,
    /// Why.
    pub reason: StuckReason,
    /// Since when: the time of the 02, of the 01 (or first statement), or of the 13.
    #[serde(serialize_with = "rfc3339", deserialize_with = "from_rfc3339")]
    pub since: Timestamp,
    /// When the wait became overdue; `null` for a refusal, stuck at once.
    #[serde(serialize_with = "rfc3339_opt", deserialize_with = "from_rfc3339_opt")]
    pub overdue_since: Option<Timestamp>,
    /// The reason given with the 02 or the 13.
    pub detail: Option<String>,
    /// The latest status code about it from either party.
    pub latest_code: String,
}

/// What the summaries say about one document (a package to one recipient).
#[derive(Debug, Default)]
struct Facts<'a> {
    sender: Option<&'a OrganId>,
    document_id: Option<&'a str>,
    /// The recipient's statements (every code but 13), in time order.
    from_recipient: Vec<&'a ReceiptFields>,
    /// The sender's take-back requests.
    take_backs: Vec<&'a ReceiptFields>,
    /// The latest statement of either party.
    latest: Option<&'a ReceiptFields>,
}

impl<'a> Facts<'a> {
    fn add(&mut self, summary: &'a ReceiptFields) {
        self.sender.get_or_insert(&summary.sender);
        if self.document_id.is_none() {
            self.document_id = summary.document_id.as_deref();
        }
        if summary.code == StatusCode::TakeBackRequested {
            self.take_backs.push(summary);
        } else {
            self.from_recipient.push(summary);
        }
        if self.latest.is_none_or(|l| summary.issued_at >= l.issued_at) {
            self.latest = Some(summary);
        }
    }

    fn has(&self, code: StatusCode) -> bool {
        self.from_recipient.iter().any(|r| r.code == code)
    }

    fn first(&self, code: StatusCode) -> Option<&'a ReceiptFields> {
        self.from_recipient
            .iter()
            .filter(|r| r.code == code)
            .min_by_key(|r| r.issued_at)
            .copied()
    }

    /// When it arrived: its 01, else the recipient's first statement.
    fn arrived_at(&self) -> Option<Timestamp> {
        self.first(StatusCode::Arrived)
            .or_else(|| {
                self.from_recipient
                    .iter()
                    .min_by_key(|r| r.issued_at)
                    .copied()
            })
            .map(|r| r.issued_at)
    }

    /// Why it is stuck at the recipient as of `now`, and since when.
    fn stuck(
        &self,
        now: Timestamp,
        accept_deadline: Duration,
    ) -> Option<(StuckReason, Timestamp, Option<Timestamp>, Option<String>)> {
        if let Some(refusal) = self.first(StatusCode::Rejected) {
            return Some((
                StuckReason::Refused,
                refusal.issued_at,
                None,
                refusal.description.clone(),
            ));
        }
        if let Some(request) = self.take_backs.iter().max_by_key(|r| r.issued_at) {
            let answered = self.from_recipient.iter().any(|r| {
                matches!(
                    r.code,
                    StatusCode::ChangeAccepted | StatusCode::ChangeRefused
                ) && r.issued_at >= request.issued_at
            });
            let due = after(request.issued_at, accept_deadline);
            if !answered && now > due {
                return Some((
                    StuckReason::TakeBackUnanswered,
                    request.issued_at,
                    Some(due),
                    request.description.clone(),
                ));
            }
        }
        let taken_in = self
            .from_recipient
            .iter()
            .any(|r| is_handling(r.code) || r.code == StatusCode::ChangeAccepted);
        if let Some(arrived) = self.arrived_at()
            && !taken_in
        {
            let due = after(arrived, accept_deadline);
            if now > due {
                return Some((StuckReason::NotRegistered, arrived, Some(due), None));
            }
        }
        None
    }
}

/// The packages that are status messages: see the module's documentation.
fn status_packages(
    packages: &HashMap<PackageId, BTreeMap<&OrganId, Facts<'_>>>,
) -> HashSet<PackageId> {
    // Who sent a status to whom about which document: one per statement but 01.
    let mut sent: HashSet<(&OrganId, &OrganId, DocumentReference)> = HashSet::new();
    for documents in packages.values() {
        for (recipient, facts) in documents {
            let (Some(sender), Some(document_id)) = (facts.sender, facts.document_id) else {
                continue;
            };
            let statements = facts
                .from_recipient
                .iter()
                .filter(|r| r.code != StatusCode::Arrived)
                .map(|_| (*recipient, sender))
                .chain(facts.take_backs.iter().map(|_| (sender, *recipient)));
            for (from, to) in statements {
                for reference in document_id_references(document_id) {
                    sent.insert((from, to, reference));
                }
            }
        }
    }
    packages
        .iter()
        .filter_map(|(package_id, documents)| {
            let mut only = documents.iter();
            let (recipient, facts) = only.next()?;
            let status = only.next().is_none()
                && facts.take_backs.is_empty()
                && facts
                    .from_recipient
                    .iter()
                    .all(|r| r.code == StatusCode::Arrived)
                && facts
                    .sender
                    .zip(facts.document_id)
                    .is_some_and(|(sender, id)| {
                        document_id_references(id)
                            .into_iter()
                            .any(|reference| sent.contains(&(sender, *recipient, reference)))
                    });
            status.then_some(*package_id)
        })
        .collect()
}

/// `at` plus `span`.
fn after(at: Timestamp, span: Duration) -> Timestamp {
    let span = u64::try_from(span.as_millis()).unwrap_or(u64::MAX);
    Timestamp::from_millis(at.as_millis().saturating_add(span))
}

/// Counts the summaries into the overview.
pub fn compute(inputs: Inputs<'_>) -> Province {
    let range = inputs.period.range();
    // Every package's statements, and when each unit last signed anything.
    let mut packages: HashMap<PackageId, BTreeMap<&OrganId, Facts<'_>>> = HashMap::new();
    let mut first_fact: HashMap<PackageId, Timestamp> = HashMap::new();
    let mut last_seen: HashMap<&OrganId, Timestamp> = HashMap::new();
    for summary in inputs.summaries {
        let seen = last_seen
            .entry(summary.issuer())
            .or_insert(summary.issued_at);
        *seen = (*seen).max(summary.issued_at);
        let first = first_fact
            .entry(summary.package_id)
            .or_insert(summary.issued_at);
        *first = (*first).min(summary.issued_at);
        packages
            .entry(summary.package_id)
            .or_default()
            .entry(&summary.recipient)
            .or_default()
            .add(summary);
    }

    let statuses = status_packages(&packages);
    let mut counts: HashMap<&OrganId, Counts> = HashMap::new();
    let mut stuck = Vec::new();
    let is_unit: HashSet<&OrganId> = inputs.units.iter().map(|(id, _)| id).collect();
    for (package_id, documents) in &packages {
        let first = first_fact[package_id];
        if !range.contains(&first) || statuses.contains(package_id) {
            continue;
        }
        let in_time = after(first, inputs.arrival_deadline);
        for (recipient, facts) in documents {
            if let Some(sender) = facts.sender {
                counts.entry(sender).or_default().sent += 1;
            }
            let row = counts.entry(recipient).or_default();
            row.received += 1;
            row.arrived_on_time += u64::from(facts.arrived_at().is_some_and(|at| at <= in_time));
            row.answered += u64::from(facts.from_recipient.iter().any(|r| is_handling(r.code)));
            row.completed += u64::from(facts.has(StatusCode::Completed));
            row.refused += u64::from(facts.has(StatusCode::Rejected));
            if let Some((reason, since, overdue_since, detail)) =
                facts.stuck(inputs.now, inputs.accept_deadline)
            {
                row.stuck += 1;
                if is_unit.contains(recipient) {
                    stuck.push(StuckDocument {
                        package_id: *package_id,
                        document_id: facts.document_id.map(str::to_owned),
                        sender: facts
                            .sender
                            .cloned()
                            .unwrap_or_else(|| (*recipient).clone()),
                        recipient: (*recipient).clone(),
                        reason,
                        since,
                        overdue_since,
                        detail,
                        latest_code: facts
                            .latest
                            .map(|l| l.code.as_str().to_owned())
                            .unwrap_or_default(),
                    });
                }
            }
        }
    }
    stuck.sort_by(|a, b| {
        (a.since, &a.recipient, a.package_id).cmp(&(b.since, &b.recipient, b.package_id))
    });

    let mut totals = Counts::default();
    let units = inputs
        .units
        .iter()
        .map(|(organ_id, name)| {
            let counts = finish(counts.remove(organ_id).unwrap_or_default());
            add(&mut totals, &counts);
            let last_seen = last_seen.get(organ_id).copied();
            UnitRow {
                behind: behind(&counts, last_seen, inputs.now),
                organ_id: organ_id.clone(),
                name: name.clone(),
                counts,
                last_seen,
            }
        })
        .collect();
    Province {
        monitor: inputs.monitor.clone(),
        monitor_name: inputs
            .units
            .iter()
            .find(|(id, _)| id == inputs.monitor)
            .map(|(_, name)| name.clone()),
        from: inputs.period.from,
        to: inputs.period.to,
        generated_at: inputs.now,
        arrival_deadline_seconds: inputs.arrival_deadline.as_secs(),
        accept_deadline_seconds: inputs.accept_deadline.as_secs(),
        units,
        totals: finish(totals),
        stuck,
    }
}

fn finish(mut counts: Counts) -> Counts {
    counts.arrived_on_time_percent = percent(counts.arrived_on_time, counts.received);
    counts.answered_percent = percent(counts.answered, counts.received);
    counts.completed_percent = percent(counts.completed, counts.received);
    counts
}

fn add(sum: &mut Counts, row: &Counts) {
    sum.sent += row.sent;
    sum.received += row.received;
    sum.arrived_on_time += row.arrived_on_time;
    sum.answered += row.answered;
    sum.completed += row.completed;
    sum.refused += row.refused;
    sum.stuck += row.stuck;
}

fn behind(counts: &Counts, last_seen: Option<Timestamp>, now: Timestamp) -> Vec<Behind> {
    let mut why = Vec::new();
    if counts.stuck > 0 {
        why.push(Behind::Stuck);
    }
    if counts
        .arrived_on_time_percent
        .is_some_and(|p| p < ON_TIME_TARGET_PERCENT)
    {
        why.push(Behind::LateArrivals);
    }
    if last_seen.is_none_or(|seen| now > after(seen, SILENT_AFTER)) {
        why.push(Behind::Silent);
    }
    why
}

fn rfc3339_opt<S: Serializer>(time: &Option<Timestamp>, serializer: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serializer.collect_str(time),
        None => serializer.serialize_none(),
    }
}

fn from_rfc3339_opt<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Timestamp>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| text.parse().map_err(serde::de::Error::custom))
        .transpose()
}
