//! Times in API answers: RFC 3339 in UTC (`2026-11-21T05:39:00.123Z`), which every QLVB
//! platform parses, rather than the store's milliseconds.

use lienthong_protocol::envelope::Timestamp;
use serde::Serializer;

/// Serialises a timestamp as RFC 3339.
pub(crate) fn rfc3339<S: Serializer>(time: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(time)
}

/// Serialises an optional timestamp as RFC 3339 or null.
pub(crate) fn rfc3339_opt<S: Serializer>(
    time: &Option<Timestamp>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(t) => serializer.collect_str(t),
        None => serializer.serialize_none(),
    }
}
