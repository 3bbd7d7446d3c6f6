//! Archives and scheduled backups with real `lienthong` processes on loopback.
//!
//! - `lienthong archive --period <this quarter>` on the running Government Office writes
//!   every package it sent and received in the quarter; `archive verify` checks it with
//!   the root key alone, and names the file when a byte changed, a file is gone or a
//!   checkpoint was changed with the manifest made to match; an empty
//!   period gives an empty archive that verifies; a bad period and an existing directory
//!   are refused and change nothing; stopped, the node's store is opened by the command
//!   and the archive is the same.
//! - `[archive]` with a short `backup_interval` and two destinations, one unwritable: the
//!   good one gets backups (pruned to `backup_keep`) that restore, and the last quarter's
//!   archive, which verifies and is not written again after a restart; the bad one's
//!   failures are counted in `/metrics`; documents are delivered all along.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use lienthong_protocol::envelope::Timestamp;
use lienthong_tests::{
    Federation, ProcessNode, configure, lienthong, lienthong_bin, sample_document, wait_for,
};
use serde_json::Value;

const VPCP: &str = "000.00.00.G22";
const NGHE_AN: &str = "000.00.00.H41";
const DEADLINE: Duration = Duration::from_secs(90);

/// The sample document from `from` to `to`, numbered `n` so that each is its own package.
fn document(from: &str, to: &str, n: u32) -> Vec<u8> {
    String::from_utf8(sample_document(from, to))
        .expect("UTF-8")
        .replace("7816/VPCP", &format!("{}/VPCP", 7816 + n))
        .into_bytes()
}

/// The quarter we are in, as `lienthong archive --period` takes it.
fn this_quarter() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    let now = Timestamp::from_millis(u64::try_from(millis).expect("millis")).to_string();
    let month: u32 = now[5..7].parse().expect("month");
    format!("{}-Q{}", &now[..4], (month - 1) / 3 + 1)
}

/// The quarter before this one: the one the schedule archives.
fn last_quarter() -> String {
    let this = this_quarter();
    let year: u32 = this[..4].parse().expect("year");
    match &this[6..] {
        "1" => format!("{}-Q4", year - 1),
        q => format!("{year}-Q{}", q.parse::<u32>().expect("quarter") - 1),
    }
}

fn text(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp paths")
}

/// Runs `lienthong ARGS…`: whether it succeeded, and its standard output and error.
fn run(args: &[&str]) -> anyhow::Result<(bool, String, String)> {
    let output = Command::new(lienthong_bin()).args(args).output()?;
    Ok((
        output.status.success(),
        String::from_utf8(output.stdout)?,
        String::from_utf8(output.stderr)?,
    ))
}

/// `lienthong archive --period PERIOD --to DEST --json` on `dir`: the answer.
fn archive(dir: &Path, period: &str, dest: &Path) -> anyhow::Result<Value> {
    let out = lienthong(&[
        "archive",
        "--data-dir",
        text(dir),
        "--period",
        period,
        "--to",
        text(dest),
        "--json",
    ])?;
    Ok(serde_json::from_str(&out)?)
}

/// `lienthong archive verify DIR --root ROOT ARGS…`: success and standard output.
fn verify(dir: &Path, root: &Path, args: &[&str]) -> anyhow::Result<(bool, String)> {
    let mut all = vec!["archive", "verify", text(dir), "--root", text(root)];
    all.extend_from_slice(args);
    let (ok, out, err) = run(&all)?;
    Ok((ok, out + &err))
}

/// Every file under `dir` with its bytes, by path.
fn snapshot(dir: &Path) -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                pending.push(entry.path());
            } else {
                found.push((entry.path(), std::fs::read(entry.path())?));
            }
        }
    }
    found.sort();
    Ok(found)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    let status = Command::new("cp").arg("-a").arg(from).arg(to).status()?;
    if !status.success() {
        bail!("cp -a {} {} failed", from.display(), to.display());
    }
    Ok(())
}

/// The Government Office and Nghệ An, running, admitted.
fn pair(federation: &Federation) -> anyhow::Result<(PathBuf, PathBuf)> {
    let vpcp_dir = federation.init(VPCP, "Văn phòng Chính phủ")?;
    let nghe_an_dir = federation.init(NGHE_AN, "UBND tỉnh Nghệ An")?;
    Ok((vpcp_dir, nghe_an_dir))
}

#[test]
fn a_quarter_is_archived_and_verified_offline() -> anyhow::Result<()> {
    let federation = Federation::new("archive")?;
    let (vpcp_dir, nghe_an_dir) = pair(&federation)?;
    let mut vpcp = ProcessNode::start(&vpcp_dir)?;
    let nghe_an = ProcessNode::start(&nghe_an_dir)?;
    federation.admit(&vpcp_dir)?;
    federation.admit(&nghe_an_dir)?;
    federation.wait_roster(&[&vpcp, &nghe_an])?;

    let mut packages = BTreeSet::new();
    for n in 0..3 {
        let package = vpcp.submit(&document(VPCP, NGHE_AN, n))?;
        vpcp.wait_state(&package, NGHE_AN, "delivered", DEADLINE)?;
        packages.insert(package);
    }
    let incoming = nghe_an.submit(&document(NGHE_AN, VPCP, 10))?;
    nghe_an.wait_state(&incoming, VPCP, "delivered", DEADLINE)?;
    packages.insert(incoming);

    let out = federation.root().join("out");
    std::fs::create_dir(&out)?;
    let root = federation.dir().join("root.pub");
    let quarter = this_quarter();

    // The quarter's archive: every package sent and received, a bundle each.
    let first = out.join("first");
    let written = archive(&vpcp_dir, &quarter, &first)?;
    let manifest = &written["manifest"];
    assert_eq!(manifest["period"], quarter.as_str(), "{written}");
    assert_eq!(manifest["agency"], VPCP, "{written}");
    assert_eq!(manifest["counts"]["sent"], 3, "{written}");
    assert_eq!(manifest["counts"]["received"], 1, "{written}");
    assert_eq!(manifest["counts"]["bundles"], 4, "{written}");
    assert!(
        manifest["counts"]["checkpoints"].as_u64() >= Some(1),
        "{written}"
    );
    let keep_until = manifest["keep_until"]
        .as_str()
        .ok_or(anyhow!("keep_until"))?;
    assert!(
        keep_until > manifest["until"].as_str().unwrap_or_default(),
        "{written}"
    );
    for package in &packages {
        assert!(
            first
                .join("bundles")
                .join(format!("{package}.asice"))
                .is_file(),
            "no bundle for {package}"
        );
    }
    assert!(first.join("roster.bin").is_file());
    // Nothing is left of the staging directory beside it.
    let beside: Vec<String> = std::fs::read_dir(&out)?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<anyhow::Result<_>>()?;
    assert_eq!(beside, ["first"]);

    let (ok, said) = verify(&first, &root, &[])?;
    assert!(ok, "{said}");
    assert!(said.contains("THE ARCHIVE VERIFIES"), "{said}");
    assert!(
        !said.contains("checkpoints verified (signed by the agency's key in the roster): 0"),
        "{said}"
    );
    for package in &packages {
        assert!(
            said.contains(package.as_str()),
            "{package} not listed:\n{said}"
        );
    }

    // One changed byte in one bundle: that bundle is named.
    let damaged = out.join("damaged");
    copy_dir(&first, &damaged)?;
    let victim = packages.iter().next().ok_or(anyhow!("a package"))?;
    let bundle = damaged.join("bundles").join(format!("{victim}.asice"));
    let mut bytes = std::fs::read(&bundle)?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&bundle, &bytes)?;
    let (ok, said) = verify(&damaged, &root, &["--json"])?;
    assert!(!ok, "{said}");
    let found: Value = serde_json::from_str(&said)?;
    let failed: Vec<&str> = found["failures"]
        .as_array()
        .ok_or(anyhow!("failures: {found}"))?
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(failed, [format!("bundles/{victim}.asice")], "{said}");

    // A file removed: it is named.
    let missing = out.join("missing");
    copy_dir(&first, &missing)?;
    std::fs::remove_file(missing.join("roster.bin"))?;
    let (ok, said) = verify(&missing, &root, &[])?;
    assert!(!ok, "{said}");
    assert!(said.contains("FAILED roster.bin: missing"), "{said}");

    // A checkpoint note changed and the manifest made to match it: the signature fails.
    let forged = out.join("forged");
    copy_dir(&first, &forged)?;
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(forged.join("manifest.json"))?)?;
    let entry = manifest["files"]
        .as_array_mut()
        .ok_or(anyhow!("files"))?
        .iter_mut()
        .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(".note")))
        .ok_or(anyhow!("a checkpoint note in {written}"))?;
    let note_path = entry["path"].as_str().unwrap_or_default().to_owned();
    let note = std::fs::read_to_string(forged.join(&note_path))?;
    // The second line is the tree size: one more leaf than was signed.
    let mut lines: Vec<String> = note.lines().map(str::to_owned).collect();
    let size: u64 = lines[1].parse()?;
    lines[1] = (size + 1).to_string();
    let changed = lines.join("\n") + "\n";
    std::fs::write(forged.join(&note_path), &changed)?;
    entry["sha256"] =
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(changed.as_bytes())).into();
    entry["size"] = changed.len().into();
    std::fs::write(
        forged.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    let (ok, said) = verify(&forged, &root, &[])?;
    assert!(!ok, "{said}");
    assert!(
        said.contains(&format!("FAILED {note_path}: not signed by {VPCP}")),
        "{said}"
    );

    // A period with nothing: an empty archive, which verifies.
    let empty = out.join("empty");
    let written = archive(&vpcp_dir, "2001-Q1", &empty)?;
    assert_eq!(written["manifest"]["counts"]["bundles"], 0, "{written}");
    assert_eq!(written["manifest"]["counts"]["checkpoints"], 0, "{written}");
    let (ok, said) = verify(&empty, &root, &[])?;
    assert!(ok, "{said}");

    // A bad period: a clear error, nothing written.
    let bad = out.join("bad");
    let (ok, _, err) = run(&[
        "archive",
        "--data-dir",
        text(&vpcp_dir),
        "--period",
        "2026-Q5",
        "--to",
        text(&bad),
    ])?;
    assert!(!ok);
    assert!(
        err.contains("\"2026-Q5\"") && err.contains("2026-Q3"),
        "{err}"
    );
    assert!(!bad.exists());

    // An existing directory: refused, left as it was.
    let before = snapshot(&first)?;
    let (ok, _, err) = run(&[
        "archive",
        "--data-dir",
        text(&vpcp_dir),
        "--period",
        &quarter,
        "--to",
        text(&first),
    ])?;
    assert!(!ok);
    assert!(err.contains("exists already"), "{err}");
    assert_eq!(snapshot(&first)?, before);
    // Through the API too, where the CLI's own check is not in the way.
    let (status, body) = vpcp.post(
        "/api/v1/archive",
        serde_json::json!({"period": quarter, "path": text(&first)})
            .to_string()
            .as_bytes(),
    )?;
    assert_eq!(status, 409, "{}", String::from_utf8_lossy(&body));
    assert_eq!(snapshot(&first)?, before);

    // Stopped, the command opens the node's store itself: the same packages.
    vpcp.terminate()?;
    let stopped = out.join("stopped");
    let written = archive(&vpcp_dir, &quarter, &stopped)?;
    assert_eq!(written["manifest"]["counts"]["bundles"], 4, "{written}");
    let (ok, said) = verify(&stopped, &root, &[])?;
    assert!(ok, "{said}");
    for package in &packages {
        assert!(
            said.contains(package.as_str()),
            "{package} not listed:\n{said}"
        );
    }
    Ok(())
}

/// The value of the `/metrics` line that starts with `series`, if there is one.
fn metric(node: &ProcessNode, series: &str) -> Option<f64> {
    let (_, body) = node.get("/metrics").ok()?;
    String::from_utf8(body)
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

/// The scheduled backups in `dest`, by name.
fn backups(dest: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dest)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with("backup-"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn scheduled_backups_reach_the_good_destination_whatever_the_bad_one_does() -> anyhow::Result<()> {
    let federation = Federation::new("archive schedule")?;
    let (vpcp_dir, nghe_an_dir) = pair(&federation)?;
    let good = federation.root().join("good");
    let blocker = federation.root().join("a-file");
    std::fs::write(&blocker, b"not a directory")?;
    let bad = blocker.join("backups");
    configure(
        &vpcp_dir,
        "destinations",
        &format!("[{:?}, {:?}]", text(&good), text(&bad)),
    )?;
    configure(&vpcp_dir, "backup_keep", "2\nbackup_interval = \"1s\"")?;

    let mut vpcp = ProcessNode::start(&vpcp_dir)?;
    let nghe_an = ProcessNode::start(&nghe_an_dir)?;
    federation.admit(&vpcp_dir)?;
    federation.admit(&nghe_an_dir)?;
    federation.wait_roster(&[&vpcp, &nghe_an])?;

    let bad_failures = format!(
        "lienthong_backup_failures_total{{destination=\"{}\"}}",
        bad.display()
    );
    let good_success = format!(
        "lienthong_backup_last_success_timestamp_seconds{{destination=\"{}\"}}",
        good.display()
    );
    wait_for("two failures at the bad destination", DEADLINE, || {
        (metric(&vpcp, &bad_failures)? >= 2.0).then_some(())
    })?;
    wait_for("a backup at the good destination", DEADLINE, || {
        metric(&vpcp, &good_success).filter(|at| *at > 0.0)
    })?;
    let bad_archive = format!(
        "lienthong_archive_failures_total{{destination=\"{}\"}}",
        bad.display()
    );
    wait_for(
        "the archive failing at the bad destination",
        DEADLINE,
        || (metric(&vpcp, &bad_archive)? >= 1.0).then_some(()),
    )?;

    // Documents go out all the while.
    let package = vpcp.submit(&document(VPCP, NGHE_AN, 0))?;
    vpcp.wait_state(&package, NGHE_AN, "delivered", DEADLINE)?;

    // More backups than backup_keep were written; two are kept.
    let mut seen = BTreeSet::new();
    wait_for(
        "four backups written at the good destination",
        DEADLINE,
        || {
            seen.extend(backups(&good));
            (seen.len() >= 4).then_some(())
        },
    )?;
    wait_for("the good destination pruned to two", DEADLINE, || {
        (backups(&good).len() == 2).then_some(())
    })?;

    // The last quarter's archive, written once, verifies.
    let archived = good.join(format!("archive-{}", last_quarter()));
    wait_for("the last quarter's archive", DEADLINE, || {
        archived.join("manifest.json").is_file().then_some(())
    })?;
    let (ok, said) = verify(&archived, &federation.dir().join("root.pub"), &[])?;
    assert!(ok, "{said}");
    let manifest = std::fs::read(archived.join("manifest.json"))?;
    let log = vpcp.log_text();
    assert_eq!(
        log.matches("scheduled backup failed at this destination")
            .count(),
        1,
        "one WARN for the bad destination's backups:\n{log}"
    );

    // Stopped, a backup restores into a new data directory.
    vpcp.terminate()?;
    let newest = backups(&good)
        .into_iter()
        .next_back()
        .ok_or(anyhow!("a backup"))?;
    let restored = federation.root().join("restored");
    lienthong(&[
        "restore",
        "--from",
        text(&good.join(&newest)),
        "--data-dir",
        text(&restored),
    ])
    .context("restoring the newest scheduled backup")?;
    assert!(restored.join("config.toml").is_file());

    // Started again, the archive there is found complete and not written again.
    let vpcp = ProcessNode::start(&vpcp_dir)?;
    let archive_success = format!(
        "lienthong_archive_last_success_timestamp_seconds{{destination=\"{}\"}}",
        good.display()
    );
    wait_for(
        "the archive found complete after the restart",
        DEADLINE,
        || metric(&vpcp, &archive_success).filter(|at| *at > 0.0),
    )?;
    assert_eq!(std::fs::read(archived.join("manifest.json"))?, manifest);
    Ok(())
}
