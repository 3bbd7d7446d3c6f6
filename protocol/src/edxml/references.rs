//! Finding the document a status message (or a revoke, update or replace) refers to.
//!
//! A status message names its document by `ResponseFor`: the issuing agency, `DocumentId`,
//! `Code` and `PromulgationDate`. Real systems disagree on `DocumentId`: the SDK's comma
//! triple (`000.00.00.G22,2015/09/30,7816/VPCP-TTĐT`), a UUID, or `<id>-<năm>-<số ký hiệu>`;
//! one QLVB splits on commas and silently drops what does not fit. So a document is indexed
//! under several [`DocumentReference`] keys, from its exact id down to its code and year, and a
//! status is matched by trying its own keys strongest first: the first key that finds
//! anything decides.
//!
//! Keys are normalised (Unicode NFC, upper case, no white space) so that `7816/vpcp-ttđt`
//! typed in another system, or decomposed diacritics, still match.

use unicode_normalization::UnicodeNormalization as _;

use super::model::{Document, EdxmlDate, ResponseFor};

/// One key a document can be found by. Keys of the same strength compare as strings; the
/// prefix keeps keys of different kinds apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocumentReference(String);

impl DocumentReference {
    /// The key as stored in an index.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn id(document_id: &str) -> Option<Self> {
        let id = normalise(document_id);
        (!id.is_empty()).then(|| DocumentReference(format!("id:{id}")))
    }

    fn code_on(code: &str, date: EdxmlDate) -> Option<Self> {
        let code = normalise(code);
        (!code.is_empty()).then(|| DocumentReference(format!("code:{code}@{date}")))
    }

    fn code_in(code: &str, year: u16) -> Option<Self> {
        let code = normalise(code);
        (!code.is_empty()).then(|| DocumentReference(format!("year:{code}@{year:04}")))
    }
}

/// Every key `document` is indexed under, strongest first, without repeats.
pub fn document_references(document: &Document) -> Vec<DocumentReference> {
    let code = document
        .code
        .as_ref()
        .map(|code| format!("{}/{}", code.number, code.notation));
    let date = document.promulgation.as_ref().and_then(|p| p.date);
    references(document.document_id.as_deref(), code.as_deref(), date)
}

/// The keys to look `response` up by, strongest first: its `DocumentId`, then its `Code`
/// with `PromulgationDate`, then what the `DocumentId` itself says of code and date, then
/// code and year.
pub fn response_references(response: &ResponseFor) -> Vec<DocumentReference> {
    references(
        response.document_id.as_deref(),
        response.code.as_deref(),
        response.promulgation_date,
    )
}

/// The keys of a revoke, update or replace's target: its `DocumentId` as the sender wrote it
/// in `Bussiness` or `ReplacementInfo`.
pub fn document_id_references(document_id: &str) -> Vec<DocumentReference> {
    references(Some(document_id), None, None)
}

fn references(
    document_id: Option<&str>,
    code: Option<&str>,
    date: Option<EdxmlDate>,
) -> Vec<DocumentReference> {
    let parsed = document_id.map(parse_document_id).unwrap_or_default();
    let mut keys = Vec::new();
    keys.extend(document_id.and_then(DocumentReference::id));
    if let (Some(code), Some(date)) = (code, date) {
        keys.extend(DocumentReference::code_on(code, date));
    }
    if let (Some(code), Some(date)) = (parsed.code.as_deref(), parsed.date) {
        keys.extend(DocumentReference::code_on(code, date));
    }
    if let (Some(code), Some(date)) = (code, date) {
        keys.extend(DocumentReference::code_in(code, date.year()));
    }
    if let (Some(code), Some(year)) = (parsed.code.as_deref(), parsed.year()) {
        keys.extend(DocumentReference::code_in(code, year));
    }
    let mut seen = std::collections::HashSet::new();
    keys.retain(|key| seen.insert(key.clone()));
    keys
}

/// What a `DocumentId` says of the document's code and date, in the forms seen in real
/// traffic.
#[derive(Debug, Default)]
struct ParsedId {
    code: Option<String>,
    date: Option<EdxmlDate>,
    year: Option<u16>,
}

impl ParsedId {
    fn year(&self) -> Option<u16> {
        self.date.map(|d| d.year()).or(self.year)
    }
}

/// `ORGAN,yyyy/MM/dd,CODE` (the SDK's form, dates also as dd/MM/yyyy) or
/// `ID-yyyy-CODE`; anything else (a UUID) says nothing.
fn parse_document_id(id: &str) -> ParsedId {
    let parts: Vec<&str> = id.split(',').map(str::trim).collect();
    if let [_, date, code] = parts.as_slice() {
        return ParsedId {
            code: Some((*code).to_owned()),
            date: parse_date(date),
            year: None,
        };
    }
    // `<id>-<năm>-<số ký hiệu>`: the first `-yyyy-` with a plausible year; the id before it
    // may itself hold dashes (a UUID), and the code after it usually does.
    let bytes = id.as_bytes();
    for (start, _) in id.match_indices('-') {
        let Some(year) = id.get(start + 1..start + 5) else {
            break;
        };
        if bytes.get(start + 5) == Some(&b'-') && year.bytes().all(|b| b.is_ascii_digit()) {
            let year: u16 = year.parse().unwrap_or(0);
            let code = &id[start + 6..];
            if (1990..=2100).contains(&year) && !code.trim().is_empty() {
                return ParsedId {
                    code: Some(code.to_owned()),
                    date: None,
                    year: Some(year),
                };
            }
        }
    }
    ParsedId::default()
}

fn parse_date(text: &str) -> Option<EdxmlDate> {
    let numbers: Vec<&str> = text.split(['/', '-']).collect();
    let [a, b, c] = numbers.as_slice() else {
        return None;
    };
    let (year, month, day) = if a.len() == 4 { (a, b, c) } else { (c, b, a) };
    EdxmlDate::new(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)
}

fn normalise(text: &str) -> String {
    text.nfc()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OrganId;
    use crate::edxml::{Code, Organization, PromulgationInfo};

    fn g22() -> OrganId {
        OrganId::parse("000.00.00.G22").expect("valid id")
    }

    fn document(id: Option<&str>) -> Document {
        let mut doc = Document::new(Organization::new(g22()), vec![]);
        doc.document_id = id.map(str::to_owned);
        doc.code = Some(Code {
            number: "7816".into(),
            notation: "VPCP-TTĐT".into(),
        });
        doc.promulgation = Some(PromulgationInfo {
            place: None,
            date: EdxmlDate::new(2015, 9, 30),
        });
        doc
    }

    fn response(id: Option<&str>, code: Option<&str>, date: Option<EdxmlDate>) -> ResponseFor {
        ResponseFor {
            organ_id: g22(),
            code: code.map(str::to_owned),
            promulgation_date: date,
            document_id: id.map(str::to_owned),
        }
    }

    /// Whether looking `response` up finds `document`, the way the node does: its keys in
    /// order, the first key the document has wins.
    fn finds(document: &Document, response: &ResponseFor) -> bool {
        let indexed = document_references(document);
        response_references(response)
            .iter()
            .any(|key| indexed.contains(key))
    }

    #[test]
    fn the_sdk_triple_matches_exactly_and_by_its_parts() {
        let doc = document(Some("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"));
        assert!(finds(
            &doc,
            &response(Some("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"), None, None)
        ));
        // Another system's spacing, case and date order.
        assert!(finds(
            &doc,
            &response(
                Some("000.00.00.G22, 30/09/2015, 7816/vpcp-ttđt"),
                None,
                None
            )
        ));
    }

    #[test]
    fn a_uuid_on_one_side_falls_back_to_code_and_date() {
        let doc = document(Some("9fbfbad2-f1f8-4256-a2eb-50fb1061cddb"));
        assert!(finds(
            &doc,
            &response(
                Some("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"),
                Some("7816/VPCP-TTĐT"),
                EdxmlDate::new(2015, 9, 30)
            )
        ));
        assert!(finds(
            &doc,
            &response(Some("9FBFBAD2-F1F8-4256-A2EB-50FB1061CDDB"), None, None)
        ));
    }

    #[test]
    fn the_dashed_form_matches_by_code_and_year() {
        let doc = document(Some("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"));
        assert!(finds(
            &doc,
            &response(Some("4711-2015-7816/VPCP-TTĐT"), None, None)
        ));
        assert!(!finds(
            &doc,
            &response(Some("4711-2016-7816/VPCP-TTĐT"), None, None)
        ));
    }

    #[test]
    fn decomposed_diacritics_are_the_same_key() {
        let composed = document_id_references("7816/VPCP-TTĐT-Hà Nội");
        let decomposed = document_id_references("7816/vpcp-ttđt-ha\u{300} nô\u{323}i");
        assert_eq!(composed, decomposed);
    }

    #[test]
    fn other_documents_are_not_found() {
        let doc = document(Some("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"));
        assert!(!finds(
            &doc,
            &response(Some("000.00.00.G22,2015/09/30,7817/VPCP-TTĐT"), None, None)
        ));
        assert!(!finds(&doc, &response(Some(""), None, None)));
        // A code is numbered per issuer and year: the same code a year later is another
        // document (the same year with another date is taken as a typo in the date).
        assert!(!finds(
            &doc,
            &response(None, Some("7816/VPCP-TTĐT"), EdxmlDate::new(2016, 9, 30))
        ));
        assert!(finds(
            &doc,
            &response(None, Some("7816/VPCP-TTĐT"), EdxmlDate::new(2015, 10, 1))
        ));
    }

    #[test]
    fn keys_come_strongest_first_without_repeats() {
        let keys = document_references(&document(Some("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT")));
        let names: Vec<&str> = keys.iter().map(DocumentReference::as_str).collect();
        assert_eq!(
            names,
            [
                "id:000.00.00.G22,2015/09/30,7816/VPCP-TTĐT",
                "code:7816/VPCP-TTĐT@2015/09/30",
                "year:7816/VPCP-TTĐT@2015",
            ]
        );
    }

    #[test]
    fn odd_ids_never_panic() {
        for id in [
            "",
            "-",
            "--2015-",
            "a-2015-",
            "a-20x5-b",
            ",,",
            "é-2015-ü",
            "-2015-x",
        ] {
            let _ = document_id_references(id);
        }
    }
}
