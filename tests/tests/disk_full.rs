//! A node whose disk fills to the last byte, on a tmpfs the test mounts itself: it refuses
//! submissions with the cause, says so on `/health`, and once space is freed accepts again
//! by itself, with nothing it acknowledged lost. Mounting needs root, as CI has; without it
//! the test fails and says so.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use lienthong_tests::{Federation, ProcessNode, configure, lienthong_bin, samples_dir, wait_for};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);
const SENDER: &str = "000.00.01.H53";
const RECIPIENT: &str = "000.00.02.H53";

/// A real sample document from the sender to the recipient, without its 360 KB attachment
/// (and the manifest's reference to it), so that it is kept in the store's log like most
/// documents rather than in a package file of its own; `n` makes it a distinct one.
fn document(n: u32) -> Vec<u8> {
    let text = std::fs::read_to_string(samples_dir().join("edoc_new.edxml")).expect("sample");
    let cut = |text: &str, from: &str, to: &str| {
        let start = text.find(from).expect("opening tag");
        let end = text[start..].find(to).expect("closing tag") + start + to.len();
        format!("{}{}", &text[..start], &text[end..])
    };
    let text = cut(&text, "<AttachmentEncoded>", "</AttachmentEncoded>");
    let text = cut(&text, "<edXML:Reference>", "</edXML:Reference>");
    text.replace("000.00.00.A80", SENDER)
        .replace("28.22.H17", RECIPIENT)
        .replace(
            "7816/VPCP-TTĐT</edXML:DocumentId>",
            &format!("7816/VPCP-TTĐT-{n}</edXML:DocumentId>"),
        )
        .into_bytes()
}

/// A small tmpfs mounted by the test, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).expect("mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
            .arg("lienthong-test-disk")
            .arg(dir)
            .output()
            .expect("running mount");
        assert!(
            out.status.success(),
            "mounting a tmpfs for the full-disk test needs root (CI runs as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs {
            dir: dir.to_owned(),
        }
    }

    /// Fills the file system to the last byte with one file, which is returned.
    fn fill(&self) -> PathBuf {
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        for chunk in [1 << 20, 4096, 1] {
            let bytes = vec![0xa5u8; chunk];
            // A 64 MiB disk holds at most 64 Ki chunks of 1 KiB; every loop is bounded.
            for _ in 0..(1 << 17) {
                if file.write_all(&bytes).and_then(|()| file.flush()).is_err() {
                    break;
                }
            }
        }
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// A free loopback port for the sender's API, so that it keeps its address when it
/// starts itself again.
fn free_api_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").to_string()
}

/// Submits `n`; the package id when the node acknowledged it (202), or the refusal.
fn submit(node: &ProcessNode, n: u32) -> Result<String, (u16, Value)> {
    let (status, body) = node
        .post("/api/v1/packages", &document(n))
        .map_err(|e| (0, Value::String(e.to_string())))?;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match (status, body["package_id"].as_str()) {
        (202, Some(id)) => Ok(id.to_owned()),
        _ => Err((status, body)),
    }
}

#[test]
fn a_full_disk_stops_writes_with_the_cause_and_they_resume_by_themselves_once_it_has_room()
-> anyhow::Result<()> {
    let federation = Federation::new("Ổ đĩa đầy")?;
    let recipient = federation.start_node(RECIPIENT, "Sở Nội vụ")?;
    // The sender's store is on a 64 MiB disk of its own (its log stays readable elsewhere).
    let api = free_api_address();
    let dir = federation.init_on(
        SENDER,
        "Sở Tài chính",
        &["/ip4/127.0.0.1/tcp/0"],
        &api,
        "agency",
    )?;
    configure(&dir, "retry_max", "\"2s\"")?;
    let disk = Tmpfs::mount(&dir.join("store"), "64m");
    let sender = ProcessNode::start(&dir)?;
    federation.admit(&dir)?;
    federation.wait_roster(&[&sender, &recipient])?;

    let mut acknowledged = Vec::new();
    for n in 0..3 {
        acknowledged.push(submit(&sender, n).map_err(|e| anyhow::anyhow!("{e:?}"))?);
    }

    // The disk fills to the last byte. Submissions go on until the store's next write
    // fails; from then on each is refused with the cause, and the node says so.
    let filler = disk.fill();
    let mut n = 100;
    let (status, refusal) = wait_for(
        "the store to refuse writes on the full disk",
        DEADLINE,
        || {
            n += 1;
            match submit(&sender, n) {
                Ok(id) => {
                    acknowledged.push(id);
                    None
                }
                Err(refused) => Some(refused),
            }
        },
    )?;
    assert_eq!(
        status, 507,
        "a full disk is Insufficient Storage: {refusal}"
    );
    let message = refusal["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.to_lowercase().contains("no space left"),
        "the refusal names the cause: {refusal}"
    );
    let (code, health) = sender.get("/health")?;
    let health: Value = serde_json::from_slice(&health)?;
    assert_eq!(code, 503, "{health}");
    assert_eq!(health["status"], "store_unwritable", "{health}");
    assert_eq!(health["store"]["problem"], "no_space", "{health}");
    // The dashboard, the metrics and `lienthong doctor` say it too.
    let dashboard = sender.get_json("/api/v1/dashboard")?;
    assert!(
        dashboard["store"]["cause"]
            .as_str()
            .is_some_and(|c| c.contains("No space left")),
        "{}",
        dashboard["store"]
    );
    let (_, metrics) = sender.get("/metrics")?;
    assert!(
        String::from_utf8_lossy(&metrics).contains("lienthong_store_writable 0"),
        "the gauge says the store takes no writes"
    );
    // Doctor exits non-zero when a check fails, as it must here.
    let doctor = Command::new(lienthong_bin())
        .args(["doctor", "--json", "--data-dir"])
        .arg(&dir)
        .output()?;
    assert!(!doctor.status.success());
    let report: Value = serde_json::from_slice(&doctor.stdout)?;
    let store_check = report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["check"] == "store"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(store_check["verdict"], "fail", "{report}");
    assert!(
        store_check["message"]
            .as_str()
            .is_some_and(|m| m.contains("takes no writes") && m.contains("No space left")),
        "{store_check}"
    );

    // Nothing is accepted while the disk is full, however often QLVB retries, and each
    // refusal still names the cause.
    for retry in 0..3 {
        let (status, refusal) = submit(&sender, 200 + retry).expect_err("refused");
        assert_eq!(status, 507, "{refusal}");
        assert!(
            refusal["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("no space left")),
            "{refusal}"
        );
    }

    // Space is freed: the node reopens its store by itself and accepts again.
    std::fs::remove_file(&filler)?;
    let after = wait_for(
        "a submission accepted once the disk has room",
        DEADLINE,
        || submit(&sender, 300).ok(),
    )?;
    acknowledged.push(after);
    assert!(
        sender.log_text().contains("restarting to reopen the store"),
        "the node restarted itself, no one else did"
    );
    let (code, health) = sender.get("/health")?;
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&health));

    // Nothing acknowledged was lost, and each arrived once.
    for id in &acknowledged {
        sender.wait_state(id, RECIPIENT, "delivered", DEADLINE)?;
    }
    let inbox = recipient.inbox()?;
    for id in &acknowledged {
        let copies = inbox
            .iter()
            .filter(|e| e["package_id"] == id.as_str())
            .count();
        assert_eq!(copies, 1, "{id} arrived {copies} times");
    }
    drop(sender);
    drop(disk);
    Ok(())
}
