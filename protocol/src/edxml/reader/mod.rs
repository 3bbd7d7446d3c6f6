//! The lenient edXML reader.
//!
//! Two passes: [`tree`] turns quick-xml events into a small tree that borrows from the
//! input, enforcing the limits; the conversion modules turn the tree into the domain model,
//! collecting a [`Warning`] for every leniency. Any error names the element path and the
//! line and column.

mod common;
mod context;
mod document;
mod status;
mod tree;

use bytes::Bytes;

pub(crate) use tree::QCVN_NAMESPACE;

use super::error::{EdxmlError, ErrorKind, Position, Warning, WarningKind};
use super::model::Message;
use context::Ctx;
use tree::Element;

/// Limits that bound what a reader spends on one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Largest input accepted, in bytes. Default 64 MiB, the same as the node's package cap.
    pub max_size: usize,
    /// Deepest element nesting. Real edXML nests about 10 deep (signatures a little more).
    pub max_depth: usize,
    /// Most elements. 100,000 allows some 10,000 recipients.
    pub max_elements: usize,
    /// Most warnings recorded; the rest are counted in one final warning.
    pub max_warnings: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_size: 64 * 1024 * 1024,
            max_depth: 32,
            max_elements: 100_000,
            max_warnings: 256,
        }
    }
}

/// A message and the leniencies applied to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The message.
    pub message: Message,
    /// Every leniency, in input order.
    pub warnings: Vec<Warning>,
}

/// Reads an edXML message with the default limits.
///
/// Pass a `Vec<u8>` or `Bytes` to avoid a copy: attachments and the signature stay slices
/// of the input.
///
/// # Errors
/// [`EdxmlError`], naming what was wrong, the element path and the line and column.
pub fn read(input: impl Into<Bytes>) -> Result<Parsed, EdxmlError> {
    read_with(input.into(), &ReadOptions::default())
}

/// Reads an edXML message with explicit limits.
///
/// # Errors
/// [`EdxmlError`], naming what was wrong, the element path and the line and column.
pub fn read_with(input: Bytes, options: &ReadOptions) -> Result<Parsed, EdxmlError> {
    if input.len() > options.max_size {
        return Err(EdxmlError {
            kind: ErrorKind::TooLarge {
                size: input.len(),
                limit: options.max_size,
            },
            path: String::new(),
            position: None,
        });
    }
    let text = match std::str::from_utf8(&input) {
        Ok(text) => text,
        Err(e) => {
            return Err(EdxmlError {
                kind: ErrorKind::Syntax(format!(
                    "invalid UTF-8 at byte {} (edXML is UTF-8)",
                    e.valid_up_to()
                )),
                path: String::new(),
                position: Some(Position::of_offset(&input, e.valid_up_to())),
            });
        }
    };
    if text.trim().is_empty() {
        return Err(EdxmlError {
            kind: ErrorKind::Empty,
            path: String::new(),
            position: None,
        });
    }
    let (root, prolog) = tree::build(text, options)?;
    let mut ctx = Ctx::new(text, input.clone(), options.max_warnings);
    if let Some(encoding) = prolog.declared_encoding
        && !encoding.eq_ignore_ascii_case("utf-8")
    {
        ctx.warn_here(WarningKind::DeclaredEncoding(encoding), 0);
    }
    let message = message(&mut ctx, &root)?;
    Ok(Parsed {
        message,
        warnings: ctx.into_warnings(),
    })
}

/// The root: `edXML` holding `edXMLEnvelope` and, for documents, `AttachmentEncoded`.
fn message<'a>(ctx: &mut Ctx<'a>, root: &Element<'a>) -> Result<Message, EdxmlError> {
    if root.name != "edXML" {
        return Err(ctx.error(ErrorKind::NotEdxml(root.name.to_owned()), root));
    }
    ctx.enter(root);
    let mut envelope = None;
    let mut attachment_blocks = Vec::new();
    for child in &root.children {
        match child.name {
            "edXMLEnvelope" => {
                if envelope.is_some() {
                    return Err(ctx.error(ErrorKind::Duplicate("edXMLEnvelope"), child));
                }
                envelope = Some(child);
            }
            "AttachmentEncoded" => attachment_blocks.push(child),
            _ => ctx.unknown(child),
        }
    }
    let Some(envelope) = envelope else {
        return Err(ctx.error_here(ErrorKind::Missing("edXMLEnvelope"), root.offset));
    };

    ctx.enter(envelope);
    let mut header = None;
    let mut body = None;
    for child in &envelope.children {
        match child.name {
            "edXMLHeader" if header.is_none() => header = Some(child),
            "edXMLHeader" => return Err(ctx.error(ErrorKind::Duplicate("edXMLHeader"), child)),
            "edXMLBody" if body.is_none() => body = Some(child),
            "edXMLBody" => return Err(ctx.error(ErrorKind::Duplicate("edXMLBody"), child)),
            _ => ctx.unknown(child),
        }
    }
    let Some(header) = header else {
        return Err(ctx.error_here(ErrorKind::Missing("edXMLHeader"), envelope.offset));
    };

    ctx.enter(header);
    let mut message_header = None;
    let mut trace_list = None;
    let mut signature = None;
    for child in &header.children {
        match child.name {
            "MessageHeader" if message_header.is_none() => message_header = Some(child),
            "MessageHeader" => return Err(ctx.error(ErrorKind::Duplicate("MessageHeader"), child)),
            "TraceHeaderList" if trace_list.is_none() => trace_list = Some(child),
            "Signature" | "DigitalSignature" if signature.is_none() => signature = Some(child),
            "TraceHeaderList" | "Signature" | "DigitalSignature" => {
                ctx.warn(WarningKind::UnknownElement(child.name.to_owned()), child);
            }
            _ => ctx.unknown(child),
        }
    }
    let Some(message_header) = message_header else {
        return Err(ctx.error_here(ErrorKind::Missing("MessageHeader"), header.offset));
    };
    let has_code = message_header
        .children
        .iter()
        .any(|c| c.name == "StatusCode");
    let has_to = message_header.children.iter().any(|c| c.name == "To");
    if has_code && has_to {
        return Err(ctx.error(ErrorKind::AmbiguousKind, message_header));
    }
    if has_code {
        let status = status::message_header(ctx, message_header)?;
        for extra in [trace_list, signature, body].into_iter().flatten() {
            ctx.warn(WarningKind::UnknownElement(extra.name.to_owned()), extra);
        }
        ctx.leave();
        ctx.leave();
        for block in attachment_blocks {
            ctx.warn(WarningKind::UnknownElement(block.name.to_owned()), block);
        }
        return Ok(Message::Status(Box::new(status)));
    }

    let mut doc = document::message_header(ctx, message_header)?;
    if let Some(list) = trace_list {
        document::trace_header_list(ctx, list, &mut doc)?;
    }
    if let Some(sig) = signature {
        let range = sig.raw.clone().unwrap_or(sig.offset..sig.offset);
        doc.signature = Some(super::model::RawSignature(ctx.bytes().slice(range)));
    }
    ctx.leave();
    if let Some(body) = body {
        document::body(ctx, body, &mut doc)?;
    }
    ctx.leave();
    for block in attachment_blocks {
        document::attachments(ctx, block, &mut doc)?;
    }
    document::check_manifest(ctx, root, &doc);
    ctx.leave();
    Ok(Message::Document(Box::new(doc)))
}
