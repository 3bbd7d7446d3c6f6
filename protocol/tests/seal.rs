//! Sealed packages and hold acknowledgements from the outside: a real edXML document sealed,
//! carried as a relay carries it, and opened; what a relay sees (and does not); tampering
//! and truncation of every byte; and the mailbox flow through the wire frames.

use bytes::Bytes;
use lienthong_protocol::edxml::{self, Document, Message, Organization};
use lienthong_protocol::roster::AgencyRecord;
use lienthong_protocol::seal::{SealField, SealKind, TAG_LEN};
use lienthong_protocol::wire::{MAX_MAILBOX_BATCH, Request, Response, WireError};
use lienthong_protocol::{
    AgencyKey, EncryptionKey, EncryptionSecret, EnvelopeLimits, HoldFields, MessageKind, OrganId,
    PackageFields, ReceiptFields, SealError, SealedPackage, SignedHold, SignedPackage,
    SignedReceipt, StatusCode, Timestamp,
};
use proptest::prelude::*;

const SUBJECT: &str = "V/v thí điểm niêm phong gói tin qua trạm chuyển tiếp tỉnh Tây Ninh";
const SENDER: &str = "000.00.00.G22";
const RECIPIENT: &str = "000.00.00.H53";
const OTHER_RECIPIENT: &str = "000.01.02.H41";
const RELAY: &str = "000.00.99.H53";

fn id(s: &str) -> OrganId {
    OrganId::parse(s).expect("valid id")
}

fn limits() -> EnvelopeLimits {
    EnvelopeLimits::default()
}

fn sender_key() -> AgencyKey {
    AgencyKey::from_bytes(&[1; 32])
}

fn recipient_key() -> AgencyKey {
    AgencyKey::from_bytes(&[2; 32])
}

fn other_recipient_key() -> AgencyKey {
    AgencyKey::from_bytes(&[3; 32])
}

fn relay_key() -> AgencyKey {
    AgencyKey::from_bytes(&[4; 32])
}

/// A real document from the Government Office to two agencies, written by our edXML writer.
fn edxml_document() -> Vec<u8> {
    let mut from = Organization::new(id(SENDER));
    from.organ_name = Some("Văn phòng Chính phủ".into());
    let mut document = Document::new(
        from,
        vec![
            Organization::new(id(RECIPIENT)),
            Organization::new(id(OTHER_RECIPIENT)),
        ],
    );
    document.document_id = Some(format!("{SENDER},2026/11/21,123/VPCP-TTĐT"));
    document.subject = Some(SUBJECT.into());
    document.content = Some("Đề nghị các cơ quan phối hợp triển khai.".into());
    edxml::write(&Message::Document(Box::new(document))).expect("the writer accepts it")
}

fn package() -> SignedPackage {
    SignedPackage::sign(
        &sender_key(),
        PackageFields {
            sender: id(SENDER),
            recipients: vec![id(RECIPIENT), id(OTHER_RECIPIENT)],
            kind: MessageKind::Edoc,
            created_at: "2026-11-21T05:39:00.123Z".parse().expect("valid time"),
        },
        Bytes::from(edxml_document()),
        &limits(),
    )
    .expect("signs")
}

fn recipient_encryption_key() -> EncryptionKey {
    EncryptionSecret::derive(&recipient_key()).public()
}

fn sealed() -> SealedPackage {
    SealedPackage::seal(
        &sender_key(),
        &package(),
        &id(RECIPIENT),
        &recipient_encryption_key(),
        &limits(),
    )
    .expect("seals")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Where the signed header ends in a sealed wire form.
fn header_end(wire: &[u8]) -> usize {
    let len = u32::from_be_bytes(wire[101..105].try_into().expect("4 bytes")) as usize;
    105 + len
}

/// The wire form with `header` in place of the signed header, signed again by `key`.
fn resigned(wire: &[u8], header: &[u8], key: &AgencyKey) -> Bytes {
    let end = header_end(wire);
    let mut out = Vec::new();
    out.extend_from_slice(&wire[..5]);
    out.extend_from_slice(key.public_key().as_bytes());
    out.extend_from_slice(key.sign(header).as_bytes());
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(&wire[end..]);
    Bytes::from(out)
}

#[test]
fn a_sealed_edxml_document_travels_through_the_wire_and_opens() {
    let package = package();
    let sealed = sealed();
    let wire = sealed.to_wire();
    assert!(wire.starts_with(b"LTSP\x01"));

    let carried = SealedPackage::from_wire(wire.clone(), &limits()).expect("a relay reads it");
    assert_eq!(carried, sealed);
    assert_eq!(carried.to_wire(), wire);
    let opened = carried
        .open(&EncryptionSecret::derive(&recipient_key()), &limits())
        .expect("the recipient opens it");
    assert_eq!(opened, package);
    assert_eq!(opened.content(), package.content());
    let read = edxml::read(opened.content().to_vec()).expect("the edXML reads");
    match read.message {
        Message::Document(document) => assert_eq!(document.subject.as_deref(), Some(SUBJECT)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_relay_sees_the_routing_fields_and_nothing_of_the_content() {
    let package = package();
    let sealed = sealed();
    let fields = sealed.fields();
    assert_eq!(sealed.id(), package.id());
    assert_eq!(fields.package_id, package.id());
    assert_eq!(fields.sender, id(SENDER));
    assert_eq!(fields.recipient, id(RECIPIENT));
    assert_eq!(fields.created_at, package.created_at());
    assert_eq!(sealed.signer(), &sender_key().public_key());
    assert_eq!(
        fields.ciphertext_len,
        package.to_wire().len() as u64 + TAG_LEN as u64
    );

    // What the relay stores: the subject is in the package, and not in the sealed bytes.
    let subject = SUBJECT.as_bytes();
    assert!(contains(&package.to_wire(), subject));
    let wire = sealed.to_wire();
    assert!(!contains(&wire, subject));
    assert!(!contains(&wire, b"edXML"));
    assert!(!contains(&wire, &package.content()[..32]));
    // Nor is the other recipient, whom the sealed copy does not concern.
    assert!(!contains(&wire, OTHER_RECIPIENT.as_bytes()));
}

#[test]
fn each_sealing_is_fresh() {
    let a = sealed();
    let b = sealed();
    assert_ne!(a.fields().ephemeral, b.fields().ephemeral);
    assert_ne!(a.fields().ciphertext_sha256, b.fields().ciphertext_sha256);
    let secret = EncryptionSecret::derive(&recipient_key());
    assert_eq!(a.open(&secret, &limits()), b.open(&secret, &limits()));
}

#[test]
fn only_the_recipient_it_was_sealed_to_opens_it() {
    let sealed = sealed();
    for key in [other_recipient_key(), sender_key(), relay_key()] {
        assert_eq!(
            sealed.open(&EncryptionSecret::derive(&key), &limits()),
            Err(SealError::Decrypt)
        );
    }
    // Sealed for the other recipient, only that one opens it.
    let for_other = SealedPackage::seal(
        &sender_key(),
        &package(),
        &id(OTHER_RECIPIENT),
        &EncryptionSecret::derive(&other_recipient_key()).public(),
        &limits(),
    )
    .expect("seals");
    assert_eq!(
        for_other.open(&EncryptionSecret::derive(&recipient_key()), &limits()),
        Err(SealError::Decrypt)
    );
    assert_eq!(
        for_other.open(&EncryptionSecret::derive(&other_recipient_key()), &limits()),
        Ok(package())
    );
}

#[test]
fn sealing_checks_its_inputs() {
    let package = package();
    assert_eq!(
        SealedPackage::seal(
            &relay_key(),
            &package,
            &id(RECIPIENT),
            &recipient_encryption_key(),
            &limits()
        ),
        Err(SealError::NotTheSigner)
    );
    assert_eq!(
        SealedPackage::seal(
            &sender_key(),
            &package,
            &id(RELAY),
            &recipient_encryption_key(),
            &limits()
        ),
        Err(SealError::NotARecipient {
            recipient: id(RELAY)
        })
    );
    // Room for a 100-byte document to two recipients; this one is larger.
    let tight = EnvelopeLimits {
        max_content_len: 100,
        max_recipients: 2,
        ..limits()
    };
    assert!(matches!(
        SealedPackage::seal(
            &sender_key(),
            &package,
            &id(RECIPIENT),
            &recipient_encryption_key(),
            &tight
        ),
        Err(SealError::TooLarge { .. })
    ));
}

#[test]
fn a_reader_with_tighter_limits_refuses_before_verifying() {
    // Room for a 100-byte document to two recipients; this one is larger.
    let tight = EnvelopeLimits {
        max_content_len: 100,
        max_recipients: 2,
        ..limits()
    };
    assert!(matches!(
        SealedPackage::from_wire(sealed().to_wire(), &tight),
        Err(SealError::TooLarge { .. })
    ));
}

#[test]
fn every_flipped_byte_is_refused_and_nothing_panics() {
    let secret = EncryptionSecret::derive(&recipient_key());
    let wire = sealed().to_wire();
    for at in 0..wire.len() {
        for mask in [0x01, 0x80, 0xff] {
            let mut bad = wire.to_vec();
            bad[at] ^= mask;
            let result = SealedPackage::from_wire(Bytes::from(bad), &limits())
                .and_then(|sealed| sealed.open(&secret, &limits()));
            assert!(result.is_err(), "byte {at} ^ {mask:#04x} was accepted");
        }
    }
}

#[test]
fn every_truncation_and_extension_is_refused() {
    let wire = sealed().to_wire();
    for len in 0..wire.len() {
        assert!(
            SealedPackage::from_wire(wire.slice(..len), &limits()).is_err(),
            "{len} bytes accepted"
        );
    }
    let mut longer = wire.to_vec();
    longer.push(0);
    assert_eq!(
        SealedPackage::from_wire(Bytes::from(longer), &limits()),
        Err(SealError::CiphertextLengthMismatch {
            declared: wire.len() as u64 - header_end(&wire) as u64,
            actual: wire.len() as u64 - header_end(&wire) as u64 + 1,
        })
    );
}

#[test]
fn a_header_altered_and_signed_again_does_not_decrypt() {
    // Whoever can sign as the sender (the sender itself, or a stolen key) and changes the
    // header after sealing gets a package a relay accepts but the recipient cannot open:
    // the header is the AEAD's associated data.
    let secret = EncryptionSecret::derive(&recipient_key());
    let sealed = sealed();
    let wire = sealed.to_wire();
    let header = sealed.header_bytes().to_vec();
    // The creation time is the u64 before the 32-byte ephemeral and the 40 ciphertext bytes.
    let created_at = header.len() - 40 - 32 - 8;
    let mut altered = header.clone();
    altered[created_at + 7] ^= 1;
    let relayed = SealedPackage::from_wire(resigned(&wire, &altered, &sender_key()), &limits())
        .expect("the signature is fine");
    assert_ne!(relayed.created_at(), sealed.created_at());
    assert_eq!(relayed.open(&secret, &limits()), Err(SealError::Decrypt));

    // Signed by anyone else, the header does not even verify as theirs: a relay re-signing
    // it with its own key gets a sealed package whose signer is not the package's.
    let by_relay = SealedPackage::from_wire(resigned(&wire, &header, &relay_key()), &limits())
        .expect("a valid signature by the relay");
    assert_eq!(
        by_relay.open(&secret, &limits()),
        Err(SealError::Mismatch {
            field: SealField::Signer
        })
    );
}

#[test]
fn encryption_secrets_are_derived_deterministically_per_agency_key() {
    let a = EncryptionSecret::derive(&recipient_key()).public();
    assert_eq!(a, EncryptionSecret::derive(&recipient_key()).public());
    assert_ne!(a, EncryptionSecret::derive(&other_recipient_key()).public());
    // A rotated agency key gives a new encryption key.
    let rotated = AgencyKey::generate().expect("key");
    assert_ne!(a, EncryptionSecret::derive(&rotated).public());
    assert_eq!(a.to_string().parse::<EncryptionKey>(), Ok(a));
    let debug = format!("{:?}", EncryptionSecret::derive(&recipient_key()));
    assert!(debug.starts_with("EncryptionSecret("));
    assert_eq!(debug.len(), "EncryptionSecret()".len() + 8);
}

#[test]
fn the_roster_carries_the_encryption_key_only_when_published() {
    let mut record = AgencyRecord::new(
        id(RECIPIENT),
        "Sở Nội vụ tỉnh Tây Ninh",
        recipient_key().public_key(),
        "peer",
    );
    let json = serde_json::to_string(&record).expect("serialises");
    assert!(!json.contains("encryption_key"));
    let back: AgencyRecord = serde_json::from_str(&json).expect("reads");
    assert_eq!(back.encryption_key, None);

    record.encryption_key = Some(recipient_encryption_key());
    let json = serde_json::to_string(&record).expect("serialises");
    assert!(json.contains(&format!(
        "\"encryption_key\":\"{}\"",
        recipient_encryption_key()
    )));
    let back: AgencyRecord = serde_json::from_str(&json).expect("reads");
    assert_eq!(back, record);

    // A small-order key is refused when the roster is read.
    let weak = json.replace(&recipient_encryption_key().to_string(), &"00".repeat(32));
    assert!(serde_json::from_str::<AgencyRecord>(&weak).is_err());
}

fn hold() -> SignedHold {
    SignedHold::sign(
        &relay_key(),
        HoldFields::for_sealed(
            &sealed(),
            id(RELAY),
            Timestamp::from_millis(1_795_239_600_000),
        ),
    )
    .expect("signs")
}

#[test]
fn a_hold_round_trips_and_says_who_holds_what_for_whom() {
    let hold = hold();
    let read = SignedHold::from_wire(hold.to_wire()).expect("reads");
    assert_eq!(read, hold);
    assert_eq!(read.package_id(), package().id());
    assert_eq!(read.sender(), &id(SENDER));
    assert_eq!(read.recipient(), &id(RECIPIENT));
    assert_eq!(read.relay(), &id(RELAY));
    assert_eq!(read.held_at(), Timestamp::from_millis(1_795_239_600_000));
    assert_eq!(read.signer(), &relay_key().public_key());
}

#[test]
fn a_tampered_or_truncated_hold_is_refused() {
    let wire = hold().to_wire();
    for at in 0..wire.len() {
        let mut bad = wire.to_vec();
        bad[at] ^= 0x01;
        assert!(
            SignedHold::from_wire(Bytes::from(bad)).is_err(),
            "byte {at} flipped was accepted"
        );
    }
    for len in 0..wire.len() {
        assert!(SignedHold::from_wire(wire.slice(..len)).is_err());
    }
    let mut longer = wire.to_vec();
    longer.push(0);
    assert!(SignedHold::from_wire(Bytes::from(longer)).is_err());
}

#[test]
fn a_hold_is_not_a_receipt_nor_a_sealed_package() {
    let wire = hold().to_wire();
    assert!(SignedReceipt::from_wire(wire.clone(), &limits()).is_err());
    assert!(SealedPackage::from_wire(wire.clone(), &limits()).is_err());
    let receipt = receipt_01(&package());
    assert_eq!(
        SignedHold::from_wire(receipt.to_wire()),
        Err(SealError::BadMagic {
            what: SealKind::Hold
        })
    );
    // The same bytes with the hold magic: the receipt's signature verifies, its domain
    // does not.
    let mut relabelled = receipt.to_wire().to_vec();
    relabelled[..4].copy_from_slice(b"LTHD");
    assert!(matches!(
        SignedHold::from_wire(Bytes::from(relabelled)),
        Err(SealError::TooLarge { .. } | SealError::WrongDomain { .. })
    ));
}

fn receipt_01(package: &SignedPackage) -> SignedReceipt {
    SignedReceipt::sign(
        &recipient_key(),
        ReceiptFields {
            package_id: package.id(),
            sender: package.sender().clone(),
            recipient: id(RECIPIENT),
            document_id: Some(format!("{SENDER},2026/11/21,123/VPCP-TTĐT")),
            code: StatusCode::Arrived,
            issued_at: Timestamp::from_millis(1_795_239_700_000),
            description: None,
        },
        &limits(),
    )
    .expect("signs")
}

/// The whole mailbox exchange, frame by frame, as the three nodes would see it.
#[test]
fn the_mailbox_flow_through_frames() {
    let limits = limits();
    // The sender cannot reach the recipient and deposits at the relay.
    let deposit = Request::Deposit(sealed()).encode();
    let Ok(Request::Deposit(at_relay)) = Request::decode(deposit, &limits) else {
        panic!("a deposit");
    };
    let held = SignedHold::sign(
        &relay_key(),
        HoldFields::for_sealed(&at_relay, id(RELAY), Timestamp::from_millis(1)),
    )
    .expect("signs");
    let answer = Response::Held(Box::new(held)).encode();
    let Ok(Response::Held(held)) = Response::decode(answer, &limits) else {
        panic!("held");
    };
    assert_eq!(held.package_id(), package().id());

    // The recipient, behind the tax department's line, fetches.
    let fetch = Request::MailboxFetch { limit: 10 }.encode();
    let Ok(Request::MailboxFetch { limit }) = Request::decode(fetch, &limits) else {
        panic!("a fetch");
    };
    let answer = Response::mailbox([at_relay], limit, 64 << 20).encode();
    let Ok(Response::Mailbox(fetched)) = Response::decode(answer, &limits) else {
        panic!("a mailbox");
    };
    assert_eq!(fetched.len(), 1);
    let opened = fetched[0]
        .open(&EncryptionSecret::derive(&recipient_key()), &limits)
        .expect("opens");
    assert_eq!(opened, package());

    // It acknowledges with its receipt 01; the relay deletes and forwards.
    let ack = Request::MailboxAck(vec![receipt_01(&opened)]).encode();
    let Ok(Request::MailboxAck(receipts)) = Request::decode(ack, &limits) else {
        panic!("an ack");
    };
    assert_eq!(receipts[0].package_id(), fetched[0].id());
    let answer = Response::Acked {
        count: receipts.len() as u32,
    }
    .encode();
    assert!(matches!(
        Response::decode(answer, &limits),
        Ok(Response::Acked { count: 1 })
    ));

    // A receipt handed to a relay to forward.
    let relay_receipt = Request::RelayReceipt(receipts[0].clone()).encode();
    assert!(matches!(
        Request::decode(relay_receipt, &limits),
        Ok(Request::RelayReceipt(r)) if r == receipts[0]
    ));
    // And a relay pushing a held package.
    let push = Request::DeliverSealed(fetched[0].clone()).encode();
    assert!(matches!(
        Request::decode(push, &limits),
        Ok(Request::DeliverSealed(s)) if s == fetched[0]
    ));
}

#[test]
fn a_fetch_limit_over_the_cap_is_malformed() {
    let frame = Request::MailboxFetch {
        limit: MAX_MAILBOX_BATCH + 1,
    }
    .encode();
    assert!(matches!(
        Request::decode(frame, &limits()),
        Err(WireError::Invalid { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic_the_decoders(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let input = Bytes::from(bytes);
        if let Ok(sealed) = SealedPackage::from_wire(input.clone(), &limits()) {
            prop_assert_eq!(sealed.to_wire(), input.clone());
        }
        if let Ok(hold) = SignedHold::from_wire(input.clone()) {
            prop_assert_eq!(hold.to_wire(), input.clone());
        }
        for tag in 1..=10u8 {
            let mut frame = vec![1, tag];
            frame.extend_from_slice(&input);
            let frame = Bytes::from(frame);
            if let Ok(request) = Request::decode(frame.clone(), &limits()) {
                prop_assert_eq!(request.encode(), frame.clone());
            }
            let _ = Response::decode(frame, &limits());
        }
    }

    #[test]
    fn random_prefixes_of_real_magic_never_panic(
        magic in prop_oneof![Just(&b"LTSP"[..]), Just(&b"LTHD"[..])],
        tail in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut bytes = magic.to_vec();
        bytes.push(1);
        bytes.extend_from_slice(&tail);
        let input = Bytes::from(bytes);
        prop_assert!(SealedPackage::from_wire(input.clone(), &limits()).is_err());
        prop_assert!(SignedHold::from_wire(input).is_err());
    }

    #[test]
    fn random_edits_of_a_sealed_package_are_refused(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let wire = sealed().to_wire();
        let mut bad = wire.to_vec();
        for (at, mask) in edits {
            bad[at.index(wire.len())] ^= mask;
        }
        prop_assume!(bad != wire.to_vec());
        let secret = EncryptionSecret::derive(&recipient_key());
        let result = SealedPackage::from_wire(Bytes::from(bad), &limits())
            .and_then(|sealed| sealed.open(&secret, &limits()));
        prop_assert!(result.is_err());
    }
}
