//! Signed envelopes: what travels between nodes around the edXML.
//!
//! Two envelopes exist. A [`SignedPackage`] carries one edXML message's exact bytes from a
//! sender to its recipients; a [`SignedReceipt`] is one agency's signed status statement
//! about a package, small enough to gossip.
//!
//! Both follow the same rules, taken from libp2p's signed envelope:
//!
//! - **Sign bytes, not trees.** The signature is over a length-prefixed encoding (see
//!   `encoding.rs`) whose first field is a domain string, [`PACKAGE_DOMAIN`] or
//!   [`RECEIPT_DOMAIN`]. The edXML is never canonicalised or re-serialised, and a signature
//!   made for one purpose cannot be replayed as the other.
//! - **Verify before reading.** `from_wire` bounds every size first, then verifies with
//!   `verify_strict`, and only then decodes the signed fields, strictly: one value, one
//!   encoding. Gossiped receipts are read many at once (`receipt_batch.rs`), along the same
//!   steps with one batch signature check that accepts exactly what `verify_strict` accepts.
//! - **Ids are hashes of the signed bytes** ([`PackageId`], [`ReceiptId`]), so a resend is
//!   recognisable as the same envelope without any registry of ids.
//!
//! Both wire forms start `magic (4) ‖ version (1) ‖ signer public key (32) ‖ signature (64) ‖
//! signed length (u32 BE) ‖ signed bytes`; a package then has its content to the end.
//! Which agency a key speaks for is not known here: the node checks
//! [`SignedPackage::sender`] and [`SignedReceipt::issuer`] against the roster.

mod encoding;
mod error;
mod id;
mod limits;
mod package;
mod receipt;
mod receipt_batch;
mod time;

pub use error::{EnvelopeError, EnvelopeKind, Field, FieldProblem, Limit, Section};
pub use id::{PackageId, ParseIdError, ReceiptId};
pub use limits::EnvelopeLimits;
pub use package::{PackageFields, SignedPackage};
pub use receipt::{MAX_DOCUMENT_ID_LEN, ReceiptFields, SignedReceipt};
pub(crate) use receipt_batch::{BatchRefusal, receipts_from_wire};
pub use time::{Timestamp, TimestampError};

/// Signing domain of package headers: the first field of the signed bytes.
pub const PACKAGE_DOMAIN: &str = "lienthong/package/v1";
/// Signing domain of receipt bodies.
pub const RECEIPT_DOMAIN: &str = "lienthong/receipt/v1";
/// First four bytes of a package's wire encoding.
pub const PACKAGE_MAGIC: &[u8; 4] = b"LTPK";
/// First four bytes of a receipt's wire encoding.
pub const RECEIPT_MAGIC: &[u8; 4] = b"LTRC";
/// The wire version this code writes and reads. A new layout gets a new version byte and a
/// new domain (`…/v2`), so that old signatures can never be read under the new layout.
pub const WIRE_VERSION: u8 = 1;
