//! Checking an archive offline: every file against the manifest's size and SHA-256, and
//! every bundle with the evidence bundle verifier (`protocol::evidence::bundle`), back to
//! the federation's root key. Needs no node.

use std::fs;
use std::path::Path;

use lienthong_protocol::evidence::bundle::{self, VerifyOptions};
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
    failures.sort_by(|a, b| a.path.cmp(&b.path));
    Verification {
        ok: failures.is_empty(),
        manifest: Some(manifest),
        manifest_problem: None,
        packages,
        failures,
    }
}
