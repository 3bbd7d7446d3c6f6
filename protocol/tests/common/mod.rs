//! Where the tests find their inputs.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

/// The real edXML samples in `../shared/edxml-samples/`.
///
/// `LIENTHONG_SHARED` names the shared folder (CI sets it to `../shared`, relative to the
/// workspace root). Without it the folder beside the workspace is used. A missing folder
/// fails the test: these samples are what proves the reader reads real traffic.
pub fn samples_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = match std::env::var_os("LIENTHONG_SHARED") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace.join(dir)
            }
        }
        None => workspace.join("../shared"),
    };
    let samples = shared.join("edxml-samples");
    assert!(
        samples.is_dir(),
        "the shared edXML samples are missing: {} does not exist (set LIENTHONG_SHARED to the shared folder)",
        samples.display()
    );
    samples
}

/// The names of the real samples (`*.edxml`), sorted.
pub fn sample_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(samples_dir())
        .expect("samples dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".edxml"))
        .collect();
    names.sort();
    names
}

/// The bytes of one real sample.
pub fn sample(name: &str) -> Vec<u8> {
    let path = samples_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The bytes of one of this crate's own fixtures.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
