//! Whether the daemon runs and its API answers.

use lienthong_node::data_dir::DataDir;
use lienthong_node::roster::federation::{DaemonInfo, read_json};

use super::Check;
use crate::cli::client::{ApiClient, Running};

/// The daemon's check, and the running daemon for the checks that ask it.
pub(super) fn check(data: &DataDir) -> (Check, Option<Running>) {
    match ApiClient::running(data.root()) {
        Ok(Some(running)) => (verdict(&running), Some(running)),
        Ok(None) => (not_running(data), None),
        Err(error) => (
            Check::fail(
                "daemon",
                format!("{error:#}"),
                "the CLI reads the API token in the data directory: run doctor as the node's user (sudo -u lienthong)",
            ),
            None,
        ),
    }
}

fn verdict(running: &Running) -> Check {
    let version = running.health["version"].as_str().unwrap_or("?");
    let message = format!(
        "running (pid {}, lienthong {version}), API at {} answers",
        running.daemon.pid,
        running.client.base()
    );
    if version != env!("CARGO_PKG_VERSION") {
        return Check::warning(
            "daemon",
            format!(
                "{message}; this command is lienthong {}",
                env!("CARGO_PKG_VERSION")
            ),
            "after replacing the binary, restart the node (systemctl restart lienthong) so it runs the new one",
        );
    }
    Check::ok("daemon", message)
}

fn not_running(data: &DataDir) -> Check {
    match read_json::<DaemonInfo>(&data.daemon()) {
        Ok(stale) => Check::fail(
            "daemon",
            format!(
                "daemon.json names pid {} with its API at {}, but the API does not answer",
                stale.pid, stale.api_addr
            ),
            "the node stopped without cleaning up, or hangs: read `journalctl -u lienthong`, then `systemctl restart lienthong`",
        ),
        Err(_) => Check::fail(
            "daemon",
            "the node is not running",
            "start it: systemctl start lienthong (or lienthong run --data-dir DIR)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::*;

    #[test]
    fn a_stopped_node_and_a_stale_daemon_json_fail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = DataDir::new(dir.path());
        let (check, running) = check(&data);
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(check.message.contains("not running"), "{check:?}");
        assert!(running.is_none());

        // A daemon killed with kill -9 leaves its daemon.json behind.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        std::fs::write(
            data.daemon(),
            serde_json::json!({
                "organ_id": "000.00.01.H53",
                "peer_id": "12D3KooW",
                "listen_addrs": [],
                "api_addr": addr.to_string(),
                "pid": 4242,
            })
            .to_string(),
        )
        .expect("daemon.json");
        lienthong_node::data_dir::create_secret(&data.api_token(), b"token\n").expect("token");
        let (check, running) = super::check(&data);
        assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
        assert!(check.message.contains("does not answer"), "{check:?}");
        assert!(running.is_none());
    }
}
