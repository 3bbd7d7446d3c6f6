//! One test per attack on a federation of real `lienthong` processes. Each shows that the
//! attack is refused with a clear reason (in the answer, the node's log and `/metrics`),
//! that nothing is stored, and that the node keeps serving honest peers.
//!
//! The attacker runs in the test process with a real libp2p stack: either as a member gone
//! bad (it holds a member's key), or as a stranger.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use lienthong_node::identity::Identity;
use lienthong_protocol::envelope::{
    EnvelopeLimits, PackageFields, ReceiptFields, SignedPackage, SignedReceipt, Timestamp,
};
use lienthong_protocol::keys::AgencyKey;
use lienthong_protocol::wire::{RejectReason, Request, Response};
use lienthong_protocol::{MessageKind, StatusCode};
use lienthong_tests::attacker::Attacker;
use lienthong_tests::{Federation, ProcessNode, lienthong, samples_dir, wait_for};
use serde_json::Value;

const HONEST: &str = "000.00.01.H53";
const VICTIM: &str = "000.00.02.H53";
const ROGUE: &str = "000.00.66.H53";
const DEADLINE: Duration = Duration::from_secs(60);

/// A document from `from` to `to`, from a real sample.
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

fn now() -> Timestamp {
    lienthong_node::clock::now()
}

/// An honest sender, a victim, and a rogue member (admitted, never run as a node: the test
/// speaks with its key).
struct Setup {
    federation: Federation,
    honest: ProcessNode,
    victim: ProcessNode,
    rogue_dir: std::path::PathBuf,
}

fn setup(victim_config: &[(&str, &str)]) -> anyhow::Result<Setup> {
    let federation = Federation::new("Tấn công thử")?;
    let rogue_dir = federation.init(ROGUE, "Đơn vị bị chiếm quyền")?;
    federation.admit(&rogue_dir)?;
    let victim_dir = federation.init(VICTIM, "Sở Nội vụ")?;
    set_config(&victim_dir, victim_config)?;
    let victim = ProcessNode::start(&victim_dir)?;
    federation.admit(&victim_dir)?;
    let honest = federation.start_node(HONEST, "Văn phòng UBND tỉnh")?;
    federation.wait_roster(&[&honest, &victim])?;
    Ok(Setup {
        federation,
        honest,
        victim,
        rogue_dir,
    })
}

/// Replaces `key = …` lines of a node's config.toml.
fn set_config(dir: &Path, settings: &[(&str, &str)]) -> anyhow::Result<()> {
    let path = dir.join("config.toml");
    let text: String = std::fs::read_to_string(&path)?
        .lines()
        .map(|line| {
            settings
                .iter()
                .find(|(key, _)| line.starts_with(&format!("{key} =")))
                .map_or_else(
                    || line.to_owned(),
                    |(key, value)| format!("{key} = {value}"),
                )
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(path, text)?;
    Ok(())
}

fn package(
    key: &AgencyKey,
    sender: &str,
    to: &str,
    created_at: Timestamp,
    content: Vec<u8>,
) -> SignedPackage {
    SignedPackage::sign(
        key,
        PackageFields {
            sender: sender.parse().expect("id"),
            recipients: vec![to.parse().expect("id")],
            kind: MessageKind::Edoc,
            created_at,
        },
        Bytes::from(content),
        &EnvelopeLimits::default(),
    )
    .expect("signs")
}

fn rejection(response: &Response) -> RejectReason {
    match response {
        Response::Rejected(r) => r.reason,
        other => panic!("not refused: {other:?}"),
    }
}

/// A counter from the node's `/metrics`, summed over the series that contain `label`.
fn metric(node: &ProcessNode, name: &str, label: &str) -> u64 {
    let (_, body) = node.get("/metrics").expect("metrics");
    String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Honest delivery still works: a document from the honest node reaches the victim.
fn honest_exchange_works(s: &Setup, n: u32) -> anyhow::Result<()> {
    let package = s.honest.submit(&document(HONEST, VICTIM, n))?;
    s.honest
        .wait_state(&package, VICTIM, "delivered", DEADLINE)?;
    Ok(())
}

fn inbox_len(node: &ProcessNode) -> usize {
    node.inbox().expect("inbox").len()
}

fn log_has(node: &ProcessNode, needle: &str) -> anyhow::Result<()> {
    wait_for(&format!("{needle:?} in the log"), DEADLINE, || {
        node.log_text().contains(needle).then_some(())
    })
    .map_err(|e| {
        anyhow::anyhow!(
            "{e}\n--- log ---\n{}",
            lienthong_tests::tail(&node.log_text())
        )
    })
}

#[test]
fn a_forged_signature_is_refused_and_its_sender_blocked() -> anyhow::Result<()> {
    let s = setup(&[])?;
    let rogue = Attacker::member(&s.rogue_dir)?;
    let honest_key: lienthong_protocol::keys::PublicKey =
        std::fs::read_to_string(s.honest.dir().join("identity.json")).map(|t| {
            serde_json::from_str::<Value>(&t).expect("json")["public_key"]
                .as_str()
                .expect("key")
                .parse()
                .expect("key")
        })?;
    // Signed by the rogue, presented as signed by the honest agency's key.
    let forged = package(
        rogue.key(),
        HONEST,
        VICTIM,
        now(),
        document(HONEST, VICTIM, 1),
    );
    let mut wire = Request::Deliver(forged).encode().to_vec();
    wire[2 + 5..2 + 5 + 32].copy_from_slice(honest_key.as_bytes());
    let answer = rogue.send(&s.victim, Bytes::from(wire))?;
    assert_eq!(rejection(&answer), RejectReason::Malformed);
    log_has(&s.victim, "reason=\"bad_signature\"")?;
    assert!(
        metric(
            &s.victim,
            "lienthong_inbound_rejected_total",
            "bad_signature"
        ) >= 1
    );
    assert_eq!(inbox_len(&s.victim), 0, "nothing stored");
    // Garbage gets the peer blocked: its next request does not even get an answer.
    wait_for("the rogue to be blocked", DEADLINE, || {
        (metric(&s.victim, "lienthong_peers_blocked_total", "") >= 1).then_some(())
    })?;
    wait_for("the rogue to be refused", DEADLINE, || {
        rogue
            .send(&s.victim, Request::RosterQuery(Default::default()).encode())
            .is_err()
            .then_some(())
    })?;
    honest_exchange_works(&s, 2)
}

#[test]
fn a_non_member_is_refused_and_then_disconnected() -> anyhow::Result<()> {
    let s = setup(&[])?;
    let stranger = Attacker::stranger()?;
    let signed = package(
        stranger.key(),
        "000.00.99.H53",
        VICTIM,
        now(),
        document("000.00.99.H53", VICTIM, 1),
    );
    // A stranger may only exchange rosters during its short probation: its package is
    // refused...
    let answer = stranger.send(&s.victim, Request::Deliver(signed.clone()).encode())?;
    assert_eq!(rejection(&answer), RejectReason::UnknownAgency);
    log_has(&s.victim, "reason=\"unknown_agency\"")?;
    // ...and after the probation it is disconnected and refused.
    wait_for("the stranger to be cut off", DEADLINE, || {
        stranger
            .send(&s.victim, Request::RosterQuery(Default::default()).encode())
            .is_err()
            .then_some(())
    })?;
    assert!(
        metric(
            &s.victim,
            "lienthong_connections_refused_total",
            "not_a_member"
        ) >= 1
    );
    // The same package, validly signed by a non-member, carried over a member's connection.
    let rogue = Attacker::member(&s.rogue_dir)?;
    let answer = rogue.send(&s.victim, Request::Deliver(signed).encode())?;
    assert_eq!(rejection(&answer), RejectReason::UnknownAgency);
    assert_eq!(inbox_len(&s.victim), 0);
    honest_exchange_works(&s, 2)
}

#[test]
fn a_member_signing_as_another_agency_is_refused() -> anyhow::Result<()> {
    let s = setup(&[])?;
    let rogue = Attacker::member(&s.rogue_dir)?;
    let impersonation = package(
        rogue.key(),
        HONEST,
        VICTIM,
        now(),
        document(HONEST, VICTIM, 1),
    );
    let answer = rogue.send(&s.victim, Request::Deliver(impersonation).encode())?;
    assert_eq!(rejection(&answer), RejectReason::WrongKey);
    log_has(&s.victim, "reason=\"wrong_key\"")?;
    assert!(metric(&s.victim, "lienthong_inbound_rejected_total", "wrong_key") >= 1);
    assert_eq!(inbox_len(&s.victim), 0);
    honest_exchange_works(&s, 2)
}

#[test]
fn replays_are_answered_idempotently_or_refused() -> anyhow::Result<()> {
    let s = setup(&[])?;
    // The test speaks as the honest agency's own node, so its real node steps aside.
    let mut honest = s.honest;
    honest.terminate()?;
    let as_honest = Attacker::member(honest.dir())?;
    let original = package(
        as_honest.key(),
        HONEST,
        VICTIM,
        now(),
        document(HONEST, VICTIM, 1),
    );
    let first = as_honest.send(&s.victim, Request::Deliver(original.clone()).encode())?;
    let Response::Delivered {
        receipt,
        duplicate: false,
    } = first
    else {
        bail!("not delivered: {first:?}")
    };
    // The same package again: the same receipt, nothing applied twice.
    let again = as_honest.send(&s.victim, Request::Deliver(original.clone()).encode())?;
    let Response::Delivered {
        receipt: same,
        duplicate: true,
    } = again
    else {
        bail!("not idempotent: {again:?}")
    };
    assert_eq!(same.id(), receipt.id());
    assert_eq!(inbox_len(&s.victim), 1);
    // A package made long ago and never seen here: too old to be anything but a replay.
    let old = Timestamp::from_millis(now().as_millis() - 200 * 86_400_000);
    let stale = package(
        as_honest.key(),
        HONEST,
        VICTIM,
        old,
        document(HONEST, VICTIM, 2),
    );
    assert_eq!(
        rejection(&as_honest.send(&s.victim, Request::Deliver(stale).encode())?),
        RejectReason::Stale
    );
    // One dated far ahead of the victim's clock.
    let ahead = Timestamp::from_millis(now().as_millis() + 3_600_000);
    let future = package(
        as_honest.key(),
        HONEST,
        VICTIM,
        ahead,
        document(HONEST, VICTIM, 3),
    );
    assert_eq!(
        rejection(&as_honest.send(&s.victim, Request::Deliver(future).encode())?),
        RejectReason::ClockSkew
    );
    log_has(&s.victim, "reason=\"clock_skew\"")?;
    // The original, replayed by someone else's node.
    let rogue = Attacker::member(&s.rogue_dir)?;
    assert_eq!(
        rejection(&rogue.send(&s.victim, Request::Deliver(original).encode())?),
        RejectReason::NotAllowed
    );
    assert_eq!(inbox_len(&s.victim), 1, "still the one package");
    assert!(metric(&s.victim, "lienthong_inbound_rejected_total", "stale") >= 1);
    Ok(())
}

#[test]
fn a_receipt_forged_by_someone_other_than_the_recipient_is_refused() -> anyhow::Result<()> {
    let s = setup(&[])?;
    let package_id = s.honest.submit(&document(HONEST, VICTIM, 1))?;
    s.honest
        .wait_state(&package_id, VICTIM, "delivered", DEADLINE)?;
    let rogue = Attacker::member(&s.rogue_dir)?;
    let receipt = |recipient: &str| {
        SignedReceipt::sign(
            rogue.key(),
            ReceiptFields {
                package_id: package_id.parse().expect("id"),
                sender: HONEST.parse().expect("id"),
                recipient: recipient.parse().expect("id"),
                document_id: None,
                code: StatusCode::Completed,
                issued_at: now(),
                description: None,
            },
            &EnvelopeLimits::default(),
        )
        .expect("signs")
    };
    // Claiming to be the recipient.
    let answer = rogue.send(&s.honest, Request::Receipt(receipt(VICTIM)).encode())?;
    assert_eq!(rejection(&answer), RejectReason::WrongKey);
    // Speaking for itself about a package it never received.
    let answer = rogue.send(&s.honest, Request::Receipt(receipt(ROGUE)).encode())?;
    assert_eq!(rejection(&answer), RejectReason::NotAllowed);
    log_has(&s.honest, "reason=\"wrong_key\"")?;
    assert!(metric(&s.honest, "lienthong_inbound_rejected_total", "not_allowed") >= 1);
    let (_, codes) = s.honest.recipient_state(&package_id, VICTIM)?;
    assert_eq!(codes, ["01"], "no forged 06 in the timeline");
    honest_exchange_works(&s, 2)
}

#[test]
fn a_roster_signed_by_the_wrong_root_is_refused() -> anyhow::Result<()> {
    let s = setup(&[])?;
    let before = s.victim.get_json("/health")?["roster_version"].clone();
    let impostor = Federation::new("giả mạo")?;
    let dir = impostor.init(ROGUE, "Đơn vị giả")?;
    impostor.admit(&dir)?;
    let forged = std::fs::read(impostor.dir().join("roster.bin"))?;
    let rogue = Attacker::member(&s.rogue_dir)?;
    // Over gossip, and as the answer to the victim's roster query on connect.
    rogue.send(&s.victim, Request::RosterQuery(Default::default()).encode())?;
    wait_for("the gossip mesh to form", DEADLINE, || {
        rogue.publish(Bytes::from(forged.clone())).ok()?;
        (metric(&s.victim, "lienthong_roster_refused_total", "wrong_root") >= 1).then_some(())
    })?;
    log_has(&s.victim, "reason=\"wrong_root\"")?;
    assert_eq!(
        s.victim.get_json("/health")?["roster_version"],
        before,
        "the roster is unchanged"
    );
    honest_exchange_works(&s, 1)
}

#[test]
fn a_roster_with_a_lower_serial_is_refused() -> anyhow::Result<()> {
    let s = setup(&[])?;
    let old = std::fs::read(s.federation.dir().join("roster.bin"))?;
    // The authority admits one more agency: a newer roster everywhere.
    let late = s.federation.init("000.00.03.H53", "Sở Tư pháp")?;
    s.federation.admit(&late)?;
    s.federation.wait_roster(&[&s.victim])?;
    let newer = s.victim.get_json("/health")?["roster_version"].clone();
    let rogue = Attacker::member(&s.rogue_dir)?;
    rogue.send(&s.victim, Request::RosterQuery(Default::default()).encode())?;
    wait_for("the replayed roster to be refused", DEADLINE, || {
        rogue.publish(Bytes::from(old.clone())).ok()?;
        (metric(&s.victim, "lienthong_roster_refused_total", "not_newer") >= 1).then_some(())
    })?;
    log_has(&s.victim, "not newer")?;
    assert_eq!(
        s.victim.get_json("/health")?["roster_version"],
        newer,
        "no rollback"
    );
    honest_exchange_works(&s, 1)
}

#[test]
fn a_revoked_agency_can_no_longer_send() -> anyhow::Result<()> {
    let s = setup(&[])?;
    let rogue = Attacker::member(&s.rogue_dir)?;
    let before = package(
        rogue.key(),
        ROGUE,
        VICTIM,
        now(),
        document(ROGUE, VICTIM, 1),
    );
    assert!(matches!(
        rogue.send(&s.victim, Request::Deliver(before).encode())?,
        Response::Delivered { .. }
    ));
    lienthong(&[
        "federation",
        "revoke",
        "--dir",
        s.federation.dir().to_str().expect("utf-8"),
        "--organ-id",
        ROGUE,
        "--reason",
        "máy chủ bị xâm nhập",
    ])?;
    s.federation.wait_roster(&[&s.victim, &s.honest])?;
    let after = package(
        rogue.key(),
        ROGUE,
        VICTIM,
        now(),
        document(ROGUE, VICTIM, 2),
    );
    let result = rogue.send(&s.victim, Request::Deliver(after).encode());
    match result {
        // The allow list closed its connection and refuses new ones.
        Err(_) => {
            wait_for("the refused connection to be counted", DEADLINE, || {
                (metric(
                    &s.victim,
                    "lienthong_connections_refused_total",
                    "not_a_member",
                ) >= 1)
                    .then_some(())
            })?;
        }
        // Or, had the connection outlived the roster change, the package is refused.
        Ok(answer) => assert_eq!(rejection(&answer), RejectReason::Revoked),
    }
    assert_eq!(
        inbox_len(&s.victim),
        1,
        "only the package sent before the revocation"
    );
    let peers = s.victim.get_json("/api/v1/peers")?;
    let standing = peers
        .as_array()
        .and_then(|all| all.iter().find(|p| p["organ_id"] == ROGUE))
        .map(|p| p["standing"].as_str().unwrap_or_default().to_owned())
        .context("the rogue is listed")?;
    assert!(standing.contains("máy chủ bị xâm nhập"), "{standing}");
    // And it is no longer a recipient anyone may address.
    let (status, body) = s
        .honest
        .post("/api/v1/packages", &document(HONEST, ROGUE, 9))?;
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&body));
    honest_exchange_works(&s, 3)
}

#[test]
fn an_oversized_package_is_refused_and_an_oversized_frame_blocks_its_sender() -> anyhow::Result<()>
{
    let s = setup(&[("max_package_size", "\"1 MiB\"")])?;
    let rogue = Attacker::member(&s.rogue_dir)?;
    let mut big = document(ROGUE, VICTIM, 1);
    let filler = format!("<!-- {} -->", "x".repeat(1_200_000));
    big.extend_from_slice(filler.as_bytes());
    let oversized = package(rogue.key(), ROGUE, VICTIM, now(), big);
    let answer = rogue.send(&s.victim, Request::Deliver(oversized).encode())?;
    assert_eq!(rejection(&answer), RejectReason::TooLarge);
    log_has(&s.victim, "reason=\"too_large\"")?;
    assert_eq!(inbox_len(&s.victim), 0);
    // A frame beyond the transport's cap is a protocol violation.
    let mut huge = document(ROGUE, VICTIM, 2);
    huge.extend_from_slice(format!("<!-- {} -->", "y".repeat(4_000_000)).as_bytes());
    let frame = Request::Deliver(package(rogue.key(), ROGUE, VICTIM, now(), huge)).encode();
    assert!(rogue.send(&s.victim, frame).is_err());
    wait_for("the frame violation to block the rogue", DEADLINE, || {
        (metric(&s.victim, "lienthong_peers_blocked_total", "") >= 1).then_some(())
    })?;
    assert!(
        metric(
            &s.victim,
            "lienthong_inbound_rejected_total",
            "malformed_frame"
        ) >= 1
    );
    assert_eq!(inbox_len(&s.victim), 0);
    honest_exchange_works(&s, 3)
}

#[test]
fn a_malformed_frame_is_refused_and_its_sender_blocked() -> anyhow::Result<()> {
    let s = setup(&[])?;
    let rogue = Attacker::member(&s.rogue_dir)?;
    let answer = rogue.send(
        &s.victim,
        Bytes::from_static(b"\x01\x01\xde\xad\xbe\xef garbage"),
    )?;
    assert_eq!(rejection(&answer), RejectReason::Malformed);
    log_has(&s.victim, "reason=\"malformed\"")?;
    log_has(&s.victim, "peer blocked")?;
    assert!(
        metric(
            &s.victim,
            "lienthong_inbound_rejected_total",
            "reason=\"malformed\""
        ) >= 1
    );
    wait_for("the rogue to be refused", DEADLINE, || {
        rogue
            .send(&s.victim, Request::RosterQuery(Default::default()).encode())
            .is_err()
            .then_some(())
    })?;
    assert_eq!(inbox_len(&s.victim), 0);
    honest_exchange_works(&s, 1)
}

#[test]
fn a_flood_from_one_peer_does_not_stop_the_others() -> anyhow::Result<()> {
    let s = setup(&[
        ("peer_rate", "20.0"),
        ("peer_burst", "20"),
        ("peer_concurrency", "4"),
    ])?;
    let rogue = Attacker::member(&s.rogue_dir)?;
    let peer: libp2p::PeerId = s.victim.info().peer_id.parse()?;
    let addr: libp2p::Multiaddr = s.victim.info().listen_addrs[0].parse()?;
    let flood = {
        let handle = rogue.handle.clone();
        rogue.runtime.spawn(async move {
            handle.add_addresses(peer, vec![addr]).await.ok();
            let frame = Request::RosterQuery(Default::default()).encode();
            let mut busy = 0u32;
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..2000 {
                let handle = handle.clone();
                let frame = frame.clone();
                tasks.spawn(async move { handle.request(peer, frame).await });
                while tasks.len() >= 64 {
                    if let Some(Ok(Ok(answer))) = tasks.join_next().await
                        && Response::decode(answer, &EnvelopeLimits::default())
                            .is_ok_and(|r| matches!(r, Response::Busy))
                    {
                        busy += 1;
                    }
                }
            }
            while let Some(result) = tasks.join_next().await {
                if let Ok(Ok(answer)) = result
                    && Response::decode(answer, &EnvelopeLimits::default())
                        .is_ok_and(|r| matches!(r, Response::Busy))
                {
                    busy += 1;
                }
            }
            busy
        })
    };
    // Meanwhile the honest node keeps exchanging with the victim.
    let packages: Vec<String> = (0..10)
        .map(|n| s.honest.submit(&document(HONEST, VICTIM, n)))
        .collect::<anyhow::Result<_>>()?;
    for package in &packages {
        s.honest
            .wait_state(package, VICTIM, "delivered", DEADLINE)?;
    }
    let busy = rogue.runtime.block_on(flood)?;
    assert!(busy > 0, "the flooding peer was limited");
    assert!(metric(&s.victim, "lienthong_inbound_rate_limited_total", "") >= u64::from(busy));
    assert_eq!(inbox_len(&s.victim), 10, "every honest package arrived");
    Ok(())
}

#[test]
fn a_rotated_out_key_is_accepted_only_during_its_grace_period() -> anyhow::Result<()> {
    let s = setup(&[])?;
    // The rogue's agency rotates its key with a short grace period; the test keeps the old
    // key, as an attacker who stole it would.
    let old = Attacker::member(&s.rogue_dir)?;
    lienthong(&[
        "key",
        "rotate",
        "--data-dir",
        s.rogue_dir.to_str().expect("utf-8"),
    ])?;
    lienthong(&[
        "federation",
        "rotate",
        "--dir",
        s.federation.dir().to_str().expect("utf-8"),
        "--data-dir",
        s.rogue_dir.to_str().expect("utf-8"),
        "--grace",
        "4s",
    ])?;
    s.federation.wait_roster(&[&s.victim])?;
    // Within the grace period, a package signed with the old key (say, queued before the
    // switch) is still taken.
    let in_flight = package(old.key(), ROGUE, VICTIM, now(), document(ROGUE, VICTIM, 1));
    let answer = old.send(&s.victim, Request::Deliver(in_flight).encode())?;
    assert!(matches!(answer, Response::Delivered { .. }), "{answer:?}");
    // After it, the old key's node is disconnected and refused, and a package signed with
    // it is refused too.
    wait_for("the old key's node to be refused", DEADLINE, || {
        old.send(&s.victim, Request::RosterQuery(Default::default()).encode())
            .is_err()
            .then_some(())
    })?;
    let late = package(old.key(), ROGUE, VICTIM, now(), document(ROGUE, VICTIM, 2));
    match old.send(&s.victim, Request::Deliver(late).encode()) {
        Err(_) => {}
        Ok(answer) => assert_eq!(rejection(&answer), RejectReason::WrongKey),
    }
    assert_eq!(
        inbox_len(&s.victim),
        1,
        "only the package within the grace period"
    );
    honest_exchange_works(&s, 3)
}

#[test]
fn a_replayed_receipt_is_answered_idempotently_and_applied_once() -> anyhow::Result<()> {
    let s = setup(&[])?;
    let package_id = s.honest.submit(&document(HONEST, VICTIM, 1))?;
    s.honest
        .wait_state(&package_id, VICTIM, "delivered", DEADLINE)?;
    // A genuine receipt 03 by the victim (the test holds its key), carried by another node:
    // a receipt's signature, not its carrier, says who made it.
    let victim_key = Identity::load(&s.victim.dir().join("agency.key"))?;
    let receipt = SignedReceipt::sign(
        victim_key.agency_key(),
        ReceiptFields {
            package_id: package_id.parse()?,
            sender: HONEST.parse()?,
            recipient: VICTIM.parse()?,
            document_id: None,
            code: StatusCode::Accepted,
            issued_at: now(),
            description: Some("Tiếp nhận văn bản".to_owned()),
        },
        &EnvelopeLimits::default(),
    )?;
    let carrier = Attacker::member(&s.rogue_dir)?;
    let first = carrier.send(&s.honest, Request::Receipt(receipt.clone()).encode())?;
    assert!(
        matches!(first, Response::ReceiptAccepted { duplicate: false }),
        "{first:?}"
    );
    for _ in 0..3 {
        let again = carrier.send(&s.honest, Request::Receipt(receipt.clone()).encode())?;
        assert!(
            matches!(again, Response::ReceiptAccepted { duplicate: true }),
            "{again:?}"
        );
    }
    let (_, codes) = s.honest.recipient_state(&package_id, VICTIM)?;
    assert_eq!(codes, ["01", "03"], "the 03 is in the timeline once");
    Ok(())
}

#[test]
fn a_member_whose_validity_ended_is_refused() -> anyhow::Result<()> {
    let s = setup(&[])?;
    // A pilot unit admitted for a few seconds.
    lienthong(&[
        "federation",
        "admit",
        "--dir",
        s.federation.dir().to_str().expect("utf-8"),
        "--data-dir",
        s.rogue_dir.to_str().expect("utf-8"),
        "--valid-for",
        "4s",
    ])?;
    s.federation.wait_roster(&[&s.victim, &s.honest])?;
    let unit = Attacker::member(&s.rogue_dir)?;
    let before = package(unit.key(), ROGUE, VICTIM, now(), document(ROGUE, VICTIM, 1));
    assert!(matches!(
        unit.send(&s.victim, Request::Deliver(before).encode())?,
        Response::Delivered { .. }
    ));
    // When the window ends, its node is cut off and nothing more is taken from it.
    wait_for("the expired member to be cut off", DEADLINE, || {
        unit.send(&s.victim, Request::RosterQuery(Default::default()).encode())
            .is_err()
            .then_some(())
    })?;
    let (status, _) = s
        .honest
        .post("/api/v1/packages", &document(HONEST, ROGUE, 2))?;
    assert_eq!(status, 422, "an expired member is no recipient");
    assert_eq!(inbox_len(&s.victim), 1);
    honest_exchange_works(&s, 3)
}
