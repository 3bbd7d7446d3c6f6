//! `lienthong`: the agency node daemon and its command line.
//!
//! Thin on purpose: parse the command line, set up logging, hand over to `cli`.

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
