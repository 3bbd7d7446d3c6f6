//! Signed packages and receipts from the outside: round trips, tampering, truncation, domain
//! separation, and property tests that nothing a peer sends can make `from_wire` panic.

use bytes::Bytes;
use lienthong_protocol::envelope::{
    EnvelopeKind, Field, Limit, PACKAGE_DOMAIN, RECEIPT_DOMAIN, Section,
};
use lienthong_protocol::{
    AgencyKey, EnvelopeError, EnvelopeLimits, MessageKind, OrganId, PackageFields, PackageId,
    ReceiptFields, SignedPackage, SignedReceipt, StatusCode, Timestamp,
};
use proptest::prelude::*;

fn id(s: &str) -> OrganId {
    OrganId::parse(s).expect("valid id")
}

fn key(seed: u8) -> AgencyKey {
    AgencyKey::from_bytes(&[seed; 32])
}

fn limits() -> EnvelopeLimits {
    EnvelopeLimits::default()
}

fn package_fields() -> PackageFields {
    PackageFields {
        sender: id("000.00.00.G22"),
        recipients: vec![id("000.00.00.H53"), id("000.01.02.H41")],
        kind: MessageKind::Edoc,
        created_at: "2026-11-21T05:39:00.123Z".parse().expect("valid time"),
    }
}

fn small_package() -> SignedPackage {
    SignedPackage::sign(
        &key(1),
        package_fields(),
        Bytes::from_static(b"<edXML><edXMLEnvelope/></edXML>"),
        &limits(),
    )
    .expect("signs")
}

fn receipt_fields(code: StatusCode) -> ReceiptFields {
    ReceiptFields {
        package_id: small_package().id(),
        sender: id("000.00.00.G22"),
        recipient: id("000.00.00.H53"),
        document_id: Some("000.00.00.G22,2026/11/21,123/VPCP-TTĐT".into()),
        code,
        issued_at: Timestamp::from_millis(1_795_239_600_000),
        description: Some("đã nhận".into()),
    }
}

fn small_receipt() -> SignedReceipt {
    SignedReceipt::sign(&key(2), receipt_fields(StatusCode::Arrived), &limits()).expect("signs")
}

/// The wire layout spelled out by hand, so that tests can present any signed bytes.
fn assemble(magic: &[u8; 4], key: &AgencyKey, signed: &[u8], content: &[u8]) -> Bytes {
    let mut wire = Vec::new();
    wire.extend_from_slice(magic);
    wire.push(1);
    wire.extend_from_slice(key.public_key().as_bytes());
    wire.extend_from_slice(key.sign(signed).as_bytes());
    wire.extend_from_slice(&(signed.len() as u32).to_be_bytes());
    wire.extend_from_slice(signed);
    wire.extend_from_slice(content);
    Bytes::from(wire)
}

#[test]
fn package_round_trips_through_the_wire() {
    let package = small_package();
    let read = SignedPackage::from_wire(package.to_wire(), &limits()).expect("reads");
    assert_eq!(read, package);
    assert_eq!(read.id(), package.id());
    assert_eq!(read.sender(), &id("000.00.00.G22"));
    assert_eq!(read.recipients(), package_fields().recipients.as_slice());
    assert_eq!(read.kind(), MessageKind::Edoc);
    assert_eq!(read.created_at().to_string(), "2026-11-21T05:39:00.123Z");
    assert_eq!(read.signer(), &key(1).public_key());
    assert_eq!(read.signature(), package.signature());
    assert_eq!(read.content().as_ref(), b"<edXML><edXMLEnvelope/></edXML>");
}

#[test]
fn receipt_round_trips_through_the_wire() {
    let receipt = small_receipt();
    let read = SignedReceipt::from_wire(receipt.to_wire(), &limits()).expect("reads");
    assert_eq!(read, receipt);
    assert_eq!(read.id(), receipt.id());
    assert_eq!(read.package_id(), small_package().id());
    assert_eq!(read.code(), StatusCode::Arrived);
    assert_eq!(read.issuer(), &id("000.00.00.H53"));
    assert_eq!(
        read.document_id(),
        Some("000.00.00.G22,2026/11/21,123/VPCP-TTĐT")
    );
    assert_eq!(read.description(), Some("đã nhận"));
    assert_eq!(read.signer(), &key(2).public_key());
}

#[test]
fn rejects_package_with_any_single_byte_flipped() {
    let wire = small_package().to_wire();
    for at in 0..wire.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut tampered = wire.to_vec();
            tampered[at] ^= mask;
            assert!(
                SignedPackage::from_wire(Bytes::from(tampered), &limits()).is_err(),
                "flipping byte {at} with {mask:#04x} was accepted"
            );
        }
    }
}

#[test]
fn rejects_receipt_with_any_single_byte_flipped() {
    let wire = small_receipt().to_wire();
    for at in 0..wire.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut tampered = wire.to_vec();
            tampered[at] ^= mask;
            assert!(
                SignedReceipt::from_wire(Bytes::from(tampered), &limits()).is_err(),
                "flipping byte {at} with {mask:#04x} was accepted"
            );
        }
    }
}

#[test]
fn rejects_package_whose_content_changed_by_one_byte() {
    let wire = small_package().to_wire();
    let mut tampered = wire.to_vec();
    let last = tampered.len() - 1;
    tampered[last] = b'!';
    assert_eq!(
        SignedPackage::from_wire(Bytes::from(tampered), &limits()).err(),
        Some(EnvelopeError::ContentHashMismatch)
    );
}

#[test]
fn rejects_package_with_content_added_or_removed() {
    let wire = small_package().to_wire();
    let mut longer = wire.to_vec();
    longer.push(b'\n');
    assert!(matches!(
        SignedPackage::from_wire(Bytes::from(longer), &limits()),
        Err(EnvelopeError::ContentLengthMismatch { .. })
    ));
    let shorter = wire.slice(..wire.len() - 1);
    assert!(matches!(
        SignedPackage::from_wire(shorter, &limits()),
        Err(EnvelopeError::ContentLengthMismatch { .. })
    ));
}

#[test]
fn rejects_package_whose_signer_was_replaced() {
    let wire = small_package().to_wire();
    let mut tampered = wire.to_vec();
    tampered[5..37].copy_from_slice(key(3).public_key().as_bytes());
    assert_eq!(
        SignedPackage::from_wire(Bytes::from(tampered), &limits()).err(),
        Some(EnvelopeError::BadSignature {
            envelope: EnvelopeKind::Package
        })
    );
}

#[test]
fn rejects_receipt_whose_signer_was_replaced() {
    let wire = small_receipt().to_wire();
    let mut tampered = wire.to_vec();
    tampered[5..37].copy_from_slice(key(3).public_key().as_bytes());
    assert_eq!(
        SignedReceipt::from_wire(Bytes::from(tampered), &limits()).err(),
        Some(EnvelopeError::BadSignature {
            envelope: EnvelopeKind::Receipt
        })
    );
}

#[test]
fn rejects_signer_that_is_a_weak_key() {
    let mut tampered = small_package().to_wire().to_vec();
    let mut identity = [0u8; 32];
    identity[0] = 1;
    tampered[5..37].copy_from_slice(&identity);
    assert!(matches!(
        SignedPackage::from_wire(Bytes::from(tampered), &limits()),
        Err(EnvelopeError::InvalidSigner { .. })
    ));
}

#[test]
fn rejects_package_header_signed_and_presented_as_a_receipt() {
    let package = small_package();
    let wire = assemble(b"LTRC", &key(1), package.header_bytes(), &[]);
    assert_eq!(
        SignedReceipt::from_wire(wire, &limits()).err(),
        Some(EnvelopeError::WrongDomain {
            envelope: EnvelopeKind::Receipt,
            expected: RECEIPT_DOMAIN
        })
    );
}

#[test]
fn rejects_receipt_body_signed_and_presented_as_a_package() {
    let receipt = small_receipt();
    let wire = assemble(b"LTPK", &key(2), receipt.body_bytes(), &[]);
    assert_eq!(
        SignedPackage::from_wire(wire, &limits()).err(),
        Some(EnvelopeError::WrongDomain {
            envelope: EnvelopeKind::Package,
            expected: PACKAGE_DOMAIN
        })
    );
}

#[test]
fn a_stored_receipt_is_peeked_at_without_its_signature_and_garbage_is_refused() {
    let receipt = small_receipt();
    let wire = receipt.to_wire();
    assert_eq!(
        SignedReceipt::peek_stored(&wire, &limits()).expect("peeks"),
        *receipt.fields()
    );
    // The statement is read whatever key and signature it carries: a scan decides what
    // to verify.
    let mut resigned = wire.to_vec();
    resigned[10] ^= 1;
    assert_eq!(
        SignedReceipt::peek_stored(&resigned, &limits()).expect("peeks"),
        *receipt.fields()
    );
    for len in 0..wire.len() {
        assert!(
            SignedReceipt::peek_stored(&wire[..len], &limits()).is_err(),
            "receipt cut at {len} was peeked at"
        );
    }
    assert!(SignedReceipt::peek_stored(&small_package().to_wire(), &limits()).is_err());
}

#[test]
fn a_stored_package_is_read_back_without_its_signature_but_every_other_check() {
    let package = small_package();
    let wire = package.to_wire();
    let read = SignedPackage::from_stored(wire.clone(), &limits()).expect("reads");
    assert_eq!(read.id(), package.id());
    assert_eq!(read.fields(), package.fields());
    assert_eq!(read.to_wire(), wire);
    // The signature is not checked again: a flipped signature byte reads, where
    // `from_wire` refuses it.
    let mut resigned = wire.to_vec();
    resigned[40] ^= 1;
    let resigned = Bytes::from(resigned);
    assert!(SignedPackage::from_wire(resigned.clone(), &limits()).is_err());
    assert_eq!(
        SignedPackage::from_stored(resigned, &limits())
            .expect("reads")
            .id(),
        package.id()
    );
    // Everything else is: a cut package, or one of another kind, is refused.
    for len in 0..wire.len() {
        assert!(
            SignedPackage::from_stored(wire.slice(..len), &limits()).is_err(),
            "package cut at {len} was read"
        );
    }
    assert!(SignedPackage::from_stored(small_receipt().to_wire(), &limits()).is_err());
}

#[test]
fn rejects_every_truncation_with_an_error() {
    let package = small_package().to_wire();
    for len in 0..package.len() {
        assert!(
            SignedPackage::from_wire(package.slice(..len), &limits()).is_err(),
            "package cut at {len} was accepted"
        );
    }
    let receipt = small_receipt().to_wire();
    for len in 0..receipt.len() {
        assert!(
            SignedReceipt::from_wire(receipt.slice(..len), &limits()).is_err(),
            "receipt cut at {len} was accepted"
        );
    }
}

#[test]
fn truncated_prefix_says_where_and_what() {
    let wire = small_package().to_wire();
    let err = SignedPackage::from_wire(wire.slice(..37), &limits()).expect_err("cut");
    assert_eq!(
        err,
        EnvelopeError::Truncated {
            section: Section::PackageWire,
            offset: 37,
            field: Field::Signature
        }
    );
    assert_eq!(
        err.to_string(),
        "package truncated at byte 37 while reading signature"
    );
}

#[test]
fn rejects_wrong_magic_and_version() {
    let receipt = small_receipt().to_wire();
    assert_eq!(
        SignedPackage::from_wire(receipt.clone(), &limits()).err(),
        Some(EnvelopeError::BadMagic {
            envelope: EnvelopeKind::Package
        })
    );
    let mut v2 = receipt.to_vec();
    v2[4] = 2;
    let err = SignedReceipt::from_wire(Bytes::from(v2), &limits()).expect_err("v2");
    assert_eq!(
        err.to_string(),
        "receipt wire version 2 is not supported (only version 1)"
    );
}

#[test]
fn refuses_oversized_header_before_verifying() {
    let mut wire = small_package().to_wire().to_vec();
    wire[101..105].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        SignedPackage::from_wire(Bytes::from(wire), &limits()),
        Err(EnvelopeError::TooLarge {
            limit: Limit::PackageHeader,
            ..
        })
    ));
}

/// A package header as `SignedPackage::sign` lays it out, with `extra` bytes appended.
fn handmade_header(content: &[u8], recipients: &[&str], kind: u8, extra: &[u8]) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    let mut header = Vec::new();
    field(&mut header, PACKAGE_DOMAIN.as_bytes());
    header.extend_from_slice(&(content.len() as u64).to_be_bytes());
    header.extend_from_slice(&sha256(content));
    field(&mut header, b"000.00.00.G22");
    header.extend_from_slice(&(recipients.len() as u32).to_be_bytes());
    for recipient in recipients {
        field(&mut header, recipient.as_bytes());
    }
    header.push(kind);
    header.extend_from_slice(&0u64.to_be_bytes());
    header.extend_from_slice(extra);
    header
}

#[test]
fn handmade_header_matches_the_signed_layout() {
    let content = b"x";
    let header = handmade_header(content, &["000.00.00.H53"], 1, &[]);
    let wire = assemble(b"LTPK", &key(1), &header, content);
    let package = SignedPackage::from_wire(wire, &limits()).expect("reads");
    assert_eq!(package.recipients(), &[id("000.00.00.H53")]);
    assert_eq!(package.kind(), MessageKind::Edoc);
}

#[test]
fn rejects_signed_headers_that_do_not_decode() {
    // Each header below was really signed, and its content matches: only the strict
    // decoding after verification refuses it.
    let content = b"x";
    let cases = [
        (
            handmade_header(content, &["000.00.00.H53", "000.00.00.H53"], 1, &[]),
            EnvelopeError::DuplicateRecipient {
                recipient: id("000.00.00.H53"),
            },
        ),
        (
            handmade_header(content, &["000.00.00.H53"], 1, &[0]),
            EnvelopeError::TrailingBytes {
                section: Section::PackageHeader,
                count: 1,
            },
        ),
        (
            handmade_header(content, &[], 1, &[]),
            EnvelopeError::NoRecipients,
        ),
    ];
    for (header, expected) in cases {
        let wire = assemble(b"LTPK", &key(1), &header, content);
        assert_eq!(
            SignedPackage::from_wire(wire, &limits()).err(),
            Some(expected)
        );
    }

    let unknown_kind = handmade_header(content, &["000.00.00.H53"], 3, &[]);
    let wire = assemble(b"LTPK", &key(1), &unknown_kind, content);
    let err = SignedPackage::from_wire(wire, &limits()).expect_err("kind 3");
    assert_eq!(
        err.to_string(),
        format!(
            "package header has an invalid kind at byte {}",
            unknown_kind.len() - 9
        )
    );

    let padded = handmade_header(content, &[" 000.00.00.H53"], 1, &[]);
    let wire = assemble(b"LTPK", &key(1), &padded, content);
    assert!(matches!(
        SignedPackage::from_wire(wire, &limits()),
        Err(EnvelopeError::InvalidField {
            field: Field::RecipientAt(0),
            ..
        })
    ));
}

#[test]
fn issuer_is_the_sender_only_for_take_back_requests() {
    for code in StatusCode::ALL {
        let receipt = SignedReceipt::sign(&key(2), receipt_fields(code), &limits()).expect("signs");
        let expected = if code.number() == 13 {
            receipt.sender()
        } else {
            receipt.recipient()
        };
        assert_eq!(receipt.issuer(), expected, "code {code}");
    }
}

#[test]
fn ids_differ_between_packages_and_follow_the_signed_bytes() {
    let a = small_package();
    let b = SignedPackage::sign(
        &key(1),
        package_fields(),
        Bytes::from_static(b"<edXML>other</edXML>"),
        &limits(),
    )
    .expect("signs");
    assert_ne!(a.id(), b.id());
    let text = a.id().to_string();
    assert_eq!(text.parse::<PackageId>().ok(), Some(a.id()));
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

// ---- property tests ----

/// Regular ids from a small space, so that lists often repeat an id.
fn organ_id() -> impl Strategy<Value = OrganId> {
    (
        0u16..3,
        0u8..3,
        0u8..3,
        prop::sample::select(vec!['G', 'H']),
        0u8..4,
    )
        .prop_map(|(d, c, b, letter, n)| id(&format!("{d:03}.{c:02}.{b:02}.{letter}{n:02}")))
}

fn recipients() -> impl Strategy<Value = Vec<OrganId>> {
    prop::collection::vec(organ_id(), 1..8).prop_map(|mut ids| {
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(id.clone()));
        ids
    })
}

fn status_code() -> impl Strategy<Value = StatusCode> {
    prop::sample::select(StatusCode::ALL.to_vec())
}

fn message_kind() -> impl Strategy<Value = MessageKind> {
    prop_oneof![Just(MessageKind::Edoc), Just(MessageKind::Status)]
}

proptest! {
    #[test]
    fn any_package_round_trips(
        seed in any::<[u8; 32]>(),
        sender in organ_id(),
        recipients in recipients(),
        kind in message_kind(),
        created_at in any::<u64>(),
        content in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let key = AgencyKey::from_bytes(&seed);
        let fields = PackageFields {
            sender,
            recipients,
            kind,
            created_at: Timestamp::from_millis(created_at),
        };
        let package = SignedPackage::sign(&key, fields.clone(), Bytes::from(content.clone()), &limits())
            .expect("valid fields sign");
        let read = SignedPackage::from_wire(package.to_wire(), &limits()).expect("own wire reads");
        prop_assert_eq!(read.fields(), &fields);
        prop_assert_eq!(read.content().as_ref(), content.as_slice());
        prop_assert_eq!(read.id(), package.id());
        prop_assert_eq!(read.signer(), &key.public_key());
    }

    #[test]
    fn any_receipt_round_trips(
        seed in any::<[u8; 32]>(),
        package_id in any::<[u8; 32]>(),
        sender in organ_id(),
        recipient in organ_id(),
        document_id in proptest::option::of("[ -~]{0,60}"),
        code in status_code(),
        issued_at in any::<u64>(),
        description in proptest::option::of(".{0,80}"),
    ) {
        let key = AgencyKey::from_bytes(&seed);
        let fields = ReceiptFields {
            package_id: PackageId::from_bytes(package_id),
            sender,
            recipient,
            document_id,
            code,
            issued_at: Timestamp::from_millis(issued_at),
            description,
        };
        let receipt = SignedReceipt::sign(&key, fields.clone(), &limits()).expect("valid fields sign");
        let read = SignedReceipt::from_wire(receipt.to_wire(), &limits()).expect("own wire reads");
        prop_assert_eq!(read.fields(), &fields);
        prop_assert_eq!(read.id(), receipt.id());
        let issuer = if code == StatusCode::TakeBackRequested { &fields.sender } else { &fields.recipient };
        prop_assert_eq!(read.issuer(), issuer);
    }

    #[test]
    fn duplicate_recipients_are_refused(recipients in recipients(), pick in any::<prop::sample::Index>()) {
        let mut fields = package_fields();
        let twice = recipients[pick.index(recipients.len())].clone();
        fields.recipients = recipients;
        fields.recipients.push(twice.clone());
        prop_assert_eq!(
            SignedPackage::sign(&key(1), fields, Bytes::new(), &limits()).err(),
            Some(EnvelopeError::DuplicateRecipient { recipient: twice })
        );
    }

    #[test]
    fn random_bytes_never_panic_from_wire(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        magic in prop::sample::select(vec![&b""[..], b"LTPK\x01", b"LTRC\x01"]),
    ) {
        let mut wire = magic.to_vec();
        wire.extend_from_slice(&bytes);
        let wire = Bytes::from(wire);
        prop_assert!(SignedPackage::from_wire(wire.clone(), &limits()).is_err());
        prop_assert!(SignedReceipt::from_wire(wire, &limits()).is_err());
    }

    #[test]
    fn random_signed_bytes_never_panic_from_wire(
        body in prop::collection::vec(any::<u8>(), 0..300),
        content in prop::collection::vec(any::<u8>(), 0..64),
        domain in prop::sample::select(vec![PACKAGE_DOMAIN, RECEIPT_DOMAIN]),
    ) {
        // Validly signed garbage behind a correct domain: exercises the decoding that only
        // runs after the signature has verified.
        let mut signed = (domain.len() as u32).to_be_bytes().to_vec();
        signed.extend_from_slice(domain.as_bytes());
        signed.extend_from_slice(&body);
        let _ = SignedPackage::from_wire(assemble(b"LTPK", &key(4), &signed, &content), &limits());
        let _ = SignedReceipt::from_wire(assemble(b"LTRC", &key(4), &signed, &[]), &limits());
    }

    #[test]
    fn mutated_wire_never_panics_and_is_refused(
        at in any::<prop::sample::Index>(),
        value in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let package = small_package().to_wire().to_vec();
        let mut mutated = package.clone();
        let i = at.index(mutated.len());
        prop_assume!(mutated[i] != value);
        mutated[i] = value;
        mutated.truncate(cut.index(mutated.len()) + 1);
        prop_assert!(SignedPackage::from_wire(Bytes::from(mutated), &limits()).is_err());
    }
}
