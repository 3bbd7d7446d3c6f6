//! `META-INF/manifest.xml`: the ODF manifest an ASiC-E container lists its files in
//! (ETSI EN 319 162-1 §A.1, OASIS ODF 1.2 part 3 §4).

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, Event};
use quick_xml::reader::Reader;

use super::MIMETYPE;
use super::error::BundleError;

/// The manifest namespace.
const NAMESPACE: &str = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0";

/// The manifest listing `files` (name, media type) under the container's own entry.
pub(super) fn write(files: &[(String, &'static str)]) -> Vec<u8> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 1);
    // Writing to a Vec cannot fail.
    let _ = writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let root = BytesStart::new("manifest:manifest")
        .with_attributes([("xmlns:manifest", NAMESPACE), ("manifest:version", "1.2")]);
    let _ = writer.write_event(Event::Start(root));
    let entries = std::iter::once(("/", MIMETYPE))
        .chain(files.iter().map(|(name, media)| (name.as_str(), *media)));
    for (path, media) in entries {
        let entry = BytesStart::new("manifest:file-entry")
            .with_attributes([("manifest:full-path", path), ("manifest:media-type", media)]);
        let _ = writer.write_event(Event::Empty(entry));
    }
    let _ = writer.write_event(Event::End(BytesEnd::new("manifest:manifest")));
    let mut out = writer.into_inner();
    out.push(b'\n');
    out
}

/// The (full path, media type) of every file entry but the container's own (`/`).
///
/// # Errors
/// [`BundleError::Manifest`] when it is not UTF-8 XML with `manifest:file-entry` elements
/// each naming a path and a media type, or names a path twice.
pub(super) fn read(bytes: &[u8]) -> Result<Vec<(String, String)>, BundleError> {
    let bad = |problem: String| BundleError::Manifest { problem };
    let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))?;
    let mut reader = Reader::from_str(text);
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut saw_root = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| bad(format!("not well-formed XML: {e}")))?;
        let start = match event {
            Event::Eof => break,
            Event::Start(start) | Event::Empty(start) => start,
            _ => continue,
        };
        match start.name().local_name().as_ref() {
            "manifest" => saw_root = true,
            "file-entry" => {
                let (mut path, mut media) = (None, None);
                for attribute in start.attributes() {
                    let attribute = attribute.map_err(|e| bad(format!("bad attribute: {e}")))?;
                    let value = attribute
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| bad(format!("bad attribute value: {e}")))?
                        .into_owned();
                    match attribute.key.local_name().as_ref() {
                        "full-path" => path = Some(value),
                        "media-type" => media = Some(value),
                        _ => {}
                    }
                }
                let path = path.ok_or_else(|| bad("a file-entry has no full-path".into()))?;
                let media =
                    media.ok_or_else(|| bad(format!("the entry of {path} has no media-type")))?;
                if path == "/" {
                    if media != MIMETYPE {
                        return Err(bad(format!("the container's media type is {media:?}")));
                    }
                    continue;
                }
                if entries.iter().any(|(seen, _)| *seen == path) {
                    return Err(bad(format!("{path} is listed twice")));
                }
                entries.push((path, media));
            }
            _ => {}
        }
    }
    if !saw_root {
        return Err(bad("no manifest:manifest element".into()));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_manifest_reads_back() {
        let files = vec![
            ("document.edxml".to_owned(), "application/xml"),
            ("META-INF/lienthong/a&b.bin".to_owned(), "text/plain"),
        ];
        let bytes = write(&files);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(text.contains("manifest:full-path=\"/\""));
        let read_back = read(&bytes).unwrap();
        assert_eq!(
            read_back,
            files
                .iter()
                .map(|(n, m)| (n.clone(), (*m).to_owned()))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn broken_manifests_are_refused() {
        for bad in [
            &b"\xff"[..],
            b"<manifest:manifest",
            b"<x/>",
            b"<manifest:manifest xmlns:manifest=\"u\"><manifest:file-entry manifest:full-path=\"a\"/></manifest:manifest>",
        ] {
            assert!(read(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
