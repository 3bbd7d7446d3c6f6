//! Checks of the data directory's files: `config.toml`, the agency key, the API token, and
//! the disk they are on.

use std::fs;
use std::net::IpAddr;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;

use bytesize::ByteSize;
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;
use lienthong_node::config::Config;
use lienthong_node::data_dir::DataDir;
use lienthong_node::identity::Identity;
use lienthong_protocol::keys::PublicKey;

use super::Check;

/// Below this much free space the node is about to stop acknowledging anything.
const CRITICAL_FREE: u64 = 1 << 30;
/// Below this share of the disk free, it is time to plan.
const LOW_FREE_PERCENT: u64 = 10;

/// `config.toml` loads and validates (with the node's own loading), and its values suit a
/// production node. Returns the config for the other checks.
pub(super) fn config(data: &DataDir) -> (Check, Option<Config>) {
    let config = match Config::load(&data.config()) {
        Ok(config) => config,
        Err(error) => {
            return (
                Check::fail(
                    "config",
                    format!("{:#}", anyhow::Error::from(error)),
                    "correct config.toml where the message says; every key is listed in docs/config.md",
                ),
                None,
            );
        }
    };
    let check = if !config.api.listen.ip().is_loopback() {
        Check::warning(
            "config",
            format!(
                "[api] listen = \"{}\" opens the API beyond this server",
                config.api.listen
            ),
            "listen on 127.0.0.1 and let QLVB on other servers reach the API through the agency's reverse proxy",
        )
    } else if config.network.listen.iter().all(|a| loopback_only(a)) {
        Check::warning(
            "config",
            format!(
                "[network] listen = {:?} is on loopback only: other agencies' nodes cannot reach this one",
                config.network.listen
            ),
            "listen on the server's address, e.g. \"/ip4/0.0.0.0/tcp/7100\", then restart the node",
        )
    } else {
        Check::ok(
            "config",
            format!(
                "{} \"{}\", role {:?}",
                config.organ_id, config.name, config.role
            ),
        )
    };
    (check, Some(config))
}

/// Whether a listen multiaddr is on a loopback address.
fn loopback_only(address: &str) -> bool {
    address
        .parse::<Multiaddr>()
        .ok()
        .and_then(|a| {
            a.iter().find_map(|p| match p {
                Protocol::Ip4(ip) => Some(IpAddr::V4(ip).is_loopback()),
                Protocol::Ip6(ip) => Some(IpAddr::V6(ip).is_loopback()),
                _ => None,
            })
        })
        .unwrap_or(false)
}

/// The agency key: present, owner-only, and a key. Returns its public key.
pub(super) fn agency_key(data: &DataDir) -> (Check, Option<PublicKey>) {
    let path = data.agency_key();
    if let Some(problem) = secret_problem(&path, data.root(), "agency key") {
        return (problem, None);
    }
    match Identity::load(&path) {
        Ok(identity) => (
            Check::ok(
                "agency key",
                format!(
                    "{}: mode 600, key {}",
                    path.display(),
                    identity.public_key()
                ),
            ),
            Some(identity.public_key()),
        ),
        Err(error) => (
            Check::fail(
                "agency key",
                format!("{:#}", anyhow::Error::from(error)),
                "restore agency.key from a backup (lienthong restore): the roster admits this node by that key",
            ),
            None,
        ),
    }
}

/// The API token: present and owner-only.
pub(super) fn api_token(data: &DataDir) -> Check {
    let path = data.api_token();
    secret_problem(&path, data.root(), "API token")
        .unwrap_or_else(|| Check::ok("API token", format!("{}: mode 600", path.display())))
}

/// The axis-compatible API: its secret owner-only, and what a QLVB on the axis SDK puts in
/// its `collaboration.properties` to use this node.
pub(super) fn axis(data: &DataDir, config: &Config) -> Check {
    const CHECK: &str = "axis SDK";
    let axis = &config.api.axis;
    if !axis.enabled {
        return Check::ok(
            CHECK,
            "the axis-compatible API is turned off ([api.axis] enabled = false)",
        );
    }
    let path = &axis.secret_file;
    if let Some(mut problem) = secret_problem(path, data.root(), CHECK) {
        problem.verdict = super::Verdict::Warning;
        problem.message = format!(
            "{}; QLVB on the axis SDK is refused until it is mended (the bearer token still works)",
            problem.message
        );
        return problem;
    }
    if axis.timestamp_skew.is_some() {
        return Check::warning(
            CHECK,
            "[api.axis] timestamp_skew is no longer used: the SDK signs every call of a service object with the timestamp it was created with",
            "remove the timestamp_skew line from config.toml",
        );
    }
    Check::ok(
        CHECK,
        format!(
            "QLVB's collaboration.properties: service.endpoint = http://{}, systemid = {}, secret = the text of {}",
            config.api.listen,
            axis.system_id_or(&config.organ_id),
            path.display()
        ),
    )
}

/// What is wrong with a secret file: missing, readable by others, or owned by another user
/// than the data directory (the node's user).
fn secret_problem(path: &Path, root: &Path, check: &str) -> Option<Check> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(error) => {
            return Some(Check::fail(
                check,
                format!("cannot read {}: {error}", path.display()),
                "restore it from a backup (lienthong restore --from BACKUP --data-dir DIR)",
            ));
        }
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Some(Check::fail(
            check,
            format!(
                "{} is readable by other users (mode {mode:o}); the node refuses to use it",
                path.display()
            ),
            format!("chmod 600 {}", path.display()),
        ));
    }
    let owner = fs::metadata(root).map(|m| m.uid()).ok();
    if owner.is_some_and(|owner| owner != meta.uid()) {
        return Some(Check::fail(
            check,
            format!(
                "{} belongs to uid {}, the data directory to uid {}: the node's user cannot read it",
                path.display(),
                meta.uid(),
                owner.unwrap_or_default()
            ),
            format!("chown --reference={} {}", root.display(), path.display()),
        ));
    }
    None
}

/// Free space on the data directory's file system.
pub(super) fn disk(root: &Path) -> Check {
    match nix::sys::statvfs::statvfs(root) {
        Ok(stats) => {
            let block = stats.fragment_size();
            disk_verdict(
                stats.blocks_available().saturating_mul(block),
                stats.blocks().saturating_mul(block),
            )
        }
        Err(error) => Check::warning(
            "disk",
            format!("cannot tell the free space of {}: {error}", root.display()),
            "check it with `df -h`",
        ),
    }
}

/// The disk check's verdict for `free` bytes available of `total`.
fn disk_verdict(free: u64, total: u64) -> Check {
    let shown = format!(
        "{} free of {}",
        ByteSize::b(free).display().iec(),
        ByteSize::b(total).display().iec()
    );
    if free < CRITICAL_FREE {
        Check::fail(
            "disk",
            format!("{shown}: on a full disk the node accepts nothing more"),
            "free space or grow the volume now; a backup needs as much room again as the store",
        )
    } else if free.saturating_mul(100) < total.saturating_mul(LOW_FREE_PERCENT) {
        Check::warning(
            "disk",
            format!("{shown}, under {LOW_FREE_PERCENT}%"),
            "plan more space: the store grows with every document kept",
        )
    } else {
        Check::ok("disk", shown)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::*;

    fn data_dir() -> (tempfile::TempDir, DataDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = DataDir::new(dir.path().join("node"));
        lienthong_node::init::init(
            data.root(),
            &lienthong_node::init::InitOptions {
                organ_id: "000.00.01.H53".parse().expect("id"),
                name: "Sở Nội vụ".to_owned(),
                listen: vec!["/ip4/0.0.0.0/tcp/7100".to_owned()],
                api: None,
                role: lienthong_protocol::roster::Role::Agency,
                mdns: false,
            },
        )
        .expect("init");
        (dir, data)
    }

    #[test]
    fn a_fresh_node_s_files_are_ok() {
        let (_dir, data) = data_dir();
        let (check, loaded) = config(&data);
        assert_eq!(check.verdict, Verdict::Ok, "{check:?}");
        assert!(loaded.is_some());
        let (check, key) = agency_key(&data);
        assert_eq!(check.verdict, Verdict::Ok, "{check:?}");
        assert!(key.is_some());
        assert_eq!(api_token(&data).verdict, Verdict::Ok);
    }

    #[test]
    fn a_key_file_others_can_read_fails_with_the_chmod_to_run() {
        let (_dir, data) = data_dir();
        fs::set_permissions(data.agency_key(), fs::Permissions::from_mode(0o644)).expect("chmod");
        let (check, key) = agency_key(&data);
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(check.message.contains("mode 644"), "{check:?}");
        assert!(check.fix.expect("fix").starts_with("chmod 600"));
        assert!(key.is_none());

        fs::set_permissions(data.api_token(), fs::Permissions::from_mode(0o640)).expect("chmod");
        assert_eq!(api_token(&data).verdict, Verdict::Fail);
    }

    #[test]
    fn a_missing_or_garbled_key_fails() {
        let (_dir, data) = data_dir();
        fs::write(data.agency_key(), b"not a key\n").expect("garble");
        let (check, _) = agency_key(&data);
        assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
        fs::remove_file(data.agency_key()).expect("remove");
        let (check, _) = agency_key(&data);
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(check.message.contains("cannot read"), "{check:?}");
    }

    #[test]
    fn a_broken_or_doubtful_config_is_reported_with_the_place() {
        let (_dir, data) = data_dir();
        let text = fs::read_to_string(data.config()).expect("config");
        fs::write(
            data.config(),
            text.replace("concurrency = 64", "concurrency = 0"),
        )
        .expect("write");
        let (check, loaded) = config(&data);
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(check.message.contains("delivery.concurrency"), "{check:?}");
        assert!(loaded.is_none());

        fs::write(
            data.config(),
            text.replace("listen = \"127.0.0.1:7180\"", "listen = \"0.0.0.0:7180\""),
        )
        .expect("write");
        let (check, _) = config(&data);
        assert_eq!(check.verdict, Verdict::Warning, "{check:?}");
        assert!(check.message.contains("beyond this server"), "{check:?}");
    }

    #[test]
    fn disk_space_verdicts() {
        let gib = 1 << 30;
        assert_eq!(disk_verdict(gib / 2, 100 * gib).verdict, Verdict::Fail);
        assert_eq!(disk_verdict(5 * gib, 100 * gib).verdict, Verdict::Warning);
        assert_eq!(disk_verdict(50 * gib, 100 * gib).verdict, Verdict::Ok);
        assert_eq!(disk(Path::new("/")).check, "disk");
    }
}
