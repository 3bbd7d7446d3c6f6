//! Evidence bundles with real `lienthong` processes on loopback: the Government Office sends
//! the official sample document to Nghệ An, which answers with the official 03 sample; a
//! relay witnesses the Government Office's log. The bundle each side exports verifies
//! offline with the root key alone and says who sent what to whom, what came back and
//! who signed and witnessed it; every kind of damage fails naming the file that failed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, bail};
use bytes::Bytes;
use lienthong_protocol::AgencyKey;
use lienthong_protocol::evidence::bundle::{self, Bundle, Limits};
use lienthong_protocol::evidence::witness_name;
use lienthong_protocol::tlog::{self, Note};
use lienthong_tests::tsa::TestTsa;
use lienthong_tests::{
    Federation, ProcessNode, configure, lienthong, lienthong_bin, sample, sample_document, wait_for,
};
use serde_json::Value;

const VPCP: &str = "000.00.00.G22";
const NGHE_AN: &str = "000.00.00.H41";
const RELAY: &str = "000.00.90.H53";
const DEADLINE: Duration = Duration::from_secs(90);

struct Setup {
    federation: Federation,
    vpcp_dir: PathBuf,
    nghe_an_dir: PathBuf,
    vpcp: ProcessNode,
    nghe_an: ProcessNode,
    _relay: ProcessNode,
    package: String,
}

/// The relay-witness, the Government Office (its relay the witness) and Nghệ An, running;
/// the document sent, delivered and answered with 03.
fn exchange(name: &str) -> anyhow::Result<Setup> {
    exchange_timestamped(name, None)
}

/// [`exchange`], the Government Office's checkpoints dated by `tsa` when there is one.
fn exchange_timestamped(name: &str, tsa: Option<&TestTsa>) -> anyhow::Result<Setup> {
    let federation = Federation::new(name)?;
    let relay_dir = federation.init_on(
        RELAY,
        "Trạm chuyển tiếp tỉnh",
        &["/ip4/127.0.0.1/tcp/0"],
        "127.0.0.1:0",
        "relay",
    )?;
    configure(&relay_dir, "witness", "true")?;
    let vpcp_dir = federation.init(VPCP, "Văn phòng Chính phủ")?;
    let nghe_an_dir = federation.init(NGHE_AN, "UBND tỉnh Nghệ An")?;
    if let Some(tsa) = tsa {
        configure(&vpcp_dir, "timestamp_url", &format!("{:?}", tsa.url()))?;
        configure(
            &vpcp_dir,
            "tsa_cert_file",
            &format!("{:?}", tsa.cert_file().display().to_string()),
        )?;
        configure(&vpcp_dir, "timestamp_retry", "\"200ms\"")?;
    }
    let relay = ProcessNode::start(&relay_dir)?;
    let vpcp = ProcessNode::start(&vpcp_dir)?;
    let nghe_an = ProcessNode::start(&nghe_an_dir)?;
    federation.admit(&relay_dir)?;
    federation.admit_with_relays(&vpcp_dir, &[RELAY])?;
    federation.admit(&nghe_an_dir)?;
    federation.wait_roster(&[&relay, &vpcp, &nghe_an])?;

    let package = vpcp.submit(&sample_document(VPCP, NGHE_AN))?;
    vpcp.wait_state(&package, NGHE_AN, "delivered", DEADLINE)?;
    let (code, body) = nghe_an.post("/api/v1/packages", &sample("status_acceptance_03.edxml"))?;
    if code != 202 {
        bail!("status refused: {code} {}", String::from_utf8_lossy(&body));
    }
    wait_for(
        "Nghệ An's 03 back at the Government Office",
        DEADLINE,
        || {
            let (_, codes) = vpcp.recipient_state(&package, NGHE_AN).ok()?;
            (codes == ["01", "03"]).then_some(())
        },
    )?;
    Ok(Setup {
        federation,
        vpcp_dir,
        nghe_an_dir,
        vpcp,
        nghe_an,
        _relay: relay,
        package,
    })
}

/// Signs a checkpoint at the Government Office and waits for the relay's cosignature.
fn witnessed_checkpoint(node: &ProcessNode) -> anyhow::Result<()> {
    let size = node.take_checkpoint()?;
    wait_for("the relay's cosignature", DEADLINE, || {
        let latest = node.get_json("/api/v1/evidence/checkpoint").ok()?;
        (latest["size"].as_u64()? >= size
            && latest["cosignatures"]
                .as_array()?
                .iter()
                .any(|c| c["witness"] == RELAY))
        .then_some(())
    })
}

fn export(dir: &Path, package: &str, out: &Path) -> anyhow::Result<()> {
    lienthong(&[
        "evidence",
        "export",
        "--data-dir",
        dir.to_str().expect("UTF-8"),
        package,
        "--out",
        out.to_str().expect("UTF-8"),
    ])?;
    Ok(())
}

/// `lienthong evidence verify FILE --root ROOT ARGS…`: exit success and standard output.
fn verify(file: &Path, root: &Path, args: &[&str]) -> anyhow::Result<(bool, String)> {
    let output = Command::new(lienthong_bin())
        .args(["evidence", "verify"])
        .arg(file)
        .arg("--root")
        .arg(root)
        .args(args)
        .output()?;
    Ok((
        output.status.success(),
        String::from_utf8(output.stdout)? + &String::from_utf8_lossy(&output.stderr),
    ))
}

/// Verifies with `--json`; on failure, the file and error it names.
fn failure(file: &Path, root: &Path) -> anyhow::Result<(String, String)> {
    let (ok, out) = verify(file, root, &["--json"])?;
    if ok {
        bail!("{} verified, but it is damaged: {out}", file.display());
    }
    let answer: Value = serde_json::from_str(&out)?;
    Ok((
        answer["file"].as_str().unwrap_or_default().to_owned(),
        answer["error"].as_str().unwrap_or_default().to_owned(),
    ))
}

fn flip(bytes: &mut Bytes, at: usize) {
    let mut owned = bytes.to_vec();
    owned[at] ^= 0x01;
    *bytes = owned.into();
}

/// One way to damage a bundle.
type Damage = Box<dyn FnOnce(&mut Bundle)>;

/// Writes `bundle` changed by `edit` beside `dir`, as `name`.
fn damaged(
    bundle: &Bundle,
    dir: &Path,
    name: &str,
    edit: impl FnOnce(&mut Bundle),
) -> anyhow::Result<PathBuf> {
    let mut copy = bundle.clone();
    edit(&mut copy);
    let path = dir.join(name);
    std::fs::write(&path, bundle::write(&copy)?)?;
    Ok(path)
}

#[test]
fn a_bundle_from_the_sender_verifies_and_every_damage_fails_naming_the_file() -> anyhow::Result<()>
{
    let s = exchange("gói chứng cứ bên gửi")?;
    witnessed_checkpoint(&s.vpcp)?;
    let dir = s.federation.root().to_owned();
    let root = s.federation.dir().join("root.pub");
    let exported = dir.join("vpcp.asice");
    export(&s.vpcp_dir, &s.package, &exported)?;

    // In Vietnamese by default: who sent what to whom, what came back, signed, witnessed.
    let (ok, text) = verify(&exported, &root, &[])?;
    assert!(ok, "{text}");
    println!("{text}");
    for expected in [
        "GÓI CHỨNG CỨ HỢP LỆ",
        "Văn phòng Chính phủ (000.00.00.G22)",
        "UBND tỉnh Nghệ An (000.00.00.H41)",
        "01 Đã đến",
        "03 Đã tiếp nhận",
        "7816/VPCP-TTĐT",
        "Trạm chuyển tiếp tỉnh (000.00.90.H53)",
        "không có dấu thời gian",
        s.package.as_str(),
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    let (ok, english) = verify(&exported, &root, &["--lang", "en"])?;
    assert!(
        ok && english.contains("03 accepted: signed by UBND tỉnh Nghệ An"),
        "{english}"
    );
    let (ok, json) = verify(&exported, &root, &["--json"])?;
    assert!(ok, "{json}");
    let json: Value = serde_json::from_str(&json)?;
    let statement = &json["statement"];
    assert_eq!(statement["sender"]["organ_id"], VPCP);
    assert_eq!(statement["recipients"][0]["recipient"]["organ_id"], NGHE_AN);
    let codes: Vec<&str> = statement["recipients"][0]["answers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["code"].as_str())
        .collect();
    assert_eq!(codes, ["01", "03"]);
    assert_eq!(statement["witnesses"][0]["witness"]["organ_id"], RELAY);
    assert_eq!(statement["exporter"]["organ_id"], VPCP);

    // The API answers the same container, as a download.
    let (status, body) = s
        .vpcp
        .get(&format!("/api/v1/packages/{}/evidence", s.package))?;
    assert_eq!(status, 200);
    assert_eq!(&body[30..38], b"mimetype");
    // The dashboard offers it under each document (fetched with the token, as a download).
    let (_, page) = s.vpcp.get("/")?;
    let page = String::from_utf8_lossy(&page);
    assert!(
        page.contains("\"/evidence\"")
            && page.contains("Tải gói chứng cứ")
            && page.contains(".asice"),
        "the dashboard has no evidence link"
    );

    // Damage, one kind at a time.
    let bytes = std::fs::read(&exported)?;
    let good = bundle::read(&bytes, &Limits::default())?;
    let cases: Vec<(&str, Damage, &str)> = vec![
        (
            "edxml",
            Box::new(|b: &mut Bundle| {
                let at = b.edxml.len() / 2;
                flip(&mut b.edxml, at);
            }),
            "document.edxml",
        ),
        (
            "receipt",
            Box::new(|b: &mut Bundle| {
                let at = b.receipts[0].len() - 20;
                flip(&mut b.receipts[0], at);
            }),
            "META-INF/lienthong/receipts/1.bin",
        ),
        (
            "leaf",
            Box::new(|b: &mut Bundle| flip(&mut b.facts[0].leaf, 20)),
            "META-INF/lienthong/leaves/",
        ),
        (
            "proof",
            Box::new(|b: &mut Bundle| {
                let fact = b
                    .facts
                    .iter_mut()
                    .find(|f| !f.proof.is_empty())
                    .expect("a proof");
                fact.proof[0][5] ^= 1;
            }),
            "META-INF/lienthong/proofs/",
        ),
        (
            "note",
            Box::new(|b: &mut Bundle| {
                // The size line: a checkpoint of another size.
                let text = String::from_utf8(b.checkpoint.note.to_vec()).expect("UTF-8");
                let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
                lines[1] = (b.checkpoint.size + 1).to_string();
                b.checkpoint.note = lines.join("\n").into();
            }),
            "META-INF/lienthong/checkpoints/",
        ),
    ];
    for (what, edit, expected_file) in cases {
        let path = damaged(&good, &dir, &format!("{what}.asice"), edit)?;
        let (file, error) = failure(&path, &root)?;
        assert!(
            file.starts_with(expected_file),
            "changed {what}: failed at {file:?} ({error}), not {expected_file}"
        );
    }

    // A checkpoint note signed again by a key the roster does not list for its origin.
    let path = damaged(&good, &dir, "note-key.asice", |b| {
        let note = Note::parse(&b.checkpoint.note).expect("a note");
        let origin = note.text().lines().next().expect("origin").to_owned();
        let resigned = tlog::sign_note(note.text(), &origin, &AgencyKey::generate().expect("key"))
            .expect("signs");
        b.checkpoint.note = resigned.render().into();
    })?;
    let (file, error) = failure(&path, &root)?;
    assert!(
        file.ends_with(".note") && error.contains("signature"),
        "{file}: {error}"
    );

    // A cosignature by a key the roster does not list for the witness it names.
    let path = damaged(&good, &dir, "cosignature.asice", |b| {
        let note = Note::parse(&b.checkpoint.note).expect("a note");
        let line = tlog::cosign(
            note.text(),
            &AgencyKey::generate().expect("key"),
            &witness_name(&RELAY.parse().expect("id")),
            1_765_000_000,
        )
        .expect("cosigns");
        b.checkpoint.cosignatures = vec![line.to_string()];
    })?;
    let (file, error) = failure(&path, &root)?;
    assert!(file.ends_with(".cosignatures"), "{file}: {error}");
    assert!(error.contains(RELAY), "{error}");

    // A missing proof file (the manifest still lists it).
    let proof_name = format!("META-INF/lienthong/proofs/{}.proof", good.facts[0].index);
    let path = dir.join("missing-proof.asice");
    std::fs::write(&path, without_file(&bytes, &proof_name)?)?;
    let (file, error) = failure(&path, &root)?;
    assert_eq!(file, proof_name, "{error}");
    assert!(error.contains("missing"), "{error}");

    // The wrong root key.
    let other_root = dir.join("other-root.pub");
    std::fs::write(
        &other_root,
        format!("{}\n", AgencyKey::generate()?.public_key()),
    )?;
    let (file, error) = failure(&exported, &other_root)?;
    assert!(
        file.contains("rosters/") && error.contains("root key"),
        "{file}: {error}"
    );
    let (ok, text) = verify(&path, &root, &[])?;
    assert!(
        !ok && text.contains("KHÔNG HỢP LỆ")
            && text.contains(&format!("Lý do: {proof_name}: bị thiếu")),
        "{text}"
    );
    Ok(())
}

/// The container without one file, rebuilt with the bundle writer's own pieces: the
/// manifest and everything else as they were.
fn without_file(bytes: &[u8], name: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::{Read as _, Write as _};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))?;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for index in 0..archive.len() {
        let mut file = archive.by_index(index)?;
        if file.name() == name {
            continue;
        }
        let file_name = file.name().to_owned();
        let mut content = Vec::new();
        file.read_to_end(&mut content)?;
        out.start_file(file_name, stored)?;
        out.write_all(&content)?;
    }
    Ok(out.finish()?.into_inner())
}

#[test]
fn a_bundle_from_the_recipient_verifies_with_its_own_facts() -> anyhow::Result<()> {
    let s = exchange("gói chứng cứ bên nhận")?;
    let dir = s.federation.root().to_owned();
    let file = dir.join("nghe-an.asice");
    export(&s.nghe_an_dir, &s.package, &file)?;
    let (ok, json) = verify(&file, &s.federation.dir().join("root.pub"), &["--json"])?;
    assert!(ok, "{json}");
    let statement = &serde_json::from_str::<Value>(&json)?["statement"];
    assert_eq!(statement["exporter"]["organ_id"], NGHE_AN);
    let kinds: Vec<&str> = statement["facts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"package_received"), "{kinds:?}");
    assert!(kinds.contains(&"receipt_signed"), "{kinds:?}");
    assert_eq!(statement["sender"]["organ_id"], VPCP);
    drop(s.nghe_an);
    Ok(())
}

#[test]
fn a_timestamped_bundle_verifies_with_the_tsa_certificate_and_fails_without_it_or_tampered()
-> anyhow::Result<()> {
    let tsa = TestTsa::start()?;
    let s = exchange_timestamped("gói chứng cứ có dấu thời gian", Some(&tsa))?;
    witnessed_checkpoint(&s.vpcp)?;
    // The TSA dates the latest checkpoint after each one is signed.
    wait_for("the witnessed checkpoint timestamped", DEADLINE, || {
        let latest = s.vpcp.get_json("/api/v1/evidence/checkpoint").ok()?;
        (latest["timestamp"].is_object()
            && latest["cosignatures"]
                .as_array()?
                .iter()
                .any(|c| c["witness"] == RELAY))
        .then_some(())
    })?;
    let dir = s.federation.root().to_owned();
    let root = s.federation.dir().join("root.pub");
    let exported = dir.join("timestamped.asice");
    export(&s.vpcp_dir, &s.package, &exported)?;
    let cert = tsa.cert_file();
    let cert = cert.to_str().expect("UTF-8");

    // With the TSA's certificate: valid, timestamped and witnessed, in Vietnamese and JSON.
    let (ok, text) = verify(&exported, &root, &["--tsa-cert", cert])?;
    assert!(ok, "{text}");
    assert!(
        text.contains("Dấu thời gian:") && text.contains("đóng dấu (RFC 3161"),
        "no timestamp in:\n{text}"
    );
    let (ok, json) = verify(&exported, &root, &["--tsa-cert", cert, "--json"])?;
    assert!(ok, "{json}");
    let json: Value = serde_json::from_str(&json)?;
    let stamps = json["statement"]["timestamps"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(stamps.len(), 1, "{json}");
    assert!(
        stamps[0]["tsa"].as_str().is_some_and(|t| !t.is_empty()),
        "{json}"
    );

    // Without the certificate the token cannot be checked: refused, saying what to give.
    let (file, error) = failure(&exported, &root)?;
    assert!(file.starts_with("META-INF/lienthong/timestamps/"), "{file}");
    assert!(error.contains("--tsa-cert"), "{error}");

    // Another TSA's certificate: refused.
    let other = TestTsa::start()?;
    let other_cert = other.cert_file();
    let (ok, out) = verify(
        &exported,
        &root,
        &["--tsa-cert", other_cert.to_str().expect("UTF-8"), "--json"],
    )?;
    assert!(!ok, "verified against another TSA: {out}");
    assert_names_the_token(&out)?;

    // A changed byte in the token: refused, naming the token's file.
    let bundle = bundle::read(&std::fs::read(&exported)?, &Limits::default())?;
    let last = bundle
        .checkpoint
        .timestamp
        .as_ref()
        .map(|t| t.len() - 1)
        .ok_or_else(|| anyhow!("the bundle holds no token"))?;
    let tampered = damaged(&bundle, &dir, "token.asice", |b| {
        if let Some(token) = b.checkpoint.timestamp.as_mut() {
            flip(token, last / 2);
        }
    })?;
    let (ok, out) = verify(&tampered, &root, &["--tsa-cert", cert, "--json"])?;
    assert!(!ok, "a tampered token verified: {out}");
    assert_names_the_token(&out)?;
    Ok(())
}

/// Asserts that `verify --json`'s failure names the bundle's timestamp token as the file
/// that failed.
fn assert_names_the_token(out: &str) -> anyhow::Result<()> {
    let answer: Value = serde_json::from_str(out)?;
    assert!(
        answer["file"]
            .as_str()
            .is_some_and(|f| f.starts_with("META-INF/lienthong/timestamps/")),
        "{answer}"
    );
    Ok(())
}
