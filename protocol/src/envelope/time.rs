//! Timestamps carried in envelopes.
//!
//! The protocol never reads the clock: callers pass the time in, so that the simulations can
//! run on logical time and tests are reproducible. On the wire and in JSON a timestamp is
//! the integer count of milliseconds since the Unix epoch; the RFC 3339 text form is for
//! people and command lines. The civil date is computed here (Howard Hinnant's
//! `civil_from_days`) rather than by pulling in a calendar crate for one conversion.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const MILLIS_PER_SECOND: u64 = 1000;
const SECONDS_PER_DAY: u64 = 86_400;
const MILLIS_PER_DAY: u64 = MILLIS_PER_SECOND * SECONDS_PER_DAY;
/// Days from 0000-03-01 (the start of Hinnant's shifted year) to 1970-01-01.
const EPOCH_SHIFT_DAYS: u64 = 719_468;
/// Days in a 400-year era of the Gregorian calendar.
const DAYS_PER_ERA: u64 = 146_097;

/// Milliseconds since 1970-01-01T00:00:00Z, UTC, ignoring leap seconds (Unix time).
///
/// Displays as RFC 3339 in UTC with milliseconds, `2026-11-21T05:39:00.123Z`, and parses
/// exactly that form. Years after 9999 display with more digits (not RFC 3339 any more, but
/// still read back), so every value round-trips through text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

/// Why a text is not a timestamp in the `2026-11-21T05:39:00.123Z` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The text does not have the `YYYY-MM-DDTHH:MM:SS.mmmZ` shape.
    #[error("timestamp is not in the form YYYY-MM-DDTHH:MM:SS.mmmZ")]
    Shape,
    /// A part is out of its range (month 13, February 30, hour 24, second 60 …).
    #[error("timestamp {part} is out of range")]
    OutOfRange {
        /// Which part: `"month"`, `"day"`, `"hour"`, `"minute"`, `"second"`.
        part: &'static str,
    },
    /// The instant is before 1970 or too far ahead to count in 64-bit milliseconds.
    #[error("timestamp is outside 1970 to the year 584 million")]
    Unrepresentable,
}

impl Timestamp {
    /// The Unix epoch, 1970-01-01T00:00:00.000Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    /// The instant `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Timestamp(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }
}

impl Timestamp {
    /// The civil (year, month, day, hour, minute, second) of this instant on a clock
    /// `offset_seconds` ahead of UTC: the mail formats date documents in Vietnam time (UTC+7).
    pub(crate) fn civil_ahead_of_utc(self, offset_seconds: u64) -> (u64, u64, u64, u64, u64, u64) {
        let millis = self
            .0
            .saturating_add(offset_seconds.saturating_mul(MILLIS_PER_SECOND));
        let (year, month, day) = civil_from_days(millis / MILLIS_PER_DAY);
        let seconds = millis % MILLIS_PER_DAY / MILLIS_PER_SECOND;
        (
            year,
            month,
            day,
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60,
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0 / MILLIS_PER_DAY;
        let in_day = self.0 % MILLIS_PER_DAY;
        let (year, month, day) = civil_from_days(days);
        let seconds = in_day / MILLIS_PER_SECOND;
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60,
            in_day % MILLIS_PER_SECOND,
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Everything after the year has a fixed width: "-MM-DDTHH:MM:SS.mmmZ".
        const TAIL: usize = 20;
        let bytes = s.as_bytes();
        let year_len = bytes.len().checked_sub(TAIL).ok_or(TimestampError::Shape)?;
        // Four digits, or more without a leading zero, so each instant has one text form.
        if year_len < 4 || (year_len > 4 && bytes.first() == Some(&b'0')) {
            return Err(TimestampError::Shape);
        }
        let (year_text, tail) = bytes.split_at(year_len);
        let shape_ok = tail.len() == TAIL
            && tail[0] == b'-'
            && tail[3] == b'-'
            && tail[6] == b'T'
            && tail[9] == b':'
            && tail[12] == b':'
            && tail[15] == b'.'
            && tail[19] == b'Z';
        if !shape_ok {
            return Err(TimestampError::Shape);
        }
        let year = digits(year_text)?;
        let month = digits(&tail[1..3])?;
        let day = digits(&tail[4..6])?;
        let hour = digits(&tail[7..9])?;
        let minute = digits(&tail[10..12])?;
        let second = digits(&tail[13..15])?;
        let millis = digits(&tail[16..19])?;

        let out_of_range = |part| TimestampError::OutOfRange { part };
        if !(1..=12).contains(&month) {
            return Err(out_of_range("month"));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(out_of_range("day"));
        }
        if hour > 23 {
            return Err(out_of_range("hour"));
        }
        if minute > 59 {
            return Err(out_of_range("minute"));
        }
        // Unix time has no leap seconds, so :60 cannot be represented.
        if second > 59 {
            return Err(out_of_range("second"));
        }
        let days = days_from_civil(year, month, day).ok_or(TimestampError::Unrepresentable)?;
        let in_day = ((hour * 60 + minute) * 60 + second) * MILLIS_PER_SECOND + millis;
        days.checked_mul(MILLIS_PER_DAY)
            .and_then(|m| m.checked_add(in_day))
            .map(Timestamp)
            .ok_or(TimestampError::Unrepresentable)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u64::deserialize(deserializer).map(Timestamp)
    }
}

/// ASCII digits as a number; `Shape` for anything else or more than fits.
fn digits(text: &[u8]) -> Result<u64, TimestampError> {
    text.iter().try_fold(0u64, |acc, b| {
        if !b.is_ascii_digit() {
            return Err(TimestampError::Shape);
        }
        acc.checked_mul(10)
            .and_then(|acc| acc.checked_add(u64::from(b - b'0')))
            .ok_or(TimestampError::Unrepresentable)
    })
}

fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// (year, month, day) of the day `days` after 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Count from 0000-03-01 so that the leap day is the last day of the shifted year.
    let z = days + EPOCH_SHIFT_DAYS;
    let era = z / DAYS_PER_ERA;
    let day_of_era = z % DAYS_PER_ERA; // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365]
    let shifted_month = (5 * day_of_year + 2) / 153; // [0, 11], March = 0
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to a valid civil date; `None` before 1970 or on overflow.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let shifted_year = year.checked_sub(u64::from(month <= 2))?;
    let era = shifted_year / 400;
    let year_of_era = shifted_year % 400;
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era.checked_mul(DAYS_PER_ERA)?
        .checked_add(day_of_era)?
        .checked_sub(EPOCH_SHIFT_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("valid timestamp")
    }

    #[test]
    fn displays_rfc3339_with_millis() {
        assert_eq!(
            Timestamp::UNIX_EPOCH.to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(1_795_239_540_123).to_string(),
            "2026-11-21T05:39:00.123Z"
        );
        // The last millisecond of a leap day, and the one after.
        assert_eq!(
            Timestamp::from_millis(951_868_799_999).to_string(),
            "2000-02-29T23:59:59.999Z"
        );
        assert_eq!(
            Timestamp::from_millis(951_868_800_000).to_string(),
            "2000-03-01T00:00:00.000Z"
        );
    }

    #[test]
    fn parses_what_it_displays() {
        for millis in [
            0,
            1,
            999,
            86_399_999,
            951_868_799_999,
            1_795_239_540_123,
            253_402_300_799_999, // 9999-12-31T23:59:59.999Z
            253_402_300_800_000, // 10000-01-01
            u64::MAX,
        ] {
            let t = Timestamp::from_millis(millis);
            assert_eq!(t.to_string().parse::<Timestamp>(), Ok(t), "{t}");
        }
        assert_eq!(
            ts("2026-11-21T05:39:00.123Z").as_millis(),
            1_795_239_540_123
        );
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        let mut previous = None;
        for days in 0..4 * DAYS_PER_ERA {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), Some(days));
            assert!(d >= 1 && d <= days_in_month(y, m));
            if let Some((py, pm, pd)) = previous {
                assert!((y, m, d) > (py, pm, pd));
            }
            previous = Some((y, m, d));
        }
    }

    #[test]
    fn rejects_other_forms() {
        for bad in [
            "",
            "2026-11-21",
            "2026-11-21T05:39:00Z",
            "2026-11-21T05:39:00.12Z",
            "2026-11-21T05:39:00.123+07:00",
            "2026-11-21t05:39:00.123z",
            "2026-11-21 05:39:00.123Z",
            "+2026-11-21T05:39:00.123Z",
            "02026-11-21T05:39:00.123Z",
            "226-11-21T05:39:00.123Z",
            "2026-1a-21T05:39:00.123Z",
        ] {
            assert_eq!(
                bad.parse::<Timestamp>(),
                Err(TimestampError::Shape),
                "{bad}"
            );
        }
        assert_eq!(
            "2026-13-01T00:00:00.000Z".parse::<Timestamp>(),
            Err(TimestampError::OutOfRange { part: "month" })
        );
        assert_eq!(
            "2026-02-29T00:00:00.000Z".parse::<Timestamp>(),
            Err(TimestampError::OutOfRange { part: "day" })
        );
        assert_eq!(
            "2016-12-31T23:59:60.000Z".parse::<Timestamp>(),
            Err(TimestampError::OutOfRange { part: "second" })
        );
        assert_eq!(
            "1969-12-31T23:59:59.999Z".parse::<Timestamp>(),
            Err(TimestampError::Unrepresentable)
        );
        assert_eq!(
            "99999999999-01-01T00:00:00.000Z".parse::<Timestamp>(),
            Err(TimestampError::Unrepresentable)
        );
    }

    #[test]
    fn serde_is_integer_millis() {
        let t = ts("2026-11-21T05:39:00.123Z");
        assert_eq!(
            serde_json::to_string(&t).ok().as_deref(),
            Some("1795239540123")
        );
        assert_eq!(
            serde_json::from_str::<Timestamp>("1795239540123").ok(),
            Some(t)
        );
    }
}
