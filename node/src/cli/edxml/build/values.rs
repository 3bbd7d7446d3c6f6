//! Single values: texts XML can carry, agency ids, ISO dates and timestamps.

use lienthong_protocol::OrganId;
use lienthong_protocol::edxml::{EdxmlDate, EdxmlDateTime};

use super::{DescriptionError, err};

/// Optional text: present means non-empty and carriable by XML.
pub(super) fn text(key: &str, value: Option<String>) -> Result<Option<String>, DescriptionError> {
    value.map(|v| required(key, v)).transpose()
}

pub(super) fn required(key: &str, value: String) -> Result<String, DescriptionError> {
    if value.is_empty() {
        return Err(err(key, "empty; leave the key out"));
    }
    if let Some(c) = value.chars().find(|c| {
        (c.is_control() && !matches!(*c, '\n' | '\t' | '\r'))
            || matches!(*c, '\u{FFFE}' | '\u{FFFF}')
    }) {
        return Err(err(
            key,
            format!("holds the character {c:?}, which XML cannot carry"),
        ));
    }
    Ok(value)
}

pub(super) fn texts(key: &str, values: Vec<String>) -> Result<Vec<String>, DescriptionError> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| required(&format!("{key}[{i}]"), v))
        .collect()
}

pub(super) fn organ_id(key: &str, text: &str) -> Result<OrganId, DescriptionError> {
    OrganId::parse(text).map_err(|e| err(key, format!("{text:?} is not an agency id: {e}")))
}

pub(super) fn opt_date(
    key: &str,
    text: Option<&str>,
) -> Result<Option<EdxmlDate>, DescriptionError> {
    text.map(|t| date(key, t)).transpose()
}

/// `YYYY-MM-DD`, exactly.
pub(super) fn date(key: &str, text: &str) -> Result<EdxmlDate, DescriptionError> {
    let bad = || err(key, format!("{text:?} is not a date YYYY-MM-DD"));
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let year = digits(text.get(0..4)).ok_or_else(bad)?;
    let month = digits(text.get(5..7)).ok_or_else(bad)?;
    let day = digits(text.get(8..10)).ok_or_else(bad)?;
    EdxmlDate::new(year, month, day)
        .ok_or_else(|| err(key, format!("{text:?} is not a day of the calendar")))
}

/// `YYYY-MM-DDTHH:MM:SS`, exactly: local time, as edXML carries no zone.
pub(super) fn date_time(key: &str, text: &str) -> Result<EdxmlDateTime, DescriptionError> {
    let bad = || {
        err(
            key,
            format!("{text:?} is not a timestamp YYYY-MM-DDTHH:MM:SS"),
        )
    };
    let b = text.as_bytes();
    if b.len() != 19 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let day = date(key, text.get(..10).unwrap_or_default()).map_err(|_| bad())?;
    let hour = digits(text.get(11..13)).ok_or_else(bad)?;
    let minute = digits(text.get(14..16)).ok_or_else(bad)?;
    let second = digits(text.get(17..19)).ok_or_else(bad)?;
    EdxmlDateTime::new(day, hour, minute, second)
        .ok_or_else(|| err(key, format!("{text:?} is not a time of day")))
}

/// A number written with ASCII digits only (no sign, no space).
fn digits<T: std::str::FromStr>(text: Option<&str>) -> Option<T> {
    let text = text?;
    text.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso_and_real_days() {
        assert_eq!(
            date("d", "2024-02-29").map(|d| d.to_string()),
            Ok("2024/02/29".to_owned())
        );
        for bad in [
            "2026-02-29",
            "2026/02/28",
            "26-02-28",
            "2026-2-28",
            "+026-02-28",
            "2026-02-2 ",
            "2é6-02-28",
            "2026-02-2é",
            "",
        ] {
            let e = date("promulgation_date", bad).expect_err(bad);
            assert_eq!(e.key, "promulgation_date", "{bad}");
        }
        assert_eq!(
            date_time("t", "2015-09-20T11:08:36").map(|t| t.to_string()),
            Ok("2015/09/20 11:08:36".to_owned())
        );
        for bad in [
            "2015-09-20 11:08:36",
            "2015-09-20T24:00:00",
            "2015-09-20T11:08",
            "2015-09-20T11:08:36Z",
            "2015-09-20T11:0é:36",
            "2015-09-2éT11:08:36",
        ] {
            assert!(date_time("t", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn texts_must_be_carriable_by_xml() {
        assert_eq!(text("k", None), Ok(None));
        assert_eq!(text("k", Some(" a\r\n".into())), Ok(Some(" a\r\n".into())));
        assert_eq!(
            text("k", Some(String::new())).map_err(|e| e.key),
            Err("k".into())
        );
        let e = text("subject", Some("chuông \u{7}".into())).expect_err("bell");
        assert!(
            e.to_string().starts_with("subject: holds the character"),
            "{e}"
        );
    }
}
