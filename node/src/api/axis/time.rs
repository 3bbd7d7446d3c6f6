//! Times as the axis and its SDK write them.
//!
//! - In answers (`created_time`, `sentTime`, …): `yyyy/MM/dd HH:mm:ss`, Vietnam time
//!   (UTC+7), the form edXML timestamps take, which every QLVB already parses.
//! - `fromDate`/`toDate`: the edXML forms (`yyyy/MM/dd`, `dd/MM/yyyy`, ISO `yyyy-MM-dd`,
//!   each optionally with `HH:mm:ss`) in Vietnam time, or RFC 3339 with its own zone.
//!
//! The calendar arithmetic is the protocol's (`Timestamp` reads and writes RFC 3339); this
//! file only moves between zones and text forms.

use lienthong_protocol::edxml::{DateForm, EdxmlDate, EdxmlDateTime};
use lienthong_protocol::envelope::Timestamp;

/// Vietnam's offset from UTC (no daylight saving time), in milliseconds.
pub(super) const VIETNAM_OFFSET_MS: i64 = 7 * 3600 * 1000;

/// Civil date and time parts: year, month, day, hour, minute, second.
type Civil = (u16, u8, u8, u8, u8, u8);

/// `at` in Vietnam time as edXML writes it: `2026/11/21 12:39:00`.
pub(super) fn vietnam_text(at: Timestamp) -> String {
    let (year, month, day, hour, minute, second) = civil(at, VIETNAM_OFFSET_MS);
    format!("{year:04}/{month:02}/{day:02} {hour:02}:{minute:02}:{second:02}")
}

/// `at` in Vietnam time as an edXML `Timestamp`.
pub(super) fn vietnam_edxml(at: Timestamp) -> Option<EdxmlDateTime> {
    let (year, month, day, hour, minute, second) = civil(at, VIETNAM_OFFSET_MS);
    EdxmlDateTime::new(EdxmlDate::new(year, month, day)?, hour, minute, second)
}

/// The civil time of `at` in the zone `offset_ms` ahead of UTC.
fn civil(at: Timestamp, offset_ms: i64) -> Civil {
    let millis = if offset_ms >= 0 {
        at.as_millis().saturating_add(offset_ms.unsigned_abs())
    } else {
        at.as_millis().saturating_sub(offset_ms.unsigned_abs())
    };
    // `2026-11-21T05:39:00.123Z`: fixed positions up to year 9999.
    let text = Timestamp::from_millis(millis).to_string();
    let number = |range: std::ops::Range<usize>| -> u16 {
        text.get(range).and_then(|t| t.parse().ok()).unwrap_or(0)
    };
    let narrow = |value: u16| u8::try_from(value).unwrap_or(0);
    (
        number(0..4),
        narrow(number(5..7)),
        narrow(number(8..10)),
        narrow(number(11..13)),
        narrow(number(14..16)),
        narrow(number(17..19)),
    )
}

/// The instant at which the clocks of the zone `offset_ms` ahead of UTC show `civil`
/// (plus `millis`); `None` for an impossible date or one before 1970.
fn instant(civil: Civil, millis: u16, offset_ms: i64) -> Option<Timestamp> {
    let (year, month, day, hour, minute, second) = civil;
    let text =
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z");
    let utc = text.parse::<Timestamp>().ok()?.as_millis();
    let shifted = if offset_ms >= 0 {
        utc.checked_sub(offset_ms.unsigned_abs())?
    } else {
        utc.checked_add(offset_ms.unsigned_abs())?
    };
    Some(Timestamp::from_millis(shifted))
}

/// Which end of a day a date without a time stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DayEnd {
    /// `fromDate`: from the first millisecond of the day.
    Start,
    /// `toDate`: up to the last millisecond of the day, so `toDate` = today includes today.
    End,
}

/// Reads `fromDate` or `toDate`.
///
/// # Errors
/// A message naming the forms accepted.
pub(super) fn date_param(name: &str, text: &str, end: DayEnd) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    let refuse = || {
        format!(
            "{name} {text:?} is not a date: write yyyy/MM/dd or dd/MM/yyyy (Vietnam time), optionally with HH:mm:ss"
        )
    };
    let (at, form) = EdxmlDateTime::parse_lenient(text).ok_or_else(refuse)?;
    let date = at.date();
    let (hour, minute, second) = at.time();
    let date_only = form == DateForm::DateOnly;
    let (hour, minute, second, millis) = match (date_only, end) {
        (true, DayEnd::End) => (23, 59, 59, 999),
        (true, DayEnd::Start) => (0, 0, 0, 0),
        (false, DayEnd::End) => (hour, minute, second, 999),
        (false, DayEnd::Start) => (hour, minute, second, 0),
    };
    instant(
        (date.year(), date.month(), date.day(), hour, minute, second),
        millis,
        VIETNAM_OFFSET_MS,
    )
    .ok_or_else(refuse)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("valid timestamp")
    }

    #[test]
    fn answers_are_in_vietnam_time() {
        let at = ts("2026-11-21T20:39:05.123Z");
        assert_eq!(vietnam_text(at), "2026/11/22 03:39:05");
        assert_eq!(
            vietnam_edxml(at).map(|t| t.to_string()).as_deref(),
            Some("2026/11/22 03:39:05")
        );
    }

    #[test]
    fn date_parameters_cover_whole_days_in_vietnam_time() {
        assert_eq!(
            date_param("fromDate", "21/11/2026", DayEnd::Start),
            Ok(ts("2026-11-20T17:00:00.000Z"))
        );
        assert_eq!(
            date_param("toDate", "2026/11/21", DayEnd::End),
            Ok(ts("2026-11-21T16:59:59.999Z"))
        );
        assert_eq!(
            date_param("fromDate", "2026/11/21 08:30:00", DayEnd::Start),
            Ok(ts("2026-11-21T01:30:00.000Z"))
        );
        assert_eq!(
            date_param("fromDate", "2026-11-21T01:30:00.000Z", DayEnd::Start),
            Ok(ts("2026-11-21T01:30:00.000Z"))
        );
        let err = date_param("toDate", "hôm qua", DayEnd::End).expect_err("not a date");
        assert!(
            err.contains("toDate") && err.contains("yyyy/MM/dd"),
            "{err}"
        );
    }
}
