//! `lienthong edxml check`: what it prints for the real samples and for broken files, and its
//! exit status.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn samples_dir() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = match std::env::var_os("LIENTHONG_SHARED") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("../shared"),
    };
    let dir = shared.join("edxml-samples");
    assert!(
        dir.is_dir(),
        "shared edXML samples missing at {}",
        dir.display()
    );
    dir
}

fn check(args: &[&str], files: &[PathBuf]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_lienthong"))
        .args(["edxml", "check"])
        .args(args)
        .args(files)
        .output()
        .expect("runs lienthong");
    (
        output.status.code().expect("exit code"),
        String::from_utf8(output.stdout).expect("utf-8"),
    )
}

fn edxml_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(samples_dir())
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "edxml"))
        .collect();
    files.sort();
    files
}

#[test]
fn json_reports_what_every_sample_holds() {
    let files = edxml_files();
    let (code, stdout) = check(&["--json"], &files);
    assert_eq!(code, 1, "edoc.edxml is not valid, so the exit status is 1");
    let reports: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(reports.len(), files.len());
    for report in &reports {
        let file = report["file"].as_str().expect("file");
        let name = file.rsplit('/').next().expect("name");
        for key in [
            "file",
            "ok",
            "kind",
            "from",
            "to",
            "document_id",
            "attachments",
            "warnings",
            "error",
        ] {
            assert!(report.get(key).is_some(), "{name}: no {key}");
        }
        if name == "edoc.edxml" {
            assert_eq!(report["ok"], false);
            assert_eq!(report["error_line"], 74);
            assert_eq!(report["error_column"], 7);
            assert!(
                report["error"]
                    .as_str()
                    .expect("error")
                    .starts_with("74:7: not well-formed XML")
            );
            continue;
        }
        assert_eq!(report["ok"], true, "{name}: {report}");
        assert_eq!(report["error"], Value::Null);
        assert_eq!(report["warnings"], serde_json::json!([]), "{name}");
        assert_eq!(
            report["document_id"],
            "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
        );
        if name.starts_with("status") {
            assert_eq!(report["kind"], "status");
            let code = report["status_code"].as_str().expect("status_code");
            assert_eq!(code.len(), 2, "as written: {code}");
            if code == "13" {
                assert_eq!(report["from"], "000.00.00.G22");
                assert_eq!(report["to"], serde_json::json!(["000.00.00.H41"]));
            } else {
                assert_eq!(report["from"], "000.00.00.H41");
                assert_eq!(report["to"], serde_json::json!(["000.00.00.G22"]));
            }
            assert_eq!(report["attachments"], 0);
        } else {
            assert_eq!(report["kind"], "edoc");
            assert_eq!(report["attachments"], 1);
            let expected_type = match name {
                "edoc_revocation.edxml" => 1,
                "edoc_update.edxml" => 2,
                "edoc_replacement.edxml" => 3,
                _ => 0,
            };
            assert_eq!(report["business_doc_type"], expected_type, "{name}");
        }
    }
    let codes: Vec<&str> = reports
        .iter()
        .filter_map(|r| r["status_code"].as_str())
        .collect();
    for code in ["01", "02", "03", "04", "05", "06", "13", "15", "16"] {
        assert!(codes.contains(&code), "status {code} among {codes:?}");
    }
}

#[test]
fn text_summary_and_exit_status() {
    let good: Vec<PathBuf> = edxml_files()
        .into_iter()
        .filter(|p| !p.ends_with("edoc.edxml"))
        .collect();
    let (code, stdout) = check(&[], &good);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout.lines().count(), good.len());
    let update = stdout
        .lines()
        .find(|l| l.contains("edoc_update.edxml"))
        .expect("a line for edoc_update");
    assert!(
        update.contains("ok edoc from 000.00.00.G22 to 000.00.00.H41,000.00.00.H14,000.00.00.G17"),
        "{update}"
    );
    assert!(
        update.contains("business 2 (update)") && update.contains("attachments 1"),
        "{update}"
    );

    let (code, stdout) = check(&[], &[samples_dir().join("edoc.edxml")]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("edoc.edxml: error: 74:7: not well-formed XML"),
        "{stdout}"
    );
}

#[test]
fn unreadable_and_non_xml_files_are_errors_not_crashes() {
    let dir = std::env::temp_dir().join(format!("lienthong-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let text = dir.join("notes.txt");
    std::fs::write(&text, "không phải XML").expect("write");
    let missing = dir.join("missing.edxml");
    let (code, stdout) = check(&["--json"], &[text, missing]);
    assert_eq!(code, 1);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert!(
        lines[0]["error"]
            .as_str()
            .expect("error")
            .contains("before the root element")
    );
    assert!(
        lines[1]["error"]
            .as_str()
            .expect("error")
            .contains("cannot read the file")
    );
    std::fs::remove_dir_all(&dir).ok();
}

// ---- the whole message in --json, and `edxml write` ----------------------------------------

fn lienthong(args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_lienthong"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs lienthong");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or_default())
        .expect("writes stdin");
    drop(input);
    child.wait_with_output().expect("lienthong finishes")
}

/// `edxml check --json` of one file, as JSON.
fn check_json(file: &std::path::Path, content: bool) -> Value {
    let path = file.to_str().expect("utf-8 path");
    let mut args = vec!["edxml", "check", "--json"];
    if content {
        args.push("--content");
    }
    args.push(path);
    let output = lienthong(&args, None);
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    serde_json::from_str(stdout.trim_end()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The message's description: a report without the report's own keys.
fn description(mut report: Value) -> Value {
    let map = report.as_object_mut().expect("an object");
    for key in [
        "file",
        "ok",
        "warnings",
        "error",
        "error_line",
        "error_column",
        "error_path",
    ] {
        map.remove(key);
    }
    report
}

/// `edxml write` of `json` into `out`: the exit code and standard error.
fn write_edxml(json: &Value, out: &std::path::Path) -> (i32, String) {
    let output = lienthong(
        &["edxml", "write", "-o", out.to_str().expect("utf-8 path")],
        Some(json.to_string().as_bytes()),
    );
    (
        output.status.code().expect("exit code"),
        String::from_utf8(output.stderr).expect("utf-8"),
    )
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../protocol/tests/fixtures")
        .join(name)
}

#[test]
fn json_prints_the_whole_message() {
    let doc = check_json(&samples_dir().join("edoc_new.edxml"), false);
    assert_eq!(doc["ok"], true, "{doc}");
    for (key, expected) in [
        (
            "subject",
            serde_json::json!("V/v kết nối, liên thông phần mềm quản lý văn bản"),
        ),
        ("code_number", serde_json::json!("74fass22")),
        ("code_notation", serde_json::json!("VPCP-TTĐT")),
        ("promulgation_place", serde_json::json!("Hà Nội")),
        ("promulgation_date", serde_json::json!("2019-01-16")),
        ("due_date", serde_json::json!("2018-09-28")),
        ("priority", serde_json::json!(0)),
        ("steering_type", serde_json::json!(1)),
        (
            "attachment_names",
            serde_json::json!(["1896_QD-TTg_m_294779.doc"]),
        ),
        (
            "business_document_id",
            serde_json::json!("000.00.00.G22,2014/02/30,7806/VPCP-TTĐT"),
        ),
        ("signer_full_name", serde_json::json!("Nguyen Thanh Phuc")),
        ("document_type_name", serde_json::json!("Công văn")),
    ] {
        assert_eq!(doc[key], expected, "{key}");
    }
    assert_eq!(doc["trace"][0]["timestamp"], "2018-09-28T00:00:00");
    assert_eq!(doc["attachment_files"][0]["bytes"], 270_823);
    assert_eq!(
        doc["attachment_files"][0]["sha256"]
            .as_str()
            .expect("sha256")
            .len(),
        64
    );
    assert!(
        doc["attachment_files"][0].get("content_base64").is_none(),
        "the content only with --content"
    );
    assert_eq!(doc["to_organizations"][0]["organ_id"], "28.22.H17");
    assert!(
        doc.get("description").is_none(),
        "a document has no description"
    );

    let status = check_json(&samples_dir().join("status_rejection_02.edxml"), false);
    assert_eq!(status["status_code"], "02");
    assert_eq!(
        status["description"],
        "Văn thư - Phòng Văn thư - Lưu trữ: Từ chối không tiếp nhận văn bản điện tử"
    );
    assert_eq!(status["timestamp"], "2015-09-20T11:08:36");
    assert_eq!(
        status["response_for"],
        serde_json::json!([{
            "organ_id": "000.00.00.G22",
            "code": "7816/VPCP-TTĐT",
            "promulgation_date": "2015-09-30",
            "document_id": "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
        }])
    );
    assert_eq!(status["staff"]["staff"], "Nguyen thi ngoc tram");
    assert!(
        status.get("subject").is_none(),
        "a status message has no subject"
    );
}

#[test]
fn json_shows_the_library_extensions_and_carriage_returns() {
    let doc = check_json(&fixture("document_library.edxml"), false);
    assert_eq!(doc["warnings"], serde_json::json!([]), "{doc}");
    assert_eq!(
        doc["reply_fors"],
        serde_json::json!([
            "000.00.00.G22,2026/10/05,8123/VPCP-TH",
            "000.00.00.G22,2026/10/12,8390/VPCP-TH"
        ])
    );
    assert_eq!(
        doc["reference_codes"],
        serde_json::json!(["8123/VPCP-TH", "15/2026/NĐ-CP"])
    );
    assert_eq!(
        doc["response_for_tasks"],
        serde_json::json!([{"task_code": "NV.2026.0412"}])
    );
    assert_eq!(doc["application_type"], "2");
    assert_eq!(doc["attachment_files"][0]["mime_type"], "application/pdf");
    assert_eq!(doc["attachment_files"][0]["field_name"], "file");
    assert_eq!(
        doc["subject"],
        "Báo cáo kết quả thực hiện nhiệm vụ Chính phủ giao\r\ntháng 10/2026"
    );

    let status = check_json(&fixture("status_library.edxml"), false);
    assert_eq!(
        status["description"],
        "Từ chối tiếp nhận:\r\nthiếu phụ lục số liệu\n(gửi lại kèm phụ lục)"
    );
}

/// Every sample and fixture: its description, written and checked again, is the same.
#[test]
fn check_then_write_then_check_gives_the_same_description() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("written.edxml");
    let mut files: Vec<PathBuf> = edxml_files()
        .into_iter()
        .filter(|p| !p.ends_with("edoc.edxml"))
        .collect();
    for name in [
        "document_full.edxml",
        "document_lenient.edxml",
        "document_library.edxml",
        "document_replace.edxml",
        "status_full.edxml",
        "status_lenient.edxml",
        "status_library.edxml",
    ] {
        files.push(fixture(name));
    }
    for file in files {
        let first = check_json(&file, true);
        let (code, stderr) = write_edxml(&first, &out);
        assert_eq!(code, 0, "{}: {stderr}", file.display());
        let second = check_json(&out, true);
        assert_eq!(second["ok"], true, "{}: {second}", file.display());
        assert_eq!(
            description(second),
            description(first),
            "{}",
            file.display()
        );
    }
}

#[test]
fn write_writes_carriage_returns_as_references() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("cr.edxml");
    let json = serde_json::json!({
        "kind": "status",
        "from": "000.00.00.H41",
        "to": ["000.00.00.G22"],
        "document_id": "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT",
        "status_code": "02",
        "description": "Lý do:\r\nthiếu chữ ký số\r",
    });
    let (code, stderr) = write_edxml(&json, &out);
    assert_eq!(code, 0, "{stderr}");
    let xml = std::fs::read_to_string(&out).expect("written");
    assert!(
        xml.contains("<edXML:Description>Lý do:&#xD;\nthiếu chữ ký số&#xD;</edXML:Description>"),
        "{xml}"
    );
    let report = check_json(&out, false);
    assert_eq!(report["description"], "Lý do:\r\nthiếu chữ ký số\r");
    assert_eq!(report["response_for"][0]["organ_id"], "000.00.00.G22");
}

#[test]
fn write_refuses_a_bad_description_naming_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("never.edxml");
    let base = serde_json::json!({
        "kind": "edoc",
        "from": "000.00.00.H53",
        "to": ["000.00.11.H53"],
    });
    let with = |key: &str, value: Value| {
        let mut json = base.clone();
        json[key] = value;
        json
    };
    for (json, expected) in [
        (with("subjet", "x".into()), "unknown field `subjet`"),
        (with("kind", "letter".into()), "unknown variant `letter`"),
        (
            with("description", "x".into()),
            "description: applies to status messages only",
        ),
        (
            with("due_date", "2026/11/02".into()),
            "due_date: \"2026/11/02\" is not a date YYYY-MM-DD",
        ),
        (with("priority", 7.into()), "priority: 7 is not 0-4"),
        (with("subject", "".into()), "subject: empty"),
        (
            with("to", serde_json::json!(["000.00.11.H53", "000.00.11.H53"])),
            "to[1]: 000.00.11.H53 is listed twice",
        ),
        (
            with("attachments", 2.into()),
            "attachments: is 2, but attachment_files has 0",
        ),
        (
            with(
                "attachment_files",
                serde_json::json!([{"attachment_name": "a.pdf"}]),
            ),
            "attachment_files[0]: needs its content",
        ),
        (
            with(
                "attachment_files",
                serde_json::json!([{"content_base64": "aGVsbG8=", "sha256": "00"}]),
            ),
            "attachment_files[0].sha256: is 00, but the content's is",
        ),
        (
            with(
                "from_organization",
                serde_json::json!({"organ_id": "000.00.00.G22"}),
            ),
            "from: \"000.00.00.H53\" differs from from_organization.organ_id",
        ),
    ] {
        let (code, stderr) = write_edxml(&json, &out);
        assert_eq!(code, 1, "{json}");
        assert!(stderr.contains(expected), "{json}: {stderr}");
        assert!(!out.exists(), "nothing is written for {json}");
    }
    let status = serde_json::json!({
        "kind": "status",
        "from": "000.00.00.H41",
        "to": ["000.00.00.G22"],
        "status_code": "03",
    });
    let (code, stderr) = write_edxml(&status, &out);
    assert_eq!(code, 1);
    assert!(stderr.contains("document_id: missing"), "{stderr}");
    let mut status = status;
    status["document_id"] = "x".into();
    status["subject"] = "x".into();
    let (code, stderr) = write_edxml(&status, &out);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("subject: applies to documents only"),
        "{stderr}"
    );
}

mod identity {
    //! The property: for any description `edxml check --json` could print, `edxml write`
    //! then `edxml check --json --content` gives it back.

    use proptest::collection::vec;
    use proptest::option::of;
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};
    use sha2::Digest as _;

    /// Text as QLVB software writes it: Vietnamese, precomposed and decomposed, XML's
    /// special characters, characters outside the basic plane, every kind of line break and
    /// white space, also at the ends.
    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵĐ\u{300}\u{301}\u{303}\u{309}\u{323}\u{20000}\u{1F4C4}<>&'\" ./,:;()\r\n\t-]{1,30}"
    }

    fn organ_id() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u16..1000, 0u8..100, 0u8..100, "[A-K]", 0u8..100)
                .prop_map(|(d, c, b, l, n)| format!("{d:03}.{c:02}.{b:02}.{l}{n:02}")),
            (0u8..100).prop_map(|n| format!("vxp.saas.{n:02}")),
        ]
    }

    fn date() -> impl Strategy<Value = String> {
        (1990u16..2100, 1u8..13, 1u8..29).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
    }

    fn timestamp() -> impl Strategy<Value = String> {
        (date(), 0u8..24, 0u8..60, 0u8..60)
            .prop_map(|(d, h, m, s)| format!("{d}T{h:02}:{m:02}:{s:02}"))
    }

    fn agency() -> impl Strategy<Value = Value> {
        (organ_id(), vec(of(text()), 7)).prop_map(|(organ_id, p)| {
            json!({
                "organ_id": organ_id,
                "organization_in_charge": p[0],
                "organ_name": p[1],
                "organ_add": p[2],
                "email": p[3],
                "telephone": p[4],
                "fax": p[5],
                "website": p[6],
            })
        })
    }

    fn response_for() -> impl Strategy<Value = Value> {
        (organ_id(), of(text()), of(date()), of(text())).prop_map(|(organ_id, code, date, id)| {
            json!({"organ_id": organ_id, "code": code, "promulgation_date": date, "document_id": id})
        })
    }

    fn staff() -> impl Strategy<Value = Value> {
        (of(text()), of(text()), of(text()), text()).prop_map(|(department, staff, email, mobile)| {
            json!({"department": department, "staff": staff, "email": email, "mobile": mobile})
        })
    }

    fn attachment() -> impl Strategy<Value = Value> {
        (
            of("cid:[a-f0-9]{8}"),
            of(text()),
            of(text()),
            of(text()),
            of(text()),
            of(text()),
            vec(any::<u8>(), 1..200),
        )
            .prop_map(
                |(content_id, name, description, content_type, mime, field, data)| {
                    json!({
                        "content_id": content_id,
                        "attachment_name": name,
                        "description": description,
                        "content_type": content_type,
                        "mime_type": mime,
                        "field_name": field,
                        "bytes": data.len(),
                        "sha256": hex::encode(sha2::Sha256::digest(&data)),
                        "content_base64": base64_simd::STANDARD.encode_to_string(&data),
                    })
                },
            )
    }

    /// Puts `value` under `key` unless it is absent (null or an empty list), as check does.
    fn put(map: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
        let value = value.into();
        let absent = value.is_null() || value.as_array().is_some_and(Vec::is_empty);
        if !absent {
            map.insert(key.to_owned(), value);
        }
    }

    fn business() -> impl Strategy<Value = Map<String, Value>> {
        (
            0u8..4,
            of(text()),
            of(text()),
            of(0u32..3),
            of(any::<bool>()),
            of(any::<bool>()),
            vec((organ_id(), 0u8..2), 0..3),
            vec((text(), vec(organ_id(), 0..3)), 0..3),
            of(staff()),
        )
            .prop_map(
                |(
                    doc_type,
                    id,
                    reason,
                    paper,
                    info,
                    receivers_changed,
                    receivers,
                    replaced,
                    staff,
                )| {
                    let mut m = Map::new();
                    m.insert("business_doc_type".into(), doc_type.into());
                    put(&mut m, "business_document_id", id);
                    put(&mut m, "business_reason", reason);
                    put(&mut m, "business_paper", paper);
                    put(&mut m, "business_document_info_changed", info);
                    put(&mut m, "business_receivers_changed", receivers_changed);
                    let receivers: Vec<Value> = receivers
                        .into_iter()
                        .map(|(organ_id, t)| json!({"organ_id": organ_id, "receiver_type": t}))
                        .collect();
                    put(&mut m, "business_receivers", receivers);
                    let replaced: Vec<Value> = replaced
                        .into_iter()
                        .map(|(id, ids)| json!({"document_id": id, "organ_ids": ids}))
                        .collect();
                    put(&mut m, "business_replacements", replaced);
                    put(&mut m, "business_staff", staff);
                    m
                },
            )
    }

    fn document() -> impl Strategy<Value = Value> {
        let head = (
            agency(),
            vec(agency(), 1..4),
            of(text()),
            of((text(), text())),
            of(text()),
            of(date()),
            vec(of(text()), 3),
            of(text()),
            of(text()),
            vec(of(text()), 3),
            of(date()),
            vec(text(), 0..3),
        );
        let other = (
            of(0u8..5),
            of(text()),
            of(text()),
            of(0u32..1000),
            of(0u32..1000),
            of(any::<bool>()),
            vec(text(), 0..3),
            vec(text(), 0..3),
            vec(text(), 0..3),
        );
        let rest = (
            vec(response_for(), 0..3),
            of(0u8..4),
            vec(text(), 0..3),
            of(text()),
            vec((of(organ_id()), timestamp()), 0..3),
            business(),
            any::<bool>(),
            vec((of(text()), of(text()), of(text()), of(text())), 0..3),
            vec(attachment(), 0..3),
        );
        (head, other, rest).prop_map(|(head, other, rest)| {
            let (from, to, document_id, code, place, date, dtype, subject, content, signer, due, places) =
                head;
            let (priority, sphere, typer, amount, pages, direction, appendixes, reply_fors, refs) =
                other;
            let (response_for, steering, tasks, application, trace, business, signed, references, files) =
                rest;
            let mut seen = std::collections::HashSet::new();
            let to: Vec<Value> = to
                .into_iter()
                .filter(|a| seen.insert(a["organ_id"].clone()))
                .collect();
            let mut m = Map::new();
            m.insert("kind".into(), "edoc".into());
            m.insert("from".into(), from["organ_id"].clone());
            m.insert("to".into(), to.iter().map(|a| a["organ_id"].clone()).collect());
            m.insert("document_id".into(), json!(document_id));
            m.insert("status_code".into(), Value::Null);
            m.insert("attachments".into(), files.len().into());
            let bytes: u64 = files.iter().filter_map(|f| f["bytes"].as_u64()).sum();
            m.insert("attachments_bytes".into(), bytes.into());
            m.insert("from_organization".into(), from);
            m.insert("to_organizations".into(), to.into());
            if let Some((number, notation)) = code {
                m.insert("code_number".into(), number.into());
                m.insert("code_notation".into(), notation.into());
            }
            put(&mut m, "promulgation_place", place);
            put(&mut m, "promulgation_date", date);
            put(&mut m, "document_type", dtype[0].clone());
            put(&mut m, "document_type_detail", dtype[1].clone());
            put(&mut m, "document_type_name", dtype[2].clone());
            put(&mut m, "subject", subject);
            put(&mut m, "content", content);
            put(&mut m, "signer_competence", signer[0].clone());
            put(&mut m, "signer_position", signer[1].clone());
            put(&mut m, "signer_full_name", signer[2].clone());
            put(&mut m, "due_date", due);
            put(&mut m, "to_places", places);
            put(&mut m, "priority", priority);
            put(&mut m, "sphere_of_promulgation", sphere);
            put(&mut m, "typer_notation", typer);
            put(&mut m, "promulgation_amount", amount);
            put(&mut m, "page_amount", pages);
            put(&mut m, "direction", direction);
            put(&mut m, "appendixes", appendixes);
            put(&mut m, "reply_fors", reply_fors);
            put(&mut m, "reference_codes", refs);
            put(&mut m, "response_for", response_for);
            put(&mut m, "steering_type", steering);
            let tasks: Vec<Value> = tasks.into_iter().map(|t| json!({"task_code": t})).collect();
            put(&mut m, "response_for_tasks", tasks);
            put(&mut m, "application_type", application);
            let trace: Vec<Value> = trace
                .into_iter()
                .map(|(organ_id, timestamp)| json!({"organ_id": organ_id, "timestamp": timestamp}))
                .collect();
            put(&mut m, "trace", trace);
            m.extend(business);
            if signed {
                m.insert(
                    "signature".into(),
                    "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignatureValue>c2lnbg==</SignatureValue></Signature>".into(),
                );
            }
            let references: Vec<Value> = references
                .into_iter()
                .map(|(id, t, d, n)| {
                    json!({"content_id": id, "content_type": t, "description": d, "attachment_name": n})
                })
                .collect();
            put(&mut m, "references", references);
            let names: Vec<Value> = files.iter().map(|f| f["attachment_name"].clone()).collect();
            put(&mut m, "attachment_names", names);
            put(&mut m, "attachment_files", files);
            Value::Object(m)
        })
    }

    fn status() -> impl Strategy<Value = Value> {
        (
            agency(),
            response_for(),
            text(),
            of(staff()),
            prop::sample::select(vec!["01", "02", "03", "04", "05", "06", "13", "15", "16"]),
            of(text()),
            of(timestamp()),
        )
            .prop_map(
                |(from, mut target, document_id, staff, code, description, timestamp)| {
                    target["document_id"] = document_id.clone().into();
                    let mut m = Map::new();
                    m.insert("kind".into(), "status".into());
                    m.insert("from".into(), from["organ_id"].clone());
                    m.insert("to".into(), json!([target["organ_id"].clone()]));
                    m.insert("document_id".into(), document_id.into());
                    m.insert("business_doc_type".into(), Value::Null);
                    m.insert("status_code".into(), code.into());
                    m.insert("attachments".into(), 0.into());
                    m.insert("attachments_bytes".into(), 0.into());
                    m.insert("from_organization".into(), from);
                    m.insert("response_for".into(), json!([target]));
                    put(&mut m, "staff", staff);
                    put(&mut m, "description", description);
                    put(&mut m, "timestamp", timestamp);
                    Value::Object(m)
                },
            )
    }

    proptest! {
        // Each case runs the binary twice; 48 cases cover every key many times over.
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn write_then_check_is_the_identity(json in prop_oneof![document(), status()]) {
            let dir = tempfile::tempdir().expect("temp dir");
            let out = dir.path().join("written.edxml");
            let (code, stderr) = super::write_edxml(&json, &out);
            prop_assert_eq!(code, 0, "{}", stderr);
            let report = super::check_json(&out, true);
            prop_assert_eq!(&report["ok"], &Value::Bool(true), "{}", report);
            prop_assert_eq!(super::description(report), json);
        }
    }
}

#[test]
fn an_attachment_that_does_not_decode_is_an_error_with_the_rest_described() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bad-attachment.edxml");
    std::fs::write(
        &file,
        "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><edXMLEnvelope><edXMLHeader>\
         <MessageHeader><From><OrganId>000.00.00.H53</OrganId></From>\
         <To><OrganId>000.00.11.H53</OrganId></To><Subject>Có tệp hỏng</Subject></MessageHeader>\
         </edXMLHeader></edXMLEnvelope><AttachmentEncoded><Attachment>\
         <AttachmentName>hong.pdf</AttachmentName>\
         <ContentTransferEncoded>aGVs=bG8</ContentTransferEncoded>\
         </Attachment></AttachmentEncoded></edXML>",
    )
    .expect("write");
    let report = check_json(&file, false);
    assert_eq!(report["ok"], false);
    assert!(
        report["error"]
            .as_str()
            .expect("error")
            .starts_with("attachment 1 (hong.pdf): base64 text does not decode"),
        "{report}"
    );
    assert_eq!(report["kind"], "edoc");
    assert_eq!(report["subject"], "Có tệp hỏng");
    assert_eq!(report["attachment_names"], serde_json::json!(["hong.pdf"]));
}

/// Every name `check --json --content` prints, at any depth, is explained in both commands'
/// `--help` and in docs/edxml-cli.md.
#[test]
fn every_json_name_is_in_the_help_and_the_docs() {
    fn names(value: &Value, into: &mut std::collections::BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    into.insert(key.clone());
                    names(inner, into);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| names(v, into)),
            _ => {}
        }
    }
    let mut all = std::collections::BTreeSet::new();
    for file in [
        fixture("document_full.edxml"),
        fixture("document_library.edxml"),
        fixture("status_full.edxml"),
    ] {
        names(&check_json(&file, true), &mut all);
    }
    assert!(
        all.contains("reply_fors") && all.contains("mime_type"),
        "{all:?}"
    );
    let help = |command: &str| {
        let output = lienthong(&["edxml", command, "--help"], None);
        String::from_utf8(output.stdout).expect("utf-8")
    };
    let docs = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/edxml-cli.md"),
    )
    .expect("docs/edxml-cli.md");
    for (what, text) in [
        ("edxml check --help", help("check")),
        ("edxml write --help", help("write")),
        ("docs/edxml-cli.md", docs),
    ] {
        for name in &all {
            assert!(
                text.contains(name.as_str()),
                "{what} does not explain {name}"
            );
        }
    }
}
