//! Checkpoints on gossip and catch-up, with real `lienthong` processes on loopback (mDNS
//! off): in a province of member nodes and a witnessing relay, an agency's checkpoint with
//! its relay's cosignature reaches another member's heads by gossip, and a member that
//! connects later gets it by catch-up; a forged announcement (signed by another key, or
//! published by another member's node) is refused and changes no head; and an agency that
//! rebuilds its log with another history is caught by a plain member and by the relay,
//! while documents still flow; and a witness the agency does not ask (the provincial
//! office) cosigns the checkpoint it gets by gossip, and the agency keeps that cosignature.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail};
use bytes::Bytes;
use lienthong_protocol::evidence::Announcement;
use lienthong_protocol::tlog::{Checkpoint, sign_note};
use lienthong_protocol::wire::{CheckpointSince, Request, Response};
use lienthong_tests::attacker::Attacker;
use lienthong_tests::axis_bridge::document_from;
use lienthong_tests::{Federation, ProcessNode, configure, wait_for};
use serde_json::Value;

const AGENCY: &str = "000.00.01.H53";
const MEMBER: &str = "000.00.02.H53";
const LATE: &str = "000.00.03.H53";
const ROGUE: &str = "000.00.66.H53";
const RELAY: &str = "000.00.90.H53";
const OFFICE: &str = "000.00.80.H53";
const TOPIC: &str = "lienthong/checkpoints/1/H53";
const DEADLINE: Duration = Duration::from_secs(90);

/// The relay (a witness), the agency (its relay named in the roster) and a member, running
/// and admitted.
struct Province {
    federation: Federation,
    relay: ProcessNode,
    agency_dir: PathBuf,
    agency: ProcessNode,
    member: ProcessNode,
}

fn province(name: &str) -> anyhow::Result<Province> {
    let federation = Federation::new(name)?;
    let relay_dir = federation.init_on(
        RELAY,
        "Trạm chuyển tiếp tỉnh",
        &["/ip4/127.0.0.1/tcp/0"],
        "127.0.0.1:0",
        "relay",
    )?;
    configure(&relay_dir, "witness", "true")?;
    let agency_dir = federation.init(AGENCY, "Văn phòng UBND tỉnh")?;
    let member_dir = federation.init(MEMBER, "Sở Nội vụ")?;
    let relay = ProcessNode::start(&relay_dir)?;
    let agency = ProcessNode::start(&agency_dir)?;
    let member = ProcessNode::start(&member_dir)?;
    federation.admit(&relay_dir)?;
    federation.admit_with_relays(&agency_dir, &[RELAY])?;
    federation.admit(&member_dir)?;
    federation.wait_roster(&[&relay, &agency, &member])?;
    Ok(Province {
        federation,
        relay,
        agency_dir,
        agency,
        member,
    })
}

/// Sends documents `range` from the agency to the member and waits until each is delivered.
fn send(agency: &ProcessNode, range: std::ops::Range<u32>) -> anyhow::Result<()> {
    let mut sent = Vec::new();
    for n in range {
        sent.push(agency.submit(&document_from(AGENCY, &[MEMBER], n))?);
    }
    for package in &sent {
        agency.wait_state(package, MEMBER, "delivered", DEADLINE)?;
    }
    Ok(())
}

/// The head `node` holds for the agency's log, if any.
fn head(node: &ProcessNode) -> Option<Value> {
    let heads = node.get_json("/api/v1/evidence/heads").ok()?;
    heads["heads"]
        .as_array()?
        .iter()
        .find(|h| h["agency"] == AGENCY)
        .cloned()
}

/// Waits until `node` holds the agency's head of `size` leaves, cosigned by the relay.
fn wait_head(node: &ProcessNode, size: u64) -> anyhow::Result<Value> {
    wait_head_cosigned_by(node, size, RELAY)
}

/// Waits until `node` holds the agency's head of `size` leaves, cosigned by `witness`.
fn wait_head_cosigned_by(node: &ProcessNode, size: u64, witness: &str) -> anyhow::Result<Value> {
    wait_for("the agency's cosigned head", DEADLINE, || {
        let held = head(node)?;
        let cosigned = held["size"].as_u64()? == size
            && held["cosigned_by"]
                .as_array()?
                .iter()
                .any(|w| *w == format!("lienthong-witness/{witness}").as_str());
        cosigned.then_some(held)
    })
}

/// Waits until the agency's own checkpoint of `size` shows the relay's cosignature.
fn wait_cosigned(agency: &ProcessNode, size: u64) -> anyhow::Result<()> {
    wait_cosigned_by(agency, size, RELAY)
}

/// Waits until the agency's own checkpoint of `size` shows `witness`'s cosignature.
fn wait_cosigned_by(agency: &ProcessNode, size: u64, witness: &str) -> anyhow::Result<()> {
    wait_for("the witness's cosignature", DEADLINE, || {
        let latest = agency
            .get_json(&format!("/api/v1/evidence/checkpoint?size={size}"))
            .ok()?;
        latest["cosignatures"]
            .as_array()?
            .iter()
            .any(|c| c["witness"] == witness)
            .then_some(())
    })
}

/// The sum of a metric's series whose line starts with `prefix`.
fn metric(node: &ProcessNode, prefix: &str) -> u64 {
    let Ok((_, body)) = node.get("/metrics") else {
        return 0;
    };
    String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Forks counted from gossip and catch-up (not as a witness).
fn announced_forks(node: &ProcessNode) -> u64 {
    metric(node, "lienthong_evidence_forks_total{seen=\"gossip\"}")
        + metric(node, "lienthong_evidence_forks_total{seen=\"catch_up\"}")
}

fn errors_naming_agency(node: &ProcessNode) -> Vec<String> {
    node.log_text()
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("ERROR") && l.contains(AGENCY))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_cosigned_checkpoint_reaches_members_by_gossip_and_catch_up_and_forgeries_change_nothing()
-> anyhow::Result<()> {
    let p = province("checkpoint gossip")?;
    let rogue_dir = p.federation.init(ROGUE, "Đơn vị bị chiếm quyền")?;
    p.federation.admit(&rogue_dir)?;
    p.federation
        .wait_roster(&[&p.relay, &p.agency, &p.member])?;

    send(&p.agency, 0..3)?;
    let size = p.agency.take_checkpoint()?;
    wait_cosigned(&p.agency, size)?;

    // The member holds it, with the relay's cosignature, from the gossip topic.
    let held = wait_head(&p.member, size)?;
    assert_eq!(held["seen"], "gossip", "{held}");
    assert!(held["fork"].is_null(), "{held}");
    let note = held["note"]
        .as_str()
        .ok_or_else(|| anyhow!("no note"))?
        .to_owned();

    // A member gone bad republishes the agency's announcement from its own node, and
    // publishes a larger checkpoint under the agency's log signed with its own key.
    let rogue = Attacker::member(&rogue_dir)?;
    // Connected, and a member may ask for a checkpoint by catch-up.
    match rogue.send(
        &p.member,
        Request::from(CheckpointSince { from_size: 0 }).encode(),
    )? {
        Response::Checkpoint(answer) => {
            assert!(
                String::from_utf8_lossy(&answer.note).starts_with(&format!("lienthong/{MEMBER}\n"))
            );
        }
        other => bail!("unexpected answer to a catch-up: {other:?}"),
    }
    let republished = Announcement {
        note: Bytes::from(note.clone()),
        from_size: 0,
        proof: Vec::new(),
    }
    .encode();
    let origin = format!("lienthong/{AGENCY}");
    let body = Checkpoint::new(origin.clone(), size + 5, [7; 32]).render()?;
    let forged = Announcement {
        note: Bytes::from(sign_note(&body, &origin, rogue.key())?.render()),
        from_size: 0,
        proof: Vec::new(),
    }
    .encode();
    let before = metric(&p.member, "lienthong_gossip_refused");
    wait_for("the member to refuse both forgeries", DEADLINE, || {
        let _ = rogue.publish_on(TOPIC, republished.clone());
        let _ = rogue.publish_on(TOPIC, forged.clone());
        (metric(&p.member, "lienthong_gossip_refused") >= before + 2).then_some(())
    })?;
    let after = head(&p.member).ok_or_else(|| anyhow!("no head"))?;
    assert_eq!(after["size"].as_u64(), Some(size), "{after}");
    assert_eq!(after["note"].as_str(), Some(note.as_str()));
    assert!(after["fork"].is_null(), "a forgery is no fork: {after}");
    assert_eq!(announced_forks(&p.member), 0);

    // A member that starts after the announcement gets it when it connects.
    let late = p.federation.start_node(LATE, "Sở Tài chính")?;
    p.federation
        .wait_roster(&[&p.relay, &p.agency, &p.member, &late])?;
    let caught = match wait_head(&late, size) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "DEBUG late heads {:?}",
                late.get_json("/api/v1/evidence/heads")
            );
            eprintln!("DEBUG late log {}", late.log_text());
            eprintln!("DEBUG agency log {}", p.agency.log_text());
            return Err(e);
        }
    };
    assert_eq!(caught["seen"], "catch_up", "{caught}");
    Ok(())
}

#[test]
fn an_agency_that_rebuilds_its_log_is_caught_by_a_plain_member_and_the_relay() -> anyhow::Result<()>
{
    let mut p = province("checkpoint gossip fork")?;
    send(&p.agency, 0..3)?;
    let size = p.agency.take_checkpoint()?;
    wait_cosigned(&p.agency, size)?;
    wait_head(&p.member, size)?;
    wait_head(&p.relay, size)?;

    // The agency's store is wiped (the packages it received and sent, its log): identity
    // and config stay, and it builds another history up to at least the size announced.
    if !p.agency.terminate()? {
        bail!("the agency did not stop");
    }
    std::fs::remove_dir_all(p.agency_dir.join("store"))?;
    p.agency = ProcessNode::start(&p.agency_dir)?;
    p.federation.wait_roster(&[&p.agency])?;
    let mut n = 100;
    loop {
        send(&p.agency, n..n + 3)?;
        n += 3;
        if p.agency.take_checkpoint()? >= size {
            break;
        }
    }

    // The member, no witness, and the relay both raise the alarm from the announcement.
    for node in [&p.member, &p.relay] {
        wait_for("the fork to be counted", DEADLINE, || {
            (announced_forks(node) >= 1).then_some(())
        })?;
        assert_eq!(announced_forks(node), 1, "{}", node.info().organ_id);
        assert!(
            !errors_naming_agency(node).is_empty(),
            "an ERROR naming the agency:\n{}",
            node.log_text()
        );
    }
    // The member keeps both notes as evidence, and its dashboard shows the alarm.
    let held = head(&p.member).ok_or_else(|| anyhow!("no head"))?;
    let fork = &held["fork"];
    assert_eq!(fork["held_size"].as_u64(), Some(size), "{held}");
    assert!(fork["presented_size"].as_u64() >= Some(size), "{held}");
    assert_ne!(fork["held_note"], fork["presented_note"]);
    let dashboard = p.member.get_json("/api/v1/dashboard")?;
    let forks = dashboard["forks"].as_array().cloned().unwrap_or_default();
    assert_eq!(forks.len(), 1, "{forks:?}");
    assert_eq!(forks[0]["origin"], format!("lienthong/{AGENCY}").as_str());

    // Documents still flow.
    send(&p.agency, n..n + 1)?;
    Ok(())
}

#[test]
fn a_witness_the_agency_does_not_ask_cosigns_its_gossiped_checkpoint() -> anyhow::Result<()> {
    let p = province("checkpoint gossip witness")?;
    // The provincial office witnesses, but the agency does not name it ([evidence]
    // witnesses): it sees the agency's checkpoints only on gossip.
    let office_dir = p.federation.init(OFFICE, "Sở Thông tin và Truyền thông")?;
    configure(&office_dir, "witness", "true")?;
    let office = ProcessNode::start(&office_dir)?;
    p.federation.admit(&office_dir)?;
    p.federation
        .wait_roster(&[&p.relay, &p.agency, &p.member, &office])?;

    send(&p.agency, 0..3)?;
    let size = p.agency.take_checkpoint()?;
    // The office's cosignature comes back by gossip, verified and kept by the agency, and
    // added to the head the member holds.
    wait_cosigned_by(&p.agency, size, OFFICE)?;
    wait_cosigned_by(&p.agency, size, RELAY)?;
    wait_head_cosigned_by(&p.member, size, OFFICE)?;
    assert_eq!(metric(&office, "lienthong_evidence_forks_total"), 0);
    Ok(())
}
