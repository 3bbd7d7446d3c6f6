//! Headless Chromium for the tests that open the dashboard: load a page (its script run
//! for a few seconds of virtual time) and read the DOM it built, or take a screenshot; and
//! a small reader of the serialised DOM's start tags and elements.
//!
//! Needs Debian's `chromium` (`apt-get install -y chromium`); without it a test fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail, ensure};

use crate::wait_for;

/// How long one browser run may take before it is killed.
const BROWSER_DEADLINE: Duration = Duration::from_secs(90);
const CHROMIUM: &str = "/usr/bin/chromium";

/// The browser, or a failure that says how to install it.
pub fn chromium() -> PathBuf {
    let path = PathBuf::from(CHROMIUM);
    assert!(
        path.is_file(),
        "{CHROMIUM} is missing: the dashboard test needs a headless browser; install Debian's \
         chromium package (apt-get install -y chromium)"
    );
    path
}

/// Opens `url` in headless Chromium with the profile in `profile` and returns the DOM's
/// markup (without the script, whose text holds every label in both languages) once the
/// page's script has run; with `screenshot`, saves the window there instead.
pub fn browse(url: &str, profile: &Path, screenshot: Option<&Path>) -> anyhow::Result<String> {
    let out_dir = profile.with_extension("out");
    std::fs::create_dir_all(&out_dir)?;
    let stdout_path = out_dir.join("dom.html");
    let stderr_path = out_dir.join("stderr.txt");
    let mut command = Command::new(chromium());
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        // Virtual time: the page's first load and one refresh, without waiting for them.
        "--virtual-time-budget=8000",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    match screenshot {
        Some(path) => {
            command.arg(format!("--screenshot={}", path.display()));
            command.arg("--window-size=1400,1000");
        }
        None => {
            command.arg("--dump-dom");
        }
    }
    let mut child = command
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path)?)
        .stderr(std::fs::File::create(&stderr_path)?)
        .spawn()
        .with_context(|| format!("starting {CHROMIUM}"))?;
    let status = wait_for("chromium to finish", BROWSER_DEADLINE, || {
        child.try_wait().ok().flatten()
    });
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let status = match status {
        Ok(status) => status,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{e}\n--- chromium stderr ---\n{stderr}");
        }
    };
    ensure!(
        status.success(),
        "chromium failed ({status})\n--- chromium stderr ---\n{stderr}"
    );
    let dom = std::fs::read_to_string(&stdout_path)?;
    Ok(markup(&dom).to_owned())
}

/// One start tag: its name and attributes, values unescaped as far as the tests need.
#[derive(Debug)]
pub struct Tag {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// Where the tag starts in the DOM text.
    pub at: usize,
}

impl Tag {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_whitespace().any(|x| x == class))
    }
}

/// The page's markup without its script (at the end of its body), whose text holds every
/// label in both languages.
pub fn markup(html: &str) -> &str {
    html.find("<script").map_or(html, |end| &html[..end])
}

/// Every start tag in serialised HTML (what `--dump-dom` prints), in order.
pub fn tags(html: &str) -> Vec<Tag> {
    let bytes = html.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' || !bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic) {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        let name_end = html[i..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .map_or(bytes.len(), |n| i + n);
        let name = html[i..name_end].to_ascii_lowercase();
        i = name_end;
        let mut attrs = Vec::new();
        loop {
            while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
                i += 1;
            }
            if i >= bytes.len() || bytes[i] == b'>' {
                i += 1;
                break;
            }
            let key_end = html[i..]
                .find(|c: char| c.is_whitespace() || c == '=' || c == '>')
                .map_or(bytes.len(), |n| i + n);
            let key = html[i..key_end].to_ascii_lowercase();
            i = key_end;
            let mut value = String::new();
            if bytes.get(i) == Some(&b'=') {
                i += 1;
                if bytes.get(i) == Some(&b'"') {
                    let end = html[i + 1..].find('"').map_or(bytes.len(), |n| i + 1 + n);
                    value = unescape(&html[i + 1..end]);
                    i = end + 1;
                } else {
                    let end = html[i..]
                        .find(|c: char| c.is_whitespace() || c == '>')
                        .map_or(bytes.len(), |n| i + n);
                    value = unescape(&html[i..end]);
                    i = end;
                }
            }
            attrs.push((key, value));
        }
        found.push(Tag {
            name,
            attrs,
            at: start,
        });
    }
    found
}

pub fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The serialised element that starts with the first tag matching `name` and `attrs`, up
/// to its closing tag (for `tr` and `div` rows and cells, which the page never nests in
/// an element of the same name inside a row).
pub fn element<'a>(dom: &'a str, name: &str, attrs: &[(&str, &str)]) -> anyhow::Result<&'a str> {
    let tag = tags(dom)
        .into_iter()
        .find(|t| t.name == name && attrs.iter().all(|(k, v)| t.attr(k) == Some(*v)))
        .ok_or_else(|| anyhow!("no <{name}> with {attrs:?} in the page:\n{dom}"))?;
    let close = format!("</{name}>");
    let end = dom[tag.at..]
        .find(&close)
        .map_or(dom.len(), |n| tag.at + n + close.len());
    Ok(&dom[tag.at..end])
}

/// The first start tag matching `name` and `attrs`.
pub fn start_tag(dom: &str, name: &str, attrs: &[(&str, &str)]) -> anyhow::Result<Tag> {
    tags(dom)
        .into_iter()
        .find(|t| t.name == name && attrs.iter().all(|(k, v)| t.attr(k) == Some(*v)))
        .ok_or_else(|| anyhow!("no <{name}> with {attrs:?} in:\n{dom}"))
}
