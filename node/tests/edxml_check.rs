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
