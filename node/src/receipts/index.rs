//! What a package is indexed under when it is stored: its document references, so that
//! status messages find it, and, for a revoke, update or replace, the packages it changes.

use lienthong_protocol::edxml::{self, BusinessDocType, Message};
use lienthong_protocol::{OrganId, PackageId};
use tracing::debug;

use crate::store::{PackageIndex, Store, StoreError};

/// The index entries of `message`, sent by `sender`. The packages a revoke, update or
/// replace changes are looked up among `sender`'s packages already stored here (sent, or
/// received from it); one not found is not linked, and the document travels all the same.
///
/// # Errors
/// A store read error.
pub(crate) fn package_index(
    store: &Store,
    sender: &OrganId,
    message: &Message,
) -> Result<PackageIndex, StoreError> {
    let Message::Document(document) = message else {
        return Ok(PackageIndex::default());
    };
    let mut index = PackageIndex {
        references: edxml::document_references(document),
        changes: Vec::new(),
    };
    let business = document.business_doc_type();
    if business == BusinessDocType::New {
        return Ok(index);
    }
    let Some(block) = &document.business else {
        return Ok(index);
    };
    let targets = block
        .document_id
        .iter()
        .chain(block.replacements.iter().map(|r| &r.document_id));
    for target in targets {
        let found: Vec<PackageId> =
            store.find_by_reference(sender, &edxml::document_id_references(target))?;
        debug!(document = %target, found = found.len(), ?business, "linking a changing document");
        for package in found {
            if !index.changes.iter().any(|(p, _)| *p == package) {
                index.changes.push((package, business));
            }
        }
    }
    Ok(index)
}
