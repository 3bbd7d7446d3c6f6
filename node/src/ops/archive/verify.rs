//! Checking an archive offline: every file against the manifest's size and SHA-256; every
//! bundle with the evidence bundle verifier (`protocol::evidence::bundle`), back to the
//! federation's root key; the roster against the root key, and every checkpoint note
//! against a key that roster lists for the agency. The manifest itself is not signed: the
//! signatures, not its hashes, are what a forger cannot redo. Needs no node.

use std::fs;
use std::path::Path;

use bytes::Bytes;
use lienthong_protocol::envelope::Timestamp;
use lienthong_protocol::evidence::bundle::{self, VerifyOptions};
use lienthong_protocol::evidence::checkpoint_verifier;
use lienthong_protocol::roster::RosterBundle;
use lienthong_protocol::tlog::Note;
use serde::Serialize;

use super::manifest::{self, FileProblem, Manifest};

/// What checking an archive found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Whether everything checked.
    pub ok: bool,
    /// The manifest, when it could be read.
    pub manifest: Option<Manifest>,
    /// Why the manifest could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_problem: Option<String>,
    /// The bundles that verified: their package ids.
    pub packages: Vec<String>,
    /// Checkpoint notes whose agency signature verified.
    pub checkpoints: u64,
    /// Every file that failed and why, in path order.
    pub failures: Vec<FileProblem>,
}

/// Checks the archive in `dir`; see the module docs.
pub fn verify(dir: &Path, options: &VerifyOptions) -> Verification {
    let manifest = match manifest::read(dir) {
        Ok(manifest) => manifest,
        Err(problem) => {
            return Verification {
                ok: false,
                manifest: None,
                manifest_problem: Some(problem),
                packages: Vec::new(),
                checkpoints: 0,
                failures: Vec::new(),
            };
        }
    };
    let mut failures = match manifest::check(dir, &manifest) {
        Ok(problems) => problems,
        Err(e) => vec![FileProblem {
            path: ".".to_owned(),
            problem: format!("cannot read the archive: {e}"),
        }],
    };
    let mut packages = Vec::new();
    for entry in &manifest.files {
        let Some(name) = entry
            .path
            .strip_prefix(&format!("{}/", super::BUNDLES))
            .and_then(|n| n.strip_suffix(".asice"))
        else {
            continue;
        };
        if failures.iter().any(|f| f.path == entry.path) {
            continue;
        }
        let path = dir.join(&entry.path);
        let problem = match fs::read(&path) {
            Err(e) => Some(format!("unreadable: {e}")),
            Ok(bytes) => match bundle::verify_bytes(&bytes, options) {
                Ok(statement) if statement.package_id.to_string() == name => None,
                Ok(statement) => Some(format!(
                    "it is the bundle of package {}, not of {name}",
                    statement.package_id
                )),
                Err(error) => Some(format!(
                    "the bundle does not verify ({}): {error}",
                    error.file().unwrap_or("container")
                )),
            },
        };
        match problem {
            Some(problem) => failures.push(FileProblem {
                path: entry.path.clone(),
                problem,
            }),
            None => packages.push(name.to_owned()),
        }
    }
    let checkpoints = check_checkpoints(dir, &manifest, options, &mut failures);
    failures.sort_by(|a, b| a.path.cmp(&b.path));
    Verification {
        ok: failures.is_empty(),
        manifest: Some(manifest),
        manifest_problem: None,
        packages,
        checkpoints,
        failures,
    }
}

/// Checks `roster.bin` against the root key and each `checkpoints/*.note` against the keys
/// it lists for the archive's agency; adds what fails to `failures`, answers how many
/// notes verified.
fn check_checkpoints(
    dir: &Path,
    manifest: &Manifest,
    options: &VerifyOptions,
    failures: &mut Vec<FileProblem>,
) -> u64 {
    let failed = |failures: &Vec<FileProblem>, path: &str| failures.iter().any(|f| f.path == path);
    if failed(failures, super::ROSTER) {
        return 0;
    }
    let fail = |failures: &mut Vec<FileProblem>, path: &str, problem: String| {
        failures.push(FileProblem {
            path: path.to_owned(),
            problem,
        });
    };
    let at: Timestamp = manifest.created_at.parse().unwrap_or(Timestamp::UNIX_EPOCH);
    let roster = match fs::read(dir.join(super::ROSTER))
        .map_err(|e| format!("unreadable: {e}"))
        .and_then(|wire| {
            RosterBundle::from_wire(Bytes::from(wire), &options.root_key, at)
                .map_err(|e| format!("does not verify to the root key: {e}"))
        }) {
        Ok(roster) => roster,
        Err(problem) => {
            fail(failures, super::ROSTER, problem);
            return 0;
        }
    };
    let Some(record) = roster.roster().agency(&manifest.agency) else {
        let problem = format!("does not list {}, whose archive it is", manifest.agency);
        fail(failures, super::ROSTER, problem);
        return 0;
    };
    let verifiers: Vec<_> = std::iter::once(&record.public_key)
        .chain(record.previous_keys.iter().map(|p| &p.public_key))
        .filter_map(|key| checkpoint_verifier(&manifest.agency, *key).ok())
        .collect();
    let mut verified = 0;
    for entry in &manifest.files {
        let is_note = entry
            .path
            .strip_prefix(&format!("{}/", super::CHECKPOINTS))
            .is_some_and(|name| name.ends_with(".note"));
        if !is_note || failed(failures, &entry.path) {
            continue;
        }
        let checked = fs::read(dir.join(&entry.path))
            .map_err(|e| format!("unreadable: {e}"))
            .and_then(|bytes| Note::parse(&bytes).map_err(|e| format!("not a signed note: {e}")))
            .and_then(|note| {
                note.verify(&verifiers)
                    .map(|_| ())
                    .map_err(|e| format!("not signed by {}: {e}", manifest.agency))
            });
        match checked {
            Ok(()) => verified += 1,
            Err(problem) => fail(failures, &entry.path, problem),
        }
    }
    verified
}
