//! `docs/config.md` is generated from `Config::to_documented_toml`, the text `lienthong init`
//! writes, so the reference can never drift from the code. This test fails when the file is
//! out of date and says how to regenerate it; with `LIENTHONG_BLESS=1` it rewrites it.

use std::path::{Path, PathBuf};

use lienthong_node::config::Config;

/// The command that regenerates the reference.
const REGENERATE: &str = "LIENTHONG_BLESS=1 cargo test -p lienthong-node --test config_reference";

fn reference_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/config.md")
}

/// The reference as Markdown: one table per section (key, default, what it does, from the
/// comments above each key), then the whole file as `lienthong init` writes it.
fn reference() -> String {
    let example = Config::new(
        "000.00.11.H53".parse().expect("a valid agency id"),
        "Sở Tài chính tỉnh Tây Ninh",
    );
    let toml = example.to_documented_toml();
    let mut out = format!(
        "# Configuration reference\n\n\
         <!-- Generated from Config::to_documented_toml by node/tests/config_reference.rs. \
         Do not edit: run `{REGENERATE}`. -->\n\n\
         A node reads `config.toml` in its data directory (`/var/lib/lienthong/config.toml` \
         with the systemd unit) when it starts; restart it after a change \
         (`systemctl restart lienthong`). `lienthong init` writes the file with every key \
         below and its comment. Only `organ_id` and `name` are required (the values shown for \
         them are an example); every other key may be left out and takes the default shown. \
         Unknown keys are refused, so a typo stops the node at start with the line to fix \
         instead of leaving a default in place; `lienthong doctor` checks the file too.\n\n\
         Durations are written like `90s`, `5m`, `4h`, `90days`; sizes like `64 MiB`.\n"
    );
    let mut comments: Vec<String> = Vec::new();
    let mut in_table = false;
    let mut section_started = false;
    for line in toml.lines() {
        let line = line.trim_end();
        if let Some(comment) = line.strip_prefix('#') {
            comments.push(comment.trim().to_owned());
        } else if line.starts_with('[') {
            out.push_str(&format!("\n## `{line}`\n\n"));
            in_table = false;
            comments.clear();
            section_started = true;
        } else if let Some((key, value)) = line.split_once(" = ") {
            if !section_started && !in_table {
                out.push_str("\n## Top level\n\n");
            }
            if !in_table {
                out.push_str("| key | default | what it does |\n| --- | --- | --- |\n");
                in_table = true;
            }
            out.push_str(&format!(
                "| `{key}` | `{}` | {} |\n",
                value.replace('|', "\\|"),
                comments.join(" ").replace('|', "\\|")
            ));
            comments.clear();
        } else {
            comments.clear();
        }
    }
    out.push_str(&format!(
        "\n## The whole file\n\nAs `lienthong init` writes it, for the example agency:\n\n```toml\n{toml}```\n"
    ));
    out
}

#[test]
fn the_config_reference_is_up_to_date() {
    let path = reference_path();
    let wanted = reference();
    if std::env::var_os("LIENTHONG_BLESS").is_some() {
        std::fs::write(&path, &wanted).expect("writing docs/config.md");
        return;
    }
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == wanted,
        "docs/config.md is out of date with Config::to_documented_toml; regenerate it with:\n  {REGENERATE}"
    );
}

#[test]
fn every_key_of_the_file_is_in_a_table() {
    let reference = reference();
    let toml = Config::new("000.00.11.H53".parse().expect("id"), "x").to_documented_toml();
    for line in toml
        .lines()
        .filter(|l| l.contains(" = ") && !l.starts_with('#'))
    {
        let key = line.split(" = ").next().expect("key");
        assert!(
            reference.contains(&format!("| `{key}` |")),
            "{key} has no row in the reference"
        );
    }
}
