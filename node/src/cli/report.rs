//! `lienthong report`: exchanges per counterpart over a period.

use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {}

pub(crate) fn run(_args: ReportArgs) -> anyhow::Result<()> {
    anyhow::bail!("lienthong report is not built yet")
}
