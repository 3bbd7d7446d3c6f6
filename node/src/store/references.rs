//! How a status message finds its document, and how a revoke, update or replace finds
//! the document it changes: per sender, the package ids under each document reference
//! (see `lienthong_protocol::edxml::references`), and the links between packages.

use serde::Serialize;

use lienthong_protocol::OrganId;
use lienthong_protocol::edxml::{BusinessDocType, DocumentReference};
use lienthong_protocol::envelope::PackageId;

use super::engine::{Tx, TxError};
use super::error::{Corruption, StoreError};
use super::keys::{self, Tree};
use super::outgoing::index_target;
use super::{Store, encoding::corrupt};

/// What a package is indexed under, written in the same transaction as the package.
#[derive(Debug, Clone, Default)]
pub struct PackageIndex {
    /// The document's references ([`lienthong_protocol::edxml::document_references`]).
    pub references: Vec<DocumentReference>,
    /// For a revoke, update or replace: the packages it changes.
    pub changes: Vec<(PackageId, BusinessDocType)>,
}

/// A link between two packages: one revokes, updates or replaces the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The other package.
    pub package_id: PackageId,
    /// `revoke`, `update` or `replace`.
    pub business: BusinessDocType,
}

/// The links of one package, both ways.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Links {
    /// The packages this one revokes, updates or replaces.
    pub changes: Vec<Link>,
    /// The packages that revoke, update or replace this one.
    pub changed_by: Vec<Link>,
}

impl Links {
    /// Whether there is no link either way.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.changed_by.is_empty()
    }
}

impl Store {
    /// The packages from `sender` indexed under the first of `references` (strongest first)
    /// that finds any, in package id order; empty when none does.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn find_by_reference(
        &self,
        sender: &OrganId,
        references: &[DocumentReference],
    ) -> Result<Vec<PackageId>, StoreError> {
        for reference in references {
            let prefix = keys::reference_prefix(sender, reference.as_str());
            let found = self
                .db()
                .scan_prefix(Tree::References, &prefix)
                .map(|item| {
                    let (key, _) = item?;
                    index_target(Tree::References, &key)
                })
                .collect::<Result<Vec<_>, _>>()?;
            if !found.is_empty() {
                return Ok(found);
            }
        }
        Ok(Vec::new())
    }

    /// What `package` changes and what changes it.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`], [`StoreError::Read`].
    pub fn links(&self, package: &PackageId) -> Result<Links, StoreError> {
        let mut links = Links::default();
        for (direction, list) in [(b'>', &mut links.changes), (b'<', &mut links.changed_by)] {
            let mut prefix = vec![direction];
            prefix.extend_from_slice(package.as_bytes());
            for item in self.db().scan_prefix(Tree::Links, &prefix) {
                let (key, value) = item?;
                list.push(read_link(&key, &value)?);
            }
        }
        Ok(links)
    }
}

/// Inside a transaction: indexes `package` from `sender` under its references and links.
pub(super) fn insert_index(
    tx: &Tx<'_>,
    sender: &OrganId,
    package: &PackageId,
    index: &PackageIndex,
) -> Result<(), TxError> {
    for reference in &index.references {
        tx.insert(
            Tree::References,
            &keys::reference(sender, reference.as_str(), package),
            &[],
        )?;
    }
    for (changed, business) in &index.changes {
        let value = [business.code()];
        tx.insert(Tree::Links, &keys::link_from(package, changed), &value)?;
        tx.insert(Tree::Links, &keys::link_to(changed, package), &value)?;
    }
    Ok(())
}

fn read_link(key: &[u8], value: &[u8]) -> Result<Link, StoreError> {
    let package_id = index_target(Tree::Links, key)?;
    let business = value
        .first()
        .and_then(|&code| BusinessDocType::from_code(code))
        .ok_or_else(|| {
            corrupt(
                Tree::Links,
                key,
                Corruption::Missing {
                    what: "business document type",
                },
            )
        })?;
    Ok(Link {
        package_id,
        business,
    })
}
