//! The names a bundle's files go under, and their media types.

/// The ASiC `mimetype` file.
pub const MIMETYPE_FILE: &str = "mimetype";
/// The ODF manifest.
pub const MANIFEST_FILE: &str = "META-INF/manifest.xml";
/// The edXML document.
pub const EDXML_FILE: &str = "document.edxml";
/// The signed package.
pub const PACKAGE_FILE: &str = "META-INF/lienthong/package.bin";

const RECEIPTS: (&str, &str) = ("META-INF/lienthong/receipts/", ".bin");
const ROSTERS: (&str, &str) = ("META-INF/lienthong/rosters/", ".bin");
const LEAVES: (&str, &str) = ("META-INF/lienthong/leaves/", ".leaf");
const PROOFS: (&str, &str) = ("META-INF/lienthong/proofs/", ".proof");
const NOTES: (&str, &str) = ("META-INF/lienthong/checkpoints/", ".note");
const COSIGNATURES: (&str, &str) = ("META-INF/lienthong/checkpoints/", ".cosignatures");
const TIMESTAMPS: (&str, &str) = ("META-INF/lienthong/timestamps/", ".tsr");

/// A numbered kind of file: its name's prefix and suffix, and the entry a number makes.
type Numbered = ((&'static str, &'static str), fn(u64) -> Entry);

/// One file of a bundle, by what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Entry {
    Mimetype,
    Manifest,
    Edxml,
    Package,
    /// Receipt number n (from 1).
    Receipt(u64),
    /// Roster bundle number n (from 1).
    Roster(u64),
    /// The leaf at this index.
    Leaf(u64),
    /// The proof of the leaf at this index.
    Proof(u64),
    /// The checkpoint note of this size.
    Note(u64),
    /// The cosignatures of the checkpoint of this size.
    Cosignatures(u64),
    /// The timestamp token over the checkpoint of this size.
    Timestamp(u64),
}

impl Entry {
    /// The file name.
    pub(super) fn name(self) -> String {
        let numbered = |(prefix, suffix): (&str, &str), n: u64| format!("{prefix}{n}{suffix}");
        match self {
            Entry::Mimetype => MIMETYPE_FILE.into(),
            Entry::Manifest => MANIFEST_FILE.into(),
            Entry::Edxml => EDXML_FILE.into(),
            Entry::Package => PACKAGE_FILE.into(),
            Entry::Receipt(n) => numbered(RECEIPTS, n),
            Entry::Roster(n) => numbered(ROSTERS, n),
            Entry::Leaf(n) => numbered(LEAVES, n),
            Entry::Proof(n) => numbered(PROOFS, n),
            Entry::Note(n) => numbered(NOTES, n),
            Entry::Cosignatures(n) => numbered(COSIGNATURES, n),
            Entry::Timestamp(n) => numbered(TIMESTAMPS, n),
        }
    }

    /// The entry a name stands for; `None` for any name the layout does not have.
    pub(super) fn parse(name: &str) -> Option<Entry> {
        match name {
            MIMETYPE_FILE => return Some(Entry::Mimetype),
            MANIFEST_FILE => return Some(Entry::Manifest),
            EDXML_FILE => return Some(Entry::Edxml),
            PACKAGE_FILE => return Some(Entry::Package),
            _ => {}
        }
        let kinds: [Numbered; 7] = [
            (RECEIPTS, Entry::Receipt),
            (ROSTERS, Entry::Roster),
            (LEAVES, Entry::Leaf),
            (PROOFS, Entry::Proof),
            (NOTES, Entry::Note),
            (COSIGNATURES, Entry::Cosignatures),
            (TIMESTAMPS, Entry::Timestamp),
        ];
        kinds.into_iter().find_map(|((prefix, suffix), make)| {
            let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
            canonical_number(digits).map(make)
        })
    }

    /// The media type the manifest gives it.
    pub(super) fn media_type(self) -> &'static str {
        match self {
            Entry::Mimetype | Entry::Manifest => "",
            Entry::Edxml => "application/xml",
            Entry::Package => "application/vnd.lienthong.package",
            Entry::Receipt(_) => "application/vnd.lienthong.receipt",
            Entry::Roster(_) => "application/vnd.lienthong.roster",
            Entry::Leaf(_) => "application/vnd.lienthong.evidence-leaf",
            Entry::Proof(_) => "text/plain",
            Entry::Note(_) => "text/plain",
            Entry::Cosignatures(_) => "text/plain",
            Entry::Timestamp(_) => "application/timestamp-reply",
        }
    }
}

/// Decimal digits without a leading zero (but "0"), at most 19 of them, as a number.
fn canonical_number(digits: &str) -> Option<u64> {
    let canonical = !digits.is_empty()
        && digits.len() <= 19
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    canonical.then(|| digits.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_tricks_are_not_names() {
        for entry in [
            Entry::Mimetype,
            Entry::Manifest,
            Entry::Edxml,
            Entry::Package,
            Entry::Receipt(1),
            Entry::Roster(2),
            Entry::Leaf(0),
            Entry::Proof(17),
            Entry::Note(18),
            Entry::Cosignatures(18),
            Entry::Timestamp(18),
        ] {
            assert_eq!(Entry::parse(&entry.name()), Some(entry));
        }
        for trick in [
            "../document.edxml",
            "/document.edxml",
            "META-INF/lienthong/leaves/01.leaf",
            "META-INF/lienthong/leaves/+1.leaf",
            "META-INF/lienthong/leaves/.leaf",
            "META-INF/lienthong/leaves/../../x.leaf",
            "META-INF/lienthong/leaves/99999999999999999999.leaf",
            "META-INF/lienthong/",
            "META-INF\\manifest.xml",
            "Document.edxml",
        ] {
            assert_eq!(Entry::parse(trick), None, "{trick}");
        }
    }
}
