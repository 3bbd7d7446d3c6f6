//! The evidence log across kill -9: real `lienthong` processes, documents flowing, the
//! recipient and then the sender killed mid-traffic and restarted. Every fact either node
//! holds afterwards has its leaf, and the checkpoints signed after the crash are
//! consistent with those signed before it (the log never forks).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use lienthong_protocol::tlog::{self, Checkpoint, Hash, Note};
use lienthong_tests::axis_bridge::document_from;
use lienthong_tests::{Federation, ProcessNode, wait_for};
use serde_json::Value;

const SENDER: &str = "000.00.01.H53";
const RECIPIENT: &str = "000.00.02.H53";
const DELIVERY: Duration = Duration::from_secs(90);

/// A checkpoint as a node hands it out, read from its signed note.
#[derive(Debug, Clone)]
struct Signed {
    size: u64,
    root: Hash,
}

fn checkpoint_of(answer: &Value) -> anyhow::Result<Signed> {
    let note = answer["note"].as_str().ok_or_else(|| anyhow!("no note"))?;
    let note = Note::parse(note.as_bytes())?;
    let checkpoint = Checkpoint::parse(note.text())?;
    if note.signatures().len() != 1 || note.signatures()[0].name() != checkpoint.origin {
        bail!("a checkpoint is signed once, under its origin: {answer}");
    }
    if answer["size"].as_u64() != Some(checkpoint.size)
        || answer["root"].as_str() != Some(&hex::encode(checkpoint.root))
    {
        bail!("the answer's size and root are the note's: {answer}");
    }
    Ok(Signed {
        size: checkpoint.size,
        root: checkpoint.root,
    })
}

/// Signs a checkpoint now.
fn take_checkpoint(node: &ProcessNode) -> anyhow::Result<Signed> {
    let (status, body) = node.post("/api/v1/evidence/checkpoint", b"")?;
    if status != 200 {
        bail!("checkpoint: {status} {}", String::from_utf8_lossy(&body));
    }
    checkpoint_of(&serde_json::from_slice(&body)?)
}

fn hash(text: &Value) -> anyhow::Result<Hash> {
    let mut hash = [0; 32];
    hex::decode_to_slice(text.as_str().ok_or_else(|| anyhow!("not hex"))?, &mut hash)?;
    Ok(hash)
}

/// Checks, with the proof the node gives, that `new` extends `old`.
fn assert_consistent(node: &ProcessNode, old: &Signed, new: &Signed) -> anyhow::Result<()> {
    let proof = node.get_json(&format!(
        "/api/v1/evidence/proof?from={}&to={}",
        old.size, new.size
    ))?;
    let hashes = proof["proof"]
        .as_array()
        .ok_or_else(|| anyhow!("no proof: {proof}"))?
        .iter()
        .map(hash)
        .collect::<anyhow::Result<Vec<_>>>()?;
    tlog::verify_consistency(old.size, new.size, &old.root, &new.root, &hashes)
        .with_context(|| format!("{} to {}: the log forked", old.size, new.size))?;
    Ok(())
}

/// Every leaf of the node's log, through the API, page by page; with the log's size.
fn all_leaves(node: &ProcessNode) -> anyhow::Result<Vec<Value>> {
    let mut leaves = Vec::new();
    loop {
        let page = node.get_json(&format!("/api/v1/evidence/leaves?from={}", leaves.len()))?;
        let got = page["leaves"].as_array().cloned().unwrap_or_default();
        if got.is_empty() {
            if page["size"].as_u64() != Some(leaves.len() as u64) {
                bail!("the log's size is not its number of leaves: {page}");
            }
            return Ok(leaves);
        }
        for leaf in got {
            if leaf["index"].as_u64() != Some(leaves.len() as u64) {
                bail!("leaves have no gaps: {leaf}");
            }
            leaves.push(leaf);
        }
    }
}

/// The packages named by the leaves of each kind.
fn packages_by_kind(leaves: &[Value]) -> HashMap<String, Vec<String>> {
    let mut by_kind: HashMap<String, Vec<String>> = HashMap::new();
    for leaf in leaves {
        let kind = leaf["kind"].as_str().unwrap_or_default().to_owned();
        let package = leaf["package"].as_str().unwrap_or_default().to_owned();
        by_kind.entry(kind).or_default().push(package);
    }
    by_kind
}

fn as_set(items: Option<&Vec<String>>) -> HashSet<String> {
    items.into_iter().flatten().cloned().collect()
}

/// Submits documents to `api` until stopped or refused (the node killed); returns the
/// package ids the node accepted (202).
fn submitter(
    api: String,
    token: String,
    accepted: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        for n in 1000.. {
            if stop.load(Ordering::Acquire) {
                return;
            }
            let document = document_from(SENDER, &[RECIPIENT], n);
            let Ok(mut response) = agent
                .post(format!("http://{api}/api/v1/packages"))
                .header("Authorization", format!("Bearer {token}"))
                .header("Content-Type", "application/xml")
                .send(&document[..])
            else {
                return;
            };
            if response.status().as_u16() != 202 {
                return;
            }
            let Ok(body) = response.body_mut().read_to_vec() else {
                return;
            };
            let Ok(answer) = serde_json::from_slice::<Value>(&body) else {
                return;
            };
            if let Some(id) = answer["package_id"].as_str() {
                accepted.lock().expect("lock").push(id.to_owned());
            }
        }
    })
}

#[test]
fn kill_9_during_traffic_loses_no_leaf_and_never_forks_the_log() -> anyhow::Result<()> {
    let federation = Federation::new("chứng cứ kill -9")?;
    let sender_dir = federation.init(SENDER, "Văn phòng UBND tỉnh")?;
    let recipient_dir = federation.init(RECIPIENT, "Sở Nội vụ")?;
    let mut sender = ProcessNode::start(&sender_dir)?;
    let mut recipient = ProcessNode::start(&recipient_dir)?;
    federation.admit(&sender_dir)?;
    federation.admit(&recipient_dir)?;
    federation.wait_roster(&[&sender, &recipient])?;

    // Some traffic, then a checkpoint on each side.
    let mut submitted = Vec::new();
    for n in 0..5 {
        submitted.push(sender.submit(&document_from(SENDER, &[RECIPIENT], n))?);
    }
    for package in &submitted {
        sender.wait_state(package, RECIPIENT, "delivered", DELIVERY)?;
    }
    let sender_before = take_checkpoint(&sender)?;
    let recipient_before = take_checkpoint(&recipient)?;
    assert!(
        sender_before.size >= 10,
        "5 submitted, 5 receipts 01 recorded"
    );
    assert!(
        recipient_before.size >= 10,
        "5 received, 5 receipts 01 signed"
    );
    // Asking again without new facts gives the same checkpoint.
    let again = take_checkpoint(&sender)?;
    assert_eq!(
        (again.size, again.root),
        (sender_before.size, sender_before.root)
    );

    // Traffic that does not stop for the kills.
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let token = std::fs::read_to_string(sender_dir.join("api.token"))?
        .trim()
        .to_owned();
    let traffic = submitter(
        sender.info().api_addr.clone(),
        token,
        accepted.clone(),
        stop.clone(),
    );
    let accepted_count = || accepted.lock().expect("lock").len();
    wait_for("traffic to flow", DELIVERY, || {
        (accepted_count() >= 8).then_some(())
    })?;
    // The recipient dies while the sender pushes packages to it.
    recipient.kill9();
    let seen = accepted_count();
    wait_for("more submissions", DELIVERY, || {
        (accepted_count() >= seen + 8).then_some(())
    })?;
    // The sender dies in the middle of taking submissions.
    sender.kill9();
    stop.store(true, Ordering::Release);
    traffic
        .join()
        .map_err(|_| anyhow!("the submitter panicked"))?;
    submitted.extend(accepted.lock().expect("lock").iter().cloned());

    let sender = ProcessNode::start(&sender_dir)?;
    let recipient = ProcessNode::start(&recipient_dir)?;
    // Both listen on new ports now: the roster learns them.
    federation.admit(&sender_dir)?;
    federation.admit(&recipient_dir)?;
    federation.wait_roster(&[&sender, &recipient])?;
    // Everything the sender acknowledged reaches the recipient after the restarts.
    for package in &submitted {
        sender.wait_state(package, RECIPIENT, "delivered", DELIVERY)?;
    }

    // Checkpoints after the crash extend those before it.
    let sender_after = take_checkpoint(&sender)?;
    let recipient_after = take_checkpoint(&recipient)?;
    assert!(sender_after.size > sender_before.size);
    assert!(recipient_after.size > recipient_before.size);
    assert_consistent(&sender, &sender_before, &sender_after)?;
    assert_consistent(&recipient, &recipient_before, &recipient_after)?;

    // The sender: every package it acknowledged, and no other, has its "submitted" leaf,
    // once; every package delivered has the recipient's receipt recorded.
    let leaves = all_leaves(&sender)?;
    let by_kind = packages_by_kind(&leaves);
    let logged = by_kind
        .get("package_submitted")
        .cloned()
        .unwrap_or_default();
    let outgoing: HashSet<String> = sender
        .get_json("/api/v1/packages?limit=10000")?
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p["package_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        logged.len(),
        outgoing.len(),
        "one leaf per package stored: {logged:?} {outgoing:?}"
    );
    assert_eq!(as_set(Some(&logged)), outgoing);
    let acknowledged: HashSet<String> = submitted.iter().cloned().collect();
    assert!(
        acknowledged.is_subset(&outgoing),
        "every package the API acknowledged is stored and logged"
    );
    assert!(
        acknowledged.is_subset(&as_set(by_kind.get("receipt_recorded"))),
        "every receipt 01 recorded is logged"
    );
    assert!(by_kind.contains_key("roster_taken"));

    // The recipient: one "received" leaf and one "receipt signed" leaf per package in its
    // inbox, and nothing it does not hold.
    let leaves = all_leaves(&recipient)?;
    let by_kind = packages_by_kind(&leaves);
    let received = by_kind.get("package_received").cloned().unwrap_or_default();
    let inbox: HashSet<String> = recipient
        .inbox()?
        .iter()
        .filter_map(|e| e["package_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(received.len(), inbox.len(), "one leaf per package accepted");
    assert_eq!(as_set(Some(&received)), inbox);
    assert_eq!(as_set(by_kind.get("receipt_signed")), inbox);
    assert!(acknowledged.is_subset(&inbox));

    // Inclusion: the first leaf after the crash is in the latest checkpoint.
    let index = sender_before.size;
    let proof = sender.get_json(&format!(
        "/api/v1/evidence/proof?index={index}&size={}",
        sender_after.size
    ))?;
    let path = proof["proof"]
        .as_array()
        .ok_or_else(|| anyhow!("no proof: {proof}"))?
        .iter()
        .map(hash)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let data = hex::decode(proof["leaf"]["data"].as_str().unwrap_or_default())?;
    tlog::verify_inclusion(
        &tlog::leaf_hash(&data),
        index,
        sender_after.size,
        &path,
        &sender_after.root,
    )?;

    // The console tells the truth: a crash recovered from is no error.
    for node in [&sender, &recipient] {
        let log = node.log_text();
        let last_start = log.rfind("store opened").unwrap_or(0);
        let errors: Vec<&str> = log[last_start..]
            .lines()
            .filter(|line| line.split_whitespace().nth(1) == Some("ERROR"))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    Ok(())
}
