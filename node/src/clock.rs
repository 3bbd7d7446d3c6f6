//! The wall clock, in the protocol's [`Timestamp`] form. The protocol crate never reads the
//! clock itself; everything that needs "now" gets it here, so tests can reason about it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lienthong_protocol::envelope::Timestamp;

/// Now, in milliseconds since the Unix epoch.
pub fn now() -> Timestamp {
    at(SystemTime::now())
}

/// `time` in milliseconds since the Unix epoch (0 before it).
pub fn at(time: SystemTime) -> Timestamp {
    let millis = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Timestamp::from_millis(millis)
}

/// `at` plus `duration`, saturating.
pub fn add(at: Timestamp, duration: Duration) -> Timestamp {
    let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    Timestamp::from_millis(at.as_millis().saturating_add(millis))
}
