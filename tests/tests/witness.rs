//! Witnessing over the network with real `lienthong` processes on loopback (mDNS off): an
//! agency's checkpoint is cosigned by its relay, which runs with `[evidence] witness =
//! true`, and the cosignature verifies against the relay's key; an agency whose store is
//! wiped and rebuilt with another history is refused by that witness as a fork, which the
//! witness counts in `/metrics` and logs at ERROR naming the agency.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail};
use lienthong_protocol::keys::PublicKey;
use lienthong_protocol::tlog::{self, Note, NoteSignature, SignatureType, Verifier};
use lienthong_tests::axis_bridge::document_from;
use lienthong_tests::{Federation, ProcessNode, configure, lienthong, wait_for};
use serde_json::Value;

const AGENCY: &str = "000.00.01.H53";
const RECIPIENT: &str = "000.00.02.H53";
const RELAY: &str = "000.00.90.H53";
const DEADLINE: Duration = Duration::from_secs(90);

/// Initialises the relay as a witness; returns its data directory and its roster key.
fn init_witness_relay(federation: &Federation) -> anyhow::Result<(PathBuf, PublicKey)> {
    let dir = federation.root().join(RELAY);
    let out = lienthong(&[
        "init",
        "--data-dir",
        dir.to_str().expect("UTF-8"),
        "--organ-id",
        RELAY,
        "--name",
        "Trạm chuyển tiếp tỉnh",
        "--api",
        "127.0.0.1:0",
        "--role",
        "relay",
        "--no-mdns",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--json",
    ])?;
    let public: Value = serde_json::from_str(out.trim())?;
    let key: PublicKey = public["public_key"]
        .as_str()
        .ok_or_else(|| anyhow!("no public key: {public}"))?
        .parse()
        .map_err(|e| anyhow!("public key: {e:?}"))?;
    configure(&dir, "witness", "true")?;
    Ok((dir, key))
}

/// A relay-witness, the agency (its relay named in the roster) and a recipient, running.
struct Setup {
    federation: Federation,
    relay: ProcessNode,
    relay_key: PublicKey,
    agency_dir: PathBuf,
    agency: ProcessNode,
    _recipient: ProcessNode,
}

fn setup(name: &str) -> anyhow::Result<Setup> {
    let federation = Federation::new(name)?;
    let (relay_dir, relay_key) = init_witness_relay(&federation)?;
    let agency_dir = federation.init(AGENCY, "Văn phòng UBND tỉnh")?;
    let recipient_dir = federation.init(RECIPIENT, "Sở Nội vụ")?;
    let relay = ProcessNode::start(&relay_dir)?;
    let agency = ProcessNode::start(&agency_dir)?;
    let recipient = ProcessNode::start(&recipient_dir)?;
    federation.admit(&relay_dir)?;
    federation.admit_with_relays(&agency_dir, &[RELAY])?;
    federation.admit(&recipient_dir)?;
    federation.wait_roster(&[&relay, &agency, &recipient])?;
    Ok(Setup {
        federation,
        relay,
        relay_key,
        agency_dir,
        agency,
        _recipient: recipient,
    })
}

/// Sends documents `range` from the agency and waits until each is delivered.
fn send(agency: &ProcessNode, range: std::ops::Range<u32>) -> anyhow::Result<()> {
    let mut sent = Vec::new();
    for n in range {
        sent.push(agency.submit(&document_from(AGENCY, &[RECIPIENT], n))?);
    }
    for package in &sent {
        agency.wait_state(package, RECIPIENT, "delivered", DEADLINE)?;
    }
    Ok(())
}

/// Waits until the agency's latest checkpoint, of at least `size` leaves, shows the relay's
/// cosignature; returns the checkpoint as the API shows it.
fn wait_cosigned(agency: &ProcessNode, size: u64) -> anyhow::Result<Value> {
    wait_for("the relay's cosignature", DEADLINE, || {
        let latest = agency.get_json("/api/v1/evidence/checkpoint").ok()?;
        let cosigned = latest["size"].as_u64()? >= size
            && latest["cosignatures"]
                .as_array()?
                .iter()
                .any(|c| c["witness"] == RELAY);
        cosigned.then_some(latest)
    })
}

/// A counter from `/metrics`.
fn metric(node: &ProcessNode, name: &str) -> u64 {
    let Ok((_, body)) = node.get("/metrics") else {
        return 0;
    };
    String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn loud_lines(node: &ProcessNode) -> Vec<String> {
    node.log_text()
        .lines()
        .filter(|line| matches!(line.split_whitespace().nth(1), Some("WARN" | "ERROR")))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_relay_witness_cosigns_an_agencys_checkpoint_and_the_cosignature_verifies() -> anyhow::Result<()>
{
    let s = setup("chứng thực checkpoint")?;
    send(&s.agency, 0..3)?;
    let size = s.agency.take_checkpoint()?;
    let latest = wait_cosigned(&s.agency, size)?;

    // The cosignature is the relay's, over exactly this checkpoint, by its roster key.
    let note = Note::parse(
        latest["note"]
            .as_str()
            .ok_or_else(|| anyhow!("no note"))?
            .as_bytes(),
    )?;
    let line = latest["cosignatures"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["witness"] == RELAY))
        .and_then(|c| c["line"].as_str())
        .ok_or_else(|| anyhow!("no line: {latest}"))?;
    let verifier = Verifier::new(
        format!("lienthong-witness/{RELAY}"),
        SignatureType::CosignatureV1,
        s.relay_key,
    )?;
    tlog::verify_cosignature(note.text(), &NoteSignature::parse(line)?, &verifier)?;

    // The log grows, the next checkpoint is cosigned too (a proof from the last one).
    send(&s.agency, 3..5)?;
    let larger = s.agency.take_checkpoint()?;
    assert!(larger > size);
    wait_cosigned(&s.agency, larger)?;

    // Healthy: nothing louder than INFO from lienthong on either side, no fork counted.
    // (libp2p's Kademlia warns once at start that it has no peers to bootstrap from,
    // before the roster reaches the node: not ours, and not about witnessing.)
    assert_eq!(metric(&s.relay, "lienthong_evidence_forks_total"), 0);
    for node in [&s.agency, &s.relay] {
        let loud: Vec<String> = loud_lines(node)
            .into_iter()
            .filter(|line| !line.contains("libp2p_kad"))
            .collect();
        assert!(loud.is_empty(), "{}: {loud:#?}", node.info().organ_id);
    }
    drop(s.federation);
    Ok(())
}

fn wipe_store(dir: &Path) -> anyhow::Result<()> {
    std::fs::remove_dir_all(dir.join("store"))?;
    Ok(())
}

#[test]
fn an_agency_whose_store_is_rebuilt_with_another_history_is_refused_as_a_fork() -> anyhow::Result<()>
{
    let mut s = setup("chứng thực fork")?;
    send(&s.agency, 0..3)?;
    let cosigned = s.agency.take_checkpoint()?;
    wait_cosigned(&s.agency, cosigned)?;

    // The agency's store is wiped; identity and config stay. It starts a new history.
    if !s.agency.terminate()? {
        bail!("the agency did not stop");
    }
    wipe_store(&s.agency_dir)?;
    s.agency = ProcessNode::start(&s.agency_dir)?;
    s.federation.wait_roster(&[&s.agency])?;
    // More facts than before, so the new log is at least as large as the cosigned one.
    let mut n = 100;
    loop {
        send(&s.agency, n..n + 3)?;
        n += 3;
        if s.agency.take_checkpoint()? >= cosigned {
            break;
        }
    }

    // Counted once as a witness (the relay also sees the announced checkpoint fork, which
    // `checkpoint_gossip.rs` tests).
    let as_witness = "lienthong_evidence_forks_total{seen=\"witness\"}";
    wait_for("the witness to count the fork", DEADLINE, || {
        (metric(&s.relay, as_witness) >= 1).then_some(())
    })?;
    assert_eq!(metric(&s.relay, as_witness), 1);
    let errors: Vec<String> = loud_lines(&s.relay)
        .into_iter()
        .filter(|l| l.split_whitespace().nth(1) == Some("ERROR") && l.contains(AGENCY))
        .collect();
    assert!(
        !errors.is_empty(),
        "an ERROR naming the agency:\n{}",
        s.relay.log_text()
    );
    // The agency's checkpoint carries no cosignature from the witness that refused it.
    let latest = s.agency.get_json("/api/v1/evidence/checkpoint")?;
    assert!(
        latest["cosignatures"]
            .as_array()
            .is_some_and(|all| all.iter().all(|c| c["witness"] != RELAY)),
        "{latest}"
    );
    // The witness's dashboard raises the alarm, naming the agency's log.
    let dashboard = s.relay.get_json("/api/v1/dashboard")?;
    let forks = dashboard["forks"].as_array().cloned().unwrap_or_default();
    assert_eq!(forks.len(), 1, "{forks:?}");
    assert_eq!(forks[0]["origin"], format!("lienthong/{AGENCY}").as_str());
    Ok(())
}
