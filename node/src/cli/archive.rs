//! `lienthong archive --period P --to DIR` and `lienthong archive verify DIR`.
//!
//! A running daemon holds its store's lock, so `archive` asks it to write the archive
//! (`POST /api/v1/archive`), and only opens the store itself when the node is stopped.
//! `verify` needs no node: the manifest's hashes, then every bundle back to the
//! federation's root key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use lienthong_node::data_dir::DataDir;
use lienthong_node::ops::archive::verify::{self, Verification};
use lienthong_node::ops::archive::{self, Period, Written};
use lienthong_node::roster::federation::read_public_key;
use lienthong_protocol::evidence::bundle::VerifyOptions;

use super::client::{ApiClient, NodeDir};

/// `lienthong archive …`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct ArchiveArgs {
    #[command(subcommand)]
    command: Option<ArchiveCommand>,
    #[command(flatten)]
    node: NodeDir,
    /// The period: a quarter (2026-Q3), a month (2026-09) or a year (2026), in UTC.
    #[arg(long, required = true)]
    period: Option<String>,
    /// The archive directory to create. It must not exist: an archive never overwrites.
    #[arg(long, required = true)]
    to: Option<PathBuf>,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum ArchiveCommand {
    /// Check an archive offline: every file against its manifest, every bundle to the root key.
    Verify {
        /// The archive directory.
        dir: PathBuf,
        /// The federation's root public key (`root.pub`).
        #[arg(long)]
        root: PathBuf,
        /// The timestamp authority's certificate (PEM), for the bundles' RFC 3161 tokens.
        #[arg(long)]
        tsa_cert: Option<PathBuf>,
        /// Print what was found as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(args: ArchiveArgs) -> anyhow::Result<ExitCode> {
    if let Some(ArchiveCommand::Verify {
        dir,
        root,
        tsa_cert,
        json,
    }) = args.command
    {
        return check(&dir, &root, tsa_cert.as_deref(), json);
    }
    let (Some(period), Some(to)) = (args.period, args.to) else {
        bail!("lienthong archive needs --period and --to");
    };
    let period: Period = period.parse()?;
    // The daemon writes the archive from its own working directory.
    let dest = std::path::absolute(&to).with_context(|| format!("resolving {}", to.display()))?;
    if std::fs::symlink_metadata(&dest).is_ok() {
        bail!(
            "{} exists already; an archive never overwrites anything: give a new path",
            dest.display()
        );
    }
    let dir = &args.node.data_dir;
    let body = serde_json::json!({ "period": period.to_string(), "path": dest.to_string_lossy() });
    let Some(written): Option<Written> =
        ApiClient::write_through_daemon(dir, "/api/v1/archive", &body, args.json, || {
            Ok(archive::write_stopped(&DataDir::new(dir), period, &dest)?)
        })?
    else {
        return Ok(ExitCode::SUCCESS);
    };
    if args.json {
        println!("{}", serde_json::to_string(&written)?);
        return Ok(ExitCode::SUCCESS);
    }
    let manifest = &written.manifest;
    println!(
        "archive of {} written to {}",
        manifest.period,
        written.path.display()
    );
    println!(
        "  packages     {} sent (by submission time), {} received (by arrival time)",
        manifest.counts.sent, manifest.counts.received
    );
    println!("  bundles      {}", manifest.counts.bundles);
    for skipped in &manifest.not_bundled {
        println!("    no bundle for {}: {}", skipped.package, skipped.reason);
    }
    println!("  checkpoints  {}", manifest.counts.checkpoints);
    println!("  files        {} and manifest.json", manifest.files.len());
    println!("  keep until   {}", manifest.keep_until);
    println!(
        "check it with: lienthong archive verify {} --root root.pub",
        written.path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn check(dir: &Path, root: &Path, tsa_cert: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let mut options = VerifyOptions::new(read_public_key(root)?);
    if let Some(path) = tsa_cert {
        options.tsa_certificate =
            Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
    }
    let found = verify::verify(dir, &options);
    if json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        print!("{}", render(dir, &found));
    }
    Ok(if found.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn render(dir: &Path, found: &Verification) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if let Some(problem) = &found.manifest_problem {
        let _ = writeln!(
            out,
            "THE ARCHIVE DOES NOT VERIFY: {}\n  {problem}",
            dir.display()
        );
        return out;
    }
    if found.ok {
        let _ = writeln!(
            out,
            "THE ARCHIVE VERIFIES: {}: every file matches its manifest, and every evidence bundle, the roster and every checkpoint check back to the federation's root key.",
            dir.display()
        );
    } else {
        let _ = writeln!(out, "THE ARCHIVE DOES NOT VERIFY: {}", dir.display());
        for failure in &found.failures {
            let _ = writeln!(out, "  FAILED {}: {}", failure.path, failure.problem);
        }
    }
    if let Some(manifest) = &found.manifest {
        let _ = writeln!(
            out,
            "period {} of {}, written {} by lienthong {}; keep until {}",
            manifest.period,
            manifest.agency,
            manifest.created_at,
            manifest.lienthong_version,
            manifest.keep_until
        );
    }
    let _ = writeln!(
        out,
        "checkpoints verified (signed by the agency's key in the roster): {}",
        found.checkpoints
    );
    let _ = writeln!(out, "packages verified: {}", found.packages.len());
    for package in &found.packages {
        let _ = writeln!(out, "  {package}");
    }
    out
}
