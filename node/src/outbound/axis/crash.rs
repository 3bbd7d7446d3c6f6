//! Crash points for the bridges' kill -9 tests (the axis's and official email's): with `LIENTHONG_CRASH_AT=<point>` in its
//! environment the node aborts there, at once and without cleanup, as under kill -9. The
//! points sit between a call to the axis and the store write that follows it, the places
//! where exactly-once is at stake. Unset (always, outside those tests) it costs one read
//! of a cached value.

use std::sync::OnceLock;

/// The points, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CrashPoint {
    /// After `sendEdoc` answered, before its DocId is recorded.
    SentNotRecorded,
    /// After `getEdoc` answered, before the document is stored.
    GotNotStored,
    /// After the document is stored, before `updateStatus done`.
    StoredNotDone,
    /// After the mail server took a message, before the node records it.
    MailSentNotRecorded,
}

impl CrashPoint {
    fn name(self) -> &'static str {
        match self {
            CrashPoint::SentNotRecorded => "axis_after_send_before_record",
            CrashPoint::GotNotStored => "axis_after_get_before_store",
            CrashPoint::StoredNotDone => "axis_after_store_before_done",
            CrashPoint::MailSentNotRecorded => "email_after_send_before_record",
        }
    }
}

/// Aborts the process when `LIENTHONG_CRASH_AT` names `point`.
pub(crate) fn crash_point(point: CrashPoint) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    let at = AT.get_or_init(|| std::env::var("LIENTHONG_CRASH_AT").ok());
    if at.as_deref() == Some(point.name()) {
        eprintln!("crash point {}: aborting", point.name());
        std::process::abort();
    }
}
