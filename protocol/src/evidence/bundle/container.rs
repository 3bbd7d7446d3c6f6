//! The ZIP: written with `mimetype` first and stored, read back under fixed limits.
//!
//! The reader never trusts a size the container declares: every file is read through a
//! `take` of its limit plus one byte, so a deflate bomb stops at the limit whatever its
//! header says. Names must be the layout's (see `layout`), which rules out directories,
//! absolute paths and `..`. Nothing is ever written to disk.

use std::collections::BTreeMap;
use std::io::{Cursor, Read as _, Write as _};

use bytes::Bytes;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::error::BundleError;
use super::layout::Entry;
use super::{Bundle, CheckpointEvidence, LoggedFact, MIMETYPE, manifest};
use crate::tlog::{HASH_LEN, Hash};

/// How much a reader takes. The defaults fit the envelope limits: a 64 MiB edXML
/// appears twice (alone and in the package), and a package for 10 000 recipients has
/// tens of thousands of receipts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest container, in bytes.
    pub max_container: u64,
    /// Most files.
    pub max_files: usize,
    /// Largest edXML or package file, in bytes.
    pub max_document: u64,
    /// Largest roster bundle, in bytes.
    pub max_roster: u64,
    /// Largest of any other file, in bytes.
    pub max_small: u64,
    /// Most bytes all files hold together, once inflated.
    pub max_total: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_container: 256 << 20,
            max_files: 100_000,
            max_document: 80 << 20,
            max_roster: 16 << 20,
            max_small: 64 << 10,
            max_total: 256 << 20,
        }
    }
}

impl Limits {
    fn of(&self, entry: Entry) -> u64 {
        match entry {
            Entry::Edxml | Entry::Package => self.max_document,
            Entry::Roster(_) | Entry::Manifest => self.max_roster,
            _ => self.max_small,
        }
    }
}

/// The container holding `bundle`.
///
/// # Errors
/// [`BundleError::Malformed`] when the ZIP writer fails (it writes to memory, so only on a
/// bug in it).
pub fn write(bundle: &Bundle) -> Result<Vec<u8>, BundleError> {
    let mut files: Vec<(Entry, Bytes)> = vec![
        (Entry::Edxml, bundle.edxml.clone()),
        (Entry::Package, bundle.package.clone()),
    ];
    let numbered = |n: usize| u64::try_from(n + 1).unwrap_or(u64::MAX);
    for (n, receipt) in bundle.receipts.iter().enumerate() {
        files.push((Entry::Receipt(numbered(n)), receipt.clone()));
    }
    for (n, roster) in bundle.rosters.iter().enumerate() {
        files.push((Entry::Roster(numbered(n)), roster.clone()));
    }
    for fact in &bundle.facts {
        files.push((Entry::Leaf(fact.index), fact.leaf.clone()));
        files.push((Entry::Proof(fact.index), proof_text(&fact.proof).into()));
    }
    let checkpoint = &bundle.checkpoint;
    files.push((Entry::Note(checkpoint.size), checkpoint.note.clone()));
    let mut lines = String::new();
    for line in &checkpoint.cosignatures {
        lines.push_str(line.trim_end_matches('\n'));
        lines.push('\n');
    }
    files.push((Entry::Cosignatures(checkpoint.size), lines.into()));
    if let Some(token) = &checkpoint.timestamp {
        files.push((Entry::Timestamp(checkpoint.size), token.clone()));
    }

    let listed: Vec<(String, &'static str)> = files
        .iter()
        .map(|(entry, _)| (entry.name(), entry.media_type()))
        .collect();
    let failed = |e: &dyn std::fmt::Display| BundleError::Malformed {
        file: "(container)".into(),
        problem: format!("cannot write: {e}"),
    };
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(bundle.edxml.len() as u64 >= u64::from(u32::MAX));
    zip.start_file(Entry::Mimetype.name(), stored)
        .map_err(|e| failed(&e))?;
    zip.write_all(MIMETYPE.as_bytes()).map_err(|e| failed(&e))?;
    zip.start_file(Entry::Manifest.name(), deflated)
        .map_err(|e| failed(&e))?;
    zip.write_all(&manifest::write(&listed))
        .map_err(|e| failed(&e))?;
    for (entry, bytes) in &files {
        zip.start_file(entry.name(), deflated)
            .map_err(|e| failed(&e))?;
        zip.write_all(bytes).map_err(|e| failed(&e))?;
    }
    Ok(zip.finish().map_err(|e| failed(&e))?.into_inner())
}

/// The hashes of a proof, one lowercase hex hash a line.
fn proof_text(proof: &[Hash]) -> String {
    proof.iter().map(|h| hex::encode(h) + "\n").collect()
}

/// Reads a container under `limits`: the layout is checked (`mimetype` first and right,
/// every file named in the manifest with its media type and the other way round, one
/// checkpoint, a proof for every leaf), the contents are not.
///
/// # Errors
/// The [`BundleError`] naming the first file that failed.
pub fn read(bytes: &[u8], limits: &Limits) -> Result<Bundle, BundleError> {
    if bytes.len() as u64 > limits.max_container {
        return Err(BundleError::TooLarge {
            file: "(container)".into(),
            limit: limits.max_container,
        });
    }
    let files = unzip(bytes, limits)?;
    check_manifest(&files)?;
    assemble(files)
}

/// Every file, by entry, within the limits.
fn unzip(bytes: &[u8], limits: &Limits) -> Result<BTreeMap<Entry, Bytes>, BundleError> {
    let not_zip = |e: zip::result::ZipError| BundleError::NotAZip {
        reason: e.to_string(),
    };
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(not_zip)?;
    if archive.len() > limits.max_files {
        return Err(BundleError::TooManyFiles {
            found: archive.len(),
            limit: limits.max_files,
        });
    }
    let mut files = BTreeMap::new();
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).map_err(|e| match e {
            zip::result::ZipError::UnsupportedArchive(_) => BundleError::Unsupported {
                file: format!("(file {})", index + 1),
            },
            other => not_zip(other),
        })?;
        let name = file.name().to_owned();
        let entry = Entry::parse(&name)
            .ok_or_else(|| BundleError::UnexpectedFile { file: name.clone() })?;
        if index == 0 && entry != Entry::Mimetype {
            return Err(BundleError::Mimetype {
                problem: "not the container's first file",
            });
        }
        if entry == Entry::Mimetype
            && (index != 0 || file.compression() != CompressionMethod::Stored)
        {
            return Err(BundleError::Mimetype {
                problem: "must be the first file, stored uncompressed",
            });
        }
        if file.is_dir()
            || file.encrypted()
            || !matches!(
                file.compression(),
                CompressionMethod::Stored | CompressionMethod::Deflated
            )
        {
            return Err(BundleError::Unsupported { file: name });
        }
        let limit = limits.of(entry);
        let too_large = || BundleError::TooLarge {
            file: name.clone(),
            limit,
        };
        if file.size() > limit {
            return Err(too_large());
        }
        let mut content = Vec::new();
        (&mut file)
            .take(limit + 1)
            .read_to_end(&mut content)
            .map_err(|e| BundleError::Malformed {
                file: name.clone(),
                problem: format!("does not inflate: {e}"),
            })?;
        if content.len() as u64 > limit {
            return Err(too_large());
        }
        total = total.saturating_add(content.len() as u64);
        if total > limits.max_total {
            return Err(BundleError::TooLarge {
                file: "(all files together)".into(),
                limit: limits.max_total,
            });
        }
        if files.insert(entry, Bytes::from(content)).is_some() {
            return Err(BundleError::Duplicate { file: name });
        }
    }
    if archive.is_empty() {
        return Err(BundleError::Mimetype {
            problem: "the container is empty",
        });
    }
    match files.get(&Entry::Mimetype) {
        Some(content) if content.as_ref() == MIMETYPE.as_bytes() => Ok(files),
        _ => Err(BundleError::Mimetype {
            problem: "does not hold application/vnd.etsi.asic-e+zip",
        }),
    }
}

/// The manifest lists exactly the files there are, each with its media type.
fn check_manifest(files: &BTreeMap<Entry, Bytes>) -> Result<(), BundleError> {
    let manifest = files.get(&Entry::Manifest).ok_or(BundleError::Missing {
        file: Entry::Manifest.name(),
        why: "an ASiC-E container lists its files there".into(),
    })?;
    let listed = manifest::read(manifest)?;
    for (path, media) in &listed {
        let entry = Entry::parse(path).filter(|e| !matches!(e, Entry::Mimetype | Entry::Manifest));
        let Some(entry) = entry else {
            return Err(BundleError::Manifest {
                problem: format!("lists {path:?}, which is not a file a bundle has"),
            });
        };
        if !files.contains_key(&entry) {
            return Err(BundleError::Missing {
                file: path.clone(),
                why: "the manifest lists it".into(),
            });
        }
        if media != entry.media_type() {
            return Err(BundleError::Manifest {
                problem: format!(
                    "gives {path} the media type {media:?}, not {:?}",
                    entry.media_type()
                ),
            });
        }
    }
    for entry in files.keys() {
        if matches!(entry, Entry::Mimetype | Entry::Manifest) {
            continue;
        }
        let name = entry.name();
        if !listed.iter().any(|(path, _)| *path == name) {
            return Err(BundleError::Manifest {
                problem: format!("does not list {name}"),
            });
        }
    }
    Ok(())
}

/// The bundle the files make up.
fn assemble(mut files: BTreeMap<Entry, Bytes>) -> Result<Bundle, BundleError> {
    let mut take = |entry: Entry, why: &str| {
        files.remove(&entry).ok_or_else(|| BundleError::Missing {
            file: entry.name(),
            why: why.into(),
        })
    };
    let edxml = take(Entry::Edxml, "it is the document")?;
    let package = take(Entry::Package, "it is the signed package")?;
    let mut receipts = Vec::new();
    let mut rosters = Vec::new();
    let mut leaves = Vec::new();
    let mut proofs = BTreeMap::new();
    let mut notes = Vec::new();
    let mut cosignatures = BTreeMap::new();
    let mut timestamps = BTreeMap::new();
    for (entry, bytes) in files {
        match entry {
            Entry::Receipt(_) => receipts.push(bytes),
            Entry::Roster(_) => rosters.push(bytes),
            Entry::Leaf(index) => leaves.push((index, bytes)),
            Entry::Proof(index) => {
                proofs.insert(index, bytes);
            }
            Entry::Note(size) => notes.push((size, bytes)),
            Entry::Cosignatures(size) => {
                cosignatures.insert(size, bytes);
            }
            Entry::Timestamp(size) => {
                timestamps.insert(size, bytes);
            }
            Entry::Mimetype | Entry::Manifest | Entry::Edxml | Entry::Package => {}
        }
    }
    if rosters.is_empty() {
        return Err(BundleError::Missing {
            file: Entry::Roster(1).name(),
            why: "the roster proves the signers' keys".into(),
        });
    }
    let (size, note) = match notes.len() {
        1 => notes.remove(0),
        0 => {
            return Err(BundleError::Missing {
                file: "META-INF/lienthong/checkpoints/<size>.note".into(),
                why: "the facts are proved to a checkpoint".into(),
            });
        }
        _ => {
            return Err(BundleError::UnexpectedFile {
                file: Entry::Note(notes[1].0).name(),
            });
        }
    };
    let lines = match cosignatures.remove(&size) {
        Some(bytes) => cosignature_lines(&bytes, size)?,
        None => Vec::new(),
    };
    let timestamp = timestamps.remove(&size);
    if let Some(other) = cosignatures.keys().next() {
        return Err(BundleError::UnexpectedFile {
            file: Entry::Cosignatures(*other).name(),
        });
    }
    if let Some(other) = timestamps.keys().next() {
        return Err(BundleError::UnexpectedFile {
            file: Entry::Timestamp(*other).name(),
        });
    }
    let facts = leaves
        .into_iter()
        .map(|(index, leaf)| {
            let proof = proofs.remove(&index).ok_or_else(|| BundleError::Missing {
                file: Entry::Proof(index).name(),
                why: format!("leaf {index} is proved by it"),
            })?;
            Ok(LoggedFact {
                index,
                leaf,
                proof: parse_proof(&proof, index)?,
            })
        })
        .collect::<Result<Vec<_>, BundleError>>()?;
    if let Some(index) = proofs.keys().next() {
        return Err(BundleError::Missing {
            file: Entry::Leaf(*index).name(),
            why: "there is a proof of it".into(),
        });
    }
    Ok(Bundle {
        edxml,
        package,
        receipts,
        rosters,
        facts,
        checkpoint: CheckpointEvidence {
            size,
            note,
            cosignatures: lines,
            timestamp,
        },
    })
}

/// The lines of a cosignatures file: UTF-8, one cosignature a line, no blank line.
fn cosignature_lines(bytes: &[u8], size: u64) -> Result<Vec<String>, BundleError> {
    let malformed = |problem: &str| BundleError::Malformed {
        file: Entry::Cosignatures(size).name(),
        problem: problem.into(),
    };
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))?;
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() {
        return Ok(Vec::new());
    }
    body.split('\n')
        .map(|line| {
            if line.is_empty() {
                Err(malformed("a blank line"))
            } else {
                Ok(line.to_owned())
            }
        })
        .collect()
}

/// A proof file: one hex hash a line.
fn parse_proof(bytes: &[u8], index: u64) -> Result<Vec<Hash>, BundleError> {
    let malformed = |problem: String| BundleError::Malformed {
        file: Entry::Proof(index).name(),
        problem,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8".into()))?;
    text.lines()
        .enumerate()
        .map(|(n, line)| {
            let mut hash = [0; HASH_LEN];
            hex::decode_to_slice(line.trim_end_matches('\r'), &mut hash)
                .map_err(|_| malformed(format!("line {} is not a hex SHA-256 hash", n + 1)))?;
            Ok(hash)
        })
        .collect()
}
