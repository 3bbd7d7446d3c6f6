//! `lienthong evidence export` and `lienthong evidence verify`: a package's evidence bundle,
//! fetched from the running node through its API, and checked offline with nothing but the
//! federation's root key.
//!
//! The statement is printed in Vietnamese by default, for the officials who read it, and in
//! English with `--lang en`; `--json` prints the [`Statement`] itself. A bundle that fails
//! prints what failed, naming the file in the bundle, and exits with status 1.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use lienthong_node::roster::federation::read_public_key;
use lienthong_protocol::StatusCode;
use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::evidence::bundle::{self, BundleError, Party, Statement, VerifyOptions};

use super::client::{ApiClient, NodeDir};

/// `lienthong evidence …`
#[derive(Debug, Subcommand)]
pub(crate) enum EvidenceCommand {
    /// Write a package's evidence bundle (an ASiC-E container) from the running node.
    Export {
        #[command(flatten)]
        node: NodeDir,
        /// The package id.
        package_id: String,
        /// Where to write the bundle (`.asice`).
        #[arg(long)]
        out: PathBuf,
    },
    /// Check an evidence bundle offline and say what it proves.
    Verify {
        /// The bundle (`.asice`).
        file: PathBuf,
        /// The federation's root public key (`root.pub`).
        #[arg(long)]
        root: PathBuf,
        /// The language of the statement.
        #[arg(long, value_enum, default_value = "vi")]
        lang: Lang,
        /// Print the statement (or the failure) as JSON.
        #[arg(long)]
        json: bool,
        /// The timestamp authority's certificate (PEM), for the bundle's RFC 3161 tokens.
        #[arg(long)]
        tsa_cert: Option<PathBuf>,
    },
}

/// The language a statement is printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Lang {
    /// Tiếng Việt.
    Vi,
    /// English.
    En,
}

pub(crate) fn run(command: EvidenceCommand) -> anyhow::Result<ExitCode> {
    match command {
        EvidenceCommand::Export {
            node,
            package_id,
            out,
        } => {
            let client = ApiClient::for_data_dir(&node.data_dir)?;
            let bytes =
                client.get_bytes(&format!("/api/v1/packages/{package_id}/evidence"), true)?;
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("{}: {} bytes", out.display(), bytes.len());
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Verify {
            file,
            root,
            lang,
            json,
            tsa_cert,
        } => verify(&file, &root, lang, json, tsa_cert.as_deref()),
    }
}

fn verify(
    file: &std::path::Path,
    root: &std::path::Path,
    lang: Lang,
    json: bool,
    tsa_cert: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let mut options = VerifyOptions::new(read_public_key(root)?);
    if let Some(path) = tsa_cert {
        options.tsa_certificate =
            Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
    }
    let size = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    if size > options.limits.max_container {
        anyhow::bail!(
            "{} is {size} bytes, larger than an evidence bundle may be ({})",
            file.display(),
            options.limits.max_container
        );
    }
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    match bundle::verify_bytes(&bytes, &options) {
        Ok(statement) => {
            if json {
                let value = serde_json::json!({"ok": true, "statement": statement});
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                print!("{}", render(&statement, lang));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            if json {
                let value = serde_json::json!({
                    "ok": false,
                    "file": error.file(),
                    "error": error.to_string(),
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                print!("{}", render_failure(&error, lang));
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn render_failure(error: &BundleError, lang: Lang) -> String {
    let file = error.file().unwrap_or("(container)");
    match lang {
        Lang::Vi => format!(
            "GÓI CHỨNG CỨ KHÔNG HỢP LỆ.\nTệp không đạt: {file}\nLý do: {}\n",
            error.reason_vi()
        ),
        Lang::En => {
            format!("THE EVIDENCE BUNDLE DOES NOT VERIFY.\nFile: {file}\nReason: {error}\n")
        }
    }
}

/// `07/12/2026 17:55:01 UTC` (vi) or `2026-12-07 17:55:01 UTC` (en).
fn time(at: Timestamp, lang: Lang) -> String {
    let text = at.to_string();
    let (date, clock) = (&text[..10], &text[11..19]);
    match lang {
        Lang::Vi => format!(
            "{}/{}/{} {clock} UTC",
            &date[8..10],
            &date[5..7],
            &date[..4]
        ),
        Lang::En => format!("{date} {clock} UTC"),
    }
}

fn party(party: &Party) -> String {
    match &party.name {
        Some(name) => format!("{name} ({})", party.organ_id),
        None => party.organ_id.to_string(),
    }
}

fn label(code: StatusCode, lang: Lang) -> &'static str {
    match lang {
        Lang::Vi => code.label_vi(),
        Lang::En => match code {
            StatusCode::Arrived => "arrived",
            StatusCode::Rejected => "refused",
            StatusCode::Accepted => "accepted",
            StatusCode::Assigned => "assigned for handling",
            StatusCode::Processing => "being handled",
            StatusCode::Completed => "completed",
            StatusCode::TakeBackRequested => "take-back requested",
            StatusCode::ChangeAccepted => "update or take-back accepted",
            StatusCode::ChangeRefused => "update or take-back refused",
        },
    }
}

fn fact_label(kind: &str, lang: Lang) -> &'static str {
    match (kind, lang) {
        ("package_submitted", Lang::Vi) => "QLVB gửi văn bản đi",
        ("package_received", Lang::Vi) => "nhận văn bản đến",
        ("receipt_signed", Lang::Vi) => "ký phản hồi trạng thái",
        ("receipt_recorded", Lang::Vi) => "ghi nhận phản hồi trạng thái",
        ("package_submitted", Lang::En) => "submitted by QLVB for sending",
        ("package_received", Lang::En) => "received and accepted",
        ("receipt_signed", Lang::En) => "status receipt signed",
        ("receipt_recorded", Lang::En) => "status receipt recorded",
        _ => "?",
    }
}

/// The statement in words.
pub(crate) fn render(s: &Statement, lang: Lang) -> String {
    use std::fmt::Write as _;
    let vi = lang == Lang::Vi;
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(if vi {
        "GÓI CHỨNG CỨ HỢP LỆ: mọi chữ ký, bằng chứng nhật ký và danh sách thành viên đã được kiểm tra đến khóa gốc của liên thông.".into()
    } else {
        "THE EVIDENCE BUNDLE VERIFIES: every signature, log proof and roster was checked back to the federation's root key.".into()
    });
    line(String::new());
    let mut document = String::new();
    if let Some(number) = &s.number {
        let _ = write!(document, "{} {number}", if vi { "số" } else { "no." });
    }
    if let Some(subject) = &s.subject {
        let _ = write!(
            document,
            "{}“{subject}”",
            if document.is_empty() { "" } else { ", " }
        );
    }
    if document.is_empty() {
        document = if vi {
            "(không có số, trích yếu)"
        } else {
            "(no number or subject)"
        }
        .into();
    }
    line(format!(
        "{} {document}",
        if vi { "Văn bản:" } else { "Document:" }
    ));
    if let Some(id) = &s.document_id {
        line(format!(
            "  {} {id}",
            if vi {
                "Mã văn bản (DocumentId):"
            } else {
                "DocumentId:"
            }
        ));
    }
    line(format!(
        "  {} {}",
        if vi { "Mã gói:" } else { "Package id:" },
        s.package_id
    ));
    line(format!(
        "  {} {}",
        if vi {
            "SHA-256 của edXML:"
        } else {
            "SHA-256 of the edXML:"
        },
        s.content_sha256
    ));
    line(if vi {
        format!(
            "Đơn vị gửi: {}, ký gói lúc {} bằng khóa {}",
            party(&s.sender),
            time(s.signed_at, lang),
            s.signed_with
        )
    } else {
        format!(
            "Sent by: {}, package signed at {} with key {}",
            party(&s.sender),
            time(s.signed_at, lang),
            s.signed_with
        )
    });
    line(if vi {
        "Gửi đến:".into()
    } else {
        "Sent to:".into()
    });
    for recipient in &s.recipients {
        let arrived = match (recipient.arrived_at, vi) {
            (Some(at), true) => format!("đã đến lúc {}", time(at, lang)),
            (Some(at), false) => format!("arrived at {}", time(at, lang)),
            (None, true) => "gói chứng cứ không có báo nhận Đã đến".into(),
            (None, false) => "the bundle holds no signed arrival".into(),
        };
        line(format!("  - {}: {arrived}", party(&recipient.recipient)));
        for answer in &recipient.answers {
            let mut text = format!(
                "      {} {}: {} {} {} {}",
                answer.code,
                label(answer.code, lang),
                if vi { "ký bởi" } else { "signed by" },
                party(&answer.signed_by),
                if vi { "lúc" } else { "at" },
                time(answer.issued_at, lang)
            );
            if let Some(why) = &answer.description {
                let _ = write!(text, " ({}: {why})", if vi { "ghi chú" } else { "note" });
            }
            line(text);
        }
    }
    line(if vi {
        format!("Nhật ký chứng cứ của {}:", party(&s.exporter))
    } else {
        format!("Evidence log of {}:", party(&s.exporter))
    });
    for fact in &s.facts {
        line(format!(
            "  #{} {} {} {}",
            fact.index,
            fact_label(fact.kind, lang),
            if vi { "lúc" } else { "at" },
            time(fact.at, lang)
        ));
    }
    line(if vi {
        format!(
            "  nằm trong checkpoint {} lá (gốc {}), do {} ký.",
            s.checkpoint_size,
            &s.checkpoint_root[..16],
            party(&s.exporter)
        )
    } else {
        format!(
            "  included in the checkpoint of {} leaves (root {}), signed by {}.",
            s.checkpoint_size,
            &s.checkpoint_root[..16],
            party(&s.exporter)
        )
    });
    if s.witnesses.is_empty() {
        line(if vi {
            "Chứng thực: chưa có nút chứng thực nào đồng ký checkpoint này.".into()
        } else {
            "Witnesses: no witness has cosigned this checkpoint.".into()
        });
    } else {
        line(if vi {
            "Chứng thực:".into()
        } else {
            "Witnessed by:".into()
        });
        for witness in &s.witnesses {
            line(format!(
                "  - {}, {} {}",
                party(&witness.witness),
                if vi {
                    "đồng ký lúc"
                } else {
                    "cosigned at"
                },
                time(witness.cosigned_at, lang)
            ));
        }
    }
    if s.timestamps.is_empty() {
        line(if vi {
            "Dấu thời gian: không có dấu thời gian trong gói này.".into()
        } else {
            "Timestamps: no timestamp in this bundle.".into()
        });
    } else {
        for stamp in &s.timestamps {
            line(if vi {
                format!(
                    "Dấu thời gian: {}, do {} đóng dấu (RFC 3161, đã kiểm tra với chứng thư được đưa vào).",
                    time(stamp.time, lang),
                    stamp.tsa
                )
            } else {
                format!(
                    "Timestamp: {}, by {} (RFC 3161, checked against the certificate given).",
                    time(stamp.time, lang),
                    stamp.tsa
                )
            });
        }
    }
    out
}
