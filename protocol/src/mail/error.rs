//! Why a mail could not be composed or read.

/// What went wrong with a mail, and where: each variant names the field, part or report
/// block at fault, so that the node can log it and leave the message for an operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// A value given to compose a mail cannot go into a header (an address without `@`,
    /// a line break in a header, an empty message id...).
    #[error("cannot compose the mail: {field} {reason}")]
    InvalidField {
        /// The field: `from_address`, `message_id`, `header X-Lienthong-Package`...
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An attachment of the edXML document does not decode from base64.
    #[error("attachment {index} ({name}) of the edXML document does not decode: {reason}")]
    AttachmentNotDecoded {
        /// Its position among the document's attachments, from 1.
        index: usize,
        /// Its name, or `(no name)`.
        name: String,
        /// The decoder's reason.
        reason: String,
    },
    /// The bytes are not an RFC 5322 message at all (no header could be read).
    #[error("not an RFC 5322 message: {reason}")]
    NotAMessage {
        /// What was found instead.
        reason: String,
    },
    /// The message is larger than the limit the caller set.
    #[error("the message is {size} bytes, more than the limit of {max} bytes")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The message has no usable `From` address.
    #[error("the message has no From address")]
    NoFromAddress,
    /// A MIME part's content does not decode with its declared transfer encoding.
    #[error("MIME part {part} ({name}) does not decode as its Content-Transfer-Encoding says")]
    PartNotDecoded {
        /// The part's position in the message (mail-parser's part number, 0 is the root).
        part: usize,
        /// The attachment name, or `(no name)`.
        name: String,
    },
    /// A `multipart/report` whose report part is missing or does not say what RFC 3464 or
    /// RFC 8098 require.
    #[error("malformed {report}: {reason}")]
    MalformedReport {
        /// `delivery-status report` or `disposition-notification report`.
        report: &'static str,
        /// What is missing or wrong, naming the block and field.
        reason: String,
    },
    /// The edXML document for an incoming mail could not be written.
    #[error("cannot write the edXML document for the mail: {0}")]
    Edxml(#[from] crate::edxml::WriteError),
}
