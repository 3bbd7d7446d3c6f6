//! What operators use beside the document flow.
//!
//! - [`archive`]: a period's archive, and scheduled backups and archives.
//! - [`backup`]: backing up and restoring a whole node, store and files.
//! - [`report`]: exchanges per counterpart over a period (CSV, HTML).
//! - [`metrics`]: counters for `/metrics`.
//! - [`descriptors`]: the open-file limit, raised at start, and its budget of connections.
//! - [`store_recovery`]: when a store failure's cause passes, the daemon starts again.
//! - [`log_filter`]: what `lienthong run` logs by default.
//! - `throttle.rs`: one log line per period for a condition a flood repeats.

pub mod archive;
pub mod backup;
pub mod descriptors;
pub mod log_filter;
pub mod metrics;
pub mod report;
pub mod store_recovery;
pub(crate) mod throttle;
