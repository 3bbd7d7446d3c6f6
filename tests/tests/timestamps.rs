//! Trusted timestamps on checkpoints with real `lienthong` processes and a real RFC 3161
//! TSA (`openssl ts -reply` behind a loopback front, `lienthong_tests::tsa`): a node with
//! `[evidence] timestamp_url` gets a token over its checkpoint that verifies against the
//! TSA's certificate, keeps it across kill -9, and refuses it tampered with; with the TSA
//! down, documents still flow and the latest checkpoint is timestamped once it returns.

use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, anyhow};
use lienthong_protocol::tlog::timestamp::{
    TimestampError, TimestampInfo, TsaCertificate, verify_token,
};
use lienthong_tests::axis_bridge::document_from;
use lienthong_tests::tsa::TestTsa;
use lienthong_tests::{Federation, ProcessNode, configure, wait_for};
use serde_json::Value;

const SENDER: &str = "000.00.01.H53";
const RECIPIENT: &str = "000.00.02.H53";
const DEADLINE: Duration = Duration::from_secs(90);
/// The node's WARN when the TSA has failed for longer than `timestamp_warn_after`.
const WARNING: &str = "the timestamp authority has been failing";

/// Points the node in `dir` at `tsa`, retrying every 200 ms (doubling) while it fails.
fn use_tsa(dir: &Path, tsa: &TestTsa) -> anyhow::Result<()> {
    configure(dir, "timestamp_url", &format!("{:?}", tsa.url()))?;
    configure(
        dir,
        "tsa_cert_file",
        &format!("{:?}", tsa.cert_file().display().to_string()),
    )?;
    configure(dir, "timestamp_retry", "\"200ms\"")
}

/// Sender (timestamped by `tsa`) and recipient, running, in the roster.
fn federation(name: &str, tsa: &TestTsa) -> anyhow::Result<(Federation, ProcessNode, ProcessNode)> {
    let federation = Federation::new(name)?;
    let sender_dir = federation.init(SENDER, "Văn phòng UBND tỉnh")?;
    let recipient_dir = federation.init(RECIPIENT, "Sở Nội vụ")?;
    use_tsa(&sender_dir, tsa)?;
    let sender = ProcessNode::start(&sender_dir)?;
    let recipient = ProcessNode::start(&recipient_dir)?;
    federation.admit(&sender_dir)?;
    federation.admit(&recipient_dir)?;
    federation.wait_roster(&[&sender, &recipient])?;
    Ok((federation, sender, recipient))
}

/// Sends `count` real documents and waits until each is delivered with its receipt 01.
fn send_documents(sender: &ProcessNode, from: u32, count: u32) -> anyhow::Result<Vec<String>> {
    let mut packages = Vec::new();
    for n in from..from + count {
        packages.push(sender.submit(&document_from(SENDER, &[RECIPIENT], n))?);
    }
    for package in &packages {
        sender.wait_state(package, RECIPIENT, "delivered", DEADLINE)?;
    }
    Ok(packages)
}

/// The checkpoint the API shows at `size` (or the latest), once it has a timestamp.
fn timestamped(node: &ProcessNode, size: Option<u64>) -> Option<Value> {
    let path = match size {
        Some(size) => format!("/api/v1/evidence/checkpoint?size={size}"),
        None => "/api/v1/evidence/checkpoint".to_owned(),
    };
    let answer = node.get_json(&path).ok()?;
    answer["timestamp"].is_object().then_some(answer)
}

/// A checkpoint's timestamp as the node answers it, its token, the note it covers, the
/// TSA's certificate, and what the token says, verified against it.
struct Stamped {
    answer: Value,
    token: Vec<u8>,
    note: Vec<u8>,
    tsa_cert: TsaCertificate,
    info: TimestampInfo,
}

/// The timestamp on `node`'s checkpoint at `size`, once it comes, verified with `tsa`'s
/// certificate.
fn verified_timestamp(node: &ProcessNode, size: u64, tsa: &TestTsa) -> anyhow::Result<Stamped> {
    let answer = wait_for("a timestamp on the checkpoint", DEADLINE, || {
        timestamped(node, Some(size))
    })?;
    let (token, note) = token_and_note(&answer)?;
    let tsa_cert = TsaCertificate::from_pem(&tsa.cert_pem()?)?;
    let info = verify_token(&token, &note, &tsa_cert).context("the node's token verifies")?;
    Ok(Stamped {
        answer,
        token,
        note,
        tsa_cert,
        info,
    })
}

/// The token and note of a checkpoint answer.
fn token_and_note(answer: &Value) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let token = answer["timestamp"]["token"]
        .as_str()
        .ok_or_else(|| anyhow!("no token: {answer}"))?;
    let note = answer["note"]
        .as_str()
        .ok_or_else(|| anyhow!("no note: {answer}"))?;
    Ok((hex::decode(token)?, note.as_bytes().to_vec()))
}

/// A metric's value in the node's `/metrics`.
fn metric(node: &ProcessNode, name: &str) -> Option<f64> {
    let (_, body) = node.get("/metrics").ok()?;
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn checkpoint_is_timestamped_kept_across_kill_9_and_refused_when_tampered() -> anyhow::Result<()> {
    let tsa = TestTsa::start()?;
    let before = SystemTime::now();
    let (_federation, mut sender, _recipient) = federation("dấu thời gian", &tsa)?;
    send_documents(&sender, 0, 3)?;
    let size = sender.take_checkpoint()?;
    assert!(size >= 6, "3 submitted, 3 receipts 01 recorded");

    // (a) The checkpoint gets a token that verifies against the TSA's certificate.
    let Stamped {
        answer,
        token,
        note,
        tsa_cert,
        info,
    } = verified_timestamp(&sender, size, &tsa)?;
    let after = SystemTime::now();
    // genTime has whole seconds and the TSA's accuracy is one second.
    let slack = Duration::from_secs(2);
    assert!(
        info.gen_time + slack >= before && info.gen_time <= after + slack,
        "the TSA's time {:?} is when the checkpoint was taken",
        info.gen_time
    );
    assert_eq!(info.tsa, "CN=lienthong test TSA,O=lienthong tests");
    assert_eq!(answer["timestamp"]["tsa"], info.tsa.as_str());
    assert_eq!(answer["timestamp"]["serial"], info.serial.as_str());
    assert!(answer["timestamp"].get("problem").is_none(), "{answer}");
    assert!(metric(&sender, "lienthong_evidence_timestamps_total").unwrap_or(0.0) >= 1.0);

    // (c) Tampered with, checked against another CA's TSA, or over another note: refused,
    // saying why.
    let mut changed = token.clone();
    let last = changed.len() - 1;
    changed[last] ^= 0x01;
    assert_eq!(
        verify_token(&changed, &note, &tsa_cert),
        Err(TimestampError::BadSignature)
    );
    let other_tsa = TestTsa::start()?;
    let other_cert = TsaCertificate::from_pem(&other_tsa.cert_pem()?)?;
    assert_eq!(
        verify_token(&token, &note, &other_cert),
        Err(TimestampError::SignerMismatch)
    );
    let mut other_note = note.clone();
    other_note[0] ^= 0x01;
    assert_eq!(
        verify_token(&token, &other_note, &tsa_cert),
        Err(TimestampError::ImprintMismatch)
    );

    // (d) kill -9 right after the token is kept: it is still there after the restart.
    send_documents(&sender, 10, 1)?;
    let next = sender.take_checkpoint()?;
    assert!(next > size);
    let kept = wait_for("a timestamp on the next checkpoint", DEADLINE, || {
        timestamped(&sender, Some(next))
    })?;
    sender.kill9();
    let sender = ProcessNode::start(sender.dir())?;
    for (at, answer) in [(size, &answer), (next, &kept)] {
        let again = sender.get_json(&format!("/api/v1/evidence/checkpoint?size={at}"))?;
        assert_eq!(
            again["timestamp"]["token"], answer["timestamp"]["token"],
            "the token at size {at} survives kill -9"
        );
        let (token, note) = token_and_note(&again)?;
        verify_token(&token, &note, &tsa_cert)?;
    }
    Ok(())
}

#[test]
fn documents_flow_while_the_tsa_is_down_and_the_latest_checkpoint_is_timestamped_on_its_return()
-> anyhow::Result<()> {
    let mut tsa = TestTsa::start()?;
    tsa.stop();
    let federation = Federation::new("TSA ngừng")?;
    let sender_dir = federation.init(SENDER, "Văn phòng UBND tỉnh")?;
    let recipient_dir = federation.init(RECIPIENT, "Sở Nội vụ")?;
    use_tsa(&sender_dir, &tsa)?;
    // A short threshold, so that the operator's one WARN comes within the test.
    configure(&sender_dir, "timestamp_warn_after", "\"1s\"")?;
    let sender = ProcessNode::start(&sender_dir)?;
    let _recipient = ProcessNode::start(&recipient_dir)?;
    federation.admit(&sender_dir)?;
    federation.admit(&recipient_dir)?;
    federation.wait_roster(&[&sender, &_recipient])?;

    // The TSA is down: documents are delivered with their receipts all the same.
    let packages = send_documents(&sender, 0, 5)?;
    let size = sender.take_checkpoint()?;
    assert!(size >= 10, "5 submitted, 5 receipts 01 recorded");
    wait_for("failed requests to the TSA", DEADLINE, || {
        (metric(&sender, "lienthong_evidence_timestamp_failures_total")? >= 2.0).then_some(())
    })?;
    assert_eq!(tsa.served(), 0);
    let answer = sender.get_json(&format!("/api/v1/evidence/checkpoint?size={size}"))?;
    assert!(answer["timestamp"].is_null(), "no token yet: {answer}");
    assert!(metric(&sender, "lienthong_evidence_untimestamped_leaves").unwrap_or(0.0) >= 10.0);
    // Failing for longer than the threshold: one WARN for the operator.
    wait_for("the operator warned", DEADLINE, || {
        sender.log_text().contains(WARNING).then_some(())
    })?;

    // It comes back: the retry timer catches the latest checkpoint up, without a restart
    // nor a new checkpoint asked for.
    tsa.restart()?;
    let answer = wait_for("the latest checkpoint timestamped", DEADLINE, || {
        timestamped(&sender, None)
    })?;
    let covered = answer["size"]
        .as_u64()
        .ok_or_else(|| anyhow!("no size: {answer}"))?;
    assert!(
        covered >= size,
        "the token covers the checkpoint taken while down"
    );
    let (token, note) = token_and_note(&answer)?;
    let tsa_cert = TsaCertificate::from_pem(&tsa.cert_pem()?)?;
    verify_token(&token, &note, &tsa_cert)?;

    // Every document sent while the TSA was down is a leaf under the timestamped size.
    let leaves = sender.get_json(&format!("/api/v1/evidence/leaves?from=0&limit={covered}"))?;
    let submitted: Vec<(&str, u64)> = leaves["leaves"]
        .as_array()
        .ok_or_else(|| anyhow!("no leaves: {leaves}"))?
        .iter()
        .filter(|leaf| leaf["kind"] == "package_submitted")
        .filter_map(|leaf| Some((leaf["package"].as_str()?, leaf["index"].as_u64()?)))
        .collect();
    for package in &packages {
        let index = submitted
            .iter()
            .find(|(id, _)| id == package)
            .map(|(_, index)| *index)
            .ok_or_else(|| anyhow!("package {package} has no leaf under size {covered}"))?;
        assert!(index < covered);
    }
    wait_for("the backlog gauge at zero", DEADLINE, || {
        (metric(&sender, "lienthong_evidence_untimestamped_leaves")? == 0.0).then_some(())
    })?;
    let log = sender.log_text();
    assert_eq!(
        log.matches(WARNING).count(),
        1,
        "one WARN, not one per attempt"
    );
    assert!(log.contains("the timestamp authority answers again"));
    Ok(())
}

#[test]
fn a_tsa_that_writes_fractional_seconds_is_taken_to_the_microsecond() -> anyhow::Result<()> {
    // Many real authorities write genTime to the millisecond or finer; this one to the
    // microsecond (`clock_precision_digits = 6`).
    let tsa = TestTsa::start_with_clock_precision(6)?;
    let before = SystemTime::now();
    let (_federation, sender, _recipient) = federation("dấu thời gian lẻ giây", &tsa)?;
    send_documents(&sender, 0, 1)?;
    let size = sender.take_checkpoint()?;

    let info = verified_timestamp(&sender, size, &tsa)?.info;
    let since_epoch = info.gen_time.duration_since(SystemTime::UNIX_EPOCH)?;
    // A fraction of exactly .000000 (one chance in a million) is written without one.
    assert_ne!(
        since_epoch.subsec_nanos(),
        0,
        "genTime keeps the TSA's fraction of a second: {since_epoch:?}"
    );
    assert_eq!(
        since_epoch.subsec_nanos() % 1_000,
        0,
        "to the microsecond: {since_epoch:?}"
    );
    let slack = Duration::from_secs(2);
    assert!(
        info.gen_time + slack >= before && info.gen_time <= SystemTime::now() + slack,
        "the TSA's time {:?} is when the checkpoint was taken",
        info.gen_time
    );
    Ok(())
}
