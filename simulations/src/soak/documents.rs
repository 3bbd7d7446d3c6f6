//! The soak's documents: the real sample `edoc_new.edxml` (from the shared edXML samples)
//! addressed from one soak agency to others. Small ones lose the sample's 360 KB
//! attachment, so that the store keeps them in its log as it keeps most documents; large
//! ones carry an attachment of a few MB in its place, which the store keeps in a package
//! file of its own.

use anyhow::{Context as _, anyhow};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use crate::process::samples_dir;

/// The sample's sender and recipient, replaced by the soak's agencies.
const SAMPLE_FROM: &str = "000.00.00.A80";
const SAMPLE_TO: &str = "28.22.H17";
/// The end of the sample's DocumentId, where each document's own number goes.
const DOCUMENT_ID_END: &str = "7816/VPCP-TTĐT</edXML:DocumentId>";
const TO_OPEN: &str = "<edXML:To>";
const TO_CLOSE: &str = "</edXML:To>";
const CONTENT_OPEN: &str =
    "<edXML:ContentTransferEncoded xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">";
const CONTENT_CLOSE: &str = "</edXML:ContentTransferEncoded>";

/// The sample, split where the soak writes its own parts.
#[derive(Debug, Clone)]
pub(super) struct Sample {
    /// Without the attachment and the manifest's reference to it.
    small: String,
    /// The whole sample.
    full: String,
}

impl Sample {
    /// Reads `edoc_new.edxml` from the shared samples.
    ///
    /// # Errors
    /// When the file is missing or no longer has the parts the soak replaces.
    pub(super) fn load() -> anyhow::Result<Sample> {
        let path = samples_dir().join("edoc_new.edxml");
        let full = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        for part in [
            SAMPLE_FROM,
            SAMPLE_TO,
            DOCUMENT_ID_END,
            TO_OPEN,
            CONTENT_OPEN,
        ] {
            if !full.contains(part) {
                anyhow::bail!("{} no longer contains {part:?}", path.display());
            }
        }
        let small = cut(&full, "<AttachmentEncoded>", "</AttachmentEncoded>")?;
        let small = cut(&small, "<edXML:Reference>", "</edXML:Reference>")?;
        Ok(Sample { small, full })
    }

    /// A document of about 9 KB from `from` to every agency of `to`; `number` makes it a
    /// document of its own (it ends its DocumentId).
    ///
    /// # Errors
    /// When the sample has no `To` block.
    pub(super) fn small(&self, from: &str, to: &[&str], number: &str) -> anyhow::Result<Vec<u8>> {
        Ok(address(&self.small, from, to, number)?.into_bytes())
    }

    /// A document with an attachment of `attachment` bytes (pseudo-random, drawn from
    /// `seed`; base64 makes it 4/3 as large) in place of the sample's.
    ///
    /// # Errors
    /// When the sample has no `To` block.
    pub(super) fn large(
        &self,
        from: &str,
        to: &[&str],
        number: &str,
        attachment: usize,
        seed: u64,
    ) -> anyhow::Result<Vec<u8>> {
        let text = address(&self.full, from, to, number)?;
        let start = text
            .find(CONTENT_OPEN)
            .ok_or_else(|| anyhow!("no attachment content"))?
            + CONTENT_OPEN.len();
        let end = text[start..]
            .find(CONTENT_CLOSE)
            .ok_or_else(|| anyhow!("no end of the attachment content"))?
            + start;
        let mut data = vec![0u8; attachment];
        StdRng::seed_from_u64(seed).fill_bytes(&mut data);
        let encoded = base64_simd::STANDARD.encode_to_string(&data);
        let mut out = String::with_capacity(text.len() + encoded.len());
        out.push_str(&text[..start]);
        out.push_str(&encoded);
        out.push_str(&text[end..]);
        Ok(out.into_bytes())
    }
}

/// `text` without the first element opened by `open` and closed by `close`.
fn cut(text: &str, open: &str, close: &str) -> anyhow::Result<String> {
    let start = text
        .find(open)
        .ok_or_else(|| anyhow!("the sample has no {open}"))?;
    let end = text[start..]
        .find(close)
        .ok_or_else(|| anyhow!("the sample has no {close}"))?
        + start
        + close.len();
    Ok(format!("{}{}", &text[..start], &text[end..]))
}

/// The sample from `from`, with one `To` block per recipient and `number` ending its
/// DocumentId.
fn address(text: &str, from: &str, to: &[&str], number: &str) -> anyhow::Result<String> {
    let start = text
        .find(TO_OPEN)
        .ok_or_else(|| anyhow!("the sample has no To"))?;
    let end = text[start..]
        .find(TO_CLOSE)
        .ok_or_else(|| anyhow!("the sample's To does not close"))?
        + start
        + TO_CLOSE.len();
    let block = &text[start..end];
    let blocks: Vec<String> = to.iter().map(|r| block.replace(SAMPLE_TO, r)).collect();
    let text = format!(
        "{}{}{}",
        &text[..start],
        blocks.join("\n        "),
        &text[end..]
    );
    Ok(text.replace(SAMPLE_FROM, from).replace(
        DOCUMENT_ID_END,
        &format!("7816/VPCP-TTĐT-{number}</edXML:DocumentId>"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_parse_with_their_sender_recipients_and_attachment() -> anyhow::Result<()> {
        use lienthong_protocol::edxml::{self, Message};
        let sample = Sample::load()?;
        let small = sample.small("000.00.01.H53", &["000.00.02.H53", "000.00.03.H53"], "7")?;
        assert!(small.len() < 16 * 1024, "{} bytes", small.len());
        let Message::Document(doc) = edxml::read(small)?.message else {
            anyhow::bail!("not a document");
        };
        assert_eq!(doc.from.organ_id.to_string(), "000.00.01.H53");
        let to: Vec<String> = doc.to.iter().map(|o| o.organ_id.to_string()).collect();
        assert_eq!(to, ["000.00.02.H53", "000.00.03.H53"]);
        assert!(doc.attachments.is_empty());

        let large = sample.large("000.00.01.H53", &["000.00.02.H53"], "8", 3_000_000, 1)?;
        assert!(large.len() > 4_000_000, "{} bytes", large.len());
        let Message::Document(doc) = edxml::read(large)?.message else {
            anyhow::bail!("not a document");
        };
        assert_eq!(doc.attachments.len(), 1);
        assert_ne!(doc.document_id, None);
        Ok(())
    }
}
