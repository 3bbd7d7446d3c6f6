//! The store's schema version against this binary's.

use lienthong_node::data_dir::DataDir;
use lienthong_node::store::{self, SCHEMA_VERSION, StoreInfo};

use super::Check;
use crate::cli::client::Running;

/// Asks the running daemon, or reads the stopped node's store without migrating it.
pub(super) fn check(data: &DataDir, running: Option<&Running>) -> Check {
    if let Some(running) = running {
        if let Some(store) = running.health.get("store").filter(|s| s.is_object()) {
            return unwritable(store);
        }
        return match running.health["schema_version"].as_u64() {
            Some(found) => schema_verdict(u32::try_from(found).ok(), "the running daemon's store"),
            None => Check::warning(
                "store",
                "the running daemon does not report its store's schema (an older lienthong)",
                "restart the node after an upgrade, so the installed binary runs",
            ),
        };
    }
    match store::inspect(&data.store()) {
        Ok(None) => Check::warning(
            "store",
            format!("{} holds no store yet", data.store().display()),
            "the node creates it when it first starts; if it had one, restore a backup",
        ),
        Ok(Some(info)) => {
            let mut check = schema_verdict(info.schema_version, "the store");
            check.message = format!("{}; {}", check.message, contents(&info));
            check
        }
        Err(error) => Check::fail(
            "store",
            format!("{:#}", anyhow::Error::from(error)),
            "if another process holds it, stop it; if the store is damaged, restore a backup (lienthong restore)",
        ),
    }
}

/// The running node's store takes no writes: why, and what the operator does.
fn unwritable(store: &serde_json::Value) -> Check {
    let text = |key: &str| store[key].as_str().unwrap_or("?").to_owned();
    let fix = match store["problem"].as_str() {
        Some("no_space") => format!(
            "free space on the disk of the data directory: the node reopens its store by itself once {} MiB are free, and refuses submissions (507) until then",
            lienthong_node::ops::store_recovery::ROOM_TO_REOPEN >> 20
        ),
        Some("too_many_open_files") => "the node reopens its store by itself once file descriptors are free; raise LimitNOFILE in the service unit if it recurs".to_owned(),
        _ => "read `journalctl -u lienthong`: the node stops for the service manager to restart it; check the disk (dmesg, smartctl)".to_owned(),
    };
    Check::fail(
        "store",
        format!(
            "the running node's store takes no writes since {} ({}): {}",
            text("since"),
            text("op"),
            text("cause")
        ),
        fix,
    )
}

/// The verdict on a schema version `found` in `what`.
fn schema_verdict(found: Option<u32>, what: &str) -> Check {
    match found {
        Some(found) if found == SCHEMA_VERSION => Check::ok(
            "store",
            format!("{what} has schema {found}, as this lienthong writes"),
        ),
        Some(found) if found < SCHEMA_VERSION => Check::warning(
            "store",
            format!(
                "{what} has schema {found}; this lienthong migrates it to {SCHEMA_VERSION} when the node starts"
            ),
            "take a backup before starting the new binary (lienthong backup --to DIR), to roll back with",
        ),
        Some(found) => Check::fail(
            "store",
            format!(
                "{what} has schema {found}, newer than {SCHEMA_VERSION}, the newest this lienthong {} reads",
                env!("CARGO_PKG_VERSION")
            ),
            "run the newer lienthong that wrote it, or restore a backup taken before the upgrade",
        ),
        None => Check::warning(
            "store",
            format!("{what} has no schema version: it was never opened by a node"),
            "start the node once, or restore a backup",
        ),
    }
}

fn contents(info: &StoreInfo) -> String {
    let size = bytesize::ByteSize::b(info.size_on_disk).display().iec();
    match &info.counts {
        Some(c) => format!(
            "{} packages sent, {} pending deliveries, {} unacknowledged in the inbox, {} receipts, {size}",
            c.outgoing, c.pending_outbox, c.inbox_unacked, c.receipts
        ),
        None => size.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::*;

    #[test]
    fn schema_verdicts() {
        assert_eq!(
            schema_verdict(Some(SCHEMA_VERSION), "s").verdict,
            Verdict::Ok
        );
        let older = schema_verdict(Some(SCHEMA_VERSION - 1), "s");
        assert_eq!(older.verdict, Verdict::Warning);
        assert!(older.message.contains("migrates"), "{older:?}");
        let newer = schema_verdict(Some(SCHEMA_VERSION + 1), "s");
        assert_eq!(newer.verdict, Verdict::Fail);
        assert!(newer.fix.expect("fix").contains("restore a backup"));
    }

    #[test]
    fn a_stopped_node_s_store_is_read_without_migrating() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = DataDir::new(dir.path());
        assert_eq!(check(&data, None).verdict, Verdict::Warning, "no store yet");
        drop(lienthong_node::store::Store::open(&data.store()).expect("store"));
        let check = check(&data, None);
        assert_eq!(check.verdict, Verdict::Ok, "{check:?}");
        assert!(check.message.contains("0 packages sent"), "{check:?}");
    }
}
