//! Attacks on a relay and its members, with real processes on loopback: a relay holds only
//! what one of its members is owed, gives a mailbox only to its owner, and a member takes
//! sealed packages only from relays. Every refusal says why, stores nothing, and leaves the
//! relay serving honest members.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use lienthong_protocol::envelope::{
    EnvelopeLimits, PackageFields, ReceiptFields, SignedPackage, SignedReceipt,
};
use lienthong_protocol::keys::{AgencyKey, PublicKey};
use lienthong_protocol::seal::{EncryptionKey, SealedPackage};
use lienthong_protocol::wire::{RejectReason, Request, Response};
use lienthong_protocol::{MessageKind, StatusCode};
use lienthong_tests::attacker::Attacker;
use lienthong_tests::{Federation, ProcessNode, samples_dir, wait_for};
use serde_json::Value;

const RELAY: &str = "000.00.20.H19";
const MEMBER: &str = "000.00.01.H19";
const OUTSIDER: &str = "000.00.02.H19";
const HONEST: &str = "000.00.03.H19";
const ROGUE: &str = "000.00.66.H19";
const DEADLINE: Duration = Duration::from_secs(60);

/// A relay, a member that names it (not running yet), an agency that does not name it, an
/// honest agency, and a rogue member whose key the test holds.
struct Setup {
    federation: Federation,
    relay: ProcessNode,
    honest: ProcessNode,
    member_dir: std::path::PathBuf,
    rogue_dir: std::path::PathBuf,
}

fn setup() -> anyhow::Result<Setup> {
    let federation = Federation::new("Chuyển tiếp bị tấn công")?;
    let relay_dir = federation.init_on(
        RELAY,
        "Trạm chuyển tiếp",
        &["/ip4/127.0.0.1/tcp/0"],
        "127.0.0.1:0",
        "relay",
    )?;
    let relay = ProcessNode::start(&relay_dir)?;
    federation.admit(&relay_dir)?;
    let member_dir = federation.init(MEMBER, "Văn phòng UBND tỉnh")?;
    federation.admit_with_relays(&member_dir, &[RELAY])?;
    let outsider_dir = federation.init(OUTSIDER, "Sở không dùng trạm")?;
    federation.admit(&outsider_dir)?;
    let rogue_dir = federation.init(ROGUE, "Đơn vị bị chiếm quyền")?;
    federation.admit(&rogue_dir)?;
    let honest = federation.start_node(HONEST, "Sở Tài chính")?;
    federation.wait_roster(&[&relay, &honest])?;
    Ok(Setup {
        federation,
        relay,
        honest,
        member_dir,
        rogue_dir,
    })
}

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

fn package(key: &AgencyKey, sender: &str, to: &str, n: u32) -> SignedPackage {
    SignedPackage::sign(
        key,
        PackageFields {
            sender: sender.parse().expect("id"),
            recipients: vec![to.parse().expect("id")],
            kind: MessageKind::Edoc,
            created_at: lienthong_node::clock::now(),
        },
        Bytes::from(document(sender, to, n)),
        &EnvelopeLimits::default(),
    )
    .expect("signs")
}

/// A key a node's `identity.json` publishes.
fn published(dir: &Path, field: &str) -> String {
    let text = std::fs::read_to_string(dir.join("identity.json")).expect("identity.json");
    serde_json::from_str::<Value>(&text).expect("json")[field]
        .as_str()
        .expect("field")
        .to_owned()
}

fn sealed_for(key: &AgencyKey, package: &SignedPackage, to: &str, dir: &Path) -> SealedPackage {
    let recipient_key: EncryptionKey = published(dir, "encryption_key").parse().expect("key");
    SealedPackage::seal(
        key,
        package,
        &to.parse().expect("id"),
        &recipient_key,
        &EnvelopeLimits::default(),
    )
    .expect("seals")
}

fn refused(response: &Response, reason: RejectReason, words: &str) {
    match response {
        Response::Rejected(r) => {
            assert_eq!(r.reason, reason, "{r}");
            assert!(r.detail.contains(words), "{r} should say {words:?}");
        }
        other => panic!("not refused: {other:?}"),
    }
}

fn held(relay: &ProcessNode) -> (u64, u64) {
    let view = relay.get_json("/api/v1/relay").expect("relay view");
    (
        view["held"].as_u64().expect("held"),
        view["forward"].as_u64().expect("forward"),
    )
}

#[test]
fn a_relay_holds_only_what_one_of_its_members_is_owed() -> anyhow::Result<()> {
    let s = setup()?;
    let rogue = Attacker::member(&s.rogue_dir)?;
    let outsider_dir = s.federation.dir().with_file_name(OUTSIDER);

    // For an agency that does not name this relay.
    let for_outsider = sealed_for(
        rogue.key(),
        &package(rogue.key(), ROGUE, OUTSIDER, 1),
        OUTSIDER,
        &outsider_dir,
    );
    let answer = rogue.send(&s.relay, Request::Deposit(for_outsider).encode())?;
    refused(&answer, RejectReason::NotAllowed, "does not name");

    // Sealed in another agency's name.
    let impersonation = sealed_for(
        rogue.key(),
        &package(rogue.key(), HONEST, MEMBER, 2),
        MEMBER,
        &s.member_dir,
    );
    let answer = rogue.send(&s.relay, Request::Deposit(impersonation).encode())?;
    refused(&answer, RejectReason::WrongKey, "not 000.00.03.H19's key");

    // A valid seal carried over someone else's connection.
    let valid = sealed_for(
        rogue.key(),
        &package(rogue.key(), ROGUE, MEMBER, 3),
        MEMBER,
        &s.member_dir,
    );
    let stranger = Attacker::stranger()?;
    let answer = stranger.send(&s.relay, Request::Deposit(valid.clone()).encode())?;
    refused(
        &answer,
        RejectReason::NotAllowed,
        "not 000.00.66.H19's node",
    );

    // A deposit at a node that is no relay.
    let answer = rogue.send(&s.honest, Request::Deposit(valid.clone()).encode())?;
    refused(&answer, RejectReason::NotAllowed, "is not a relay");
    assert_eq!(held(&s.relay), (0, 0), "nothing was held");

    // The honest deposit: held, and the hold is the relay's signature, not a receipt.
    let answer = rogue.send(&s.relay, Request::Deposit(valid.clone()).encode())?;
    let Response::Held(hold) = answer else {
        panic!("not held: {answer:?}");
    };
    let relay_key: PublicKey = published(s.relay.dir(), "public_key").parse()?;
    assert_eq!(hold.signer(), &relay_key);
    assert_eq!(hold.package_id(), valid.id());
    assert_eq!(hold.recipient().as_str(), MEMBER);
    assert_eq!(held(&s.relay), (1, 0));
    // A second deposit of the same package gets the same hold and holds nothing more.
    let again = rogue.send(&s.relay, Request::Deposit(valid).encode())?;
    assert!(matches!(&again, Response::Held(h) if h.to_wire() == hold.to_wire()));
    assert_eq!(held(&s.relay), (1, 0));

    // Garbage in a sealed package's place: refused, and the sender is blocked.
    let mut tampered = Request::Deposit(sealed_for(
        rogue.key(),
        &package(rogue.key(), ROGUE, MEMBER, 4),
        MEMBER,
        &s.member_dir,
    ))
    .encode()
    .to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    let answer = rogue.send(&s.relay, Bytes::from(tampered))?;
    refused(&answer, RejectReason::Malformed, "");
    assert_eq!(held(&s.relay), (1, 0));
    wait_for("the rogue to be blocked", DEADLINE, || {
        let (_, body) = s.relay.get("/metrics").ok()?;
        String::from_utf8_lossy(&body)
            .lines()
            .any(|l| l.starts_with("lienthong_peers_blocked_total 1"))
            .then_some(())
    })?;
    Ok(())
}

#[test]
fn a_mailbox_is_given_to_its_owner_only() -> anyhow::Result<()> {
    let s = setup()?;
    let rogue = Attacker::member(&s.rogue_dir)?;
    let document = package(rogue.key(), ROGUE, MEMBER, 1);
    let sealed = sealed_for(rogue.key(), &document, MEMBER, &s.member_dir);
    let answer = rogue.send(&s.relay, Request::Deposit(sealed).encode())?;
    assert!(matches!(answer, Response::Held(_)), "{answer:?}");

    // Another member asks for "its" mailbox: it gets its own, which is empty.
    let answer = rogue.send(&s.relay, Request::MailboxFetch { limit: 64 }.encode())?;
    assert!(
        matches!(&answer, Response::Mailbox(m) if m.is_empty()),
        "{answer:?}"
    );
    // A stranger gets nothing at all.
    let stranger = Attacker::stranger()?;
    let answer = stranger.send(&s.relay, Request::MailboxFetch { limit: 64 }.encode())?;
    refused(&answer, RejectReason::UnknownAgency, "no member's node");

    // A receipt forged in the member's name does not release its package.
    let forged = SignedReceipt::sign(
        rogue.key(),
        ReceiptFields {
            package_id: document.id(),
            sender: ROGUE.parse()?,
            recipient: MEMBER.parse()?,
            document_id: None,
            code: StatusCode::Arrived,
            issued_at: lienthong_node::clock::now(),
            description: None,
        },
        &EnvelopeLimits::default(),
    )?;
    let answer = rogue.send(&s.relay, Request::MailboxAck(vec![forged]).encode())?;
    refused(&answer, RejectReason::NotAllowed, "not 000.00.66.H19's");
    assert_eq!(held(&s.relay), (1, 0), "still held");

    // The member comes online and takes it; its receipt waits for the sender (offline).
    let member = ProcessNode::start(&s.member_dir)?;
    wait_for("the member to take its package", DEADLINE, || {
        let inbox = member.inbox().ok()?;
        inbox
            .iter()
            .any(|e| e["package_id"] == document.id().to_string())
            .then_some(())
    })?;
    wait_for("the relay to release it", DEADLINE, || {
        (held(&s.relay) == (0, 1)).then_some(())
    })?;
    Ok(())
}

#[test]
fn a_member_takes_sealed_packages_only_from_relays() -> anyhow::Result<()> {
    let s = setup()?;
    let member = ProcessNode::start(&s.member_dir)?;
    s.federation.admit_with_relays(&s.member_dir, &[RELAY])?;
    s.federation.wait_roster(&[&member])?;
    let rogue = Attacker::member(&s.rogue_dir)?;
    let sealed = sealed_for(
        rogue.key(),
        &package(rogue.key(), ROGUE, MEMBER, 1),
        MEMBER,
        &s.member_dir,
    );
    let answer = rogue.send(&member, Request::DeliverSealed(sealed).encode())?;
    refused(&answer, RejectReason::NotAllowed, "come from relays");
    assert!(member.inbox()?.is_empty(), "nothing stored");
    // The member still takes an honest delivery.
    let package = s.honest.submit(&document(HONEST, MEMBER, 2))?;
    s.honest
        .wait_state(&package, MEMBER, "delivered", DEADLINE)?;
    Ok(())
}

#[test]
fn a_package_its_recipient_refuses_from_the_mailbox_comes_back_as_receipt_02() -> anyhow::Result<()>
{
    let s = setup()?;
    let package = s.honest.submit(&document(HONEST, MEMBER, 1))?;
    s.honest
        .wait_state(&package, MEMBER, "held_at_relay", DEADLINE)?;
    // The member accepts nothing older than a millisecond: every package is stale to it.
    lienthong_tests::configure(&s.member_dir, "max_package_age", "\"1ms\"")?;
    let member = ProcessNode::start(&s.member_dir)?;
    let codes = s
        .honest
        .wait_state(&package, MEMBER, "rejected", DEADLINE)?;
    assert_eq!(codes, ["02"], "the member's own refusal");
    let status = s
        .honest
        .get_json(&format!("/api/v1/packages/{package}/status"))?;
    let reason = status["recipients"][0]["receipts"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        reason.contains("stale"),
        "the reason travels back: {reason}"
    );
    assert!(member.inbox()?.is_empty(), "nothing accepted");
    wait_for("the relay to let go of it", DEADLINE, || {
        (held(&s.relay) == (0, 0)).then_some(())
    })?;
    Ok(())
}
