//! The bytes of one evidence leaf: what a fact looks like in the node's Merkle log.
//!
//! A leaf names a fact by the ids and hashes that already identify it elsewhere (a package
//! id, a receipt id, the SHA-256 of the edXML, a roster serial), never by content, so the
//! log stays small and holds nothing confidential: proving a fact means showing the leaf,
//! its inclusion proof and the signed object whose id it names. The encoding is canonical
//! (fixed-width fields, one length-prefixed agency id at the end where there is one), so a
//! verifier rebuilds the exact bytes, and so the leaf hash, from the fact alone.
//!
//! # Format (version 1)
//!
//! `kind (u8) ‖ at (u64 BE, ms since the Unix epoch) ‖ fields`, where `at` is when this
//! node took the fact (the submission, the arrival, the recording) and the fields are:
//!
//! | kind | fact | fields |
//! | --- | --- | --- |
//! | `0x00` | log started on a store that already held facts (schema 6 migration) | outgoing count (u64 BE) ‖ inbox count (u64 BE) ‖ receipt count (u64 BE) |
//! | `0x01` | package submitted by this node's QLVB | package id (32) ‖ SHA-256 of the edXML (32) |
//! | `0x02` | package received from a peer and accepted | package id (32) ‖ SHA-256 of the edXML (32) |
//! | `0x03` | receipt signed by this node with a submission or an acceptance (01, 03…06) | receipt id (32) ‖ package id (32) |
//! | `0x04` | receipt recorded: received from a peer or by gossip, or a refusal signed on a path of its own | receipt id (32) ‖ package id (32) |
//! | `0x05` | sealed package held by this relay for a member | package id (32) ‖ SHA-256 of the sealed bytes (32) ‖ recipient len (u8) ‖ recipient |
//! | `0x06` | a relay's signed hold recorded by this sender | package id (32) ‖ SHA-256 of the hold's bytes (32) ‖ recipient len (u8) ‖ recipient |
//! | `0x07` | roster taken | roster serial (u64 BE) ‖ SHA-256 of the roster bundle's bytes (32) |
//!
//! The leaf hash is RFC 6962's: `SHA-256(0x00 ‖ leaf bytes)` ([`tlog::leaf_hash`]).
//! A new kind of fact is a new kind byte; the shape of an existing kind never changes.
//!
//! [`tlog::leaf_hash`]: crate::tlog::leaf_hash

use crate::OrganId;
use crate::envelope::{PackageId, ReceiptId, Timestamp};
use serde::Serialize;

/// One fact of the evidence log, with when this node took it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceLeaf {
    /// When this node took the fact.
    pub at: Timestamp,
    /// The fact (its `kind` and fields, beside `at` in JSON).
    #[serde(flatten)]
    pub fact: Fact,
}

/// What a leaf says happened. See the module docs for each kind's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fact {
    /// The log began on a store that already held these many facts, which have no leaves.
    LogStarted {
        /// Packages submitted before.
        outgoing: u64,
        /// Packages accepted before.
        inbox: u64,
        /// Receipts recorded before.
        receipts: u64,
    },
    /// This node's QLVB submitted a package.
    PackageSubmitted {
        /// The package.
        package: PackageId,
        /// SHA-256 of its edXML.
        #[serde(serialize_with = "as_hex")]
        content_sha256: [u8; 32],
    },
    /// A package from a peer was accepted.
    PackageReceived {
        /// The package.
        package: PackageId,
        /// SHA-256 of its edXML.
        #[serde(serialize_with = "as_hex")]
        content_sha256: [u8; 32],
    },
    /// This node signed a receipt as part of a submission or an acceptance.
    ReceiptSigned {
        /// The receipt.
        receipt: ReceiptId,
        /// The package it is about.
        package: PackageId,
    },
    /// A receipt was recorded on its own.
    ReceiptRecorded {
        /// The receipt.
        receipt: ReceiptId,
        /// The package it is about.
        package: PackageId,
    },
    /// This relay holds a sealed package for a member.
    PackageHeld {
        /// The package.
        package: PackageId,
        /// SHA-256 of the sealed bytes held.
        #[serde(serialize_with = "as_hex")]
        sealed_sha256: [u8; 32],
        /// The member it is held for.
        recipient: OrganId,
    },
    /// A relay's signed hold of one of this node's packages was recorded.
    HoldRecorded {
        /// The package.
        package: PackageId,
        /// SHA-256 of the hold's wire bytes.
        #[serde(serialize_with = "as_hex")]
        hold_sha256: [u8; 32],
        /// The recipient the relay holds it for.
        recipient: OrganId,
    },
    /// A roster was taken.
    RosterTaken {
        /// Its serial.
        serial: u64,
        /// SHA-256 of the roster bundle's bytes.
        #[serde(serialize_with = "as_hex")]
        roster_sha256: [u8; 32],
    },
}

/// Why leaf bytes do not read as a leaf.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LeafError {
    /// The bytes end before the fields of their kind do.
    #[error("leaf ends after {len} bytes, before its fields")]
    Truncated {
        /// Bytes there were.
        len: usize,
    },
    /// The kind byte is not one this code knows.
    #[error("leaf kind {kind:#04x} is unknown")]
    UnknownKind {
        /// The kind byte.
        kind: u8,
    },
    /// Bytes follow the last field.
    #[error("{count} bytes follow the leaf's fields")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// The agency id is not one.
    #[error("the leaf's agency id is not valid")]
    BadAgency,
}

impl Fact {
    /// The kind byte (see the module docs).
    pub fn kind(&self) -> u8 {
        match self {
            Fact::LogStarted { .. } => 0x00,
            Fact::PackageSubmitted { .. } => 0x01,
            Fact::PackageReceived { .. } => 0x02,
            Fact::ReceiptSigned { .. } => 0x03,
            Fact::ReceiptRecorded { .. } => 0x04,
            Fact::PackageHeld { .. } => 0x05,
            Fact::HoldRecorded { .. } => 0x06,
            Fact::RosterTaken { .. } => 0x07,
        }
    }

    /// The package the fact is about, if it is about one.
    pub fn package(&self) -> Option<&PackageId> {
        match self {
            Fact::PackageSubmitted { package, .. }
            | Fact::PackageReceived { package, .. }
            | Fact::ReceiptSigned { package, .. }
            | Fact::ReceiptRecorded { package, .. }
            | Fact::PackageHeld { package, .. }
            | Fact::HoldRecorded { package, .. } => Some(package),
            Fact::LogStarted { .. } | Fact::RosterTaken { .. } => None,
        }
    }
}

impl EvidenceLeaf {
    /// A fact taken at `at`.
    pub fn new(at: Timestamp, fact: Fact) -> Self {
        EvidenceLeaf { at, fact }
    }

    /// The leaf's canonical bytes (see the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 8 + 32 + 32 + 1 + 64);
        out.push(self.fact.kind());
        out.extend_from_slice(&self.at.as_millis().to_be_bytes());
        match &self.fact {
            Fact::LogStarted {
                outgoing,
                inbox,
                receipts,
            } => {
                for count in [outgoing, inbox, receipts] {
                    out.extend_from_slice(&count.to_be_bytes());
                }
            }
            Fact::PackageSubmitted {
                package,
                content_sha256,
            }
            | Fact::PackageReceived {
                package,
                content_sha256,
            } => {
                out.extend_from_slice(package.as_bytes());
                out.extend_from_slice(content_sha256);
            }
            Fact::ReceiptSigned { receipt, package }
            | Fact::ReceiptRecorded { receipt, package } => {
                out.extend_from_slice(receipt.as_bytes());
                out.extend_from_slice(package.as_bytes());
            }
            Fact::PackageHeld {
                package,
                sealed_sha256: sha256,
                recipient,
            }
            | Fact::HoldRecorded {
                package,
                hold_sha256: sha256,
                recipient,
            } => {
                out.extend_from_slice(package.as_bytes());
                out.extend_from_slice(sha256);
                let organ = recipient.as_str().as_bytes();
                // Agency ids are at most 64 bytes (`MAX_ORGAN_ID_LEN`).
                out.push(u8::try_from(organ.len()).unwrap_or(u8::MAX));
                out.extend_from_slice(organ);
            }
            Fact::RosterTaken {
                serial,
                roster_sha256,
            } => {
                out.extend_from_slice(&serial.to_be_bytes());
                out.extend_from_slice(roster_sha256);
            }
        }
        out
    }

    /// Reads leaf bytes written by [`EvidenceLeaf::encode`].
    ///
    /// # Errors
    /// [`LeafError`] saying what does not hold.
    pub fn decode(bytes: &[u8]) -> Result<Self, LeafError> {
        let mut reader = Reader { bytes, at: 0 };
        let kind = reader.u8()?;
        let at = Timestamp::from_millis(reader.u64()?);
        let fact = match kind {
            0x00 => Fact::LogStarted {
                outgoing: reader.u64()?,
                inbox: reader.u64()?,
                receipts: reader.u64()?,
            },
            0x01 => Fact::PackageSubmitted {
                package: PackageId::from_bytes(reader.array()?),
                content_sha256: reader.array()?,
            },
            0x02 => Fact::PackageReceived {
                package: PackageId::from_bytes(reader.array()?),
                content_sha256: reader.array()?,
            },
            0x03 => Fact::ReceiptSigned {
                receipt: ReceiptId::from_bytes(reader.array()?),
                package: PackageId::from_bytes(reader.array()?),
            },
            0x04 => Fact::ReceiptRecorded {
                receipt: ReceiptId::from_bytes(reader.array()?),
                package: PackageId::from_bytes(reader.array()?),
            },
            0x05 => Fact::PackageHeld {
                package: PackageId::from_bytes(reader.array()?),
                sealed_sha256: reader.array()?,
                recipient: reader.organ()?,
            },
            0x06 => Fact::HoldRecorded {
                package: PackageId::from_bytes(reader.array()?),
                hold_sha256: reader.array()?,
                recipient: reader.organ()?,
            },
            0x07 => Fact::RosterTaken {
                serial: reader.u64()?,
                roster_sha256: reader.array()?,
            },
            kind => return Err(LeafError::UnknownKind { kind }),
        };
        let count = bytes.len() - reader.at;
        if count > 0 {
            return Err(LeafError::TrailingBytes { count });
        }
        Ok(EvidenceLeaf { at, fact })
    }
}

/// A hash as lowercase hex, for the API's JSON.
fn as_hex<S: serde::Serializer>(hash: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(hash))
}

/// A cursor over leaf bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], LeafError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let end = end.ok_or(LeafError::Truncated {
            len: self.bytes.len(),
        })?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, LeafError> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, LeafError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], LeafError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn organ(&mut self) -> Result<OrganId, LeafError> {
        let len = usize::from(self.u8()?);
        let bytes = self.take(len)?;
        let text = std::str::from_utf8(bytes).map_err(|_| LeafError::BadAgency)?;
        OrganId::parse(text).map_err(|_| LeafError::BadAgency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<EvidenceLeaf> {
        let at = Timestamp::from_millis(1_750_000_000_000);
        let package = PackageId::from_bytes([1; 32]);
        let receipt = ReceiptId::from_bytes([2; 32]);
        let organ = OrganId::parse("000.00.00.G22").unwrap();
        [
            Fact::LogStarted {
                outgoing: 3,
                inbox: 4,
                receipts: 5,
            },
            Fact::PackageSubmitted {
                package,
                content_sha256: [7; 32],
            },
            Fact::PackageReceived {
                package,
                content_sha256: [8; 32],
            },
            Fact::ReceiptSigned { receipt, package },
            Fact::ReceiptRecorded { receipt, package },
            Fact::PackageHeld {
                package,
                sealed_sha256: [9; 32],
                recipient: organ.clone(),
            },
            Fact::HoldRecorded {
                package,
                hold_sha256: [10; 32],
                recipient: organ,
            },
            Fact::RosterTaken {
                serial: 12,
                roster_sha256: [11; 32],
            },
        ]
        .into_iter()
        .map(|fact| EvidenceLeaf::new(at, fact))
        .collect()
    }

    #[test]
    fn every_kind_round_trips_and_kinds_differ() {
        let mut kinds = std::collections::HashSet::new();
        for leaf in every_kind() {
            let bytes = leaf.encode();
            assert!(kinds.insert(bytes[0]));
            assert_eq!(&bytes[1..9], &1_750_000_000_000u64.to_be_bytes());
            assert_eq!(EvidenceLeaf::decode(&bytes), Ok(leaf));
        }
    }

    #[test]
    fn the_submitted_layout_is_fixed() {
        let leaf = &every_kind()[1];
        let bytes = leaf.encode();
        assert_eq!(bytes.len(), 1 + 8 + 32 + 32);
        assert_eq!(bytes[0], 0x01);
        assert_eq!(&bytes[9..41], &[1; 32]);
        assert_eq!(&bytes[41..], &[7; 32]);
    }

    #[test]
    fn damaged_bytes_are_refused() {
        for leaf in every_kind() {
            let bytes = leaf.encode();
            for len in 0..bytes.len() {
                assert!(
                    matches!(
                        EvidenceLeaf::decode(&bytes[..len]),
                        Err(LeafError::Truncated { .. } | LeafError::BadAgency)
                    ),
                    "{len} of {bytes:?}"
                );
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(
                EvidenceLeaf::decode(&longer),
                Err(LeafError::TrailingBytes { count: 1 })
            );
        }
        let mut unknown = every_kind()[0].encode();
        unknown[0] = 0x42;
        assert_eq!(
            EvidenceLeaf::decode(&unknown),
            Err(LeafError::UnknownKind { kind: 0x42 })
        );
    }
}
