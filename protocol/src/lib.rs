//! lienthong's protocol: what agencies exchange, independent of how it travels.
//!
//! This crate is pure and synchronous: no tokio, no libp2p, no storage. The node, the
//! simulations and the fuzzers all build on it, and it is tested on its own.
//!
//! # Layout
//!
//! - [`organ_id`]: agency identifiers (`000.00.00.G22`), regular and irregular.
//! - [`edxml`]: the QCVN 102:2016 edXML reader (lenient, with warnings) and writer (strict).
//! - [`keys`]: agency signing keys, public keys and signatures (ed25519, strict verification,
//!   secrets redacted and zeroized).
//! - [`envelope`]: the signed envelopes nodes exchange: [`SignedPackage`] around the exact
//!   edXML bytes and [`SignedReceipt`] for status statements, with their wire encodings,
//!   content-hash ids, [`Timestamp`] and size limits.
//! - [`roster`]: the federation directory, signed by the root authority.
//! - [`seal`]: what relays hold without reading: [`SealedPackage`] (a package encrypted to
//!   one recipient's X25519 [`EncryptionKey`], under a header the sender signs) and
//!   [`SignedHold`] (a relay's signed "held for the recipient", which is not a receipt).
//! - [`wire`]: the requests and responses nodes exchange on `/lienthong/deliver/1`,
//!   including the relay mailbox (deposit, fetch, acknowledge) and receipt catch-up.
//! - [`gossip`]: the receipt batches nodes publish on the receipts gossip topics, their
//!   signatures checked in one batch.
//! - [`axis_wire`]: the national axis's SDK signing (the `XroadVnpt-` headers and their
//!   HMAC), shared by the node's axis client and the test axis.
//! - [`mail`]: official email to units with no node: the letter a node sends for a
//!   document, the delivery and read reports it reads back, and the edXML document made from
//!   a mail a unit sends in.
//! - [`tlog`]: a node's evidence log: RFC 6962 Merkle trees with inclusion and consistency
//!   proofs, C2SP checkpoints and signed notes, witnesses' cosignatures and the decision a
//!   witness makes (cosign an extension, refuse a rollback or a fork).
//! - [`evidence`]: what a leaf of a node's evidence log says, and the evidence bundle
//!   (an ASiC-E container) that proves one document's exchange offline.
//!
//! # Example
//!
//! ```no_run
//! let bytes = std::fs::read("document.edxml").unwrap();
//! let parsed = lienthong_protocol::edxml::read(bytes).unwrap();
//! println!("{} from {}", parsed.message.kind(), parsed.message.from());
//! for warning in &parsed.warnings {
//!     println!("warning: {warning}");
//! }
//! ```

#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod axis_wire;
pub mod edxml;
mod encoding;
pub mod envelope;
pub mod evidence;
pub mod gossip;
pub mod keys;
pub mod mail;
pub mod organ_id;
pub mod roster;
pub mod seal;
pub mod tlog;
pub mod wire;

pub use edxml::{Message, MessageKind, StatusCode};
pub use envelope::{
    EnvelopeError, EnvelopeLimits, PackageFields, PackageId, ReceiptFields, ReceiptId,
    SignedPackage, SignedReceipt, Timestamp,
};
pub use gossip::{GossipError, decode_receipt_batch, encode_receipt_batch};
pub use keys::{AgencyKey, KeyError, PublicKey, Signature, VerifyError};
pub use organ_id::OrganId;
pub use seal::{
    EncryptionKey, EncryptionSecret, HoldFields, SealError, SealedFields, SealedPackage, SignedHold,
};
