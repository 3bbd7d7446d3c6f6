//! First pass: quick-xml events to a small element tree that borrows from the input.
//!
//! edXML headers have a few hundred elements at most, so a tree is cheap, and it lets the
//! conversion pass look at siblings in any order (producers disagree on the order). The
//! large parts are never copied: an attachment's base64 text is a range of the input, and
//! the producer's signature element is kept as the range of its bytes.
//!
//! Limits (depth, element count) are enforced here, while reading, so hostile input is
//! refused before it costs memory. Only the five predefined entities and character
//! references are resolved; anything else, and any DOCTYPE, is an error.

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use super::super::error::{EdxmlError, ErrorKind, Position};
use super::ReadOptions;

/// The QCVN 102:2016 namespace every producer uses.
pub(crate) const QCVN_NAMESPACE: &str = "http://www.mic.gov.vn/TBT/QCVN_102_2016";

/// Elements kept as raw bytes rather than parsed.
const OPAQUE: [&str; 2] = ["Signature", "DigitalSignature"];

/// Which namespace an element is in, as far as the conversion pass cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ns {
    /// The QCVN 102 namespace.
    Qcvn,
    /// No namespace at all.
    Unbound,
    /// Another namespace (xmldsig for signatures, or a producer's variant).
    Other(String),
    /// A prefix with no declaration in scope.
    Undeclared(String),
}

/// The text directly inside an element.
#[derive(Debug, Default)]
pub(crate) enum Text<'a> {
    /// No text at all.
    #[default]
    None,
    /// One piece, exactly as in the input (no references in it).
    Borrowed { text: &'a str, range: Range<usize> },
    /// Several pieces joined, with references resolved.
    Owned(String),
}

impl Text<'_> {
    fn push(&mut self, piece: &str) {
        match self {
            Text::None => *self = Text::Owned(piece.to_owned()),
            Text::Borrowed { text, .. } => {
                let mut joined = String::with_capacity(text.len() + piece.len());
                joined.push_str(text);
                joined.push_str(piece);
                *self = Text::Owned(joined);
            }
            Text::Owned(s) => s.push_str(piece),
        }
    }

    /// The text, as one string.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Text::None => "",
            Text::Borrowed { text, .. } => text,
            Text::Owned(s) => s,
        }
    }
}

/// One element of the tree.
#[derive(Debug)]
pub(crate) struct Element<'a> {
    /// The local name, without prefix.
    pub(crate) name: &'a str,
    /// Its namespace.
    pub(crate) ns: Ns,
    /// Byte offset of its `<`.
    pub(crate) offset: usize,
    /// Child elements in document order.
    pub(crate) children: Vec<Element<'a>>,
    /// Text directly inside; whitespace between child elements is dropped.
    pub(crate) text: Text<'a>,
    /// For opaque elements (signatures): the byte range of the whole element.
    pub(crate) raw: Option<Range<usize>>,
}

/// What the tree pass noticed besides the tree.
#[derive(Debug, Default)]
pub(crate) struct Prolog {
    /// The encoding named in the XML declaration, when there is one.
    pub(crate) declared_encoding: Option<String>,
}

/// Reads `input` into a tree.
pub(crate) fn build<'a>(
    input: &'a str,
    options: &ReadOptions,
) -> Result<(Element<'a>, Prolog), EdxmlError> {
    Builder {
        input,
        reader: NsReader::from_str(input),
        options,
        stack: Vec::new(),
        elements: 0,
        prolog: Prolog::default(),
    }
    .run()
}

struct Builder<'a, 'o> {
    input: &'a str,
    reader: NsReader<&'a [u8]>,
    options: &'o ReadOptions,
    stack: Vec<Element<'a>>,
    elements: usize,
    prolog: Prolog,
}

impl<'a> Builder<'a, '_> {
    fn run(mut self) -> Result<(Element<'a>, Prolog), EdxmlError> {
        loop {
            let before = self.position();
            let (ns, event) = match self.reader.read_resolved_event() {
                Ok((ns, event)) => (classify(&ns), event),
                Err(e) => {
                    let at = usize::try_from(self.reader.error_position()).unwrap_or(before);
                    return Err(self.error_at(ErrorKind::Syntax(e.to_string()), at));
                }
            };
            let after = self.position();
            match event {
                Event::Start(start) => {
                    let element = self.open(&start, ns, before)?;
                    if OPAQUE.contains(&element.name) && !self.stack.is_empty() {
                        let end = self.skip_opaque(&start)?;
                        self.close(Element {
                            raw: Some(element.offset..end),
                            ..element
                        })?;
                    } else {
                        self.stack.push(element);
                    }
                }
                Event::Empty(start) => {
                    let mut element = self.open(&start, ns, before)?;
                    if OPAQUE.contains(&element.name) {
                        element.raw = Some(element.offset..after);
                    }
                    if let Some(root) = self.close(element)? {
                        return self.finish(root);
                    }
                }
                Event::End(_) => {
                    let Some(element) = self.stack.pop() else {
                        return Err(self.syntax("end tag without a start tag", before));
                    };
                    if let Some(root) = self.close(element)? {
                        return self.finish(root);
                    }
                }
                Event::Text(_) => {
                    // The event is the input between two tags, so the range is exact and
                    // the text can borrow from the input for the tree's lifetime.
                    let piece = self.input.get(before..after).unwrap_or("");
                    self.text(piece, before..after)?;
                }
                Event::CData(data) => {
                    let piece: &str = &data;
                    self.text_owned(piece, before)?;
                }
                Event::GeneralRef(reference) => {
                    let resolved = resolve_reference(&reference)
                        .ok_or_else(|| self.undefined_entity(&reference, before))?;
                    self.text_owned(&resolved, before)?;
                }
                Event::DocType(_) => return Err(self.error_at(ErrorKind::Doctype, before)),
                Event::Decl(decl) => {
                    if let Some(Ok(encoding)) = decl.encoding() {
                        self.prolog.declared_encoding = Some(encoding.into_owned());
                    }
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => {
                    let what = match self.stack.last() {
                        Some(open) => format!("input ends before <{}> is closed", open.name),
                        None => "no root element".to_owned(),
                    };
                    return Err(self.syntax(&what, self.input.len()));
                }
            }
        }
    }

    fn position(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    fn open(
        &mut self,
        start: &BytesStart<'_>,
        ns: Ns,
        before: usize,
    ) -> Result<Element<'a>, EdxmlError> {
        // The reader sits on the `<` of the tag; find it defensively (a BOM is skipped
        // without being reported as an event).
        let offset =
            memchr::memchr(b'<', &self.input.as_bytes()[before..]).map_or(before, |i| before + i);
        if self.stack.len() >= self.options.max_depth {
            return Err(self.error_at(
                ErrorKind::TooDeep {
                    limit: self.options.max_depth,
                },
                offset,
            ));
        }
        self.elements += 1;
        if self.elements > self.options.max_elements {
            return Err(self.error_at(
                ErrorKind::TooManyElements {
                    limit: self.options.max_elements,
                },
                offset,
            ));
        }
        let qname_len = start.name().as_ref().len();
        let qname = self
            .input
            .get(offset + 1..offset + 1 + qname_len)
            .unwrap_or("");
        let name = qname.rsplit(':').next().unwrap_or(qname);
        Ok(Element {
            name,
            ns,
            offset,
            children: Vec::new(),
            text: Text::None,
            raw: None,
        })
    }

    /// Attaches a finished element to its parent; returns it when it is the root.
    fn close(&mut self, element: Element<'a>) -> Result<Option<Element<'a>>, EdxmlError> {
        match self.stack.last_mut() {
            Some(parent) => {
                parent.children.push(element);
                Ok(None)
            }
            None => Ok(Some(element)),
        }
    }

    /// After the root closes, only whitespace, comments and processing instructions may follow.
    fn finish(mut self, root: Element<'a>) -> Result<(Element<'a>, Prolog), EdxmlError> {
        loop {
            let before = self.position();
            match self.reader.read_event() {
                Ok(Event::Eof) => return Ok((root, self.prolog)),
                Ok(Event::Text(t)) if t.trim().is_empty() => {}
                Ok(Event::Comment(_) | Event::PI(_)) => {}
                Ok(_) => return Err(self.syntax("content after the root element", before)),
                Err(e) => {
                    let at = usize::try_from(self.reader.error_position()).unwrap_or(before);
                    return Err(self.error_at(ErrorKind::Syntax(e.to_string()), at));
                }
            }
        }
    }

    /// Reads through an opaque element's content, checking well-formedness and the limits,
    /// and returns the offset just past its end tag.
    fn skip_opaque(&mut self, start: &BytesStart<'_>) -> Result<usize, EdxmlError> {
        let base_depth = self.stack.len() + 1;
        let mut depth = 0usize;
        let _ = start;
        loop {
            let before = self.position();
            let event = match self.reader.read_event() {
                Ok(event) => event,
                Err(e) => {
                    let at = usize::try_from(self.reader.error_position()).unwrap_or(before);
                    return Err(self.error_at(ErrorKind::Syntax(e.to_string()), at));
                }
            };
            match event {
                Event::Start(_) | Event::Empty(_) => {
                    if base_depth + depth >= self.options.max_depth {
                        return Err(self.error_at(
                            ErrorKind::TooDeep {
                                limit: self.options.max_depth,
                            },
                            before,
                        ));
                    }
                    self.elements += 1;
                    if self.elements > self.options.max_elements {
                        return Err(self.error_at(
                            ErrorKind::TooManyElements {
                                limit: self.options.max_elements,
                            },
                            before,
                        ));
                    }
                    if matches!(event, Event::Start(_)) {
                        depth += 1;
                    }
                }
                Event::End(_) if depth == 0 => return Ok(self.position()),
                Event::End(_) => depth -= 1,
                Event::GeneralRef(reference) => {
                    resolve_reference(&reference)
                        .ok_or_else(|| self.undefined_entity(&reference, before))?;
                }
                Event::DocType(_) => return Err(self.error_at(ErrorKind::Doctype, before)),
                Event::Eof => {
                    return Err(self.syntax("input ends inside the signature element", before));
                }
                Event::Text(_)
                | Event::CData(_)
                | Event::Comment(_)
                | Event::PI(_)
                | Event::Decl(_) => {}
            }
        }
    }

    fn text(&mut self, piece: &'a str, range: Range<usize>) -> Result<(), EdxmlError> {
        let Some(top) = self.stack.last_mut() else {
            if piece.trim().is_empty() {
                return Ok(());
            }
            return Err(self.syntax("text outside the root element", range.start));
        };
        // Indentation between child elements is not content.
        if !top.children.is_empty() && piece.trim().is_empty() {
            return Ok(());
        }
        match top.text {
            Text::None => top.text = Text::Borrowed { text: piece, range },
            _ => top.text.push(piece),
        }
        Ok(())
    }

    fn text_owned(&mut self, piece: &str, at: usize) -> Result<(), EdxmlError> {
        let Some(top) = self.stack.last_mut() else {
            return Err(self.syntax("content outside the root element", at));
        };
        top.text.push(piece);
        Ok(())
    }

    fn undefined_entity(&self, reference: &str, at: usize) -> EdxmlError {
        self.error_at(ErrorKind::UndefinedEntity(reference.to_owned()), at)
    }

    fn syntax(&self, what: &str, at: usize) -> EdxmlError {
        self.error_at(ErrorKind::Syntax(what.to_owned()), at)
    }

    fn error_at(&self, kind: ErrorKind, offset: usize) -> EdxmlError {
        let mut path = String::new();
        for element in &self.stack {
            path.push('/');
            path.push_str(element.name);
        }
        EdxmlError {
            kind,
            path,
            position: Some(Position::of_offset(self.input.as_bytes(), offset)),
        }
    }
}

fn classify(ns: &ResolveResult<'_>) -> Ns {
    match ns {
        ResolveResult::Bound(n) if n.0 == QCVN_NAMESPACE => Ns::Qcvn,
        ResolveResult::Bound(n) => Ns::Other(n.0.to_owned()),
        ResolveResult::Unbound => Ns::Unbound,
        ResolveResult::Unknown(prefix) => Ns::Undeclared(prefix.clone()),
    }
}

/// The five predefined entities and character references; nothing else is expanded.
fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> Option<Cow<'static, str>> {
    if reference.is_char_ref() {
        return reference
            .resolve_char_ref()
            .ok()
            .flatten()
            .map(|c| Cow::Owned(c.to_string()));
    }
    let name: &str = reference;
    Some(Cow::Borrowed(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "apos" => "'",
        "quot" => "\"",
        _ => return None,
    }))
}
