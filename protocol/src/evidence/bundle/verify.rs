//! Verifying a bundle offline, with nothing but the federation's root key (and, once
//! timestamps are wired, the TSA's certificate).
//!
//! In order, each step trusting only what the steps before it proved:
//!
//! 1. the signed package verifies, and the edXML file is the exact content it signs;
//! 2. every roster bundle verifies back to the root key;
//! 3. the package's key is the one a roster lists for its sender when it signed, and the
//!    edXML's `From` is that sender;
//! 4. every receipt verifies, is about this package, and is signed by the key a roster
//!    lists for its issuer when it signed;
//! 5. the checkpoint note is a checkpoint of the exporter's log (`lienthong/<organ_id>`),
//!    signed by the key a roster lists for the exporter;
//! 6. every leaf reads, is rebuilt byte for byte from the signed objects it names (the
//!    package's content hash, a receipt in the bundle), and its inclusion proof leads to
//!    the checkpoint's root; the package and every receipt appear in some leaf;
//! 7. every cosignature line is by the key a roster lists for the witness it names, over
//!    this checkpoint;
//! 8. the timestamp token, if any ([`super::timestamp`]).

use super::container::{Limits, read};
use super::error::BundleError;
use super::layout::{EDXML_FILE, Entry, PACKAGE_FILE};
use super::statement::{Answer, FactSeen, Party, RecipientStatement, Statement, Witnessed};
use super::timestamp::verify_timestamp;
use super::{Bundle, LoggedFact};
use crate::edxml;
use crate::envelope::{EnvelopeLimits, ReceiptId, SignedPackage, SignedReceipt, Timestamp};
use crate::evidence::{
    EvidenceLeaf, Fact, ORIGIN_PREFIX, WITNESS_PREFIX, checkpoint_verifier, witness_verifier,
};
use crate::keys::PublicKey;
use crate::organ_id::OrganId;
use crate::roster::{AgencyRecord, MemberStatus, RosterBundle};
use crate::tlog::{self, Checkpoint, Note, NoteSignature};

/// What the verifier is given besides the bundle.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The federation's root key: the one thing trusted.
    pub root_key: PublicKey,
    /// The TSA's certificate (DER or PEM), for timestamp tokens.
    pub tsa_certificate: Option<Vec<u8>>,
    /// How much the container reader takes.
    pub limits: Limits,
    /// How large the envelopes may be.
    pub envelope_limits: EnvelopeLimits,
}

impl VerifyOptions {
    /// Default limits, no TSA certificate.
    pub fn new(root_key: PublicKey) -> Self {
        VerifyOptions {
            root_key,
            tsa_certificate: None,
            limits: Limits::default(),
            envelope_limits: EnvelopeLimits::default(),
        }
    }
}

/// Reads a container and verifies it.
///
/// # Errors
/// The [`BundleError`] naming the first file and check that failed.
pub fn verify_bytes(bytes: &[u8], options: &VerifyOptions) -> Result<Statement, BundleError> {
    verify(&read(bytes, &options.limits)?, options)
}

/// Verifies a bundle (see the module docs for the checks) and says what it proves.
///
/// # Errors
/// The [`BundleError`] naming the first file and check that failed.
pub fn verify(bundle: &Bundle, options: &VerifyOptions) -> Result<Statement, BundleError> {
    // 1. The package and its content.
    let package = SignedPackage::from_wire(bundle.package.clone(), &options.envelope_limits)
        .map_err(|source| BundleError::Envelope {
            file: PACKAGE_FILE.into(),
            source,
        })?;
    if bundle.edxml != package.content() {
        return Err(BundleError::ContentMismatch {
            file: EDXML_FILE.into(),
            found: hex::encode(sha256(&bundle.edxml)),
            signed: hex::encode(package.content_sha256()),
        });
    }

    // 2. The rosters.
    let rosters = bundle
        .rosters
        .iter()
        .enumerate()
        .map(|(n, wire)| {
            RosterBundle::from_wire(wire.clone(), &options.root_key, package.created_at()).map_err(
                |source| BundleError::Roster {
                    file: Entry::Roster(number(n)).name(),
                    source,
                },
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let keys = Keys { rosters: &rosters };

    // 3. The sender's key, and the edXML's From.
    keys.check(
        PACKAGE_FILE,
        package.sender(),
        package.signer(),
        package.created_at(),
    )?;
    let parsed = edxml::read(bundle.edxml.clone()).map_err(|e| BundleError::Malformed {
        file: EDXML_FILE.into(),
        problem: format!("does not read as edXML: {e}"),
    })?;
    if parsed.message.from() != package.sender() {
        return Err(BundleError::Malformed {
            file: EDXML_FILE.into(),
            problem: format!(
                "From is {}, but the package is signed as sent by {}",
                parsed.message.from(),
                package.sender()
            ),
        });
    }

    // 4. The receipts.
    let mut receipts = Vec::with_capacity(bundle.receipts.len());
    for (n, wire) in bundle.receipts.iter().enumerate() {
        let file = Entry::Receipt(number(n)).name();
        let receipt =
            SignedReceipt::from_wire(wire.clone(), &options.envelope_limits).map_err(|source| {
                BundleError::Envelope {
                    file: file.clone(),
                    source,
                }
            })?;
        if receipt.package_id() != package.id() {
            return Err(BundleError::OtherPackage {
                file,
                found: receipt.package_id().to_string(),
                expected: package.id().to_string(),
            });
        }
        keys.check(
            &file,
            receipt.issuer(),
            receipt.signer(),
            receipt.issued_at(),
        )?;
        receipts.push((file, receipt));
    }

    // 5. The checkpoint.
    let checkpoint = &bundle.checkpoint;
    let note_file = Entry::Note(checkpoint.size).name();
    let bad_checkpoint = |problem: String| BundleError::Checkpoint {
        file: note_file.clone(),
        problem,
    };
    let note = Note::parse(&checkpoint.note)
        .map_err(|e| bad_checkpoint(format!("not a signed note: {e}")))?;
    let body = Checkpoint::parse(note.text())
        .map_err(|e| bad_checkpoint(format!("not a checkpoint: {e}")))?;
    if body.size != checkpoint.size {
        return Err(bad_checkpoint(format!(
            "covers {} leaves, not the {} its name says",
            body.size, checkpoint.size
        )));
    }
    let exporter: OrganId = body
        .origin
        .strip_prefix(ORIGIN_PREFIX)
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| {
            bad_checkpoint(format!(
                "origin {:?} is not a lienthong agency's log",
                body.origin
            ))
        })?;
    let exporter_keys = keys.all_keys(&exporter);
    if exporter_keys.is_empty() {
        return Err(bad_checkpoint(format!(
            "no roster in the bundle lists {exporter}, whose log it is"
        )));
    }
    let verifiers = exporter_keys
        .into_iter()
        .map(|key| checkpoint_verifier(&exporter, key))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_checkpoint(e.to_string()))?;
    note.verify(&verifiers)
        .map_err(|source| BundleError::NoteSignature {
            file: note_file.clone(),
            source,
        })?;

    // 6. The facts.
    let facts = bundle
        .facts
        .iter()
        .map(|fact| {
            check_fact(
                fact,
                &package,
                &receipts,
                &exporter,
                checkpoint.size,
                &body.root,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !facts
        .iter()
        .any(|f| matches!(f.kind, "package_submitted" | "package_received"))
    {
        return Err(BundleError::NotLogged {
            file: PACKAGE_FILE.into(),
        });
    }
    for (file, receipt) in &receipts {
        if !facts.iter().any(|f| f.receipt_id == Some(receipt.id())) {
            return Err(BundleError::NotLogged { file: file.clone() });
        }
    }

    // 7. The witnesses.
    let cosignatures_file = Entry::Cosignatures(checkpoint.size).name();
    let mut witnesses = Vec::new();
    for (n, line) in checkpoint.cosignatures.iter().enumerate() {
        let signature = NoteSignature::parse(line).map_err(|e| BundleError::Malformed {
            file: cosignatures_file.clone(),
            problem: format!("line {} is not a signature line: {e}", n + 1),
        })?;
        let unknown = || BundleError::UnknownWitness {
            file: cosignatures_file.clone(),
            line: n + 1,
            name: signature.name().to_owned(),
        };
        let witness: OrganId = signature
            .name()
            .strip_prefix(WITNESS_PREFIX)
            .and_then(|id| id.parse().ok())
            .ok_or_else(unknown)?;
        let candidates = keys.all_keys(&witness);
        if candidates.is_empty() {
            return Err(unknown());
        }
        let mut first_error = None;
        let mut time = None;
        for key in candidates {
            let verifier =
                witness_verifier(&witness, key).map_err(|e| BundleError::Cosignature {
                    file: cosignatures_file.clone(),
                    line: n + 1,
                    witness: witness.to_string(),
                    source: e.into(),
                })?;
            match tlog::verify_cosignature(note.text(), &signature, &verifier) {
                Ok(t) => {
                    time = Some(t);
                    break;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let Some(time) = time else {
            return Err(BundleError::Cosignature {
                file: cosignatures_file.clone(),
                line: n + 1,
                witness: witness.to_string(),
                source: first_error.ok_or_else(unknown)?,
            });
        };
        witnesses.push(Witnessed {
            witness: keys.party(&witness),
            cosigned_at: Timestamp::from_millis(time.saturating_mul(1000)),
        });
    }

    // 8. The timestamp.
    let timestamps = verify_timestamp(
        checkpoint.size,
        checkpoint.timestamp.as_deref(),
        &checkpoint.note,
        options.tsa_certificate.as_deref(),
    )?;

    let document = parsed.message.as_document();
    Ok(Statement {
        package_id: package.id(),
        kind: package.kind(),
        document_id: parsed.message.document_id().map(str::to_owned),
        number: document
            .and_then(|d| d.code.as_ref())
            .map(|code| format!("{}/{}", code.number, code.notation)),
        subject: document.and_then(|d| d.subject.clone()),
        content_sha256: hex::encode(package.content_sha256()),
        sender: keys.party(package.sender()),
        signed_at: package.created_at(),
        signed_with: package.signer().to_string(),
        recipients: package
            .recipients()
            .iter()
            .map(|recipient| recipient_statement(recipient, &receipts, &keys))
            .collect(),
        exporter: keys.party(&exporter),
        facts,
        checkpoint_size: checkpoint.size,
        checkpoint_root: hex::encode(body.root),
        witnesses,
        timestamps,
        roster_serials: rosters.iter().map(|r| r.roster().root_serial).collect(),
    })
}

/// File numbers start at 1.
fn number(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX).saturating_add(1)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// The rosters, asked about keys.
struct Keys<'a> {
    rosters: &'a [RosterBundle],
}

impl Keys<'_> {
    fn records<'r>(&'r self, organ_id: &'r OrganId) -> impl Iterator<Item = &'r AgencyRecord> {
        self.rosters
            .iter()
            .filter_map(move |r| r.roster().agency(organ_id))
    }

    /// `key` speaks for `organ_id` at `at` in some roster.
    fn check(
        &self,
        file: &str,
        organ_id: &OrganId,
        key: &PublicKey,
        at: Timestamp,
    ) -> Result<(), BundleError> {
        let mut why = format!("no roster lists {organ_id}");
        for record in self.records(organ_id) {
            let status = record.status_at(at);
            if status != MemberStatus::Active {
                why = format!("its standing then was {status}");
            } else if !record.accepts_key(key, at) {
                why = format!("the roster lists key {}", record.public_key.fmt_short());
            } else {
                return Ok(());
            }
        }
        Err(BundleError::KeyNotListed {
            file: file.into(),
            organ_id: organ_id.to_string(),
            key: key.fmt_short().to_string(),
            at: at.to_string(),
            why,
        })
    }

    /// Every key any roster lists for `organ_id`, current and previous.
    fn all_keys(&self, organ_id: &OrganId) -> Vec<PublicKey> {
        let mut keys = Vec::new();
        for record in self.records(organ_id) {
            for key in std::iter::once(&record.public_key)
                .chain(record.previous_keys.iter().map(|p| &p.public_key))
            {
                if !keys.contains(key) {
                    keys.push(*key);
                }
            }
        }
        keys
    }

    fn party(&self, organ_id: &OrganId) -> Party {
        Party {
            organ_id: organ_id.clone(),
            name: self.records(organ_id).next().map(|r| r.name.clone()),
        }
    }
}

/// Step 6 for one leaf.
fn check_fact(
    fact: &LoggedFact,
    package: &SignedPackage,
    receipts: &[(String, SignedReceipt)],
    exporter: &OrganId,
    size: u64,
    root: &tlog::Hash,
) -> Result<FactSeen, BundleError> {
    let file = Entry::Leaf(fact.index).name();
    let problem = |problem: String| BundleError::Leaf {
        file: file.clone(),
        problem,
    };
    let leaf = EvidenceLeaf::decode(&fact.leaf)
        .map_err(|e| problem(format!("not an evidence leaf: {e}")))?;
    if leaf.encode() != fact.leaf {
        return Err(problem("not in the leaf's canonical form".into()));
    }
    if leaf.fact.package() != Some(&package.id()) {
        return Err(problem(match leaf.fact.package() {
            Some(other) => format!("about package {other}, not this one"),
            None => "not about a package".into(),
        }));
    }
    let content = |kind: &str, sha: &[u8; 32]| {
        if sha == package.content_sha256() {
            Ok(())
        } else {
            Err(problem(format!(
                "{kind} names edXML SHA-256 {}, the package signs {}",
                hex::encode(sha),
                hex::encode(package.content_sha256())
            )))
        }
    };
    let held = |receipt: &ReceiptId| {
        receipts
            .iter()
            .find(|(_, r)| r.id() == *receipt)
            .map(|(_, r)| r)
            .ok_or_else(|| {
                problem(format!(
                    "names receipt {receipt}, which the bundle does not hold"
                ))
            })
    };
    let (kind, receipt_id) = match &leaf.fact {
        Fact::PackageSubmitted { content_sha256, .. } => {
            if package.sender() != exporter {
                return Err(problem(format!(
                    "says {exporter} submitted the package, which {} sent",
                    package.sender()
                )));
            }
            content("package_submitted", content_sha256)?;
            ("package_submitted", None)
        }
        Fact::PackageReceived { content_sha256, .. } => {
            if !package.recipients().contains(exporter) {
                return Err(problem(format!(
                    "says {exporter} received the package, which is not addressed to it"
                )));
            }
            content("package_received", content_sha256)?;
            ("package_received", None)
        }
        Fact::ReceiptSigned { receipt, .. } => {
            let signed = held(receipt)?;
            if signed.issuer() != exporter {
                return Err(problem(format!(
                    "says {exporter} signed receipt {receipt}, which {} issued",
                    signed.issuer()
                )));
            }
            ("receipt_signed", Some(*receipt))
        }
        Fact::ReceiptRecorded { receipt, .. } => {
            held(receipt)?;
            ("receipt_recorded", Some(*receipt))
        }
        other => {
            return Err(problem(format!(
                "a fact of kind {:#04x}, which bundles do not carry",
                other.kind()
            )));
        }
    };
    tlog::verify_inclusion(
        &tlog::leaf_hash(&fact.leaf),
        fact.index,
        size,
        &fact.proof,
        root,
    )
    .map_err(|source| BundleError::Proof {
        file: Entry::Proof(fact.index).name(),
        leaf: file.clone(),
        source,
    })?;
    Ok(FactSeen {
        index: fact.index,
        kind,
        at: leaf.at,
        receipt_id,
    })
}

fn recipient_statement(
    recipient: &OrganId,
    receipts: &[(String, SignedReceipt)],
    keys: &Keys<'_>,
) -> RecipientStatement {
    let mut answers: Vec<Answer> = receipts
        .iter()
        .map(|(_, r)| r)
        .filter(|r| r.recipient() == recipient)
        .map(|r| Answer {
            receipt_id: r.id(),
            code: r.code(),
            label_vi: r.code().label_vi(),
            issued_at: r.issued_at(),
            signed_by: keys.party(r.issuer()),
            signed_with: r.signer().to_string(),
            description: r.description().map(str::to_owned),
        })
        .collect();
    answers.sort_by_key(|a| (a.issued_at, a.code.number()));
    RecipientStatement {
        recipient: keys.party(recipient),
        arrived_at: answers
            .iter()
            .find(|a| a.code == crate::StatusCode::Arrived)
            .map(|a| a.issued_at),
        answers,
    }
}
