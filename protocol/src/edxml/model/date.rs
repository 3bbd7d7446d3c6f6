//! Dates and timestamps as edXML writes them: `yyyy/MM/dd` and `yyyy/MM/dd HH:mm:ss`.
//!
//! Real producers also write `dd/MM/yyyy` (a Tây Ninh sample), ISO `yyyy-MM-dd` and ISO
//! date-times. The parsers here accept those and say which form they met, so the reader can
//! turn each into a warning; the `Display` impls always write the standard form.

use std::fmt;

use serde::{Serialize, Serializer};

/// A calendar date, validated (month 1–12, day within the month, leap years included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EdxmlDate {
    year: u16,
    month: u8,
    day: u8,
}

/// A local date and time (edXML timestamps carry no zone; the senders are all on UTC+7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EdxmlDateTime {
    date: EdxmlDate,
    hour: u8,
    minute: u8,
    second: u8,
}

/// Which form a date was written in, when it was not the standard one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateForm {
    /// `yyyy/MM/dd` (or with the time), as QCVN 102 writes it.
    Standard,
    /// `dd/MM/yyyy`.
    DayFirst,
    /// `yyyy-MM-dd`, possibly `T`-separated from an ISO time with fraction and zone.
    Iso,
    /// A timestamp written as a date only; midnight is assumed.
    DateOnly,
    /// Month or day without its leading zero (`2018/9/8`).
    Unpadded,
}

impl fmt::Display for DateForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DateForm::Standard => "yyyy/MM/dd",
            DateForm::DayFirst => "dd/MM/yyyy",
            DateForm::Iso => "ISO 8601",
            DateForm::DateOnly => "a date without a time",
            DateForm::Unpadded => "numbers without leading zeros",
        })
    }
}

impl EdxmlDate {
    /// A validated date.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        let valid = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        valid.then_some(EdxmlDate { year, month, day })
    }

    /// The year.
    pub fn year(&self) -> u16 {
        self.year
    }
    /// The month, 1–12.
    pub fn month(&self) -> u8 {
        self.month
    }
    /// The day of the month.
    pub fn day(&self) -> u8 {
        self.day
    }

    /// Parses the standard form and the variants real producers write.
    pub fn parse_lenient(text: &str) -> Option<(Self, DateForm)> {
        let text = text.trim();
        let (parts, separator) = split_date(text)?;
        let [a, b, c] = parts;
        let (year, month, day, form) = if a.len() == 4 {
            let form = if separator == '-' {
                DateForm::Iso
            } else if b.len() != 2 || c.len() != 2 {
                DateForm::Unpadded
            } else {
                DateForm::Standard
            };
            (a, b, c, form)
        } else if c.len() == 4 {
            (c, b, a, DateForm::DayFirst)
        } else {
            return None;
        };
        let date = EdxmlDate::new(number(year)?, number(month)?, number(day)?)?;
        Some((date, form))
    }
}

impl EdxmlDateTime {
    /// A validated date and time.
    pub fn new(date: EdxmlDate, hour: u8, minute: u8, second: u8) -> Option<Self> {
        (hour < 24 && minute < 60 && second < 60).then_some(EdxmlDateTime {
            date,
            hour,
            minute,
            second,
        })
    }

    /// The date part.
    pub fn date(&self) -> EdxmlDate {
        self.date
    }
    /// Hour, minute and second.
    pub fn time(&self) -> (u8, u8, u8) {
        (self.hour, self.minute, self.second)
    }

    /// Parses `yyyy/MM/dd HH:mm:ss` and the variants real producers write (day-first dates,
    /// ISO date-times with fractions and zones, a date alone).
    pub fn parse_lenient(text: &str) -> Option<(Self, DateForm)> {
        let text = text.trim();
        let Some((date_text, time_text)) = text.split_once([' ', 'T']) else {
            let (date, _) = EdxmlDate::parse_lenient(text)?;
            return Some((EdxmlDateTime::new(date, 0, 0, 0)?, DateForm::DateOnly));
        };
        let (date, form) = EdxmlDate::parse_lenient(date_text)?;
        // ISO times may carry a fraction and a zone: 10:11:12.345+07:00 or 10:11:12Z.
        let time_text = time_text.trim();
        let clock_end = time_text
            .find(|c: char| !(c.is_ascii_digit() || c == ':'))
            .unwrap_or(time_text.len());
        let (clock, rest) = time_text.split_at(clock_end);
        let mut fields = clock.split(':');
        let hour = number(fields.next()?)?;
        let minute = number(fields.next()?)?;
        let second = fields.next().map_or(Some(0), number)?;
        if fields.next().is_some() {
            return None;
        }
        let form = if !rest.is_empty() || text.contains('T') {
            if !rest.is_empty() && !is_iso_suffix(rest) {
                return None;
            }
            DateForm::Iso
        } else {
            form
        };
        Some((EdxmlDateTime::new(date, hour, minute, second)?, form))
    }
}

fn is_iso_suffix(rest: &str) -> bool {
    let rest = rest
        .strip_prefix('.')
        .map(|r| r.trim_start_matches(|c: char| c.is_ascii_digit()))
        .unwrap_or(rest);
    rest.is_empty()
        || rest == "Z"
        || ((rest.starts_with('+') || rest.starts_with('-'))
            && rest[1..].bytes().all(|b| b.is_ascii_digit() || b == b':'))
}

fn split_date(text: &str) -> Option<([&str; 3], char)> {
    let separator = if text.contains('/') { '/' } else { '-' };
    let mut it = text.split(separator);
    let parts = [it.next()?, it.next()?, it.next()?];
    if it.next().is_some() || parts.iter().any(|p| p.is_empty() || p.len() > 4) {
        return None;
    }
    Some((parts, separator))
}

fn number<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

impl fmt::Display for EdxmlDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}/{:02}/{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for EdxmlDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:02}:{:02}:{:02}",
            self.date, self.hour, self.minute, self.second
        )
    }
}

impl Serialize for EdxmlDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Serialize for EdxmlDateTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_forms_round_trip() {
        let (d, form) = EdxmlDate::parse_lenient("2015/09/30").expect("date");
        assert_eq!(form, DateForm::Standard);
        assert_eq!(d.to_string(), "2015/09/30");
        let (t, form) = EdxmlDateTime::parse_lenient("2018/09/28 17:25:11").expect("time");
        assert_eq!(form, DateForm::Standard);
        assert_eq!(t.to_string(), "2018/09/28 17:25:11");
    }

    #[test]
    fn variants_are_read_and_named() {
        assert_eq!(
            EdxmlDate::parse_lenient("30/10/2020").map(|(d, f)| (d.to_string(), f)),
            Some(("2020/10/30".to_owned(), DateForm::DayFirst))
        );
        assert_eq!(
            EdxmlDate::parse_lenient("2020-10-30").map(|(_, f)| f),
            Some(DateForm::Iso)
        );
        assert_eq!(
            EdxmlDate::parse_lenient("2020/1/3").map(|(d, f)| (d.to_string(), f)),
            Some(("2020/01/03".to_owned(), DateForm::Unpadded))
        );
        assert_eq!(
            EdxmlDateTime::parse_lenient("2020-10-30T08:01:02.123+07:00")
                .map(|(t, f)| (t.to_string(), f)),
            Some(("2020/10/30 08:01:02".to_owned(), DateForm::Iso))
        );
        assert_eq!(
            EdxmlDateTime::parse_lenient("2020/10/30").map(|(_, f)| f),
            Some(DateForm::DateOnly)
        );
    }

    #[test]
    fn impossible_dates_are_refused() {
        for bad in [
            "2014/02/30",
            "2015/13/01",
            "2015/00/10",
            "abc",
            "",
            "2015/09",
            "1/2/3",
        ] {
            assert_eq!(EdxmlDate::parse_lenient(bad), None, "{bad}");
        }
        assert_eq!(
            EdxmlDate::parse_lenient("2024/02/29").map(|(_, f)| f),
            Some(DateForm::Standard)
        );
        assert_eq!(EdxmlDateTime::parse_lenient("2015/09/20 24:00:00"), None);
        assert_eq!(
            EdxmlDateTime::parse_lenient("2015/09/20 10:00:00junk"),
            None
        );
    }
}
