//! The conversion pass's bookkeeping: where it is (the element path), the warnings it has
//! collected, and small helpers to read values from elements.

use std::ops::Range;

use bytes::Bytes;

use super::super::error::{EdxmlError, ErrorKind, Position, Warning, WarningKind};
use super::super::model::{DateForm, EdxmlDate, EdxmlDateTime};
use super::tree::{Element, Ns};
use crate::OrganId;

/// Warnings are recorded up to a cap, so that hostile input cannot make the reader spend
/// memory on them; the rest are counted.
struct Pending {
    kind: WarningKind,
    path: String,
    offset: usize,
}

pub(crate) struct Ctx<'a> {
    input: &'a [u8],
    bytes: Bytes,
    path: Vec<&'a str>,
    pending: Vec<Pending>,
    max_warnings: usize,
    dropped: usize,
    /// Namespaces already warned about; a message has one or two, so a vector is enough.
    namespaces_warned: Vec<String>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(input: &'a [u8], bytes: Bytes, max_warnings: usize) -> Self {
        Ctx {
            input,
            bytes,
            path: Vec::with_capacity(16),
            pending: Vec::new(),
            max_warnings,
            dropped: 0,
            namespaces_warned: Vec::new(),
        }
    }

    /// Enters `el`: warnings and errors below name it in their path. Also checks its
    /// namespace, once per distinct namespace.
    pub(crate) fn enter(&mut self, el: Element<'a>) {
        self.path.push(el.name());
        let (key, kind) = match el.ns() {
            Ns::Qcvn => return,
            Ns::Unbound => (
                String::new(),
                WarningKind::Namespace {
                    element: el.name().to_owned(),
                    namespace: String::new(),
                },
            ),
            Ns::Other(ns) => (
                ns.to_owned(),
                WarningKind::Namespace {
                    element: el.name().to_owned(),
                    namespace: ns.to_owned(),
                },
            ),
            Ns::Undeclared(prefix) => (
                format!("{prefix}:"),
                WarningKind::UndeclaredPrefix(prefix.to_owned()),
            ),
        };
        if !self.namespaces_warned.contains(&key) {
            self.namespaces_warned.push(key);
            self.warn_here(kind, el.offset());
        }
    }

    /// Leaves the element entered last.
    pub(crate) fn leave(&mut self) {
        self.path.pop();
    }

    /// The input as a byte buffer, for zero-copy slices.
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// A warning about `el`, a child of the current element.
    pub(crate) fn warn(&mut self, kind: WarningKind, el: Element<'a>) {
        self.path.push(el.name());
        self.warn_here(kind, el.offset());
        self.path.pop();
    }

    /// A warning about the current element.
    pub(crate) fn warn_here(&mut self, kind: WarningKind, offset: usize) {
        if self.pending.len() >= self.max_warnings {
            self.dropped += 1;
            return;
        }
        let path = self.path_string();
        self.pending.push(Pending { kind, path, offset });
    }

    /// An error about `el`, a child of the current element.
    pub(crate) fn error(&mut self, kind: ErrorKind, el: Element<'a>) -> EdxmlError {
        self.path.push(el.name());
        let error = self.error_here(kind, el.offset());
        self.path.pop();
        error
    }

    /// An error about `el` at a given offset inside it.
    pub(crate) fn error_at(
        &mut self,
        kind: ErrorKind,
        el: Element<'a>,
        offset: usize,
    ) -> EdxmlError {
        self.path.push(el.name());
        let error = self.error_here(kind, offset);
        self.path.pop();
        error
    }

    /// An error about the current element.
    pub(crate) fn error_here(&self, kind: ErrorKind, offset: usize) -> EdxmlError {
        EdxmlError {
            kind,
            path: self.path_string(),
            position: Some(Position::of_offset(self.input, offset)),
        }
    }

    fn path_string(&self) -> String {
        let mut path = String::new();
        for name in &self.path {
            path.push('/');
            path.push_str(name);
        }
        path
    }

    /// The warnings, in input order, with positions computed in one pass.
    pub(crate) fn into_warnings(mut self) -> Vec<Warning> {
        self.pending.sort_by_key(|p| p.offset);
        let bytes = self.input;
        let mut warnings = Vec::with_capacity(self.pending.len() + 1);
        let mut line = 1u32;
        let mut line_start = 0usize;
        let mut scanned = 0usize;
        for p in self.pending {
            let offset = p.offset.min(bytes.len());
            for i in memchr::memchr_iter(b'\n', &bytes[scanned..offset]) {
                line = line.saturating_add(1);
                line_start = scanned + i + 1;
            }
            scanned = offset;
            let column = String::from_utf8_lossy(&bytes[line_start..offset])
                .chars()
                .count()
                + 1;
            warnings.push(Warning {
                kind: p.kind,
                path: p.path,
                position: Position {
                    line,
                    column: u32::try_from(column).unwrap_or(u32::MAX),
                },
            });
        }
        if self.dropped > 0 {
            warnings.push(Warning {
                kind: WarningKind::MoreWarnings(self.dropped),
                path: String::new(),
                position: Position::default(),
            });
        }
        warnings
    }

    // ---- values -------------------------------------------------------------------------

    /// The trimmed text of `el`, `None` (with a warning) when it is empty.
    pub(crate) fn optional_text(&mut self, el: Element<'a>) -> Option<String> {
        let text = clean_text(&el.text(), el.referenced());
        if text.is_none() {
            self.warn(WarningKind::EmptyOptional(el.name().to_owned()), el);
        }
        text
    }

    /// Sets `slot` from `el` unless it is already set (then warns and keeps the first).
    pub(crate) fn set_text(
        &mut self,
        slot: &mut Option<String>,
        el: Element<'a>,
        name: &'static str,
    ) {
        if slot.is_some() {
            self.warn(WarningKind::DuplicateIgnored(name), el);
            return;
        }
        *slot = self.optional_text(el);
    }

    /// The trimmed text of a required element.
    pub(crate) fn required_text(
        &mut self,
        el: Element<'a>,
        name: &'static str,
    ) -> Result<String, EdxmlError> {
        clean_text(&el.text(), el.referenced())
            .ok_or_else(|| self.error(ErrorKind::EmptyRequired(name), el))
    }

    /// A required agency id.
    pub(crate) fn organ_id(
        &mut self,
        el: Element<'a>,
        name: &'static str,
    ) -> Result<OrganId, EdxmlError> {
        let text = self.required_text(el, name)?;
        OrganId::parse(&text).map_err(|e| {
            self.error(
                ErrorKind::Invalid {
                    element: name,
                    value: shorten(&text),
                    reason: e.to_string(),
                },
                el,
            )
        })
    }

    /// An optional agency id: an empty or invalid one is dropped with a warning.
    pub(crate) fn optional_organ_id(
        &mut self,
        el: Element<'a>,
        name: &'static str,
    ) -> Option<OrganId> {
        let text = self.optional_text(el)?;
        match OrganId::parse(&text) {
            Ok(id) => Some(id),
            Err(e) => {
                self.invalid_optional(el, name, &text, e.to_string());
                None
            }
        }
    }

    /// An optional number.
    pub(crate) fn optional_number<T: std::str::FromStr>(
        &mut self,
        el: Element<'a>,
        name: &'static str,
    ) -> Option<T> {
        let text = self.optional_text(el)?;
        match text.parse::<T>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.invalid_optional(el, name, &text, "not a whole number in range".to_owned());
                None
            }
        }
    }

    /// An optional flag written as 0/1 or false/true.
    pub(crate) fn optional_flag(&mut self, el: Element<'a>, name: &'static str) -> Option<bool> {
        let text = self.optional_text(el)?;
        match text.to_ascii_lowercase().as_str() {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => {
                self.invalid_optional(el, name, &text, "expected 0, 1, true or false".to_owned());
                None
            }
        }
    }

    /// An optional date, in the standard form or a variant (with a warning).
    pub(crate) fn optional_date(
        &mut self,
        el: Element<'a>,
        name: &'static str,
    ) -> Option<EdxmlDate> {
        let text = self.optional_text(el)?;
        match EdxmlDate::parse_lenient(&text) {
            Some((date, DateForm::Standard)) => Some(date),
            Some((date, form)) => {
                self.date_form(el, name, &text, form);
                Some(date)
            }
            None => {
                self.invalid_optional(el, name, &text, "not a date (yyyy/MM/dd)".to_owned());
                None
            }
        }
    }

    /// An optional timestamp, in the standard form or a variant (with a warning).
    pub(crate) fn optional_date_time(
        &mut self,
        el: Element<'a>,
        name: &'static str,
    ) -> Option<EdxmlDateTime> {
        let text = self.optional_text(el)?;
        match EdxmlDateTime::parse_lenient(&text) {
            Some((time, DateForm::Standard)) => Some(time),
            Some((time, form)) => {
                self.date_form(el, name, &text, form);
                Some(time)
            }
            None => {
                self.invalid_optional(
                    el,
                    name,
                    &text,
                    "not a timestamp (yyyy/MM/dd HH:mm:ss)".to_owned(),
                );
                None
            }
        }
    }

    fn date_form(&mut self, el: Element<'a>, name: &'static str, text: &str, form: DateForm) {
        self.warn(
            WarningKind::DateForm {
                element: name,
                value: shorten(text),
                form,
            },
            el,
        );
    }

    pub(crate) fn invalid_optional(
        &mut self,
        el: Element<'a>,
        name: &'static str,
        text: &str,
        reason: String,
    ) {
        self.warn(
            WarningKind::InvalidOptional {
                element: name,
                value: shorten(text),
                reason,
            },
            el,
        );
    }

    /// An element this reader does not know.
    pub(crate) fn unknown(&mut self, el: Element<'a>) {
        self.warn(WarningKind::UnknownElement(el.name().to_owned()), el);
    }
}

/// Trims the XML whitespace around a value, which producers add as layout; `None` when
/// nothing is left. Characters in `referenced` (from the first to the last one written as a
/// reference) are never trimmed: a `&#xD;` or `&#x20;` is content the sender spelled out.
/// Line ends are already normalised by the tree, literal ones only.
pub(crate) fn clean_text(text: &str, referenced: Option<Range<usize>>) -> Option<String> {
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let mut start = text.len() - text.trim_start_matches(is_space).len();
    let mut end = text.trim_end_matches(is_space).len();
    if let Some(kept) = referenced.filter(|r| r.end <= text.len()) {
        start = start.min(kept.start);
        end = end.max(kept.end);
    }
    let trimmed = text.get(start..end).unwrap_or_default();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// A value shown in a message, cut to a readable length.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX).collect();
    cut.push('…');
    cut
}
