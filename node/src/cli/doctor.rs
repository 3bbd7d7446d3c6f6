//! `lienthong doctor`: checks an operator runs before calling for help.
//!
//! Each check says ok, WARNING or FAIL, and for anything not ok, what to do. The exit code
//! is non-zero when any check fails, so monitoring can run it too. Doctor changes nothing:
//! it opens the store only when no daemon runs, without migrating it, and otherwise asks
//! the daemon.
//!
//! - `files.rs`: config.toml, the key and token files, the axis SDK's settings, disk
//!   space.
//! - `roster.rs`: the roster and this agency's place in it.
//! - `store.rs`: the store's schema against this binary's.
//! - `daemon.rs`: whether the daemon runs and its API answers.
//! - `relays.rs`: reachability of this agency's relays.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use lienthong_node::data_dir::DataDir;
use serde::Serialize;

use super::client::NodeDir;

mod daemon;
mod files;
mod relays;
mod roster;
mod store;

/// `lienthong doctor …`
#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    node: NodeDir,
    /// Print the checks as JSON: {"ok": bool, "checks": [{check, verdict, message, fix}]}.
    #[arg(long)]
    json: bool,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Ok,
    Warning,
    Fail,
}

/// One check's outcome.
#[derive(Debug, Clone, Serialize)]
struct Check {
    /// What was checked: `config`, `agency key`, `relay 000.00.20.H19` …
    check: String,
    verdict: Verdict,
    /// What was found.
    message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

impl Check {
    fn ok(check: impl Into<String>, message: impl Into<String>) -> Check {
        Check {
            check: check.into(),
            verdict: Verdict::Ok,
            message: message.into(),
            fix: None,
        }
    }

    fn warning(
        check: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            check: check.into(),
            verdict: Verdict::Warning,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    fn fail(check: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            check: check.into(),
            verdict: Verdict::Fail,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }
}

pub(crate) fn run(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let checks = examine(&args.node.data_dir);
    let ok = checks.iter().all(|c| c.verdict != Verdict::Fail);
    if args.json {
        println!("{}", serde_json::json!({ "ok": ok, "checks": checks }));
    } else {
        print!("{}", render(&checks));
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs every check on the node of `dir`.
fn examine(dir: &Path) -> Vec<Check> {
    let data = DataDir::new(dir);
    let mut checks = Vec::new();
    if !data.root().is_dir() {
        checks.push(Check::fail(
            "data directory",
            format!("{} does not exist", dir.display()),
            "give the node's data directory with --data-dir (the unit uses /var/lib/lienthong), or create one with `lienthong init`",
        ));
        return checks;
    }
    let (config_check, config) = files::config(&data);
    checks.push(config_check);
    let (key_check, key) = files::agency_key(&data);
    checks.push(key_check);
    checks.push(files::api_token(&data));
    checks.push(files::disk(data.root()));
    let (daemon_check, running) = daemon::check(&data);
    let (roster_check, membership) = roster::check(&data, config.as_ref(), key.as_ref());
    checks.push(roster_check);
    if let Some(config) = &config {
        checks.push(files::axis(&data, config));
    }
    checks.push(store::check(&data, running.as_ref()));
    checks.push(daemon_check);
    if let (Some(config), Some(membership)) = (&config, &membership) {
        checks.extend(relays::check(config, membership, running.as_ref()));
    }
    checks
}

/// The checks as lines for people: verdict, check, message, and the fix beneath.
fn render(checks: &[Check]) -> String {
    let mut out = String::new();
    for check in checks {
        let verdict = match check.verdict {
            Verdict::Ok => "ok",
            Verdict::Warning => "WARNING",
            Verdict::Fail => "FAIL",
        };
        out.push_str(&format!(
            "{verdict:<8} {:<22} {}\n",
            check.check, check.message
        ));
        if let Some(fix) = &check.fix {
            out.push_str(&format!("{:<31} → {fix}\n", ""));
        }
    }
    let count = |v| checks.iter().filter(|c| c.verdict == v).count();
    let warnings = count(Verdict::Warning);
    out.push_str(&format!(
        "{} ok, {warnings} {}, {} failed\n",
        count(Verdict::Ok),
        if warnings == 1 { "warning" } else { "warnings" },
        count(Verdict::Fail)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_data_directory_fails_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let checks = examine(&dir.path().join("nowhere"));
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].verdict, Verdict::Fail);
        assert!(checks[0].message.contains("does not exist"));
    }

    #[test]
    fn the_report_shows_each_fix_and_the_totals() {
        let text = render(&[
            Check::ok("config", "fine"),
            Check::fail("agency key", "mode 644", "chmod 600 agency.key"),
        ]);
        assert!(text.contains("FAIL     agency key"), "{text}");
        assert!(text.contains("→ chmod 600 agency.key"), "{text}");
        assert!(text.ends_with("1 ok, 0 warnings, 1 failed\n"), "{text}");
    }
}
