//! How a store failure is answered, on the native API and the axis-compatible one alike.
//!
//! A QLVB decides from the status whether to send again: 503 and 507 say "later, the same
//! request will do", 4xx "never, as it is", 500 "not until someone looks". So a full disk
//! (507, which only the operator can fix) is told apart from other passing failures (503),
//! both with a `Retry-After`, and a store that reads back corrupt or refuses a record as
//! malformed is not called temporary. The message carries the whole chain of causes,
//! because the store's own error names only the operation that failed.

use std::error::Error;
use std::io;
use std::time::Duration;

use axum::http::StatusCode;

use crate::store::{InputProblem, StoreError};

/// When a QLVB should try again after a full disk: long enough for an operator to free
/// space, short enough that documents do not wait long once it has.
pub(crate) const DISK_FULL_RETRY_AFTER: Duration = Duration::from_secs(60);

/// When a QLVB should try again after another passing failure (every 503).
pub(crate) const STORE_RETRY_AFTER: Duration = Duration::from_secs(10);

/// A store failure as the API answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreFailure {
    /// 507, 503, 500, or 422 for a document id no store takes.
    pub(crate) status: StatusCode,
    /// The stable name programs read: `insufficient_storage`, `unavailable`, `internal`,
    /// `document_id_too_long`.
    pub(crate) kind: &'static str,
    /// What failed and why, in words.
    pub(crate) message: String,
    /// For the failures that pass.
    pub(crate) retry_after: Option<Duration>,
}

/// How to answer `error`, met while `doing` ("the message could not be stored, so it was
/// not accepted").
pub(crate) fn answer(error: &StoreError, doing: &str) -> StoreFailure {
    let causes = causes(error);
    match classify(error) {
        Class::DiskFull => StoreFailure {
            status: StatusCode::INSUFFICIENT_STORAGE,
            kind: "insufficient_storage",
            message: format!(
                "{doing}: no space left on device: the node's disk is full, so nothing was stored; send it again once the node's operator has freed space ({causes})"
            ),
            retry_after: Some(DISK_FULL_RETRY_AFTER),
        },
        Class::Passing => StoreFailure {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: "unavailable",
            message: format!("{doing}: the node's store failed ({causes}); send it again later"),
            retry_after: Some(STORE_RETRY_AFTER),
        },
        Class::DocumentIdTooLong { len, max } => StoreFailure {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            kind: "document_id_too_long",
            message: format!(
                "DocumentId is {len} bytes long, longer than the {max} bytes lienthong takes; shorten it"
            ),
            retry_after: None,
        },
        Class::Internal => StoreFailure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "internal",
            message: format!(
                "{doing}: the node's store refused it ({causes}); the node's operator should look at its log"
            ),
            retry_after: None,
        },
    }
}

/// What kind of failure a store error is, for whoever sent the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// The disk (or the node's quota on it) is full.
    DiskFull,
    /// Anything else that may pass: an I/O error, a store that must be reopened.
    Passing,
    /// A document id longer than any store takes: a problem of the request itself.
    DocumentIdTooLong { len: usize, max: usize },
    /// Corruption or a bug: sending the same again will not help.
    Internal,
}

fn classify(error: &StoreError) -> Class {
    match error {
        StoreError::Read { source, .. }
        | StoreError::Transaction { source, .. }
        | StoreError::Sync { source }
        | StoreError::Open { source, .. } => by_io_kind(source.io_kind()),
        StoreError::PackageFile { source, .. } => by_io_kind(Some(source.kind())),
        StoreError::InvalidInput {
            problem: InputProblem::DocumentIdTooLong { len, max },
            ..
        } => Class::DocumentIdTooLong {
            len: *len,
            max: *max,
        },
        StoreError::Corrupt { .. }
        | StoreError::Encode { .. }
        | StoreError::InvalidInput { .. }
        | StoreError::UnknownOutboxEntry { .. }
        | StoreError::UnknownAxisArrival { .. } => Class::Internal,
        // The schema errors only happen when the store opens, a backup's when it is taken:
        // whatever they are, the node cannot do it now.
        _ => Class::Passing,
    }
}

fn by_io_kind(kind: Option<io::ErrorKind>) -> Class {
    if kind.is_some_and(is_disk_full) {
        Class::DiskFull
    } else {
        Class::Passing
    }
}

/// Whether an I/O error says the disk, or the node's quota on it, is full.
pub(crate) fn is_disk_full(kind: io::ErrorKind) -> bool {
    matches!(
        kind,
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

/// `error` and every error under it, joined with ": ".
pub(crate) fn causes(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Transparent wrappers repeat their source's text.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use lienthong_protocol::envelope::PackageId;

    use super::*;

    fn package_file(kind: io::ErrorKind) -> StoreError {
        StoreError::PackageFile {
            path: PathBuf::from("/var/lib/lienthong/store/package-files/ab.1"),
            source: io::Error::from(kind),
        }
    }

    #[test]
    fn a_full_disk_is_507_with_its_cause_in_words_and_a_retry_after() {
        for kind in [io::ErrorKind::StorageFull, io::ErrorKind::QuotaExceeded] {
            let failure = answer(&package_file(kind), "the message could not be stored");
            assert_eq!(failure.status, StatusCode::INSUFFICIENT_STORAGE);
            assert_eq!(failure.kind, "insufficient_storage");
            assert_eq!(failure.retry_after, Some(DISK_FULL_RETRY_AFTER));
            assert!(
                failure.message.contains("no space left on device"),
                "{}",
                failure.message
            );
            assert!(
                failure
                    .message
                    .starts_with("the message could not be stored: "),
                "{}",
                failure.message
            );
            assert!(failure.message.contains("package-files/ab.1"));
        }
        // The engine's own errors are told apart by the kind they expose.
        assert_eq!(
            by_io_kind(Some(io::ErrorKind::StorageFull)),
            Class::DiskFull
        );
    }

    #[test]
    fn other_io_failures_are_503_with_a_retry_after() {
        for kind in [
            io::ErrorKind::PermissionDenied,
            io::ErrorKind::NotFound,
            io::ErrorKind::Other,
        ] {
            let failure = answer(&package_file(kind), "reading the inbox failed");
            assert_eq!(failure.status, StatusCode::SERVICE_UNAVAILABLE, "{kind:?}");
            assert_eq!(failure.kind, "unavailable");
            assert_eq!(failure.retry_after, Some(STORE_RETRY_AFTER));
            assert!(
                failure.message.contains(&io::Error::from(kind).to_string()),
                "the cause is in the message: {}",
                failure.message
            );
        }
        assert_eq!(by_io_kind(None), Class::Passing);
    }

    #[test]
    fn a_document_id_the_store_refuses_is_422_naming_it_and_its_limit() {
        let error = StoreError::InvalidInput {
            package_id: PackageId::from_bytes([1; 32]),
            problem: InputProblem::DocumentIdTooLong { len: 300, max: 256 },
        };
        let failure = answer(&error, "the message could not be stored");
        assert_eq!(failure.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(failure.retry_after, None);
        for word in ["DocumentId", "300", "256"] {
            assert!(failure.message.contains(word), "{}", failure.message);
        }
    }

    #[test]
    fn a_bug_or_corruption_is_500_without_a_retry_after() {
        let error = StoreError::InvalidInput {
            package_id: PackageId::from_bytes([1; 32]),
            problem: InputProblem::UnknownPackage,
        };
        let failure = answer(&error, "the message could not be stored");
        assert_eq!(failure.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(failure.retry_after, None);
        assert!(failure.message.contains("no such package is stored"));
    }
}
