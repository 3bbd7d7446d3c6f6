//! Small text helpers shared by the mail formats.

use crate::edxml::{EdxmlDate, EdxmlDateTime};
use crate::envelope::Timestamp;

/// Vietnam time, UTC+7 all year: the dates a Vietnamese reader and QLVB software expect.
const VIETNAM_OFFSET_SECONDS: u64 = 7 * 3600;

/// The date of `at` in Vietnam, as edXML carries it.
pub(crate) fn vietnam_date(at: Timestamp) -> Option<EdxmlDate> {
    let (year, month, day, ..) = at.civil_ahead_of_utc(VIETNAM_OFFSET_SECONDS);
    EdxmlDate::new(
        u16::try_from(year).ok()?,
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
    )
}

/// The date and time of `at` in Vietnam, as edXML carries it.
pub(crate) fn vietnam_date_time(at: Timestamp) -> Option<EdxmlDateTime> {
    let (_, _, _, hour, minute, second) = at.civil_ahead_of_utc(VIETNAM_OFFSET_SECONDS);
    EdxmlDateTime::new(
        vietnam_date(at)?,
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
}

/// One line of text: line breaks and other control characters become single spaces, and
/// runs of white space collapse. For subjects and file names.
pub(crate) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| c.is_whitespace() || c.is_control() || is_non_character(c))
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Text XML can carry: line ends as `\n`, tabs kept, other control characters and the
/// non-characters U+FFFE/U+FFFF dropped, trailing white space of the whole text trimmed.
pub(crate) fn xml_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let kept: String = text
        .chars()
        .filter(|c| matches!(c, '\n' | '\t') || !(c.is_control() || is_non_character(*c)))
        .collect();
    kept.trim_end().to_owned()
}

fn is_non_character(c: char) -> bool {
    matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// The first `max` characters of `text`, ending with `…` when cut.
pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((cut, _)) if text.chars().count() > max => format!("{}…", &text[..cut]),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnam_date_is_seven_hours_ahead() {
        // 2026-11-21T18:00:00Z is 01:00 on the 22nd in Hà Nội.
        let at: Timestamp = "2026-11-21T18:00:00.000Z".parse().unwrap();
        assert_eq!(vietnam_date(at), EdxmlDate::new(2026, 11, 22));
        assert_eq!(
            vietnam_date_time(at),
            EdxmlDateTime::new(EdxmlDate::new(2026, 11, 22).unwrap(), 1, 0, 0)
        );
    }

    #[test]
    fn one_line_collapses_breaks() {
        assert_eq!(
            one_line("  Về việc\r\n\t báo cáo \u{7}x "),
            "Về việc báo cáo x"
        );
    }

    #[test]
    fn xml_text_keeps_lines_and_drops_controls() {
        assert_eq!(xml_text("a\r\nb\u{0}c\rd\t \n\n"), "a\nbc\nd");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate_chars("Tiếng Việt", 5), "Tiến…");
        assert_eq!(truncate_chars("Tiếng", 5), "Tiếng");
    }
}
