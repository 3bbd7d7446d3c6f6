//! `lienthong`: the agency node daemon and its command line.
//!
//! Thin on purpose: parse the command line, set up logging, hand over to `cli`. A panic
//! anywhere is logged and aborts the process, so no half-alive daemon is left behind.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

mod cli;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(args.default_log_filter()));
    // Colours only on a terminal: log files and journald get plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "lienthong panicked; aborting");
        default_hook(info);
        std::process::abort();
    }));
    match cli::run(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
