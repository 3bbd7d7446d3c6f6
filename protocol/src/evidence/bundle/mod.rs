//! The evidence bundle: everything that proves one package's exchange, in one file that
//! verifies offline with nothing but the federation's root key.
//!
//! # Why here
//!
//! Reading a bundle means reading bytes from a stranger (an auditor, a court, the other
//! party), and verifying it needs only the envelope, roster, edXML and transparency-log
//! code this crate already has. So both live in `protocol`, pure and synchronous, where
//! the fuzzers reach them (`protocol/fuzz/fuzz_targets/evidence_bundle.rs`); the node only
//! gathers the pieces from its store and calls [`write`].
//!
//! # The container
//!
//! An ASiC-E container (ETSI EN 319 162-1): a ZIP whose first entry is `mimetype`, stored
//! uncompressed, holding [`MIMETYPE`], and `META-INF/manifest.xml`, an ODF manifest listing
//! every other file with its media type. The signed data object is the edXML document at
//! the root; lienthong's own signatures and proofs are under `META-INF/lienthong/`:
//!
//! ```text
//! mimetype                                      application/vnd.etsi.asic-e+zip (stored)
//! META-INF/manifest.xml                         the ODF manifest
//! document.edxml                                the exact edXML bytes QLVB handed over
//! META-INF/lienthong/package.bin                the signed package (wire bytes)
//! META-INF/lienthong/receipts/<n>.bin           each signed receipt for it (wire bytes), n = 1, 2, …
//! META-INF/lienthong/rosters/<n>.bin            the roster bundle(s) in force, signed back to the root
//! META-INF/lienthong/leaves/<index>.leaf        each fact of the package in the exporter's log
//! META-INF/lienthong/proofs/<index>.proof       its inclusion proof: one hex hash a line
//! META-INF/lienthong/checkpoints/<size>.note    the exporter's signed checkpoint (C2SP note)
//! META-INF/lienthong/checkpoints/<size>.cosignatures   the witnesses' cosignature lines of it
//! META-INF/lienthong/timestamps/<size>.tsr      an RFC 3161 token over the checkpoint (when the node took one)
//! ```
//!
//! Numbers in names are decimal without leading zeros, so a name maps to one file only. The
//! reader takes no other name: there is no path to trick, no directory, nothing to
//! extract.
//!
//! # Layout
//!
//! - `layout`: the names above, parsed and printed.
//! - `manifest`: the ODF manifest, written and read with quick-xml.
//! - `container`: the ZIP, written with `mimetype` first, read under fixed limits.
//! - `verify`: the offline checks, in order, each failure a [`BundleError`] naming the file.
//! - `statement`: what a verified bundle says ([`Statement`]).
//! - `timestamp`: RFC 3161 tokens, checked against the TSA certificate the verifier trusts.

mod container;
mod error;
mod error_vi;
mod layout;
mod manifest;
mod statement;
mod timestamp;
mod verify;

use bytes::Bytes;

use crate::tlog::Hash;

pub use container::{Limits, read, write};
pub use error::BundleError;
pub use layout::{EDXML_FILE, MANIFEST_FILE, MIMETYPE_FILE, PACKAGE_FILE};
pub use statement::{Answer, FactSeen, Party, RecipientStatement, Statement, Witnessed};
pub use timestamp::TimestampStatement;
pub use verify::{VerifyOptions, verify, verify_bytes};

/// The content of `mimetype`, and the container's media type.
pub const MIMETYPE: &str = "application/vnd.etsi.asic-e+zip";

/// One package's evidence, as bytes: what [`write`] puts in a container and [`read`] takes
/// out of one. Nothing here is verified; [`verify`] does that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The exact edXML bytes.
    pub edxml: Bytes,
    /// The signed package's wire bytes.
    pub package: Bytes,
    /// Every signed receipt for the package (wire bytes), in the exporter's order.
    pub receipts: Vec<Bytes>,
    /// The roster bundles (wire bytes) that list the signers' keys.
    pub rosters: Vec<Bytes>,
    /// Each fact of the package in the exporter's log.
    pub facts: Vec<LoggedFact>,
    /// The checkpoint the facts are proved to.
    pub checkpoint: CheckpointEvidence,
}

/// One leaf of the exporter's log and its inclusion proof to [`Bundle::checkpoint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedFact {
    /// The leaf's index in the log.
    pub index: u64,
    /// The leaf's bytes (`EvidenceLeaf` encoding).
    pub leaf: Bytes,
    /// The inclusion proof (RFC 9162), from the leaf up.
    pub proof: Vec<Hash>,
}

/// The exporter's signed checkpoint, with what others added to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointEvidence {
    /// The tree size, which names the checkpoint's files.
    pub size: u64,
    /// The signed note, as the exporter issued it.
    pub note: Bytes,
    /// The witnesses' cosignature lines (`— lienthong-witness/<organ_id> …`), one each.
    pub cosignatures: Vec<String>,
    /// An RFC 3161 timestamp token over the checkpoint, when one was taken.
    pub timestamp: Option<Bytes>,
}

#[cfg(test)]
mod tests;
