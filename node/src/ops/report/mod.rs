//! Exchanges per counterpart over a period, as provincial operators report them: how many
//! documents went to each agency and came from it, how many of those sent arrived (with a
//! receipt 01) within their deadline, how many were handled to the end (06), how many are
//! stuck; and, for those received, whether this agency confirmed their handling (03 to
//! 06), which is what a province reviews when it checks each unit's status confirmations.
//!
//! The computation is pure: it counts the records it is given ([`SentPackage`],
//! [`ReceivedPackage`], read by the store for the period) as of a given `now`, so it is
//! tested with hand-made records. Rendering for spreadsheets and for print lives beside
//! it ([`to_csv`], [`to_html`]).
//!
//! # What counts
//!
//! - Only documents (edoc); status messages travel as packages too but are not documents.
//! - A document sent to three agencies counts once in each of their rows: the unit is one
//!   document to one recipient. A resend is a new package and counts again.
//! - Receipt 01's time is when this node learned of it (its own clock, the clock the
//!   deadline was set by); the time to 01 runs from when the document was queued.
//! - "Stuck" is what `lienthong stuck` lists, now: no 01 past the deadline, or refused.
//! - Days are UTC days: a period from `2026-01-01` to `2026-03-31` covers
//!   `2026-01-01T00:00Z` up to, not including, `2026-04-01T00:00Z` (07:00 on 1 April in
//!   Việt Nam).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use lienthong_protocol::envelope::{Timestamp, TimestampError};
use lienthong_protocol::{MessageKind, OrganId, StatusCode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::store::{DeliveryState, OutboxEntry, ReceiptFact, ReceivedPackage, SentPackage};

mod csv_file;
mod html_page;
pub mod province;
#[cfg(test)]
mod tests;

pub use csv_file::to_csv;
pub use html_page::to_html;

const MILLIS_PER_DAY: u64 = 86_400_000;

/// A calendar day in UTC, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(Timestamp);

impl Day {
    /// Midnight (UTC) at the start of the day.
    pub fn start(self) -> Timestamp {
        self.0
    }

    /// Midnight (UTC) at the start of the next day.
    pub fn end(self) -> Timestamp {
        Timestamp::from_millis(self.0.as_millis().saturating_add(MILLIS_PER_DAY))
    }

    /// Year, month and day.
    pub fn ymd(self) -> (u32, u32, u32) {
        let text = self.to_string();
        let part = |range: Range<usize>| text[range].parse().unwrap_or(0);
        (part(0..4), part(5..7), part(8..10))
    }

    /// Reads `YYYY-MM-DD`; `which` names the date in the error (`from`, `to`).
    ///
    /// # Errors
    /// [`PeriodError`] saying what is wrong with the text.
    pub fn parse(which: &'static str, text: &str) -> Result<Day, PeriodError> {
        let bytes = text.as_bytes();
        let shaped = bytes.len() == 10
            && bytes.iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shaped {
            return Err(PeriodError::Shape {
                which,
                text: text.to_owned(),
            });
        }
        Timestamp::from_str(&format!("{text}T00:00:00.000Z"))
            .map(Day)
            .map_err(|error| match error {
                TimestampError::OutOfRange { part } => PeriodError::OutOfRange {
                    which,
                    text: text.to_owned(),
                    part,
                },
                _ => PeriodError::TooEarly {
                    which,
                    text: text.to_owned(),
                },
            })
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The timestamp's text starts with the date; days are parsed from 4-digit years.
        let text = self.0.to_string();
        f.write_str(&text[..text.len() - 14])
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Day::parse("given", &text).map_err(serde::de::Error::custom)
    }
}

/// Why a period was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeriodError {
    /// The text is not `YYYY-MM-DD`.
    #[error("the {which} date {text:?} is not in the form YYYY-MM-DD")]
    Shape {
        /// `from` or `to`.
        which: &'static str,
        /// What was given.
        text: String,
    },
    /// A month or day that does not exist (`2026-13-01`, `2026-02-30`).
    #[error("the {which} date {text} does not exist: its {part} is out of range")]
    OutOfRange {
        /// `from` or `to`.
        which: &'static str,
        /// What was given.
        text: String,
        /// `month` or `day`.
        part: &'static str,
    },
    /// Before 1970, when no document can have been exchanged.
    #[error("the {which} date {text} is before 1970")]
    TooEarly {
        /// `from` or `to`.
        which: &'static str,
        /// What was given.
        text: String,
    },
    /// The period ends before it starts.
    #[error("the period starts on {from}, after its end on {to}")]
    Reversed {
        /// The start.
        from: Day,
        /// The end.
        to: Day,
    },
}

/// A period of whole UTC days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The first day.
    pub from: Day,
    /// The last day, included.
    pub to: Day,
}

impl Period {
    /// Reads the two dates.
    ///
    /// # Errors
    /// [`PeriodError`] for a date that is not `YYYY-MM-DD` or does not exist, or when
    /// `from` is after `to`.
    pub fn parse(from: &str, to: &str) -> Result<Period, PeriodError> {
        let from = Day::parse("from", from)?;
        let to = Day::parse("to", to)?;
        if from > to {
            return Err(PeriodError::Reversed { from, to });
        }
        Ok(Period { from, to })
    }

    /// The instants it covers: from midnight at its start to midnight after its last day.
    pub fn range(&self) -> Range<Timestamp> {
        self.from.start()..self.to.end()
    }
}

/// The counts for one counterpart, or for all of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// Documents sent to the counterpart (one per document and recipient).
    pub sent: u64,
    /// Of those, with receipt 01 by the deadline.
    pub arrived_on_time: u64,
    /// `arrived_on_time` as a share of `sent`, in percent (one decimal); `null` when
    /// nothing was sent.
    pub arrived_on_time_percent: Option<f64>,
    /// With receipt 01 after the deadline.
    pub arrived_late: u64,
    /// Without receipt 01 yet (not due yet, overdue or refused).
    pub not_arrived: u64,
    /// Refused by the counterpart (02, or its node refused the package for good).
    pub refused: u64,
    /// With a handling status from the counterpart's QLVB (any of 03 to 06).
    pub answered: u64,
    /// `answered` as a share of `sent`, in percent.
    pub answered_percent: Option<f64>,
    /// Handled to the end: 06.
    pub completed: u64,
    /// `completed` as a share of `sent`, in percent.
    pub completed_percent: Option<f64>,
    /// Stuck now: no 01 past the deadline, or refused.
    pub stuck: u64,
    /// The median time from queueing to receipt 01, in whole seconds; `null` when none
    /// arrived.
    pub median_seconds_to_arrival: Option<u64>,
    /// Documents received from the counterpart.
    pub received: u64,
    /// Of those, with a handling status from this agency (any of 03 to 06).
    pub received_answered: u64,
    /// `received_answered` as a share of `received`, in percent.
    pub received_answered_percent: Option<f64>,
    /// Of those, that this agency reported handled to the end (06).
    pub received_completed: u64,
    /// Of those, that this agency refused (02).
    pub received_refused: u64,
}

/// One counterpart's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterpartRow {
    /// The counterpart agency.
    pub organ_id: OrganId,
    /// Its name in the roster.
    pub name: Option<String>,
    /// Whether documents to it went through the axis (an agency not yet on lienthong):
    /// "arrived" is then the axis taking it, and its statuses are the ones the axis
    /// carried back, the axis's word.
    #[serde(default)]
    pub via_axis: bool,
    /// Its counts.
    #[serde(flatten)]
    pub exchange: Exchange,
}

/// A report: this agency's exchanges over a period, per counterpart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// This agency.
    pub agency: OrganId,
    /// Its name in the roster.
    pub agency_name: Option<String>,
    /// The first day.
    pub from: Day,
    /// The last day, included.
    pub to: Day,
    /// When the report was made (RFC 3339, UTC): "stuck" is as of then.
    #[serde(serialize_with = "rfc3339", deserialize_with = "from_rfc3339")]
    pub generated_at: Timestamp,
    /// Distinct documents sent (a document to three agencies counts once here).
    pub documents_sent: u64,
    /// Documents received.
    pub documents_received: u64,
    /// One row per counterpart with anything to count, by agency id.
    pub counterparts: Vec<CounterpartRow>,
    /// The sums over every counterpart (shares and median over all of them).
    pub totals: Exchange,
}

/// What a report is made from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// This agency: receipts about received documents count only when it issued them.
    pub agency: &'a OrganId,
    /// The period the records were read for.
    pub period: Period,
    /// Now: what is stuck is stuck as of this instant.
    pub now: Timestamp,
    /// Packages sent in the period.
    pub sent: &'a [SentPackage],
    /// Packages received in the period.
    pub received: &'a [ReceivedPackage],
    /// Agency names from the roster.
    pub names: &'a HashMap<OrganId, String>,
}

/// Counts the records into a report.
pub fn compute(inputs: Inputs<'_>) -> Report {
    let mut tallies: BTreeMap<OrganId, Tally> = BTreeMap::new();
    let mut documents_sent = 0;
    for sent in inputs.sent {
        if sent.package.kind != MessageKind::Edoc {
            continue;
        }
        documents_sent += 1;
        for entry in &sent.outbox {
            tallies
                .entry(entry.recipient.clone())
                .or_default()
                .count_sent(entry, &sent.receipts, inputs.now);
        }
    }
    let mut documents_received = 0;
    for received in inputs.received {
        if received.entry.kind != MessageKind::Edoc {
            continue;
        }
        documents_received += 1;
        let ours: Vec<&ReceiptFact> = received
            .receipts
            .iter()
            .filter(|r| &r.issuer == inputs.agency)
            .collect();
        tallies
            .entry(received.entry.from.clone())
            .or_default()
            .count_received(&ours);
    }

    let mut all = Tally::default();
    let counterparts = tallies
        .into_iter()
        .map(|(organ_id, tally)| {
            all.add(&tally);
            CounterpartRow {
                name: inputs.names.get(&organ_id).cloned(),
                organ_id,
                via_axis: tally.via_axis,
                exchange: tally.finish(),
            }
        })
        .collect();
    Report {
        agency: inputs.agency.clone(),
        agency_name: inputs.names.get(inputs.agency).cloned(),
        from: inputs.period.from,
        to: inputs.period.to,
        generated_at: inputs.now,
        documents_sent,
        documents_received,
        counterparts,
        totals: all.finish(),
    }
}

/// Counts for one counterpart while they are gathered.
#[derive(Debug, Default)]
struct Tally {
    counts: Exchange,
    /// Milliseconds from queueing to receipt 01, one per arrived document.
    to_arrival: Vec<u64>,
    /// A document to it was handed to the axis.
    via_axis: bool,
}

impl Tally {
    fn count_sent(&mut self, entry: &OutboxEntry, receipts: &[ReceiptFact], now: Timestamp) {
        let theirs: Vec<&ReceiptFact> = receipts
            .iter()
            .filter(|r| r.recipient == entry.recipient && r.code != StatusCode::TakeBackRequested)
            .collect();
        let has = |code: StatusCode| theirs.iter().any(|r| r.code == code);
        self.via_axis |= entry.state == DeliveryState::HandedToAxis;
        let counts = &mut self.counts;
        counts.sent += 1;
        let arrived_at = entry.delivered_at.or_else(|| {
            theirs
                .iter()
                .filter(|r| r.code == StatusCode::Arrived)
                .map(|r| r.issued_at)
                .min()
        });
        match arrived_at {
            Some(at) => {
                if at <= entry.deadline {
                    counts.arrived_on_time += 1;
                } else {
                    counts.arrived_late += 1;
                }
                self.to_arrival
                    .push(at.as_millis().saturating_sub(entry.queued_at.as_millis()));
            }
            None => counts.not_arrived += 1,
        }
        let refused = entry.state == DeliveryState::Rejected || has(StatusCode::Rejected);
        counts.refused += u64::from(refused);
        counts.answered += u64::from(theirs.iter().any(|r| is_handling(r.code)));
        counts.completed += u64::from(has(StatusCode::Completed));
        let overdue = entry.state.is_pending() && now > entry.deadline;
        counts.stuck += u64::from(overdue || entry.state == DeliveryState::Rejected);
    }

    fn count_received(&mut self, ours: &[&ReceiptFact]) {
        let has = |code: StatusCode| ours.iter().any(|r| r.code == code);
        let counts = &mut self.counts;
        counts.received += 1;
        counts.received_answered += u64::from(ours.iter().any(|r| is_handling(r.code)));
        counts.received_completed += u64::from(has(StatusCode::Completed));
        counts.received_refused += u64::from(has(StatusCode::Rejected));
    }

    fn add(&mut self, other: &Tally) {
        let (sum, more) = (&mut self.counts, &other.counts);
        sum.sent += more.sent;
        sum.arrived_on_time += more.arrived_on_time;
        sum.arrived_late += more.arrived_late;
        sum.not_arrived += more.not_arrived;
        sum.refused += more.refused;
        sum.answered += more.answered;
        sum.completed += more.completed;
        sum.stuck += more.stuck;
        sum.received += more.received;
        sum.received_answered += more.received_answered;
        sum.received_completed += more.received_completed;
        sum.received_refused += more.received_refused;
        self.to_arrival.extend_from_slice(&other.to_arrival);
    }

    fn finish(mut self) -> Exchange {
        let mut counts = self.counts;
        counts.arrived_on_time_percent = percent(counts.arrived_on_time, counts.sent);
        counts.answered_percent = percent(counts.answered, counts.sent);
        counts.completed_percent = percent(counts.completed, counts.sent);
        counts.received_answered_percent = percent(counts.received_answered, counts.received);
        counts.median_seconds_to_arrival = median(&mut self.to_arrival).map(|ms| (ms + 500) / 1000);
        counts
    }
}

/// 03 to 06: the recipient's QLVB took the document in and worked on it.
fn is_handling(code: StatusCode) -> bool {
    matches!(
        code,
        StatusCode::Accepted
            | StatusCode::Assigned
            | StatusCode::Processing
            | StatusCode::Completed
    )
}

/// `part` of `whole` in percent, to one decimal; `None` for an empty whole.
fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// The median, the mean of the two middle values for an even count.
fn median(values: &mut [u64]) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let middle = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[middle]
    } else {
        // Sorted, so the difference cannot underflow and the sum cannot overflow.
        values[middle - 1] + (values[middle] - values[middle - 1]) / 2
    })
}

fn rfc3339<S: Serializer>(time: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(time)
}

fn from_rfc3339<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}
