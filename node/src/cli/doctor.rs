//! `lienthong doctor`: checks an operator runs before calling for help.

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {}

pub(crate) fn run(_args: DoctorArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("lienthong doctor is not built yet")
}
