//! The status edXML QLVB downloads for a receipt (`messagetype=status`).
//!
//! # Receipts and status packages
//!
//! A status reaches this node in up to two forms: the **signed receipt** (always: the
//! issuer's node signs it, and for 01 the recipient's node signs it on arrival, without its
//! QLVB), and, when the issuer's QLVB posted a status message, that **status package** too,
//! in this node's inbox. The feed lists each status once, as its receipt; the receipt id is
//! the `id` QLVB sees. Its file is the issuer's own status package when this node holds one
//! that matches (same issuer, same code, a `ResponseFor` that names the same document),
//! otherwise one written here from the receipt. Collecting the receipt also acknowledges that
//! status package in the inbox, so that neither interface offers it again.
//!
//! A written status says what the receipt says: `From` = the issuer (with its roster name),
//! `ResponseFor` = this agency and the document's `Code`, `PromulgationDate` and `DocumentId`
//! from the package this node holds, `StatusCode`, `Description` (the receipt's, or the
//! code's Vietnamese label), `Timestamp` = when the issuer signed it, in Vietnam time.

use std::collections::HashMap;

use bytes::Bytes;
use lienthong_protocol::edxml::{self, Message, Organization, ResponseFor, Status};
use lienthong_protocol::envelope::{PackageId, SignedReceipt, Timestamp};
use lienthong_protocol::{MessageKind, OrganId};
use tracing::debug;

use super::envelope::Fail;
use super::time::vietnam_edxml;
use crate::context::NodeContext;
use crate::store::StoreError;

/// Inbox entries read, from the earliest receipt's time on, when looking for the status
/// packages that came with receipts.
const ORIGINAL_SCAN_LIMIT: usize = 4096;

/// A status file and where it came from.
#[derive(Debug, Clone)]
pub(super) struct StatusFile {
    /// The edXML.
    pub(super) bytes: Bytes,
    /// The inbox package it is, when the issuer's QLVB sent one.
    pub(super) original: Option<PackageId>,
}

/// What a written status needs from the document it answers.
#[derive(Debug, Clone, Default)]
struct DocumentFacts {
    code: Option<String>,
    date: Option<edxml::EdxmlDate>,
    document_id: Option<String>,
}

/// A status package in the inbox.
#[derive(Debug)]
struct Original {
    package_id: PackageId,
    from: OrganId,
    created_at: Timestamp,
    status: Status,
    bytes: Bytes,
}

/// Status files for the receipts of one request, reading each document and the inbox once.
pub(super) struct StatusFiles<'a> {
    ctx: &'a NodeContext,
    since: Timestamp,
    originals: Option<Vec<Original>>,
    documents: HashMap<PackageId, DocumentFacts>,
}

impl std::fmt::Debug for StatusFiles<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusFiles")
            .field("since", &self.since)
            .finish_non_exhaustive()
    }
}

impl<'a> StatusFiles<'a> {
    /// For receipts issued at `earliest` or later.
    pub(super) fn new(ctx: &'a NodeContext, earliest: Timestamp) -> Self {
        // A status package cannot arrive before it was made; the issuer's clock may be
        // ahead of this node's by up to the allowed skew.
        let skew = u64::try_from(ctx.config.security.clock_skew.as_millis()).unwrap_or(u64::MAX);
        StatusFiles {
            ctx,
            since: Timestamp::from_millis(earliest.as_millis().saturating_sub(skew)),
            originals: None,
            documents: HashMap::new(),
        }
    }

    /// The file of `receipt`. Blocking.
    ///
    /// # Errors
    /// A store failure, or a receipt whose status cannot be written.
    pub(super) fn file(&mut self, receipt: &SignedReceipt) -> Result<StatusFile, Fail> {
        if let Some(original) = self.original(receipt)? {
            return Ok(original);
        }
        let facts = self.facts(receipt.package_id())?;
        let mut from = Organization::new(receipt.issuer().clone());
        from.organ_name = self.ctx.roster().and_then(|roster| {
            roster
                .member(receipt.issuer())
                .map(|m| m.record.name.clone())
                .and_then(clean)
        });
        let document_id = receipt
            .document_id()
            .map(str::to_owned)
            .or(facts.document_id)
            .and_then(clean)
            // The writer needs one; the package id names the document unambiguously here.
            .unwrap_or_else(|| receipt.package_id().to_string());
        let mut status = Status {
            from,
            response_for: ResponseFor {
                organ_id: self.ctx.organ_id.clone(),
                code: facts.code.and_then(clean),
                promulgation_date: facts.date,
                document_id: Some(document_id),
            },
            staff: None,
            code: receipt.code(),
            description: receipt
                .description()
                .map(str::to_owned)
                .and_then(clean)
                .or_else(|| Some(receipt.code().label_vi().to_owned())),
            timestamp: vietnam_edxml(receipt.issued_at()),
        };
        let bytes = match edxml::write(&Message::Status(Box::new(status.clone()))) {
            Ok(bytes) => bytes,
            Err(first) => {
                // A value the strict writer refuses (from another system's data): write
                // the status without the optional parts rather than not at all.
                debug!(error = %first, "status written without its optional parts");
                status.from.organ_name = None;
                status.response_for.code = None;
                status.description = None;
                edxml::write(&Message::Status(Box::new(status))).map_err(|e| {
                    Fail::unavailable(format!(
                        "the status of receipt {} cannot be written as edXML: {e}",
                        receipt.id()
                    ))
                })?
            }
        };
        Ok(StatusFile {
            bytes: Bytes::from(bytes),
            original: None,
        })
    }

    /// The inbox package of the issuer's own status message for `receipt`, if this node
    /// holds one. Blocking.
    ///
    /// # Errors
    /// A store failure.
    pub(super) fn original_package(
        &mut self,
        receipt: &SignedReceipt,
    ) -> Result<Option<PackageId>, Fail> {
        Ok(self.original(receipt)?.and_then(|file| file.original))
    }

    /// The issuer's own status package for `receipt`, if this node holds one.
    fn original(&mut self, receipt: &SignedReceipt) -> Result<Option<StatusFile>, Fail> {
        if self.originals.is_none() {
            self.originals = Some(self.load_originals()?);
        }
        let originals = self.originals.as_deref().unwrap_or_default();
        let mut best: Option<&Original> = None;
        for original in originals {
            if &original.from != receipt.issuer()
                || original.status.code != receipt.code()
                || original.status.response_for.organ_id != self.ctx.organ_id
            {
                continue;
            }
            let references = edxml::response_references(&original.status.response_for);
            let documents = self
                .ctx
                .store
                .find_by_reference(receipt.sender(), &references)?;
            if !documents.contains(&receipt.package_id()) {
                continue;
            }
            // The package sent along with the receipt was made in the same instant.
            if original.created_at == receipt.issued_at() {
                best = Some(original);
                break;
            }
            best = best.or(Some(original));
        }
        Ok(best.map(|original| StatusFile {
            bytes: original.bytes.clone(),
            original: Some(original.package_id),
        }))
    }

    fn load_originals(&self) -> Result<Vec<Original>, StoreError> {
        let store = &self.ctx.store;
        let mut originals = Vec::new();
        for entry in store.inbox_received_since(self.since, ORIGINAL_SCAN_LIMIT)? {
            if entry.kind != MessageKind::Status {
                continue;
            }
            let Some(package) = store.package(&entry.package_id)? else {
                continue;
            };
            let Ok(parsed) = edxml::read_with(package.content().clone(), &self.read_options())
            else {
                continue;
            };
            if let Message::Status(status) = parsed.message {
                originals.push(Original {
                    package_id: entry.package_id,
                    from: entry.from,
                    created_at: package.created_at(),
                    status: *status,
                    bytes: package.content().clone(),
                });
            }
        }
        Ok(originals)
    }

    /// Code, date and id of the document package `id`, read once per request.
    fn facts(&mut self, id: PackageId) -> Result<DocumentFacts, Fail> {
        if let Some(facts) = self.documents.get(&id) {
            return Ok(facts.clone());
        }
        let facts = match self.ctx.store.package(&id)? {
            None => DocumentFacts::default(),
            Some(package) => {
                match edxml::read_with(package.content().clone(), &self.read_options()) {
                    Ok(parsed) => match parsed.message {
                        Message::Document(document) => DocumentFacts {
                            code: document
                                .code
                                .as_ref()
                                .map(|c| format!("{}/{}", c.number, c.notation)),
                            date: document.promulgation.as_ref().and_then(|p| p.date),
                            document_id: document.document_id_or_derived(),
                        },
                        Message::Status(_) => DocumentFacts::default(),
                    },
                    Err(_) => DocumentFacts::default(),
                }
            }
        };
        self.documents.insert(id, facts.clone());
        Ok(facts)
    }

    fn read_options(&self) -> edxml::ReadOptions {
        edxml::ReadOptions {
            max_size: usize::try_from(self.ctx.config.limits.max_package_size.as_u64())
                .unwrap_or(usize::MAX),
            ..edxml::ReadOptions::default()
        }
    }
}

/// Text the strict writer takes: trimmed, without control characters; `None` when nothing
/// is left.
fn clean(text: String) -> Option<String> {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                ' '
            } else {
                c
            }
        })
        .filter(|c| !matches!(*c, '\u{FFFE}' | '\u{FFFF}'))
        .collect();
    let trimmed = cleaned.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_is_cleaned_for_the_writer() {
        assert_eq!(
            super::clean("  Đã tiếp nhận\r\n".into()).as_deref(),
            Some("Đã tiếp nhận")
        );
        assert_eq!(super::clean(" \u{7} ".into()), None);
        assert_eq!(super::clean("a\u{0}b".into()).as_deref(), Some("a b"));
    }
}
