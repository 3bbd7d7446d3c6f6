//! `lienthong edxml write [JSON]`: an edXML file from its JSON description, for scripts and
//! tests that need edXML without writing XML by hand.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use lienthong_protocol::edxml;

use super::build::build;
use super::description::Description;

#[derive(Debug, Args)]
pub(crate) struct WriteArgs {
    /// The JSON description (one object; a line of `edxml check --json` will do). `-` or
    /// nothing reads standard input.
    input: Option<PathBuf>,
    /// Where to write the edXML; standard output when not given.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

pub(crate) fn run(args: &WriteArgs) -> anyhow::Result<ExitCode> {
    let (name, text) = match &args.input {
        Some(path) if path.as_os_str() != "-" => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            (path.display().to_string(), text)
        }
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read standard input")?;
            ("standard input".to_owned(), text)
        }
    };
    let description: Description = serde_json::from_str(&text)
        .with_context(|| format!("{name} is not a JSON description of an edXML message"))?;
    let message = build(description).with_context(|| format!("{name}: cannot be written"))?;
    let xml = edxml::write(&message).with_context(|| format!("{name}: cannot be written"))?;
    // The writer promises that what it writes reads back equal; a file handed to a QLVB is
    // worth checking. Only the raw signature, taken as given, can break the promise.
    let parsed = edxml::read(xml.clone()).with_context(|| {
        format!("{name}: the written edXML does not read back (is the signature one well-formed element?)")
    })?;
    if parsed.message != message {
        bail!(
            "{name}: the written edXML reads back differently (is the signature one well-formed element?)"
        );
    }
    // What a reader would be lenient about (no DocumentId, an attachment without a manifest
    // reference) is worth knowing before the file is sent.
    for warning in &parsed.warnings {
        eprintln!("warning: in the written edXML, {warning}");
    }
    match &args.out {
        Some(path) => std::fs::write(path, &xml)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&xml)?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
