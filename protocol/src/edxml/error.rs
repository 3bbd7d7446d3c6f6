//! What the reader reports: errors that stop it, and warnings about leniencies.
//!
//! Both carry the element path (`/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From`) and
//! the line and column in the input, because the person reading them is a QLVB developer
//! or an agency's IT staff with the file open in an editor.

use std::fmt;

use super::model::{Base64Error, DateForm};

/// A place in the input: 1-based line, and 1-based column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
}

impl Position {
    /// The position of byte `offset` in `input`.
    pub fn of_offset(input: &[u8], offset: usize) -> Position {
        let offset = offset.min(input.len());
        let before = &input[..offset];
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        let line = memchr::memchr_iter(b'\n', before).count() + 1;
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why an edXML message could not be read. Says what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{kind}{}", position_prefix(.position), path_suffix(.path))]
pub struct EdxmlError {
    /// What was wrong.
    pub kind: ErrorKind,
    /// The element path, `/edXML/...`; empty when the problem is the input as a whole.
    pub path: String,
    /// Where in the input; `None` when the problem is the input as a whole (its size).
    pub position: Option<Position>,
}

fn position_prefix(position: &Option<Position>) -> String {
    position.map(|p| format!("{p}: ")).unwrap_or_default()
}

fn path_suffix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" (in {path})")
    }
}

/// The kinds of [`EdxmlError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is larger than the configured limit.
    #[error("message is {size} bytes, larger than the limit of {limit} bytes")]
    TooLarge {
        /// Input size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Elements nest deeper than the configured limit.
    #[error("elements nest deeper than the limit of {limit}")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// More elements than the configured limit.
    #[error("more than {limit} elements")]
    TooManyElements {
        /// The limit.
        limit: usize,
    },
    /// The input is empty.
    #[error("the input is empty")]
    Empty,
    /// The input is not well-formed XML.
    #[error("not well-formed XML: {0}")]
    Syntax(String),
    /// A `<!DOCTYPE>`; edXML has none, and refusing it rules out entity tricks.
    #[error("DOCTYPE declarations are not allowed in edXML")]
    Doctype,
    /// A reference to an entity other than the five predefined ones; nothing is expanded.
    #[error("reference to undefined entity &{0};")]
    UndefinedEntity(String),
    /// The root element is not `edXML`.
    #[error("the root element is <{0}>, not <edXML>")]
    NotEdxml(String),
    /// A required element is absent.
    #[error("required element {0} is missing")]
    Missing(&'static str),
    /// A required element is present but empty.
    #[error("required element {0} is empty")]
    EmptyRequired(&'static str),
    /// An element that must appear once appears again.
    #[error("element {0} appears more than once")]
    Duplicate(&'static str),
    /// An element's value is not acceptable.
    #[error("{element} {value:?} is not valid: {reason}")]
    Invalid {
        /// The element.
        element: &'static str,
        /// The value as written (shortened when long).
        value: String,
        /// Why.
        reason: String,
    },
    /// A message that is both a document (`To`) and a status (`StatusCode`).
    #[error("the message has both To (a document) and StatusCode (a status message)")]
    AmbiguousKind,
    /// Attachment content that is not base64.
    #[error("attachment content is not base64: {0}")]
    Attachment(Base64Error),
}

/// A leniency the reader applied: the message was read, but a strict reader would have
/// refused or changed something. Shown to the caller so producers can be fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What was lenient.
    pub kind: WarningKind,
    /// The element path.
    pub path: String,
    /// Where in the input.
    pub position: Position,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (in {})", self.position, self.kind, self.path)
    }
}

/// The kinds of [`Warning`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WarningKind {
    /// An element outside the QCVN 102 namespace (none, or another one).
    #[error("element <{element}> is in namespace {namespace:?}, not the QCVN 102 namespace")]
    Namespace {
        /// The element's local name.
        element: String,
        /// Its namespace; empty for none.
        namespace: String,
    },
    /// An element whose prefix is not declared.
    #[error("element prefix {0:?} is not declared")]
    UndeclaredPrefix(String),
    /// `Business…` instead of the wire spelling `Bussiness…`.
    #[error("<{0}> spelled with one s; the standard writes Bussiness")]
    BusinessSpelling(String),
    /// A date not in `yyyy/MM/dd [HH:mm:ss]`.
    #[error("{element} {value:?} is written as {form}, not yyyy/MM/dd")]
    DateForm {
        /// The element.
        element: &'static str,
        /// The value as written.
        value: String,
        /// The form found.
        form: DateForm,
    },
    /// An optional element present but empty; treated as absent.
    #[error("empty element {0} treated as absent")]
    EmptyOptional(String),
    /// An element the reader does not know; skipped.
    #[error("unknown element <{0}> skipped")]
    UnknownElement(String),
    /// An element in an unusual place, accepted there.
    #[error("<{element}> found inside <{parent}>")]
    Misplaced {
        /// The element.
        element: &'static str,
        /// Where it was found.
        parent: String,
    },
    /// An optional value that could not be read; dropped.
    #[error("{element} {value:?} ignored: {reason}")]
    InvalidOptional {
        /// The element.
        element: &'static str,
        /// The value as written.
        value: String,
        /// Why it was dropped.
        reason: String,
    },
    /// A repeated singleton; the first one is kept.
    #[error("{0} appears more than once; the first is kept")]
    DuplicateIgnored(&'static str),
    /// A recipient listed twice; kept once.
    #[error("recipient {0} is listed more than once; kept once")]
    DuplicateRecipient(String),
    /// An element the standard requires but that lienthong can do without.
    #[error("{0} is missing")]
    MissingRecommended(&'static str),
    /// Status code 14, read as 15 (one SDK sample writes 14 for "agree to update or take back").
    #[error("status code 14 read as 15 (đồng ý cập nhật/lấy lại)")]
    StatusCode14,
    /// The XML declaration names an encoding other than UTF-8 although the bytes are UTF-8.
    #[error("declared encoding {0:?} ignored: the content is UTF-8")]
    DeclaredEncoding(String),
    /// An attachment without a manifest reference, or a reference without an attachment.
    #[error("{0}")]
    Manifest(String),
    /// The reader stopped recording warnings.
    #[error("{0} more warnings not shown")]
    MoreWarnings(usize),
}
