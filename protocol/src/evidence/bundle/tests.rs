//! A bundle made by hand from keys and a roster of its own, verified, then damaged one
//! way at a time.

use bytes::Bytes;

use super::*;
use crate::edxml::{self, Document, Message, Organization};
use crate::envelope::{
    EnvelopeLimits, PackageFields, ReceiptFields, SignedPackage, SignedReceipt, Timestamp,
};
use crate::evidence::{EvidenceLeaf, Fact, origin, witness_name};
use crate::keys::AgencyKey;
use crate::roster::{AgencyRecord, RosterBundle, RosterSection, SignedSection};
use crate::tlog::{self, Checkpoint};
use crate::{MessageKind, OrganId, StatusCode};

const SENDER: &str = "000.00.00.G22";
const RECIPIENT: &str = "000.00.00.H41";
const WITNESS: &str = "000.00.90.H53";

fn key(seed: u8) -> AgencyKey {
    AgencyKey::from_bytes(&[seed; 32])
}

fn organ(id: &str) -> OrganId {
    id.parse().unwrap()
}

fn at(seconds: u64) -> Timestamp {
    Timestamp::from_millis(1_760_000_000_000 + seconds * 1000)
}

pub(super) struct Fixture {
    pub(super) bundle: Bundle,
    pub(super) root: AgencyKey,
}

/// A document from SENDER to RECIPIENT, its 01 receipt, the sender's log of both, a
/// checkpoint over it cosigned by WITNESS; `witness_key` signs the cosignature.
fn fixture_with(witness_key: &AgencyKey) -> Fixture {
    let root = key(1);
    let (sender, recipient, witness) = (key(2), key(3), key(4));
    let mut section = RosterSection::new("Liên thông thử", "Văn phòng", at(0));
    for (id, name, k) in [
        (SENDER, "Văn phòng Chính phủ", &sender),
        (RECIPIENT, "UBND tỉnh Nghệ An", &recipient),
        (WITNESS, "Trạm tỉnh", &witness),
    ] {
        section.upsert(AgencyRecord::new(organ(id), name, k.public_key(), "peer"));
    }
    let roster = RosterBundle::of_root(
        SignedSection::sign(&root, section).unwrap(),
        &root.public_key(),
        at(0),
    )
    .unwrap();

    let mut document = Document::new(
        Organization::new(organ(SENDER)),
        vec![Organization::new(organ(RECIPIENT))],
    );
    document.subject = Some("Về việc thử gói chứng cứ".into());
    document.document_id = Some(format!("{SENDER},2026/12/07,1/VPCP"));
    let edxml = Bytes::from(edxml::write(&Message::Document(Box::new(document))).unwrap());
    let limits = EnvelopeLimits::default();
    let package = SignedPackage::sign(
        &sender,
        PackageFields {
            sender: organ(SENDER),
            recipients: vec![organ(RECIPIENT)],
            kind: MessageKind::Edoc,
            created_at: at(10),
        },
        edxml.clone(),
        &limits,
    )
    .unwrap();
    let receipt = SignedReceipt::sign(
        &recipient,
        ReceiptFields {
            package_id: package.id(),
            sender: organ(SENDER),
            recipient: organ(RECIPIENT),
            document_id: None,
            code: StatusCode::Arrived,
            issued_at: at(20),
            description: None,
        },
        &limits,
    )
    .unwrap();

    let leaves: Vec<Vec<u8>> = [
        Fact::RosterTaken {
            serial: 0,
            roster_sha256: [9; 32],
        },
        Fact::PackageSubmitted {
            package: package.id(),
            content_sha256: *package.content_sha256(),
        },
        Fact::ReceiptRecorded {
            receipt: receipt.id(),
            package: package.id(),
        },
        Fact::RosterTaken {
            serial: 1,
            roster_sha256: [8; 32],
        },
    ]
    .into_iter()
    .enumerate()
    .map(|(n, fact)| EvidenceLeaf::new(at(30 + n as u64), fact).encode())
    .collect();
    let hashes: Vec<_> = leaves.iter().map(|l| tlog::leaf_hash(l)).collect();
    let text = Checkpoint::new(origin(&organ(SENDER)), 4, tlog::root(&hashes))
        .render()
        .unwrap();
    let note = tlog::sign_note(&text, &origin(&organ(SENDER)), &sender).unwrap();
    let cosignature = tlog::cosign(
        &text,
        witness_key,
        &witness_name(&organ(WITNESS)),
        1_760_000_100,
    )
    .unwrap();
    let facts = [1u64, 2]
        .into_iter()
        .map(|index| LoggedFact {
            index,
            leaf: leaves[index as usize].clone().into(),
            proof: tlog::inclusion_proof(&hashes, index).unwrap(),
        })
        .collect();
    Fixture {
        bundle: Bundle {
            edxml,
            package: package.to_wire(),
            receipts: vec![receipt.to_wire()],
            rosters: vec![roster.to_wire()],
            facts,
            checkpoint: CheckpointEvidence {
                size: 4,
                note: note.render().into(),
                cosignatures: vec![cosignature.to_string()],
                timestamp: None,
            },
        },
        root,
    }
}

pub(super) fn fixture() -> Fixture {
    fixture_with(&key(4))
}

fn check(fixture: &Fixture) -> Result<Statement, BundleError> {
    let bytes = write(&fixture.bundle).unwrap();
    verify_bytes(&bytes, &VerifyOptions::new(fixture.root.public_key()))
}

#[test]
fn a_whole_bundle_verifies_and_says_who_sent_what_to_whom() {
    let fixture = fixture();
    let statement = check(&fixture).unwrap();
    assert_eq!(statement.sender.organ_id, organ(SENDER));
    assert_eq!(
        statement.sender.name.as_deref(),
        Some("Văn phòng Chính phủ")
    );
    assert_eq!(
        statement.subject.as_deref(),
        Some("Về việc thử gói chứng cứ")
    );
    assert_eq!(statement.recipients.len(), 1);
    let recipient = &statement.recipients[0];
    assert_eq!(recipient.recipient.organ_id, organ(RECIPIENT));
    assert_eq!(recipient.arrived_at, Some(at(20)));
    assert_eq!(recipient.answers[0].code, StatusCode::Arrived);
    assert_eq!(recipient.answers[0].signed_by.organ_id, organ(RECIPIENT));
    assert_eq!(statement.exporter.organ_id, organ(SENDER));
    assert_eq!(statement.checkpoint_size, 4);
    assert_eq!(statement.facts.len(), 2);
    assert_eq!(statement.witnesses.len(), 1);
    assert_eq!(statement.witnesses[0].witness.organ_id, organ(WITNESS));
    assert!(statement.timestamps.is_empty());
}

#[test]
fn the_container_is_asic_e_with_mimetype_first_and_stored() {
    let bytes = write(&fixture().bundle).unwrap();
    assert_eq!(&bytes[..4], b"PK\x03\x04");
    // Local header: compression method at 8 (0 = stored), name length at 26, name at 30.
    assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 0);
    let name_len = usize::from(u16::from_le_bytes([bytes[26], bytes[27]]));
    assert_eq!(&bytes[30..30 + name_len], b"mimetype");
    let manifest = read(&bytes, &Limits::default()).unwrap();
    assert_eq!(manifest, fixture().bundle);
}

fn failure(mutate: impl FnOnce(&mut Bundle)) -> BundleError {
    let mut fixture = fixture();
    mutate(&mut fixture.bundle);
    check(&fixture).unwrap_err()
}

fn flip(bytes: &mut Bytes, at: usize) {
    let mut owned = bytes.to_vec();
    let at = at.min(owned.len() - 1);
    owned[at] ^= 0x01;
    *bytes = owned.into();
}

#[test]
fn a_changed_edxml_byte_fails_naming_the_document() {
    let error = failure(|b| {
        let at = b.edxml.len() / 2;
        flip(&mut b.edxml, at);
    });
    assert!(
        matches!(error, BundleError::ContentMismatch { .. }),
        "{error}"
    );
    assert_eq!(error.file(), Some(EDXML_FILE));
}

#[test]
fn a_changed_receipt_byte_fails_naming_the_receipt() {
    let error = failure(|b| {
        let len = b.receipts[0].len();
        flip(&mut b.receipts[0], len - 10);
    });
    assert!(matches!(error, BundleError::Envelope { .. }), "{error}");
    assert_eq!(error.file(), Some("META-INF/lienthong/receipts/1.bin"));
}

#[test]
fn a_changed_leaf_fails_naming_it() {
    // A changed time still reads as a leaf: the proof no longer leads to the root.
    let error = failure(|b| flip(&mut b.facts[0].leaf, 3));
    assert!(matches!(error, BundleError::Proof { .. }), "{error}");
    assert!(error.to_string().contains("leaves/1.leaf"), "{error}");
    // A changed package id no longer names this package.
    let error = failure(|b| flip(&mut b.facts[0].leaf, 12));
    assert_eq!(
        error.file(),
        Some("META-INF/lienthong/leaves/1.leaf"),
        "{error}"
    );
}

#[test]
fn a_changed_proof_fails_naming_it() {
    let error = failure(|b| b.facts[1].proof[0][0] ^= 1);
    assert!(matches!(error, BundleError::Proof { .. }), "{error}");
    assert_eq!(error.file(), Some("META-INF/lienthong/proofs/2.proof"));
}

#[test]
fn a_changed_checkpoint_note_fails() {
    let error = failure(|b| {
        let text = String::from_utf8(b.checkpoint.note.to_vec()).unwrap();
        // The root hash's first base64 character, on the third line.
        let root_at = text.match_indices('\n').nth(1).unwrap().0 + 1;
        let mut bytes = text.into_bytes();
        bytes[root_at] = if bytes[root_at] == b'A' { b'B' } else { b'A' };
        b.checkpoint.note = bytes.into();
    });
    assert_eq!(
        error.file(),
        Some("META-INF/lienthong/checkpoints/4.note"),
        "{error}"
    );
}

#[test]
fn the_wrong_root_key_fails_at_the_roster() {
    let mut fixture = fixture();
    fixture.root = key(99);
    let error = check(&fixture).unwrap_err();
    assert!(matches!(error, BundleError::Roster { .. }), "{error}");
}

#[test]
fn a_cosignature_by_a_key_the_roster_does_not_list_fails() {
    let fixture = fixture_with(&key(77));
    let error = check(&fixture).unwrap_err();
    assert!(matches!(error, BundleError::Cosignature { .. }), "{error}");
    assert!(error.to_string().contains(WITNESS), "{error}");
}

#[test]
fn a_receipt_in_no_leaf_fails() {
    let error = failure(|b| {
        b.facts.remove(1);
    });
    assert!(matches!(error, BundleError::NotLogged { .. }), "{error}");
}

#[test]
fn a_timestamp_token_is_refused_until_tokens_are_verified() {
    let error = failure(|b| b.checkpoint.timestamp = Some(Bytes::from_static(b"token")));
    assert!(matches!(error, BundleError::Timestamp { .. }), "{error}");
}

/// The container's files, in order, with a change: `edit` gets each name and content and
/// returns what to write instead (`None` drops the file).
fn rewrite(
    bytes: &[u8],
    mut edit: impl FnMut(&str, Vec<u8>) -> Option<(String, Vec<u8>)>,
) -> Vec<u8> {
    use std::io::{Read as _, Write as _};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).unwrap();
        let name = file.name().to_owned();
        let mut content = Vec::new();
        file.read_to_end(&mut content).unwrap();
        if let Some((name, content)) = edit(&name, content) {
            out.start_file(name, stored).unwrap();
            out.write_all(&content).unwrap();
        }
    }
    out.finish().unwrap().into_inner()
}

fn read_error(bytes: &[u8], limits: &Limits) -> BundleError {
    read(bytes, limits).unwrap_err()
}

#[test]
fn a_missing_proof_file_fails_naming_it() {
    let bytes = write(&fixture().bundle).unwrap();
    let without = rewrite(&bytes, |name, content| {
        (name != "META-INF/lienthong/proofs/2.proof").then(|| (name.to_owned(), content))
    });
    let error = read_error(&without, &Limits::default());
    assert!(matches!(error, BundleError::Missing { .. }), "{error}");
    assert_eq!(error.file(), Some("META-INF/lienthong/proofs/2.proof"));
}

#[test]
fn path_tricks_and_unlisted_files_are_refused() {
    let bytes = write(&fixture().bundle).unwrap();
    for evil in [
        "../../etc/passwd",
        "/abs.edxml",
        "META-INF/lienthong/",
        "x/../document.edxml",
    ] {
        let mut added = false;
        let tricked = rewrite(&bytes, |name, content| {
            if name == "META-INF/lienthong/package.bin" && !added {
                added = true;
                return Some((evil.to_owned(), content));
            }
            Some((name.to_owned(), content))
        });
        let error = read_error(&tricked, &Limits::default());
        assert!(
            matches!(error, BundleError::UnexpectedFile { .. }),
            "{evil}: {error}"
        );
    }
}

#[test]
fn mimetype_must_come_first_stored_and_right() {
    let bytes = write(&fixture().bundle).unwrap();
    let wrong = rewrite(&bytes, |name, content| {
        Some((
            name.to_owned(),
            if name == "mimetype" {
                b"application/zip".to_vec()
            } else {
                content
            },
        ))
    });
    assert!(matches!(
        read_error(&wrong, &Limits::default()),
        BundleError::Mimetype { .. }
    ));
    let not_first = rewrite(&bytes, |name, content| {
        (name != "mimetype").then(|| (name.to_owned(), content))
    });
    assert!(matches!(
        read_error(&not_first, &Limits::default()),
        BundleError::Mimetype { .. }
    ));
}

#[test]
fn a_deflate_bomb_stops_at_the_limit() {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(MIMETYPE.as_bytes()).unwrap();
    zip.start_file("document.edxml", deflated).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..4 {
        zip.write_all(&zeros).unwrap();
    }
    let bomb = zip.finish().unwrap().into_inner();
    assert!(bomb.len() < 64 << 10, "{} bytes", bomb.len());
    let limits = Limits {
        max_document: 1 << 20,
        ..Limits::default()
    };
    let error = read_error(&bomb, &limits);
    assert!(matches!(error, BundleError::TooLarge { .. }), "{error}");
    assert_eq!(error.file(), Some("document.edxml"));
}

#[test]
fn a_file_left_out_of_the_manifest_is_refused() {
    let bytes = write(&fixture().bundle).unwrap();
    let edited = rewrite(&bytes, |name, content| {
        if name == "META-INF/manifest.xml" {
            let text = String::from_utf8(content).unwrap();
            let kept: String = text
                .lines()
                .filter(|line| !line.contains("receipts/1.bin"))
                .map(|line| format!("{line}\n"))
                .collect();
            return Some((name.to_owned(), kept.into_bytes()));
        }
        Some((name.to_owned(), content))
    });
    let error = read_error(&edited, &Limits::default());
    assert!(matches!(error, BundleError::Manifest { .. }), "{error}");
    assert!(error.to_string().contains("receipts/1.bin"), "{error}");
}

mod never_panics {
    use proptest::prelude::*;

    use super::super::{Limits, read};
    use super::{fixture, write};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = read(&bytes, &Limits::default());
        }

        #[test]
        fn a_valid_container_with_bytes_changed(
            changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
        ) {
            let mut bytes = write(&fixture().bundle).unwrap();
            for (at, value) in changes {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            if truncate {
                bytes.truncate(cut.index(bytes.len()));
            }
            if let Ok(bundle) = read(&bytes, &Limits::default()) {
                let _ = super::super::verify(
                    &bundle,
                    &super::super::VerifyOptions::new(fixture().root.public_key()),
                );
            }
        }
    }
}
