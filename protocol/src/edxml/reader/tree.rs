//! First pass: quick-xml events to a small element tree that borrows from the input.
//!
//! edXML headers have a few hundred elements at most, so a tree is cheap, and it lets the
//! conversion pass look at siblings in any order (producers disagree on the order). The tree
//! is one vector of nodes linked by index, so building it moves nothing and allocates once.
//! The large parts are never copied: an attachment's base64 text is a slice of the input,
//! and the producer's signature element is kept as the range of its bytes.
//!
//! Namespaces are resolved here rather than by quick-xml's `NsReader`: edXML declares them on
//! two or three elements, so tracking the few declarations in scope is cheaper than resolving
//! every event in general.
//!
//! Limits (depth, element count) are enforced while reading, so hostile input is refused
//! before it costs memory. Only the five predefined entities and character references are
//! resolved; anything else, and any DOCTYPE, is an error.
//!
//! Line ends follow XML: a literal CR LF or lone CR in the input is read as LF, but a
//! character reference is the character it names, so `&#xD;` stays a CR. QLVB software built
//! on the official Java library writes every CR of a subject or description as `&#xD;` and
//! reads it back as CR; normalising the decoded text instead would change what it sent.

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::super::error::{EdxmlError, ErrorKind, Position};
use super::ReadOptions;

/// The QCVN 102:2016 namespace every producer uses.
pub(crate) const QCVN_NAMESPACE: &str = "http://www.mic.gov.vn/TBT/QCVN_102_2016";

/// Elements kept as raw bytes rather than parsed.
const OPAQUE: [&str; 2] = ["Signature", "DigitalSignature"];

/// "No node" in the index links.
const NONE: u32 = u32::MAX;

/// Which namespace an element is in, as far as the conversion pass cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns<'a> {
    /// The QCVN 102 namespace.
    Qcvn,
    /// No namespace at all.
    Unbound,
    /// Another namespace (xmldsig for signatures, or a producer's variant).
    Other(&'a str),
    /// A prefix with no declaration in scope.
    Undeclared(&'a str),
}

/// Where an element's text lives.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TextSlot<'a> {
    /// One literal piece, exactly as in the input. Its line ends are normalised only when
    /// its text is asked for, so that base64 content, which is sliced rather than read as
    /// text, costs no pass looking for them.
    Borrowed(&'a str),
    /// Several pieces joined, literal line ends normalised and references resolved: an index
    /// into `Tree::owned`.
    Owned(u32),
}

/// Text joined from several pieces.
#[derive(Debug)]
struct OwnedText {
    text: String,
    /// From the first to the last character written as a reference (`&#xD;`, `&amp;`…), in
    /// bytes of `text`. The sender spelled these out, so they are content even where they
    /// are white space at the ends, which the conversion trims as layout.
    referenced: Option<(u32, u32)>,
}

/// A node's namespace: the common cases inline, others as an index into `Tree::ns_names`.
#[derive(Debug, Clone, Copy)]
enum NsRef {
    Qcvn,
    Unbound,
    Other(u32),
    Undeclared(u32),
}

#[derive(Debug)]
struct Node<'a> {
    name: &'a str,
    ns: NsRef,
    offset: u32,
    first_child: u32,
    last_child: u32,
    next_sibling: u32,
    text: Option<TextSlot<'a>>,
    raw_end: u32,
}

/// The element tree of one message.
#[derive(Debug)]
pub(crate) struct Tree<'a> {
    input: &'a [u8],
    nodes: Vec<Node<'a>>,
    owned: Vec<OwnedText>,
    /// Namespace URIs other than QCVN 102, and undeclared prefixes, each once.
    ns_names: Vec<String>,
    /// The encoding named in the XML declaration, when there is one.
    pub(crate) declared_encoding: Option<String>,
}

impl<'a> Tree<'a> {
    /// The root element.
    pub(crate) fn root(&'a self) -> Element<'a> {
        Element { tree: self, id: 0 }
    }
}

/// One element of the tree: a cheap handle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Element<'a> {
    tree: &'a Tree<'a>,
    id: u32,
}

impl<'a> Element<'a> {
    fn node(&self) -> &'a Node<'a> {
        &self.tree.nodes[self.id as usize]
    }

    /// The local name, without prefix.
    pub(crate) fn name(&self) -> &'a str {
        self.node().name
    }

    /// Its namespace.
    pub(crate) fn ns(&self) -> Ns<'a> {
        let name = |i: u32| {
            self.tree
                .ns_names
                .get(i as usize)
                .map_or("", String::as_str)
        };
        match self.node().ns {
            NsRef::Qcvn => Ns::Qcvn,
            NsRef::Unbound => Ns::Unbound,
            NsRef::Other(i) => Ns::Other(name(i)),
            NsRef::Undeclared(i) => Ns::Undeclared(name(i)),
        }
    }

    /// Byte offset of its `<`.
    pub(crate) fn offset(&self) -> usize {
        self.node().offset as usize
    }

    /// Child elements in document order.
    pub(crate) fn children(&self) -> Children<'a> {
        Children {
            tree: self.tree,
            next: self.node().first_child,
        }
    }

    /// Text directly inside, line ends normalised and references resolved; whitespace
    /// between child elements is dropped.
    pub(crate) fn text(&self) -> Cow<'a, str> {
        match self.node().text {
            None => Cow::Borrowed(""),
            Some(TextSlot::Borrowed(s)) if s.contains('\r') => Cow::Owned(normalise_line_ends(s)),
            Some(TextSlot::Borrowed(s)) => Cow::Borrowed(s),
            Some(TextSlot::Owned(i)) => Cow::Borrowed(
                self.tree
                    .owned
                    .get(i as usize)
                    .map_or("", |o| o.text.as_str()),
            ),
        }
    }

    /// The part of [`Element::text`] from the first to the last character written as a
    /// reference, in bytes; `None` when the text has no reference.
    pub(crate) fn referenced(&self) -> Option<Range<usize>> {
        match self.node().text {
            Some(TextSlot::Owned(i)) => {
                let (start, end) = self.tree.owned.get(i as usize)?.referenced?;
                Some(start as usize..end as usize)
            }
            _ => None,
        }
    }

    /// The input range of the text when it is one literal piece of the input, so that it
    /// can be sliced without copying. Its line ends are as in the input.
    pub(crate) fn text_range(&self) -> Option<Range<usize>> {
        match self.node().text {
            Some(TextSlot::Borrowed(s)) => {
                let start = (s.as_ptr() as usize).checked_sub(self.tree.input.as_ptr() as usize)?;
                Some(start..start + s.len())
            }
            _ => None,
        }
    }

    /// For opaque elements (signatures): the byte range of the whole element.
    pub(crate) fn raw(&self) -> Option<Range<usize>> {
        let node = self.node();
        (node.raw_end != NONE).then_some(node.offset as usize..node.raw_end as usize)
    }
}

/// Iterator over an element's children.
#[derive(Debug)]
pub(crate) struct Children<'a> {
    tree: &'a Tree<'a>,
    next: u32,
}

impl<'a> Iterator for Children<'a> {
    type Item = Element<'a>;
    fn next(&mut self) -> Option<Element<'a>> {
        if self.next == NONE {
            return None;
        }
        let element = Element {
            tree: self.tree,
            id: self.next,
        };
        self.next = element.node().next_sibling;
        Some(element)
    }
}

/// Reads `input` into a tree. quick-xml checks that every part is UTF-8 as it goes.
pub(crate) fn build<'a>(input: &'a [u8], options: &ReadOptions) -> Result<Tree<'a>, EdxmlError> {
    let mut builder = Builder {
        input,
        reader: Reader::from_reader(input),
        options,
        tree: Tree {
            input,
            nodes: Vec::with_capacity(64),
            owned: Vec::new(),
            ns_names: Vec::new(),
            declared_encoding: None,
        },
        stack: Vec::with_capacity(16),
        bindings: Vec::new(),
        last_resolved: None,
    };
    builder.run()?;
    Ok(builder.tree)
}

/// A namespace declaration in scope: made on the element at `depth`.
struct Binding {
    depth: usize,
    prefix: String,
    uri: String,
}

struct Builder<'a, 'o> {
    input: &'a [u8],
    reader: Reader<&'a [u8]>,
    options: &'o ReadOptions,
    tree: Tree<'a>,
    /// Open elements, innermost last.
    stack: Vec<u32>,
    bindings: Vec<Binding>,
    /// The last prefix resolved and its result, valid until the bindings change: nearly
    /// every element of a message uses the same prefix.
    last_resolved: Option<(&'a str, NsRef)>,
}

impl<'a> Builder<'a, '_> {
    fn run(&mut self) -> Result<(), EdxmlError> {
        loop {
            let before = self.position();
            let event = self
                .reader
                .read_event()
                .map_err(|e| self.xml_error(&e, before))?;
            let after = self.position();
            match event {
                Event::Start(start) => {
                    let id = self.open(&start, before)?;
                    if OPAQUE.contains(&self.tree.nodes[id as usize].name) && id != 0 {
                        let end = self.skip_opaque()?;
                        self.tree.nodes[id as usize].raw_end = to_u32(end);
                        self.close();
                    }
                }
                Event::Empty(start) => {
                    let id = self.open(&start, before)?;
                    if OPAQUE.contains(&self.tree.nodes[id as usize].name) {
                        self.tree.nodes[id as usize].raw_end = to_u32(after);
                    }
                    if self.close() {
                        return self.finish();
                    }
                }
                Event::End(_) => {
                    if self.close() {
                        return self.finish();
                    }
                }
                Event::Text(text) => match text.into_inner() {
                    // Text events of a slice reader borrow the input: no copy.
                    Cow::Borrowed(piece) => self.text(piece, before)?,
                    Cow::Owned(piece) => self.text_owned(&piece, Piece::Literal, before)?,
                },
                Event::CData(data) => {
                    let piece: &str = &data;
                    self.text_owned(piece, Piece::Literal, before)?;
                }
                Event::GeneralRef(reference) => {
                    let resolved = resolve_reference(&reference)
                        .ok_or_else(|| self.undefined_entity(&reference, before))?;
                    self.text_owned(&resolved, Piece::Reference, before)?;
                }
                Event::DocType(_) => return Err(self.error_at(ErrorKind::Doctype, before)),
                Event::Decl(decl) => {
                    if let Some(Ok(encoding)) = decl.encoding() {
                        self.tree.declared_encoding = Some(encoding.into_owned());
                    }
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => {
                    let what = match self.stack.last() {
                        Some(open) => format!(
                            "input ends before <{}> is closed",
                            self.tree.nodes[*open as usize].name
                        ),
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

    /// Adds an element as the last child of the innermost open one and opens it.
    fn open(&mut self, start: &BytesStart<'_>, before: usize) -> Result<u32, EdxmlError> {
        // The reader sits on the `<` of the tag; find it defensively (a BOM is skipped
        // without being reported as an event).
        let offset = if self.input.get(before) == Some(&b'<') {
            before
        } else {
            memchr::memchr(b'<', self.input.get(before..).unwrap_or_default())
                .map_or(before, |i| before + i)
        };
        if self.stack.len() >= self.options.max_depth {
            let limit = self.options.max_depth;
            return Err(self.error_at(ErrorKind::TooDeep { limit }, offset));
        }
        if self.tree.nodes.len() >= self.options.max_elements {
            let limit = self.options.max_elements;
            return Err(self.error_at(ErrorKind::TooManyElements { limit }, offset));
        }
        if self.stack.is_empty() && !self.tree.nodes.is_empty() {
            return Err(self.syntax("a second root element", offset));
        }
        // quick-xml has checked the tag is UTF-8; taking the name from the input keeps the
        // input's lifetime.
        let qname_len = start.name().as_ref().len();
        let qname = self
            .input
            .get(offset + 1..offset + 1 + qname_len)
            .and_then(|n| std::str::from_utf8(n).ok())
            .unwrap_or("");
        let depth = self.stack.len();
        // Only a tag with attributes can declare a namespace.
        let tag: &str = start;
        if tag.len() > qname_len && tag.contains("xmlns") {
            self.declare(start, offset, depth)?;
        }
        let (prefix, name) = match qname.bytes().position(|b| b == b':') {
            Some(i) => (&qname[..i], &qname[i + 1..]),
            None => ("", qname),
        };
        let ns = match self.last_resolved {
            Some((last, ns)) if last == prefix => ns,
            _ => {
                let ns = self.resolve(prefix);
                self.last_resolved = Some((prefix, ns));
                ns
            }
        };

        let id = to_u32(self.tree.nodes.len());
        self.tree.nodes.push(Node {
            name,
            ns,
            offset: to_u32(offset),
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
            text: None,
            raw_end: NONE,
        });
        if let Some(&parent) = self.stack.last() {
            let parent = parent as usize;
            match self.tree.nodes[parent].last_child {
                NONE => self.tree.nodes[parent].first_child = id,
                last => self.tree.nodes[last as usize].next_sibling = id,
            }
            self.tree.nodes[parent].last_child = id;
        }
        self.stack.push(id);
        Ok(id)
    }

    /// Records the `xmlns` and `xmlns:p` attributes of a start tag.
    fn declare(
        &mut self,
        start: &BytesStart<'_>,
        offset: usize,
        depth: usize,
    ) -> Result<(), EdxmlError> {
        for attribute in start.attributes() {
            let attribute =
                attribute.map_err(|e| self.syntax(&format!("bad attribute: {e}"), offset))?;
            let key = attribute.key.as_ref();
            let prefix = match key.strip_prefix("xmlns") {
                Some("") => "",
                Some(rest) if rest.starts_with(':') => &rest[1..],
                _ => continue,
            };
            self.last_resolved = None;
            self.bindings.push(Binding {
                depth,
                prefix: prefix.to_owned(),
                uri: attribute.value.into_owned(),
            });
        }
        Ok(())
    }

    fn resolve(&mut self, prefix: &str) -> NsRef {
        let found = if prefix == "xml" {
            Some("http://www.w3.org/XML/1998/namespace")
        } else {
            self.bindings
                .iter()
                .rev()
                .find(|b| b.prefix == prefix)
                .map(|b| b.uri.as_str())
        };
        match found {
            Some(QCVN_NAMESPACE) => NsRef::Qcvn,
            Some("") => NsRef::Unbound,
            Some(uri) => {
                let uri = uri.to_owned();
                NsRef::Other(self.intern(uri))
            }
            None if prefix.is_empty() => NsRef::Unbound,
            None => NsRef::Undeclared(self.intern(prefix.to_owned())),
        }
    }

    fn intern(&mut self, name: String) -> u32 {
        let names = &mut self.tree.ns_names;
        match names.iter().position(|n| *n == name) {
            Some(i) => to_u32(i),
            None => {
                names.push(name);
                to_u32(names.len() - 1)
            }
        }
    }

    /// Closes the innermost open element; returns `true` when it was the root.
    fn close(&mut self) -> bool {
        self.stack.pop();
        let depth = self.stack.len();
        while self.bindings.last().is_some_and(|b| b.depth >= depth) {
            self.bindings.pop();
            self.last_resolved = None;
        }
        self.stack.is_empty()
    }

    /// After the root closes, only whitespace, comments and processing instructions may follow.
    fn finish(&mut self) -> Result<(), EdxmlError> {
        loop {
            let before = self.position();
            match self.reader.read_event() {
                Ok(Event::Eof) => return Ok(()),
                Ok(Event::Text(t)) if t.trim().is_empty() => {}
                Ok(Event::Comment(_) | Event::PI(_)) => {}
                Ok(_) => return Err(self.syntax("content after the root element", before)),
                Err(e) => return Err(self.xml_error(&e, before)),
            }
        }
    }

    /// Reads through an opaque element's content, checking well-formedness and the limits,
    /// and returns the offset just past its end tag.
    fn skip_opaque(&mut self) -> Result<usize, EdxmlError> {
        let base_depth = self.stack.len();
        let mut depth = 0usize;
        let mut elements = self.tree.nodes.len();
        loop {
            let before = self.position();
            let event = self
                .reader
                .read_event()
                .map_err(|e| self.xml_error(&e, before))?;
            match event {
                Event::Start(_) | Event::Empty(_) => {
                    if base_depth + depth >= self.options.max_depth {
                        let limit = self.options.max_depth;
                        return Err(self.error_at(ErrorKind::TooDeep { limit }, before));
                    }
                    elements += 1;
                    if elements > self.options.max_elements {
                        let limit = self.options.max_elements;
                        return Err(self.error_at(ErrorKind::TooManyElements { limit }, before));
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

    fn text(&mut self, piece: &'a str, at: usize) -> Result<(), EdxmlError> {
        let Some(&top) = self.stack.last() else {
            if is_blank(piece) {
                return Ok(());
            }
            let what = if self.tree.nodes.is_empty() {
                "text before the root element (is this an XML file?)"
            } else {
                "text outside the root element"
            };
            return Err(self.syntax(what, at));
        };
        let node = &self.tree.nodes[top as usize];
        // Indentation between child elements is not content.
        if node.first_child != NONE && is_blank(piece) {
            return Ok(());
        }
        match node.text {
            None => self.tree.nodes[top as usize].text = Some(TextSlot::Borrowed(piece)),
            Some(_) => self.append(top, piece, Piece::Literal),
        }
        Ok(())
    }

    fn text_owned(&mut self, piece: &str, kind: Piece, at: usize) -> Result<(), EdxmlError> {
        let Some(&top) = self.stack.last() else {
            return Err(self.syntax("content outside the root element", at));
        };
        self.append(top, piece, kind);
        Ok(())
    }

    /// Adds a piece to an element's text: a literal one with its line ends normalised, a
    /// resolved reference as it is.
    fn append(&mut self, id: u32, piece: &str, kind: Piece) {
        let normalised;
        let piece = match kind {
            Piece::Literal if piece.contains('\r') => {
                normalised = normalise_line_ends(piece);
                normalised.as_str()
            }
            Piece::Literal | Piece::Reference => piece,
        };
        let owned = &mut self.tree.owned;
        let node = &mut self.tree.nodes[id as usize];
        let index = match node.text {
            None => {
                owned.push(OwnedText {
                    text: String::new(),
                    referenced: None,
                });
                owned.len() - 1
            }
            Some(TextSlot::Borrowed(first)) => {
                owned.push(OwnedText {
                    text: normalise_line_ends(first),
                    referenced: None,
                });
                owned.len() - 1
            }
            Some(TextSlot::Owned(i)) => i as usize,
        };
        node.text = Some(TextSlot::Owned(to_u32(index)));
        let Some(text) = owned.get_mut(index) else {
            return;
        };
        let start = to_u32(text.text.len());
        text.text.push_str(piece);
        if kind == Piece::Reference {
            let end = to_u32(text.text.len());
            let first = text.referenced.map_or(start, |(first, _)| first);
            text.referenced = Some((first, end));
        }
    }

    /// Turns a quick-xml error into ours. For bytes that are not UTF-8 the position is the
    /// first bad byte itself, not the start of the tag holding it.
    fn xml_error(&self, error: &quick_xml::Error, fallback: usize) -> EdxmlError {
        let at = usize::try_from(self.reader.error_position()).unwrap_or(fallback);
        if let quick_xml::Error::Encoding(_) = error {
            let tail = self.input.get(at..).unwrap_or_default();
            if let Err(utf8) = std::str::from_utf8(tail) {
                let bad = at + utf8.valid_up_to();
                return self.error_at(
                    ErrorKind::Syntax(format!("invalid UTF-8 at byte {bad} (edXML is UTF-8)")),
                    bad,
                );
            }
        }
        self.error_at(ErrorKind::Syntax(error.to_string()), at)
    }

    fn undefined_entity(&self, reference: &str, at: usize) -> EdxmlError {
        self.error_at(ErrorKind::UndefinedEntity(reference.to_owned()), at)
    }

    fn syntax(&self, what: &str, at: usize) -> EdxmlError {
        self.error_at(ErrorKind::Syntax(what.to_owned()), at)
    }

    fn error_at(&self, kind: ErrorKind, offset: usize) -> EdxmlError {
        let mut path = String::new();
        for id in &self.stack {
            path.push('/');
            path.push_str(self.tree.nodes[*id as usize].name);
        }
        EdxmlError {
            kind,
            path,
            position: Some(Position::of_offset(self.input, offset)),
        }
    }
}

/// Where a piece of text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    /// Written as it is in the input (text or CDATA): its line ends are normalised.
    Literal,
    /// A resolved entity or character reference: kept as the character it names.
    Reference,
}

/// XML's end-of-line handling for literal text: CR LF and a lone CR become LF.
fn normalise_line_ends(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\r') {
        out.push_str(&rest[..i]);
        out.push('\n');
        rest = &rest[i + 1..];
        rest = rest.strip_prefix('\n').unwrap_or(rest);
    }
    out.push_str(rest);
    out
}

/// Whitespace only (XML's four whitespace characters).
fn is_blank(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// Offsets fit in `u32`: the reader refuses inputs of 4 GiB or more before building a tree.
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
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
