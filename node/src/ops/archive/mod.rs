//! Archives of a period (Law on Archives 2024: digital records keep their integrity and
//! authenticity for as long as they are kept), and the scheduled copies Circular
//! 02/2019/TT-BNV asks for: two independent ones.
//!
//! An archive is a directory, never overwritten once written:
//!
//! ```text
//! ARCHIVE/manifest.json                 period, agency, counts, keep_until, and the
//!                                       SHA-256 and size of every other file
//! ARCHIVE/bundles/<package-id>.asice    each package sent (by submission time) or
//!                                       received (by arrival time) in the period: its
//!                                       evidence bundle, as `lienthong evidence export`
//! ARCHIVE/checkpoints/<size>.note       every checkpoint over the period's facts and
//!                                       the first covering its last one, as signed;
//!                 <size>.cosignatures   the witnesses' cosignature lines, when any;
//!                 <size>.tsr            the RFC 3161 token over the note, when held
//! ARCHIVE/roster.bin                    the roster in force when it was written
//! ```
//!
//! - `period.rs`: `2026-Q3`, `2026-09`, `2026`.
//! - `manifest.rs`: the manifest and checking files against it.
//! - `write.rs`: writing one from the running node (`POST /api/v1/archive`).
//! - `stopped.rs`: writing one from a stopped node's store, by the CLI.
//! - `verify.rs`: checking one offline (`lienthong archive verify`).
//! - `schedule.rs`: `[archive]`'s scheduled backups and quarterly archives.

pub mod manifest;
mod period;
pub(crate) mod schedule;
mod stopped;
pub mod verify;
mod write;

pub use period::{Period, PeriodError};
pub use stopped::write_stopped;
pub use write::{ArchiveError, Written, write, write_from};

/// The bundles' directory in an archive.
pub const BUNDLES: &str = "bundles";
/// The checkpoints' directory in an archive.
pub const CHECKPOINTS: &str = "checkpoints";
/// The roster's file in an archive.
pub const ROSTER: &str = "roster.bin";
