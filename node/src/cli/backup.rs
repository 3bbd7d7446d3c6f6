//! `lienthong backup` and `lienthong restore`.

use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {}

pub(crate) fn backup(_args: BackupArgs) -> anyhow::Result<()> {
    anyhow::bail!("lienthong backup is not built yet")
}

pub(crate) fn restore(_args: RestoreArgs) -> anyhow::Result<()> {
    anyhow::bail!("lienthong restore is not built yet")
}
