//! The bytes of one evidence leaf. The format lives in `lienthong_protocol::evidence`, so
//! that an evidence bundle is verified with the protocol crate alone.

pub use lienthong_protocol::evidence::{EvidenceLeaf, Fact, LeafError};
