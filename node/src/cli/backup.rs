//! `lienthong backup` and `lienthong restore`.
//!
//! A running daemon holds its store's lock, so `backup` asks it to write the backup
//! (`POST /api/v1/backup`) and only opens the store itself when the node is stopped.
//! `restore` needs the node stopped.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use lienthong_node::data_dir::DataDir;
use lienthong_node::ops::backup::{self, NodeBackup};
use lienthong_node::store::SCHEMA_VERSION;

use super::client::{ApiClient, NodeDir};

/// `lienthong backup …`
#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    #[command(flatten)]
    node: NodeDir,
    /// The backup directory to create. It must not exist: a backup never overwrites.
    #[arg(long)]
    to: PathBuf,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
}

/// `lienthong restore …`
#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// The backup directory (written by `lienthong backup`).
    #[arg(long)]
    from: PathBuf,
    #[command(flatten)]
    node: NodeDir,
    /// Print what was restored as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn backup(args: BackupArgs) -> anyhow::Result<()> {
    // The daemon writes the backup from its own working directory.
    let dest = std::path::absolute(&args.to)
        .with_context(|| format!("resolving {}", args.to.display()))?;
    let dir = &args.node.data_dir;
    let body = serde_json::json!({ "path": dest.to_string_lossy() });
    let Some(written): Option<NodeBackup> =
        ApiClient::write_through_daemon(dir, "/api/v1/backup", &body, args.json, || {
            Ok(backup::backup(&DataDir::new(dir), None, &dest)?)
        })?
    else {
        return Ok(());
    };
    if args.json {
        println!("{}", serde_json::to_string(&written)?);
        return Ok(());
    }
    let store = &written.store;
    println!("backup written to {}", written.path.display());
    println!(
        "  store    schema {}, {} packages sent, {} receipts, {} entries, {}",
        store.schema_version,
        store.counts.outgoing,
        store.counts.receipts,
        store.entries,
        bytesize::ByteSize::b(store.bytes).display().iec()
    );
    println!("  files    {}", written.files.join(", "));
    println!(
        "  writers paused {} ms; taken at {}",
        store.writers_paused_ms, store.created_at
    );
    println!("it holds the agency key: keep it where only the node's operators can read it");
    Ok(())
}

pub(crate) fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let dir = &args.node.data_dir;
    if let Some(running) = ApiClient::running(dir)? {
        bail!(
            "the node of {} is running (pid {}): stop it first (systemctl stop lienthong, or Ctrl-C), then restore",
            dir.display(),
            running.daemon.pid
        );
    }
    let restored = backup::restore(&args.from, &DataDir::new(dir))
        .with_context(|| format!("restoring {} from {}", dir.display(), args.from.display()))?;
    if args.json {
        println!("{}", serde_json::to_string(&restored)?);
        return Ok(());
    }
    let store = &restored.store;
    println!(
        "restored {} from {} (taken at {} by lienthong {})",
        dir.display(),
        restored.from.display(),
        store.created_at,
        store.lienthong_version
    );
    println!(
        "  store    schema {}, {} packages sent, {} receipts, {} entries",
        store.schema_version, store.counts.outgoing, store.counts.receipts, store.entries
    );
    println!("  files    {}", restored.files.join(", "));
    if store.schema_version < SCHEMA_VERSION {
        println!(
            "  the store will be migrated from schema {} to {SCHEMA_VERSION} when the node starts",
            store.schema_version
        );
    }
    match &restored.kept {
        Some(kept) => println!(
            "the data it replaced is kept in {}; delete it once the node runs well",
            kept.display()
        ),
        None => println!("the data directory held no store or files to keep"),
    }
    println!(
        "start the node: systemctl start lienthong (or lienthong run --data-dir {})",
        dir.display()
    );
    Ok(())
}
