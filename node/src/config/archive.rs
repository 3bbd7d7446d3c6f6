//! `[archive]`: how long the node's archives must be kept, and where its scheduled backups
//! and quarterly archives go: the independent copies Circular 02/2019/TT-BNV asks for
//! (`docs/operations.md`, "Archives").

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[archive]`; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveConfig {
    /// How long an archive must be kept after the end of its period: written into each
    /// archive's manifest as `keep_until`. The node never deletes an archive.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// Directories the scheduled backups and quarterly archives are written to, each
    /// independently of the others: two on different disks or hosts are the two copies
    /// the circular asks for. Empty: nothing is scheduled.
    pub destinations: Vec<PathBuf>,
    /// How often a backup is written to each destination; absent: no scheduled backups.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub backup_interval: Option<Duration>,
    /// How many scheduled backups to keep in each destination; older ones are removed,
    /// never the newest complete one.
    pub backup_keep: usize,
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        ArchiveConfig {
            // Documents of most administrative records are kept ten years or more; the
            // operator sets what the agency's retention schedule says. Ten of humantime's
            // years (365.25 days), so that it reads back as "10years".
            retention: Duration::from_secs(10 * 31_557_600),
            destinations: Vec::new(),
            backup_interval: None,
            backup_keep: 7,
        }
    }
}

impl ArchiveConfig {
    /// The section as `lienthong init` writes it, every key with its comment.
    pub(super) fn documented(&self) -> String {
        let destinations: Vec<String> = self
            .destinations
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        // Absent means none, and a commented-out key would not read back: the key is
        // written only when set, and described with backup_keep.
        let interval = match self.backup_interval {
            Some(every) => format!(
                "backup_interval = \"{}\"\n",
                humantime::format_duration(every)
            ),
            None => String::new(),
        };
        format!(
            r#"
[archive]
# How long an archive (lienthong archive --period 2026-Q3) must be kept after its period
# ends: written into its manifest as keep_until. The node never deletes an archive.
retention = "{retention}"
# Directories for scheduled backups and quarterly archives, each written independently:
# two on different disks or hosts are the two independent copies (Circular 02/2019/TT-BNV),
# e.g. ["/var/backups/lienthong", "/mnt/nas/lienthong"]. Empty: nothing is scheduled.
destinations = {destinations:?}
# How many scheduled backups to keep in each destination (never the newest complete one).
# They are written every backup_interval, e.g. backup_interval = "24h" on its own line;
# without that key, no backups are scheduled (quarterly archives still are).
backup_keep = {keep}
{interval}"#,
            retention = humantime::format_duration(self.retention),
            keep = self.backup_keep,
        )
    }

    /// Checks the keys: destinations are absolute, the interval and the count above zero.
    pub(super) fn check(&self) -> Result<(), String> {
        if let Some(relative) = self.destinations.iter().find(|d| !d.is_absolute()) {
            return Err(format!(
                "archive.destinations: {} is not an absolute path",
                relative.display()
            ));
        }
        if self.backup_interval.is_some_and(|every| every.is_zero()) {
            return Err("archive.backup_interval must be above zero".to_owned());
        }
        if self.backup_keep == 0 {
            return Err("archive.backup_keep must be at least 1".to_owned());
        }
        Ok(())
    }
}
