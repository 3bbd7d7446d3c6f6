//! edXML (QCVN 102:2016): the format every Vietnamese document-management system speaks.
//!
//! [`read`] is lenient where real producers differ and reports each leniency as a
//! [`Warning`]; [`write`] is strict, and what it writes [`read`] reads back equal.
//!
//! ```
//! let xml = lienthong_protocol::edxml::write(&lienthong_protocol::edxml::Message::Status(
//!     Box::new(lienthong_protocol::edxml::Status {
//!         from: lienthong_protocol::edxml::Organization::new("000.00.00.H41".parse().unwrap()),
//!         response_for: lienthong_protocol::edxml::ResponseFor {
//!             organ_id: "000.00.00.G22".parse().unwrap(),
//!             code: Some("7816/VPCP-TTĐT".into()),
//!             promulgation_date: None,
//!             document_id: Some("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT".into()),
//!         },
//!         staff: None,
//!         code: lienthong_protocol::edxml::StatusCode::Accepted,
//!         description: None,
//!         timestamp: None,
//!     }),
//! ))
//! .unwrap();
//! let parsed = lienthong_protocol::edxml::read(xml).unwrap();
//! assert_eq!(parsed.message.document_id(), Some("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"));
//! ```

mod error;
pub mod model;
mod reader;
pub mod references;
mod writer;

pub use error::{EdxmlError, ErrorKind, Position, Warning, WarningKind};
pub use model::*;
pub use reader::{Parsed, ReadOptions, read, read_with};
pub use references::{
    DocumentReference, document_id_references, document_references, response_references,
};
pub use writer::{WriteError, write};

/// The XML namespace of QCVN 102:2016.
pub const NAMESPACE: &str = reader::QCVN_NAMESPACE;
