//! The period an archive covers: a quarter (`2026-Q3`), a month (`2026-09`) or a year
//! (`2026`), in UTC like `lienthong report`'s days.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

use lienthong_protocol::envelope::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar period of whole UTC months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// `2026`.
    Year(u32),
    /// `2026-Q3`: quarter 1 to 4.
    Quarter(u32, u32),
    /// `2026-09`: month 1 to 12.
    Month(u32, u32),
}

/// Why a text is not a period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the period {0:?} is not a quarter, a month or a year: give e.g. 2026-Q3, 2026-09 or 2026")]
pub struct PeriodError(pub String);

/// The first and last years a period may be in: no document was exchanged before 1970,
/// and a four-digit year keeps every period's text one form.
const YEARS: std::ops::RangeInclusive<u32> = 1970..=9998;

impl Period {
    /// The first month and the number of months.
    fn months(self) -> (u32, u32, u32) {
        match self {
            Period::Year(year) => (year, 1, 12),
            Period::Quarter(year, quarter) => (year, (quarter - 1) * 3 + 1, 3),
            Period::Month(year, month) => (year, month, 1),
        }
    }

    /// The instants it covers: from midnight UTC on its first day to midnight after its
    /// last.
    pub fn range(self) -> Range<Timestamp> {
        let (year, first, count) = self.months();
        let last = first + count; // the month after, maybe 13
        let (end_year, end_month) = if last > 12 {
            (year + 1, last - 12)
        } else {
            (year, last)
        };
        month_start(year, first)..month_start(end_year, end_month)
    }

    /// The latest quarter that had ended at `now`.
    pub fn quarter_before(now: Timestamp) -> Period {
        let text = now.to_string();
        let year: u32 = text[..4].parse().unwrap_or(1970);
        let month: u32 = text[5..7].parse().unwrap_or(1);
        let quarter = (month - 1) / 3 + 1;
        if quarter == 1 {
            Period::Quarter(year - 1, 4)
        } else {
            Period::Quarter(year, quarter - 1)
        }
    }

    /// The day the period's archive may be discarded: `retention` after its end.
    ///
    /// Rounded up to the next midnight (UTC): a retention in years is read as 365.25 days
    /// each, which would otherwise end at noon a day short of the calendar years it means
    /// (2026-Q4 kept 10 years: until 2037-01-01, not 2036-12-31 at noon).
    pub fn keep_until(self, retention: Duration) -> Timestamp {
        const DAY_MS: u64 = 86_400_000;
        let millis = u64::try_from(retention.as_millis()).unwrap_or(u64::MAX);
        let until = self.range().end.as_millis().saturating_add(millis);
        Timestamp::from_millis(until.div_ceil(DAY_MS).saturating_mul(DAY_MS))
    }
}

fn month_start(year: u32, month: u32) -> Timestamp {
    format!("{year:04}-{month:02}-01T00:00:00.000Z")
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

impl FromStr for Period {
    type Err = PeriodError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || PeriodError(text.to_owned());
        let number = |digits: &str, len: usize| -> Result<u32, PeriodError> {
            if digits.len() != len || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(error());
            }
            digits.parse().map_err(|_| error())
        };
        let (year_text, rest) = text.split_at_checked(4).ok_or_else(error)?;
        let year = number(year_text, 4)?;
        if !YEARS.contains(&year) {
            return Err(error());
        }
        let period = match rest {
            "" => Period::Year(year),
            _ => {
                let part = rest.strip_prefix('-').ok_or_else(error)?;
                if let Some(quarter) = part.strip_prefix('Q').or_else(|| part.strip_prefix('q')) {
                    let quarter = number(quarter, 1)?;
                    if !(1..=4).contains(&quarter) {
                        return Err(error());
                    }
                    Period::Quarter(year, quarter)
                } else {
                    let month = number(part, 2)?;
                    if !(1..=12).contains(&month) {
                        return Err(error());
                    }
                    Period::Month(year, month)
                }
            }
        };
        Ok(period)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Year(year) => write!(f, "{year:04}"),
            Period::Quarter(year, quarter) => write!(f, "{year:04}-Q{quarter}"),
            Period::Month(year, month) => write!(f, "{year:04}-{month:02}"),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    #[test]
    fn reads_each_form_and_covers_its_months() {
        let q3: Period = "2026-Q3".parse().expect("quarter");
        assert_eq!(q3, Period::Quarter(2026, 3));
        assert_eq!(
            q3.range(),
            at("2026-07-01T00:00:00.000Z")..at("2026-10-01T00:00:00.000Z")
        );
        let q4: Period = "2026-Q4".parse().expect("quarter");
        assert_eq!(q4.range().end, at("2027-01-01T00:00:00.000Z"));
        let september: Period = "2026-09".parse().expect("month");
        assert_eq!(
            september.range(),
            at("2026-09-01T00:00:00.000Z")..at("2026-10-01T00:00:00.000Z")
        );
        let december: Period = "2026-12".parse().expect("month");
        assert_eq!(december.range().end, at("2027-01-01T00:00:00.000Z"));
        let year: Period = "2026".parse().expect("year");
        assert_eq!(
            year.range(),
            at("2026-01-01T00:00:00.000Z")..at("2027-01-01T00:00:00.000Z")
        );
        for text in ["2026-Q3", "2026-09", "2026"] {
            assert_eq!(text.parse::<Period>().expect("period").to_string(), text);
        }
    }

    #[test]
    fn refuses_anything_else_naming_it() {
        for text in [
            "",
            "26",
            "2026-Q5",
            "2026-Q0",
            "2026-13",
            "2026-00",
            "2026-9",
            "2026-Q",
            "2026/09",
            "1969",
            "2026-09-01",
            "Q3-2026",
            "２０２６",
            " 2026",
        ] {
            let error = text.parse::<Period>().expect_err(text);
            assert!(error.to_string().contains(&format!("{text:?}")), "{error}");
        }
    }

    #[test]
    fn the_quarter_before_is_the_last_one_ended() {
        assert_eq!(
            Period::quarter_before(at("2026-12-07T22:00:00.000Z")),
            Period::Quarter(2026, 3)
        );
        assert_eq!(
            Period::quarter_before(at("2027-01-01T00:00:00.000Z")),
            Period::Quarter(2026, 4)
        );
        assert_eq!(
            Period::quarter_before(at("2026-04-01T00:00:00.000Z")),
            Period::Quarter(2026, 1)
        );
    }

    #[test]
    fn keep_until_counts_from_the_end() {
        let q3 = Period::Quarter(2026, 3);
        assert_eq!(
            q3.keep_until(Duration::from_secs(86_400)),
            at("2026-10-02T00:00:00.000Z")
        );
    }

    #[test]
    fn keep_until_in_years_ends_with_the_calendar_years() {
        let q4 = Period::Quarter(2026, 4);
        let ten_years = humantime::parse_duration("10years").expect("a duration");
        assert_eq!(q4.keep_until(ten_years), at("2037-01-01T00:00:00.000Z"));
    }
}
