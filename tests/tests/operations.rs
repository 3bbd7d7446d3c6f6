//! Operating a node with real processes: an online backup under traffic restored after a
//! crash, `lienthong doctor` on a node with a relay, and the systemd unit.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use lienthong_tests::{
    Federation, ProcessNode, configure, lienthong, lienthong_bin, samples_dir, wait_for,
};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(90);
const A: &str = "000.00.01.H53";
const B: &str = "000.00.02.H53";
const RELAY: &str = "000.00.20.H53";

/// A real sample document from `from` to `to`; `n` makes it a distinct document.
fn document(from: &str, to: &str, n: u32) -> Vec<u8> {
    let text = std::fs::read_to_string(samples_dir().join("edoc_new.edxml")).expect("sample");
    text.replace("000.00.00.A80", from)
        .replace("28.22.H17", to)
        .replace(
            "7816/VPCP-TTĐT</edXML:DocumentId>",
            &format!("7816/VPCP-TTĐT-{n}</edXML:DocumentId>"),
        )
        .into_bytes()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp paths")
}

/// Initialises, configures for quick retries, starts and admits a node.
fn start(federation: &Federation, organ: &str, name: &str) -> anyhow::Result<ProcessNode> {
    let dir = federation.init(organ, name)?;
    configure(&dir, "retry_max", "\"2s\"")?;
    let node = ProcessNode::start(&dir)?;
    federation.admit(&dir)?;
    Ok(node)
}

/// Packages a sender got acknowledged (202) by its node, in order, and the submissions
/// that failed.
#[derive(Default)]
struct Sent(Mutex<Vec<String>>, Mutex<Vec<String>>);

impl Sent {
    fn len(&self) -> usize {
        self.0.lock().expect("sent").len()
    }

    fn snapshot(&self) -> Vec<String> {
        self.0.lock().expect("sent").clone()
    }

    fn failures(&self) -> Vec<String> {
        self.1.lock().expect("failures").clone()
    }
}

/// Submits documents from `node` to `to` until `stop`, numbering from `first`.
fn keep_sending(
    node: &ProcessNode,
    from: &str,
    to: &str,
    first: u32,
    sent: &Sent,
    stop: &AtomicBool,
) {
    let mut n = first;
    while !stop.load(Ordering::Acquire) {
        match node.submit(&document(from, to, n)) {
            Ok(id) => sent.0.lock().expect("sent").push(id),
            Err(error) => sent.1.lock().expect("failures").push(format!("{error:#}")),
        }
        n += 1;
    }
}

#[test]
fn an_online_backup_under_traffic_restores_every_acknowledged_package_with_its_receipts()
-> anyhow::Result<()> {
    let federation = Federation::new("Sao lưu trực tuyến")?;
    let mut a = start(&federation, A, "Văn phòng UBND tỉnh")?;
    let b = start(&federation, B, "Sở Nội vụ")?;
    federation.wait_roster(&[&a, &b])?;

    // Exchanges finished before the backup: delivered both ways, receipts 01 recorded.
    let mut delivered = Vec::new();
    let mut received = Vec::new();
    for n in 0..5 {
        let out = a.submit(&document(A, B, n))?;
        let back = b.submit(&document(B, A, 1000 + n))?;
        assert_eq!(a.wait_state(&out, B, "delivered", DEADLINE)?, ["01"]);
        b.wait_state(&back, A, "delivered", DEADLINE)?;
        delivered.push(out);
        received.push(back);
    }

    // Traffic both ways while the backup is taken.
    let backup_dir = federation.dir().with_file_name("backups").join("a-1");
    let (from_a, from_b, stop) = (Sent::default(), Sent::default(), AtomicBool::new(false));
    let (acked_before, backup) = std::thread::scope(|s| -> anyhow::Result<_> {
        s.spawn(|| keep_sending(&a, A, B, 100, &from_a, &stop));
        s.spawn(|| keep_sending(&b, B, A, 2000, &from_b, &stop));
        let traffic = wait_for("traffic both ways", DEADLINE, || {
            (from_a.len() >= 3 && from_b.len() >= 3).then_some(())
        });
        let acked_before = from_a.snapshot();
        let backup = traffic.and_then(|()| {
            lienthong(&[
                "backup",
                "--data-dir",
                path(a.dir()),
                "--to",
                path(&backup_dir),
                "--json",
            ])
        });
        let after = from_a.len();
        let more = wait_for("traffic after the backup", DEADLINE, || {
            (from_a.len() >= after + 3).then_some(())
        });
        stop.store(true, Ordering::Release);
        more?;
        Ok((acked_before, backup?))
    })?;
    // Writers waited for the copy; none was refused.
    assert_eq!(from_a.failures(), Vec::<String>::new());
    assert_eq!(from_b.failures(), Vec::<String>::new());
    let backup: Value = serde_json::from_str(&backup)?;
    assert!(
        backup["store"]["writers_paused_ms"].is_u64(),
        "the manifest says how long writers waited: {backup}"
    );
    let files: Vec<&str> = backup["files"]
        .as_array()
        .context("files")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for file in ["config.toml", "agency.key", "api.token", "root.pub"] {
        assert!(files.contains(&file), "{file} is in the backup: {files:?}");
    }

    // A restore refuses while the node runs.
    let err = lienthong(&[
        "restore",
        "--from",
        path(&backup_dir),
        "--data-dir",
        path(a.dir()),
    ])
    .expect_err("the node runs");
    assert!(err.to_string().contains("is running"), "{err}");

    // The crash: the node and its store are gone.
    a.kill9();
    std::fs::remove_dir_all(a.dir().join("store"))?;
    let restored: Value = serde_json::from_str(&lienthong(&[
        "restore",
        "--from",
        path(&backup_dir),
        "--data-dir",
        path(a.dir()),
        "--json",
    ])?)?;
    assert_eq!(
        restored["store"], backup["store"],
        "restored what was backed up"
    );
    let a = ProcessNode::start(a.dir())?;

    // Every package acknowledged before the backup is there; those delivered before it
    // with their receipt 01, and the rest are delivered now.
    for package in &delivered {
        let (state, codes) = a.recipient_state(package, B)?;
        assert_eq!(
            (state.as_str(), codes),
            ("delivered", vec!["01".to_owned()])
        );
    }
    for package in &acked_before {
        a.wait_state(package, B, "delivered", DEADLINE)?;
    }
    let inbox: HashSet<String> = a
        .inbox()?
        .iter()
        .filter_map(|e| e["package_id"].as_str().map(str::to_owned))
        .collect();
    for package in &received {
        assert!(
            inbox.contains(package),
            "{package} received before the backup is in the inbox"
        );
    }

    // And the node goes on exchanging, both ways.
    let out = a.submit(&document(A, B, 9000))?;
    assert_eq!(a.wait_state(&out, B, "delivered", DEADLINE)?, ["01"]);
    let back = b.submit(&document(B, A, 9001))?;
    b.wait_state(&back, A, "delivered", DEADLINE)?;
    Ok(())
}

/// Runs `lienthong doctor --json` on `dir`: whether it exited 0, and its report.
fn doctor(dir: &Path) -> anyhow::Result<(bool, Value)> {
    let output = Command::new(lienthong_bin())
        .args(["doctor", "--data-dir", path(dir), "--json"])
        .output()?;
    let report: Value = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "doctor printed no JSON:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    Ok((output.status.success(), report))
}

/// The check named `name` in a doctor report.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["check"] == name))
        .unwrap_or_else(|| panic!("no check {name} in {report:#}"))
}

#[test]
fn doctor_passes_a_healthy_node_and_fails_when_its_relay_is_gone() -> anyhow::Result<()> {
    let federation = Federation::new("Kiểm tra trạm")?;
    let relay_dir = federation.init_on(
        RELAY,
        "Trạm chuyển tiếp tỉnh",
        &["/ip4/127.0.0.1/tcp/0"],
        "127.0.0.1:0",
        "relay",
    )?;
    let mut relay = ProcessNode::start(&relay_dir)?;
    // Admitted while running, so the roster has the relay's bound address.
    federation.admit(&relay_dir)?;
    let member_dir = federation.init(A, "Sở Tài chính")?;
    let member = ProcessNode::start(&member_dir)?;
    federation.admit_with_relays(&member_dir, &[RELAY])?;
    federation.wait_roster(&[&relay, &member])?;
    wait_for("the member's reservation at its relay", DEADLINE, || {
        let peers = member.get_json("/api/v1/peers").ok()?;
        peers
            .as_array()?
            .iter()
            .any(|p| p["organ_id"] == RELAY && p["reservation"] == true)
            .then_some(())
    })?;

    let (passed, report) = doctor(&member_dir)?;
    assert!(passed, "a healthy node passes: {report:#}");
    assert_eq!(report["ok"], true);
    let relay_check = check(&report, &format!("relay {RELAY}"));
    assert_eq!(relay_check["verdict"], "ok", "{relay_check}");
    assert!(
        relay_check["message"]
            .as_str()
            .is_some_and(|m| m.contains("reservation held")),
        "{relay_check}"
    );
    for name in ["agency key", "roster", "store", "daemon"] {
        assert_eq!(check(&report, name)["verdict"], "ok", "{report:#}");
    }

    relay.terminate()?;
    let (passed, report) = doctor(&member_dir)?;
    assert!(!passed, "an unreachable relay fails the doctor: {report:#}");
    let relay_check = check(&report, &format!("relay {RELAY}"));
    assert_eq!(relay_check["verdict"], "fail", "{relay_check}");
    assert!(
        relay_check["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("unreachable")),
        "{relay_check}"
    );
    assert!(
        relay_check["fix"].is_string(),
        "says what to do: {relay_check}"
    );
    Ok(())
}

fn unit_file() -> String {
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/lienthong.service");
    std::fs::read_to_string(&unit).expect("deploy/lienthong.service")
}

/// The values of `key` in the unit's `[Service]` section.
fn service_values(unit: &str, key: &str) -> Vec<String> {
    let mut in_service = false;
    let mut values = Vec::new();
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            in_service = line == "[Service]";
        } else if in_service && let Some(value) = line.strip_prefix(&format!("{key}=")) {
            values.push(value.to_owned());
        }
    }
    values
}

#[test]
fn the_systemd_unit_runs_the_node_as_its_own_user_confined_to_its_data() {
    let unit = unit_file();
    let one = |key: &str| {
        let values = service_values(&unit, key);
        assert_eq!(values.len(), 1, "{key} once in [Service]: {values:?}");
        values[0].clone()
    };
    assert_eq!(one("User"), "lienthong");
    assert!(
        one("ExecStart").ends_with("lienthong run --data-dir /var/lib/lienthong"),
        "{unit}"
    );
    assert_eq!(one("Restart"), "on-failure");
    assert_eq!(one("NoNewPrivileges"), "yes");
    assert_eq!(one("ProtectSystem"), "strict");
    assert_eq!(one("PrivateTmp"), "yes");
    assert!(
        one("ReadWritePaths")
            .split_whitespace()
            .any(|p| p == "/var/lib/lienthong")
    );
    assert!(one("LimitNOFILE").parse::<u64>().expect("a number") >= 4096);
    assert!(unit.contains("WantedBy=multi-user.target"));
}

#[test]
fn systemd_accepts_the_unit() -> anyhow::Result<()> {
    // `systemd-analyze verify` checks every key and that the binary exists: point it at
    // the one just built.
    let dir = tempfile_dir()?;
    let unit = unit_file().replace("/usr/bin/lienthong", path(&lienthong_bin()));
    let file = dir.join("lienthong.service");
    std::fs::write(&file, unit)?;
    let output = Command::new("systemd-analyze")
        .args(["verify", path(&file)])
        .output()
        .context("systemd-analyze is missing: install it (apt-get install systemd)")?;
    if !output.status.success() || !output.stderr.is_empty() {
        bail!(
            "systemd-analyze verify refused the unit:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A fresh directory for the unit copy.
fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("lienthong-unit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
