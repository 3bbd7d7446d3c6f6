//! The command line: one file per subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod edxml;
mod federation;
mod init;

/// lienthong: each agency's own node for exchanging official electronic documents (edXML,
/// QCVN 102:2016) directly with other agencies, with signed status receipts.
#[derive(Debug, Parser)]
#[command(name = "lienthong", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a node's data directory: config, agency key, API token.
    Init(init::InitArgs),
    /// The federation authority's commands: create a federation, admit nodes, show the roster.
    #[command(subcommand)]
    Federation(federation::FederationCommand),
    /// Work with edXML files offline.
    #[command(subcommand)]
    Edxml(edxml::EdxmlCommand),
}

/// Runs a parsed command line; the exit code says whether everything it checked was fine.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init(args) => init::run(args).map(|()| ExitCode::SUCCESS),
        Command::Federation(command) => federation::run(command).map(|()| ExitCode::SUCCESS),
        Command::Edxml(command) => edxml::run(command),
    }
}
