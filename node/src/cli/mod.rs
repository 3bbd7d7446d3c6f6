//! The command line: one file per subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod archive;
mod backup;
mod client;
mod demo;
mod doctor;
mod edxml;
mod evidence;
mod federation;
mod inbox;
mod init;
mod key;
mod peers;
mod progress;
mod report;
mod run;
mod send;
mod status;
mod stuck;

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
    /// Run a small live province on this machine: seven nodes, simulated QLVBs, dashboards.
    Demo(demo::DemoArgs),
    /// Create a node's data directory: config, agency key, API token.
    Init(init::InitArgs),
    /// Run the node daemon (with no arguments: a development node in ./lienthong-data).
    Run(run::RunArgs),
    /// Submit an edXML document or status message to the running node.
    Send(send::SendArgs),
    /// List received packages not yet acknowledged.
    Inbox(inbox::InboxArgs),
    /// Write a package's original edXML bytes.
    Fetch(inbox::FetchArgs),
    /// Acknowledge a received package.
    Ack(inbox::AckArgs),
    /// Show where a sent package stands, per recipient, with its receipts.
    Status(status::StatusArgs),
    /// List documents not confirmed by their deadline, or refused, with the reason.
    Stuck(stuck::StuckArgs),
    /// Show the federation's members and connections.
    Peers(peers::PeersArgs),
    /// The authorities' commands: create, delegate, admit, revoke, rotate, show.
    #[command(subcommand)]
    Federation(federation::FederationCommand),
    /// The agency key: prepare a rotation.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Work with edXML files offline.
    #[command(subcommand)]
    Edxml(edxml::EdxmlCommand),
    /// A package's evidence bundle: export it from the node, verify it offline.
    #[command(subcommand)]
    Evidence(evidence::EvidenceCommand),
    /// Exchanges per counterpart over a period: sent, received, confirmed in time, completed, stuck.
    Report(report::ReportArgs),
    /// Check this node's config, key, roster, store and the reachability of its relays.
    Doctor(doctor::DoctorArgs),
    /// Write a consistent copy of the node's data while it runs.
    Backup(backup::BackupArgs),
    /// Archive a period's evidence bundles and checkpoints (archive verify: check one).
    Archive(archive::ArchiveArgs),
    /// Restore a node's data directory from a backup (with the node stopped).
    Restore(backup::RestoreArgs),
}

impl Cli {
    /// The log filter when RUST_LOG is not set: the daemon logs its lifecycle, the other
    /// commands only problems.
    pub(crate) fn default_log_filter(&self) -> &'static str {
        match self.command {
            Command::Run(_) => lienthong_node::ops::log_filter::RUN,
            Command::Demo(_) => demo::LOG_FILTER,
            _ => "warn",
        }
    }
}

/// Runs a parsed command line; the exit code says whether everything it checked was fine.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ok = |()| ExitCode::SUCCESS;
    match cli.command {
        Command::Demo(args) => demo::run(args).map(ok),
        Command::Init(args) => init::run(args).map(ok),
        Command::Run(args) => run::run(args).map(ok),
        Command::Send(args) => send::run(args).map(ok),
        Command::Inbox(args) => inbox::inbox(args).map(ok),
        Command::Fetch(args) => inbox::fetch(args).map(ok),
        Command::Ack(args) => inbox::ack(args).map(ok),
        Command::Status(args) => status::run(args).map(ok),
        Command::Stuck(args) => stuck::run(args).map(ok),
        Command::Peers(args) => peers::run(args).map(ok),
        Command::Federation(command) => federation::run(command).map(ok),
        Command::Key(command) => key::run(command).map(ok),
        Command::Edxml(command) => edxml::run(command),
        Command::Evidence(command) => evidence::run(command),
        Command::Report(args) => report::run(args).map(ok),
        Command::Doctor(args) => doctor::run(args),
        Command::Backup(args) => backup::backup(args).map(ok),
        Command::Archive(args) => archive::run(args),
        Command::Restore(args) => backup::restore(args).map(ok),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::Cli;

    #[test]
    fn the_daemon_logs_with_the_run_filter_and_other_commands_only_problems() {
        let run = Cli::parse_from(["lienthong", "run"]);
        assert_eq!(
            run.default_log_filter(),
            lienthong_node::ops::log_filter::RUN
        );
        let status = Cli::parse_from(["lienthong", "inbox", "--data-dir", "x"]);
        assert_eq!(status.default_log_filter(), "warn");
    }
}
